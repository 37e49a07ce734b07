"""Reading query parameters, with errors that name the parameter."""

import base64
import binascii
import json
from datetime import datetime

from bottle import request

from sleeplog.errors import ValidationError
from sleeplog.models import EARLIEST_START, LATEST_START, MAX_DURATION
from sleeplog.timestamps import TimestampError, parse_timestamp

#: Longer query values than this are refused before any parsing.
MAX_VALUE_LENGTH = 200


def query_text(name):
    """The query parameter ``name`` as text, or ``None`` when absent or empty."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None

    value = request.query.getunicode(name)
    if value is None:
        # bottle gives None for bytes that are not UTF-8; absent they are not.
        raise ValidationError.of_query(name, "is not valid UTF-8")
    if len(value) > MAX_VALUE_LENGTH:
        raise ValidationError.of_query(
            name, f"must be at most {MAX_VALUE_LENGTH} characters long"
        )
    return value


def query_timestamp(name):
    """An RFC 3339 timestamp with an offset, or ``None``."""
    value = query_text(name)
    if value is None:
        return None

    try:
        moment = parse_timestamp(value)
    except TimestampError as exc:
        raise ValidationError.of_query(name, str(exc)) from None

    if not EARLIEST_START - MAX_DURATION <= moment <= LATEST_START:
        raise ValidationError.of_query(name, "must lie between the years 1970 and 9000")
    return moment


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
        raise ValidationError.of_query(
            name, f"must be a whole number from {low} to {high}"
        )
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
    except (ValueError, TypeError, RecursionError, binascii.Error, UnicodeError):
        raise ValidationError.of_query(
            name, "is not a cursor this service handed out"
        ) from None

    if cursor[0].tzinfo is not None:
        raise ValidationError.of_query(name, "is not a cursor this service handed out")
    return cursor
