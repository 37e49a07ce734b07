"""Building JSON answers, whole or streamed."""

import itertools
import json

from bottle import HTTPResponse, request, response

from sleeplog.web.audit import note

JSON_TYPE = "application/json; charset=utf-8"


def dump(value):
    """``value`` as compact UTF-8 JSON bytes."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(value, status=200, headers=None):
    """A bottle ``HTTPResponse`` carrying ``value`` as JSON."""
    all_headers = {"Content-Type": JSON_TYPE}
    all_headers.update(headers or {})
    return HTTPResponse(body=dump(value), status=status, headers=all_headers)


def stream_array(items, on_item=None):
    """Yield the bytes of a JSON array of ``items``, one item per line.

    ``items`` is any iterable of JSON-ready values; memory holds one at a time.
    ``on_item`` is called after each item is sent, to count them.
    """
    yield b"["
    first = True
    for item in items:
        yield (b"\n" if first else b",\n") + dump(item)
        first = False
        if on_item is not None:
            on_item()
    yield b"]\n" if first else b"\n]\n"


def streamed_array(items):
    """Answer the current request with a streamed JSON array of ``items``.

    The audit entry is written when the stream ends, with the item count.
    """
    summary = {"items": 0}
    note(request.environ, stream=True, summary=summary)
    response.content_type = JSON_TYPE

    def count():
        summary["items"] += 1

    return stream_array(items, on_item=count)


def primed(iterable):
    """An iterator over ``iterable`` whose first item has already been read.

    Errors in reading the first item surface now, while an error answer can
    still be sent, rather than in the middle of a stream.
    """
    iterator = iter(iterable)
    try:
        first = next(iterator)
    except StopIteration:
        return iter(())
    return itertools.chain([first], iterator)
