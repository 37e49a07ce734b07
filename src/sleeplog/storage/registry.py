"""Opening the stores that ``[stores]`` in ``config/sleeplog.ini`` names.

Each line there is ``name = module:Class``. The class is a
:class:`~sleeplog.storage.base.RecordStore` subclass built as ``Class(settings)``
and served at ``/api/<name>/records``. :func:`open_account_stores` opens the
stores behind accounts.
"""

from sleeplog.errors import ConfigError
from sleeplog.storage.base import RecordStore
from sleeplog.storage.throttle_store import RedisLoginThrottle
from sleeplog.storage.user_store import MySQLUserStore


def open_stores(settings):
    """Build every configured store; returns ``{name: store}``.

    Opening must not need the servers to be up: a store connects lazily, so
    the service starts, reports itself unready and recovers on its own.
    """
    stores = {}
    for name, cls in settings.stores.items():
        if not (isinstance(cls, type) and issubclass(cls, RecordStore)):
            raise ConfigError(
                "sleeplog.ini", f"[stores] {name}", "does not name a RecordStore class"
            )
        store = cls(settings)
        store.name = name
        stores[name] = store
    return stores


def open_account_stores(settings):
    """The stores behind accounts: ``(users, login_throttle)``.

    Users and revoked tokens live in MySQL, failed-login counters in Redis,
    wherever ``[stores]`` keeps records. Neither connects until first used.
    """
    return MySQLUserStore(settings), RedisLoginThrottle(settings)


def close_stores(stores):
    """Close every store of :func:`open_stores`."""
    for store in stores.values():
        store.close()
