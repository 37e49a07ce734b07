"""The violators report: who slept too little in which nights, and from where.

A violation is a night whose sleep inside the window is strictly less than
the threshold; :mod:`sleeplog.services.nights` defines every term. The report
lists each violator once, sorted by nickname, with their violated nights
sorted by date and the addresses the records of those nights came from.

It can be computed two ways, with the same result:

- :func:`find_violators` reads one stream of everybody's records in store
  order, such as ``store.iter_records(start_from=..., start_to=...)``. One
  query per store; memory grows with the number of people active in a few
  days and with the size of the report.
- :func:`iter_violators` reads each person's records in turn, such as
  ``store.iter_records(owner=...)``, and yields violators already in report
  order. One query per person; memory stays that of one person's few days,
  whatever the number of people or records. The benchmark uses this one.

For ``store=all``, :func:`merge_stores` merges the stores' streams so that a
record kept in both counts once.
"""

import dataclasses
import heapq
from collections import defaultdict
from typing import Tuple

from sleeplog.services.nights import (
    DEFAULT_RULE,
    Night,
    evaluate_everyone,
    evaluate_nights,
    record_range,
)
from sleeplog.services.people import Person, person_of


@dataclasses.dataclass(frozen=True)
class Violator:
    """One person and the nights, by date, in which they slept too little."""

    person: Person
    nights: Tuple[Night, ...]

    @property
    def clients(self):
        """Sorted addresses the records of the violated nights were sent from."""
        return sorted({client for night in self.nights for client in night.clients})

    def to_json(self):
        """The violator as the report's JSON object."""
        return {
            "user_id": self.person.user_id,
            "nickname": self.person.name,
            "owner": self.person.owner,
            "clients": self.clients,
            "nights": [night.to_json() for night in self.nights],
        }


def find_violators(records, date_from, date_to, people=None, rule=DEFAULT_RULE):
    """The violators among everybody's ``records``, as a sorted list.

    ``records`` is one stream of all owners' records sorted by start, as a
    store yields them; fetch it with ``record_range(date_from, date_to)``.
    Nights from ``date_from`` to ``date_to``, both included, are examined.
    ``people`` maps owners to :class:`Person`; an owner missing from it is
    reported under the owner string. Violators are sorted by nickname (see
    :meth:`Person.sort_key`), their nights by date.
    """
    people = people or {}
    zones = {owner: person.timezone for owner, person in people.items()}
    violated = defaultdict(list)
    nights = evaluate_everyone(records, zones, rule, date_from, date_to)
    for owner, night in nights:
        if night.violated:
            violated[owner].append(night)

    violators = [
        Violator(person_of(owner, people), tuple(owned))
        for owner, owned in violated.items()
    ]
    violators.sort(key=lambda violator: violator.person.sort_key())
    return violators


def iter_violators(records_of, date_from, date_to, people=None, rule=DEFAULT_RULE):
    """Yield the violators in report order, reading one person at a time.

    ``records_of(owner, start_from, start_to)`` returns that owner's records
    sorted by start, overlapping the range given, for example
    ``store.iter_records(owner=owner, start_from=start_from,
    start_to=start_to)``. ``people`` maps owners to :class:`Person` and names
    the only owners examined: records of anyone else are never read. The
    other arguments are those of :func:`find_violators`.
    """
    people = people or {}
    start_from, start_to = record_range(date_from, date_to)
    for person in sorted(people.values(), key=Person.sort_key):
        records = records_of(person.owner, start_from, start_to)
        nights = evaluate_nights(records, person.timezone, rule, date_from, date_to)
        violated = tuple(night for night in nights if night.violated)
        if violated:
            yield Violator(person, violated)


def merge_stores(*streams):
    """Merge record streams sorted by start into one, each record once.

    Records with the same :attr:`~sleeplog.models.SleepRecord.span_key`
    (owner, start and end instants) count once; the copy from the earliest
    stream is kept. Streaming: only records sharing one start are remembered.
    """
    current = None
    seen = set()
    for record in heapq.merge(*streams, key=_start):
        if record.start != current:
            current = record.start
            seen.clear()

        key = record.span_key
        if key not in seen:
            seen.add(key)
            yield record


def _start(record):
    return record.start
