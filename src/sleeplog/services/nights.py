"""The night model: which hours count, and how much of them was slept.

The definitions, which the README repeats:

- **The night of date D** runs from 22:00 on D to 06:00 on D+1, local time
  (:class:`NightRule` moves both ends and the threshold). Local means the
  record's own ``timezone`` if it has one, else its owner's time zone, else
  the UTC offset of its start (:func:`local_zone`). The window is real
  elapsed time: on a daylight-saving night it lasts 7 or 9 hours, on Lord
  Howe Island, whose clocks move by 30 minutes, 7.5 or 8.5.
- **A record belongs to the night of D** when it starts between 12:00 on D
  (included) and 12:00 on D+1 (excluded), in its own local time.
- **A night is evaluated** when at least one record belongs to it. A night
  with none is "no data", never a violation.
- **The night's zone** is the local zone of the longest record that belongs
  to it; of two as long, the one that starts first. A traveller's records
  each use their own zone, and each night follows its main sleep.
- **Sleep in a night** is the real elapsed time of the union of all the
  owner's records inside the window, whichever night they belong to.
  Overlapping records, such as two devices recording the same night, count
  once; naps inside the window count.
- **A violation** is sleep in the night strictly less than the threshold, six
  hours; exactly six hours is fine. It is dated D, the date of the evening.

Evaluation streams: records come sorted by start, as stores yield them, and
only those of the last few days are held.
"""

import dataclasses
import functools
from collections import deque
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Tuple

from sleeplog.timestamps import TimestampError, format_timestamp, load_zone

#: The wall time at which one night's records end and the next night's begin.
NOON = time(12)

_DAY = timedelta(days=1)
_MINUTE = timedelta(minutes=1)
_SECOND = timedelta(seconds=1)
# UTC offsets are less than a day either way, so a night's window and the
# records that belong to it all lie between noon on D-1 and noon on D+2, UTC.
_CLOSING = timedelta(days=2)
_REACH = timedelta(days=3)
_UTC = timezone.utc
_END_OF_TIME = datetime.max.replace(tzinfo=_UTC)


@dataclasses.dataclass(frozen=True)
class NightRule:
    """When a night's window lies and how much sleep inside it is enough.

    The window runs from the wall time ``evening`` on the night's date to
    ``morning`` on the next day. It must stay inside the noon-to-noon day of
    its night: ``evening`` at or after 12:00, ``morning`` at or before. Sleep
    in the window strictly less than ``threshold`` is a violation.
    """

    evening: time = time(22)
    morning: time = time(6)
    threshold: timedelta = timedelta(hours=6)

    def __post_init__(self):
        if self.evening.tzinfo is not None or self.morning.tzinfo is not None:
            raise ValueError("evening and morning are wall times without a zone")

        if self.evening < NOON or self.morning > NOON:
            raise ValueError(
                "the window must start at or after 12:00 and end at or before 12:00"
            )

        if self.threshold <= timedelta(0):
            raise ValueError("the threshold must be a positive duration")


#: 22:00 to 06:00, six hours.
DEFAULT_RULE = NightRule()


@dataclasses.dataclass(frozen=True)
class Night:
    """One evaluated night of one owner.

    ``asleep`` is the sleep inside the window and ``total`` the union of the
    records that belong to the night, both exact. ``records`` counts those
    records; ``clients`` are the sorted addresses of every record that belongs
    to the night or reaches into its window.
    """

    date: date
    zone: tzinfo
    window_start: datetime
    window_end: datetime
    asleep: timedelta
    total: timedelta
    violated: bool
    records: int
    clients: Tuple[str, ...]

    @property
    def minutes(self):
        """Whole minutes asleep inside the window, rounded down."""
        return self.asleep // _MINUTE

    @property
    def total_minutes(self):
        """Whole minutes of the records that belong to the night, rounded down."""
        return self.total // _MINUTE

    def to_json(self):
        """The night as the report's JSON object."""
        return {
            "date": self.date.isoformat(),
            "minutes": self.minutes,
            "total_minutes": self.total_minutes,
            "window_start": format_timestamp(self.window_start),
            "window_end": format_timestamp(self.window_end),
            "timezone": getattr(self.zone, "key", None),
            "violated": self.violated,
            "clients": list(self.clients),
        }


def as_zone(zone):
    """A ``tzinfo`` from a ``tzinfo`` or an IANA name; ``None`` for ``None``.

    Raises :class:`~sleeplog.timestamps.TimestampError` for an unknown name.
    """
    if zone is None or isinstance(zone, tzinfo):
        return zone

    return _load_zone(zone)


