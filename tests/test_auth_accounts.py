"""Registering, logging in, the caller's own account, and managing users."""

import copy
import statistics
import threading
import time

import pytest

from auth_helpers import new_password
from helpers import NOW, log_entries, make_client
from sleeplog.auth.passwords import MAX_LENGTH, PasswordHasher
from sleeplog.auth.roles import check_user_change
from sleeplog.services.accounts import Accounts
from sleeplog.storage.throttle_store import RedisLoginThrottle
from sleeplog.storage.user_store import MySQLUserStore
from sleeplog.web.app import create_app


@pytest.fixture()
def password(secret_registry):
    return new_password(secret_registry)


def register(client, nickname, password, **fields):
    return client.post_json(
        "/api/auth/register",
        {"nickname": nickname, "password": password, **fields},
        expect_errors=True,
    )


def login(client, nickname, password, registry, **fields):
    response = client.post_json(
        "/api/auth/login",
        {"nickname": nickname, "password": password, **fields},
        expect_errors=True,
    )
    if response.status_int == 200 and response.json["token"]:
        registry.add(response.json["token"])
    return response


def test_register_then_log_in(anonymous, password, secret_registry, audit_log):
    created = register(anonymous, "Ada", password, timezone="Europe/Moscow")
    answer = login(anonymous, "ada", password, secret_registry)

    assert created.status_int == 201
    assert created.headers["Location"] == "/api/me"
    assert created.json["nickname"] == "Ada"
    assert created.json["role"] == "user"
    assert created.json["timezone"] == "Europe/Moscow"
    assert created.json["disabled"] is False
    assert created.json["permissions"] == [
        "account:self",
        "records:read",
        "records:write",
    ]
    assert "password_hash" not in created.json and "password" not in created.json
    assert answer.status_int == 200
    assert answer.json["token_type"] == "Bearer"
    assert answer.json["user"]["id"] == created.json["id"]
    assert answer.json["expires_at"].endswith("Z")
    entries = log_entries(audit_log)
    assert [e["data"] for e in entries] == [
        {"nickname": "Ada", "timezone": "Europe/Moscow"},
        {"nickname": "ada"},
    ]
    assert entries[1]["user"] == {"id": created.json["id"], "nickname": "Ada"}


def test_the_default_time_zone_comes_from_the_configuration(anonymous, password):
    assert register(anonymous, "zoneless", password).json["timezone"] == "UTC"


@pytest.mark.parametrize(
    "other", ["ADA", "ada", "Ada", "\u1d2c\u1d30\u1d2c"[:0] + "aDa"]
)
def test_nicknames_are_unique_without_regard_to_case(anonymous, password, other):
    register(anonymous, "Ada", password)

    response = register(anonymous, other, password)

    assert response.status_int == 409
    assert response.json["error"]["details"] == [
        {"field": "nickname", "message": "is taken"}
    ]


def test_case_folding_goes_beyond_ascii(anonymous, password):
    register(anonymous, "Straße", password)

    assert register(anonymous, "STRASSE", password).status_int == 409
    assert register(anonymous, "ΣΊΣΥΦΟΣ", password).status_int == 201
    assert register(anonymous, "σίσυφος", password).status_int == 409


@pytest.mark.parametrize(
    ("nickname", "message"),
    [
        ("ab", "must be 3 to 32 characters long"),
        ("a" * 33, "must be 3 to 32 characters long"),
        ("with space", "may hold only letters, digits, '.', '_' and '-'"),
        ("semi;colon", "may hold only letters, digits, '.', '_' and '-'"),
        ("emoji\U0001f600", "may hold only letters, digits, '.', '_' and '-'"),
        ("\u0301abc", "may hold only letters, digits, '.', '_' and '-'"),
        ("bad\ud800", "may hold only letters, digits, '.', '_' and '-'"),
        (42, "must be a string"),
    ],
)
def test_bad_nicknames_are_refused(anonymous, password, nickname, message):
    response = register(anonymous, nickname, password)

    assert response.status_int == 422
    assert response.json["error"]["details"] == [
        {"field": "nickname", "message": message}
    ]


