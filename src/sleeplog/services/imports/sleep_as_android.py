"""Sleep as Android: the ``sleep-export.csv`` of the app's backup.

Every record is a header line followed by its value line, and the header is
repeated for each record because its width varies: after the fixed columns
(``Id,Tz,From,To,Sched,Hours,Rating,Comment,...``) come one column per
stretch of actigraphy and zero or more ``Event`` columns. Columns are found
by name in the record's own header. A line that starts with an empty field
carries the record's noise data and is passed over.

Every value is quoted. ``From`` and ``To`` read ``dd. MM. yyyy H:mm``, the
hour unpadded, as wall times in the record's ``Tz`` (an IANA zone). ``Id``
is the start in epoch milliseconds and ``Hours`` the length; they are used
only to tell which of the two occurrences of a time in the hour repeated
when the clocks go back is meant. A record whose ``From`` and ``To`` are the
same minute is rejected like any record that does not end after its start.

``Comment`` becomes the note. The app writes a line break in it as
`` \\n `` (space, backslash, ``n``, space) and a quote as ``""``; both are
decoded, any other backslash is kept as written, and surrounding spaces are
dropped.
"""

import re
from datetime import datetime, timedelta, timezone

from sleeplog.models import MAX_NOTE_LENGTH
from sleeplog.services.imports.reading import (
    Problem,
    UnreadableFileError,
    clip,
    csv_rows,
    nearest_fold,
)
from sleeplog.timestamps import TimestampError, format_timestamp, load_zone

NAME = "sleep-as-android"
SOURCE = "Sleep as Android"
NEEDS_ZONE = False

_NEEDED = ("Id", "Tz", "From", "To", "Hours", "Comment")
_DATE = re.compile(r"(\d{1,2})\. (\d{1,2})\. (\d{4}) (\d{1,2}):(\d{2})", re.ASCII)
_LINE_BREAK = " \\n "
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def sniff(head):
    """Whether the first bytes of a file look like a Sleep as Android backup."""
    return head.lstrip(b"\xef\xbb\xbf").startswith(b"Id,Tz,From,To,")


def parse(stream, zone):
    """Yield ``(position, payload)`` for each record; positions are ``line N``.

    ``zone`` is not used: every record names its own.
    """
    columns = None
    for line, fields, problem in csv_rows(stream):
        position = f"line {line}"
        if problem is not None:
            yield position, Problem(problem)
        elif fields[0] == "Id":
            columns = _columns(fields)
        elif columns is None:
            raise UnreadableFileError(position, "has values before any header line")
        elif fields[0] != "":
            yield position, _payload(fields, columns)


def _columns(header):
    """``{name: index}`` of the columns a record needs, or a :class:`Problem`."""
    columns = {}
    for index, name in enumerate(header):
        if name in _NEEDED and name not in columns:
            columns[name] = index

    missing = [name for name in _NEEDED if name not in columns]
    if missing:
        return Problem(f"has a header without {', '.join(missing)}")
    return columns


def _payload(fields, columns):
    if isinstance(columns, Problem):
        return columns
    if len(fields) <= max(columns.values()):
        return Problem(f"has {len(fields)} values, too few for its header")

    start = _wall_time(fields[columns["From"]])
    end = _wall_time(fields[columns["To"]])
    if start is None or end is None:
        name = "From" if start is None else "To"
        return Problem(f"{name}: is not a date and time like 01. 12. 2020 7:00")

    payload = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "timezone": fields[columns["Tz"]],
        "source": SOURCE,
    }
    note = _comment(fields[columns["Comment"]])
    if note:
        payload["note"] = clip(note, MAX_NOTE_LENGTH)
    _settle_repeated_hour(payload, start, end, fields, columns)
    return payload


def _wall_time(text):
    match = _DATE.fullmatch(text.strip())
    if match is None:
        return None

    day, month, year, hour, minute = (int(part) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute)
    except ValueError:
        return None


def _comment(text):
    return text.replace(_LINE_BREAK, "\n").strip()


def _settle_repeated_hour(payload, start, end, fields, columns):
    """Pin a wall time that occurs twice to the occurrence ``Id`` points to."""
    try:
        zone = load_zone(payload["timezone"])
        begun = _EPOCH + timedelta(milliseconds=int(fields[columns["Id"]]))
        length = timedelta(hours=float(fields[columns["Hours"]]))
    except (TimestampError, ValueError, OverflowError):
        return  # validation reports a bad zone; the rest only refines

    start_fixed = nearest_fold(start, zone, begun)
    end_fixed = nearest_fold(end, zone, begun + length)
    if start_fixed is not None:
        payload["start"] = format_timestamp(start_fixed)
    if end_fixed is not None:
        payload["end"] = format_timestamp(end_fixed)
