"""A large import through the real ``sleeplog-serve`` and waitress."""

import secrets
import socket
from datetime import datetime, timedelta, timezone

import pytest
import requests

from test_serve import Server

pytestmark = pytest.mark.slow


@pytest.fixture()
def server(test_environ, mysql_database, redis_client, tmp_path):
    server = Server(test_environ, tmp_path).start()
    yield server
    server.stop()


def generic_csv(rows):
    first = datetime(1990, 1, 1, 23, tzinfo=timezone.utc)
    lines = ["start,end,timezone,source,note"]
    for half_day in range(rows):
        start = first + timedelta(hours=12 * half_day)
        end = start + timedelta(hours=8)
        lines.append(
            f"{start:%Y-%m-%dT%H:%M:%SZ},{end:%Y-%m-%dT%H:%M:%SZ},,,{'n' * 30}"
        )
    return ("\n".join(lines) + "\n").encode()


def test_an_import_larger_than_the_server_body_limit_gets_through(
    server, secret_registry
):
    session = requests.Session()
    nickname = "big" + secrets.token_hex(4)
    password = "pw-" + secrets.token_urlsafe(12)
    secret_registry.add(password)
    account = {"nickname": nickname, "password": password}
    session.post(server.url + "/api/auth/register", json=account, timeout=30)
    token = session.post(server.url + "/api/auth/login", json=account, timeout=30)
    secret_registry.add(token.json()["token"])
    session.headers["Authorization"] = "Bearer " + token.json()["token"]
    body = generic_csv(20000)
    assert len(body) > 1048576  # [server] max_body_bytes

    answer = session.post(server.url + "/api/mysql/imports", data=body, timeout=120)

    assert answer.status_code == 200, answer.text
    assert (answer.json()["read"], answer.json()["stored"]) == (20000, 20000)
    [entry] = [e for e in server.log() if e["path"] == "/api/mysql/imports"]
    assert entry["data"] == {"format": "csv", "file_bytes": len(body)}
    assert entry["summary"]["stored"] == 20000


def test_an_import_over_its_limit_is_refused_before_it_is_sent(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/mysql/imports HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 209715201\r\n\r\n"  # [imports] max_body_bytes + 1
        )
        answer = sock.recv(65536).decode()

    assert answer.startswith("HTTP/1.1 413 ")
