"""Fitbit sleep logs: Web API v1.2 answers and the account export's files.

Two shapes hold the same log objects:

- a Web API v1.2 answer such as "Get Sleep Log by Date Range": an object
  whose ``"sleep"`` member is the array of logs (a ``"summary"`` or
  ``"pagination"`` beside it is read and dropped);
- a ``sleep-YYYY-MM-DD.json`` file of the account data export: a bare array
  of logs. Consecutive files overlap at their boundary day, so one log may
  be in two files. It is one record: the second file finds it already
  present.

``startTime`` and ``endTime`` are local wall times without an offset
(``2016-12-13T01:16:00.000``), so an import needs the zone they were
recorded in. ``isMainSleep`` (``mainSleep`` in the account export) may be
missing and is not used. ``duration`` (milliseconds) settles the one thing
the wall times cannot: which of the two occurrences of a time in the hour
repeated when the clocks go back is meant.
"""

import re
from datetime import datetime, timedelta, timezone

from sleeplog.services.imports.reading import Problem, json_items, nearest_fold
from sleeplog.timestamps import format_timestamp

NAME = "fitbit"
SOURCE = "Fitbit"
NEEDS_ZONE = True

_SLEEP_ARRAY = re.compile(rb'"sleep"\s*:\s*\[')
_WALL_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?", re.ASCII
)


def sniff(head):
    """Whether the first bytes of a file look like Fitbit sleep logs."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith((b"{", b"[")):
        return False
    return b'"dateOfSleep"' in head or _SLEEP_ARRAY.search(head) is not None


def parse(stream, zone):
    """Yield ``(position, payload)`` for each log; positions are ``record N``."""
    for number, log in enumerate(json_items(stream, "sleep"), start=1):
        yield f"record {number}", _payload(log, zone)


def _payload(log, zone):
    if not isinstance(log, dict):
        return Problem("is not a JSON object")

    start, end = log.get("startTime"), log.get("endTime")
    missing = [
        name
        for name, value in (("startTime", start), ("endTime", end))
        if not isinstance(value, str)
    ]
    if missing:
        return Problem(f"has no {' or '.join(missing)}")

    duration = log.get("duration")
    if isinstance(duration, int) and not isinstance(duration, bool):
        start, end = _settle_repeated_hour(start, end, zone, duration)
    return {"start": start, "end": end, "timezone": zone.key, "source": SOURCE}


def _settle_repeated_hour(start, end, zone, duration_ms):
    """Give a wall time that occurs twice the offset ``duration`` points to."""
    start_wall, end_wall = _wall_time(start), _wall_time(end)
    if start_wall is None or end_wall is None:
        return start, end

    length = timedelta(milliseconds=duration_ms)
    start_guess = start_wall.replace(tzinfo=zone).astimezone(timezone.utc)
    end_guess = end_wall.replace(tzinfo=zone).astimezone(timezone.utc)
    start_fixed = nearest_fold(start_wall, zone, end_guess - length)
    end_fixed = nearest_fold(end_wall, zone, start_guess + length)

    if start_fixed is not None:
        start = format_timestamp(start_fixed)
    if end_fixed is not None:
        end = format_timestamp(end_fixed)
    return start, end


def _wall_time(text):
    match = _WALL_TIME.fullmatch(text)
    if match is None:
        return None

    try:
        return datetime(*(int(part) for part in match.groups()))
    except ValueError:
        return None
