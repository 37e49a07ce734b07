"""``sleeplog import``: tracker export files into a store, without HTTP.

Each FILE is read once and imported through the same service as the API's
``POST /api/<store>/imports`` (``sleeplog.services.imports``), and its
summary is printed. ``-`` reads standard input. A progress bar on standard
error follows files of 1 MiB or more when standard error is a terminal.

Exit status: 0 when every file was read, 1 when a file could not be read
or was refused (nothing of it is stored) or a store failed, 2 when the
command line or the configuration is wrong.
"""

import os
import sys
from datetime import datetime, timezone

from tqdm import tqdm

from sleeplog.auth.users import nickname_key
from sleeplog.errors import BadRequestError, StorageError, ValidationError
from sleeplog.services.imports import FORMATS, import_records
from sleeplog.storage.registry import (
    close_stores,
    open_account_stores,
    open_stores,
)

#: Files at least this large get a progress bar.
PROGRESS_BYTES = 1 << 20

_OPTIONS = {"timezone": "--timezone", "format": "--format", "owner": "--owner"}
_COUNTS = ("stored", "already_present", "skipped", "rejected")


def add_parser(commands):
    """Add the ``import`` subcommand to the ``commands`` subparsers."""
    parser = commands.add_parser(
        "import",
        help="import tracker export files into a store",
        description=__doc__.split("\n")[0],
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="export file, or -")
    parser.add_argument("--store", required=True, help="the store to import into")
    parser.add_argument(
        "--user",
        metavar="NICKNAME",
        help="import for this account: its records, read in its time zone "
        "unless --timezone says otherwise",
    )
    parser.add_argument(
        "--owner",
        help="the records' owner as stored, a user's id for an account's records "
        "(default: [records] default_owner); --user is simpler",
    )
    parser.add_argument(
        "--timezone", metavar="ZONE", help="IANA zone of times without an offset"
    )
    parser.add_argument(
        "--format",
        default="auto",
        choices=("auto", *FORMATS),
        help="the files' format (default: detected from each file's content)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="validate only, store nothing"
    )


def run(args, settings):
    """Import every file of ``args``; returns the exit status."""
    if args.store not in settings.stores:
        known = ", ".join(sorted(settings.stores))
        print(
            f"sleeplog: no store {args.store!r}; the stores are {known}",
            file=sys.stderr,
        )
        return 2

    if args.user is not None and args.owner is not None:
        print("sleeplog: give --user or --owner, not both", file=sys.stderr)
        return 2

    stores = open_stores(settings)
    try:
        if args.user is not None:
            account = _account(settings, args.user)
            if account is None:
                print(f"sleeplog: there is no user {args.user!r}", file=sys.stderr)
                return 2
            args.owner = account.owner
            args.timezone = args.timezone or account.timezone

        store = stores[args.store]
        if not args.dry_run:
            store.prepare()
        return _import_all(args, settings, store)
    except StorageError as exc:
        print(f"sleeplog: {exc.message}", file=sys.stderr)
        return 1
    finally:
        close_stores(stores)


def _account(settings, nickname):
    users, throttle = open_account_stores(settings)
    try:
        users.prepare()
        return users.find(nickname_key(nickname))
    finally:
        users.close()
        throttle.close()


def _import_all(args, settings, store):
    status = 0
    totals = dict.fromkeys(("read", "valid", *_COUNTS), 0)
    for path in args.files:
        summary = _import_one(path, args, settings, store)
        if summary is None:
            status = 1
            continue

        print(render(path, summary))
        for key in totals:
            totals[key] += getattr(summary, key)

    if len(args.files) > 1:
        print(_counts("total", totals, args.dry_run))
    return status


def _import_one(path, args, settings, store):
    """The summary of importing ``path``, or ``None`` after saying why not."""
    try:
        with _open(path) as file, _progress_bar(file, path) as bar:
            return import_records(
                store,
                file,
                owner=args.owner or settings.records.default_owner,
                now=datetime.now(timezone.utc),
                zone=args.timezone,
                fmt=args.format,
                dry_run=args.dry_run,
                progress=bar.update,
                batch_size=settings.imports.batch_size,
            )
    except OSError as exc:
        print(f"sleeplog: {path}: {exc.strerror or exc}", file=sys.stderr)
    except (BadRequestError, ValidationError) as exc:
        lines = [f"sleeplog: {path}: {exc.message}"]
        for detail in exc.details:
            field = _OPTIONS.get(detail.get("field"), detail.get("field"))
            lines.append(f"  {field}: {detail.get('message')}")
        print("\n".join(lines), file=sys.stderr)
    return None


def render(path, summary):
    """The summary of one file as lines of text."""
    counts = {key: getattr(summary, key) for key in ("read", "valid", *_COUNTS)}
    lines = [_counts(f"{path} ({summary.format})", counts, summary.dry_run)]
    for rejection in summary.rejections:
        lines.append(f"  {rejection['position']}: {rejection['reason']}")

    omitted = summary.rejected - len(summary.rejections)
    if omitted:
        lines.append(f"  ... and {omitted} more rejected")
    if summary.stopped is not None:
        lines.append(
            f"  stopped at {summary.stopped['position']}: it "
            f"{summary.stopped['reason']}; nothing after it was read"
        )
    return "\n".join(lines)


def _counts(label, counts, dry_run):
    if dry_run:
        kept = f"{counts['valid']} valid (dry run, nothing stored)"
    else:
        kept = f"{counts['stored']} stored, {counts['already_present']} already present"
    return (
        f"{label}: {counts['read']} read, {kept}, {counts['skipped']} skipped, "
        f"{counts['rejected']} rejected"
    )


def _open(path):
    if path == "-":
        return os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    return open(path, "rb")


def _progress_bar(file, path):
    try:
        size = os.fstat(file.fileno()).st_size or None
    except OSError:
        size = None
    small = size is not None and size < PROGRESS_BYTES
    return tqdm(
        total=size,
        desc=os.path.basename(path),
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        leave=False,
        disable=True if small else None,
        file=sys.stderr,
    )
