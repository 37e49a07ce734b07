"""The account routes: register, log in and out, and the caller's own account.

``POST /api/auth/register`` and ``POST /api/auth/login`` are open to
everyone; the rest need a valid token. No audit entry ever holds a password
or a token: ``data`` keeps the nickname (and the time zone) only.
"""

from bottle import HTTPResponse, request

from sleeplog.errors import ValidationError
from sleeplog.timestamps import format_timestamp
from sleeplog.web.audit import note
from sleeplog.web.bodies import read_json
from sleeplog.web.context import current
from sleeplog.web.responses import json_response
from sleeplog.web.sessions import (
    COOKIE,
    clear_session_cookies,
    set_session_cookies,
)


def install(app):
    """Add the account routes to ``app``."""
    app.route("/api/auth/register", "POST", register, auth=False)
    app.route("/api/auth/login", "POST", login, auth=False)
    app.route("/api/auth/logout", "POST", logout, permission="account:self")
    app.route("/api/auth/logout-all", "POST", logout_all, permission="account:self")
    app.route("/api/me", "GET", read_me, permission="account:self")
    app.route("/api/me", "PATCH", update_me, permission="account:self")
    app.route("/api/me/password", "POST", change_password, permission="account:self")


def register():
    """Create an account with the default role: 201 with the account."""
    payload = _read_body()
    note(request.environ, data=_visible(payload, "nickname", "timezone"))
    accounts = current("accounts")

    user = accounts.register(payload)
    note(
        request.environ,
        user=user.reference(),
        summary={"id": user.id},
        undo=lambda: accounts.delete_user(user),
    )
    body = account_json(user)
    return json_response(body, status=201, headers={"Location": "/api/me"})


def login():
    """Check nickname and password: 200 with a token, or a cookie if asked."""
    payload = _read_body()
    note(request.environ, data=_visible(payload, "nickname"))
    use_cookie = payload.get("cookie", False)
    if not isinstance(use_cookie, bool):
        raise ValidationError(
            "The cookie field is not valid.",
            [{"field": "cookie", "message": "must be true or false"}],
        )

    accounts = current("accounts")
    user, token, claims = accounts.login(payload, request.environ["sleeplog.client"])
    note(
        request.environ,
        user=user.reference(),
        summary={"token_id": claims.token_id, "cookie": use_cookie},
    )
    return _token_response(user, token, claims, use_cookie)


def logout(session):
    """Revoke this token until it would expire anyway: 204, cookies cleared."""
    current("accounts").logout(session.claims)
    note(request.environ, summary={"token_id": session.claims.token_id})
    return _cleared()


def logout_all(user):
    """End every session of the caller: 204, cookies cleared."""
    updated = current("accounts").logout_all(user)
    note(request.environ, summary={"token_version": updated.token_version})
    return _cleared()


def read_me(user):
    """The caller's account, role and permissions."""
    return json_response(account_json(user))


def update_me(user):
    """Change the caller's time zone: 200 with the account."""
    payload = _read_body()
    note(request.environ, data=_visible(payload, "timezone"))
    accounts = current("accounts")

    updated = accounts.update_me(user, payload)
    note(request.environ, undo=lambda: accounts.restore(user))
    return json_response(account_json(updated))


def change_password(session):
    """Replace the caller's password; every session ends, a new token is sent."""
    payload = _read_body()
    accounts = current("accounts")
    user = session.user

    updated, token, claims = accounts.change_password(
        user, payload, request.environ["sleeplog.client"]
    )
    note(
        request.environ,
        summary={"token_id": claims.token_id},
        undo=lambda: accounts.restore(user),
    )
    return _token_response(updated, token, claims, session.via == COOKIE)


def _read_body():
    return read_json(request.environ, current("settings").server.max_body_bytes)


def _visible(payload, *names):
    """The fields of ``payload`` an audit entry may show: short strings only."""
    return {
        name: payload[name][:64] for name in names if isinstance(payload.get(name), str)
    }


def account_json(user):
    """The account as the API shows it: the user, with its permissions."""
    body = user.to_json()
    body["permissions"] = sorted(user.permissions)
    return body


def _token_response(user, token, claims, use_cookie):
    """The answer to a login: the token in the body, or in a cookie."""
    accounts = current("accounts")
    body = {
        "token_type": "Bearer",
        "token": token,
        "expires_at": format_timestamp(claims.expires_at),
        "user": account_json(user),
    }
    if not use_cookie:
        return json_response(body)

    csrf_token = accounts.signer.csrf_token(claims.token_id)
    # A script may read the body; the token stays in the HttpOnly cookie.
    body.update(token_type="cookie", token=None, csrf_token=csrf_token)
    response = json_response(body)
    set_session_cookies(
        response,
        token,
        csrf_token,
        accounts.signer.lifetime,
        accounts.config.cookie_secure,
    )
    return response


def _cleared():
    response = HTTPResponse(status=204)
    clear_session_cookies(response, current("accounts").config.cookie_secure)
    return response
