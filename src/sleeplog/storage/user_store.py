"""User accounts and revoked tokens in MySQL 8.0+ or MariaDB 10.11.

Schema: migration ``0002_create_users.sql``, applied by
:func:`~sleeplog.storage.mysql_store.migrate` with the rest. Connections,
retries and the mapping of driver errors are those of ``mysql_store``: this
store runs its statements through the same kind of pool.

Revocations live here, in ``revoked_tokens``, rather than in Redis: every
authenticated request then needs one MySQL round trip (the user's row and
whether the token is revoked, in one query), and a revocation survives a
restart of a Redis kept without persistence. Rows stay until the token would
have expired; each logout deletes up to 100 rows past that.

Idempotency. Every statement may be sent again when its answer was lost,
except that a token version may then be bumped twice, which only ends the
same sessions again. A user whose insert answer was lost is recognised by its
password hash (salted, so it names one insert) and returned as created.

Locking. :meth:`MySQLUserStore.change` runs in one transaction that first
locks every active superuser (``FOR UPDATE``, in id order), then the actor and
the target, and only then decides. Two superusers demoting each other at once
are thus served one after the other, and the second sees that it would remove
the last one.
"""

import functools
from datetime import datetime, timezone

import pymysql

from sleeplog.auth.roles import SUPERUSER
from sleeplog.auth.users import User
from sleeplog.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    SleeplogError,
    StorageError,
)
from sleeplog.storage.mysql_store import connection_pool, migrate

_COLUMNS = (
    "id, nickname, role, timezone, disabled, token_version, created_at, password_hash"
)
_SELECT_BY_ID = f"SELECT {_COLUMNS} FROM users WHERE id = %s"
_SELECT_BY_KEY = f"SELECT {_COLUMNS} FROM users WHERE nickname_key = %s"
_INSERT = (
    "INSERT INTO users (nickname, nickname_key, password_hash, role, timezone, "
    "disabled, token_version, created_at) VALUES (%s, %s, %s, %s, %s, FALSE, 0, %s)"
)
_SESSION = (
    f"SELECT {_COLUMNS}, "
    "EXISTS (SELECT 1 FROM revoked_tokens WHERE token_id = %s) "
    "FROM users WHERE id = %s"
)

_DUPLICATE_KEY = 1062
_MAX_ID = 2**64 - 1
_PURGE_BATCH = 100


