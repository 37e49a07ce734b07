"""Fixtures shared by the whole suite.

The tests run against the real MariaDB (or MySQL) and Redis named by
``config/database.ini`` and its ``SLEEPLOG_*`` overrides. Each run works in a
database and a Redis key prefix of its own, ``sleeplog_test_<random>``, and
removes both when it ends, so it never touches real data and two runs on one
machine never meet.

Every API route needs a token: ``client`` is logged in as a user with the
role ``user``, and ``auth`` makes users of any role (see ``auth_helpers``).
Passwords and tokens go into the session's ``secret_registry``, and the last
test of the run (``test_auth_secrets_scan``) finds none of them in any log.
"""

import copy
import itertools
import logging
import os
import secrets
from pathlib import Path

import pymysql
import pytest
import redis

from auth_helpers import Auth, LogCollector, SecretRegistry
from helpers import NOW, make_client
from sleeplog.config import load_settings
from sleeplog.services.accounts import Accounts
from sleeplog.storage.memory_store import MemoryRecordStore
from sleeplog.web.app import create_app

_prefixes = itertools.count(1)

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"
DATA_DIR = Path(__file__).resolve().parent / "data"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "run_last: runs after every other test (the secrets scan)"
    )


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.get_closest_marker("run_last") is not None)


@pytest.fixture(scope="session")
def secret_registry():
    """Every password and token the run uses, and logs to search for them."""
    return SecretRegistry()


@pytest.fixture(scope="session", autouse=True)
def log_collector():
    """Every log record of the run, at every level, for the secrets scan."""
    root = logging.getLogger()
    collector = LogCollector()
    level = root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    yield collector
    root.removeHandler(collector)
    root.setLevel(level)


@pytest.fixture(scope="session")
def run_id():
    return "sleeplog_test_" + secrets.token_hex(4)


@pytest.fixture(scope="session")
def test_environ(run_id, tmp_path_factory, secret_registry):
    """Overrides that point the service at this run's database, prefix and log.

    They also give it a random signing key and an argon2 cost low enough
    that hashing takes well under a millisecond.
    """
    environ = {
        key: value for key, value in os.environ.items() if key.startswith("SLEEPLOG_")
    }
    secret_key = secrets.token_urlsafe(32)
    secret_registry.add(secret_key)
    environ.update(
        {
            "SLEEPLOG_MYSQL_DATABASE": run_id,
            "SLEEPLOG_REDIS_KEY_PREFIX": run_id,
            "SLEEPLOG_AUDIT_PATH": str(tmp_path_factory.mktemp("audit") / "log.json"),
            "SLEEPLOG_MYSQL_POOL_SIZE": "4",
            "SLEEPLOG_SERVER_THREADS": "4",
            "SLEEPLOG_AUTH_SECRET_KEYS": secret_key,
            "SLEEPLOG_AUTH_ARGON2_MEMORY_KIB": "8",
            "SLEEPLOG_AUTH_ARGON2_TIME_COST": "1",
        }
    )
    return environ


@pytest.fixture(scope="session")
def settings(test_environ):
    return load_settings(str(CONFIG_DIR), environ=test_environ)


