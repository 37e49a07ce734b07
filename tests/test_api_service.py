"""Health checks, the audit-trail endpoint, client addresses and outages."""

import copy
import time
from datetime import datetime, timedelta, timezone

import pytest

from helpers import NOW, log_entries, night
from sleeplog.errors import AuditLogUnavailableError, StorageUnavailableError
from sleeplog.storage.audit_log import AuditLog
from sleeplog.storage.memory_store import MemoryRecordStore
from sleeplog.storage.mysql_store import MySQLRecordStore
from sleeplog.storage.redis_store import RedisRecordStore
from sleeplog.web.app import create_app
from sleeplog.web.audit import client_address


def test_livez(anonymous):
    assert anonymous.get("/livez").json == {"status": "alive"}


def test_readyz_when_everything_is_up(anonymous):
    assert anonymous.get("/readyz").json == {
        "status": "ready",
        "checks": {
            "accounts": "ok",
            "log": "ok",
            "memory": "ok",
            "mysql": "ok",
            "redis": "ok",
        },
    }


@pytest.fixture()
def dead_settings(settings):
    """Settings whose MySQL and Redis live on a port where nothing listens."""
    dead = copy.deepcopy(settings)
    dead.mysql.port = 1
    dead.mysql.connect_timeout = 1
    dead.redis.url = "redis://127.0.0.1:1/0"
    dead.redis.connect_timeout = 1
    dead.redis.timeout = 1
    return dead


@pytest.fixture()
def dead_client(dead_settings, audit_log, accounts, auth):
    """Logged in through live accounts, with record stores that are down."""
    stores = {
        "mysql": MySQLRecordStore(dead_settings),
        "redis": RedisRecordStore(dead_settings),
    }
    for name, store in stores.items():
        store.name = name
    app = create_app(dead_settings, stores, audit_log, lambda: NOW, accounts=accounts)
    account = auth.user("user")
    yield auth.client_for(account.token, account.user, app=app)
    for store in stores.values():
        store.close()


def test_readyz_names_what_is_down(dead_client):
    response = dead_client.get("/readyz", status=503)

    error = response.json["error"]
    assert error["message"] == "Not ready: mysql, redis cannot take writes."
    assert [d["component"] for d in error["details"]] == ["mysql", "redis"]
    assert response.headers["Retry-After"] == "5"


@pytest.mark.parametrize("store_name", ["mysql", "redis"])
@pytest.mark.parametrize("method", ["post", "get"])
def test_store_down_is_503_promptly(dead_client, audit_log, store_name, method):
    started = time.monotonic()
    if method == "post":
        response = dead_client.post_json(
            f"/api/{store_name}/records", night(), status=503
        )
    else:
        response = dead_client.get(f"/api/{store_name}/records", status=503)
    elapsed = time.monotonic() - started

    assert response.headers["Retry-After"] == "5"
    assert response.json["error"]["message"].startswith(
        {"mysql": "MySQL", "redis": "Redis"}[store_name]
    )
    # Connect timeouts are 1 s; a retry on a fresh connection may double it.
    assert elapsed < 3.5
    assert log_entries(audit_log)[-1]["status"] == 503


@pytest.fixture()
def admin(auth):
    """A client logged in as an admin, who may read the log."""
    return auth.client("admin")


def test_log_endpoint_streams_entries_with_filters(admin, audit_log):
    admin.post_json("/api/memory/records", night())
    admin.get("/api/memory/records/99", status=404)
    admin.post_json("/api/memory/records", {}, status=422)

    everything = admin.get("/api/log").json
    errors = admin.get("/api/log", {"status": "4xx"}).json
    not_found = admin.get("/api/log", {"status": "404"}).json
    limited = admin.get("/api/log", {"limit": "2"}).json
    future = admin.get("/api/log", {"since": "2999-01-01T00:00:00Z"}).json

    assert [e["status"] for e in everything] == [201, 404, 422]
    assert [e["status"] for e in errors] == [404, 422]
    assert [e["path"] for e in not_found] == ["/api/memory/records/99"]
    assert [e["status"] for e in limited] == [201, 404]
    assert future == []
    # The GETs themselves were logged too, each with the count it sent.
    reads = [e for e in log_entries(audit_log) if e["path"] == "/api/log"]
    assert [e["summary"]["items"] for e in reads] == [3, 2, 1, 2, 0]


def test_log_since_compares_instants(admin, audit_log):
    admin.get("/livez")
    stamp = datetime.fromisoformat(log_entries(audit_log)[0]["time"])
    moscow = stamp.astimezone(timezone(timedelta(hours=3)))
    later = moscow + timedelta(milliseconds=1)

    # The same instant written in Moscow time selects the entry; 1 ms later not.
    selected = admin.get("/api/log", {"since": moscow.isoformat()}).json
    after = admin.get("/api/log", {"since": later.isoformat()}).json

    assert [e["path"] for e in selected] == ["/livez"]
    assert "/livez" not in [e["path"] for e in after]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "4x"}, "status"),
        ({"since": "today"}, "since"),
        ({"limit": "0"}, "limit"),
        ({"since": "0001-01-01T00:00:00+01:00"}, "since"),
        ({"status": "%FF"}, "status"),
    ],
)
def test_log_filters_are_checked(admin, query, field):
    response = admin.get("/api/log", query, status=422)

    assert response.json["error"]["details"][0]["field"] == field


