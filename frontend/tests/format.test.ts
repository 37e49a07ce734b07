import { afterEach, describe, expect, it } from "vitest";

import {
  formatMinutes,
  ruleParams,
  windowMinutes,
  formatStamp,
  minutesBetween,
  shiftDate,
} from "../src/format";
import { lang } from "../src/i18n";

afterEach(() => {
  lang.value = "en";
});

describe("showing values", () => {
  it.each([
    [null, "—"],
    [0, "0 min"],
    [59, "59 min"],
    [60, "1 h"],
    [395, "6 h 35 min"],
    [359.6, "6 h"],
  ])("%s minutes read %j", (minutes, text) => {
    expect(formatMinutes(minutes)).toBe(text);
  });

  it("writes minutes in Russian too", () => {
    lang.value = "ru";

    expect(formatMinutes(395)).toBe("6 ч 35 мин");
  });

  it.each([
    ["2024-05-01T23:10:00+03:00", "2024-05-01 23:10 +03:00"],
    ["2024-05-01T20:10:00Z", "2024-05-01 20:10 UTC"],
    ["2024-05-01T20:10:30.123-04:30", "2024-05-01 20:10 -04:30"],
    ["not a time", "not a time"],
  ])("%s reads %j, in the offset it was sent with", (stamp, text) => {
    expect(formatStamp(stamp)).toBe(text);
  });

  it("measures a record across offsets", () => {
    expect(
      minutesBetween("2024-05-01T23:10:00+03:00", "2024-05-02T07:05:00+03:00"),
    ).toBe(475);
  });

  it("moves dates across months and years", () => {
    expect(shiftDate("2024-03-01", -1)).toBe("2024-02-29");
    expect(shiftDate("2024-12-31", 1)).toBe("2025-01-01");
  });
});

describe("the night rule", () => {
  it.each([
    ["22:00", "06:00", 480],
    ["23:30", "07:00", 450],
    ["00:00", "08:00", 480],
    ["21:00", "21:00", 1440],
  ])("from %s to %s is %i minutes", (evening, morning, minutes) => {
    expect(windowMinutes({ evening, morning, threshold_minutes: 360 })).toBe(
      minutes,
    );
  });

  it("fills the messages that name it", () => {
    const rule = { evening: "22:00", morning: "06:00", threshold_minutes: 390 };

    expect(ruleParams(rule)).toEqual({
      evening: "22:00",
      morning: "06:00",
      threshold: "6 h 30 min",
    });
  });
});
