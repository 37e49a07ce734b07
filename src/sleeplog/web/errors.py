"""Every error answer sleeplog sends, built in one place.

The body always has one shape::

    {"error": {"status": 422, "message": "...", "details": [...],
               "request_id": "..."}}

``STATUS_BY_ERROR`` maps the project's exceptions to HTTP statuses; the first
class in the table that matches wins, so subclasses come before their bases.
"""

import json
import logging
from http import HTTPStatus

from bottle import HTTPResponse

from sleeplog import errors

log = logging.getLogger(__name__)

STATUS_BY_ERROR = (
    (errors.BadRequestError, 400),
    (errors.AuthenticationError, 401),
    (errors.PermissionDeniedError, 403),
    (errors.NotFoundError, 404),
    (errors.ConflictError, 409),
    (errors.PayloadTooLargeError, 413),
    (errors.UnsupportedMediaTypeError, 415),
    (errors.ValidationError, 422),
    (errors.ThrottledError, 429),
    (errors.StorageUnavailableError, 503),
    (errors.AuditLogUnavailableError, 503),
    (errors.StorageError, 500),
    (errors.SleeplogError, 500),
)

#: Seconds a client should wait before retrying an answer of 503.
RETRY_AFTER_SECONDS = 5

#: The challenge of every 401 (RFC 6750); a refused token adds its error code.
CHALLENGE = 'Bearer realm="sleeplog"'

REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def status_for(exc):
    """The HTTP status that answers ``exc``, a ``SleeplogError``."""
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return 500


def error_body(status, message, request_id, details=()):
    """The JSON bytes of an error answer."""
    body = {
        "error": {
            "status": status,
            "message": message,
            "details": list(details),
            "request_id": request_id,
        }
    }
    # ASCII escapes keep a lone surrogate from a client's field name writable.
    return json.dumps(body, ensure_ascii=True).encode("ascii")


def error_headers(status, extra=()):
    """Headers every error answer carries, plus ``extra`` pairs."""
    headers = [("Content-Type", "application/json; charset=utf-8")]
    if status == 503:
        headers.append(("Retry-After", str(RETRY_AFTER_SECONDS)))
    headers.extend(extra)
    return headers


def headers_for(exc):
    """Headers that the answer to ``exc`` needs besides the usual ones."""
    if isinstance(exc, errors.AuthenticationError):
        challenge = CHALLENGE
        if exc.credentials_sent:
            challenge += ', error="invalid_token"'
        return [("WWW-Authenticate", challenge)]
    if isinstance(exc, errors.ThrottledError):
        return [("Retry-After", str(exc.retry_after))]
    return []


def error_response(exc, request_id):
    """A bottle ``HTTPResponse`` that answers the ``SleeplogError`` ``exc``."""
    status = status_for(exc)
    if status >= 500 and not isinstance(exc, errors.StorageUnavailableError):
        log.error("request %s failed: %s", request_id, exc.message)

    return HTTPResponse(
        body=error_body(status, exc.message, request_id, exc.details),
        status=status,
        headers=dict(error_headers(status, headers_for(exc))),
    )


def status_line(status):
    """``"404 Not Found"`` for ``404``; ``"201 Created"`` for ``201``."""
    reason = REASONS.get(status)
    if reason is None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Error"
    return f"{status} {reason}"
