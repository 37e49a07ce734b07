// The interface's words in English and Russian, and the server's messages in
// both. English is the source: `ru` must have every key `en` has (the type
// says so), and `{name}` placeholders are filled by `t(key, {name: ...})`.
import { ref } from "vue";

export type Lang = "en" | "ru";
export const LANGS: readonly Lang[] = ["en", "ru"];
const STORAGE_KEY = "sleeplog.lang";

const en = {
  appName: "sleeplog",
  skipToContent: "Skip to content",
  language: "Language",
  navMain: "Overview",
  navRecords: "Records",
  navLog: "Log",
  navViolators: "Violators",
  navUsers: "Users",
  navAccount: "My account",
  logOut: "Log out",
  loading: "Loading…",
  retry: "Try again",
  save: "Save",
  saving: "Saving…",
  cancel: "Cancel",
  show: "Show",
  signedInAs: "Signed in as {nickname} ({role})",
  notFoundTitle: "Page not found",
  notFoundText: "There is no page at this address.",
  backHome: "Back to the overview",

  loginTitle: "Log in",
  registerTitle: "Register",
  loginIntro: "Keep a record of your sleep in MySQL or Redis.",
  nickname: "Nickname",
  nicknameHint: "3 to 32 letters, digits, “.”, “_” or “-”.",
  password: "Password",
  passwordHint: "At least 8 characters.",
  timezone: "Time zone",
  timezoneHint: "Preselected from your browser.",
  logIn: "Log in",
  loggingIn: "Logging in…",
  register: "Create account",
  registering: "Creating…",
  registered: "Account {nickname} created. Log in with it now.",
  haveAccount: "Already registered? Log in",
  needAccount: "No account yet? Register",

  mainTitle: "Overview",
  statsOwn: "You",
  statsEveryone: "Everyone",
  statRecords: "Records in {store}",
  statUsers: "People",
  statRecent: "Records in the last 7 days",
  statAvgSleep: "Average sleep per night",
  statAvgWindow: "Average sleep {evening}–{morning}",
  statViolators: "Violators in the last 7 nights",
  statNights: "Nights counted",
  statOwnViolations: "Nights under {threshold}, last 7",
  chartTitle: "The last 30 nights: time asleep between {evening} and {morning}",
  chartLine: "the {threshold} line",
  chartViolated: "under {threshold}",
  chartOk: "{threshold} or more",
  chartNoData: "no record",
  chartEmpty:
    "No nights recorded in the last 30 days yet. Add a record to see the chart.",
  chartNight: "Night of {date}: {minutes} in the window, {total} in all",
  chartNightViolated: "{violated} of {evaluated} under {threshold}",
  chartTable: "The same as a table",
  colNight: "Night",
  colInWindow: "{evening}–{morning}",
  colTotal: "In all",
  colViolations: "Under {threshold}",
  minutesShort: "{minutes} min",
  hoursShort: "{hours} h",
  hoursMinutes: "{hours} h {minutes} min",
  none: "—",

  recordsTitle: "Records",
  storeTab: "{store}",
  recordsOf: "Records in {store}",
  colStart: "Start",
  colEnd: "End",
  colDuration: "Duration",
  colTimezone: "Time zone",
  colSource: "Source",
  colNote: "Note",
  colOwner: "Owner",
  colClient: "Sent from",
  recordsEmpty: "No records in {store} yet.",
  previousPage: "Previous page",
  nextPage: "Next page",
  pageNumber: "Page {page}",
  addRecord: "Add a record",
  start: "Sleep started",
  end: "Woke up",
  source: "Source (optional)",
  note: "Note (optional)",
  add: "Add",
  adding: "Adding…",
  recordAdded: "Record saved in {store}.",
  recordRepeated: "This record was already in {store}; nothing changed.",
  importTitle: "Import a file",
  importIntro: "Sleep as Android, Fitbit, Apple Health or CSV export files.",
  importFile: "Export file",
  importFormat: "Format",
  formatAuto: "Detect from the file",
  importTimezone: "Time zone for times without an offset",
  importDryRun: "Only check, store nothing",
  importStart: "Import",
  importing: "Uploading {percent}%",
  importProcessing: "Uploaded; the server is reading the file…",
  importDone: "Import finished",
  importRead: "Entries read",
  importValid: "Valid",
  importStored: "Stored",
  importAlready: "Already present",
  importSkipped: "Skipped",
  importRejected: "Rejected",
  importStopped: "The file could not be read past {position}: {reason}",
  importRejections: "Rejected entries",
  importFormatUsed: "Format: {format}",

  logTitle: "Log",
  logIntro: "Every request the service answered, from log.json.",
  logSince: "Since",
  logStatus: "Status",
  logStatusAny: "Any",
  logLimit: "At most",
  logFilter: "Filter the rows",
  logFilterHint: "Matches path, method, user or request id.",
  colTime: "Time",
  colMethod: "Method",
  colPath: "Path",
  colStatus: "Status",
  colUser: "User",
  colStore: "Store",
  colSummary: "Summary",
  logEmpty: "No log entries match.",
  logCount: "{shown} of {total} entries",

  violatorsTitle: "Violators",
  violatorsIntro:
    "People who slept less than {threshold} between {evening} and {morning}.",
  dateFrom: "First night",
  dateTo: "Last night",
  store: "Store",
  storeAll: "Both stores",
  violatorsOwnIntro:
    "Your nights with less than {threshold} of sleep between {evening} and {morning}.",
  violatorsEmpty: "Nobody slept too little in these nights.",
  downloadCsv: "Download CSV",
  colNickname: "Nickname",
  colNights: "Nights under {threshold}",
  colClients: "Sent from",
  nightMinutes: "{date}: {minutes}",

  usersTitle: "Users",
  usersIntro: "Roles and access. You can change only users ranked below you.",
  colRole: "Role",
  colDisabled: "Disabled",
  colCreated: "Registered",
  usersEmpty: "No users.",
  userSaved: "{nickname} saved.",
  youMarker: "(you)",
  roleViewer: "viewer",
  roleUser: "user",
  roleAnalyst: "analyst",
  roleAdmin: "admin",
  roleSuperuser: "superuser",
  moreUsers: "Show more",

  accountTitle: "My account",
  accountTimezone: "Time zone",
  timezoneSaved: "Time zone saved.",
  passwordTitle: "Change the password",
  currentPassword: "Current password",
  newPassword: "New password",
  confirmPassword: "New password again",
  changePassword: "Change password",
  passwordChanged: "Password changed. Other sessions have been logged out.",
  logoutAllTitle: "Log out everywhere",
  logoutAllText:
    "Ends every session of this account, on every device, this one included.",
  logoutAll: "Log out everywhere",

  errRequired: "Fill this in.",
  errNicknameLength: "Use 3 to 32 characters.",
  errNicknameChars: "Use only letters, digits, “.”, “_” and “-”.",
  errPasswordShort: "Use at least 8 characters.",
  errPasswordLong: "Use at most 1024 characters.",
  errPasswordsDiffer: "The two new passwords differ.",
  errEndBeforeStart: "Must be after the start.",
  errTooLong: "A record lasts at most 24 hours.",
  errFuture: "Must be at most 24 hours from now.",
  errBefore1970: "Must not be before 1970.",
  errBadDate: "Enter a date and time.",
  errTextLong: "Use at most {limit} characters.",
  errDateOrder: "The first night must not be after the last.",
  errFile: "Choose a file.",
  errFixFields: "Please correct the marked fields.",

  srvNetwork:
    "The service cannot be reached. Check the connection and try again.",
  srv400: "The request could not be read.",
  srv401: "Please log in.",
  srv403: "Your role may not do this.",
  srv404: "Not found.",
  srv405: "This is not allowed here.",
  srv409: "This clashes with the current state.",
  srv413: "The file is too large.",
  srv415: "The service cannot read this kind of content.",
  srv422: "Some values are not valid.",
  srv429: "Too many attempts. Try again in {seconds} s.",
  srv500: "Something went wrong on the server.",
  srv503: "The service is busy or a store is down. Try again in a moment.",
  srvOther: "The request failed (status {status}).",
  requestId: "Request id: {id}",
} as const;

