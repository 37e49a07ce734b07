"""Saving an import's batches on a thread of its own.

Parsing and validating are Python work; saving is mostly waiting for the
server. :class:`BatchWriter` lets the two overlap: the import thread hands
over a full batch and goes on parsing while a second thread saves it. At
most one batch waits and one is being saved, so memory stays flat.
"""

import queue
import threading

_DONE = object()


class BatchWriter:
    """Calls ``store.save_many`` for each batch :meth:`put`, in order.

    Counts go into ``summary.stored`` and ``summary.already_present``.
    Use as a context manager: leaving it waits for the last batch, and the
    first error a save raised is raised again by :meth:`put` or on leaving.
    After an error the remaining batches are dropped unsaved.
    """

    def __init__(self, store, summary):
        self._store = store
        self._summary = summary
        self._queue = queue.Queue(maxsize=1)
        self._error = None
        self._thread = threading.Thread(
            target=self._run, name="sleeplog-import-writer", daemon=True
        )

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, traceback):
        self._queue.put(_DONE)
        self._thread.join()
        if exc is None:
            self._raise_error()
        return False

    def put(self, batch):
        """Queue ``batch`` (a list of records) for saving; waits while one waits."""
        self._raise_error()
        if batch:
            self._queue.put(batch)

    def _run(self):
        while True:
            batch = self._queue.get()
            if batch is _DONE:
                return
            if self._error is not None:
                continue

            try:
                created = self._store.save_many(batch)
            except BaseException as exc:  # handed to the import thread
                self._error = exc
                continue
            self._summary.stored += created
            self._summary.already_present += len(batch) - created

    def _raise_error(self):
        if self._error is not None:
            raise self._error
