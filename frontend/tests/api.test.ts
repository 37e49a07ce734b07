import { describe, expect, it } from "vitest";

import {
  ApiClient,
  ApiError,
  CSRF_HEADER,
  errorFrom,
  queryString,
  readCookie,
  type UploadRequest,
} from "../src/api";

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

/** A fetch that answers from a list and records what it was asked. */
function fakeFetch(answers: Array<Response | Error>) {
  const calls: Call[] = [];
  const fetcher = async (input: RequestInfo | URL, init?: RequestInit) => {
    calls.push({
      url: String(input),
      method: init?.method ?? "GET",
      headers: (init?.headers ?? {}) as Record<string, string>,
      body:
        init?.body === undefined ? undefined : JSON.parse(String(init.body)),
    });
    const answer = answers.shift();
    if (answer instanceof Error || answer === undefined) {
      throw answer ?? new Error("no answer left");
    }
    return answer;
  };
  return { calls, fetcher: fetcher as typeof fetch };
}

function json(
  value: unknown,
  status = 200,
  headers: Record<string, string> = {},
) {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", ...headers },
  });
}

const ACCOUNT = {
  id: 7,
  nickname: "анна",
  role: "user",
  timezone: "Europe/Moscow",
  disabled: false,
  created_at: "2024-05-01T10:00:00Z",
  permissions: ["account:self", "records:read", "records:write"],
};

const RECORD = {
  id: 1,
  owner: "7",
  start: "2024-05-01T23:10:00+03:00",
  end: "2024-05-02T07:05:00+03:00",
  timezone: "Europe/Moscow",
  source: null,
  note: null,
  client: "127.0.0.1",
  created_at: "2024-05-02T04:06:00Z",
};

describe("logging in", () => {
  it("asks for a cookie session and sends its CSRF token with every change", async () => {
    const { calls, fetcher } = fakeFetch([
      json({
        token_type: "cookie",
        token: null,
        expires_at: "x",
        csrf_token: "abc",
        user: ACCOUNT,
      }),
      json(RECORD, 201),
      json([]),
    ]);
    const client = new ApiClient({ fetch: fetcher, cookies: () => "" });

    const answer = await client.login("анна", "secret-password");
    await client.addRecord("redis", { start: RECORD.start, end: RECORD.end });
    await client.records("redis");

    expect(answer.user.nickname).toBe("анна");
    expect(calls[0]).toMatchObject({
      url: "/api/auth/login",
      method: "POST",
      body: { nickname: "анна", password: "secret-password", cookie: true },
    });
    expect(calls[0]!.headers["Content-Type"]).toBe("application/json");
    expect(calls[0]!.headers[CSRF_HEADER]).toBeUndefined();
    expect(calls[1]!.headers[CSRF_HEADER]).toBe("abc");
    expect(calls[2]!.method).toBe("GET");
    expect(calls[2]!.headers[CSRF_HEADER]).toBeUndefined();
  });

  it("finds the CSRF token in its cookie after a reload", async () => {
    const { calls, fetcher } = fakeFetch([new Response(null, { status: 204 })]);
    const client = new ApiClient({
      fetch: fetcher,
      cookies: () => "theme=dark; sleeplog_csrf=from-cookie%3D; other=1",
    });

    await client.logout();

    expect(calls[0]!.url).toBe("/api/auth/logout");
    expect(calls[0]!.headers[CSRF_HEADER]).toBe("from-cookie=");
  });

  it("keeps no token of its own: the session is the HttpOnly cookie", async () => {
    const { fetcher } = fakeFetch([
      json({
        token_type: "cookie",
        token: null,
        expires_at: "x",
        csrf_token: "abc",
        user: ACCOUNT,
      }),
    ]);
    const client = new ApiClient({ fetch: fetcher, cookies: () => "" });

    await client.login("анна", "secret-password");

    expect(JSON.stringify(client)).not.toContain("secret-password");
    expect(client.csrfToken()).toBe("abc");
  });
});