class MySQLUserStore:
    """Users and revoked tokens in the database of ``settings.mysql``.

    Safe to share between threads. Nothing connects until first used, and
    :meth:`prepare` creates or migrates the schema.
    """

    def __init__(self, settings):
        self._settings = settings
        self._pool = connection_pool(settings)

    def create(self, nickname, key, password_hash, role, timezone_name):
        """Add a user and return it as a :class:`User`.

        ``key`` is :func:`~sleeplog.auth.users.nickname_key` of ``nickname``.
        Raises :class:`ConflictError` when another user has that key.
        """
        values = (nickname, key, password_hash, role, timezone_name, _utc_now())

        def insert(cursor):
            try:
                cursor.execute(_INSERT, values)
            except pymysql.err.IntegrityError as exc:
                if exc.args[0] != _DUPLICATE_KEY:
                    raise
                row = _fetch_one(_SELECT_BY_KEY, (key,), cursor)
                mine = row is not None and row[-1] == password_hash
                return row if mine else None

            return _fetch_one(_SELECT_BY_ID, (cursor.lastrowid,), cursor)

        row = self._pool.run(insert)
        if row is None:
            raise ConflictError(
                "That nickname is taken.",
                [{"field": "nickname", "message": "is taken"}],
            )
        return _user(row)

    def get(self, user_id):
        """The user with ``user_id``; raises :class:`NotFoundError` if none."""
        row = None
        if _is_id(user_id):
            query = functools.partial(_fetch_one, _SELECT_BY_ID, (user_id,))
            row = self._pool.run(query)

        if row is None:
            raise NotFoundError(f"There is no user {user_id}.")
        return _user(row)

    def find(self, key):
        """The user whose nickname key is ``key``, with its hash; else ``None``."""
        row = self._pool.run(functools.partial(_fetch_one, _SELECT_BY_KEY, (key,)))
        return None if row is None else _user(row)

    def session(self, user_id, token_id):
        """``(user, revoked)`` for a token's user id and token id, in one query.

        ``user`` is ``None`` when no such user exists.
        """
        if not _is_id(user_id):
            return None, False

        query = functools.partial(_fetch_one, _SESSION, (token_id, user_id))
        row = self._pool.run(query)
        if row is None:
            return None, False
        return _user(row[:-1]), bool(row[-1])

    def page(self, after=0, limit=100):
        """At most ``limit`` users with ids above ``after``, by id."""
        sql = f"SELECT {_COLUMNS} FROM users WHERE id > %s ORDER BY id LIMIT %s"

        def select(cursor):
            cursor.execute(sql, (after, int(limit)))
            return cursor.fetchall()

        return [_user(row) for row in self._pool.run(select)]

    def set_timezone(self, user_id, timezone_name):
        """Change the user's time zone; returns the user as it is now."""
        return self._update(user_id, "timezone = %s", (timezone_name,))

    def set_password(self, user_id, password_hash):
        """Store a new hash and bump the token version, ending every session.

        Returns the user as it is now, so a new token can carry the version.
        """
        return self._update(
            user_id,
            "password_hash = %s, token_version = token_version + 1",
            (password_hash,),
        )

    def rehash(self, user_id, old_hash, new_hash):
        """Replace ``old_hash`` by ``new_hash`` (same password, new cost).

        Changes nothing if the hash was changed meanwhile; sessions go on.
        """

        def update(cursor):
            cursor.execute(
                "UPDATE users SET password_hash = %s WHERE id = %s "
                "AND password_hash = %s",
                (new_hash, user_id, old_hash),
            )

        self._pool.run(update)

    def bump_token_version(self, user_id):
        """End every session of the user; returns the user as it is now."""
        return self._update(user_id, "token_version = token_version + 1", ())

    def revoke(self, token_id, expires_at):
        """Deny ``token_id`` until ``expires_at`` (aware), and purge old denials."""
        now = _utc_now()

        def insert(cursor):
            cursor.execute(
                "INSERT INTO revoked_tokens (token_id, expires_at) VALUES (%s, %s) "
                "ON DUPLICATE KEY UPDATE token_id = token_id",
                (token_id, _naive_utc(expires_at)),
            )
            cursor.execute(
                "DELETE FROM revoked_tokens WHERE expires_at < %s LIMIT %s",
                (now, _PURGE_BATCH),
            )

        self._pool.run(insert)

    def change(self, actor_id, target_id, changes, decide):
        """Apply ``changes`` (``role``, ``disabled``) to a user, if ``decide`` agrees.

        In one transaction: lock the active superusers, the actor and the
        target, then call ``decide(actor, target, changes, active_superusers)``,
        which raises to refuse. Disabling bumps the token version. Returns the
        target as it is now. Raises :class:`NotFoundError` for an unknown
        target and :class:`AuthenticationError` when the actor is gone or
        disabled.
        """
        if not _is_id(target_id):
            raise NotFoundError(f"There is no user {target_id}.")

        def work(cursor):
            cursor.execute(
                "SELECT id FROM users WHERE role = %s AND disabled = FALSE "
                "ORDER BY id FOR UPDATE",
                (SUPERUSER,),
            )
            active = frozenset(user_id for (user_id,) in cursor.fetchall())
            cursor.execute(
                f"SELECT {_COLUMNS} FROM users WHERE id IN (%s, %s) "
                "ORDER BY id FOR UPDATE",
                (actor_id, target_id),
            )
            users = {row[0]: _user(row) for row in cursor.fetchall()}
            actor, target = users.get(actor_id), users.get(target_id)
            if actor is None or actor.disabled:
                raise AuthenticationError("Your account is gone or disabled.")
            if target is None:
                raise NotFoundError(f"There is no user {target_id}.")

            decide(actor, target, changes, active)
            role = changes.get("role", target.role)
            disabled = changes.get("disabled", target.disabled)
            bump = 1 if disabled and not target.disabled else 0
            cursor.execute(
                "UPDATE users SET role = %s, disabled = %s, "
                "token_version = token_version + %s WHERE id = %s",
                (role, disabled, bump, target_id),
            )
            return _fetch_one(_SELECT_BY_ID, (target_id,), cursor)

        return _user(self._transaction(work))

    def restore(self, user):
        """Put back the role, flag, time zone and hash ``user`` holds.

        Undoes a change whose audit entry could not be written; the token
        version is left alone, so sessions that ended stay ended. Returns
        the user as it is now.
        """
        return self._update(
            user.id,
            "role = %s, disabled = %s, timezone = %s, password_hash = %s",
            (user.role, user.disabled, user.timezone, user.password_hash),
        )

    def delete(self, user_id):
        """Remove the user with ``user_id``; returns whether it existed."""
        if not _is_id(user_id):
            return False

        def remove(cursor):
            return cursor.execute("DELETE FROM users WHERE id = %s", (user_id,))

        return self._pool.run(remove) == 1

    def promote(self, key):
        """Make the user with nickname key ``key`` an active superuser.

        Keeps the password. Returns the user; raises :class:`NotFoundError`
        when nobody has that key.
        """

        def update(cursor):
            cursor.execute(
                "UPDATE users SET role = %s, disabled = FALSE WHERE nickname_key = %s",
                (SUPERUSER, key),
            )
            return _fetch_one(_SELECT_BY_KEY, (key,), cursor)

        row = self._pool.run(update)
        if row is None:
            raise NotFoundError("There is no user with that nickname.")
        return _user(row)

    def check(self):
        """Raise ``StorageUnavailableError`` unless the users table answers."""
        self._pool.run(functools.partial(_fetch_one, "SELECT 1 FROM users LIMIT 1", ()))

    def prepare(self):
        """Create the database and apply pending migrations."""
        migrate(self._settings)

    def close(self):
        """Close every idle connection; the store is not used afterwards."""
        self._pool.close()

    def _update(self, user_id, assignments, params):
        if not _is_id(user_id):
            raise NotFoundError(f"There is no user {user_id}.")

        def update(cursor):
            cursor.execute(
                f"UPDATE users SET {assignments} WHERE id = %s", (*params, user_id)
            )
            return _fetch_one(_SELECT_BY_ID, (user_id,), cursor)

        row = self._pool.run(update)
        if row is None:
            raise NotFoundError(f"There is no user {user_id}.")
        return _user(row)

    def _transaction(self, work):
        """Run ``work(cursor)`` in a transaction; our refusals roll it back."""
        outcome = self._pool.run(functools.partial(_in_transaction, work))
        if isinstance(outcome, _Refusal):
            raise outcome.error
        return outcome


