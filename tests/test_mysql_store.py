"""What only the MySQL store does: migrations, its pool, and failing servers."""

import copy
import logging
import socket
import threading
import time
from datetime import datetime, timedelta, timezone

import pymysql
import pytest

from conftest import _mysql_admin
from sleeplog.errors import NotFoundError, StorageError, StorageUnavailableError
from sleeplog.models import SleepRecord
from sleeplog.storage.mysql_store import MySQLRecordStore, _storage_error, migrate
from sleeplog.timestamps import parse_timestamp

BASE = datetime(2020, 1, 1, tzinfo=timezone.utc)


def record(start, end, owner="alice"):
    return SleepRecord(
        owner=owner, start=parse_timestamp(start), end=parse_timestamp(end)
    )


def with_mysql(settings, **changes):
    """A copy of ``settings`` with some ``[mysql]`` keys changed."""
    copied = copy.deepcopy(settings)
    for key, value in changes.items():
        setattr(copied.mysql, key, value)
    return copied


def query(connection, sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.fixture()
def admin(settings):
    connection = _mysql_admin(settings)
    yield connection
    connection.close()


def store_connections(admin, settings):
    rows = query(
        admin,
        "SELECT ID FROM information_schema.PROCESSLIST "
        "WHERE DB = %s AND COMMAND <> 'Killed'",
        (settings.mysql.database,),
    )
    return {connection_id for (connection_id,) in rows}


def test_migrate_creates_the_database_and_applies_each_version_once(
    settings, run_id, admin
):
    database = run_id + "_migrate"
    fresh = with_mysql(settings, database=database)
    try:
        first = migrate(fresh)
        second = migrate(fresh)
        recorded = query(
            admin, f"SELECT version, name FROM `{database}`.schema_migrations"
        )
        tables = query(
            admin,
            "SELECT TABLE_NAME, ENGINE, TABLE_COLLATION FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME",
            (database,),
        )
    finally:
        query(admin, f"DROP DATABASE IF EXISTS `{database}`")

    assert first == [1, 2]
    assert second == []
    assert recorded == (
        (1, "0001_create_sleep_records.sql"),
        (2, "0002_create_users.sql"),
    )
    assert tables == (
        ("revoked_tokens", "InnoDB", "utf8mb4_bin"),
        ("schema_migrations", "InnoDB", "utf8mb4_bin"),
        ("sleep_records", "InnoDB", "utf8mb4_bin"),
        ("users", "InnoDB", "utf8mb4_bin"),
    )


def test_migrate_refuses_a_database_name_it_cannot_quote(settings):
    # Port 1 is closed: reaching for the server would raise the subclass.
    bad = with_mysql(settings, database="x`; DROP DATABASE y", port=1)

    with pytest.raises(StorageError) as caught:
        migrate(bad)

    assert type(caught.value) is StorageError
    assert caught.value.message == (
        "The MySQL database name 'x`; DROP DATABASE y' may hold only letters, "
        "digits and underscores."
    )


def test_rows_keep_the_utc_instant_and_the_offset_sent(mysql_store, settings, admin):
    stored, _ = mysql_store.save(
        record("2024-05-01T23:10:00.5+03:00", "2024-05-02T07:05:30-04:30")
    )

    rows = query(
        admin,
        f"SELECT start_utc, start_offset, end_utc, end_offset "
        f"FROM `{settings.mysql.database}`.sleep_records WHERE id = %s",
        (stored.id,),
    )

    assert rows == (
        (
            datetime(2024, 5, 1, 20, 10, 0, 500000),
            10800,
            datetime(2024, 5, 2, 11, 35, 30),
            -16200,
        ),
    )


@pytest.mark.parametrize("record_id", [0, -1, 2**64, "1", 1.0, True, None])
def test_ids_that_name_no_row(mysql_store, record_id):
    mysql_store.save(record("2024-05-01T23:00:00Z", "2024-05-02T07:00:00Z"))

    with pytest.raises(NotFoundError):
        mysql_store.get(record_id)
    assert mysql_store.delete(record_id) is False
    assert mysql_store.count() == 1


def test_a_killed_connection_is_replaced_without_restart(
    mysql_store, settings, admin, caplog
):
    # Other tests' stores (of users, say) may keep idle connections open.
    others = store_connections(admin, settings)
    stored, _ = mysql_store.save(record("2024-05-01T23:00:00Z", "2024-05-02T07:00:00Z"))
    killed = store_connections(admin, settings) - others
    for connection_id in killed:
        query(admin, "KILL %s", (connection_id,))

    with caplog.at_level(logging.WARNING, logger="sleeplog.storage.mysql_store"):
        again = mysql_store.get(stored.id)
    replacement = store_connections(admin, settings) - others

    assert len(killed) == 1
    assert again == stored
    assert len(replacement) == 1 and replacement.isdisjoint(killed)
    assert [r.getMessage() for r in caplog.records] == [
        "Discarding a broken MySQL connection (OperationalError 2013)"
    ]


def test_a_killed_connection_does_not_lose_a_write(mysql_store, settings, admin):
    mysql_store.save(record("2024-05-01T23:00:00Z", "2024-05-02T07:00:00Z"))
    for connection_id in store_connections(admin, settings):
        query(admin, "KILL %s", (connection_id,))

    stored, created = mysql_store.save(
        record("2024-05-02T23:00:00Z", "2024-05-03T07:00:00Z")
    )

    assert created is True
    assert mysql_store.get(stored.id) == stored
    assert mysql_store.count() == 2


@pytest.mark.parametrize("operation", ["save", "page", "check"])
def test_a_closed_port_is_unavailable_within_the_connect_timeout(settings, operation):
    down = with_mysql(settings, port=1, connect_timeout=0.5, password="pw-xyzzy-42")
    store = MySQLRecordStore(down)  # the service starts while MySQL is down
    calls = {
        "save": lambda: store.save(
            record("2024-05-01T23:00:00Z", "2024-05-02T07:00:00Z")
        ),
        "page": lambda: store.page(owner="alice"),
        "check": store.check,
    }

    started = time.monotonic()
    with pytest.raises(StorageUnavailableError) as caught:
        calls[operation]()
    waited = time.monotonic() - started
    store.close()

    assert waited < 1.5
    assert caught.value.message == (
        "MySQL is unavailable: it cannot be reached (error 2003)."
    )
    assert "pw-xyzzy-42" not in str(caught.value)
    assert isinstance(caught.value.__cause__, pymysql.err.OperationalError)


def test_a_full_pool_answers_busy_after_the_wait(mysql_store, settings):
    small = MySQLRecordStore(with_mysql(settings, pool_size=1, connect_timeout=0.5))
    stored, _ = small.save(record("2024-05-01T23:00:00Z", "2024-05-02T07:00:00Z"))
    locker, watcher = _mysql_admin(settings), _mysql_admin(settings)
    counted = {}
    # The lock holds the pool's one connection inside count() until released.
    worker = threading.Thread(target=lambda: counted.update(total=small.count()))

    query(locker, f"LOCK TABLES `{settings.mysql.database}`.sleep_records WRITE")
    try:
        worker.start()
        _wait_for_a_lock_wait(watcher, settings)
        started = time.monotonic()
        with pytest.raises(StorageUnavailableError) as caught:
            small.get(stored.id)
        waited = time.monotonic() - started
    finally:
        query(locker, "UNLOCK TABLES")
        worker.join(10)
        for connection in (locker, watcher):
            connection.close()
        small.close()

    assert caught.value.message == (
        "MySQL is busy: no connection came free within 0.5 s."
    )
    assert 0.45 <= waited < 1.5
    assert counted == {"total": 1}


def test_save_many_writes_2500_records_once(mysql_store):
    records = [
        SleepRecord(
            owner="alice",
            start=BASE + timedelta(hours=hour),
            end=BASE + timedelta(hours=hour, minutes=30),
        )
        for hour in range(2500)
    ]

    assert mysql_store.save_many(records) == 2500
    assert mysql_store.save_many(iter(records)) == 0
    assert mysql_store.count() == 2500
    last = mysql_store.page(start_from=BASE + timedelta(hours=2499))
    assert [r.start for r in last] == [datetime(2020, 4, 14, 3, tzinfo=timezone.utc)]


def _lost_by_timeout():
    exc = pymysql.err.OperationalError(2013, "Lost connection (timed out)")
    exc.__context__ = socket.timeout("timed out")
    return exc


@pytest.mark.parametrize(
    ("exc", "kind", "message"),
    [
        (
            pymysql.err.OperationalError(2003, "Can't connect to MySQL on 'db'"),
            StorageUnavailableError,
            "MySQL is unavailable: it cannot be reached (error 2003).",
        ),
        (
            pymysql.err.OperationalError(1045, "Access denied for user 'root'"),
            StorageUnavailableError,
            "MySQL is unavailable: the login was refused (error 1045).",
        ),
        (
            pymysql.err.OperationalError(1049, "Unknown database 'x'"),
            StorageUnavailableError,
            "MySQL is unavailable: the database does not exist (error 1049).",
        ),
        (
            pymysql.err.OperationalError(1040, "Too many connections"),
            StorageUnavailableError,
            "MySQL is unavailable: it has too many connections (error 1040).",
        ),
        (
            pymysql.err.OperationalError(1205, "Lock wait timeout exceeded"),
            StorageUnavailableError,
            "MySQL is unavailable: a lock wait timed out (error 1205).",
        ),
        (
            pymysql.err.OperationalError(2006, "MySQL server has gone away"),
            StorageUnavailableError,
            "MySQL is unavailable: the connection was lost (error 2006).",
        ),
        (
            _lost_by_timeout(),
            StorageUnavailableError,
            "MySQL is unavailable: it did not answer in time (error 2013).",
        ),
        (
            pymysql.err.InterfaceError(0, ""),
            StorageUnavailableError,
            "MySQL is unavailable: the connection was lost.",
        ),
        (
            socket.timeout("timed out"),
            StorageUnavailableError,
            "MySQL is unavailable: it did not answer in time.",
        ),
        (
            pymysql.err.DataError(1406, "Data too long for column 'note'"),
            StorageError,
            "MySQL refused the operation (error 1406).",
        ),
        (
            pymysql.err.OperationalError(1054, "Unknown column 'x'"),
            StorageError,
            "MySQL refused the operation (error 1054).",
        ),
    ],
)
def test_driver_errors_become_ours(exc, kind, message):
    error = _storage_error(exc)

    assert type(error) is kind
    assert error.message == message


def _wait_for_a_lock_wait(watcher, settings):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        waiting = query(
            watcher,
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
            "WHERE DB = %s AND STATE LIKE 'Waiting for table%%'",
            (settings.mysql.database,),
        )
        if waiting[0][0]:
            return
        time.sleep(0.02)
    raise AssertionError("count() never started waiting for the table lock")
