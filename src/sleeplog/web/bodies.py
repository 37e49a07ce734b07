"""Reading request bodies strictly.

bottle's ``request.json`` is lenient where sleeplog must not be: it accepts
NaN and Infinity, keeps the last of duplicate keys, answers 500 to deep
nesting and ignores a body sent as text/plain. :func:`read_json` refuses all of
these with the right status and a message that says what to fix.
"""

import json
import math

from sleeplog.errors import (
    BadRequestError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)

JSON_TYPES = ("application/json",)


def check_length(environ, limit):
    """Refuse, before reading anything, a body declared larger than ``limit``."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadRequestError("The Content-Length header is not a number.") from None

    if length > limit:
        raise PayloadTooLargeError(
            f"The request body is {length} bytes; the limit is {limit}."
        )
    return length


def read_body(environ, limit):
    """The raw body, refusing anything over ``limit`` bytes."""
    length = check_length(environ, limit)
    if length == 0 and not _chunked(environ):
        return b""

    data = environ["wsgi.input"].read(length or limit + 1)
    if len(data) > limit:
        raise PayloadTooLargeError(f"The request body is over the limit of {limit}.")
    return data


def read_json(environ, limit):
    """The request body parsed as one JSON object.

    Raises ``UnsupportedMediaTypeError`` unless the body is declared as
    ``application/json`` in UTF-8, ``PayloadTooLargeError`` over ``limit``
    bytes, and ``BadRequestError`` for anything that is not one well-formed
    JSON object with unique keys and finite numbers.
    """
    media_type, charset = parse_content_type(environ.get("CONTENT_TYPE", ""))
    if media_type not in JSON_TYPES:
        shown = media_type or "none"
        raise UnsupportedMediaTypeError(
            f"Send the body as application/json (the Content-Type was {shown})."
        )
    if charset not in (None, "utf-8", "utf8"):
        raise UnsupportedMediaTypeError("JSON bodies must be encoded as UTF-8.")

    raw = read_body(environ, limit)
    if not raw.strip():
        raise BadRequestError("The request body is empty; send a JSON object.")

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequestError(
            f"The request body is not valid UTF-8 (byte {exc.start})."
        ) from None

    try:
        value = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except json.JSONDecodeError as exc:
        raise BadRequestError(
            f"The request body is not valid JSON: {exc.msg} "
            f"(line {exc.lineno}, column {exc.colno})."
        ) from None
    except ValueError:
        # Integers of more than 4300 digits, which Python refuses to convert.
        raise BadRequestError("The request body holds a number too long.") from None
    except RecursionError:
        raise BadRequestError("The request body is nested too deeply.") from None

    if not isinstance(value, dict):
        raise BadRequestError("The request body must be a JSON object.")
    return value


def parse_content_type(header):
    """``("application/json", "utf-8")`` for ``"application/json; charset=UTF-8"``."""
    media_type, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media_type.strip().lower(), charset


def _unique_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise BadRequestError(f"The key {key!r} appears twice in one object.")
        result[key] = value
    return result


def _refuse_constant(name):
    raise BadRequestError(f"{name} is not a JSON number; send a finite value.")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise BadRequestError(f"The number {text} is too large.")
    return value


def _chunked(environ):
    return "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