@pytest.mark.parametrize(
    "nickname", ["a.b", "x_y-z", "Ünïcödé", "हिन्दी", "名前です", "user42", "٣٤٥"]
)
def test_good_nicknames_are_taken(anonymous, password, nickname):
    assert register(anonymous, nickname, password).status_int == 201


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("short", "must be at least 8 characters long"),
        ("x" * (MAX_LENGTH + 1), "must be at most 1024 characters long"),
        (12345678, "must be a string"),
        ("lone surrogate \ud800", "is not valid Unicode text"),
    ],
)
def test_bad_passwords_are_refused(anonymous, value, message):
    response = register(anonymous, "someone", value)

    assert response.status_int == 422
    assert response.json["error"]["details"] == [
        {"field": "password", "message": message}
    ]


def test_a_huge_password_is_refused_before_any_hashing(app, accounts, anonymous):
    calls = []
    original = accounts.hasher.hash
    accounts.hasher.hash = lambda password: calls.append(1) or original(password)
    huge = "x" * 500_000

    started = time.monotonic()
    register(anonymous, "someone", huge)
    login_answer = anonymous.post_json(
        "/api/auth/login", {"nickname": "someone", "password": huge}, status=422
    )
    elapsed = time.monotonic() - started

    assert calls == []
    assert elapsed < 1
    assert login_answer.json["error"]["details"][0]["field"] == "password"


@pytest.mark.parametrize(
    "field", ["role", "disabled", "token_version", "id", "password_hash", "admin"]
)
def test_register_refuses_fields_it_does_not_take(anonymous, auth, password, field):
    value = {"role": "superuser"}.get(field, True)

    response = register(anonymous, "climber", password, **{field: value})

    assert response.status_int == 422
    assert response.json["error"]["details"] == [
        {"field": field, "message": "may not be set here"}
    ]
    assert auth.sql("SELECT COUNT(*) FROM {db}.users WHERE nickname = 'climber'") == (
        (0,),
    )


def test_wrong_password_and_unknown_nickname_get_the_same_answer(
    anonymous, auth, secret_registry
):
    account = auth.user("user")

    wrong = login(anonymous, account.user.nickname, "not-the-password", secret_registry)
    unknown = login(anonymous, "nobody-at-all", "not-the-password", secret_registry)

    assert wrong.status_int == unknown.status_int == 401
    assert (
        wrong.json["error"]["message"]
        == unknown.json["error"]["message"]
        == ("The nickname or the password is wrong.")
    )
    assert wrong.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"]


def test_an_unknown_nickname_costs_one_verification_like_a_wrong_password(
    anonymous, auth, accounts, secret_registry
):
    account = auth.user("user")
    calls = []
    original = accounts.hasher.verify

    def counting(password_hash, password):
        calls.append(password_hash)
        return original(password_hash, password)

    accounts.hasher.verify = counting
    login(anonymous, account.user.nickname, "not-the-password", secret_registry)
    login(anonymous, "nobody-at-all", "not-the-password", secret_registry)

    assert len(calls) == 2
    # The stand-in hash has the same cost as the real one.
    assert calls[0].split("$")[3] == calls[1].split("$")[3]


def test_an_unknown_nickname_takes_as_long_as_a_wrong_password(
    settings, stores, audit_log, user_store, login_throttle, secret_registry
):
    # A cost that makes verification dominate the answer: a few milliseconds.
    slow = copy.deepcopy(settings)
    slow.auth.argon2_memory_kib = 4096
    slow.auth.argon2_time_cost = 2
    slow.auth.login_max_failures = 1000
    accounts = Accounts.from_settings(slow, user_store, login_throttle)
    client = make_client(create_app(slow, stores, audit_log, lambda: NOW, accounts))
    password = new_password(secret_registry)
    register(client, "timed", password)

    def duration(nickname):
        started = time.perf_counter()
        login(client, nickname, "not-the-password", secret_registry)
        return time.perf_counter() - started

    duration("timed"), duration("nobody")  # warm up
    # Alternating keeps a change of load on the machine from favouring one.
    pairs = [(duration("timed"), duration("nobody")) for _ in range(21)]
    wrong = statistics.median(pair[0] for pair in pairs)
    unknown = statistics.median(pair[1] for pair in pairs)

    assert 0.6 < unknown / wrong < 1.6


