// Turning the API's values and errors into words for the page.
import { ApiError, type NightRule } from "./api";
import { lang, serverText, t, type MessageKey, type Params } from "./i18n";
import type { FieldProblems } from "./validation";

/** The browser's IANA time zone, `UTC` when it names none. */
export function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

let zoneList: string[] | null = null;

/** Every IANA zone the browser knows, with the browser's own and UTC. */
export function timeZones(): string[] {
  if (zoneList === null) {
    let known: string[] = [];
    try {
      known = Intl.supportedValuesOf("timeZone");
    } catch {
      known = [];
    }
    zoneList = Array.from(new Set([...known, browserZone(), "UTC"])).sort();
  }
  return zoneList;
}

/** `430` as "7 h 10 min"; `null` as a dash. */
export function formatMinutes(minutes: number | null | undefined): string {
  if (minutes === null || minutes === undefined || Number.isNaN(minutes)) {
    return t("none");
  }
  const whole = Math.round(minutes);
  if (whole < 60) {
    return t("minutesShort", { minutes: whole });
  }
  if (whole % 60 === 0) {
    return t("hoursShort", { hours: whole / 60 });
  }
  return t("hoursMinutes", {
    hours: Math.floor(whole / 60),
    minutes: whole % 60,
  });
}

/** How long the night window of `rule` is, in minutes. */
export function windowMinutes(rule: NightRule): number {
  const minutes = (text: string) => {
    const [hours, mins] = text.split(":").map(Number);
    return (hours ?? 0) * 60 + (mins ?? 0);
  };
  const length = (minutes(rule.morning) - minutes(rule.evening) + 1440) % 1440;
  return length === 0 ? 1440 : length;
}

/** The words a rule fills into messages: `{evening}`, `{morning}`, `{threshold}`. */
export function ruleParams(rule: NightRule): Params {
  return {
    evening: rule.evening,
    morning: rule.morning,
    threshold: formatMinutes(rule.threshold_minutes),
  };
}

/** An RFC 3339 stamp as "2024-05-01 23:10 +03:00", in the offset it carries. */
export function formatStamp(stamp: string | null): string {
  if (!stamp) {
    return t("none");
  }
  const match =
    /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/.exec(
      stamp,
    );
  if (!match) {
    return stamp;
  }
  const offset = match[3] === "Z" || match[3] === undefined ? "UTC" : match[3];
  return `${match[1]} ${match[2]} ${offset}`;
}

/** Whole minutes between two RFC 3339 stamps. */
export function minutesBetween(start: string, end: string): number {
  return Math.floor((Date.parse(end) - Date.parse(start)) / 60000);
}

/** A log entry's time in the browser's zone, to the second. */
export function formatLocalTime(stamp: string): string {
  const date = new Date(stamp);
  if (Number.isNaN(date.getTime())) {
    return stamp;
  }
  return date.toLocaleString(lang.value === "ru" ? "ru-RU" : "en-GB", {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** A date "YYYY-MM-DD" `days` away from `date`. */
export function shiftDate(date: string, days: number): string {
  const moment = new Date(`${date}T00:00:00Z`);
  moment.setUTCDate(moment.getUTCDate() + days);
  return moment.toISOString().slice(0, 10);
}

/** Today's date in the browser, "YYYY-MM-DD". */
export function today(): string {
  const now = new Date();
  const month = String(now.getMonth() + 1).padStart(2, "0");
  const day = String(now.getDate()).padStart(2, "0");
  return `${now.getFullYear()}-${month}-${day}`;
}

const STATUS_TEXT: Record<number, MessageKey> = {
  400: "srv400",
  401: "srv401",
  403: "srv403",
  404: "srv404",
  405: "srv405",
  409: "srv409",
  413: "srv413",
  415: "srv415",
  422: "srv422",
  500: "srv500",
  503: "srv503",
};

export interface Described {
  /** One sentence about the whole failure. */
  summary: string;
  /** What is wrong with each named field, in words. */
  fields: Record<string, string>;
  requestId: string | null;
}

/** An error from the API, or anything else thrown, in the page's language. */
export function describeError(error: unknown): Described {
  if (!(error instanceof ApiError)) {
    return { summary: t("srv500"), fields: {}, requestId: null };
  }
  if (error.status === 0) {
    return { summary: t("srvNetwork"), fields: {}, requestId: null };
  }

  const fields: Record<string, string> = {};
  for (const [field, messages] of Object.entries(error.fieldMessages())) {
    fields[field] = messages.map((message) => serverText(message)).join("; ");
  }

  let summary: string;
  if (error.status === 429) {
    summary = t("srv429", { seconds: error.retryAfter ?? 60 });
  } else {
    const translated = serverText(error.message);
    const known = lang.value === "en" || translated !== error.message;
    const generic = STATUS_TEXT[error.status];
    if (error.message && known && error.status < 500) {
      summary = translated;
    } else if (generic) {
      summary = t(generic);
    } else {
      summary = t("srvOther", { status: error.status });
    }
  }
  return { summary, fields, requestId: error.requestId };
}

/** Problems found in the page, as words by field. */
export function problemTexts(problems: FieldProblems): Record<string, string> {
  const texts: Record<string, string> = {};
  for (const [field, problem] of Object.entries(problems)) {
    texts[field] = t(problem.key, problem.params);
  }
  return texts;
}
