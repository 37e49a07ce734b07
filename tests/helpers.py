"""Small helpers the test modules share (fixtures live in conftest.py)."""

import json
from datetime import datetime, timezone

import webtest

#: A fixed "now" for validation, so tests never depend on the clock.
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)


def log_entries(audit_log):
    """Everything in the audit log, read the way any reader would."""
    with open(audit_log.path, encoding="utf-8") as file:
        return json.load(file)


def night(**fields):
    """A valid record body: 23:00 to 07:00 Moscow time, plus ``fields``."""
    body = {"start": "2024-05-01T23:00:00+03:00", "end": "2024-05-02T07:00:00+03:00"}
    body.update(fields)
    return body


def make_client(app):
    """A webtest client whose requests come from 127.0.0.1, as over loopback."""
    return webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