export type MessageKey = keyof typeof en;
type Dictionary = Record<MessageKey, string>;

const ru: Dictionary = {
  appName: "sleeplog",
  skipToContent: "К содержанию",
  language: "Язык",
  navMain: "Обзор",
  navRecords: "Записи",
  navLog: "Журнал",
  navViolators: "Нарушители",
  navUsers: "Пользователи",
  navAccount: "Мой аккаунт",
  logOut: "Выйти",
  loading: "Загрузка…",
  retry: "Повторить",
  save: "Сохранить",
  saving: "Сохранение…",
  cancel: "Отмена",
  show: "Показать",
  signedInAs: "Вы вошли как {nickname} ({role})",
  notFoundTitle: "Страница не найдена",
  notFoundText: "По этому адресу ничего нет.",
  backHome: "Вернуться к обзору",

  loginTitle: "Вход",
  registerTitle: "Регистрация",
  loginIntro: "Записывайте свой сон в MySQL или Redis.",
  nickname: "Никнейм",
  nicknameHint: "От 3 до 32 букв, цифр, «.», «_» или «-».",
  password: "Пароль",
  passwordHint: "Не меньше 8 символов.",
  timezone: "Часовой пояс",
  timezoneHint: "Выбран по настройкам браузера.",
  logIn: "Войти",
  loggingIn: "Вход…",
  register: "Создать аккаунт",
  registering: "Создание…",
  registered: "Аккаунт {nickname} создан. Теперь войдите в него.",
  haveAccount: "Уже зарегистрированы? Войдите",
  needAccount: "Ещё нет аккаунта? Зарегистрируйтесь",

  mainTitle: "Обзор",
  statsOwn: "Вы",
  statsEveryone: "Все",
  statRecords: "Записей в {store}",
  statUsers: "Людей",
  statRecent: "Записей за 7 дней",
  statAvgSleep: "Средний сон за ночь",
  statAvgWindow: "Средний сон {evening}–{morning}",
  statViolators: "Нарушителей за 7 ночей",
  statNights: "Учтено ночей",
  statOwnViolations: "Ночей меньше {threshold} из 7",
  chartTitle: "Последние 30 ночей: сон с {evening} до {morning}",
  chartLine: "линия {threshold}",
  chartViolated: "меньше {threshold}",
  chartOk: "{threshold} и больше",
  chartNoData: "нет записи",
  chartEmpty:
    "За последние 30 дней ночей ещё нет. Добавьте запись, чтобы увидеть график.",
  chartNight: "Ночь {date}: {minutes} в окне, {total} всего",
  chartNightViolated: "{violated} из {evaluated} меньше {threshold}",
  chartTable: "То же в виде таблицы",
  colNight: "Ночь",
  colInWindow: "{evening}–{morning}",
  colTotal: "Всего",
  colViolations: "Меньше {threshold}",
  minutesShort: "{minutes} мин",
  hoursShort: "{hours} ч",
  hoursMinutes: "{hours} ч {minutes} мин",
  none: "—",

  recordsTitle: "Записи",
  storeTab: "{store}",
  recordsOf: "Записи в {store}",
  colStart: "Начало",
  colEnd: "Конец",
  colDuration: "Длительность",
  colTimezone: "Часовой пояс",
  colSource: "Источник",
  colNote: "Заметка",
  colOwner: "Владелец",
  colClient: "Отправлено с",
  recordsEmpty: "В {store} пока нет записей.",
  previousPage: "Предыдущая страница",
  nextPage: "Следующая страница",
  pageNumber: "Страница {page}",
  addRecord: "Добавить запись",
  start: "Уснул(а)",
  end: "Проснулся(ась)",
  source: "Источник (необязательно)",
  note: "Заметка (необязательно)",
  add: "Добавить",
  adding: "Добавление…",
  recordAdded: "Запись сохранена в {store}.",
  recordRepeated: "Эта запись уже была в {store}; ничего не изменилось.",
  importTitle: "Импорт файла",
  importIntro: "Файлы экспорта Sleep as Android, Fitbit, Apple Health или CSV.",
  importFile: "Файл экспорта",
  importFormat: "Формат",
  formatAuto: "Определить по файлу",
  importTimezone: "Часовой пояс для времени без смещения",
  importDryRun: "Только проверить, ничего не сохранять",
  importStart: "Импортировать",
  importing: "Загрузка {percent}%",
  importProcessing: "Загружено; сервер читает файл…",
  importDone: "Импорт завершён",
  importRead: "Прочитано записей",
  importValid: "Верных",
  importStored: "Сохранено",
  importAlready: "Уже были",
  importSkipped: "Пропущено",
  importRejected: "Отклонено",
  importStopped: "Файл не удалось прочитать дальше места {position}: {reason}",
  importRejections: "Отклонённые записи",
  importFormatUsed: "Формат: {format}",

  logTitle: "Журнал",
  logIntro: "Каждый запрос, на который ответил сервис, из log.json.",
  logSince: "С момента",
  logStatus: "Статус",
  logStatusAny: "Любой",
  logLimit: "Не больше",
  logFilter: "Отбор строк",
  logFilterHint: "Ищет в пути, методе, пользователе и id запроса.",
  colTime: "Время",
  colMethod: "Метод",
  colPath: "Путь",
  colStatus: "Статус",
  colUser: "Пользователь",
  colStore: "Хранилище",
  colSummary: "Итог",
  logEmpty: "Подходящих записей журнала нет.",
  logCount: "{shown} из {total} записей",

  violatorsTitle: "Нарушители",
  violatorsIntro:
    "Те, кто спал меньше {threshold} между {evening} и {morning}.",
  dateFrom: "Первая ночь",
  dateTo: "Последняя ночь",
  store: "Хранилище",
  storeAll: "Оба хранилища",
  violatorsOwnIntro:
    "Ваши ночи, когда сна между {evening} и {morning} было меньше {threshold}.",
  violatorsEmpty: "В эти ночи никто не спал слишком мало.",
  downloadCsv: "Скачать CSV",
  colNickname: "Никнейм",
  colNights: "Ночи меньше {threshold}",
  colClients: "Отправлено с",
  nightMinutes: "{date}: {minutes}",

  usersTitle: "Пользователи",
  usersIntro: "Роли и доступ. Менять можно только тех, чья роль ниже вашей.",
  colRole: "Роль",
  colDisabled: "Отключён",
  colCreated: "Зарегистрирован",
  usersEmpty: "Пользователей нет.",
  userSaved: "{nickname}: сохранено.",
  youMarker: "(вы)",
  roleViewer: "наблюдатель",
  roleUser: "пользователь",
  roleAnalyst: "аналитик",
  roleAdmin: "администратор",
  roleSuperuser: "суперпользователь",
  moreUsers: "Показать ещё",

  accountTitle: "Мой аккаунт",
  accountTimezone: "Часовой пояс",
  timezoneSaved: "Часовой пояс сохранён.",
  passwordTitle: "Смена пароля",
  currentPassword: "Текущий пароль",
  newPassword: "Новый пароль",
  confirmPassword: "Новый пароль ещё раз",
  changePassword: "Сменить пароль",
  passwordChanged: "Пароль изменён. Другие сеансы завершены.",
  logoutAllTitle: "Выйти везде",
  logoutAllText:
    "Завершает все сеансы этого аккаунта на всех устройствах, включая этот.",
  logoutAll: "Выйти везде",

  errRequired: "Заполните это поле.",
  errNicknameLength: "Нужно от 3 до 32 символов.",
  errNicknameChars: "Можно только буквы, цифры, «.», «_» и «-».",
  errPasswordShort: "Нужно не меньше 8 символов.",
  errPasswordLong: "Нужно не больше 1024 символов.",
  errPasswordsDiffer: "Новые пароли не совпадают.",
  errEndBeforeStart: "Должно быть позже начала.",
  errTooLong: "Запись длится не больше 24 часов.",
  errFuture: "Не больше чем на 24 часа вперёд.",
  errBefore1970: "Не раньше 1970 года.",
  errBadDate: "Укажите дату и время.",
  errTextLong: "Не больше {limit} символов.",
  errDateOrder: "Первая ночь не может быть позже последней.",
  errFile: "Выберите файл.",
  errFixFields: "Исправьте отмеченные поля.",

  srvNetwork: "Сервис недоступен. Проверьте соединение и попробуйте ещё раз.",
  srv400: "Запрос не удалось прочитать.",
  srv401: "Войдите, пожалуйста.",
  srv403: "Вашей роли это не разрешено.",
  srv404: "Не найдено.",
  srv405: "Здесь так нельзя.",
  srv409: "Это противоречит текущему состоянию.",
  srv413: "Файл слишком большой.",
  srv415: "Сервис не умеет читать такое содержимое.",
  srv422: "Некоторые значения неверны.",
  srv429: "Слишком много попыток. Попробуйте через {seconds} с.",
  srv500: "На сервере что-то пошло не так.",
  srv503: "Сервис занят или хранилище недоступно. Попробуйте чуть позже.",
  srvOther: "Запрос не удался (статус {status}).",
  requestId: "Id запроса: {id}",
};