def test_unwritable_log_refuses_changes_and_stores_nothing(settings, accounts, auth):
    broken = AuditLog("/dev/full", fsync="always")
    memory = MemoryRecordStore()
    memory.name = "memory"
    app = create_app(settings, {"memory": memory}, broken, lambda: NOW, accounts)
    account = auth.user("user")
    client = auth.client_for(account.token, account.user, app=app)

    refused = client.post_json("/api/memory/records", night(), status=503)
    listed = client.get("/api/memory/records")

    assert refused.headers["Retry-After"] == "5"
    assert "log" in refused.json["error"]["message"].lower()
    assert memory.count() == 0
    assert listed.json == []


def test_a_change_is_undone_when_its_entry_cannot_be_written(client, stores, audit_log):
    def fail(entry):
        from sleeplog.errors import AuditLogUnavailableError

        raise AuditLogUnavailableError("The audit log cannot be written: disk full.")

    audit_log.append = fail

    response = client.post_json("/api/redis/records", night(), status=503)

    assert response.json["error"]["message"] == (
        "The audit log cannot be written: disk full."
    )
    assert stores["redis"].count() == 0


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("198.51.100.7", "", (), "198.51.100.7"),
        # Not through a trusted proxy: the header is ignored.
        ("198.51.100.7", "203.0.113.9", (), "198.51.100.7"),
        ("10.0.0.2", "203.0.113.9", ("10.0.0.0/8",), "203.0.113.9"),
        # The client can forge the leftmost hops; the rightmost untrusted one counts.
        ("10.0.0.2", "1.2.3.4, 203.0.113.9, 10.0.0.5", ("10.0.0.0/8",), "203.0.113.9"),
        ("10.0.0.2", "garbage", ("10.0.0.0/8",), "10.0.0.2"),
        ("::1", "2001:db8::1", ("::1",), "2001:db8::1"),
    ],
)
def test_client_address(peer, forwarded, trusted, expected):
    import ipaddress

    environ = {"REMOTE_ADDR": peer}
    if forwarded:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded
    networks = tuple(ipaddress.ip_network(t) for t in trusted)

    assert client_address(environ, networks) == expected


def test_trusted_proxy_sets_the_records_client(
    settings, stores, audit_log, accounts, auth
):
    import ipaddress

    proxied = copy.deepcopy(settings)
    proxied.server.trusted_proxies = (ipaddress.ip_network("127.0.0.1/32"),)
    app = create_app(proxied, stores, audit_log, lambda: NOW, accounts)
    client = auth.client_for(auth.user("user").token, app=app)

    response = client.post_json(
        "/api/memory/records", night(), headers={"X-Forwarded-For": "203.0.113.9"}
    )

    assert response.json["client"] == "203.0.113.9"
    assert log_entries(audit_log)[-1]["client"] == "203.0.113.9"


def test_a_new_backend_is_one_class_plus_configuration(
    tmp_path, test_environ, accounts, auth
):
    """[stores] memory = ... serves /api/memory/records with no route change."""
    from sleeplog.config import load_settings
    from sleeplog.storage.registry import open_stores

    environ = dict(test_environ, SLEEPLOG_AUDIT_PATH=str(tmp_path / "log.json"))
    config = tmp_path / "config"
    config.mkdir()
    root = __import__("pathlib").Path(__file__).resolve().parent.parent / "config"
    (config / "database.ini").write_text((root / "database.ini").read_text())
    service = (root / "sleeplog.ini").read_text().split("[stores]")[0]
    (config / "sleeplog.ini").write_text(
        service + "[stores]\nmemory = sleeplog.storage.memory_store:MemoryRecordStore\n"
    )

    settings = load_settings(str(config), environ=environ)
    stores = open_stores(settings)
    log = AuditLog(settings.audit.path, fsync="never")
    log.open()
    app = create_app(settings, stores, log, lambda: NOW, accounts)
    client = auth.client_for(auth.user("user").token, app=app)

    created = client.post_json("/api/memory/records", night())
    missing = client.get("/api/mysql/records", status=404)

    assert created.status_int == 201
    assert client.get("/api/memory/records").json == [created.json]
    assert missing.json["error"]["message"] == (
        "There is no store 'mysql'; the stores are memory."
    )


def test_failed_undo_still_answers_503_and_says_so_in_the_log(
    client, stores, audit_log, caplog
):
    def fail(entry):
        raise AuditLogUnavailableError("The audit log cannot be written: disk full.")

    def refuse(record_id):
        raise StorageUnavailableError("Redis is unavailable: timed out.")

    audit_log.append = fail
    stores["redis"].delete = refuse

    response = client.post_json("/api/redis/records", night(), status=503)

    assert response.content_type == "application/json"
    assert "could not be undone" in caplog.text
    # The record stays; a retry is idempotent and answers 200.
    assert stores["redis"].count() == 1


def test_secrets_in_query_strings_are_redacted(admin, audit_log):
    admin.get("/api/log?limit=1&access_token=abc123&Password=hunter2&status=200")

    entry = log_entries(audit_log)[-1]

    assert entry["query"] == (
        "limit=1&access_token=REDACTED&Password=REDACTED&status=200"
    )
