"""``POST /api/<store>/imports`` against MySQL and Redis, through the app."""

import types
from urllib.parse import urlencode

import pytest

from conftest import DATA_DIR
from helpers import NOW, log_entries
from sleeplog.web.app import create_app

STORES = ["mysql", "redis"]
SAA = "sleep_as_android_sleep-export.csv"


def post_file(client, store, name, status=200, **query):
    body = (DATA_DIR / name).read_bytes()
    return client.post(
        url(store, **query),
        body,
        headers={"Content-Type": "application/octet-stream"},
        status=status,
    )


def url(store, **query):
    return f"/api/{store}/imports" + (f"?{urlencode(query)}" if query else "")


@pytest.mark.parametrize("store", STORES)
def test_importing_the_same_file_twice_stores_it_once(client, store, stores):
    first = post_file(client, store, SAA)
    second = post_file(client, store, SAA)

    assert first.status_int == 200
    assert first.json["format"] == "sleep-as-android"
    assert (first.json["read"], first.json["stored"]) == (12, 10)
    assert first.json["already_present"] == 0
    assert first.json["rejections"] == [
        {"position": "line 16", "reason": "end: must be after start"},
        {"position": "line 18", "reason": "end: must be after start"},
    ]
    assert (second.json["stored"], second.json["already_present"]) == (0, 10)
    assert stores[store].count() == 10


@pytest.mark.parametrize("store", STORES)
def test_records_belong_to_the_caller_and_keep_their_source(client, store):
    post_file(client, store, "apple_health_export.xml")
    listed = client.get(f"/api/{store}/records").json

    assert len(listed) == 6
    assert listed[0]["source"] == "Sleep Cycle"
    assert listed[0]["start"] == "2020-07-08T01:05:06+01:00"
    assert listed[0]["client"] == "127.0.0.1"
    assert {item["owner"] for item in listed} == {client.user.owner}


@pytest.mark.parametrize("store", STORES)
def test_fitbit_times_are_read_in_the_callers_zone(client, store):
    client.patch_json("/api/me", {"timezone": "America/New_York"})

    answer = post_file(client, store, "fitbit_api_v1.2_sleep_date_range.json")
    listed = client.get(f"/api/{store}/records").json

    assert answer.json["stored"] == 2
    assert [(r["start"], r["end"]) for r in listed] == [
        ("2016-12-13T01:16:00-05:00", "2016-12-13T03:14:00-05:00"),
        ("2016-12-13T09:59:00-05:00", "2016-12-13T11:02:30-05:00"),
    ]


def test_the_timezone_parameter_wins_over_the_callers_zone(client):
    client.patch_json("/api/me", {"timezone": "America/New_York"})

    post_file(
        client,
        "mysql",
        "fitbit_export/sleep-2021-02-27.json",
        timezone="Europe/London",
        format="fitbit",
    )
    listed = client.get("/api/mysql/records").json

    assert listed[2]["start"] == "2021-03-27T23:30:00Z"
    assert listed[2]["end"] == "2021-03-28T07:30:00+01:00"


def test_dry_run_stores_nothing(client, stores):
    answer = post_file(client, "redis", SAA, dry_run="true")

    assert (answer.json["dry_run"], answer.json["valid"]) == (True, 10)
    assert stores["redis"].count() == 0


def test_every_import_writes_one_audit_entry_with_the_summary(client, audit_log):
    answer = post_file(client, "mysql", SAA)

    [entry] = [e for e in log_entries(audit_log) if e["path"] == "/api/mysql/imports"]
    assert entry["status"] == 200
    assert entry["summary"] == answer.json
    size = (DATA_DIR / SAA).stat().st_size
    assert entry["data"] == {"format": "sleep-as-android", "file_bytes": size}
    assert "Manually added" not in str(entry)


@pytest.mark.parametrize(
    "body, query, status, message",
    [
        (b"", {}, 400, "The request body is empty"),
        (b"\x00\x01 binary", {}, 400, "none of the formats"),
        (b'{"sleep": [}', {}, 400, "cannot be read at line 1"),
        (b"start,end\n", {"format": "gpx"}, 422, "no import format"),
        (b"start,end\n", {"timezone": "Nowhere/City"}, 422, "time zone"),
        (b"start,end\n", {"dry_run": "maybe"}, 422, "dry_run"),
        (b'{"sleep": [{"logId": ' + b"9" * 5000 + b"}]}", {}, 400, "number too long"),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE HealthData [\n<!ENTITY a "x">\n]>\n'
            b'<HealthData><Record sourceName="&a;"/></HealthData>',
            {},
            400,
            "cannot be read at line 3: it declares an XML entity",
        ),
    ],
)
def test_unreadable_files_and_bad_parameters(
    client, stores, body, query, status, message
):
    answer = client.post(url("mysql", **query), body, status=status)

    assert message in answer.json["error"]["message"]
    assert stores["mysql"].count() == 0


def test_a_file_over_the_import_limit_is_refused_before_it_is_read(
    settings, stores, audit_log, accounts, auth
):
    small = types.SimpleNamespace(**vars(settings))
    small.imports = types.SimpleNamespace(max_body_bytes=1024, batch_size=1000)
    app = create_app(small, stores, audit_log, clock=lambda: NOW, accounts=accounts)
    client = auth.client_for(auth.user().token, app=_unreadable_imports(app))

    answer = post_file(client, "mysql", SAA, status=413)

    size = (DATA_DIR / SAA).stat().st_size
    assert answer.json["error"]["message"] == (
        f"The request body is {size} bytes; the limit is 1024."
    )
    assert stores["mysql"].count() == 0


def _unreadable_imports(app):
    """``app``, with import bodies that fail the test if anything reads them."""

    class Unreadable:
        def read(self, *args):
            raise AssertionError("the body was read")

        readline = read

    def wrapper(environ, start_response):
        if environ["PATH_INFO"].endswith("/imports"):
            environ["wsgi.input"] = Unreadable()
        return app(environ, start_response)

    return wrapper


def test_a_refused_file_leaves_an_audit_entry_without_the_file(client, audit_log):
    client.post(url("mysql"), b"\x00\x01 binary", status=400)

    [entry] = [e for e in log_entries(audit_log) if e["path"] == "/api/mysql/imports"]
    assert entry["status"] == 400
    assert entry["data"] == {"format": "auto", "file_bytes": 9}
    assert entry["summary"]["error"].startswith("The file is in none of the formats")