const DICTIONARIES: Record<Lang, Dictionary> = { en, ru };

export type Params = Record<string, string | number>;

/** The browser's preferred language among ours, English when none fits. */
export function browserLang(languages: readonly string[]): Lang {
  for (const tag of languages) {
    const base = tag.toLowerCase().split("-")[0];
    if (base === "ru" || base === "en") {
      return base;
    }
  }
  return "en";
}

function initialLang(): Lang {
  if (typeof window === "undefined") {
    return "en";
  }
  const saved = window.localStorage?.getItem(STORAGE_KEY);
  if (saved === "en" || saved === "ru") {
    return saved;
  }
  return browserLang(window.navigator.languages ?? [window.navigator.language]);
}

/** The language in use; pages re-render when it changes. */
export const lang = ref<Lang>(initialLang());

export function setLang(next: Lang): void {
  lang.value = next;
  if (typeof window !== "undefined") {
    window.localStorage?.setItem(STORAGE_KEY, next);
    document.documentElement.lang = next;
  }
}

export function fill(text: string, params: Params = {}): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

/** The text of `key` in the current language, with `params` filled in. */
export function t(
  key: MessageKey,
  params?: Params,
  language: Lang = lang.value,
): string {
  return fill(DICTIONARIES[language][key], params);
}

