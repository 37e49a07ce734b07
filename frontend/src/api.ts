// The one module that speaks to the sleeplog API. Its types mirror the JSON
// the server sends (src/sleeplog/web/*.py, models.py, services/*.py); the
// error body is the one built by web/errors.py.
//
// The browser session is the HttpOnly `sleeplog_session` cookie set by
// login, which no script can read. Every request that changes something
// repeats the CSRF token in `X-CSRF-Token`; the token comes from the login
// answer or, after a reload, from the readable `sleeplog_csrf` cookie.

export const CSRF_HEADER = "X-CSRF-Token";
export const CSRF_COOKIE = "sleeplog_csrf";

/** The stores the shipped configuration serves, `/api/<store>/records`. */
export const STORES = ["mysql", "redis"] as const;
export type StoreName = (typeof STORES)[number];

export const ROLES = [
  "viewer",
  "user",
  "analyst",
  "admin",
  "superuser",
] as const;
export type Role = (typeof ROLES)[number];

export type Permission =
  | "account:self"
  | "records:read"
  | "records:write"
  | "records:read_all"
  | "reports:read_all"
  | "stats:read_all"
  | "log:read"
  | "users:read"
  | "users:manage"
  | "users:manage_all";

/** One entry of an error's `details`: a failing field, or something else. */
export interface ErrorDetail {
  field?: string | null;
  message?: string;
  [key: string]: unknown;
}

/** The body of every error answer. */
export interface ErrorBody {
  error: {
    status: number;
    message: string;
    details: ErrorDetail[];
    request_id: string;
  };
}

/** A sleep record as the API sends it (models.py `to_json`). */
export interface SleepRecord {
  id: number;
  owner: string;
  start: string;
  end: string;
  timezone: string | null;
  source: string | null;
  note: string | null;
  client: string | null;
  created_at: string | null;
}

/** What a client sends to save a record. */
export interface NewRecord {
  start: string;
  end: string;
  timezone?: string;
  source?: string;
  note?: string;
}

/** An account with its permissions (web/accounts.py `account_json`). */
export interface Account {
  id: number;
  nickname: string;
  role: Role;
  timezone: string;
  disabled: boolean;
  created_at: string;
  permissions: Permission[];
}

/** The answer to a cookie login or a password change. */
export interface LoginAnswer {
  token_type: "cookie" | "Bearer";
  token: string | null;
  expires_at: string;
  csrf_token?: string;
  user: Account;
}

export interface Registration {
  nickname: string;
  password: string;
  timezone?: string;
}

export interface UserChange {
  role?: Role;
  disabled?: boolean;
}

/** One night of the chart (services/stats.py `SeriesPoint`). */
export interface SeriesPoint {
  date: string;
  evaluated: number;
  violated: number;
  minutes_in_window: number | null;
  total_minutes: number | null;
}

/** The main page's figures (services/stats.py `Stats`). */
export interface Stats {
  now: string;
  first_night: string;
  last_night: string;
  /** Records in each store, by store name. */
  store_counts: Record<string, number>;
  users: number;
  records_last_7_days: number;
  evaluated_nights: number;
  average_sleep_minutes: number | null;
  average_window_minutes: number | null;
  violators_last_7_nights: number;
  series: SeriesPoint[];
}

/** The night window and the threshold the figures were computed with. */
export interface NightRule {
  evening: string;
  morning: string;
  threshold_minutes: number;
}

/** The shipped `[nights]` settings, until the server has said otherwise. */
export const DEFAULT_RULE: NightRule = {
  evening: "22:00",
  morning: "06:00",
  threshold_minutes: 360,
};

/** `GET /api/stats`: one's own figures, and everyone's for analysts and up. */
export interface StatsAnswer {
  rule: NightRule;
  own: Stats;
  everyone: Stats | null;
}

/** One violated night (services/nights.py `Night`). */
export interface ViolatedNight {
  date: string;
  minutes: number;
  total_minutes: number;
  window_start: string;
  window_end: string;
  timezone: string | null;
  violated: boolean;
  clients: string[];
}

