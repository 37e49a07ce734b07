"""Importing sleep trackers' export files into a record store.

:func:`import_records` reads one file a piece at a time, checks every entry
with ``validate_record`` (the API's own rules), and saves the valid records
with ``store.save_many`` in batches, on a thread of their own so that
parsing goes on while a batch is saved (``writing.py``; the store must be
safe to share between threads, as every ``RecordStore`` is). One module
per format parses; see
:data:`FORMATS`. Nothing here knows about HTTP or a database driver: the
caller hands over the store and an open binary file.

Counting. ``read`` is every sleep entry of the file. Each ends up in exactly
one of ``skipped`` (read and left out on purpose, such as time in bed),
``rejected`` (not a valid record; ``rejections`` says where and why, for the
first :data:`MAX_REJECTIONS`) or ``valid``. A valid record is then either
``stored`` or ``already_present``: its owner, start and end were stored
before, by an earlier import, by the API, or earlier in this same file.
A dry run stores nothing and counts neither. ``stopped`` is ``None``, or
where and why the file could not be read further; what came before that
point is imported.
"""

import dataclasses
from typing import Optional

from sleeplog.errors import BadRequestError, ValidationError
from sleeplog.models import MAX_OWNER_LENGTH, validate_record
from sleeplog.services.imports import (
    apple_health,
    fitbit,
    generic_csv,
    sleep_as_android,
)
from sleeplog.services.imports.reading import (
    SKIPPED,
    Problem,
    UnreadableFileError,
    open_source,
)
from sleeplog.services.imports.writing import BatchWriter
from sleeplog.timestamps import TimestampError, load_zone

#: Every format by name, in the order detection tries them.
FORMATS = {
    module.NAME: module
    for module in (apple_health, fitbit, sleep_as_android, generic_csv)
}

#: How many bytes detection looks at.
HEAD_BYTES = 64 * 1024
#: Records per ``save_many`` call.
BATCH_SIZE = 1000
#: Rejections listed in a summary; the rest are only counted.
MAX_REJECTIONS = 1000


@dataclasses.dataclass
class ImportSummary:
    """What an import did; :meth:`to_json` is what the CLI and the API report."""

    format: str
    dry_run: bool = False
    read: int = 0
    valid: int = 0
    stored: int = 0
    already_present: int = 0
    skipped: int = 0
    rejected: int = 0
    rejections: list = dataclasses.field(default_factory=list)
    stopped: Optional[dict] = None

    def to_json(self):
        """The summary as a JSON-ready dict."""
        return dataclasses.asdict(self)


def detect_format(head):
    """The name of the format that the first bytes ``head`` of a file show.

    Only the content counts, never a file name. Returns ``None`` when no
    format matches.
    """
    for name, module in FORMATS.items():
        if module.sniff(head):
            return name
    return None


def import_records(
    store,
    source_file,
    *,
    owner,
    now,
    zone=None,
    fmt="auto",
    dry_run=False,
    progress=None,
    client=None,
    batch_size=BATCH_SIZE,
):
    """Import the export file ``source_file`` into ``store`` for ``owner``.

    ``source_file`` is a binary file object, read once from where it stands
    (it need not be seekable). ``now`` is the aware current time validation
    measures "in the future" against. ``zone`` is an IANA name or
    ``ZoneInfo`` for formats whose times carry no offset (Fitbit, and CSV
    rows without one). ``fmt`` is ``"auto"`` or a name in :data:`FORMATS`.
    ``dry_run`` validates and saves nothing (``store`` may be ``None``).
    ``progress`` is called with the number of bytes each time more of the
    file is read. ``client`` is kept on each record, as the API does.

    Returns an :class:`ImportSummary`. Raises ``ValidationError`` for a bad
    ``owner``, ``zone`` or ``fmt`` or a Fitbit file without a zone, and
    ``BadRequestError`` for a file that is empty, of no known format, or
    unreadable before its first entry; in those cases nothing is stored.
    A store's errors pass through; the batches saved before stay saved, and
    importing the file again is safe.
    """
    _check_owner(owner)
    zone = _zone(zone)
    head, stream = open_source(source_file, HEAD_BYTES, progress)
    name = _format(fmt, head)
    module = FORMATS[name]
    if module.NEEDS_ZONE and zone is None:
        raise ValidationError(
            f"{module.SOURCE} times have no UTC offset: say which time zone "
            "they were recorded in.",
            [{"field": "timezone", "message": f"is required for {name} files"}],
        )

    summary = ImportSummary(format=name, dry_run=dry_run)
    writer = _DryRun() if dry_run else BatchWriter(store, summary)
    with writer:
        batch = []
        try:
            for position, item in module.parse(stream, zone):
                summary.read += 1
                record = _record(item, position, summary, owner, now, client)
                if record is None:
                    continue

                batch.append(record)
                if len(batch) >= batch_size:
                    summary.valid += len(batch)
                    writer.put(batch)
                    batch = []
        except UnreadableFileError as exc:
            if summary.read == 0:
                raise
            summary.stopped = {"position": exc.position, "reason": exc.reason}

        summary.valid += len(batch)
        writer.put(batch)
    return summary


def _record(item, position, summary, owner, now, client):
    """The record ``item`` means, or ``None`` after counting why there is none."""
    if item is SKIPPED:
        summary.skipped += 1
        return None

    if isinstance(item, Problem):
        _reject(summary, position, item.reason)
        return None

    try:
        return validate_record(item, owner=owner, now=now, client=client)
    except ValidationError as exc:
        reasons = (f"{d['field']}: {d['message']}" for d in exc.details)
        _reject(summary, position, "; ".join(reasons))
        return None


def _reject(summary, position, reason):
    summary.rejected += 1
    if len(summary.rejections) < MAX_REJECTIONS:
        summary.rejections.append({"position": position, "reason": reason})


class _DryRun:
    """Stands in for a :class:`BatchWriter` when nothing is to be saved."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def put(self, batch):
        return None


def _check_owner(owner):
    if not isinstance(owner, str) or not owner or len(owner) > MAX_OWNER_LENGTH:
        raise ValidationError(
            "The owner is not valid.",
            [
                {
                    "field": "owner",
                    "message": f"must be 1 to {MAX_OWNER_LENGTH} characters",
                }
            ],
        )


def _zone(zone):
    if zone is None or not isinstance(zone, str):
        return zone

    try:
        return load_zone(zone)
    except TimestampError as exc:
        raise ValidationError(
            "The time zone is not valid.", [{"field": "timezone", "message": str(exc)}]
        ) from None


def _format(fmt, head):
    if fmt not in (None, "auto") and fmt not in FORMATS:
        raise ValidationError(
            f"There is no import format {fmt!r}.",
            [
                {
                    "field": "format",
                    "message": "must be auto or one of " + ", ".join(FORMATS),
                }
            ],
        )
    if not head:
        raise BadRequestError("The file is empty.")
    if fmt not in (None, "auto"):
        return fmt

    name = detect_format(head)
    if name is None:
        raise BadRequestError(
            "The file is in none of the formats sleeplog reads "
            f"({', '.join(FORMATS)}); if it is one of them, name it."
        )
    return name
