"""Generic CSV: one record per row, ``start,end[,timezone,source,note]``.

The first row may name the columns (any of ``start``, ``end``,
``timezone``, ``source``, ``note``, in any order; ``start`` and ``end``
required); without such a row the columns are taken in that order, and a
row may stop after ``end``. Timestamps are RFC 3339. One without an offset
is a wall time in the row's ``timezone``, or else in the zone the import
was given; a row that has neither is rejected. The import's zone goes
only to rows that need it: a row whose times all carry offsets keeps them,
with no zone. A row's empty source becomes ``csv``.
"""

import csv
import re

from sleeplog.models import MAX_NOTE_LENGTH, MAX_SOURCE_LENGTH
from sleeplog.services.imports.reading import (
    Problem,
    UnreadableFileError,
    clip,
    csv_rows,
)

NAME = "csv"
SOURCE = "csv"
NEEDS_ZONE = False

COLUMNS = ("start", "end", "timezone", "source", "note")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}", re.ASCII)
_OFFSET = re.compile(r"(?:[Zz]|[+-]\d{2}:\d{2})$", re.ASCII)


def sniff(head):
    """Whether the first line of a file is such a header or such a row."""
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    try:
        fields = next(csv.reader([first.decode("utf-8")]), [])
    except (UnicodeDecodeError, csv.Error):
        return False

    if _is_header(fields):
        return True
    return 2 <= len(fields) <= len(COLUMNS) and all(
        _TIMESTAMP.match(field.strip()) for field in fields[:2]
    )


def parse(stream, zone):
    """Yield ``(position, payload)`` for each row; positions are ``line N``.

    ``zone`` (a ``ZoneInfo`` or ``None``) is the zone of rows without one.
    """
    zone_name = None if zone is None else zone.key
    columns = None
    for line, fields, problem in csv_rows(stream):
        position = f"line {line}"
        if columns is None:
            if problem is not None:
                raise UnreadableFileError(position, problem)
            columns = _columns(fields, position)
            if columns is not COLUMNS:
                continue

        if problem is not None:
            yield position, Problem(problem)
        else:
            yield position, _payload(fields, columns, zone_name)


def _is_header(fields):
    names = {field.strip().lower() for field in fields}
    return {"start", "end"} <= names


def _columns(fields, position):
    """The names of the header ``fields``, or :data:`COLUMNS` for a data row."""
    if not _is_header(fields):
        return COLUMNS

    names = tuple(field.strip().lower() for field in fields)
    for name in names:
        if name not in COLUMNS:
            raise UnreadableFileError(
                position,
                f"names the column {name!r}; the columns are {', '.join(COLUMNS)}",
            )
    if len(set(names)) != len(names):
        raise UnreadableFileError(position, "names a column twice")
    return names


def _payload(fields, columns, zone_name):
    if columns is COLUMNS:
        fits, expected = 2 <= len(fields) <= len(COLUMNS), f"2 to {len(COLUMNS)}"
    else:
        fits, expected = len(fields) == len(columns), str(len(columns))
    if not fits:
        return Problem(f"has {len(fields)} values; expected {expected}")

    if columns is COLUMNS or columns == COLUMNS[: len(columns)]:
        # The usual order: read the fields where they stand.
        start, end, *rest = fields
        rest += ("", "", "")
        zone, source, note = rest[0].strip(), rest[1].strip(), rest[2].strip()
        start, end = start.strip(), end.strip()
    else:
        row = {name: value.strip() for name, value in zip(columns, fields)}
        start, end = row["start"], row["end"]
        zone, source, note = row.get("timezone"), row.get("source"), row.get("note")

    if not zone and zone_name is not None and not _needs_zone(start, end):
        zone_name = None
    return {
        "start": start or None,
        "end": end or None,
        "timezone": zone or zone_name,
        "source": clip(source or SOURCE, MAX_SOURCE_LENGTH),
        "note": clip(note or None, MAX_NOTE_LENGTH),
    }


def _needs_zone(*stamps):
    """Whether a timestamp among ``stamps`` is a wall time without an offset."""
    return any(
        _TIMESTAMP.match(stamp) and not _OFFSET.search(stamp) for stamp in stamps
    )
