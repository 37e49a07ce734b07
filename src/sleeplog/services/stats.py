"""The statistics on the main page, for one person or for everyone.

:func:`compute_stats` reads one stream of records and describes whoever owns
them: give it one person's records and that person, or everybody's records
and every account. It reads no store and no clock: the caller passes the
records, the count of records in each store and the current time.

The terms of :mod:`sleeplog.services.nights` apply. In addition, with
``today`` the date of ``now`` in the zone ``tz`` of whoever looks at the page:

- **The period** is the ``nights`` (30) nights ending with last night, the
  night of ``today`` - 1. A person's night counts only once it has begun to
  end where they live: its date must be before ``now``'s date in the
  person's zone (else ``tz``), so a night still under way is left out.
- **Average sleep per night**: over the evaluated nights of the period (one
  per person and night), the total time of the records that belong to each
  night, divided by the number of those nights.
- **Average sleep inside the window**: the same, with the sleep inside each
  night's window.
- **Records in the last 7 days**: records whose start lies in
  ``[now - 7 days, now)``.
- **Violators among the last 7 nights**: the number of people with a
  violation in a night from ``today`` - 7 to ``today`` - 1.
- **The series**: one point per night of the period, oldest first: how many
  people were evaluated and how many violated it (0 or 1 for one person), and
  the mean minutes inside the window and in total over the people evaluated
  (``None`` when nobody was).
"""

import dataclasses
from datetime import date, datetime, timedelta
from typing import Mapping, Optional, Tuple

from sleeplog.services.nights import (
    DEFAULT_RULE,
    as_zone,
    evaluate_everyone,
    record_range,
)
from sleeplog.timestamps import format_timestamp

_DAY = timedelta(days=1)
_MINUTE = timedelta(minutes=1)


@dataclasses.dataclass(frozen=True)
class SeriesPoint:
    """One night of the chart; see the module docstring."""

    date: date
    evaluated: int
    violated: int
    minutes_in_window: Optional[int]
    total_minutes: Optional[int]

    def to_json(self):
        """The point as a JSON object."""
        return {
            "date": self.date.isoformat(),
            "evaluated": self.evaluated,
            "violated": self.violated,
            "minutes_in_window": self.minutes_in_window,
            "total_minutes": self.total_minutes,
        }


@dataclasses.dataclass(frozen=True)
class Stats:
    """The main page's figures; the module docstring defines each one.

    Averages are minutes rounded to one decimal, ``None`` without any
    evaluated night.
    """

    now: datetime
    first_night: date
    last_night: date
    store_counts: Mapping[str, int]
    users: int
    records_last_7_days: int
    evaluated_nights: int
    average_sleep_minutes: Optional[float]
    average_window_minutes: Optional[float]
    violators_last_7_nights: int
    series: Tuple[SeriesPoint, ...]

    def to_json(self):
        """The figures as a JSON object."""
        return {
            "now": format_timestamp(self.now),
            "first_night": self.first_night.isoformat(),
            "last_night": self.last_night.isoformat(),
            "store_counts": dict(self.store_counts),
            "users": self.users,
            "records_last_7_days": self.records_last_7_days,
            "evaluated_nights": self.evaluated_nights,
            "average_sleep_minutes": self.average_sleep_minutes,
            "average_window_minutes": self.average_window_minutes,
            "violators_last_7_nights": self.violators_last_7_nights,
            "series": [point.to_json() for point in self.series],
        }


def stats_range(now, tz, nights=30):
    """The ``(start_from, start_to)`` of the records :func:`compute_stats` needs.

    Aware UTC datetimes for ``RecordStore.iter_records``, covering the period
    and the last 7 days before ``now``.
    """
    first, last = _period(now, as_zone(tz), nights)
    start_from, start_to = record_range(first, last)
    return min(start_from, now - 7 * _DAY), max(start_to, now)


def compute_stats(
    records,
    *,
    now,
    tz,
    people=None,
    store_counts=None,
    rule=DEFAULT_RULE,
    nights=30,
):
    """The main page's :class:`Stats` for whoever owns ``records``.

    ``records`` are sorted by start and cover :func:`stats_range`; ``now`` is
    aware; ``tz`` (``tzinfo`` or IANA name) is the zone of the person looking.
    ``people`` maps owners to :class:`~sleeplog.services.people.Person` and
    gives ``users``, its size. ``store_counts`` maps a store's name to its
    number of records, counted by the caller. Raises ``ValueError`` for a
    naive ``now`` or fewer than 7 nights.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if nights < 7:
        raise ValueError("the period must hold at least the last 7 nights")

    tz = as_zone(tz)
    people = people or {}
    first, last = _period(now, tz, nights)
    recent = _RecentCount(records, now - 7 * _DAY, now)
    totals = _Totals(first, nights, recent_from=last - 6 * _DAY)

    zones = {owner: person.timezone for owner, person in people.items()}
    for owner, night in evaluate_everyone(recent, zones, rule, first, last):
        if night.window_end <= now:
            totals.add(owner, night)

    return Stats(
        now=now,
        first_night=first,
        last_night=last,
        store_counts=dict(store_counts or {}),
        users=len(people),
        records_last_7_days=recent.count,
        evaluated_nights=totals.evaluated,
        average_sleep_minutes=_mean_minutes(totals.total, totals.evaluated),
        average_window_minutes=_mean_minutes(totals.asleep, totals.evaluated),
        violators_last_7_nights=len(totals.recent_violators),
        series=totals.series(),
    )


def _period(now, tz, nights):
    last = now.astimezone(tz).date() - _DAY
    return last - (nights - 1) * _DAY, last


class _RecentCount:
    """Passes records through, counting those that start in ``[low, high)``."""

    def __init__(self, records, low, high):
        self._records = records
        self._low = low
        self._high = high
        self.count = 0

    def __iter__(self):
        for record in self._records:
            if self._low <= record.start < self._high:
                self.count += 1
            yield record


class _Totals:
    """Sums over the evaluated nights of the period, overall and per date."""

    def __init__(self, first, nights, recent_from):
        self._first = first
        self._recent_from = recent_from
        self._evaluated = [0] * nights
        self._violated = [0] * nights
        self._asleep = [timedelta(0)] * nights
        self._total = [timedelta(0)] * nights
        self.recent_violators = set()

    def add(self, owner, night):
        index = (night.date - self._first).days
        self._evaluated[index] += 1
        self._asleep[index] += night.asleep
        self._total[index] += night.total
        if night.violated:
            self._violated[index] += 1
            if night.date >= self._recent_from:
                self.recent_violators.add(owner)

    @property
    def evaluated(self):
        return sum(self._evaluated)

    @property
    def asleep(self):
        return sum(self._asleep, timedelta(0))

    @property
    def total(self):
        return sum(self._total, timedelta(0))

    def series(self):
        points = []
        for index, evaluated in enumerate(self._evaluated):
            points.append(
                SeriesPoint(
                    date=self._first + index * _DAY,
                    evaluated=evaluated,
                    violated=self._violated[index],
                    minutes_in_window=_floor_mean(self._asleep[index], evaluated),
                    total_minutes=_floor_mean(self._total[index], evaluated),
                )
            )
        return tuple(points)


def _mean_minutes(duration, count):
    if count == 0:
        return None
    return round(duration / count / _MINUTE, 1)


def _floor_mean(duration, count):
    if count == 0:
        return None
    return duration // count // _MINUTE
