"""``sleeplog report violators``: the violators report on the command line.

It reads the stores directly, with no HTTP involved, and covers everyone, as
the ``reports:read_all`` permission does over HTTP. Nights are those from
``--from`` to ``--to`` (dates, both included; by default the 7 nights before
today in UTC). JSON by default, CSV with ``--format csv``.
"""

import json
import sys
from datetime import date, datetime, timedelta, timezone

from sleeplog.errors import StorageError
from sleeplog.services import reports
from sleeplog.services.accounts import Accounts, make_hasher
from sleeplog.storage.registry import close_stores, open_account_stores, open_stores


def add_parser(commands):
    """Add the ``report`` subcommand to the ``commands`` subparsers."""
    parser = commands.add_parser("report", help="print the violators report")
    parser.add_argument("kind", choices=["violators"], help="which report")
    parser.add_argument("--from", dest="date_from", type=_date, metavar="DATE")
    parser.add_argument("--to", dest="date_to", type=_date, metavar="DATE")
    parser.add_argument(
        "--store", default="all", help="a store named in [stores], or all (default)"
    )
    parser.add_argument("--format", choices=["json", "csv"], default="json")


def run(args, settings, out=None):
    """Print the report; returns the exit status."""
    out = sys.stdout if out is None else out
    date_to = args.date_to or datetime.now(timezone.utc).date() - timedelta(days=1)
    date_from = args.date_from or date_to - timedelta(days=6)
    if date_from > date_to:
        print("sleeplog: --from must not be after --to", file=sys.stderr)
        return 2

    stores = open_stores(settings)
    if args.store != "all" and args.store not in stores:
        print(f"sleeplog: there is no store {args.store!r}", file=sys.stderr)
        close_stores(stores)
        return 2
    chosen = stores if args.store == "all" else {args.store: stores[args.store]}

    users, throttle = open_account_stores(settings)
    hasher = make_hasher(settings.auth)
    accounts = Accounts(settings.auth, users, throttle, None, hasher)
    rule = reports.night_rule(settings.nights)
    try:
        users.prepare()
        for store in chosen.values():
            store.prepare()
        people = reports.everyone(accounts)
        found = reports.find_violators(chosen, people, date_from, date_to, rule)
        violators = list(found)
    except StorageError as exc:
        print(f"sleeplog: {exc.message}", file=sys.stderr)
        return 1
    finally:
        accounts.close()
        close_stores(stores)

    if args.format == "csv":
        out.write(reports.violators_csv(violators))
    else:
        report = {
            "from": date_from.isoformat(),
            "to": date_to.isoformat(),
            "stores": sorted(chosen),
            "rule": reports.rule_json(rule),
            "violators": [violator.to_json() for violator in violators],
        }
        out.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return 0


def _date(text):
    return date.fromisoformat(text)