// The server writes its messages in English. Each rule turns one of them
// (a field's message or an error's headline) into Russian; a message no rule
// knows is shown as the server wrote it.
type Rule = [RegExp, string];

const FIELD_NAMES_RU: Record<string, string> = {
  nickname: "никнейм",
  password: "пароль",
  current_password: "текущий пароль",
  new_password: "новый пароль",
  timezone: "часовой пояс",
  start: "начало",
  end: "конец",
  source: "источник",
  note: "заметка",
  role: "роль",
  disabled: "отключён",
  from: "первая ночь",
  to: "последняя ночь",
  store: "хранилище",
  status: "статус",
  since: "с момента",
  limit: "не больше",
  cursor: "страница",
  format: "формат",
  cookie: "cookie",
};

function fieldListRu(list: string): string {
  return list
    .split(", ")
    .map((name) => FIELD_NAMES_RU[name] ?? name)
    .join(", ");
}

const RU_RULES: Rule[] = [
  [/^is required$/, "обязательное поле"],
  [/^must be after start$/, "должен быть позже начала"],
  [
    /^a sleep record lasts at most 24 hours$/,
    "запись сна длится не больше 24 часов",
  ],
  [
    /^must be at most 24 hours in the future$/,
    "не больше чем на 24 часа вперёд",
  ],
  [/^must not be before 1970$/, "не раньше 1970 года"],
  [/^must be a string$/, "должно быть строкой"],
  [
    /^must be a string in RFC 3339 form$/,
    "должно быть строкой в формате RFC 3339",
  ],
  [
    /^must be an RFC 3339 timestamp such as (.+)$/,
    "должно быть временем RFC 3339, например $1",
  ],
  [
    /^has no UTC offset; add one .*$/,
    "нет смещения от UTC; добавьте его или укажите часовой пояс",
  ],
  [/^is not a real date and time.*$/, "такой даты и времени не бывает"],
  [
    /^(\S+) does not exist in (\S+): .*$/,
    "$1 не существует в $2: часы перевели вперёд",
  ],
  [
    /^its UTC offset does not match (\S+) at that moment$/,
    "смещение от UTC не совпадает с $1 в этот момент",
  ],
  [/^has an impossible UTC offset (.+)$/, "невозможное смещение от UTC $1"],
  [
    /^is not an IANA time zone name such as Europe\/Moscow$/,
    "не название часового пояса IANA, как Europe/Moscow",
  ],
  [
    /^'(.+)' is not a known IANA time zone$/,
    "«$1» — неизвестный часовой пояс IANA",
  ],
  [/^must be at least (\d+) characters long$/, "нужно не меньше $1 символов"],
  [/^must be at most (\d+) characters long$/, "нужно не больше $1 символов"],
  [/^must be (\d+) to (\d+) characters long$/, "нужно от $1 до $2 символов"],
  [
    /^may hold only letters, digits, .*$/,
    "можно только буквы, цифры, «.», «_» и «-»",
  ],
  [/^is not valid Unicode text$/, "недопустимый текст Юникода"],
  [/^is not a field of a sleep record$/, "такого поля у записи сна нет"],
  [/^may not be set here$/, "здесь это задавать нельзя"],
  [/^must be one of (.+)$/, "должно быть одним из: $1"],
  [/^must be true or false$/, "должно быть true или false"],
  [/^nothing to change$/, "нечего менять"],
  [/^must be a whole number from (\d+) to (\d+)$/, "целое число от $1 до $2"],
  [/^is not a cursor this service handed out$/, "неизвестная страница"],
  [
    /^must be a status such as 404 or a class as 4xx$/,
    "статус вроде 404 или класс вроде 4xx",
  ],
  [/^has (\d+) values; expected (.+)$/, "значений: $1, а нужно $2"],
  [
    /^has (\d+) values, too few for its header$/,
    "значений: $1, меньше, чем в заголовке",
  ],
  [/^has no (.+)$/, "нет поля $1"],
  [/^is not a JSON object$/, "не объект JSON"],
  [/^names a column twice$/, "называет столбец дважды"],
  [
    /^has values before any header line$/,
    "значения идут раньше строки заголовка",
  ],
  [/^The nickname or the password is wrong\.$/, "Никнейм или пароль неверны."],
  [/^The session has ended; log in again\.$/, "Сеанс завершён; войдите снова."],
  [
    /^The token has expired; log in again\.$/,
    "Срок сеанса истёк; войдите снова.",
  ],
  [
    /^The token is not valid; log in again\.$/,
    "Сеанс недействителен; войдите снова.",
  ],
  [/^The current password is wrong\.$/, "Текущий пароль неверен."],
  [
    /^Too many failed logins; try again in (\d+) s\.$/,
    "Слишком много неудачных попыток входа; попробуйте через $1 с.",
  ],
  [/^Nobody can raise their own role\.$/, "Никто не может повысить свою роль."],
  [
    /^Nobody can give a role above their own\.$/,
    "Никто не может дать роль выше своей.",
  ],
  [
    /^Your role may not manage users\.$/,
    "Ваша роль не может управлять пользователями.",
  ],
  [
    /^A (\w+) manages only users ranked below \w+\.$/,
    "Роль $1 управляет только теми, чья роль ниже.",
  ],
  [
    /^A (\w+) gives only roles ranked below \w+\.$/,
    "Роль $1 даёт только роли ниже своей.",
  ],
  [
    /^The last active superuser cannot be demoted or disabled\.$/,
    "Последнего активного суперпользователя нельзя понизить или отключить.",
  ],
  [/^The sleep record is not valid: (.+)\.$/, "Запись сна неверна: {fields}."],
  [/^The request is not valid: (.+)\.$/, "Запрос неверен: {fields}."],
  [/^The (\w+) is not valid\.$/, "Неверное поле: {field}."],
  [
    /^The query parameter '(\w+)' is not valid\.$/,
    "Неверный параметр: {field}.",
  ],
  [/^The nickname (.+) is taken\.$/, "Никнейм $1 уже занят."],
  [/^The nickname is taken\.$/, "Этот никнейм уже занят."],
  [/^That nickname is taken\.$/, "Этот никнейм уже занят."],
  [/^Log in first.*$/, "Сначала войдите."],
  [
    /^A change made with the session cookie needs the .*$/,
    "Сеанс устарел; обновите страницу и войдите снова.",
  ],
  [
    /^The role (\w+) may not do this; it needs (.+)\.$/,
    "Роли $1 это не разрешено; нужно право $2.",
  ],
  [/^There is no store '(.+)'; .*$/, "Хранилища «$1» нет."],
  [/^Send role, disabled or both\.$/, "Укажите роль, флаг отключения или оба."],
];

