"""``GET /api/log``: the audit trail, streamed back with filters."""

from datetime import timezone

from sleeplog.errors import ValidationError
from sleeplog.web.context import current
from sleeplog.web.params import query_int, query_text, query_timestamp
from sleeplog.web.responses import primed, streamed_array

MAX_LIMIT = 1000000


def install(app):
    """Add the audit-trail route to ``app``."""
    app.route("/api/log", "GET", read_log, permission="log:read")


def read_log():
    """log.json as a JSON array; filters since, status (404 or 4xx), limit."""
    since = query_timestamp("since")
    status = _status_filter(query_text("status"))
    limit = query_int("limit", 1, MAX_LIMIT)

    # Read the first entry before answering, so an unreadable log is a 503.
    entries = primed(current("audit_log").iter_entries())
    return streamed_array(_select(entries, since, status, limit))


def _select(entries, since, status, limit):
    # Entries carry "time" as UTC isoformat with milliseconds, which sorts as text.
    since_text = None
    if since is not None:
        since_text = since.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    sent = 0
    for entry in entries:
        if limit is not None and sent >= limit:
            return
        if since_text is not None and entry.get("time", "") < since_text:
            continue
        if status is not None and not status(entry.get("status")):
            continue
        sent += 1
        yield entry


def _status_filter(text):
    if text is None:
        return None

    text = text.lower()
    if len(text) == 3 and text[0] in "12345" and text[1:] == "xx":
        return lambda value: isinstance(value, int) and value // 100 == int(text[0])
    if len(text) == 3 and text.isdigit():
        return lambda value: value == int(text)
    raise ValidationError.of_query(
        "status", "must be a status such as 404 or a class as 4xx"
    )