describe("errors", () => {
  it("reads the server's error body, its fields and its request id", async () => {
    const body = {
      error: {
        status: 422,
        message: "The sleep record is not valid: end.",
        details: [
          { field: "end", message: "must be after start" },
          { field: "end", message: "a sleep record lasts at most 24 hours" },
          { field: null, message: "expected a JSON object" },
        ],
        request_id: "req-1",
      },
    };
    const { fetcher } = fakeFetch([json(body, 422)]);
    const client = new ApiClient({ fetch: fetcher, cookies: () => "" });

    const error = await client
      .addRecord("mysql", { start: "a", end: "b" })
      .catch((e) => e);

    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(422);
    expect(error.message).toBe("The sleep record is not valid: end.");
    expect(error.requestId).toBe("req-1");
    expect(error.fieldMessages()).toEqual({
      end: ["must be after start", "a sleep record lasts at most 24 hours"],
    });
  });

  it("keeps Retry-After of a throttled login", () => {
    const headers = new Headers({ "Retry-After": "42", "X-Request-ID": "r" });
    const text = JSON.stringify({
      error: {
        status: 429,
        message: "Too many failed logins; try again in 42 s.",
        details: [],
        request_id: "r",
      },
    });

    const error = errorFrom(429, text, headers);

    expect([error.status, error.retryAfter, error.requestId]).toEqual([
      429,
      42,
      "r",
    ]);
  });

  it("turns a plain-text answer into an error with its status", () => {
    const error = errorFrom(
      413,
      "Request Entity Too Large\n",
      new Headers({ "X-Request-ID": "w" }),
    );

    expect([
      error.status,
      error.message,
      error.details,
      error.requestId,
    ]).toEqual([413, "Request Entity Too Large", [], "w"]);
  });

  it("tells the page when a session has ended, but not for a failed login", async () => {
    const ended = (message: string) =>
      json(
        { error: { status: 401, message, details: [], request_id: "r" } },
        401,
      );
    const { fetcher } = fakeFetch([
      ended("The session has ended; log in again."),
      ended("The nickname or the password is wrong."),
    ]);
    const seen: number[] = [];
    const client = new ApiClient({
      fetch: fetcher,
      cookies: () => "",
      onUnauthorized: (e) => seen.push(e.status),
    });

    await client.records("mysql").catch(() => null);
    await client.login("anna", "wrong").catch(() => null);

    expect(seen).toEqual([401]);
  });

  it("reports a network failure as status 0", async () => {
    const { fetcher } = fakeFetch([new TypeError("Failed to fetch")]);
    const client = new ApiClient({ fetch: fetcher, cookies: () => "" });

    const error = await client.me().catch((e) => e);

    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(0);
  });
});

describe("records", () => {
  it("pages with the cursor the server hands out", async () => {
    const { calls, fetcher } = fakeFetch([
      json([RECORD], 200, { "X-Next-Cursor": "WyIyMDI0" }),
      json([], 200),
    ]);
    const client = new ApiClient({ fetch: fetcher, cookies: () => "" });

    const first = await client.records("mysql", { limit: 1 });
    const second = await client.records("mysql", {
      limit: 1,
      cursor: first.next,
    });

    expect(first).toEqual({ items: [RECORD], next: "WyIyMDI0" });
    expect(second).toEqual({ items: [], next: null });
    expect(calls.map((call) => call.url)).toEqual([
      "/api/mysql/records?limit=1",
      "/api/mysql/records?limit=1&cursor=WyIyMDI0",
    ]);
  });

  it("tells a new record (201) from a repeat (200)", async () => {
    const { fetcher } = fakeFetch([json(RECORD, 201), json(RECORD, 200)]);
    const client = new ApiClient({ fetch: fetcher, cookies: () => "" });
    const body = { start: RECORD.start, end: RECORD.end };

    const created = await client.addRecord("redis", body);
    const repeated = await client.addRecord("redis", body);

    expect([created.created, repeated.created]).toEqual([true, false]);
  });
});

describe("users and reports", () => {
  it("sees from the Link header whether more users follow", async () => {
    const { calls, fetcher } = fakeFetch([
      json([ACCOUNT], 200, {
        Link: '</api/users?limit=1&after=7>; rel="next"',
      }),
      json([], 200),
    ]);
    const client = new ApiClient({ fetch: fetcher, cookies: () => "" });

    const first = await client.users(0, 1);
    const second = await client.users(7, 1);

    expect([first.more, second.more]).toEqual([true, false]);
    expect(calls[1]!.url).toBe("/api/users?after=7&limit=1");
  });

  it("changes a user with PATCH and only the fields given", async () => {
    const { calls, fetcher } = fakeFetch([json({ ...ACCOUNT, role: "admin" })]);
    const client = new ApiClient({
      fetch: fetcher,
      cookies: () => "sleeplog_csrf=t",
    });

    const updated = await client.changeUser(7, { role: "admin" });

    expect(updated.role).toBe("admin");
    expect(calls[0]).toMatchObject({
      url: "/api/users/7",
      method: "PATCH",
      body: { role: "admin" },
    });
    expect(calls[0]!.headers[CSRF_HEADER]).toBe("t");
  });

  it("asks for the violators report and builds its CSV address", async () => {
    const { calls, fetcher } = fakeFetch([json({ violators: [] })]);
    const client = new ApiClient({ fetch: fetcher, cookies: () => "" });
    const query = {
      from: "2024-05-01",
      to: "2024-05-07",
      store: "all" as const,
    };

    await client.violators(query);

    expect(calls[0]!.url).toBe(
      "/api/reports/violators?from=2024-05-01&to=2024-05-07&store=all",
    );
    expect(client.violatorsCsvUrl(query)).toBe(
      "/api/reports/violators?from=2024-05-01&to=2024-05-07&store=all&format=csv",
    );
  });

  it("filters the log on the server", async () => {
    const { calls, fetcher } = fakeFetch([json([])]);
    const client = new ApiClient({ fetch: fetcher, cookies: () => "" });

    await client.log({
      since: "2024-05-01T00:00:00.000Z",
      status: "4xx",
      limit: 50,
    });

    expect(calls[0]!.url).toBe(
      "/api/log?since=2024-05-01T00%3A00%3A00.000Z&status=4xx&limit=50",
    );
  });
});

