"""Sleep records in MySQL 8.0+ or MariaDB 10.11, through PyMySQL.

Schema. ``migrate`` applies the numbered SQL files in ``migrations/`` once
each, in order, and records them in ``schema_migrations``. Table
``sleep_records`` keeps each instant as a naive UTC ``DATETIME(6)`` (MariaDB
refuses literals with an offset) and the offset it was sent with, in seconds,
in a column beside it, so a record reads back the way it was written. Rows are
paged by ``(start_utc, id)``, which has an index of its own and one per owner.

Idempotency. ``UNIQUE (owner, start_utc, end_utc)`` is the span key. ``save``
sends ``INSERT ... ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)``: a new
row counts as one affected row, a duplicate as none (PyMySQL does not ask for
found rows), and either way the insert id names the stored row. Every
statement here is a read or such an idempotent write, so any may be sent again
when the first answer was lost.

Pool. At most ``pool_size`` connections, opened lazily, so the service starts
while MySQL is down and ``check`` reports it. A caller waits at most
``connect_timeout`` for a free one. A connection that fails with an
``OperationalError`` or ``InterfaceError`` is closed, never reused. An idle
connection may have been dropped by the server, so a lost connection that came
from the pool is retried once on a new one; so is a deadlock.

Errors. ``_storage_error`` is the one mapping from driver exceptions to ours:
unreachable, lost, overloaded or refusing servers become
``StorageUnavailableError``, anything else ``StorageError``. Messages name the
error number, never the driver's text, and no driver exception leaves here.
"""

import functools
import importlib.resources
import itertools
import logging
import re
import socket
import threading
from datetime import datetime, timezone

import pymysql

from sleeplog.errors import NotFoundError, StorageError, StorageUnavailableError
from sleeplog.models import SleepRecord
from sleeplog.storage.base import RecordStore, earliest_start
from sleeplog.timestamps import from_utc, offset_seconds, utc_naive

logger = logging.getLogger(__name__)

_INIT_COMMAND = (
    "SET sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,"
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'"
)

_COLUMNS = (
    "id, owner, start_utc, start_offset, end_utc, end_offset, timezone, source, "
    "note, client, created_at"
)
_INSERT = (
    "INSERT INTO sleep_records (owner, start_utc, start_offset, end_utc, "
    "end_offset, timezone, source, note, client, created_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_INSERT_ONE = _INSERT + " ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)"
# PyMySQL's executemany turns this into multi-row INSERTs (split near 1 MB).
_INSERT_MANY = _INSERT + " ON DUPLICATE KEY UPDATE id = id"
_SELECT_ONE = f"SELECT {_COLUMNS} FROM sleep_records WHERE id = %s"

_BATCH_SIZE = 1000
_MAX_ID = 2**64 - 1

_MIGRATE_LOCK = "sleeplog.migrate"
_MIGRATION_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql", re.ASCII)
_STATEMENT_END = re.compile(r";[ \t]*$", re.MULTILINE)
_DATABASE_NAME = re.compile(r"[A-Za-z0-9_]+", re.ASCII)

#: Server and client error numbers that mean "MySQL is unavailable".
_UNAVAILABLE = {
    1040: "it has too many connections",
    1044: "access to the database was refused",
    1045: "the login was refused",
    1049: "the database does not exist",
    1053: "it is shutting down",
    1130: "this host may not connect",
    1205: "a lock wait timed out",
    1290: "it is read-only",
    1927: "the connection was killed",
    2003: "it cannot be reached",
    2006: "the connection was lost",
    2013: "the connection was lost",
    2055: "the connection was lost",
    4031: "it closed an idle connection",
}
#: Of those, the ones after which the statement may be sent again.
_CONNECTION_LOST = {1927, 2006, 2013, 2055, 4031}
_DEADLOCK = 1213

# The server refused one statement; the connection itself is still sound.
_STATEMENT_ERRORS = (
    pymysql.err.DataError,
    pymysql.err.IntegrityError,
    pymysql.err.ProgrammingError,
    pymysql.err.NotSupportedError,
)


#: Seconds a migration statement may take before start-up gives up.
MIGRATE_TIMEOUT = 120


