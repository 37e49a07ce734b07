"""Hashing and checking passwords with argon2id, through argon2-cffi.

Rules. A password is a string of 8 to 1024 characters, counted after NFKC
normalisation (so the same password typed on two keyboards is one password).
The upper limit is checked on the text as sent, before anything else, so a
huge password costs no hashing at all.

Cost. The production cost is ``[auth] argon2_memory_kib``,
``argon2_time_cost`` and ``argon2_parallelism`` (the OWASP minimum: 19 MiB,
2 passes, 1 lane, about 0.12 s on a 2-core machine). Tests configure a much
lower cost to stay fast.

Timing. :meth:`PasswordHasher.verify_nobody` checks a password against a hash
of a random password made with the same cost, so refusing an unknown
nickname takes as long as refusing a wrong password.
"""

import secrets
import unicodedata

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from sleeplog.errors import ValidationError

MIN_LENGTH = 8
MAX_LENGTH = 1024


def normalize_password(value, field="password", check_minimum=True):
    """Return the NFKC form of ``value`` if it may be a password.

    Raises :class:`ValidationError` naming ``field`` for a value that is not
    a string, is longer than :data:`MAX_LENGTH` (checked first, on the raw
    text), is shorter than :data:`MIN_LENGTH` (unless ``check_minimum`` is
    false: a login accepts what was once allowed), or cannot be encoded as
    UTF-8. The message never repeats the value.
    """
    if not isinstance(value, str):
        raise ValidationError.of_field(field, "must be a string")
    if len(value) > MAX_LENGTH:
        raise ValidationError.of_field(
            field, f"must be at most {MAX_LENGTH} characters long"
        )

    password = unicodedata.normalize("NFKC", value)
    if len(password) > MAX_LENGTH:
        raise ValidationError.of_field(
            field, f"must be at most {MAX_LENGTH} characters long"
        )
    if check_minimum and len(password) < MIN_LENGTH:
        raise ValidationError.of_field(
            field, f"must be at least {MIN_LENGTH} characters long"
        )
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError.of_field(field, "is not valid Unicode text") from None
    return password


class PasswordHasher:
    """argon2id hashing at one cost, with a stand-in hash for unknown users.

    Safe to share between threads. Building one hashes a random password
    once, to make the stand-in.
    """

    def __init__(self, memory_kib, time_cost, parallelism=1):
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        self._nobody = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password):
        """The argon2id hash of ``password``, an already normalized string."""
        return self._hasher.hash(password)

    def verify(self, password_hash, password):
        """Whether ``password`` matches ``password_hash``; never raises for a mismatch.

        A hash that cannot be read counts as a mismatch.
        """
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def verify_nobody(self, password):
        """Spend as long as :meth:`verify` does, and return False.

        Called for a nickname nobody has, so that refusal takes as long as
        refusing a wrong password.
        """
        self.verify(self._nobody, password)
        return False

    def needs_rehash(self, password_hash):
        """Whether ``password_hash`` was made at another cost than this one's."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
