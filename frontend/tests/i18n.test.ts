import { afterEach, describe, expect, it } from "vitest";

import { ApiError } from "../src/api";
import { describeError } from "../src/format";
import {
  browserLang,
  fill,
  lang,
  reasonText,
  roleName,
  serverText,
  t,
} from "../src/i18n";

afterEach(() => {
  lang.value = "en";
});

describe("the language", () => {
  it.each([
    [["ru-RU", "en-US"], "ru"],
    [["de-DE", "en-GB"], "en"],
    [["de-DE", "ru"], "ru"],
    [["fr"], "en"],
    [[], "en"],
  ])("of a browser asking for %j is %s", (languages, expected) => {
    expect(browserLang(languages)).toBe(expected);
  });

  it("fills in placeholders and leaves unknown ones", () => {
    expect(fill("{a} and {b}", { a: 1 })).toBe("1 and {b}");
    expect(t("recordsEmpty", { store: "redis" }, "ru")).toBe(
      "В redis пока нет записей.",
    );
  });
});

describe("server messages in Russian", () => {
  it.each([
    ["must be after start", "должен быть позже начала"],
    ["must be at least 8 characters long", "нужно не меньше 8 символов"],
    ["must be 3 to 32 characters long", "нужно от 3 до 32 символов"],
    ["The nickname or the password is wrong.", "Никнейм или пароль неверны."],
    [
      "The sleep record is not valid: start, end.",
      "Запись сна неверна: начало, конец.",
    ],
    ["The nickname is not valid.", "Неверное поле: никнейм."],
    [
      "'Mars/Base' is not a known IANA time zone",
      "«Mars/Base» — неизвестный часовой пояс IANA",
    ],
    [
      "Too many failed logins; try again in 30 s.",
      "Слишком много неудачных попыток входа; попробуйте через 30 с.",
    ],
    ["Something nobody translated.", "Something nobody translated."],
  ])("%j", (message, russian) => {
    expect(serverText(message, "ru")).toBe(russian);
    expect(serverText(message, "en")).toBe(message);
  });

  it("translates an import's reasons field by field", () => {
    expect(
      reasonText("end: must be after start; note: must be a string", "ru"),
    ).toBe("конец: должен быть позже начала; заметка: должно быть строкой");
  });

  it("names roles", () => {
    expect(roleName("superuser", "ru")).toBe("суперпользователь");
    expect(roleName("admin", "en")).toBe("admin");
  });
});

describe("describing a failed request", () => {
  const invalid = new ApiError(
    422,
    "The request is not valid: nickname.",
    [{ field: "nickname", message: "must be 3 to 32 characters long" }],
    "rid",
  );

  it("names each field in the page's language", () => {
    lang.value = "ru";

    expect(describeError(invalid)).toEqual({
      summary: "Запрос неверен: никнейм.",
      fields: { nickname: "нужно от 3 до 32 символов" },
      requestId: "rid",
    });
  });

  it("falls back to words for the status when a message is unknown", () => {
    lang.value = "ru";

    expect(describeError(new ApiError(409, "Some new conflict.")).summary).toBe(
      "Это противоречит текущему состоянию.",
    );
    expect(describeError(new ApiError(503, "MySQL is down.")).summary).toBe(
      "Сервис занят или хранилище недоступно. Попробуйте чуть позже.",
    );
  });

  it("says when the service cannot be reached, and how long to wait", () => {
    expect(describeError(new ApiError(0, "network")).summary).toBe(
      "The service cannot be reached. Check the connection and try again.",
    );
    expect(describeError(new ApiError(429, "x", [], null, 12)).summary).toBe(
      "Too many attempts. Try again in 12 s.",
    );
  });
});