export interface Violator {
  user_id: number | null;
  nickname: string;
  owner: string;
  clients: string[];
  nights: ViolatedNight[];
}

/** `GET /api/reports/violators`: everyone's, or one's own without read_all. */
export interface ViolatorsReport {
  from: string;
  to: string;
  stores: string[];
  rule: NightRule;
  violators: Violator[];
}

export type ReportStore = StoreName | "all";

export interface ViolatorsQuery {
  from: string;
  to: string;
  store: ReportStore;
}

/** One audit entry of log.json (web/audit.py). */
export interface LogEntry {
  time: string;
  request_id: string;
  method: string;
  path: string;
  query: string | null;
  client: string;
  user: { id: number; nickname: string } | null;
  owner: string | null;
  store: string | null;
  data: unknown;
  status: number;
  summary: unknown;
  duration_ms: number;
}

export interface LogQuery {
  since?: string;
  status?: string;
  limit?: number;
}

export interface Rejection {
  position: string;
  reason: string;
}

/** What an import did (services/imports `ImportSummary`). */
export interface ImportSummary {
  format: string;
  dry_run: boolean;
  read: number;
  valid: number;
  stored: number;
  already_present: number;
  skipped: number;
  rejected: number;
  rejections: Rejection[];
  stopped: Rejection | null;
}

export interface ImportOptions {
  format?: string;
  timezone?: string;
  dryRun?: boolean;
}

export interface RecordQuery {
  limit?: number;
  cursor?: string | null;
  from?: string;
  to?: string;
}

/** One page of a list, and the cursor of the next one (`null` at the end). */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/** A failed request: the server's error body, or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly details: ErrorDetail[];
  readonly requestId: string | null;
  readonly retryAfter: number | null;

  constructor(
    status: number,
    message: string,
    details: ErrorDetail[] = [],
    requestId: string | null = null,
    retryAfter: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.details = details;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
  }

  /** The messages about each named field, by field. */
  fieldMessages(): Record<string, string[]> {
    const result: Record<string, string[]> = {};
    for (const detail of this.details) {
      if (
        typeof detail.field === "string" &&
        typeof detail.message === "string"
      ) {
        (result[detail.field] ??= []).push(detail.message);
      }
    }
    return result;
  }
}

/** Whether `value` has the shape of the server's error body. */
export function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== "object" || value === null || !("error" in value)) {
    return false;
  }
  const error = (value as { error: unknown }).error;
  return (
    typeof error === "object" &&
    error !== null &&
    typeof (error as ErrorBody["error"]).status === "number" &&
    typeof (error as ErrorBody["error"]).message === "string"
  );
}

/** The `ApiError` an answer's status, body text and headers describe. */
export function errorFrom(
  status: number,
  text: string,
  headers: Headers,
): ApiError {
  const retry = Number.parseInt(headers.get("Retry-After") ?? "", 10);
  const retryAfter = Number.isFinite(retry) ? retry : null;
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: waitress's own plain-text 413, or a proxy's page.
  }
  if (isErrorBody(parsed)) {
    const error = parsed.error;
    return new ApiError(
      error.status,
      error.message,
      Array.isArray(error.details) ? error.details : [],
      error.request_id ?? headers.get("X-Request-ID"),
      retryAfter,
    );
  }
  return new ApiError(
    status,
    text.trim(),
    [],
    headers.get("X-Request-ID"),
    retryAfter,
  );
}

/** The value of cookie `name` in a `document.cookie` string. */
export function readCookie(cookies: string, name: string): string | null {
  for (const part of cookies.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) {
      return decodeURIComponent(rest.join("="));
    }
  }
  return null;
}

