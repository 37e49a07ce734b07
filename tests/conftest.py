"""Fixtures shared by the whole suite.

The tests run against the real MariaDB (or MySQL) and Redis named by
``config/database.ini`` and its ``SLEEPLOG_*`` overrides. Each run works in a
database and a Redis key prefix of its own, ``sleeplog_test_<random>``, and
removes both when it ends, so it never touches real data and two runs on one
machine never meet.
"""

import os
import secrets
from pathlib import Path

import pymysql
import pytest
import redis

from helpers import NOW, make_client
from sleeplog.config import load_settings
from sleeplog.storage.memory_store import MemoryRecordStore
from sleeplog.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"
DATA_DIR = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def run_id():
    return "sleeplog_test_" + secrets.token_hex(4)


@pytest.fixture(scope="session")
def test_environ(run_id, tmp_path_factory):
    """Overrides that point the service at this run's database, prefix and log."""
    environ = {
        key: value for key, value in os.environ.items() if key.startswith("SLEEPLOG_")
    }
    environ.update(
        {
            "SLEEPLOG_MYSQL_DATABASE": run_id,
            "SLEEPLOG_REDIS_KEY_PREFIX": run_id,
            "SLEEPLOG_AUDIT_PATH": str(tmp_path_factory.mktemp("audit") / "log.json"),
            "SLEEPLOG_MYSQL_POOL_SIZE": "4",
            "SLEEPLOG_SERVER_THREADS": "4",
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
def mysql_store(settings, mysql_database):
    from sleeplog.storage.mysql_store import MySQLRecordStore, migrate

    migrate(settings)
    store = MySQLRecordStore(settings)
    store.name = "mysql"
    _empty_mysql(settings)
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
def audit_log(tmp_path):
    from sleeplog.storage.audit_log import AuditLog

    log = AuditLog(str(tmp_path / "log.json"), fsync="never")
    log.open()
    yield log
    log.close()


@pytest.fixture()
def stores(memory_store, mysql_store, redis_store):
    return {"memory": memory_store, "mysql": mysql_store, "redis": redis_store}


@pytest.fixture()
def app(settings, stores, audit_log):
    return create_app(settings, stores, audit_log, clock=lambda: NOW)


@pytest.fixture()
def client(app):
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


def _empty_mysql(settings):
    connection = _mysql_admin(settings)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM `{settings.mysql.database}`.sleep_records")
    connection.close()


def _delete_prefix(client, prefix):
    # The prefix is this run's random name, never user input, so the pattern
    # is safe; the service itself never scans.
    keys = list(client.scan_iter(match=prefix + ":*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])
