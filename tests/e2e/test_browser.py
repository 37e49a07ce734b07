"""The pages in a real browser, against a real ``sleeplog-serve``.

Debian's ``chromium``, driven by playwright-core from
``frontend/e2e/run.mjs``, follows one person's path through the pages (see
that script). The server runs on this run's database, Redis prefix and log.
Every page is saved as a PNG under ``screenshots/`` (ignored by git).

The test runs only when ``SLEEPLOG_E2E=1`` (``scripts/test`` sets it and
runs it once, after tox): it needs Node.js, ``npm ci`` in ``frontend/`` and
``/usr/bin/chromium``.
"""

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("SLEEPLOG_E2E") != "1",
        reason="browser tests run with SLEEPLOG_E2E=1 (scripts/test does)",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
SCREENSHOTS = ROOT / "screenshots"
BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("SLEEPLOG_E2E_CHROMIUM", "/usr/bin/chromium")
ZONE = ZoneInfo("Europe/Moscow")
SUPERUSER = "root-e2e"
SUPERUSER_PASSWORD = "e2e superuser password"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def server(test_environ, mysql_database, redis_client, tmp_path):
    """A sleeplog-serve on a free port, with a superuser; stopped afterwards."""
    port = free_port()
    environ = dict(os.environ)
    environ.update(test_environ)
    environ.update(
        SLEEPLOG_SERVER_PORT=str(port),
        SLEEPLOG_AUDIT_PATH=str(tmp_path / "log.json"),
        SLEEPLOG_SUPERUSER_PASSWORD=SUPERUSER_PASSWORD,
    )
    errors = tmp_path / "serve.err"

    with open(errors, "w") as stderr:
        process = subprocess.Popen(
            [str(BIN / "sleeplog-serve")],
            env=environ,
            stderr=stderr,
            stdout=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(url, process, errors)
            created = subprocess.run(
                [str(BIN / "sleeplog"), "create-superuser", SUPERUSER],
                env=environ,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert created.returncode == 0, created.stderr
            yield {"url": url, "log": tmp_path / "log.json", "errors": errors}
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def _wait_until_up(url, process, errors):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, errors.read_text()
        try:
            requests.get(url + "/livez", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("sleeplog-serve did not start: " + errors.read_text())


def wall(day, hour, minute=0):
    """A ``datetime-local`` value: ``day`` at ``hour:minute``."""
    return datetime(day.year, day.month, day.day, hour, minute).strftime(
        "%Y-%m-%dT%H:%M"
    )


def import_file(path, today):
    """A CSV of the last fortnight's nights in Moscow, two of them too short.

    The last row ends before it starts and is rejected.
    """
    hours = [7.5, 8, 6.5, 5, 7, 8.5, 7, 6, 4.5, 7.5, 8, 7]
    rows = [("start", "end", "timezone", "source", "note")]
    for offset, length in enumerate(hours, start=3):
        evening = today - timedelta(days=offset)
        start = datetime(evening.year, evening.month, evening.day, 23, 0)
        end = start + timedelta(hours=length)
        rows.append(
            (
                start.isoformat(),
                end.isoformat(),
                "Europe/Moscow",
                "diary",
                "imported e2e",
            )
        )
    backwards = today - timedelta(days=20)
    rows.append(
        (
            f"{wall(backwards, 23)}:00",
            f"{wall(backwards, 22)}:00",
            "Europe/Moscow",
            "",
            "",
        )
    )
    with open(path, "w", newline="") as file:
        csv.writer(file).writerows(rows)


def test_the_path_through_the_pages(server, tmp_path):
    node = shutil.which("node")
    assert node, "Node.js is needed: scripts/test installs it"
    assert (FRONTEND / "node_modules/playwright-core").is_dir(), (
        "run npm ci in frontend/"
    )
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is needed: apt-get install chromium"

    today = datetime.now(ZONE).date()
    two_days_ago = today - timedelta(days=2)
    yesterday = today - timedelta(days=1)
    short = {
        "start": wall(two_days_ago, 23, 30),
        "end": wall(yesterday, 3, 30),
        "date": two_days_ago.isoformat(),
    }
    long = {"start": wall(yesterday, 22, 45), "end": wall(today, 6, 40)}
    csv_path = tmp_path / "nights.csv"
    import_file(csv_path, today)
    SCREENSHOTS.mkdir(exist_ok=True)

    environ = dict(os.environ)
    environ.update(
        SLEEPLOG_E2E_URL=server["url"],
        SLEEPLOG_E2E_SCREENSHOTS=str(SCREENSHOTS),
        SLEEPLOG_E2E_IMPORT_FILE=str(csv_path),
        SLEEPLOG_E2E_SUPERUSER=SUPERUSER,
        SLEEPLOG_E2E_SUPERUSER_PASSWORD=SUPERUSER_PASSWORD,
        SLEEPLOG_E2E_SHORT_NIGHT=json.dumps(short),
        SLEEPLOG_E2E_LONG_NIGHT=json.dumps(long),
        SLEEPLOG_E2E_CHROMIUM=CHROMIUM,
    )
    result = subprocess.run(
        [node, str(FRONTEND / "e2e/run.mjs")],
        env=environ,
        capture_output=True,
        text=True,
        timeout=150,
    )

    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not ok" not in result.stdout
    _check_the_trail(server)
    for name in ("01-login", "03-records-redis", "04-records-mysql", "05-main"):
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10000


def _check_the_trail(server):
    """The log holds what the browser did, and no password."""
    entries = json.loads(server["log"].read_text())
    seen = {(e["method"], e["path"], e["status"]) for e in entries}
    text = server["log"].read_text() + server["errors"].read_text()

    assert ("POST", "/api/auth/register", 201) in seen
    assert ("POST", "/api/mysql/records", 201) in seen
    assert ("POST", "/api/redis/records", 201) in seen
    assert ("POST", "/api/mysql/imports", 200) in seen
    assert ("POST", "/api/auth/logout-all", 204) in seen
    assert any(m == "PATCH" and p.startswith("/api/users/") for m, p, _ in seen)
    assert ("GET", "/", 200) in seen
    assert "correct horse battery" not in text
    assert SUPERUSER_PASSWORD not in text
