"""Accounts: registering, logging in and out, sessions, and managing users.

:class:`Accounts` holds the rules; its stores and its signer are passed in.
``users`` is a :class:`~sleeplog.storage.user_store.MySQLUserStore` or any
object with its methods, ``throttle`` a
:class:`~sleeplog.storage.throttle_store.RedisLoginThrottle` or the like.

Each method takes the client's JSON object as it came and refuses, with a
:class:`~sleeplog.errors.ValidationError` naming them, fields it does not
take: a ``role`` sent to register is refused, not ignored.

Logins are throttled per nickname and client address: after
``login_max_failures`` failures within ``login_failure_window`` seconds of
the first, every attempt is refused with :class:`ThrottledError` until the
window ends, before any password is checked. A nickname nobody has is
refused after the same work as a wrong password, with the same message.
"""

import time

from sleeplog.auth.passwords import PasswordHasher, normalize_password
from sleeplog.auth.roles import ROLES, SUPERUSER, check_user_change
from sleeplog.auth.tokens import TokenSigner
from sleeplog.auth.users import nickname_key, validate_nickname, validate_timezone
from sleeplog.errors import (
    AuthenticationError,
    PermissionDeniedError,
    ThrottledError,
    ValidationError,
)

WRONG_LOGIN = "The nickname or the password is wrong."
SESSION_ENDED = "The session has ended; log in again."


