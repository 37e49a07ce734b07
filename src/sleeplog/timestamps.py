"""Reading and writing RFC 3339 timestamps, the same on every Python.

``datetime.fromisoformat`` takes ``Z`` only from Python 3.11 on and accepts
forms RFC 3339 does not, so sleeplog parses timestamps itself. Offsets are
kept exactly as they were sent: a record reads back the way it was written.
"""

import functools
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_TIMESTAMP = re.compile(
    r"""
    (?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})
    [Tt\ ]
    (?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})
    (?:\.(?P<fraction>\d{1,9}))?
    (?P<offset>[Zz]|[+-]\d{2}:\d{2})?
    """,
    re.VERBOSE | re.ASCII,
)
_fromisoformat = datetime.fromisoformat

_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*", re.ASCII)


class TimestampError(ValueError):
    """A timestamp or zone name that cannot be read; the text says why."""


def load_zone(name):
    """Return the ``ZoneInfo`` for the IANA zone ``name``.

    Raises :class:`TimestampError` for a name that is malformed or unknown.
    """
    if not isinstance(name, str):
        raise TimestampError("is not an IANA time zone name such as Europe/Moscow")
    return _load_zone(name)


@functools.lru_cache(maxsize=1024)
def _load_zone(name):
    # Remembers the zones found (a miss raises, and is not remembered), so a
    # name is looked up once, not once for each record that names it.
    if not _ZONE_NAME.fullmatch(name) or len(name) > 64:
        raise TimestampError("is not an IANA time zone name such as Europe/Moscow")

    if name not in _iana_zones():
        raise TimestampError(f"{name!r} is not a known IANA time zone")

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise TimestampError(f"{name!r} is not a known IANA time zone") from None


@functools.lru_cache(maxsize=1)
def _iana_zones():
    # available_timezones() also lists files that are not zones of the IANA
    # database proper ("localtime" follows the host's own setting).
    return frozenset(
        name
        for name in available_timezones()
        if name not in ("localtime", "posixrules", "Factory")
        and not name.startswith(("posix/", "right/"))
    )


def parse_timestamp(text, zone=None):
    """Parse an RFC 3339 timestamp into an aware ``datetime``.

    A timestamp with an offset keeps that offset as a fixed ``timezone``. One
    without an offset is read as wall time in ``zone`` (a ``ZoneInfo``) and
    given the offset the zone had then; without ``zone`` it is refused. A wall
    time that occurs twice, at the end of daylight-saving time, is taken as the
    first of the two; one that never occurs, in the gap at its start, is
    refused.
    """
    if not isinstance(text, str):
        raise TimestampError("must be a string in RFC 3339 form")

    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise TimestampError(
            "must be an RFC 3339 timestamp such as 2024-03-01T23:15:00+01:00"
        )

    fraction, offset = match.group("fraction", "offset")
    moment = _from_isoformat(text, fraction, offset)
    if moment is None:
        moment = _from_parts(match.groupdict(), offset)

    if offset is not None:
        return moment

    if zone is None:
        raise TimestampError(
            "has no UTC offset; add one (such as +03:00 or Z) or give a timezone"
        )
    return localize(moment, zone)


def _from_isoformat(text, fraction, offset):
    """What ``_from_parts`` gives for text ``_TIMESTAMP`` matched, or ``None``.

    A fast path: ``datetime.fromisoformat`` reads exactly this form on every
    Python from 3.9 on once a fraction has 6 digits (3.9 and 3.10 take only
    3 or 6) and ``Z`` is written ``+00:00`` (they do not take ``Z``). It is
    ``None`` for anything ``_from_parts`` would refuse, and for hour 24, which
    a later Python may read as the next midnight; ``_from_parts`` then says why.
    """
    if text[11:13] >= "24":
        return None

    if fraction is not None and len(fraction) not in (3, 6):
        end = 20 + len(fraction)
        text = text[:20] + fraction[:6].ljust(6, "0") + text[end:]
    try:
        if offset is None:
            return _fromisoformat(text)
        if offset in ("Z", "z"):
            return _fromisoformat(text[:-1] + "+00:00")
        _checked_offset(offset)
        return _fromisoformat(text)
    except ValueError:  # TimestampError too
        return None


def _from_parts(parts, offset):
    """The datetime of the groups of a ``_TIMESTAMP`` match; naive without offset."""
    fraction = (parts["fraction"] or "0")[:6].ljust(6, "0")
    try:
        naive = datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"]),
            int(parts["minute"]),
            int(parts["second"]),
            int(fraction),
        )
    except ValueError as exc:
        raise TimestampError(f"is not a real date and time ({exc})") from None

    if offset is None:
        return naive
    return naive.replace(tzinfo=_fixed_offset(offset))


def localize(naive, zone):
    """Attach ``zone`` to a naive wall time and freeze the offset it has then.

    The result carries a fixed offset, so it formats the same wherever it goes.
    """
    aware = naive.replace(tzinfo=zone, fold=0)
    try:
        round_trip = aware.astimezone(timezone.utc).astimezone(zone)
    except OverflowError:
        raise TimestampError("is too far from the present") from None
    if round_trip.replace(tzinfo=None) != naive:
        raise TimestampError(
            f"{naive.isoformat()} does not exist in {zone.key}: "
            "the clocks skipped it when daylight-saving time began"
        )
    return aware.replace(tzinfo=timezone(aware.utcoffset()))


def format_timestamp(moment):
    """Write an aware ``datetime`` as RFC 3339, keeping its offset.

    UTC is written as ``Z``; fractions of a second appear only when present.
    """
    text = moment.isoformat()
    # isoformat writes an offset of whole minutes as +HH:MM, the form wanted.
    if text[-6] in "+-" and text[-3] == ":":
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    offset = moment.utcoffset()
    text = moment.replace(tzinfo=None).isoformat()
    if offset == timedelta(0):
        return text + "Z"

    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def utc_naive(moment):
    """An aware ``datetime`` as a naive UTC one, the form stores keep."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def offset_seconds(moment):
    """The UTC offset of an aware ``datetime``, in whole seconds."""
    return int(moment.utcoffset().total_seconds())


def from_utc(naive_utc, offset):
    """Rebuild an aware ``datetime`` from a naive UTC time and an offset.

    ``offset`` is in seconds east of UTC, as :func:`offset_seconds` gives it.
    """
    zone = timezone(timedelta(seconds=offset))
    return naive_utc.replace(tzinfo=timezone.utc).astimezone(zone)


@functools.cache
def _checked_offset(text):
    """``_fixed_offset(text)``, remembered; it raises for an impossible offset.

    Only possible offsets are remembered, and there are fewer than 3000.
    """
    return _fixed_offset(text)


def _fixed_offset(text):
    if text in ("Z", "z"):
        return timezone.utc

    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 23 or minutes > 59:
        raise TimestampError(f"has an impossible UTC offset {text}")

    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)