/** A message the server wrote, in the current language. */
export function serverText(
  message: string,
  language: Lang = lang.value,
): string {
  if (language === "en") {
    return message;
  }
  for (const [pattern, replacement] of RU_RULES) {
    const match = pattern.exec(message);
    if (match) {
      return message
        .replace(pattern, replacement)
        .replace("{fields}", fieldListRu(match[1] ?? ""))
        .replace("{field}", FIELD_NAMES_RU[match[1] ?? ""] ?? match[1] ?? "");
    }
  }
  return message;
}

/** An import's rejection reason, "end: must be after start; ...", in words. */
export function reasonText(
  reason: string,
  language: Lang = lang.value,
): string {
  return reason
    .split("; ")
    .map((part) => {
      const match = /^(\w+): (.*)$/.exec(part);
      if (!match) {
        return serverText(part, language);
      }
      const field =
        language === "ru" ? (FIELD_NAMES_RU[match[1]!] ?? match[1]) : match[1];
      return `${field}: ${serverText(match[2]!, language)}`;
    })
    .join("; ");
}

/** The name of a role in the current language. */
export function roleName(role: string, language: Lang = lang.value): string {
  const keys: Record<string, MessageKey> = {
    viewer: "roleViewer",
    user: "roleUser",
    analyst: "roleAnalyst",
    admin: "roleAdmin",
    superuser: "roleSuperuser",
  };
  const key = keys[role];
  return key ? t(key, undefined, language) : role;
}
