"""The import route: ``POST /api/<store>/imports`` takes a tracker's export file.

The body is the file itself, in any Content-Type. Query parameters:
``format`` (``auto``, the default, or a name from
``sleeplog.services.imports.FORMATS``), ``timezone`` (the IANA zone of
times without an offset, such as Fitbit's; default: the caller's own zone)
and ``dry_run`` (``true`` to validate without storing). The records belong
to the caller.

The answer is always 200 with the import summary, whether or not anything
was new: importing is idempotent, and the same file sent twice gets the
same status. The body limit is ``[imports] max_body_bytes``, checked
against Content-Length before a byte is read; the body is then parsed as it
streams in, never held whole. The audit entry gets the summary, the format
and the file's size, never the file.
"""

from bottle import request

from sleeplog.errors import BadRequestError, ValidationError
from sleeplog.services.imports import import_records
from sleeplog.web.audit import note
from sleeplog.web.bodies import check_length
from sleeplog.web.context import current
from sleeplog.web.params import query_text
from sleeplog.web.responses import json_response

_TRUE = ("1", "true", "yes")
_FALSE = ("0", "false", "no")


def install(app):
    """Add the import route to ``app``."""
    app.route("/api/<store>/imports", "POST", import_file, permission="records:write")


def import_file(store, owner, user):
    """Import the export file in the body; 200 with what was read and stored."""
    settings = current("settings")
    length = check_length(request.environ, settings.imports.max_body_bytes)
    if length == 0:
        raise BadRequestError(
            "The request body is empty; send the export file with a Content-Length."
        )
    fmt = query_text("format") or "auto"
    zone = query_text("timezone") or user.timezone
    dry_run = _query_flag("dry_run")
    body = _BoundedBody(request.environ["wsgi.input"], length)
    note(request.environ, data={"format": fmt, "file_bytes": length})

    summary = import_records(
        store,
        body,
        owner=owner,
        now=current("clock")(),
        zone=zone,
        fmt=fmt,
        dry_run=dry_run,
        client=request.environ["sleeplog.client"],
        batch_size=settings.imports.batch_size,
    )

    result = summary.to_json()
    note(
        request.environ,
        summary=result,
        data={"format": summary.format, "file_bytes": length},
    )
    return json_response(result)


def _query_flag(name):
    value = query_text(name)
    if value is None or value.lower() in _FALSE:
        return False
    if value.lower() in _TRUE:
        return True
    raise ValidationError(
        f"The query parameter {name!r} is not valid.",
        [{"field": name, "message": "must be true or false"}],
    )


class _BoundedBody:
    """``wsgi.input`` read no further than Content-Length, as WSGI requires."""

    def __init__(self, stream, length):
        self._stream = stream
        self._left = length

    def read(self, size=-1):
        if size is None or size < 0 or size > self._left:
            size = self._left
        data = self._stream.read(size) if size else b""
        self._left -= len(data)
        return data
