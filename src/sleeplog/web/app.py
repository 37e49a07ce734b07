"""Building the WSGI application.

:func:`create_app` is the one entry point: it takes the settings, the stores
and the audit log, and returns a WSGI callable. Nothing happens at import
time, so tests build as many apps as they like, each with its own stores.
"""

from datetime import datetime, timezone

import bottle

from sleeplog.web import health, records, trail
from sleeplog.web.audit import AuditMiddleware
from sleeplog.web.plugins import (
    ErrorPlugin,
    OwnerPlugin,
    StorePlugin,
    json_error_handler,
)


def utc_now():
    """The current time, aware, in UTC."""
    return datetime.now(timezone.utc)


def create_app(settings, stores, audit_log, clock=utc_now):
    """Return the sleeplog WSGI app.

    ``stores`` maps store names to :class:`~sleeplog.storage.base.RecordStore`
    objects; each serves ``/api/<name>/records``. ``clock`` returns the aware
    current time; tests pass a fixed one.
    """
    app = bottle.Bottle(catchall=True)
    app.config["json.enable"] = False  # routes send their own JSON
    app.default_error_handler = json_error_handler
    app.install(ErrorPlugin())
    app.install(StorePlugin(stores))
    app.install(OwnerPlugin(settings.records.default_owner))

    app.config.update(
        {
            "sleeplog.settings": settings,
            "sleeplog.stores": stores,
            "sleeplog.clock": clock,
            "sleeplog.audit_log": audit_log,
        }
    )
    records.install(app)
    trail.install(app)
    health.install(app)

    wrapped = AuditMiddleware(app, audit_log, settings.server.trusted_proxies)
    wrapped.bottle = app
    return wrapped
