"""Where a request's credentials come from, and the browser session's cookies.

An API client sends ``Authorization: Bearer <token>``. A browser that logged
in with ``{"cookie": true}`` holds the token in the ``sleeplog_session``
cookie (HttpOnly, SameSite=Strict, Path=/, Secure when ``[auth]
cookie_secure``) and the CSRF token in the readable ``sleeplog_csrf`` cookie;
a request authenticated by the cookie that may change something must repeat
the CSRF token in ``X-CSRF-Token``. A request that sends both uses the
Authorization header and needs no CSRF header: a page on another site cannot
set that header without the browser asking first.
"""

import dataclasses

from bottle import request

from sleeplog.auth.tokens import Claims
from sleeplog.auth.users import User
from sleeplog.errors import AuthenticationError, PermissionDeniedError
from sleeplog.web.audit import SAFE_METHODS

SESSION_COOKIE = "sleeplog_session"
CSRF_COOKIE = "sleeplog_csrf"
CSRF_HEADER = "X-CSRF-Token"

BEARER = "bearer"
COOKIE = "cookie"


@dataclasses.dataclass(frozen=True)
class Session:
    """Who is asking (``user``), by which token, sent how (``via``)."""

    user: User
    claims: Claims
    via: str


def credentials():
    """The current request's ``(token, via)``: its header, else its cookie.

    Raises :class:`AuthenticationError` when there are none, or the header
    is not ``Bearer`` followed by one token.
    """
    header = request.environ.get("HTTP_AUTHORIZATION")
    if header is not None:
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise AuthenticationError(
                "Send the token as 'Authorization: Bearer <token>'."
            )
        return token, BEARER

    token = request.get_cookie(SESSION_COOKIE)
    if token:
        return token, COOKIE

    raise AuthenticationError(
        "Log in first, and send the token as 'Authorization: Bearer <token>'.",
        credentials_sent=False,
    )


def check_csrf(environ, session, signer):
    """Refuse a change made through the session cookie without its CSRF token."""
    if session.via != COOKIE or environ.get("REQUEST_METHOD") in SAFE_METHODS:
        return

    sent = environ.get("HTTP_X_CSRF_TOKEN", "")
    if not signer.check_csrf(session.claims.token_id, sent):
        raise PermissionDeniedError(
            f"A change made with the session cookie needs the {CSRF_HEADER} "
            "header that login returned."
        )


def set_session_cookies(response, token, csrf_token, lifetime, secure):
    """Put the token and the CSRF token in cookies on ``response``."""
    common = {"path": "/", "samesite": "Strict", "max_age": lifetime}
    if secure:
        common["secure"] = True
    response.set_cookie(SESSION_COOKIE, token, httponly=True, **common)
    response.set_cookie(CSRF_COOKIE, csrf_token, **common)


def clear_session_cookies(response, secure):
    """Tell the browser to forget both cookies."""
    common = {"path": "/", "samesite": "Strict"}
    if secure:
        common["secure"] = True
    response.delete_cookie(SESSION_COOKIE, httponly=True, **common)
    response.delete_cookie(CSRF_COOKIE, **common)
