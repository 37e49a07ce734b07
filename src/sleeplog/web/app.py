"""Building the WSGI application.

:func:`create_app` is the one entry point: it takes the settings, the stores
and the audit log, and returns a WSGI callable. Nothing happens at import
time, so tests build as many apps as they like, each with its own stores.
"""

from datetime import datetime, timezone

import bottle

from sleeplog.services.accounts import Accounts
from sleeplog.storage.registry import open_account_stores
from sleeplog.web import accounts as account_routes
from sleeplog.web import frontend, health, imports, records, reports, trail, users
from sleeplog.web.audit import AuditMiddleware
from sleeplog.web.plugins import (
    AuthPlugin,
    ErrorPlugin,
    StorePlugin,
    check_route_access,
    json_error_handler,
)


def utc_now():
    """The current time, aware, in UTC."""
    return datetime.now(timezone.utc)


def create_app(settings, stores, audit_log, clock=utc_now, accounts=None):
    """Return the sleeplog WSGI app.

    ``stores`` maps store names to :class:`~sleeplog.storage.base.RecordStore`
    objects; each serves ``/api/<name>/records``. ``clock`` returns the aware
    current time; tests pass a fixed one. ``accounts`` is the
    :class:`~sleeplog.services.accounts.Accounts` that logs users in; without
    it one is built from ``settings`` (it connects when first used, and the
    returned app's ``accounts`` attribute holds it, to be closed).
    """
    if accounts is None:
        accounts = Accounts.from_settings(settings, *open_account_stores(settings))

    app = bottle.Bottle(catchall=True)
    app.config["json.enable"] = False  # routes send their own JSON
    app.default_error_handler = json_error_handler
    app.install(ErrorPlugin())
    # Before the stores: an unknown store answers 404 only to a known caller.
    app.install(AuthPlugin(accounts))
    app.install(StorePlugin(stores))

    app.config.update(
        {
            "sleeplog.settings": settings,
            "sleeplog.stores": stores,
            "sleeplog.clock": clock,
            "sleeplog.audit_log": audit_log,
            "sleeplog.accounts": accounts,
        }
    )
    account_routes.install(app)
    users.install(app)
    records.install(app)
    imports.install(app)
    reports.install(app)
    trail.install(app)
    health.install(app)
    frontend.install(app)
    check_route_access(app)

    wrapped = AuditMiddleware(app, audit_log, settings.server.trusted_proxies)
    wrapped.bottle = app
    wrapped.accounts = accounts
    return wrapped