def test_a_disabled_user_cannot_log_in(auth, anonymous, secret_registry):
    account = auth.user("user")
    auth.sql("UPDATE {db}.users SET disabled = TRUE WHERE id = %s", (account.id,))

    answer = login(anonymous, account.user.nickname, account.password, secret_registry)

    assert answer.status_int == 401
    assert answer.json["error"]["message"] == "The nickname or the password is wrong."


def test_read_and_change_my_account(client):
    me = client.get("/api/me").json
    changed = client.patch_json("/api/me", {"timezone": "Asia/Tokyo"}).json
    bad = client.patch_json("/api/me", {"timezone": "Mars/Olympus"}, status=422)
    sneaky = client.patch_json("/api/me", {"role": "admin"}, status=422)

    assert me["nickname"] == client.user.nickname
    assert me["permissions"] == ["account:self", "records:read", "records:write"]
    assert changed["timezone"] == "Asia/Tokyo"
    assert bad.json["error"]["details"][0]["field"] == "timezone"
    assert sneaky.json["error"]["details"] == [
        {"field": "role", "message": "may not be set here"},
        {"field": "timezone", "message": "is required"},
    ]
    assert client.get("/api/me").json["role"] == "user"


def test_a_password_change_needs_the_current_password(auth, secret_registry):
    account = auth.user("user")
    new = new_password(secret_registry)

    wrong = account.client.post_json(
        "/api/me/password",
        {"current_password": "not-it-at-all", "new_password": new},
        status=403,
    )
    short = account.client.post_json(
        "/api/me/password",
        {"current_password": account.password, "new_password": "short"},
        status=422,
    )

    assert wrong.json["error"]["message"] == "The current password is wrong."
    assert short.json["error"]["details"] == [
        {"field": "new_password", "message": "must be at least 8 characters long"}
    ]
    assert account.client.get("/api/me").status_int == 200


def test_list_and_read_users(auth):
    admin = auth.user("admin")
    others = [auth.user("viewer"), auth.user("user")]

    everyone = admin.client.get("/api/users").json
    first = admin.client.get("/api/users", {"limit": "2"})
    rest = admin.client.get(first.headers["Link"].split(";")[0].strip("<>")).json
    one = admin.client.get(f"/api/users/{others[0].id}").json

    assert [u["id"] for u in everyone] == [admin.id, others[0].id, others[1].id]
    assert [u["id"] for u in first.json] == [admin.id, others[0].id]
    assert [u["id"] for u in rest] == [others[1].id]
    assert one["role"] == "viewer"
    assert all("password_hash" not in user for user in everyone)
    admin.client.get("/api/users/99999999", status=404)
    admin.client.get("/api/users/abc", status=404)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"role": "emperor"},
            "role",
            "must be one of viewer, user, analyst, admin, superuser",
        ),
        (
            {"role": None},
            "role",
            "must be one of viewer, user, analyst, admin, superuser",
        ),
        ({"disabled": "yes"}, "disabled", "must be true or false"),
        ({"nickname": "renamed"}, "nickname", "may not be set here"),
        ({"password": "new-password"}, "password", "may not be set here"),
        ({"token_version": 0}, "token_version", "may not be set here"),
        ({}, None, "nothing to change"),
    ],
)
def test_user_changes_refuse_fields_and_values(auth, body, field, message):
    superuser = auth.user("superuser")
    target = auth.user("user")

    response = superuser.client.patch_json(f"/api/users/{target.id}", body, status=422)

    assert response.json["error"]["details"] == [{"field": field, "message": message}]


