// Checks the forms make before sending, with the server's own rules
// (auth/users.py, auth/passwords.py, models.py), so most mistakes are named
// at once. The server checks again and has the last word; its messages are
// shown the same way, next to the field they name.
import type { NewRecord } from "./api";
import type { MessageKey, Params } from "./i18n";

export interface Problem {
  key: MessageKey;
  params?: Params;
}

export type FieldProblems = Record<string, Problem>;

export const NICKNAME_MIN = 3;
export const NICKNAME_MAX = 32;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 1024;
export const SOURCE_MAX = 64;
export const NOTE_MAX = 1000;
const HOUR_MS = 3600 * 1000;
const EARLIEST_START_MS = 0; // 1970-01-01T00:00:00Z

const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{Nd}$/u;
const MARK = /^[\p{Mn}\p{Mc}]$/u;

/** The problem with a nickname, or `null` when the server will take it. */
export function nicknameProblem(value: string): Problem | null {
  const nickname = value.normalize("NFC");
  const chars = Array.from(nickname);
  if (chars.length === 0) {
    return { key: "errRequired" };
  }
  if (chars.length < NICKNAME_MIN || chars.length > NICKNAME_MAX) {
    return { key: "errNicknameLength" };
  }

  let previous: "letter" | "mark" | "other" = "other";
  for (const char of chars) {
    if (LETTER.test(char)) {
      previous = "letter";
    } else if (MARK.test(char) && previous !== "other") {
      previous = "mark";
    } else if (DIGIT.test(char) || "._-".includes(char)) {
      previous = "other";
    } else {
      return { key: "errNicknameChars" };
    }
  }
  return null;
}

/** The problem with a new password, or `null`. A login checks only presence. */
export function passwordProblem(value: string): Problem | null {
  if (value.length === 0) {
    return { key: "errRequired" };
  }
  if (value.length > PASSWORD_MAX) {
    return { key: "errPasswordLong" };
  }
  const length = Array.from(value.normalize("NFKC")).length;
  if (length > PASSWORD_MAX) {
    return { key: "errPasswordLong" };
  }
  if (length < PASSWORD_MIN) {
    return { key: "errPasswordShort" };
  }
  return null;
}

function collect(entries: Array<[string, Problem | null]>): FieldProblems {
  const problems: FieldProblems = {};
  for (const [field, problem] of entries) {
    if (problem) {
      problems[field] = problem;
    }
  }
  return problems;
}

export function checkLogin(form: {
  nickname: string;
  password: string;
}): FieldProblems {
  return collect([
    ["nickname", form.nickname.trim() ? null : { key: "errRequired" }],
    ["password", form.password ? null : { key: "errRequired" }],
  ]);
}

export function checkRegistration(form: {
  nickname: string;
  password: string;
  timezone: string;
}): FieldProblems {
  return collect([
    ["nickname", nicknameProblem(form.nickname)],
    ["password", passwordProblem(form.password)],
    ["timezone", form.timezone ? null : { key: "errRequired" }],
  ]);
}

export function checkPasswordChange(form: {
  current_password: string;
  new_password: string;
  confirm: string;
}): FieldProblems {
  const confirm: Problem | null =
    form.confirm !== form.new_password ? { key: "errPasswordsDiffer" } : null;
  return collect([
    ["current_password", form.current_password ? null : { key: "errRequired" }],
    ["new_password", passwordProblem(form.new_password)],
    ["confirm", confirm],
  ]);
}

const WALL_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/** The parts of a `datetime-local` value, or `null` for anything else. */
export function parseWallTime(value: string): number[] | null {
  const match = WALL_TIME.exec(value);
  if (!match) {
    return null;
  }
  const parts = match.slice(1).map((part) => Number(part ?? 0));
  const [year, month, day, hour, minute] = parts as [
    number,
    number,
    number,
    number,
    number,
  ];
  const check = new Date(Date.UTC(year, month - 1, day, hour, minute));
  if (
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23
  ) {
    return null;
  }
  return parts;
}

