"""The real ``sleeplog-serve`` process, spoken to over HTTP, with tokens.

Each server's standard error and log.json go to the secrets registry: the
last test of the run finds no password or token in them.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from auth_helpers import new_password
from helpers import night

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parent / "data"
SERVE = str(Path(sys.executable).parent / "sleeplog-serve")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, environ, tmp_path, registry=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "log.json"
        self.environ = dict(os.environ)
        self.environ.update(environ)
        self.environ.update(
            SLEEPLOG_SERVER_PORT=str(self.port),
            SLEEPLOG_AUDIT_PATH=str(self.log_path),
            SLEEPLOG_SERVER_DRAIN_SECONDS="10",
        )
        self.stderr_path = tmp_path / "serve.err"
        self.registry = registry
        self.headers = {}
        self.owner = None
        if registry is not None:
            registry.add_path(self.log_path)
            registry.add_path(self.stderr_path)

    def log_in(self):
        """Register a user of its own and log in; requests then send its token."""
        password = new_password(self.registry)
        self.nickname = f"serve-{self.port}"
        account = {"nickname": self.nickname, "password": password}
        registered = requests.post(
            self.url + "/api/auth/register", json=account, timeout=10
        )
        answer = requests.post(self.url + "/api/auth/login", json=account, timeout=10)
        assert (registered.status_code, answer.status_code) == (201, 200)

        token = answer.json()["token"]
        self.registry.add(token)
        self.owner = str(registered.json()["id"])
        self.headers = {"Authorization": f"Bearer {token}"}
        return self

    def start(self):
        self.stderr = open(self.stderr_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [SERVE], env=self.environ, stderr=self.stderr, stdout=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.errors()
            try:
                requests.get(self.url + "/livez", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError("sleeplog-serve did not start: " + self.errors())

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self.stderr.close()
        return code

    def errors(self):
        if not self.stderr.closed:
            self.stderr.flush()
        return self.stderr_path.read_text()

    def log(self):
        return json.loads(self.log_path.read_text())


@pytest.fixture()
def server(test_environ, mysql_database, redis_client, tmp_path, secret_registry):
    server = Server(test_environ, tmp_path, secret_registry).start().log_in()
    yield server
    server.stop()


def test_serves_records_over_http(server):
    url = server.url + "/api/redis/records"
    created = requests.post(url, json=night(), headers=server.headers, timeout=5)
    listed = requests.get(url, headers=server.headers, timeout=5)
    refused = requests.get(url, timeout=5)

    assert created.status_code == 201
    assert created.json()["owner"] == server.owner
    assert created.json()["id"] in [r["id"] for r in listed.json()]
    assert listed.headers["Content-Type"] == "application/json; charset=utf-8"
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="sleeplog"'
    entries = server.log()
    assert [e["status"] for e in entries][-3:] == [201, 200, 401]
    user = {"id": int(server.owner), "nickname": server.nickname}
    assert entries[-2]["user"] == user


def test_logs_one_start_up_line(server):
    lines = [line for line in server.errors().splitlines() if "serving" in line]

    assert len(lines) == 1
    assert f"serving http://127.0.0.1:{server.port} with 4 threads" in lines[0]
    assert "stores mysql, redis" in lines[0]


def test_real_sleep_as_android_export_round_trip(server):
    """Every record of the shared export, posted to both stores and read back."""
    records = json.loads((DATA / "sleep_as_android_records.json").read_text())
    answers = {"mysql": [], "redis": []}

    for store in answers:
        for record in records:
            response = requests.post(
                f"{server.url}/api/{store}/records",
                json=record,
                headers=server.headers,
                timeout=5,
            )
            answers[store].append(response)

    for store, responses in answers.items():
        statuses = [r.status_code for r in responses]
        # Two records in the export last zero minutes (08:54-08:54, 08:50-08:50).
        assert statuses == [201] * 7 + [422, 422] + [201] * 3
        assert responses[7].json()["error"]["details"] == [
            {"field": "end", "message": "must be after start"}
        ]
        listed = requests.get(
            f"{server.url}/api/{store}/records", headers=server.headers, timeout=5
        ).json()
        stored = [r for r in listed if r["owner"] == server.owner]
        # UTC comes back written as Z, the same offset as +00:00.
        kept = sorted(
            (
                r["start"].replace("+00:00", "Z"),
                r["end"].replace("+00:00", "Z"),
                r.get("note"),
            )
            for r in records
            if r["start"] != r["end"]
        )
        assert [(r["start"], r["end"], r["note"]) for r in stored] == kept

    posts = [e for e in server.log() if e["path"].endswith("/records")]
    posts = [e for e in posts if e["method"] == "POST"]
    assert len(posts) == 24
    assert posts[9]["data"]["note"].startswith('\u20ac\u00a5$\u03c0\\,"')


def test_sigterm_finishes_the_request_in_flight(server):
    body = json.dumps(night()).encode()
    head = (
        "POST /api/mysql/records HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        f"Authorization: {server.headers['Authorization']}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head + body[:10])
        time.sleep(0.3)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert server.process.poll() is None
        sock.sendall(body[10:])
        answer = sock.recv(65536).decode()

    assert answer.startswith("HTTP/1.1 201 ")
    assert server.process.wait(timeout=15) == 0
    assert "sleeplog stopped" in server.errors()
    assert server.log()[-1]["status"] == 201


def test_sigint_exits_zero(server):
    server.process.send_signal(signal.SIGINT)

    assert server.process.wait(timeout=15) == 0


def test_oversized_body_is_refused_before_it_is_read(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/mysql/records HTTP/1.1\r\n"
            b"Host: x\r\nContent-Type: application/json\r\n"
            # Over waitress's limit, the larger of [server] and [imports].
            b"Content-Length: 500000000\r\n\r\n"
        )
        answer = sock.recv(65536).decode()

    assert answer.startswith("HTTP/1.1 413 ")


def test_torn_log_tail_is_repaired_at_start_up(test_environ, mysql_database, tmp_path):
    server = Server(test_environ, tmp_path)
    server.log_path.write_bytes(b'[\n{"kept":1},\n{"kept":2},\n{"torn":')

    server.start()
    requests.get(server.url + "/livez", timeout=5)
    code = server.stop()

    assert code == 0
    entries = server.log()
    assert entries[:2] == [{"kept": 1}, {"kept": 2}]
    assert entries[2]["path"] == "/livez"
    torn = list(tmp_path.glob("log.json.torn-*"))
    assert len(torn) == 1
    assert torn[0].read_bytes().endswith(b'{"torn":')
    assert "torn" in server.errors()


def test_start_up_fails_cleanly_when_mysql_is_down(test_environ, tmp_path):
    environ = dict(
        test_environ, SLEEPLOG_MYSQL_PORT="1", SLEEPLOG_MYSQL_CONNECT_TIMEOUT="1"
    )
    server = Server(environ, tmp_path)

    result = subprocess.run(
        [SERVE], env=server.environ, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 1
    assert result.stderr.startswith("sleeplog-serve: MySQL")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("value", [None, "", "CHANGE-ME"])
def test_start_up_refuses_a_missing_or_placeholder_secret(
    test_environ, tmp_path, value
):
    environ = dict(test_environ)
    del environ["SLEEPLOG_AUTH_SECRET_KEYS"]
    if value is not None:
        environ["SLEEPLOG_AUTH_SECRET_KEYS"] = value
    server = Server(environ, tmp_path)
    server.environ.pop("SLEEPLOG_AUTH_SECRET_KEYS", None)
    server.environ.update(environ)

    result = subprocess.run(
        [SERVE], env=server.environ, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("sleeplog-serve: ")
    assert "[auth] secret_keys" in result.stderr
    assert "SLEEPLOG_AUTH_SECRET_KEYS" in result.stderr


def test_forwarded_for_is_believed_from_a_trusted_proxy_only(
    test_environ, mysql_database, redis_client, tmp_path, secret_registry
):
    environ = dict(test_environ, SLEEPLOG_SERVER_TRUSTED_PROXIES="127.0.0.1")
    server = Server(environ, tmp_path, secret_registry).start().log_in()
    try:
        # The test talks to the server over loopback, the trusted proxy here.
        proxied = requests.post(
            server.url + "/api/mysql/records",
            json=night(),
            headers=dict(server.headers, **{"X-Forwarded-For": "203.0.113.9"}),
            timeout=5,
        )
    finally:
        server.stop()

    assert proxied.json()["client"] == "203.0.113.9"
    assert server.log()[-1]["client"] == "203.0.113.9"


def test_a_port_in_use_stops_start_up_with_one_line(server):
    environ = dict(server.environ)

    result = subprocess.run(
        [SERVE], env=environ, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 1
    assert result.stderr == (
        f"sleeplog-serve: cannot listen on 127.0.0.1:{server.port}: "
        "Address already in use\n"
    )
