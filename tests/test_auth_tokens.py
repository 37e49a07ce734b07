"""Tokens: expired, tampered, rotated out, revoked three ways, and role changes."""

import base64
import json
import time

import pytest

from helpers import NOW, log_entries, make_client, night
from sleeplog.auth.tokens import TokenSigner
from sleeplog.errors import AuthenticationError
from sleeplog.services.accounts import Accounts
from sleeplog.web.app import create_app

OLD_KEY = "old-key-" + "o" * 40
NEW_KEY = "new-key-" + "n" * 40

CHALLENGE = 'Bearer realm="sleeplog"'
REFUSED = 'Bearer realm="sleeplog", error="invalid_token"'


def refused(client, path="/api/me"):
    """The answer to a request that must be refused as unauthenticated."""
    response = client.get(path, status=401)
    assert response.headers["WWW-Authenticate"] == REFUSED
    return response.json["error"]["message"]


def app_with_keys(settings, stores, audit_log, user_store, login_throttle, keys):
    """An app whose tokens are signed and checked with ``keys``, oldest first."""
    accounts = Accounts.from_settings(settings, user_store, login_throttle)
    accounts.signer = TokenSigner(keys, settings.auth.token_lifetime)
    return create_app(settings, stores, audit_log, lambda: NOW, accounts)


def test_a_valid_token_is_accepted(client):
    me = client.get("/api/me").json

    assert me["id"] == client.user.id
    assert me["role"] == "user"


def test_an_expired_token_is_refused(auth, accounts, secret_registry):
    lifetime = accounts.signer.lifetime
    # Signed a second more than a lifetime ago, with the same key.
    past = TokenSigner(
        accounts.config.secret_keys, lifetime, clock=lambda: time.time() - lifetime - 1
    )
    account = auth.user("user")
    token, _ = past.issue(account.id, account.user.token_version)
    secret_registry.add(token)

    assert refused(auth.client_for(token)) == "The token has expired; log in again."


def test_a_token_from_the_future_is_refused(auth, accounts, secret_registry):
    future = TokenSigner(
        accounts.config.secret_keys, 60, clock=lambda: time.time() + 3600
    )
    account = auth.user("user")
    token, _ = future.issue(account.id, 0)
    secret_registry.add(token)

    refused(auth.client_for(token))


def _tampered(token, part, change):
    payload, stamp, signature = token.split(".")
    parts = {"payload": payload, "stamp": stamp, "signature": signature}
    parts[part] = change(parts[part])
    return ".".join(parts.values())


def _b64(value):
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("part", "change"),
    [
        ("signature", lambda text: text[:-2] + ("AA" if text[-2:] != "AA" else "BB")),
        ("signature", lambda text: ""),
        ("stamp", lambda text: text[:-1] + ("A" if text[-1] != "A" else "B")),
        # Another user's id with the original signature.
        ("payload", lambda text: _b64({"uid": 1, "ver": 0, "jti": "0" * 32})),
    ],
)
def test_a_tampered_token_is_refused(client, auth, part, change):
    token = _tampered(client.token, part, change)

    assert refused(auth.client_for(token)) == "The token is not valid; log in again."


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token abc.def.ghi",
        "Bearer a b",
        "Bearer not-a-token",
        "Bearer " + "a" * 600 + ".b.c",
        "Bearer \u00e9.\u00e9.\u00e9",
    ],
)
def test_a_malformed_header_is_refused(anonymous, header):
    response = anonymous.get("/api/me", headers={"Authorization": header}, status=401)

    assert response.headers["WWW-Authenticate"] == REFUSED
    assert response.json["error"]["status"] == 401


def test_no_credentials_at_all_get_a_plain_challenge(anonymous):
    response = anonymous.get("/api/mysql/records", status=401)

    assert response.headers["WWW-Authenticate"] == CHALLENGE
    assert response.json["error"]["message"] == (
        "Log in first, and send the token as 'Authorization: Bearer <token>'."
    )


def test_the_payload_can_be_read_but_holds_nothing_secret(client):
    payload = client.token.split(".")[0]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))

    assert set(claims) == {"uid", "ver", "jti"}
    assert claims["uid"] == client.user.id


def test_key_rotation_new_signs_old_still_verifies(
    settings, stores, audit_log, user_store, login_throttle, auth, secret_registry
):
    account = auth.user("user")
    before = app_with_keys(
        settings, stores, audit_log, user_store, login_throttle, [OLD_KEY]
    )
    rotating = app_with_keys(
        settings, stores, audit_log, user_store, login_throttle, [OLD_KEY, NEW_KEY]
    )
    after = app_with_keys(
        settings, stores, audit_log, user_store, login_throttle, [NEW_KEY]
    )
    login = {"nickname": account.user.nickname, "password": account.password}
    old_token = make_client(before).post_json("/api/auth/login", login).json["token"]
    new_token = make_client(rotating).post_json("/api/auth/login", login).json["token"]
    secret_registry.add(old_token, new_token)

    # While rotating, both verify; afterwards the old key's tokens do not.
    assert auth.client_for(old_token, app=rotating).get("/api/me").status_int == 200
    assert auth.client_for(new_token, app=rotating).get("/api/me").status_int == 200
    assert auth.client_for(new_token, app=after).get("/api/me").status_int == 200
    assert refused(auth.client_for(old_token, app=after)) == (
        "The token is not valid; log in again."
    )


