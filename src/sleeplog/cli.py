"""``sleeplog``: the command line for operators.

``sleeplog migrate`` creates or migrates the schema of every store;
``sleeplog check-config`` reads the configuration and reports the first
problem; ``sleeplog import FILE... --store NAME`` imports tracker export
files (see ``sleeplog.import_cli``); ``sleeplog create-superuser NICKNAME``
creates the first account that manages the others (see
``sleeplog.accounts_cli``); ``sleeplog report violators`` prints the
violators report (see ``sleeplog.report_cli``). Every command takes ``--config DIR``.
Exit status: 0 on success, 1 when a store fails (or a file to import cannot
be read), 2 when the configuration is wrong.
"""

import argparse
import logging
import sys

from sleeplog import accounts_cli, import_cli, report_cli
from sleeplog.config import load_settings, require_secret_keys
from sleeplog.errors import ConfigError, StorageError
from sleeplog.storage.registry import close_stores, open_stores


def main(argv=None):
    """Entry point of ``sleeplog``; returns the process exit status."""
    parser = argparse.ArgumentParser(
        prog="sleeplog", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--config", metavar="DIR", help="configuration folder (default: ./config)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="create or migrate the stores' schemas")
    commands.add_parser("check-config", help="read the configuration and report")
    import_cli.add_parser(commands)
    accounts_cli.add_parser(commands)
    report_cli.add_parser(commands)
    args = parser.parse_args(argv)

    try:
        settings = load_settings(args.config)
        if args.command == "check-config":
            require_secret_keys(settings)
    except ConfigError as exc:
        print(f"sleeplog: {exc.message}", file=sys.stderr)
        return 2

    logging.basicConfig(level=settings.logging.level.upper(), stream=sys.stderr)
    if args.command == "check-config":
        print(f"configuration in {settings.config_dir} is valid")
        return 0
    if args.command == "import":
        return import_cli.run(args, settings)
    if args.command == "create-superuser":
        return accounts_cli.run(args, settings)
    if args.command == "report":
        return report_cli.run(args, settings)

    stores = open_stores(settings)
    try:
        for name, store in sorted(stores.items()):
            store.prepare()
            print(f"{name}: ready")
    except StorageError as exc:
        print(f"sleeplog: {exc.message}", file=sys.stderr)
        return 1
    finally:
        close_stores(stores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