class MySQLRecordStore(RecordStore):
    """Sleep records in one MySQL or MariaDB database, shared by threads.

    Reads ``settings.mysql``. The schema must exist: run :func:`migrate` first.
    """

    def __init__(self, settings):
        self._settings = settings
        self._pool = connection_pool(settings)

    def save(self, record):
        """Store ``record`` unless its span key is stored; see ``RecordStore``."""
        values = _row_values(record, _utc_now())

        def insert(cursor):
            # Three tries: the duplicate found may be deleted before the SELECT.
            for _ in range(3):
                cursor.execute(_INSERT_ONE, values)
                if cursor.rowcount == 1:
                    return _record_from_row((cursor.lastrowid, *values)), True

                cursor.execute(_SELECT_ONE, (cursor.lastrowid,))
                row = cursor.fetchone()
                if row is not None:
                    return _record_from_row(row), False

            raise StorageError("The record kept changing while it was saved.")

        return self._run(insert)

    def save_many(self, records):
        """Store records in multi-row batches of 1000; return how many were new.

        A batch whose answer was lost is sent again, and its rows that the lost
        attempt stored then count as not new.
        """
        rows = iter(records)
        created = 0
        while True:
            batch = list(itertools.islice(rows, _BATCH_SIZE))
            if not batch:
                return created

            now = _datetime_text(_utc_now())
            values = [_row_texts(record, now) for record in batch]
            created += self._run(functools.partial(_insert_many, values))

    def get(self, record_id):
        """Return the record with ``record_id``; raise ``NotFoundError`` if none."""
        row = None
        if _is_id(record_id):
            row = self._run(functools.partial(_fetch_one, _SELECT_ONE, (record_id,)))

        if row is None:
            raise NotFoundError(f"There is no record {record_id}.")
        return _record_from_row(row)

    def delete(self, record_id):
        """Remove the record with ``record_id``; return whether it existed.

        When the first answer is lost and the delete is sent again, the result
        is ``False`` even though this call removed the record.
        """
        if not _is_id(record_id):
            return False

        def remove(cursor):
            return cursor.execute(
                "DELETE FROM sleep_records WHERE id = %s", (record_id,)
            )

        return self._run(remove) == 1

    def page(
        self, *, owner=None, start_from=None, start_to=None, after=None, limit=500
    ):
        """Return at most ``limit`` records in store order; see ``RecordStore``."""
        limit = int(limit)
        if limit <= 0:
            return []

        conditions, params = [], []
        if owner is not None:
            conditions.append("owner = %s")
            params.append(owner)
        if start_from is not None:
            conditions.append("start_utc >= %s AND end_utc > %s")
            params += [earliest_start(start_from), utc_naive(start_from)]
        if start_to is not None:
            conditions.append("start_utc < %s")
            params.append(utc_naive(start_to))
        if after is not None:
            start, record_id = after
            if start.tzinfo is not None:
                start = utc_naive(start)
            conditions.append("(start_utc > %s OR (start_utc = %s AND id > %s))")
            params += [start, start, record_id]

        where = " AND ".join(conditions) or "TRUE"
        sql = (
            f"SELECT {_COLUMNS} FROM sleep_records WHERE {where} "
            "ORDER BY start_utc, id LIMIT %s"
        )
        params.append(limit)

        def select(cursor):
            cursor.execute(sql, params)
            return cursor.fetchall()

        return [_record_from_row(row) for row in self._run(select)]

    def count(self, owner=None):
        """How many records there are, of everybody or of ``owner``."""
        if owner is None:
            query = ("SELECT COUNT(*) FROM sleep_records", ())
        else:
            query = ("SELECT COUNT(*) FROM sleep_records WHERE owner = %s", (owner,))

        (total,) = self._run(functools.partial(_fetch_one, *query))
        return total

    def check(self):
        """Raise ``StorageUnavailableError`` unless MySQL answers and takes writes."""
        (read_only,) = self._run(
            functools.partial(_fetch_one, "SELECT @@global.read_only", ())
        )
        if read_only:
            raise StorageUnavailableError("MySQL is unavailable: it is read-only.")

    def prepare(self):
        """Create the database and apply pending migrations: :func:`migrate`."""
        migrate(self._settings)

    def close(self):
        """Close every idle connection; the store is not used afterwards."""
        self._pool.close()

    def _run(self, work):
        """Call ``work(cursor)`` on a pooled connection and return its result."""
        return self._pool.run(work)


def connection_pool(settings):
    """A pool of connections to the database of ``settings.mysql``.

    Its ``run(work)`` calls ``work(cursor)`` on a pooled connection; see the
    module doc for its rules. Nothing connects until the first ``run``.
    """
    mysql = settings.mysql
    connect = functools.partial(
        _connect, mysql, database=mysql.database, read_timeout=mysql.read_timeout
    )
    return _ConnectionPool(connect, mysql.pool_size, mysql.connect_timeout)


