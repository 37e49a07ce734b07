"""Managing users: ``GET /api/users``, ``GET`` and ``PATCH /api/users/<id>``.

Listing needs ``users:read``; changing a role or the disabled flag needs
``users:manage``, and then :func:`~sleeplog.auth.roles.check_user_change`
decides which users and roles the caller may touch.
"""

from bottle import request

from sleeplog.errors import NotFoundError
from sleeplog.web.accounts import account_json
from sleeplog.web.audit import note
from sleeplog.web.bodies import read_json
from sleeplog.web.context import current
from sleeplog.web.params import query_int
from sleeplog.web.responses import json_response

MAX_PAGE = 1000
DEFAULT_PAGE = 100
_MAX_ID = 2**63 - 1


def install(app):
    """Add the user-management routes to ``app``."""
    app.route("/api/users", "GET", list_users, permission="users:read")
    app.route("/api/users/<user_id>", "GET", get_user, permission="users:read")
    app.route("/api/users/<user_id>", "PATCH", change_user, permission="users:manage")


def list_users():
    """Users by id; ``limit`` (default 100) and ``after`` (an id) page them."""
    limit = query_int("limit", 1, MAX_PAGE) or DEFAULT_PAGE
    after = query_int("after", 0, _MAX_ID) or 0

    users = current("accounts").list_users(after=after, limit=limit + 1)
    headers = {}
    if len(users) > limit:
        users = users[:limit]
        following = f"/api/users?limit={limit}&after={users[-1].id}"
        headers = {"Link": f'<{following}>; rel="next"'}
    note(request.environ, summary={"items": len(users)})
    return json_response([account_json(user) for user in users], headers=headers)


def get_user(user_id):
    """One user by id."""
    user = current("accounts").get_user(_user_id(user_id))
    return json_response(account_json(user))


def change_user(user, user_id):
    """Change a user's role or disabled flag: 200 with the user as it is now."""
    target_id = _user_id(user_id)
    payload = read_json(request.environ, current("settings").server.max_body_bytes)
    note(
        request.environ,
        data=_visible(payload),
    )
    accounts = current("accounts")

    before = accounts.get_user(target_id)
    updated = accounts.change_user(user, target_id, payload)
    note(
        request.environ,
        summary={"id": updated.id, "role": updated.role, "disabled": updated.disabled},
        undo=lambda: accounts.restore(before),
    )
    return json_response(account_json(updated))


def _visible(payload):
    """What an audit entry shows of a change: the role (cut short) and the flag."""
    shown = {}
    if isinstance(payload.get("role"), str):
        shown["role"] = payload["role"][:32]
    if isinstance(payload.get("disabled"), bool):
        shown["disabled"] = payload["disabled"]
    return shown


def _user_id(text):
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        raise NotFoundError(f"There is no user {text!r}.")
    return int(text)
