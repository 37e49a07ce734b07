"""The access matrix: every route, against every role, on its own and others' data.

Each row names a route and what the caller does there, and the status each
role must get, worked out by hand from the roles table in
``sleeplog.auth.roles``. An anonymous caller gets 401 on every route but the
open ones. ``own`` rows act on the caller's own records or account, ``other``
rows on another user's.
"""

import collections
import json
from datetime import timedelta

import pytest

from auth_helpers import new_password
from helpers import log_entries, night
from sleeplog.models import SleepRecord
from sleeplog.storage.mysql_store import MySQLRecordStore
from sleeplog.storage.redis_store import RedisRecordStore
from sleeplog.timestamps import parse_timestamp

ROLES = ("viewer", "user", "analyst", "admin", "superuser")
ANONYMOUS = "anonymous"


def _statuses(viewer, user, analyst, admin, superuser, anonymous=401):
    return dict(
        zip((*ROLES, ANONYMOUS), (viewer, user, analyst, admin, superuser, anonymous))
    )


Case = collections.namedtuple("Case", "method path body expected")

#: name -> Case. ``path`` and ``body`` are functions of the World and caller.
CASES = {
    "create own record in mysql": Case(
        "POST",
        lambda w, me: "/api/mysql/records",
        lambda w, me: night(),
        _statuses(403, 201, 201, 201, 201),
    ),
    "create own record in redis": Case(
        "POST",
        lambda w, me: "/api/redis/records",
        lambda w, me: night(),
        _statuses(403, 201, 201, 201, 201),
    ),
    "list records in mysql": Case(
        "GET",
        lambda w, me: "/api/mysql/records",
        None,
        _statuses(200, 200, 200, 200, 200),
    ),
    "list records in redis": Case(
        "GET",
        lambda w, me: "/api/redis/records",
        None,
        _statuses(200, 200, 200, 200, 200),
    ),
    "get own record in mysql": Case(
        "GET",
        lambda w, me: w.record_url(me, "mysql"),
        None,
        _statuses(200, 200, 200, 200, 200),
    ),
    "get own record in redis": Case(
        "GET",
        lambda w, me: w.record_url(me, "redis"),
        None,
        _statuses(200, 200, 200, 200, 200),
    ),
    "get other's record in mysql": Case(
        "GET",
        lambda w, me: w.record_url(w.other, "mysql"),
        None,
        _statuses(404, 404, 200, 200, 200),
    ),
    "get other's record in redis": Case(
        "GET",
        lambda w, me: w.record_url(w.other, "redis"),
        None,
        _statuses(404, 404, 200, 200, 200),
    ),
    "import own records": Case(
        "POST",
        lambda w, me: "/api/mysql/imports",
        None,
        # 400: allowed in, then refused for its empty body.
        _statuses(403, 400, 400, 400, 400),
    ),
    "read log.json": Case(
        "GET",
        lambda w, me: "/api/log",
        None,
        _statuses(403, 403, 403, 200, 200),
    ),
    "list users": Case(
        "GET",
        lambda w, me: "/api/users",
        None,
        _statuses(403, 403, 403, 200, 200),
    ),
    "get own user": Case(
        "GET",
        lambda w, me: f"/api/users/{me.id}",
        None,
        _statuses(403, 403, 403, 200, 200),
    ),
    "get other user": Case(
        "GET",
        lambda w, me: f"/api/users/{w.other.id}",
        None,
        _statuses(403, 403, 403, 200, 200),
    ),
    "lower other user's role": Case(
        "PATCH",
        lambda w, me: f"/api/users/{w.other.id}",
        lambda w, me: {"role": "viewer"},
        _statuses(403, 403, 403, 200, 200),
    ),
    "disable other user": Case(
        "PATCH",
        lambda w, me: f"/api/users/{w.other.id}",
        lambda w, me: {"disabled": True},
        _statuses(403, 403, 403, 200, 200),
    ),
    "lower other admin's role": Case(
        "PATCH",
        lambda w, me: f"/api/users/{w.peer_admin.id}",
        lambda w, me: {"role": "user"},
        _statuses(403, 403, 403, 403, 200),
    ),
    "raise other user to admin": Case(
        "PATCH",
        lambda w, me: f"/api/users/{w.other.id}",
        lambda w, me: {"role": "admin"},
        _statuses(403, 403, 403, 403, 200),
    ),
    "raise own role": Case(
        "PATCH",
        lambda w, me: f"/api/users/{me.id}",
        lambda w, me: {"role": w.above(me)},
        # Nobody may; the superuser's "raise" keeps the role it has.
        _statuses(403, 403, 403, 403, 200),
    ),
    "lower own role": Case(
        "PATCH",
        lambda w, me: f"/api/users/{me.id}",
        lambda w, me: {"role": "viewer"},
        # The only superuser may not demote itself.
        _statuses(403, 403, 403, 403, 409),
    ),
    "disable self": Case(
        "PATCH",
        lambda w, me: f"/api/users/{me.id}",
        lambda w, me: {"disabled": True},
        _statuses(403, 403, 403, 403, 409),
    ),
    "read own account": Case(
        "GET",
        lambda w, me: "/api/me",
        None,
        _statuses(200, 200, 200, 200, 200),
    ),
    "change own time zone": Case(
        "PATCH",
        lambda w, me: "/api/me",
        lambda w, me: {"timezone": "Europe/Berlin"},
        _statuses(200, 200, 200, 200, 200),
    ),
    "change own password": Case(
        "POST",
        lambda w, me: "/api/me/password",
        lambda w, me: {
            "current_password": me.password,
            "new_password": "n3w-" + me.password,
        },
        _statuses(200, 200, 200, 200, 200),
    ),
    "log out": Case(
        "POST",
        lambda w, me: "/api/auth/logout",
        None,
        _statuses(204, 204, 204, 204, 204),
    ),
    "log out everywhere": Case(
        "POST",
        lambda w, me: "/api/auth/logout-all",
        None,
        _statuses(204, 204, 204, 204, 204),
    ),
    "register": Case(
        "POST",
        lambda w, me: "/api/auth/register",
        lambda w, me: {"nickname": w.fresh_nickname(), "password": w.password()},
        _statuses(201, 201, 201, 201, 201, anonymous=201),
    ),
    "log in": Case(
        "POST",
        lambda w, me: "/api/auth/login",
        lambda w, me: {"nickname": w.other.user.nickname, "password": w.other.password},
        _statuses(200, 200, 200, 200, 200, anonymous=200),
    ),
    "livez": Case(
        "GET",
        lambda w, me: "/livez",
        None,
        _statuses(200, 200, 200, 200, 200, anonymous=200),
    ),
    "readyz": Case(
        "GET",
        lambda w, me: "/readyz",
        None,
        _statuses(200, 200, 200, 200, 200, anonymous=200),
    ),
}

