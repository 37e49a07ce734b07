"""A record store in process memory, for tests and trying things out.

It is the proof that a backend is one class plus a line of configuration:
``memory = sleeplog.storage.memory_store:MemoryRecordStore`` under ``[stores]``
serves ``/api/memory/records`` with no change to any route. Nothing survives
a restart.
"""

import bisect
import threading
from datetime import datetime, timezone

from sleeplog.errors import NotFoundError
from sleeplog.storage.base import RecordStore, cursor_of, earliest_start
from sleeplog.timestamps import utc_naive


class MemoryRecordStore(RecordStore):
    """Keeps records in a sorted list guarded by one lock."""

    def __init__(self, settings=None):
        self._lock = threading.Lock()
        self._order = []  # sorted cursors: (start_utc, id)
        self._by_id = {}
        self._by_span = {}
        self._next_id = 1

    def save(self, record):
        with self._lock:
            existing = self._by_span.get(record.span_key)
            if existing is not None:
                return self._by_id[existing], False

            stored = record.replace(
                id=self._next_id, created_at=datetime.now(timezone.utc)
            )
            self._next_id += 1
            self._by_id[stored.id] = stored
            self._by_span[stored.span_key] = stored.id
            bisect.insort(self._order, cursor_of(stored))
            return stored, True

    def get(self, record_id):
        with self._lock:
            try:
                return self._by_id[record_id]
            except KeyError:
                raise NotFoundError(f"There is no record {record_id}.") from None

    def delete(self, record_id):
        with self._lock:
            record = self._by_id.pop(record_id, None)
            if record is None:
                return False

            del self._by_span[record.span_key]
            self._order.remove(cursor_of(record))
            return True

    def page(
        self, *, owner=None, start_from=None, start_to=None, after=None, limit=500
    ):
        lowest = after
        if start_from is not None:
            floor = (earliest_start(start_from), 0)
            lowest = floor if lowest is None else max(lowest, floor)

        with self._lock:
            position = 0
            if lowest is not None:
                position = bisect.bisect_right(self._order, lowest)

            result = []
            for cursor in self._order[position:]:
                if len(result) >= limit:
                    break
                if start_to is not None and cursor[0] >= utc_naive(start_to):
                    break

                record = self._by_id[cursor[1]]
                if owner is not None and record.owner != owner:
                    continue
                if start_from is not None and record.end <= start_from:
                    continue
                result.append(record)
            return result

    def count(self, owner=None):
        with self._lock:
            if owner is None:
                return len(self._by_id)
            return sum(1 for record in self._by_id.values() if record.owner == owner)

    def check(self):
        return None
