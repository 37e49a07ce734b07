"""Apple Health: the sleep analysis records of the Health app's ``export.xml``.

The export is one ``<HealthData>`` element holding every sample the phone
ever kept, often several gigabytes. It is read with ``iterparse`` and each
top-level element is dropped from the tree as soon as it ends, so memory
stays flat. Only ``<Record type="HKCategoryTypeIdentifierSleepAnalysis">``
elements count; positions are ``record N``, numbering those alone.

A record's ``value`` says what the time was. The asleep values
(``...Asleep`` before iOS 16, ``...AsleepUnspecified``, ``...AsleepCore``,
``...AsleepDeep``, ``...AsleepREM``) become records, with the stage as the
note; time in bed (``...InBed``) and ``...Awake`` are skipped. Dates read
``2020-07-08 01:05:06 +0100`` and carry their own offset, so no zone is
needed; a ``HKTimeZone`` metadata entry, when present, names the record's
zone. ``sourceName``, the app or device, becomes the source.

The parser is expat's: it expands no external entities, and expat 2.4 and
later (every Python sleeplog supports ships one) refuses exponential entity
expansion. Apple's exports declare elements and attributes in their DOCTYPE
but never an entity, so a file whose prologue declares one is refused before
parsing: even expat's bounded expansion lets a small file fill a lot of
memory.
"""

import re
from xml.etree import ElementTree

from sleeplog.models import MAX_SOURCE_LENGTH
from sleeplog.services.imports.reading import (
    SKIPPED,
    Problem,
    UnreadableFileError,
    clip,
)
from sleeplog.timestamps import TimestampError, load_zone

NAME = "apple-health"
SOURCE = "Apple Health"
NEEDS_ZONE = False

SLEEP_TYPE = "HKCategoryTypeIdentifierSleepAnalysis"
_PREFIX = "HKCategoryValueSleepAnalysis"
#: Asleep values and the note each gives.
_ASLEEP = {
    _PREFIX + "Asleep": None,
    _PREFIX + "AsleepUnspecified": None,
    _PREFIX + "AsleepCore": "core sleep",
    _PREFIX + "AsleepDeep": "deep sleep",
    _PREFIX + "AsleepREM": "REM sleep",
}
_NOT_ASLEEP = {_PREFIX + "InBed", _PREFIX + "Awake"}
_DATE = re.compile(
    r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) ([+-]\d{2})(\d{2})", re.ASCII
)


def sniff(head):
    """Whether the first bytes of a file look like an Apple Health export."""
    if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return False
    return b"<HealthData" in head or SLEEP_TYPE.encode() in head


def parse(stream, zone):
    """Yield ``(position, item)`` for each sleep analysis record.

    ``zone`` is not used: every date has its offset.
    """
    depth = 0
    root = None
    number = 0
    stream = _without_entities(stream)
    try:
        for event, element in ElementTree.iterparse(stream, ("start", "end")):
            if event == "start":
                if root is None:
                    root = _check_root(element)
                depth += 1
                continue

            depth -= 1
            if element.tag == "Record" and element.get("type") == SLEEP_TYPE:
                number += 1
                yield f"record {number}", _item(element)
            if depth == 1:
                root.clear()  # drops the element that just ended, and its children
    except ElementTree.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":")[0]
        raise UnreadableFileError(
            f"line {line}", f"is not well-formed XML ({reason}, column {column})"
        ) from None


#: The prologue (XML declaration and DOCTYPE) is read whole to look for
#: entity declarations; Apple's is a few kilobytes.
MAX_PROLOGUE = 1024 * 1024


def _without_entities(stream):
    """``stream`` as a file object, refused if its prologue declares entities."""
    head = b""
    while b"<HealthData" not in head and len(head) < MAX_PROLOGUE:
        more = stream.read(64 * 1024)
        if not more:
            break
        head += more

    prologue = head.split(b"<HealthData", 1)[0]
    if b"<!ENTITY" in prologue:
        line = prologue[: prologue.index(b"<!ENTITY")].count(b"\n") + 1
        raise UnreadableFileError(
            f"line {line}", "declares an XML entity, which Apple's exports never do"
        )
    return _Rejoined(head, stream)


class _Rejoined:
    """The bytes already read, then the rest of the stream."""

    def __init__(self, head, rest):
        self._head = head
        self._rest = rest

    def read(self, size=-1):
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._rest.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._rest.read(size)


def _check_root(element):
    if element.tag != "HealthData":
        raise UnreadableFileError(
            "line 1", f"is not an Apple Health export (its root is <{element.tag}>)"
        )
    return element


def _item(element):
    value = element.get("value")
    if value in _NOT_ASLEEP:
        return SKIPPED
    if value not in _ASLEEP:
        return Problem(f"value: {value!r} is not a sleep analysis value")

    start = _timestamp(element.get("startDate"))
    end = _timestamp(element.get("endDate"))
    if start is None or end is None:
        name = "startDate" if start is None else "endDate"
        return Problem(f"{name}: is not a date like 2020-07-08 01:05:06 +0100")

    source = element.get("sourceName") or SOURCE
    payload = {"start": start, "end": end, "source": clip(source, MAX_SOURCE_LENGTH)}
    zone_name = _zone_name(element)
    if zone_name is not None:
        payload["timezone"] = zone_name
    if _ASLEEP[value] is not None:
        payload["note"] = _ASLEEP[value]
    return payload


def _timestamp(text):
    """``2020-07-08 01:05:06 +0100`` as RFC 3339, or ``None``."""
    match = _DATE.fullmatch(text or "")
    if match is None:
        return None

    date, time, hours, minutes = match.groups()
    return f"{date}T{time}{hours}:{minutes}"


def _zone_name(element):
    for child in element:
        if child.tag == "MetadataEntry" and child.get("key") == "HKTimeZone":
            name = child.get("value")
            try:
                load_zone(name)
            except TimestampError:
                return None  # a zone we cannot use is metadata we can do without
            return name
    return None
