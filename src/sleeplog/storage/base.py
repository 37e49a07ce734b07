"""The interface every record store implements.

A store keeps :class:`~sleeplog.models.SleepRecord` objects. Adding a backend
means writing one subclass of :class:`RecordStore` and naming it in
``config/sleeplog.ini``; no route changes (see ``sleeplog.storage.registry``).

Order: every iteration yields records by start instant, then by id. A page
cursor is the ``(start_utc, id)`` pair of the last record seen, where
``start_utc`` is a naive UTC ``datetime``.

Time ranges select the records that overlap ``[start_from, start_to)``: those
that end after ``start_from`` and start before ``start_to``.
"""

import abc

from sleeplog.models import MAX_DURATION
from sleeplog.timestamps import utc_naive


class RecordStore(abc.ABC):
    """A place to keep sleep records.

    Implementations must be safe to share between threads, must make
    :meth:`save` idempotent on :attr:`SleepRecord.span_key`, and must raise
    only ``sleeplog.errors`` classes.
    """

    #: The name the configuration gave this store, such as ``"mysql"``.
    name = None

    @abc.abstractmethod
    def save(self, record):
        """Store ``record`` unless a record with its span key exists.

        Returns ``(stored, created)``: the stored record, with ``id`` and
        ``created_at`` set, and whether this call created it. When the span key
        was already stored, ``stored`` is that earlier record, unchanged.
        """

    def save_many(self, records):
        """Store many records at once; returns how many were new.

        Each record behaves as with :meth:`save`. Backends override this to
        batch their writes; this fallback saves one at a time.
        """
        return sum(1 for record in records if self.save(record)[1])

    @abc.abstractmethod
    def get(self, record_id):
        """Return the record with ``record_id``; raise ``NotFoundError`` if none."""

    @abc.abstractmethod
    def delete(self, record_id):
        """Remove the record with ``record_id``; return whether it existed."""

    @abc.abstractmethod
    def page(
        self, *, owner=None, start_from=None, start_to=None, after=None, limit=500
    ):
        """Return a list of at most ``limit`` records in store order.

        ``owner`` restricts to one owner. ``start_from`` and ``start_to`` are
        aware datetimes bounding the time range (either may be ``None``).
        ``after`` is a cursor: only records after it are returned.
        """

    @abc.abstractmethod
    def count(self, owner=None):
        """How many records there are, of everybody or of ``owner``."""

    @abc.abstractmethod
    def check(self):
        """Raise ``StorageUnavailableError`` unless the store can take writes."""

    def prepare(self):
        """Create or migrate what the store needs on its server; run at start-up.

        Raises ``StorageError`` when that cannot be done.
        """
        return None

    def close(self):
        """Release connections; the store is not used afterwards."""
        return None

    def iter_records(
        self, *, owner=None, start_from=None, start_to=None, after=None, page_size=500
    ):
        """Yield every matching record in store order, one page at a time.

        Memory stays flat: only one page is held at once.
        """
        while True:
            batch = self.page(
                owner=owner,
                start_from=start_from,
                start_to=start_to,
                after=after,
                limit=page_size,
            )
            yield from batch
            if len(batch) < page_size:
                return
            after = cursor_of(batch[-1])


def cursor_of(record):
    """The page cursor that points just after ``record``."""
    return (utc_naive(record.start), record.id)


def earliest_start(start_from):
    """The earliest start a record overlapping ``start_from`` can have.

    Records last at most a day, so stores can search their start index.
    """
    return utc_naive(start_from) - MAX_DURATION
