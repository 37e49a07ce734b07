import { describe, expect, it } from "vitest";

import {
  checkDateRange,
  checkLogin,
  checkPasswordChange,
  checkRecord,
  checkRegistration,
  nicknameProblem,
  passwordProblem,
  recordPayload,
  wallTimeInstant,
  zoneOffsetMinutes,
  type RecordForm,
} from "../src/validation";

// The server's rules (auth/users.py validate_nickname), case by case.
describe("nicknames", () => {
  it.each([
    ["anna", null],
    ["анна_1", null],
    ["a.b-c", null],
    ["ab", "errNicknameLength"],
    ["a".repeat(32), null],
    ["a".repeat(33), "errNicknameLength"],
    ["", "errRequired"],
    ["has space", "errNicknameChars"],
    ["emoji😀", "errNicknameChars"],
    ["name@mail", "errNicknameChars"],
    ["\u0301abc", "errNicknameChars"], // a combining mark must follow a letter
    ["cafe\u0301", null], // NFC makes it four letters
    ["नमस्ते", null], // Devanagari needs its marks
    ["٣٤٥", null], // Arabic-Indic digits are decimal digits
  ])("%j -> %s", (nickname, key) => {
    expect(nicknameProblem(nickname)?.key ?? null).toBe(key);
  });
});

describe("passwords", () => {
  it.each([
    ["", "errRequired"],
    ["1234567", "errPasswordShort"],
    ["12345678", null],
    ["x".repeat(1024), null],
    ["x".repeat(1025), "errPasswordLong"],
    // NFKC turns the ligature into two letters: 4 characters sent, 8 counted.
    ["\ufb01\ufb01\ufb01\ufb01", null],
  ])("%j -> %s", (password, key) => {
    expect(passwordProblem(password)?.key ?? null).toBe(key);
  });
});

describe("account forms", () => {
  it("asks only for presence when logging in", () => {
    expect(checkLogin({ nickname: "x", password: "1" })).toEqual({});
    expect(checkLogin({ nickname: " ", password: "" })).toEqual({
      nickname: { key: "errRequired" },
      password: { key: "errRequired" },
    });
  });

  it("checks every field of a registration", () => {
    expect(
      checkRegistration({ nickname: "ab", password: "short", timezone: "" }),
    ).toEqual({
      nickname: { key: "errNicknameLength" },
      password: { key: "errPasswordShort" },
      timezone: { key: "errRequired" },
    });
  });

  it("wants the new password twice, the same", () => {
    const form = {
      current_password: "old",
      new_password: "new-password",
      confirm: "new-passw0rd",
    };

    expect(checkPasswordChange(form)).toEqual({
      confirm: { key: "errPasswordsDiffer" },
    });
    expect(checkPasswordChange({ ...form, confirm: "new-password" })).toEqual(
      {},
    );
  });
});

describe("wall times in a zone", () => {
  it.each([
    ["Europe/Moscow", Date.UTC(2024, 4, 1, 20, 0), 180],
    ["America/New_York", Date.UTC(2024, 0, 15, 12, 0), -300],
    ["America/New_York", Date.UTC(2024, 6, 15, 12, 0), -240],
    ["Asia/Kolkata", Date.UTC(2024, 6, 15, 12, 0), 330],
    ["UTC", Date.UTC(2024, 6, 15, 12, 0), 0],
  ])("%s is %i minutes east at %i", (zone, instant, minutes) => {
    expect(zoneOffsetMinutes(zone, instant)).toBe(minutes);
  });

  it("reads a wall time in its zone", () => {
    expect(wallTimeInstant("2024-05-01T23:10", "Europe/Moscow")).toBe(
      Date.UTC(2024, 4, 1, 20, 10),
    );
  });

  it("takes the first of a wall time that occurs twice", () => {
    // New York, 2024-11-03: 01:30 happens at -04:00 and again at -05:00.
    expect(wallTimeInstant("2024-11-03T01:30", "America/New_York")).toBe(
      Date.UTC(2024, 10, 3, 5, 30),
    );
  });

  it("refuses what is not a date", () => {
    expect(wallTimeInstant("2024-02-30T10:00", "UTC")).toBeNull();
    expect(wallTimeInstant("yesterday", "UTC")).toBeNull();
  });
});

describe("the record form", () => {
  const NOW = Date.UTC(2024, 5, 1, 12, 0);
  const valid: RecordForm = {
    start: "2024-05-01T23:10",
    end: "2024-05-02T07:05",
    timezone: "Europe/Moscow",
    source: "",
    note: "",
  };

  it("accepts a night", () => {
    expect(checkRecord(valid, NOW)).toEqual({});
  });

  it.each([
    [{ start: "" }, { start: { key: "errRequired" } }],
    [{ end: "" }, { end: { key: "errRequired" } }],
    [{ end: "2024-05-01T23:10" }, { end: { key: "errEndBeforeStart" } }],
    [{ end: "2024-05-01T22:00" }, { end: { key: "errEndBeforeStart" } }],
    [{ end: "2024-05-02T23:11" }, { end: { key: "errTooLong" } }],
    [
      { start: "2024-06-02T15:01", end: "2024-06-02T20:00" },
      { start: { key: "errFuture" } },
    ],
    [
      { start: "1969-12-31T10:00", end: "1969-12-31T12:00", timezone: "UTC" },
      { start: { key: "errBefore1970" } },
    ],
    [
      { source: "s".repeat(65) },
      { source: { key: "errTextLong", params: { limit: 64 } } },
    ],
    [
      { note: "n".repeat(1001) },
      { note: { key: "errTextLong", params: { limit: 1000 } } },
    ],
    [{ timezone: "" }, { timezone: { key: "errRequired" } }],
  ])("%j -> %j", (change, problems) => {
    expect(checkRecord({ ...valid, ...change }, NOW)).toEqual(problems);
  });

  it("measures 24 hours in real time across a clock change", () => {
    // New York skips 02:00-03:00 on 2024-03-10: 25 hours on the wall are 24 real ones.
    const night = {
      ...valid,
      timezone: "America/New_York",
      start: "2024-03-09T23:30",
    };

    expect(checkRecord({ ...night, end: "2024-03-11T00:29" }, NOW)).toEqual({});
    expect(checkRecord({ ...night, end: "2024-03-11T00:31" }, NOW)).toEqual({
      end: { key: "errTooLong" },
    });
  });

  it("sends wall times and their zone, and only the optional fields filled in", () => {
    expect(recordPayload({ ...valid, source: "  phone ", note: " " })).toEqual({
      start: "2024-05-01T23:10:00",
      end: "2024-05-02T07:05:00",
      timezone: "Europe/Moscow",
      source: "phone",
    });
  });
});

describe("date ranges", () => {
  it.each([
    [{ from: "2024-05-01", to: "2024-05-07" }, {}],
    [{ from: "2024-05-07", to: "2024-05-07" }, {}],
    [{ from: "2024-05-08", to: "2024-05-07" }, { to: { key: "errDateOrder" } }],
    [{ from: "", to: "2024-05-07" }, { from: { key: "errRequired" } }],
    [{ from: "May 1", to: "2024-05-07" }, { from: { key: "errBadDate" } }],
  ])("%j -> %j", (range, problems) => {
    expect(checkDateRange(range)).toEqual(problems);
  });
});