def test_the_audit_entry_of_a_user_change_shows_only_role_and_flag(auth, audit_log):
    superuser = auth.user("superuser")
    target = auth.user("user")

    superuser.client.patch_json(
        f"/api/users/{target.id}",
        {"role": "analyst", "password": "should-not-be-logged"},
        status=422,
    )
    superuser.client.patch_json(f"/api/users/{target.id}", {"role": "analyst"})

    refused, accepted = log_entries(audit_log)
    assert refused["data"] == {"role": "analyst"}
    assert accepted["data"] == {"role": "analyst"}
    assert accepted["summary"] == {
        "id": target.id,
        "role": "analyst",
        "disabled": False,
    }
    assert accepted["user"] == {"id": superuser.id, "nickname": superuser.user.nickname}


# Privilege escalation.


@pytest.mark.parametrize(
    ("role", "raised_to"),
    [
        ("viewer", "user"),
        ("user", "analyst"),
        ("analyst", "admin"),
        ("admin", "superuser"),
    ],
)
def test_nobody_raises_their_own_role(auth, role, raised_to):
    account = auth.user(role)

    account.client.patch_json(
        f"/api/users/{account.id}", {"role": raised_to}, status=403
    )

    assert account.client.get("/api/me").json["role"] == role


def test_an_admin_gives_no_role_at_or_above_its_own(auth):
    admin = auth.user("admin")
    target = auth.user("user")

    for role in ("admin", "superuser"):
        response = admin.client.patch_json(
            f"/api/users/{target.id}", {"role": role}, status=403
        )
        assert response.json["error"]["message"] == (
            "The role admin gives only roles ranked below it."
            if role == "admin"
            else "Nobody can give a role above their own."
        )
    assert admin.client.get(f"/api/users/{target.id}").json["role"] == "user"


def test_an_admin_manages_only_users_below_admin(auth):
    admin = auth.user("admin")
    peer = auth.user("admin")
    superuser = auth.user("superuser")

    admin.client.patch_json(f"/api/users/{peer.id}", {"disabled": True}, status=403)
    admin.client.patch_json(f"/api/users/{superuser.id}", {"role": "user"}, status=403)

    assert peer.client.get("/api/me").status_int == 200
    assert superuser.client.get("/api/me").json["role"] == "superuser"


def test_a_superuser_makes_and_unmakes_superusers(auth):
    first = auth.user("superuser")
    target = auth.user("user")

    promoted = first.client.patch_json(
        f"/api/users/{target.id}", {"role": "superuser"}
    ).json
    demoted = target.client.patch_json(f"/api/users/{first.id}", {"role": "admin"}).json

    assert promoted["role"] == "superuser"
    assert demoted["role"] == "admin"


def test_the_last_superuser_cannot_be_demoted_or_disabled(auth):
    superuser = auth.user("superuser")

    demote = superuser.client.patch_json(
        f"/api/users/{superuser.id}", {"role": "admin"}, status=409
    )
    disable = superuser.client.patch_json(
        f"/api/users/{superuser.id}", {"disabled": True}, status=409
    )

    message = "The last active superuser cannot be demoted or disabled."
    assert (
        demote.json["error"]["message"] == disable.json["error"]["message"] == message
    )
    assert superuser.client.get("/api/me").json["role"] == "superuser"


def test_a_disabled_superuser_does_not_count(auth):
    superuser = auth.user("superuser")
    dormant = auth.user("superuser")
    superuser.client.patch_json(f"/api/users/{dormant.id}", {"disabled": True})

    superuser.client.patch_json(
        f"/api/users/{superuser.id}", {"role": "admin"}, status=409
    )