def test_logout_revokes_only_that_token(auth, accounts):
    account = auth.user("user")
    second_token, _ = auth.token_for(account.user)
    second = auth.client_for(second_token)

    response = account.client.post("/api/auth/logout", status=204)

    assert response.body == b""
    assert refused(account.client) == "The session has ended; log in again."
    assert second.get("/api/me").status_int == 200
    # The denial lasts until the token would have expired anyway.
    [(expires_at,)] = auth.sql(
        "SELECT expires_at FROM {db}.revoked_tokens WHERE token_id = %s",
        (account.claims.token_id,),
    )
    assert expires_at == account.claims.expires_at.replace(tzinfo=None)


def test_logout_twice_is_refused_the_second_time(client):
    client.post("/api/auth/logout", status=204)

    client.post("/api/auth/logout", status=401)


def test_logout_all_ends_every_session(auth):
    account = auth.user("user")
    other_token, _ = auth.token_for(account.user)
    other = auth.client_for(other_token)
    bystander = auth.user("user")

    account.client.post("/api/auth/logout-all", status=204)

    refused(account.client)
    refused(other)
    assert bystander.client.get("/api/me").status_int == 200


def test_a_password_change_ends_every_session_and_sends_a_new_token(
    auth, anonymous, secret_registry
):
    account = auth.user("user")
    other_token, _ = auth.token_for(account.user)
    new_password = account.password + "-changed"
    secret_registry.add(new_password)

    answer = account.client.post_json(
        "/api/me/password",
        {"current_password": account.password, "new_password": new_password},
    ).json
    secret_registry.add(answer["token"])

    refused(account.client)
    refused(auth.client_for(other_token))
    assert auth.client_for(answer["token"]).get("/api/me").json["id"] == account.id
    login = {"nickname": account.user.nickname, "password": account.password}
    anonymous.post_json("/api/auth/login", login, status=401)
    login["password"] = new_password
    secret_registry.add(anonymous.post_json("/api/auth/login", login).json["token"])


def test_disabling_a_user_ends_its_sessions(auth):
    admin = auth.user("admin")
    account = auth.user("user")

    admin.client.patch_json(f"/api/users/{account.id}", {"disabled": True})

    refused(account.client)
    admin.client.patch_json(f"/api/users/{account.id}", {"disabled": False})
    # Enabling again does not bring the old sessions back.
    refused(account.client)


def test_a_role_change_takes_effect_at_the_next_request(auth, stores):
    superuser = auth.user("superuser")
    account = auth.user("user")
    other = auth.user("user")
    other.client.post_json("/api/mysql/records", night())
    account.client.post_json("/api/mysql/records", night(note="mine"))

    own = account.client.get("/api/mysql/records").json
    superuser.client.patch_json(f"/api/users/{account.id}", {"role": "analyst"})
    everyone = account.client.get("/api/mysql/records").json
    superuser.client.patch_json(f"/api/users/{account.id}", {"role": "viewer"})
    writing = account.client.post_json(
        "/api/mysql/records", night(note="again"), status=403
    )

    assert [r["owner"] for r in own] == [account.owner]
    assert sorted(r["owner"] for r in everyone) == sorted([account.owner, other.owner])
    assert writing.json["error"]["message"] == (
        "The role viewer may not do this; it needs records:write."
    )
    # The same token still reads.
    assert account.client.get("/api/me").json["role"] == "viewer"


def test_a_token_of_a_deleted_user_is_refused(auth):
    account = auth.user("user")
    auth.sql("DELETE FROM {db}.users WHERE id = %s", (account.id,))

    refused(account.client)


def test_the_signer_maps_every_failure_to_one_error(accounts):
    signer = accounts.signer

    for token in ["", "a.b.c", None, 7, "x" * 10000]:
        with pytest.raises(AuthenticationError):
            signer.read(token)


def test_csrf_tokens_verify_under_every_key_and_only_for_their_token():
    old = TokenSigner([OLD_KEY], 60)
    both = TokenSigner([OLD_KEY, NEW_KEY], 60)
    made_by_old = old.csrf_token("a" * 32)

    assert both.check_csrf("a" * 32, made_by_old)
    assert both.check_csrf("a" * 32, both.csrf_token("a" * 32))
    assert not both.check_csrf("b" * 32, made_by_old)
    assert not both.check_csrf("a" * 32, "")
    assert not both.check_csrf("a" * 32, "\u00e9")
    assert both.csrf_token("a" * 32) != made_by_old


def test_401_answers_are_audited_without_the_header(anonymous, audit_log):
    anonymous.get(
        "/api/me", headers={"Authorization": "Bearer abc.def.ghi"}, status=401
    )

    [entry] = log_entries(audit_log)
    assert entry["status"] == 401
    assert entry["user"] is None
    assert "abc.def.ghi" not in json.dumps(entry)