/** An XMLHttpRequest stand-in that reports progress in two steps. */
class FakeUpload implements UploadRequest {
  method = "";
  url = "";
  headers: Record<string, string> = {};
  sent: Blob | null = null;
  status = 0;
  responseText = "";
  upload: { onprogress: ((event: ProgressEvent) => void) | null } = {
    onprogress: null,
  };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;

  constructor(
    private readonly answer: { status: number; body: unknown } | "network",
  ) {}

  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }

  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }

  getAllResponseHeaders() {
    return "content-type: application/json\r\nx-request-id: up-1\r\n";
  }

  send(body: Blob) {
    this.sent = body;
    const total = body.size;
    for (const loaded of [total / 2, total]) {
      this.upload.onprogress?.({
        lengthComputable: true,
        loaded,
        total,
      } as ProgressEvent);
    }
    if (this.answer === "network") {
      this.onerror?.();
      return;
    }
    this.status = this.answer.status;
    this.responseText = JSON.stringify(this.answer.body);
    this.onload?.();
  }
}

describe("imports", () => {
  const SUMMARY = {
    format: "csv",
    dry_run: false,
    read: 3,
    valid: 2,
    stored: 2,
    already_present: 0,
    skipped: 0,
    rejected: 1,
    rejections: [{ position: "line 3", reason: "end: must be after start" }],
    stopped: null,
  };

  it("uploads the raw file with the CSRF token and reports progress", async () => {
    const upload = new FakeUpload({ status: 200, body: SUMMARY });
    const client = new ApiClient({
      cookies: () => "sleeplog_csrf=c1",
      newUpload: () => upload,
    });
    const seen: number[] = [];
    const file = new Blob(["start,end\n"]);

    const summary = await client.importFile(
      "mysql",
      file,
      { timezone: "Europe/Moscow" },
      (fraction) => seen.push(fraction),
    );

    expect(summary).toEqual(SUMMARY);
    expect(upload.method).toBe("POST");
    expect(upload.url).toBe(
      "/api/mysql/imports?format=auto&timezone=Europe%2FMoscow",
    );
    expect(upload.headers[CSRF_HEADER]).toBe("c1");
    expect(upload.sent).toBe(file);
    expect(seen).toEqual([0.5, 1, 1]);
  });

  it("rejects with the server's error", async () => {
    const body = {
      error: {
        status: 422,
        message: "The query parameter 'timezone' is not valid.",
        details: [
          {
            field: "timezone",
            message: "'Mars/Base' is not a known IANA time zone",
          },
        ],
        request_id: "up-1",
      },
    };
    const upload = new FakeUpload({ status: 422, body });
    const client = new ApiClient({
      cookies: () => "",
      newUpload: () => upload,
    });

    const error = await client
      .importFile("redis", new Blob(["x"]), {
        timezone: "Mars/Base",
        dryRun: true,
      })
      .catch((e) => e);

    expect(upload.url).toBe(
      "/api/redis/imports?format=auto&timezone=Mars%2FBase&dry_run=true",
    );
    expect(error).toBeInstanceOf(ApiError);
    expect(error.fieldMessages()).toEqual({
      timezone: ["'Mars/Base' is not a known IANA time zone"],
    });
  });

  it("reports a broken connection as status 0", async () => {
    const client = new ApiClient({
      cookies: () => "",
      newUpload: () => new FakeUpload("network"),
    });

    const error = await client
      .importFile("redis", new Blob(["x"]))
      .catch((e) => e);

    expect(error.status).toBe(0);
  });
});

describe("helpers", () => {
  it.each([
    ["a=1; sleeplog_csrf=xyz", "xyz"],
    ["sleeplog_csrf=a%2Bb", "a+b"],
    ["sleeplog_csrf_old=1", null],
    ["", null],
  ])("reads the cookie from %j", (cookies, expected) => {
    expect(readCookie(cookies, "sleeplog_csrf")).toBe(expected);
  });

  it("leaves out empty query values", () => {
    expect(queryString({ a: 1, b: "", c: undefined, d: null, e: "x y" })).toBe(
      "?a=1&e=x+y",
    );
    expect(queryString({})).toBe("");
  });
});