def demote_each_other(user_store, first, second):
    """Two superusers demote each other from two threads at once."""
    outcomes = []
    barrier = threading.Barrier(2)

    def demote(actor, target):
        barrier.wait()
        try:
            user_store.change(actor, target, {"role": "user"}, check_user_change)
            outcomes.append("demoted")
        except Exception as exc:  # noqa: BLE001 - the outcome is the point
            outcomes.append(type(exc).__name__)

    threads = [
        threading.Thread(target=demote, args=(first.id, second.id)),
        threading.Thread(target=demote, args=(second.id, first.id)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


@pytest.mark.parametrize("attempt", range(5))
def test_two_superusers_demoting_each_other_at_once_leave_one(
    auth, user_store, attempt
):
    first, second = auth.user("superuser"), auth.user("superuser")

    outcomes = demote_each_other(user_store, first, second)

    # The second to get the locks finds either that it would remove the last
    # superuser, or that it was demoted itself and may no longer act.
    assert outcomes in (
        ["ConflictError", "demoted"],
        ["PermissionDeniedError", "demoted"],
    )
    roles = auth.sql(
        "SELECT role FROM {db}.users WHERE id IN (%s, %s)", (first.id, second.id)
    )
    assert sorted(role for (role,) in roles) == ["superuser", "user"]


# Throttling.


@pytest.fixture()
def throttled(settings, stores, audit_log, user_store, login_throttle):
    strict = copy.deepcopy(settings)
    strict.auth.login_max_failures = 3
    strict.auth.login_failure_window = 60
    accounts = Accounts.from_settings(strict, user_store, login_throttle)
    return create_app(strict, stores, audit_log, lambda: NOW, accounts)


def test_logins_are_throttled_per_nickname_and_address(
    throttled, auth, secret_registry
):
    account = auth.user("user")
    nickname = account.user.nickname
    client = make_client(throttled)
    elsewhere = make_client(throttled)
    elsewhere.extra_environ["REMOTE_ADDR"] = "198.51.100.7"

    failures = [
        login(client, nickname, "wrong-password", secret_registry).status_int
        for _ in range(3)
    ]
    blocked = login(client, nickname, account.password, secret_registry)
    other_address = login(elsewhere, nickname, account.password, secret_registry)
    other_nickname = login(client, "someone-else", "wrong-password", secret_registry)

    assert failures == [401, 401, 401]
    assert blocked.status_int == 429
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert blocked.json["error"]["message"].startswith("Too many failed logins")
    assert other_address.status_int == 200
    assert other_nickname.status_int == 401


def test_unknown_nicknames_are_throttled_too(throttled, secret_registry):
    client = make_client(throttled)

    statuses = [
        login(client, "ghost", "wrong-password", secret_registry).status_int
        for _ in range(4)
    ]

    assert statuses == [401, 401, 401, 429]


def test_a_good_login_clears_the_failures(throttled, auth, secret_registry):
    account = auth.user("user")
    client = make_client(throttled)

    for _ in range(2):
        login(client, account.user.nickname, "wrong-password", secret_registry)
    login(client, account.user.nickname, account.password, secret_registry)
    statuses = [
        login(
            client, account.user.nickname, "wrong-password", secret_registry
        ).status_int
        for _ in range(3)
    ]

    assert statuses == [401, 401, 401]


def test_the_counter_lives_in_redis_with_the_window(
    throttled, login_throttle, redis_client, fresh_redis_prefix, secret_registry
):
    client = make_client(throttled)

    login(client, "ghost", "wrong-password", secret_registry)

    keys = list(
        redis_client.scan_iter(match=fresh_redis_prefix.redis.key_prefix + ":*")
    )
    assert len(keys) == 1
    assert (
        keys[0]
        .decode()
        .startswith(fresh_redis_prefix.redis.key_prefix + ":{auth}:fail:")
    )
    assert b"ghost" not in keys[0]
    assert redis_client.get(keys[0]) == b"1"
    assert 0 < redis_client.ttl(keys[0]) <= 60


def test_wrong_current_passwords_count_as_failed_logins(throttled, auth):
    account = auth.user("user")
    client = auth.client_for(account.token, app=throttled)
    body = {"current_password": "wrong-password", "new_password": "whatever-new"}

    statuses = [
        client.post_json("/api/me/password", body, expect_errors=True).status_int
        for _ in range(4)
    ]

    assert statuses == [403, 403, 403, 429]


# Browser sessions: cookie and CSRF header.


@pytest.fixture()
def browser(app, auth, secret_registry):
    """A client logged in with a cookie; ``browser.csrf`` is its CSRF token."""
    account = auth.user("user")
    client = make_client(app)
    answer = client.post_json(
        "/api/auth/login",
        {
            "nickname": account.user.nickname,
            "password": account.password,
            "cookie": True,
        },
    )
    client.csrf = answer.json["csrf_token"]
    client.answer = answer
    client.account = account
    secret_registry.add(client.cookies["sleeplog_session"])
    return client


def test_a_cookie_login_sets_an_httponly_strict_cookie(browser):
    cookies = browser.answer.headers.getall("Set-Cookie")
    session = next(c for c in cookies if c.startswith("sleeplog_session="))
    csrf = next(c for c in cookies if c.startswith("sleeplog_csrf="))

    assert "HttpOnly" in session
    assert "SameSite=strict" in session or "SameSite=Strict" in session
    assert "Path=/" in session
    assert "Secure" not in session
    assert "HttpOnly" not in csrf
    assert browser.answer.json["token"] is None
    assert browser.answer.json["token_type"] == "cookie"
    assert csrf.split(";")[0] == f"sleeplog_csrf={browser.csrf}"


def test_the_cookie_is_secure_when_configured(
    settings, stores, audit_log, user_store, login_throttle, auth, secret_registry
):
    secure = copy.deepcopy(settings)
    secure.auth.cookie_secure = True
    accounts = Accounts.from_settings(secure, user_store, login_throttle)
    app = create_app(secure, stores, audit_log, lambda: NOW, accounts)
    account = auth.user("user")

    answer = make_client(app).post_json(
        "/api/auth/login",
        {
            "nickname": account.user.nickname,
            "password": account.password,
            "cookie": True,
        },
    )

    assert all("Secure" in c for c in answer.headers.getall("Set-Cookie"))


def test_the_cookie_reads_without_a_csrf_header(browser):
    assert browser.get("/api/me").json["id"] == browser.account.id


def test_a_change_through_the_cookie_needs_the_csrf_header(browser):
    from helpers import night

    missing = browser.post_json("/api/mysql/records", night(), status=403)
    wrong = browser.post_json(
        "/api/mysql/records", night(), headers={"X-CSRF-Token": "forged"}, status=403
    )
    right = browser.post_json(
        "/api/mysql/records", night(), headers={"X-CSRF-Token": browser.csrf}
    )

    assert "X-CSRF-Token" in missing.json["error"]["message"]
    assert wrong.status_int == 403
    assert right.status_int == 201


def test_a_bearer_token_needs_no_csrf_header(client):
    from helpers import night

    assert client.post_json("/api/mysql/records", night()).status_int == 201


def test_logout_through_the_cookie_clears_it_and_revokes_it(browser):
    token = browser.cookies["sleeplog_session"]

    browser.post("/api/auth/logout", status=403)
    answer = browser.post(
        "/api/auth/logout", headers={"X-CSRF-Token": browser.csrf}, status=204
    )

    cleared = answer.headers.getall("Set-Cookie")
    assert any(c.startswith("sleeplog_session=") and "Max-Age=-1" in c for c in cleared)
    assert any(c.startswith("sleeplog_csrf=") and "Max-Age=-1" in c for c in cleared)
    browser.set_cookie("sleeplog_session", token)
    browser.get("/api/me", status=401)


def test_a_cookie_must_be_a_bool(anonymous, auth):
    account = auth.user("user")

    response = anonymous.post_json(
        "/api/auth/login",
        {"nickname": account.user.nickname, "password": account.password, "cookie": 1},
        status=422,
    )

    assert response.json["error"]["details"] == [
        {"field": "cookie", "message": "must be true or false"}
    ]


# Stores that are down answer 503, never 401.


@pytest.fixture()
def dead_accounts(settings, auth):
    dead = copy.deepcopy(settings)
    dead.mysql.port = 1
    dead.mysql.connect_timeout = 1
    dead.redis.url = "redis://127.0.0.1:1/0"
    dead.redis.connect_timeout = 1
    dead.redis.timeout = 1
    users, throttle = MySQLUserStore(dead), RedisLoginThrottle(dead)
    yield dead, users, throttle
    users.close()
    throttle.close()


def test_a_token_check_with_mysql_down_is_503(
    settings, stores, audit_log, auth, accounts, dead_accounts
):
    dead, users, _ = dead_accounts
    broken = Accounts(
        settings.auth, users, accounts.throttle, accounts.signer, accounts.hasher
    )
    app = create_app(settings, stores, audit_log, lambda: NOW, broken)
    account = auth.user("user")

    response = auth.client_for(account.token, app=app).get("/api/me", status=503)

    assert response.json["error"]["message"].startswith("MySQL is unavailable")
    assert response.headers["Retry-After"] == "5"


def test_a_login_with_redis_down_is_503(
    settings, stores, audit_log, auth, accounts, dead_accounts, secret_registry
):
    _, _, throttle = dead_accounts
    broken = Accounts(
        settings.auth, accounts.users, throttle, accounts.signer, accounts.hasher
    )
    app = create_app(settings, stores, audit_log, lambda: NOW, broken)
    account = auth.user("user")

    response = login(
        make_client(app), account.user.nickname, account.password, secret_registry
    )

    assert response.status_int == 503
    assert response.json["error"]["message"].startswith("Redis is unavailable")


def test_a_registration_is_undone_when_its_entry_cannot_be_written(
    anonymous, audit_log, auth, password
):
    from sleeplog.errors import AuditLogUnavailableError

    def fail(entry):
        raise AuditLogUnavailableError("The audit log cannot be written: disk full.")

    audit_log.append = fail

    response = register(anonymous, "unlogged", password)

    assert response.status_int == 503
    assert auth.sql("SELECT COUNT(*) FROM {db}.users") == ((0,),)


def test_an_old_cost_is_upgraded_at_login(auth, accounts, anonymous, secret_registry):
    weak = PasswordHasher(8, 1)
    account = auth.user("user")
    stronger = PasswordHasher(16, 2)
    auth.sql(
        "UPDATE {db}.users SET password_hash = %s WHERE id = %s",
        (weak.hash(account.password), account.id),
    )
    accounts.hasher = stronger

    login(anonymous, account.user.nickname, account.password, secret_registry)

    [(stored,)] = auth.sql(
        "SELECT password_hash FROM {db}.users WHERE id = %s", (account.id,)
    )
    assert "$m=16,t=2," in stored
    assert stronger.verify(stored, account.password)


def test_parallel_logins_cannot_slip_past_the_limit(throttled, auth, secret_registry):
    account = auth.user("user")
    statuses = []
    lock = threading.Lock()

    def attempt():
        client = make_client(throttled)
        status = login(client, account.user.nickname, "wrong-pass", secret_registry)
        with lock:
            statuses.append(status.status_int)

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # With a limit of 3, exactly 3 passwords are checked, however many race.
    assert sorted(statuses) == [401] * 3 + [429] * 9


@pytest.mark.parametrize(
    "nickname", ["alice\u034f", "alice\ufe0f", "alice\U000e0100", "\u3164\u3164\u3164"]
)
def test_invisible_characters_are_refused_in_nicknames(anonymous, password, nickname):
    response = register(anonymous, nickname, password)

    assert response.status_int == 422
    assert response.json["error"]["details"] == [
        {"field": "nickname", "message": "may not hold invisible characters"}
    ]


@pytest.mark.parametrize("lookalike", ["ａｌｉｃｅ-x", "𝐚𝐥𝐢𝐜𝐞-x"])
def test_compatibility_forms_cannot_pose_as_a_nickname(anonymous, password, lookalike):
    first = register(anonymous, "alice-x", password)
    second = register(anonymous, lookalike, password)

    assert first.status_int == 201
    assert second.status_int == 409
