"""``sleeplog-serve``: run the service under waitress.

Start-up reads the configuration (a bad file, key or value stops it with one
line naming them and exit status 2, as does a token-signing key that is unset
or still the shipped placeholder), repairs a torn audit-log tail, creates or
migrates the database schema, logs one line and serves.

SIGTERM or SIGINT stops it gracefully: it stops accepting connections, lets
the requests in flight finish (for at most ``[server] drain_seconds``), and
exits with status 0.
"""

import argparse
import logging
import signal
import sys
import threading
import time

import waitress
from waitress import wasyncore

from sleeplog import __version__
from sleeplog.config import load_settings, require_secret_keys
from sleeplog.errors import AuditLogUnavailableError, ConfigError, StorageError
from sleeplog.services.accounts import Accounts
from sleeplog.storage.audit_log import AuditLog
from sleeplog.storage.registry import close_stores, open_account_stores, open_stores
from sleeplog.web.app import create_app

log = logging.getLogger("sleeplog.serve")


def configure_logging(level):
    """Send diagnostics to standard error in one plain format."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # waitress's own per-connection chatter adds nothing at INFO.
    logging.getLogger("waitress.queue").setLevel(logging.WARNING)


def main(argv=None):
    """Entry point of ``sleeplog-serve``; returns the process exit status."""
    parser = argparse.ArgumentParser(
        prog="sleeplog-serve", description="Run the sleeplog HTTP service."
    )
    parser.add_argument(
        "--config", metavar="DIR", help="configuration folder (default: ./config)"
    )
    args = parser.parse_args(argv)

    try:
        settings = load_settings(args.config)
        require_secret_keys(settings)
    except ConfigError as exc:
        print(f"sleeplog-serve: {exc.message}", file=sys.stderr)
        return 2

    configure_logging(settings.logging.level)
    audit_log = AuditLog(settings.audit.path, fsync=settings.audit.fsync)
    try:
        audit_log.open()
    except AuditLogUnavailableError as exc:
        log.warning("audit log unavailable, changes will be refused: %s", exc.message)

    stores = open_stores(settings)
    accounts = Accounts.from_settings(settings, *open_account_stores(settings))
    try:
        for store in stores.values():
            store.prepare()
        accounts.users.prepare()
    except StorageError as exc:
        mysql = f"{settings.mysql.host}:{settings.mysql.port}"
        print(f"sleeplog-serve: {exc.message} (MySQL at {mysql})", file=sys.stderr)
        close_stores(stores)
        accounts.close()
        return 1

    try:
        return serve(settings, stores, audit_log, accounts)
    finally:
        close_stores(stores)
        accounts.close()
        audit_log.close()


def serve(settings, stores, audit_log, accounts=None):
    """Serve until SIGTERM or SIGINT, then drain and return 0."""
    app = create_app(settings, stores, audit_log, accounts=accounts)
    try:
        server = waitress.create_server(
            app,
            host=settings.server.host,
            port=settings.server.port,
            threads=settings.server.threads,
            # Routes check their own limits; waitress needs only the largest,
            # plus one, since it refuses a body as long as its limit.
            max_request_body_size=1
            + max(settings.server.max_body_bytes, settings.imports.max_body_bytes),
            # X-Forwarded-For reaches the app, which believes it only from
            # [server] trusted_proxies (sleeplog.web.audit.client_address).
            clear_untrusted_proxy_headers=False,
            ident="sleeplog",
            expose_tracebacks=False,
        )
    except OSError as exc:
        where = f"{settings.server.host}:{settings.server.port}"
        print(
            f"sleeplog-serve: cannot listen on {where}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    stop = threading.Event()

    def request_stop(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    host, port = server.getsockname()[:2]
    log.info(
        "sleeplog %s serving http://%s:%s with %d threads; stores %s; "
        "audit log %s (fsync %s)",
        __version__,
        host,
        port,
        settings.server.threads,
        ", ".join(sorted(stores)),
        settings.audit.path,
        settings.audit.fsync,
    )

    # waitress keeps its sockets in this map; running the loop ourselves lets
    # a signal stop the accepting without cutting requests already under way.
    channels = server._map
    while not stop.is_set():
        wasyncore.loop(timeout=0.5, map=channels, use_poll=True, count=1)

    server.accepting = False
    deadline = time.monotonic() + settings.server.drain_seconds
    while _busy(app, server) and time.monotonic() < deadline:
        wasyncore.loop(timeout=0.05, map=channels, use_poll=True, count=1)

    if _busy(app, server):
        log.warning("stopped with requests still in flight after the drain time")
    server.close()
    log.info("sleeplog stopped")
    return 0


def _busy(app, server):
    if app.in_flight or server.task_dispatcher.queue:
        return True

    for channel in list(server._map.values()):
        if channel is server:
            continue
        partial = getattr(channel, "request", None) is not None
        unsent = getattr(channel, "total_outbufs_len", 0)
        if partial or unsent or getattr(channel, "requests", None):
            return True
    return False


if __name__ == "__main__":
    sys.exit(main())
