"""Reading query parameters, with errors that name the parameter."""

import base64
import binascii
import json
from datetime import datetime

from bottle import request

from sleeplog.errors import ValidationError
from sleeplog.timestamps import TimestampError, parse_timestamp


def query_text(name):
    """The query parameter ``name`` as text, or ``None`` when absent or empty."""
    value = request.query.getunicode(name)
    if value is None or value == "":
        return None
    return value


def query_timestamp(name):
    """An RFC 3339 timestamp with an offset, or ``None``."""
    value = query_text(name)
    if value is None:
        return None

    try:
        return parse_timestamp(value)
    except TimestampError as exc:
        raise _invalid(name, str(exc)) from None


def query_int(name, low, high):
    """A whole number from ``low`` to ``high``, or ``None``."""
    value = query_text(name)
    if value is None:
        return None

    if (
        not value.isascii()
        or not value.isdigit()
        or int(value) < low
        or int(value) > high
    ):
        raise _invalid(name, f"must be a whole number from {low} to {high}")
    return int(value)


def encode_cursor(cursor):
    """The opaque text a client sends back to get the next page."""
    start_utc, record_id = cursor
    raw = json.dumps([start_utc.isoformat(), record_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def query_cursor(name="cursor"):
    """The cursor a previous page handed out, or ``None``."""
    value = query_text(name)
    if value is None:
        return None

    try:
        padded = value + "=" * (-len(value) % 4)
        start, record_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        cursor = (datetime.fromisoformat(start), int(record_id))
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise _invalid(name, "is not a cursor this service handed out") from None

    if cursor[0].tzinfo is not None:
        raise _invalid(name, "is not a cursor this service handed out")
    return cursor


def _invalid(name, message):
    return ValidationError(
        f"The query parameter {name!r} is not valid.",
        [{"field": name, "message": message}],
    )