@pytest.fixture(scope="session")
def mysql_database(settings):
    """Create this run's database, and drop it when the run ends."""
    connection = _mysql_admin(settings)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE DATABASE `{settings.mysql.database}` "
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        )
    yield settings.mysql.database
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{settings.mysql.database}`")
    connection.close()


@pytest.fixture(scope="session")
def redis_client(settings):
    """A raw client; deletes every key of this run's prefix when the run ends."""
    client = redis.Redis.from_url(settings.redis.url, socket_timeout=5)
    yield client
    _delete_prefix(client, settings.redis.key_prefix)
    client.close()


@pytest.fixture()
def memory_store():
    store = MemoryRecordStore()
    store.name = "memory"
    return store


@pytest.fixture()
def mysql_store(settings, mysql_admin):
    from sleeplog.storage.mysql_store import MySQLRecordStore

    store = MySQLRecordStore(settings)
    store.name = "mysql"
    with mysql_admin.cursor() as cursor:
        cursor.execute(f"DELETE FROM `{settings.mysql.database}`.sleep_records")
    yield store
    store.close()


@pytest.fixture()
def redis_store(settings, redis_client):
    from sleeplog.storage.redis_store import RedisRecordStore

    _delete_prefix(redis_client, settings.redis.key_prefix)
    store = RedisRecordStore(settings)
    store.name = "redis"
    yield store
    store.close()


@pytest.fixture(params=["memory", "mysql", "redis"])
def store(request):
    """Each record store in turn, empty."""
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture()
def audit_log(tmp_path, secret_registry):
    from sleeplog.storage.audit_log import AuditLog

    log = AuditLog(str(tmp_path / "log.json"), fsync="never")
    secret_registry.add_path(log.path)
    log.open()
    yield log
    log.close()


@pytest.fixture()
def stores(memory_store, mysql_store, redis_store):
    return {"memory": memory_store, "mysql": mysql_store, "redis": redis_store}


@pytest.fixture(scope="session")
def mysql_admin(settings, mysql_database):
    """One admin connection to this run's migrated database, for the run.

    Connecting to MySQL costs tens of milliseconds, so fixtures that empty
    tables per test share this one.
    """
    from sleeplog.storage.mysql_store import migrate

    migrate(settings)
    # No database selected: tests that kill the store's connections find
    # them by database, and must not find this one.
    connection = _mysql_admin(settings)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def _session_user_store(settings, mysql_admin):
    from sleeplog.storage.user_store import MySQLUserStore

    store = MySQLUserStore(settings)
    yield store
    store.close()


@pytest.fixture()
def user_store(settings, mysql_admin, _session_user_store):
    """The users table, migrated and empty. Shared by the run: patch a copy."""
    with mysql_admin.cursor() as cursor:
        cursor.execute(f"DELETE FROM `{settings.mysql.database}`.users")
        cursor.execute(f"DELETE FROM `{settings.mysql.database}`.revoked_tokens")
    return _session_user_store


@pytest.fixture()
def fresh_redis_prefix(settings, redis_client):
    """Settings whose Redis key prefix is new, under this run's.

    Nothing needs deleting before the test, and the run's clean-up removes
    its keys: cheaper than scanning a busy Redis before every test.
    """
    fresh = copy.deepcopy(settings)
    fresh.redis.key_prefix = f"{settings.redis.key_prefix}:t{next(_prefixes)}"
    return fresh


@pytest.fixture()
def login_throttle(fresh_redis_prefix):
    """Failed-login counters under a Redis prefix of their own, none counted."""
    from sleeplog.storage.throttle_store import RedisLoginThrottle

    throttle = RedisLoginThrottle(fresh_redis_prefix)
    yield throttle
    throttle.close()


@pytest.fixture()
def accounts(settings, user_store, login_throttle):
    return Accounts.from_settings(settings, user_store, login_throttle)


@pytest.fixture()
def app(settings, stores, audit_log, accounts):
    return create_app(settings, stores, audit_log, clock=lambda: NOW, accounts=accounts)


@pytest.fixture()
def auth(app, accounts, settings, mysql_admin, secret_registry):
    """Makes users of any role with tokens and clients; see ``auth_helpers``."""
    return Auth(app, accounts, settings.mysql.database, mysql_admin, secret_registry)


@pytest.fixture()
def client(auth):
    """A client logged in as a new user whose role is ``user``."""
    return auth.client("user")


@pytest.fixture()
def anonymous(app):
    """A client that sends no credentials."""
    return make_client(app)


def _mysql_admin(settings):
    return pymysql.connect(
        host=settings.mysql.host,
        port=settings.mysql.port,
        user=settings.mysql.user,
        password=settings.mysql.password,
        autocommit=True,
        connect_timeout=5,
    )


def _delete_prefix(client, prefix):
    # The prefix is this run's random name, never user input, so the pattern
    # is safe; the service itself never scans.
    keys = list(client.scan_iter(match=prefix + ":*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])
