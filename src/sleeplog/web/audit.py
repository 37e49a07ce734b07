"""The WSGI layer every request passes through: request id, client, audit entry.

:class:`AuditMiddleware` wraps the bottle app. For each request it

- assigns a request id (a sane incoming ``X-Request-ID`` is kept) and returns
  it in the ``X-Request-ID`` header of every answer;
- works out the client address, believing ``X-Forwarded-For`` only from a
  configured trusted proxy;
- refuses a request that would change something while the audit trail cannot
  be written (503), before the app runs, so nothing is stored;
- writes exactly one audit entry, and for ordinary answers writes it *before*
  the first byte goes out, so a 2xx is never sent for an unlogged change. If
  that write fails for a change, the change is undone and the answer is 503;
- for streamed answers (long lists), writes the entry when the stream ends,
  with the number of items sent;
- logs one INFO line per request.

Routes add what they know to the entry through :func:`note`.
"""

import ipaddress
import logging
import re
import threading
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import unquote_plus

from sleeplog.errors import AuditLogUnavailableError, SleeplogError
from sleeplog.web.errors import error_body, error_headers, status_line

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}", re.ASCII)
ENTRY_KEY = "sleeplog.audit"
_SECRET_NAME = re.compile(r"token|password|passwd|secret|key|auth|session", re.I)


def note(environ, **fields):
    """Add ``fields`` to the audit entry of the request behind ``environ``.

    Keys the middleware reads: ``owner``, ``store``, ``data``, ``summary``,
    ``user``; ``undo`` is a callable that reverses the change if the entry
    cannot be written; ``stream`` marks an answer whose entry is written at
    its end, with ``summary`` filled in while it streams.
    """
    environ[ENTRY_KEY].update(fields)


def client_address(environ, trusted_proxies):
    """The address a request came from.

    ``X-Forwarded-For`` is read only when the peer is a trusted proxy; then
    the rightmost address that is not itself a trusted proxy is the client.
    """
    peer = environ.get("REMOTE_ADDR") or "unknown"
    if not trusted_proxies or not _is_trusted(peer, trusted_proxies):
        return peer

    forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            return peer
        if not any(address in network for network in trusted_proxies):
            return str(address)
    return hops[0] if hops else peer


class AuditMiddleware:
    """Wraps a WSGI app so every request is identified, audited and logged."""

    def __init__(self, app, audit_log, trusted_proxies=()):
        self.app = app
        self.audit_log = audit_log
        self.trusted_proxies = tuple(trusted_proxies)
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()

    @property
    def in_flight(self):
        """How many requests are being answered right now."""
        return self._in_flight

    def __call__(self, environ, start_response):
        started = time.monotonic()
        request_id = environ.get("HTTP_X_REQUEST_ID", "")
        if not _REQUEST_ID.fullmatch(request_id):
            request_id = uuid.uuid4().hex

        environ["sleeplog.request_id"] = request_id
        environ["sleeplog.client"] = client_address(environ, self.trusted_proxies)
        environ[ENTRY_KEY] = {}
        self._enter()

        try:
            if environ.get("REQUEST_METHOD", "GET") not in SAFE_METHODS:
                self.audit_log.check()
        except AuditLogUnavailableError as exc:
            status, headers, body = _unavailable(exc, request_id)
            return self._finish(environ, start_response, started, status, headers, body)

        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"] = status
            captured["headers"] = headers

        try:
            result = self.app(environ, capture)
        except BaseException:
            self._leave()
            raise

        if environ[ENTRY_KEY].get("stream"):
            start_response(
                captured["status"],
                captured["headers"] + [("X-Request-ID", request_id)],
            )
            return _StreamedBody(self, environ, result, started, captured["status"])

        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()

        status = int(captured["status"].split()[0])
        return self._finish(
            environ, start_response, started, status, captured["headers"], body
        )

    def _finish(self, environ, start_response, started, status, headers, body):
        entry = environ[ENTRY_KEY]
        request_id = environ["sleeplog.request_id"]
        try:
            self._write_entry(environ, status, started)
        except AuditLogUnavailableError as exc:
            if environ.get("REQUEST_METHOD") not in SAFE_METHODS and status < 400:
                _undo(entry.get("undo"), request_id)
                status, headers, body = _unavailable(exc, request_id)
        finally:
            self._leave()

        if environ.get("REQUEST_METHOD") != "HEAD":
            # A HEAD answer keeps the length its GET would have.
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body))))
        headers.append(("X-Request-ID", request_id))
        start_response(status_line(status), headers)
        return [body]

    def _write_entry(self, environ, status, started, summary=None):
        entry = environ[ENTRY_KEY]
        duration = time.monotonic() - started
        record = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "request_id": environ["sleeplog.request_id"],
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": redact_query(environ.get("QUERY_STRING", "")),
            "client": environ["sleeplog.client"],
            "user": entry.get("user"),
            "owner": entry.get("owner"),
            "store": entry.get("store"),
            "data": entry.get("data"),
            "status": status,
            "summary": summary if summary is not None else entry.get("summary"),
            "duration_ms": round(duration * 1000, 3),
        }
        log.info(
            "%s %s %d %.1fms id=%s",
            _printable(record["method"]),
            _printable(record["path"]),
            status,
            record["duration_ms"],
            record["request_id"],
        )

        try:
            self.audit_log.append(record)
        except AuditLogUnavailableError as exc:
            log.warning(
                "audit entry of request %s not written: %s",
                record["request_id"],
                exc.message,
            )
            raise

    def _enter(self):
        with self._in_flight_lock:
            self._in_flight += 1

    def _leave(self):
        with self._in_flight_lock:
            self._in_flight -= 1