OPEN = {"register", "log in", "livez", "readyz"}


class World:
    """The caller (of one role), another user and another admin, with records."""

    def __init__(self, auth, stores, role):
        self.registry = auth.registry
        self.me = None if role == ANONYMOUS else auth.user(role)
        self.other = auth.user("user")
        self.peer_admin = auth.user("admin")
        self.anonymous = auth.anonymous()
        self.records = {}
        self._nicknames = 0
        start = parse_timestamp("2024-05-01T23:00:00+03:00")
        owners = [self.other] if self.me is None else [self.me, self.other]
        for number, account in enumerate(owners):
            for name in ("mysql", "redis"):
                begins = start - timedelta(days=number + 1)
                record = SleepRecord(
                    owner=account.owner, start=begins, end=begins + timedelta(hours=7)
                )
                stored, _ = stores[name].save(record)
                self.records[account.id, name] = stored.id

    def record_url(self, account, store):
        return f"/api/{store}/records/{self.records[account.id, store]}"

    def above(self, account):
        """The role right above the account's, or its own at the top."""
        rank = ROLES.index(account.user.role)
        return ROLES[min(rank + 1, len(ROLES) - 1)]

    def password(self):
        return new_password(self.registry)

    def fresh_nickname(self):
        self._nicknames += 1
        return f"fresh-{self._nicknames}"


@pytest.fixture(scope="module")
def _module_mysql(settings, mysql_admin):
    # Connecting to MySQL costs tens of milliseconds, and this module runs
    # nearly two hundred tests: its MySQL store lives as long as the module.
    store = MySQLRecordStore(settings)
    store.name = "mysql"
    yield store
    store.close()


@pytest.fixture()
def stores(settings, _module_mysql, mysql_admin, fresh_redis_prefix):
    """MySQL emptied, and Redis under a prefix of the test's own."""
    with mysql_admin.cursor() as cursor:
        cursor.execute(f"DELETE FROM `{settings.mysql.database}`.sleep_records")
    redis = RedisRecordStore(fresh_redis_prefix)
    redis.name = "redis"
    yield {"mysql": _module_mysql, "redis": redis}
    redis.close()


@pytest.mark.parametrize("role", (*ROLES, ANONYMOUS))
@pytest.mark.parametrize("name", list(CASES))
def test_access_matrix(auth, stores, audit_log, name, role):
    case = CASES[name]
    world = World(auth, stores, role)
    me = world.me
    client = world.anonymous if me is None else me.client
    # An anonymous caller acts as if on the other user's data.
    subject = world.other if me is None else me
    path = case.path(world, subject)
    body = None if case.body is None else case.body(world, subject)

    if body is None:
        response = client.request(path, method=case.method, expect_errors=True)
    else:
        response = client.request(
            path,
            method=case.method,
            body=json.dumps(body).encode(),
            content_type="application/json",
            expect_errors=True,
        )
    if response.content_type == "application/json" and "token" in response.json:
        world.registry.add(response.json["token"])

    expected = case.expected[role]
    assert response.status_int == expected, response.text
    entry = log_entries(audit_log)[-1]
    if expected == 401:
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="sleeplog"'
        assert entry["user"] is None
    elif name not in OPEN:
        assert entry["user"] == {"id": me.id, "nickname": me.user.nickname}
