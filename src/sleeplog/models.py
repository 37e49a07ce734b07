"""The sleep record: what one looks like, how one is checked, how it is written.

A record is one period of sleep of one owner. Its ``start`` and ``end`` are
aware datetimes that keep the UTC offset the client sent, so a record reads
back the way it was written; stores keep the UTC instant and that offset.

This module does no I/O. ``validate_record`` turns a client's JSON object into
a :class:`SleepRecord` or raises one :class:`~sleeplog.errors.ValidationError`
that names every failing field.
"""

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Optional

from sleeplog.errors import ValidationError
from sleeplog.timestamps import (
    TimestampError,
    format_timestamp,
    load_zone,
    parse_timestamp,
    utc_naive,
)

#: The fields a client may send; anything else is refused by name.
CLIENT_FIELDS = ("start", "end", "timezone", "source", "note")
_CLIENT_FIELD_SET = frozenset(CLIENT_FIELDS)

MAX_DURATION = timedelta(hours=24)
MAX_FUTURE = timedelta(hours=24)
MAX_SOURCE_LENGTH = 64
MAX_NOTE_LENGTH = 1000
MAX_OWNER_LENGTH = 64
#: Unknown fields named one by one in an error; the rest are only counted.
MAX_UNKNOWN_REPORTED = 20

#: Records must start on or after this instant. Nobody tracked sleep
#: electronically before it, and it keeps every stored instant positive.
EARLIEST_START = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: And before this one, far enough from datetime's limits for any arithmetic.
LATEST_START = datetime(9000, 1, 1, tzinfo=timezone.utc)
#: Years strictly between these need no UTC conversion to be checked: an
#: offset (under a day) cannot take them past year 1 or LATEST_START.
_SAFE_YEARS = (1, LATEST_START.year - 1)


@dataclasses.dataclass(frozen=True)
class SleepRecord:
    """One period of sleep.

    ``start`` and ``end`` are aware and keep the offsets they were sent with.
    ``id`` and ``created_at`` are ``None`` until a store has saved the record.
    """

    owner: str
    start: datetime
    end: datetime
    timezone: Optional[str] = None
    source: Optional[str] = None
    note: Optional[str] = None
    client: Optional[str] = None
    id: Optional[int] = None
    created_at: Optional[datetime] = None

    @property
    def duration(self):
        """How long the sleep lasted, as a ``timedelta``."""
        return self.end - self.start

    @property
    def span_key(self):
        """What makes two records the same: owner, start and end instants.

        Storing a record whose span key is already stored keeps the first one.
        """
        return (self.owner, utc_naive(self.start), utc_naive(self.end))

    def replace(self, **changes):
        """Return a copy with some fields changed."""
        # dataclasses.replace, without its walk over the fields: every field
        # is an __init__ argument and __dict__ holds exactly the fields.
        return type(self)(**{**self.__dict__, **changes})

    def to_json(self):
        """The record as the JSON object the API sends."""
        return {
            "id": self.id,
            "owner": self.owner,
            "start": format_timestamp(self.start),
            "end": format_timestamp(self.end),
            "timezone": self.timezone,
            "source": self.source,
            "note": self.note,
            "client": self.client,
            "created_at": (
                None if self.created_at is None else format_timestamp(self.created_at)
            ),
        }

    @classmethod
    def from_json(cls, data):
        """Rebuild a record from :meth:`to_json` output that a store kept.

        Meant for trusted data; client input goes through ``validate_record``.
        """
        created_at = data.get("created_at")
        return cls(
            owner=data["owner"],
            start=parse_timestamp(data["start"]),
            end=parse_timestamp(data["end"]),
            timezone=data.get("timezone"),
            source=data.get("source"),
            note=data.get("note"),
            client=data.get("client"),
            id=data.get("id"),
            created_at=None if created_at is None else parse_timestamp(created_at),
        )