/** Minutes east of UTC in `zone` at the instant `ms`. */
export function zoneOffsetMinutes(zone: string, ms: number): number {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(new Date(ms))) {
    if (part.type !== "literal") {
      parts[part.type] = Number(part.value);
    }
  }
  const asUtc = Date.UTC(
    parts.year!,
    parts.month! - 1,
    parts.day!,
    parts.hour!,
    parts.minute!,
    parts.second!,
  );
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}

/** The instant (ms) of a wall time in `zone`; the earlier one when it repeats. */
export function wallTimeInstant(value: string, zone: string): number | null {
  const parts = parseWallTime(value);
  if (!parts) {
    return null;
  }
  const [year, month, day, hour, minute, second] = parts as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const naive = Date.UTC(year, month - 1, day, hour, minute, second);
  try {
    const first = naive - zoneOffsetMinutes(zone, naive - 12 * HOUR_MS) * 60000;
    const second_ =
      naive - zoneOffsetMinutes(zone, naive + 12 * HOUR_MS) * 60000;
    // Prefer the earlier reading that maps back onto the same wall time.
    for (const guess of [Math.min(first, second_), Math.max(first, second_)]) {
      if (guess + zoneOffsetMinutes(zone, guess) * 60000 === naive) {
        return guess;
      }
    }
    return first;
  } catch {
    return null;
  }
}

export interface RecordForm {
  start: string;
  end: string;
  timezone: string;
  source: string;
  note: string;
}

/** The problems of the add-a-record form; `now` is the current instant in ms. */
export function checkRecord(form: RecordForm, now: number): FieldProblems {
  const problems: FieldProblems = {};
  if (!form.timezone) {
    problems.timezone = { key: "errRequired" };
  }
  const zone = form.timezone || "UTC";
  const start = form.start ? wallTimeInstant(form.start, zone) : null;
  const end = form.end ? wallTimeInstant(form.end, zone) : null;

  if (!form.start) {
    problems.start = { key: "errRequired" };
  } else if (start === null) {
    problems.start = { key: "errBadDate" };
  } else if (start < EARLIEST_START_MS) {
    problems.start = { key: "errBefore1970" };
  } else if (start - now > 24 * HOUR_MS) {
    problems.start = { key: "errFuture" };
  }

  if (!form.end) {
    problems.end = { key: "errRequired" };
  } else if (end === null) {
    problems.end = { key: "errBadDate" };
  } else if (start !== null && end <= start) {
    problems.end = { key: "errEndBeforeStart" };
  } else if (start !== null && end - start > 24 * HOUR_MS) {
    problems.end = { key: "errTooLong" };
  }

  if (form.source.length > SOURCE_MAX) {
    problems.source = { key: "errTextLong", params: { limit: SOURCE_MAX } };
  }
  if (form.note.length > NOTE_MAX) {
    problems.note = { key: "errTextLong", params: { limit: NOTE_MAX } };
  }
  return problems;
}

/** The body to send for a valid form: wall times and the zone they are in. */
export function recordPayload(form: RecordForm): NewRecord {
  const wall = (value: string) => (value.length === 16 ? `${value}:00` : value);
  const payload: NewRecord = {
    start: wall(form.start),
    end: wall(form.end),
    timezone: form.timezone,
  };
  if (form.source.trim()) {
    payload.source = form.source.trim();
  }
  if (form.note.trim()) {
    payload.note = form.note.trim();
  }
  return payload;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function checkDateRange(form: {
  from: string;
  to: string;
}): FieldProblems {
  const problems: FieldProblems = {};
  if (!DATE.test(form.from)) {
    problems.from = { key: form.from ? "errBadDate" : "errRequired" };
  }
  if (!DATE.test(form.to)) {
    problems.to = { key: form.to ? "errBadDate" : "errRequired" };
  }
  if (!problems.from && !problems.to && form.from > form.to) {
    problems.to = { key: "errDateOrder" };
  }
  return problems;
}

export function hasProblems(problems: FieldProblems): boolean {
  return Object.keys(problems).length > 0;
}