class _Refusal:
    """A sleeplog error raised inside a transaction, carried out of the pool.

    Raising it inside would make the pool take the connection for broken.
    """

    def __init__(self, error):
        self.error = error


def _in_transaction(work, cursor):
    connection = cursor.connection
    connection.begin()
    try:
        result = work(cursor)
    except StorageError:
        _roll_back(connection)
        raise
    except SleeplogError as exc:
        connection.rollback()
        return _Refusal(exc)
    except BaseException:
        _roll_back(connection)
        raise
    connection.commit()
    return result


def _roll_back(connection):
    try:
        connection.rollback()
    except (pymysql.err.Error, OSError):
        # The connection is broken; the pool discards it and the server rolls
        # the transaction back when it notices. The first error is the one to
        # report.
        return


def _fetch_one(sql, params, cursor):
    cursor.execute(sql, params)
    return cursor.fetchone()


def _user(row):
    """A :class:`User` from a row in ``_COLUMNS`` order."""
    user_id, nickname, role, zone, disabled, version, created, password_hash = row
    return User(
        id=user_id,
        nickname=nickname,
        role=role,
        timezone=zone,
        disabled=bool(disabled),
        token_version=version,
        created_at=created.replace(tzinfo=timezone.utc),
        password_hash=password_hash,
    )


def _is_id(user_id):
    return (
        isinstance(user_id, int)
        and not isinstance(user_id, bool)
        and 0 < user_id <= _MAX_ID
    )


def _naive_utc(moment):
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _utc_now():
    return datetime.now(timezone.utc).replace(tzinfo=None)