def local_zone(record, owner_zone=None):
    """The zone of ``record``'s local time.

    That is the record's own ``timezone``; without one (or with a name this
    machine does not know), ``owner_zone``, a ``tzinfo`` or IANA name; without
    that, the fixed UTC offset of the record's start.
    """
    if record.timezone:
        zone = _known_zone(record.timezone)
        if zone is not None:
            return zone

    if isinstance(owner_zone, tzinfo):
        return owner_zone

    if owner_zone:
        zone = _known_zone(owner_zone)
        if zone is not None:
            return zone

    return _fixed_zone(record.start.utcoffset())


def night_of(record, zone):
    """The date of the night ``record`` belongs to, given its local ``zone``.

    A record belongs to the night of D when it starts from 12:00 on D up to
    12:00 on D+1, local time.
    """
    local = record.start.astimezone(zone)
    if local.time() < NOON:
        return local.date() - _DAY
    return local.date()


def night_window(night, zone, rule=DEFAULT_RULE):
    """The window of the night of date ``night`` in ``zone``: ``(start, end)``.

    Both ends are aware datetimes carrying the fixed UTC offset in force at
    that instant, so they print as local wall time with its offset. A wall
    time the clocks show twice, when daylight-saving time ends, means the
    first time. A wall time they skip, when it begins, means the instant they
    jumped: the first at which the clock showed that time or later.
    """
    return _window(night, as_zone(zone), rule)[:2]


def evaluate_nights(
    records, owner_zone=None, rule=DEFAULT_RULE, first_date=None, last_date=None
):
    """Yield a :class:`Night` for each evaluated night of one owner, by date.

    ``records`` are that owner's records sorted by start, as a store yields
    them; ``owner_zone`` (``tzinfo``, IANA name or ``None``) is the owner's
    time zone, used as :func:`local_zone` says. Only nights from
    ``first_date`` to ``last_date``, both included, are evaluated (``None``
    leaves that end open); fetch the records with :func:`record_range`.
    Memory holds about four days of records.

    Raises ``ValueError`` when the records are not sorted or not one owner's.
    """
    tracker = _Tracker(owner_zone, rule, first_date, last_date)
    owner = None
    for record in records:
        if owner is None:
            owner = record.owner
        elif record.owner != owner:
            raise ValueError("evaluate_nights takes the records of one owner")

        yield from tracker.add(record)

    yield from tracker.finish()


def evaluate_everyone(
    records, owner_zones=None, rule=DEFAULT_RULE, first_date=None, last_date=None
):
    """Yield ``(owner, Night)`` for every evaluated night of every owner.

    ``records`` is one stream of everybody's records sorted by start, as a
    store iterates them without an owner; ``owner_zones`` maps an owner to
    their zone (``tzinfo`` or IANA name). The other arguments are those of
    :func:`evaluate_nights`. Each owner's nights come in date order, owners
    interleaved. Memory holds about four days of records of every owner.

    Raises ``ValueError`` when the records are not sorted by start.
    """
    owner_zones = owner_zones or {}
    trackers = {}
    next_sweep = None
    for record in records:
        start = record.start.astimezone(_UTC)
        if next_sweep is None or start >= next_sweep:
            # Once a day of the stream, finish what every owner can and forget
            # owners with nothing left open, so memory follows recent activity.
            for owner, tracker in list(trackers.items()):
                for night in tracker.advance(start):
                    yield owner, night
                if tracker.idle:
                    del trackers[owner]
            next_sweep = start + _DAY

        tracker = trackers.get(record.owner)
        if tracker is None:
            zone = owner_zones.get(record.owner)
            tracker = _Tracker(zone, rule, first_date, last_date)
            trackers[record.owner] = tracker

        for night in tracker.add(record):
            yield record.owner, night

    for owner, tracker in trackers.items():
        for night in tracker.finish():
            yield owner, night


def record_range(first_date, last_date):
    """The ``(start_from, start_to)`` to fetch for nights ``first_date..last_date``.

    Both are aware UTC datetimes for ``RecordStore.iter_records``: every
    record that belongs to one of those nights or reaches into its window
    overlaps that range, whatever its zone.
    """
    start_from = datetime.combine(first_date, NOON, _UTC) - _DAY
    start_to = datetime.combine(last_date, NOON, _UTC) + _CLOSING
    return start_from, start_to