class _ConnectionPool:
    """At most ``size`` connections, made by ``connect`` when first needed.

    A semaphore counts the connections in use; idle ones wait in a list. The
    idle and the used together never number more than ``size``.
    """

    def __init__(self, connect, size, wait):
        self._connect = connect
        self._size = size
        self._wait = wait
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle = []
        self._closed = False

    def acquire(self, fresh=False):
        """Return ``(connection, reused)``; ``fresh`` skips idle connections."""
        if not self._slots.acquire(timeout=self._wait):
            raise StorageUnavailableError(
                f"MySQL is busy: no connection came free within {self._wait:g} s."
            )

        with self._lock:
            stale = self._idle.pop(0) if fresh and self._idle else None
            connection = None if fresh or not self._idle else self._idle.pop()
        if stale is not None:
            stale.close()
        if connection is not None:
            return connection, True

        try:
            return self._connect(), False
        except BaseException:
            self._slots.release()
            raise

    def release(self, connection):
        """Give back a sound connection for reuse."""
        with self._lock:
            keep = not self._closed
            if keep:
                self._idle.append(connection)
        if not keep:
            connection.close()
        self._slots.release()

    def discard(self, connection, exc):
        """Close a connection that failed with ``exc`` instead of reusing it."""
        logger.warning("Discarding a broken MySQL connection (%s)", _describe(exc))
        try:
            connection.close()
        finally:
            self._slots.release()

    def run(self, work):
        """Call ``work(cursor)`` on a pooled connection and return its result.

        A connection that fails is discarded; a lost reused one or a deadlock
        is retried once on a fresh connection. Driver exceptions leave as
        ``StorageError`` or ``StorageUnavailableError``.
        """
        retried = False
        while True:
            connection, reused = self.acquire(fresh=retried)
            try:
                with connection.cursor() as cursor:
                    result = work(cursor)
            except _STATEMENT_ERRORS as exc:
                self.release(connection)
                raise _storage_error(exc) from exc
            except StorageError:
                self.release(connection)
                raise
            except BaseException as exc:
                self.discard(connection, exc)
                if not retried and _worth_retrying(exc, reused):
                    retried = True
                    continue
                if isinstance(exc, (pymysql.err.Error, OSError)):
                    raise _storage_error(exc) from exc
                raise

            self.release(connection)
            return result

    def close(self):
        """Close the idle connections; ones in use close when released."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


def migrate(settings):
    """Create the database if missing and apply the migrations it lacks.

    Each file ``migrations/NNNN_name.sql`` is applied once, in order of
    ``NNNN``, and recorded in ``schema_migrations``; returns the versions
    applied by this call. ``GET_LOCK`` keeps two processes from migrating at
    once. DDL commits as it goes, so a file that fails half-way stays half
    applied and unrecorded. Statements may run long, so no read timeout applies.
    """
    database = settings.mysql.database
    if not _DATABASE_NAME.fullmatch(database):
        raise StorageError(
            f"The MySQL database name {database!r} may hold only letters, "
            "digits and underscores."
        )
    migrations = _migrations()

    # Long enough for GET_LOCK and DDL, short enough that a stalled server
    # stops start-up instead of hanging it (the greeting waits this long too).
    connection = _connect(settings.mysql, database=None, read_timeout=MIGRATE_TIMEOUT)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE DATABASE IF NOT EXISTS `{database}` "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            )
            connection.select_db(database)
            _lock_migrations(cursor)
            applied = _apply(cursor, migrations)
            # Closing the session frees the lock as well, so a failure above
            # needs no RELEASE_LOCK of its own.
            cursor.execute("SELECT RELEASE_LOCK(%s)", (_MIGRATE_LOCK,))
    except (pymysql.err.Error, OSError) as exc:
        raise _storage_error(exc) from exc
    finally:
        connection.close()

    return applied


def _lock_migrations(cursor):
    cursor.execute("SELECT GET_LOCK(%s, 30)", (_MIGRATE_LOCK,))
    (locked,) = cursor.fetchone()
    if locked != 1:
        raise StorageUnavailableError(
            "MySQL is unavailable: another process is migrating the schema."
        )


def _apply(cursor, migrations):
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INT NOT NULL PRIMARY KEY, "
        "name VARCHAR(200) NOT NULL, "
        "applied_at DATETIME(6) NOT NULL"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
    )
    cursor.execute("SELECT version FROM schema_migrations")
    done = {version for (version,) in cursor.fetchall()}

    applied = []
    for version, name, statements in migrations:
        if version in done:
            continue

        for statement in statements:
            cursor.execute(statement)
        cursor.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) "
            "VALUES (%s, %s, %s)",
            (version, name, _utc_now()),
        )
        applied.append(version)
    return applied


def _migrations():
    """The migration files as ``(version, name, statements)``, in order."""
    folder = importlib.resources.files(__package__) / "migrations"
    migrations = []
    try:
        for entry in folder.iterdir():
            if not entry.name.endswith(".sql"):
                continue

            match = _MIGRATION_NAME.fullmatch(entry.name)
            if match is None:
                raise StorageError(
                    f"The migration {entry.name} is not named like "
                    "0001_what_it_does.sql."
                )
            text = entry.read_text(encoding="utf-8")
            migrations.append((int(match.group(1)), entry.name, _statements(text)))
    except (OSError, UnicodeDecodeError) as exc:
        raise StorageError(f"The MySQL migrations cannot be read: {exc}") from exc

    migrations.sort()
    versions = [version for version, _, _ in migrations]
    if len(set(versions)) != len(versions):
        raise StorageError("Two MySQL migrations share a version number.")
    return migrations


def _statements(text):
    """Drop whole-line comments, then split at every ``;`` that ends a line."""
    lines = text.splitlines()
    code = "\n".join(
        line for line in lines if not line.lstrip().startswith(("--", "#"))
    )
    parts = (part.strip() for part in _STATEMENT_END.split(code))
    return [part for part in parts if part]


def _connect(mysql, *, database, read_timeout):
    """Open one connection with our session settings, or raise one of ours."""
    try:
        return pymysql.connect(
            host=mysql.host,
            port=mysql.port,
            user=mysql.user,
            password=mysql.password,
            database=database,
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=mysql.connect_timeout,
            read_timeout=read_timeout,
            write_timeout=mysql.write_timeout,
            init_command=_INIT_COMMAND,
        )
    except (pymysql.err.Error, OSError) as exc:
        raise _storage_error(exc) from exc


def _storage_error(exc):
    """The one translation of a driver or socket exception into ours."""
    code = _error_code(exc)
    if _timed_out(exc):
        reason = "it did not answer in time"
    elif isinstance(exc, pymysql.err.InterfaceError):
        reason = "the connection was lost"
    elif isinstance(exc, OSError):
        reason = "the connection failed"
    else:
        reason = _UNAVAILABLE.get(code)

    suffix = f" (error {code})" if code else ""
    if reason is None:
        return StorageError(f"MySQL refused the operation{suffix}.")
    return StorageUnavailableError(f"MySQL is unavailable: {reason}{suffix}.")


def _worth_retrying(exc, reused):
    code = _error_code(exc)
    if isinstance(exc, pymysql.err.OperationalError) and code == _DEADLOCK:
        return True

    # A timeout means a slow server, not a stale connection: waiting again
    # would only double the wait.
    lost = isinstance(exc, pymysql.err.InterfaceError) or (
        isinstance(exc, pymysql.err.OperationalError) and code in _CONNECTION_LOST
    )
    return reused and lost and not _timed_out(exc)


def _timed_out(exc):
    # PyMySQL raises its 2013 while handling the socket's timeout.
    return isinstance(exc, socket.timeout) or isinstance(
        exc.__context__, socket.timeout
    )


def _error_code(exc):
    args = exc.args if isinstance(exc, pymysql.err.Error) else ()
    return args[0] if args and isinstance(args[0], int) else None


def _describe(exc):
    code = _error_code(exc)
    name = type(exc).__name__
    return name if code is None else f"{name} {code}"


def _insert_many(values, cursor):
    return cursor.executemany(_INSERT_MANY, values)


def _fetch_one(sql, params, cursor):
    cursor.execute(sql, params)
    return cursor.fetchone()


def _is_id(record_id):
    return (
        isinstance(record_id, int)
        and not isinstance(record_id, bool)
        and 0 <= record_id <= _MAX_ID
    )


def _utc_now():
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _row_values(record, created_at):
    """The INSERT parameters for ``record``; ``created_at`` is naive UTC."""
    return (
        record.owner,
        utc_naive(record.start),
        offset_seconds(record.start),
        utc_naive(record.end),
        offset_seconds(record.end),
        record.timezone,
        record.source,
        record.note,
        record.client,
        created_at,
    )


def _row_texts(record, created_at):
    """``_row_values`` with each datetime as the text PyMySQL would send for it.

    PyMySQL formats a ``datetime`` field by field for every row; ``isoformat``
    writes the same literal faster, and ``created_at`` (already such text) is
    written once per batch, not once per row.
    """
    start, end = record.start, record.end
    return (
        record.owner,
        _datetime_text(utc_naive(start)),
        offset_seconds(start),
        _datetime_text(utc_naive(end)),
        offset_seconds(end),
        record.timezone,
        record.source,
        record.note,
        record.client,
        created_at,
    )


def _datetime_text(naive):
    """``YYYY-MM-DD HH:MM:SS[.ffffff]``, as PyMySQL writes a naive ``datetime``."""
    return naive.isoformat(" ")


def _record_from_row(row):
    """A ``SleepRecord`` from a row in ``_COLUMNS`` order."""
    (
        record_id,
        owner,
        start_utc,
        start_offset,
        end_utc,
        end_offset,
        zone,
        source,
        note,
        client,
        created_at,
    ) = row
    return SleepRecord(
        owner=owner,
        start=from_utc(start_utc, start_offset),
        end=from_utc(end_utc, end_offset),
        timezone=zone,
        source=source,
        note=note,
        client=client,
        id=record_id,
        created_at=created_at.replace(tzinfo=timezone.utc),
    )