class _StreamedBody:
    """A streamed answer whose audit entry is written when it ends."""

    def __init__(self, middleware, environ, result, started, status):
        self._middleware = middleware
        self._environ = environ
        self._result = result
        self._started = started
        self._status = int(status.split()[0])
        self._failure = None
        self._closed = False

    def __iter__(self):
        try:
            yield from self._result
        except Exception as exc:
            # The status line is gone already; the client sees a cut stream.
            self._failure = exc
            log.error(
                "stream of request %s broke off",
                self._environ["sleeplog.request_id"],
                exc_info=True,
            )
            raise

    def close(self):
        if self._closed:
            return
        self._closed = True

        try:
            if hasattr(self._result, "close"):
                self._result.close()
        finally:
            summary = dict(self._environ[ENTRY_KEY].get("summary") or {})
            if self._failure is not None:
                summary["aborted"] = str(self._failure) or type(self._failure).__name__
            try:
                self._middleware._write_entry(
                    self._environ, self._status, self._started, summary
                )
            except AuditLogUnavailableError:
                pass  # a read was served; _write_entry has logged the warning
            finally:
                self._middleware._leave()


def redact_query(query):
    """The query string for the audit entry, secrets replaced, or None.

    Parameters whose names suggest a credential keep their name and lose
    their value, so a token sent in a URL by mistake is never written down.
    """
    if not query:
        return None

    parts = []
    for part in query.split("&"):
        name, equals, _ = part.partition("=")
        if equals and _SECRET_NAME.search(unquote_plus(name)):
            part = f"{name}=REDACTED"
        parts.append(part)
    return "&".join(parts)


def _undo(undo, request_id):
    if undo is None:
        return

    try:
        undo()
    except SleeplogError as exc:
        # The change stays stored without its entry; the client sees 503 and
        # may retry, which is idempotent and is then logged.
        log.error(
            "request %s: its change could not be undone after its audit entry "
            "failed: %s",
            request_id,
            exc.message,
        )


def _printable(text):
    # Paths come from clients: a newline in one must not forge a log line.
    text = text or ""
    if text.isprintable():
        return text
    return text.encode("unicode_escape").decode("ascii")


def _unavailable(exc, request_id):
    return 503, error_headers(503), error_body(503, exc.message, request_id)


def _is_trusted(peer, trusted_proxies):
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in trusted_proxies)