/** A query string from the defined values of `params`, with a leading "?". */
export function queryString(
  params: Record<string, string | number | boolean | null | undefined>,
): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") {
      search.set(key, String(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

type Query = Record<string, string | number | boolean | null | undefined>;

interface RequestOptions {
  query?: Query;
  json?: unknown;
}

/** The minimal XMLHttpRequest an upload needs; tests pass a fake. */
export interface UploadRequest {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  send(body: Blob): void;
  getAllResponseHeaders(): string;
  readonly status: number;
  readonly responseText: string;
  readonly upload: { onprogress: ((event: ProgressEvent) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
}

export interface ClientOptions {
  fetch?: typeof fetch;
  /** Where `document.cookie` is read from, to find the CSRF token after a reload. */
  cookies?: () => string;
  newUpload?: () => UploadRequest;
  base?: string;
  /** Called when the server answers 401 to anything but a login. */
  onUnauthorized?: (error: ApiError) => void;
}

export class ApiClient {
  private readonly fetcher: typeof fetch;
  private readonly cookies: () => string;
  private readonly newUpload: () => UploadRequest;
  private readonly base: string;
  private csrf: string | null = null;
  onUnauthorized: (error: ApiError) => void;

  constructor(options: ClientOptions = {}) {
    this.fetcher =
      options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.cookies =
      options.cookies ??
      (() => (typeof document === "undefined" ? "" : document.cookie));
    this.newUpload =
      options.newUpload ??
      (() => new XMLHttpRequest() as unknown as UploadRequest);
    this.base = options.base ?? "";
    this.onUnauthorized = options.onUnauthorized ?? (() => {});
  }

  /** The CSRF token changes send: the cookie's, else the last login's. */
  csrfToken(): string | null {
    return readCookie(this.cookies(), CSRF_COOKIE) ?? this.csrf;
  }

  // Accounts

  register(body: Registration): Promise<Account> {
    return this.json<Account>("POST", "/api/auth/register", { json: body });
  }

  async login(nickname: string, password: string): Promise<LoginAnswer> {
    const answer = await this.json<LoginAnswer>("POST", "/api/auth/login", {
      json: { nickname, password, cookie: true },
    });
    this.csrf = answer.csrf_token ?? null;
    return answer;
  }

  async logout(): Promise<void> {
    await this.send("POST", "/api/auth/logout");
    this.csrf = null;
  }

  async logoutAll(): Promise<void> {
    await this.send("POST", "/api/auth/logout-all");
    this.csrf = null;
  }

  me(): Promise<Account> {
    return this.json<Account>("GET", "/api/me");
  }

  updateMe(change: { timezone: string }): Promise<Account> {
    return this.json<Account>("PATCH", "/api/me", { json: change });
  }

  async changePassword(
    currentPassword: string,
    newPassword: string,
  ): Promise<LoginAnswer> {
    const answer = await this.json<LoginAnswer>("POST", "/api/me/password", {
      json: { current_password: currentPassword, new_password: newPassword },
    });
    this.csrf = answer.csrf_token ?? null;
    return answer;
  }

  /** Forget the CSRF token of a session that the server has ended. */
  forget(): void {
    this.csrf = null;
  }

  // Users

  async users(
    after = 0,
    limit = 100,
  ): Promise<{ items: Account[]; more: boolean }> {
    const response = await this.send("GET", "/api/users", {
      query: { after, limit },
    });
    const items = (await response.json()) as Account[];
    return {
      items,
      more: /rel="next"/.test(response.headers.get("Link") ?? ""),
    };
  }

  changeUser(id: number, change: UserChange): Promise<Account> {
    return this.json<Account>("PATCH", `/api/users/${id}`, { json: change });
  }

  // Records

  async records(
    store: string,
    query: RecordQuery = {},
  ): Promise<Page<SleepRecord>> {
    const response = await this.send(
      "GET",
      `/api/${encodeURIComponent(store)}/records`,
      {
        query: {
          limit: query.limit ?? 20,
          cursor: query.cursor,
          from: query.from,
          to: query.to,
        },
      },
    );
    const items = (await response.json()) as SleepRecord[];
    return { items, next: response.headers.get("X-Next-Cursor") };
  }

  /** Save a record: `created` is false when the same one was stored before. */
  async addRecord(
    store: string,
    record: NewRecord,
  ): Promise<{ record: SleepRecord; created: boolean }> {
    const response = await this.send(
      "POST",
      `/api/${encodeURIComponent(store)}/records`,
      {
        json: record,
      },
    );
    return {
      record: (await response.json()) as SleepRecord,
      created: response.status === 201,
    };
  }

  /** Upload an export file; `onProgress` gets the fraction sent, 0 to 1. */
  importFile(
    store: string,
    file: Blob,
    options: ImportOptions = {},
    onProgress: (fraction: number) => void = () => {},
  ): Promise<ImportSummary> {
    const url =
      `${this.base}/api/${encodeURIComponent(store)}/imports` +
      queryString({
        format: options.format ?? "auto",
        timezone: options.timezone,
        dry_run: options.dryRun ? "true" : undefined,
      });

    return new Promise((resolve, reject) => {
      const upload = this.newUpload();
      upload.open("POST", url);
      upload.setRequestHeader("Content-Type", "application/octet-stream");
      upload.setRequestHeader("Accept", "application/json");
      const csrf = this.csrfToken();
      if (csrf) {
        upload.setRequestHeader(CSRF_HEADER, csrf);
      }
      upload.upload.onprogress = (event) => {
        if (event.lengthComputable && event.total > 0) {
          onProgress(event.loaded / event.total);
        }
      };
      upload.onerror = () => reject(new ApiError(0, "network"));
      upload.onload = () => {
        const headers = parseHeaders(upload.getAllResponseHeaders());
        if (upload.status >= 200 && upload.status < 300) {
          onProgress(1);
          resolve(JSON.parse(upload.responseText) as ImportSummary);
        } else {
          reject(
            this.refused(
              url,
              errorFrom(upload.status, upload.responseText, headers),
            ),
          );
        }
      };
      upload.send(file);
    });
  }

  // Reports

  stats(): Promise<StatsAnswer> {
    return this.json<StatsAnswer>("GET", "/api/stats");
  }

  violators(query: ViolatorsQuery): Promise<ViolatorsReport> {
    return this.json<ViolatorsReport>("GET", "/api/reports/violators", {
      query: { ...query },
    });
  }

  /** The address of the report as CSV, for a download link. */
  violatorsCsvUrl(query: ViolatorsQuery): string {
    return (
      `${this.base}/api/reports/violators` +
      queryString({ ...query, format: "csv" })
    );
  }

  log(query: LogQuery = {}): Promise<LogEntry[]> {
    return this.json<LogEntry[]>("GET", "/api/log", { query: { ...query } });
  }

  // Plumbing

  private async json<T>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<T> {
    const response = await this.send(method, path, options);
    return (await response.json()) as T;
  }

  /** Send a request; resolve with a 2xx answer, reject with an `ApiError`. */
  async send(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json" };
    let body: string | undefined;
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.json);
    }
    if (method !== "GET" && method !== "HEAD") {
      const csrf = this.csrfToken();
      if (csrf) {
        headers[CSRF_HEADER] = csrf;
      }
    }

    let response: Response;
    try {
      response = await this.fetcher(
        this.base + path + queryString(options.query ?? {}),
        {
          method,
          headers,
          body,
          credentials: "same-origin",
        },
      );
    } catch {
      throw new ApiError(0, "network");
    }

    if (!response.ok) {
      throw this.refused(
        path,
        errorFrom(response.status, await response.text(), response.headers),
      );
    }
    return response;
  }

  /** Tell the page that its session has ended, unless a login failed. */
  private refused(path: string, error: ApiError): ApiError {
    if (
      error.status === 401 &&
      !path.includes("/api/auth/login") &&
      !path.endsWith("/api/me")
    ) {
      this.onUnauthorized(error);
    }
    return error;
  }
}

function parseHeaders(text: string): Headers {
  const headers = new Headers();
  for (const line of text.trim().split(/[\r\n]+/)) {
    const index = line.indexOf(":");
    if (index > 0) {
      headers.append(line.slice(0, index).trim(), line.slice(index + 1).trim());
    }
  }
  return headers;
}

/** The client the pages share. */
export const api = new ApiClient();
