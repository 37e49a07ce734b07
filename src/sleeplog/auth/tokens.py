"""Session tokens: itsdangerous timed signatures over ``{uid, ver, jti}``.

A token is ``URLSafeTimedSerializer(secret_keys).dumps(payload)``: the payload
in URL-safe base64, the time it was signed, and an HMAC over both. It is
signed, not encrypted: anyone holding one can read the user id, the token
version and the token id, and nothing else is in it.

- ``uid`` is the user's id;
- ``ver`` is the user's token version when the token was issued: a password
  change, logout-all or disabling bumps the version, which ends every token
  issued before;
- ``jti`` is 32 random hex digits naming this token, so logout can deny it
  until it would have expired anyway.

Keys. ``secret_keys`` is a list, oldest first: the newest (last) signs and
every one verifies, so a key can be rotated by appending a new one and, one
token lifetime later, dropping the old. Expiry is checked on every read
(``max_age``), against the same clock that signed.

CSRF. A browser session keeps its token in an HttpOnly cookie; a request that
changes something must also send :meth:`TokenSigner.csrf_token` of its token
id in a header. That value is an HMAC of the token id, so the server keeps no
state for it and a script on another site cannot compute it.
"""

import base64
import dataclasses
import hashlib
import hmac
import re
import secrets
import time
from datetime import datetime, timezone

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner

from sleeplog.errors import AuthenticationError

#: Keeps session tokens apart from anything else signed with the same keys.
SALT = "sleeplog.session"
_CSRF_CONTEXT = b"sleeplog.csrf:"

#: What a token may look like: URL-safe base64 parts joined by dots (a leading
#: dot marks a compressed payload).
TOKEN_PATTERN = re.compile(r"\.?[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+){2}", re.ASCII)
MAX_TOKEN_LENGTH = 512
_TOKEN_ID = re.compile(r"[0-9a-f]{32}", re.ASCII)

INVALID = "The token is not valid; log in again."
EXPIRED = "The token has expired; log in again."


@dataclasses.dataclass(frozen=True)
class Claims:
    """What a verified token says, and when it stops being valid."""

    user_id: int
    token_version: int
    token_id: str
    issued_at: datetime
    expires_at: datetime


class _ClockedSigner(TimestampSigner):
    """itsdangerous's timestamp signer, reading the time from ``clock``."""

    def __init__(self, *args, clock=time.time, **kwargs):
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self):
        """The current time from ``clock``, in whole seconds."""
        return int(self._clock())


class TokenSigner:
    """Issues and reads session tokens with rotating keys.

    ``secret_keys`` is a non-empty list of strings, oldest first; the last
    signs. ``lifetime`` is in seconds. ``clock`` returns the time as a Unix
    timestamp; tests pass one in the past to make expired tokens.
    """

    def __init__(self, secret_keys, lifetime, clock=time.time):
        keys = list(secret_keys)
        if not keys:
            raise ValueError("at least one secret key is needed")

        self.lifetime = int(lifetime)
        self._keys = [key.encode("utf-8") for key in keys]
        self._clock = clock
        self._serializer = URLSafeTimedSerializer(
            keys, salt=SALT, signer=_ClockedSigner, signer_kwargs={"clock": clock}
        )

    def issue(self, user_id, token_version):
        """A new token for the user; returns ``(token, Claims)``."""
        token_id = secrets.token_hex(16)
        payload = {"uid": user_id, "ver": token_version, "jti": token_id}
        token = self._serializer.dumps(payload)
        # The signer truncates the time to whole seconds; so does the claim.
        issued = datetime.fromtimestamp(int(self._clock()), timezone.utc)
        return token, self._claims(payload, issued)

    def read(self, token):
        """The :class:`Claims` of a valid, unexpired token.

        Raises :class:`AuthenticationError` for anything else: malformed,
        tampered, signed with an unknown key, expired or signed in the future.
        Which of these it was is not told beyond "expired" or "not valid".
        """
        if (
            not isinstance(token, str)
            or len(token) > MAX_TOKEN_LENGTH
            or not TOKEN_PATTERN.fullmatch(token)
        ):
            raise AuthenticationError(INVALID)

        try:
            payload, issued = self._serializer.loads(
                token, max_age=self.lifetime, return_timestamp=True
            )
        except SignatureExpired:
            raise AuthenticationError(EXPIRED) from None
        except (BadData, ValueError, TypeError):
            raise AuthenticationError(INVALID) from None

        if not _well_formed(payload):
            raise AuthenticationError(INVALID)
        return self._claims(payload, issued)

    def csrf_token(self, token_id):
        """What a cookie session sends in ``X-CSRF-Token``; made with the newest key."""
        return _csrf(self._keys[-1], token_id)

    def check_csrf(self, token_id, value):
        """Whether ``value`` is the CSRF token of ``token_id`` under any key."""
        if not isinstance(value, str) or not value.isascii():
            return False
        return any(
            hmac.compare_digest(_csrf(key, token_id), value) for key in self._keys
        )

    def _claims(self, payload, issued):
        expires = datetime.fromtimestamp(
            issued.timestamp() + self.lifetime, timezone.utc
        )
        return Claims(
            user_id=payload["uid"],
            token_version=payload["ver"],
            token_id=payload["jti"],
            issued_at=issued,
            expires_at=expires,
        )


def _well_formed(payload):
    if not isinstance(payload, dict) or set(payload) != {"uid", "ver", "jti"}:
        return False

    numbers = (payload["uid"], payload["ver"])
    if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in numbers):
        return False
    return isinstance(payload["jti"], str) and bool(_TOKEN_ID.fullmatch(payload["jti"]))


def _csrf(key, token_id):
    digest = hmac.new(key, _CSRF_CONTEXT + token_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