def validate_record(payload, *, owner, now, client=None):
    """Check a client's JSON object and return the :class:`SleepRecord` it means.

    ``now`` is an aware datetime: ``start`` may lie at most 24 hours after it.
    Raises :class:`ValidationError` whose details name every failing field.
    """
    if not isinstance(payload, dict):
        raise ValidationError(
            "A sleep record must be a JSON object.",
            [{"field": None, "message": "expected a JSON object"}],
        )

    problems = []
    unknown = []
    if not _CLIENT_FIELD_SET.issuperset(payload):
        unknown = sorted(set(payload) - _CLIENT_FIELD_SET)
    for name in unknown[:MAX_UNKNOWN_REPORTED]:
        problems.append({"field": name, "message": "is not a field of a sleep record"})
    if len(unknown) > MAX_UNKNOWN_REPORTED:
        problems.append(
            {
                "field": None,
                "message": f"and {len(unknown) - MAX_UNKNOWN_REPORTED} more fields "
                "that a sleep record does not have",
            }
        )

    zone_name = _optional_text(payload, "timezone", 64, problems)
    zone = None
    if zone_name is not None:
        try:
            zone = load_zone(zone_name)
        except TimestampError as exc:
            problems.append({"field": "timezone", "message": str(exc)})
            zone_name = None

    source = _optional_text(payload, "source", MAX_SOURCE_LENGTH, problems)
    note = _optional_text(payload, "note", MAX_NOTE_LENGTH, problems)
    start = _timestamp(payload, "start", zone, zone_name, problems)
    end = _timestamp(payload, "end", zone, zone_name, problems)

    if start is not None and end is not None:
        _check_span(start, end, now, problems)

    if problems:
        fields = ", ".join(str(p["field"]) for p in problems if p["field"])
        raise ValidationError(f"The sleep record is not valid: {fields}.", problems)

    return SleepRecord(
        owner=owner,
        start=start,
        end=end,
        timezone=zone_name,
        source=source,
        note=note,
        client=client,
    )


def _timestamp(payload, name, zone, zone_name, problems):
    if payload.get(name) is None:
        problems.append({"field": name, "message": "is required"})
        return None

    try:
        moment = parse_timestamp(payload[name], zone)
        # Within these years no offset takes the UTC instant out of range.
        in_range = (
            _SAFE_YEARS[0] < moment.year < _SAFE_YEARS[1]
            or moment.astimezone(timezone.utc) < LATEST_START
        )
    except TimestampError as exc:
        problems.append({"field": name, "message": str(exc)})
        return None
    except OverflowError:
        problems.append({"field": name, "message": "is too far from the present"})
        return None

    if not in_range:
        problems.append({"field": name, "message": "must be before the year 9000"})
        return None

    if zone is not None:
        expected = moment.astimezone(zone).utcoffset()
        if moment.utcoffset() != expected:
            problems.append(
                {
                    "field": name,
                    "message": f"its UTC offset does not match {zone_name} "
                    "at that moment",
                }
            )
            return None

    return moment


def _check_span(start, end, now, problems):
    if start < EARLIEST_START:
        problems.append({"field": "start", "message": "must not be before 1970"})
    if end <= start:
        problems.append({"field": "end", "message": "must be after start"})
    elif end - start > MAX_DURATION:
        problems.append(
            {"field": "end", "message": "a sleep record lasts at most 24 hours"}
        )
    if start - now > MAX_FUTURE:
        problems.append(
            {
                "field": "start",
                "message": "must be at most 24 hours in the future",
            }
        )


def _optional_text(payload, name, limit, problems):
    value = payload.get(name)
    if value is None:
        return None

    if not isinstance(value, str):
        problems.append({"field": name, "message": "must be a string"})
        return None

    if len(value) > limit:
        problems.append(
            {"field": name, "message": f"must be at most {limit} characters long"}
        )
        return None

    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # JSON may carry lone surrogates ("\ud800") that no store can keep.
        problems.append({"field": name, "message": "is not valid Unicode text"})
        return None

    return value