class _Tracker:
    """One owner's open nights, evaluated as the owner's records stream past.

    Instants are aware UTC. ``_recent`` holds ``(start, end, record)`` of the
    records that may still reach an open window, in start order; ``_open``
    maps a night's date to ``(start, end, zone, record)`` of the records that
    belong to it; ``_closing`` is when the earliest open night can be finished.
    """

    def __init__(self, owner_zone, rule, first_date, last_date):
        self._owner_zone = owner_zone
        self._rule = rule
        self._first = first_date
        self._last = last_date
        self._recent = deque()
        self._open = {}
        self._closing = None
        self._latest = None

    @property
    def idle(self):
        return not self._open and not self._recent

    def add(self, record):
        """Take the next record; return the nights it proves finished."""
        start = record.start.astimezone(_UTC)
        end = max(start, record.end.astimezone(_UTC))
        finished = self.advance(start)

        zone = local_zone(record, self._owner_zone)
        night = night_of(record, zone)
        self._recent.append((start, end, record))
        if self._wanted(night):
            members = self._open.get(night)
            if members is None:
                self._open[night] = [(start, end, zone, record)]
                closing = _closing(night)
                if self._closing is None or closing < self._closing:
                    self._closing = closing
            else:
                members.append((start, end, zone, record))
        return finished

    def advance(self, instant):
        """Finish the nights no record starting at ``instant`` or later can change."""
        if self._latest is not None and instant < self._latest:
            raise ValueError("records must come sorted by start")
        self._latest = instant

        finished = []
        if self._closing is not None and self._closing <= instant:
            for night in sorted(self._open):
                if _closing(night) > instant:
                    self._closing = _closing(night)
                    break
                finished.append(self._finish(night, self._open.pop(night)))
            else:
                self._closing = None

        horizon = instant - _REACH
        recent = self._recent
        while recent and recent[0][1] <= horizon:
            recent.popleft()
        return finished

    def finish(self):
        """Finish every open night: no more records will come."""
        finished = self.advance(_END_OF_TIME)
        self._recent.clear()
        return finished

    def _wanted(self, night):
        if self._first is not None and night < self._first:
            return False
        return self._last is None or night <= self._last

    def _finish(self, night, members):
        zone = members[0][2]
        if len(members) > 1:
            # max() keeps the first of equals, and members are in start order.
            zone = max(members, key=_duration)[2]
        window_start, window_end, low, high = _window(night, zone, self._rule)

        clients = {record.client for _, _, _, record in members}
        inside = []
        for start, end, record in self._recent:
            if start >= high:
                break
            if end > low:
                inside.append((max(start, low), min(end, high)))
                clients.add(record.client)
        clients.discard(None)

        # Both lists are in start order, and clipping keeps that order.
        asleep = _union(inside)
        total = _union([(start, end) for start, end, _, _ in members])
        return Night(
            date=night,
            zone=zone,
            window_start=window_start,
            window_end=window_end,
            asleep=asleep,
            total=total,
            violated=asleep < self._rule.threshold,
            records=len(members),
            clients=tuple(sorted(clients)),
        )


def _duration(member):
    return member[1] - member[0]


def _closing(night):
    """When no record still to come can belong to, or reach, night ``night``."""
    return datetime.combine(night, NOON, _UTC) + _CLOSING


def _union(spans):
    """The time covered by ``(start, end)`` spans sorted by start, counted once."""
    total = timedelta(0)
    reach = None
    for start, end in spans:
        if reach is not None and start < reach:
            start = reach

        if end > start:
            total += end - start
            reach = end

    return total


@functools.lru_cache(maxsize=4096)
def _window(night, zone, rule):
    """The window's ends, local then UTC: ``(start, end, low, high)``."""
    start = _wall_instant(datetime.combine(night, rule.evening), zone)
    end = _wall_instant(datetime.combine(night + _DAY, rule.morning), zone)
    return start, end, start.astimezone(_UTC), end.astimezone(_UTC)


def _wall_instant(naive, zone):
    """The first instant at which the clock in ``zone`` shows ``naive`` or later."""
    instant = naive.replace(tzinfo=zone, fold=0).astimezone(_UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != naive:
        instant = _jump(naive, zone)

    return instant.astimezone(_fixed_zone(instant.astimezone(zone).utcoffset()))


def _jump(naive, zone):
    """The instant the clocks in ``zone`` jumped over the wall time ``naive``.

    Read with the offset after the jump, ``naive`` falls before it; with the
    offset before, after it. Bisecting the seconds between finds it, as zone
    transitions fall on whole seconds.
    """
    before = naive.replace(tzinfo=zone, fold=1).astimezone(_UTC)
    after = naive.replace(tzinfo=zone, fold=0).astimezone(_UTC)
    offset_after = after.astimezone(zone).utcoffset()

    low, high = 0, (after - before) // _SECOND
    while high - low > 1:
        middle = (low + high) // 2
        moment = before + middle * _SECOND
        if moment.astimezone(zone).utcoffset() == offset_after:
            high = middle
        else:
            low = middle

    return before + high * _SECOND


@functools.lru_cache(maxsize=256)
def _load_zone(name):
    return load_zone(name)


def _known_zone(name):
    try:
        return _load_zone(name)
    except TimestampError:
        return None


@functools.lru_cache(maxsize=256)
def _fixed_zone(offset):
    return _UTC if offset == timedelta(0) else timezone(offset)