class Accounts:
    """The account rules over a user store, a login throttle and a token signer.

    ``config`` is ``settings.auth``. Safe to share between threads.
    """

    def __init__(self, config, users, throttle, signer, hasher):
        self.config = config
        self.users = users
        self.throttle = throttle
        self.signer = signer
        self.hasher = hasher

    @classmethod
    def from_settings(cls, settings, users, throttle, clock=time.time):
        """Build the signer and the hasher that ``settings.auth`` describes."""
        config = settings.auth
        signer = TokenSigner(config.secret_keys, config.token_lifetime, clock=clock)
        return cls(config, users, throttle, signer, make_hasher(config))

    def register(self, payload):
        """Create a user with the default role; returns the :class:`User`.

        ``payload`` holds ``nickname``, ``password`` and optionally
        ``timezone`` (else ``[auth] default_timezone``). Raises
        :class:`ValidationError` for a bad or unknown field and
        :class:`ConflictError` for a taken nickname.
        """
        _only(payload, ("nickname", "password", "timezone"), ("nickname", "password"))
        nickname = validate_nickname(payload["nickname"])
        password = normalize_password(payload["password"])
        zone = payload.get("timezone")
        zone = self.config.default_timezone if zone is None else validate_timezone(zone)

        return self.users.create(
            nickname,
            nickname_key(nickname),
            self.hasher.hash(password),
            self.config.default_role,
            zone,
        )

    def login(self, payload, client):
        """Check ``nickname`` and ``password`` from ``client`` (an address).

        Returns ``(user, token, claims)``. Raises :class:`ThrottledError`
        while the pair is throttled and :class:`AuthenticationError` for a
        wrong nickname, a wrong password or a disabled account, all alike.
        """
        _only(payload, ("nickname", "password", "cookie"), ("nickname", "password"))
        nickname = validate_nickname(payload["nickname"])
        password = normalize_password(payload["password"], check_minimum=False)
        key = nickname_key(nickname)
        # Every attempt counts before the password is checked, and a success
        # forgets them: attempts sent in parallel cannot slip past the limit.
        self._count_attempt(key, client)

        user = self.users.find(key)
        if user is None:
            matched = self.hasher.verify_nobody(password)
        else:
            matched = self.hasher.verify(user.password_hash, password)
        if not matched or user.disabled:
            raise AuthenticationError(WRONG_LOGIN)

        self.throttle.clear(key, client)
        if self.hasher.needs_rehash(user.password_hash):
            self.users.rehash(user.id, user.password_hash, self.hasher.hash(password))
        token, claims = self.signer.issue(user.id, user.token_version)
        return user, token, claims

    def authenticate(self, token):
        """``(user, claims)`` for a token that is valid now.

        Raises :class:`AuthenticationError` when the token is malformed,
        tampered with, signed with an unknown key, expired, revoked, older
        than the user's token version, or its user is gone or disabled.
        """
        claims = self.signer.read(token)
        user, revoked = self.users.session(claims.user_id, claims.token_id)
        if (
            user is None
            or user.disabled
            or revoked
            or user.token_version != claims.token_version
        ):
            raise AuthenticationError(SESSION_ENDED)
        return user, claims

    def logout(self, claims):
        """Deny this token until it would have expired anyway."""
        self.users.revoke(claims.token_id, claims.expires_at)

    def logout_all(self, user):
        """End every session of ``user`` by bumping its token version."""
        return self.users.bump_token_version(user.id)

    def update_me(self, user, payload):
        """Change the caller's own ``timezone``; returns the user as it is now."""
        _only(payload, ("timezone",), ("timezone",))
        return self.users.set_timezone(user.id, validate_timezone(payload["timezone"]))

    def change_password(self, user, payload, client):
        """Replace the caller's password, given the current one.

        Every session ends, this one too; returns ``(user, token, claims)``
        with a fresh token. A wrong ``current_password`` raises
        :class:`PermissionDeniedError` and counts as a failed login.
        """
        fields = ("current_password", "new_password")
        _only(payload, fields, fields)
        current = normalize_password(
            payload["current_password"], "current_password", check_minimum=False
        )
        new = normalize_password(payload["new_password"], "new_password")
        key = nickname_key(user.nickname)
        self._refuse_if_throttled(key, client)

        if not self.hasher.verify(user.password_hash, current):
            self._count_failure(key, client)
            raise PermissionDeniedError("The current password is wrong.")

        self.throttle.clear(key, client)
        updated = self.users.set_password(user.id, self.hasher.hash(new))
        token, claims = self.signer.issue(updated.id, updated.token_version)
        return updated, token, claims

    def list_users(self, after=0, limit=100):
        """At most ``limit`` users with ids above ``after``, by id."""
        return self.users.page(after=after, limit=limit)

    def get_user(self, user_id):
        """The user with ``user_id``; raises :class:`NotFoundError` if none."""
        return self.users.get(user_id)

    def change_user(self, actor, target_id, payload):
        """Apply ``role`` and/or ``disabled`` from ``payload`` to a user.

        The rules are :func:`~sleeplog.auth.roles.check_user_change`'s,
        applied while the rows are locked. Returns the user as it is now.
        """
        _only(payload, ("role", "disabled"), ())
        if not payload:
            raise ValidationError(
                "Send role, disabled or both.",
                [{"field": None, "message": "nothing to change"}],
            )

        changes = {}
        if "role" in payload:
            if not isinstance(payload["role"], str) or payload["role"] not in ROLES:
                raise ValidationError.of_field(
                    "role", "must be one of " + ", ".join(ROLES)
                )
            changes["role"] = payload["role"]
        if "disabled" in payload:
            if not isinstance(payload["disabled"], bool):
                raise ValidationError.of_field("disabled", "must be true or false")
            changes["disabled"] = payload["disabled"]

        return self.users.change(actor.id, target_id, changes, check_user_change)

    def restore(self, user):
        """Put back ``user``'s role, flag, time zone and hash: undo a change.

        Sessions that the change ended stay ended.
        """
        return self.users.restore(user)

    def delete_user(self, user):
        """Remove ``user``: undo a registration whose audit entry was lost."""
        self.users.delete(user.id)

    def create_superuser(self, nickname, password):
        """Create an active superuser with the default time zone."""
        nickname = validate_nickname(nickname)
        password = normalize_password(password)
        return self.users.create(
            nickname,
            nickname_key(nickname),
            self.hasher.hash(password),
            SUPERUSER,
            self.config.default_timezone,
        )

    def promote(self, nickname):
        """Make the existing user ``nickname`` an active superuser."""
        return self.users.promote(nickname_key(nickname))

    def check(self):
        """Raise ``StorageUnavailableError`` unless both stores answer."""
        self.users.check()
        self.throttle.check()

    def close(self):
        """Close both stores."""
        self.users.close()
        self.throttle.close()

    def _refuse_if_throttled(self, key, client):
        count, seconds_left = self.throttle.failures(key, client)
        if count >= self.config.login_max_failures:
            raise ThrottledError(
                f"Too many failed logins; try again in {seconds_left} s.", seconds_left
            )

    def _count_attempt(self, key, client):
        window = self.config.login_failure_window
        attempts = self.throttle.record_failure(key, client, window)
        if attempts > self.config.login_max_failures:
            _, seconds_left = self.throttle.failures(key, client)
            raise ThrottledError(
                f"Too many failed logins; try again in {seconds_left} s.", seconds_left
            )

    def _count_failure(self, key, client):
        self.throttle.record_failure(key, client, self.config.login_failure_window)


def make_hasher(config):
    """The :class:`PasswordHasher` at the argon2 cost of ``settings.auth``."""
    return PasswordHasher(
        config.argon2_memory_kib, config.argon2_time_cost, config.argon2_parallelism
    )


def _only(payload, allowed, required):
    """Refuse fields outside ``allowed`` and missing ``required`` ones."""
    problems = [
        {"field": name, "message": "may not be set here"}
        for name in sorted(set(payload) - set(allowed))
    ]
    problems += [
        {"field": name, "message": "is required"}
        for name in required
        if payload.get(name) is None
    ]
    if problems:
        fields = ", ".join(p["field"] for p in problems)
        raise ValidationError(f"The request is not valid: {fields}.", problems)
