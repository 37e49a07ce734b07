"""Every way a request can go wrong, its status, and the one JSON error shape."""

import copy
import json
from wsgiref.util import setup_testing_defaults

import pytest

from helpers import log_entries, night

URL = "/api/memory/records"


def assert_error_shape(response, status):
    assert response.status_int == status
    assert response.content_type == "application/json"
    body = response.json
    assert list(body) == ["error"]
    assert set(body["error"]) == {"status", "message", "details", "request_id"}
    assert body["error"]["status"] == status
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], list)
    assert body["error"]["request_id"] == response.headers["X-Request-ID"]
    return body["error"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{", "not valid JSON"),
        (b'{"start": "2024-05-01T23:00:00Z",}', "not valid JSON"),
        (b'{"note": "\xff\xfe"}', "not valid UTF-8"),
        (b'{"start": NaN}', "NaN"),
        (b'{"start": Infinity}', "Infinity"),
        (b'{"start": -Infinity}', "-Infinity"),
        (b'{"start": 1e400}', "too large"),
        (b'{"note": "a", "note": "b"}', "appears twice"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
        (b'[{"start": "2024-05-01T23:00:00Z"}]', "must be a JSON object"),
        (b'"a string"', "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b"", "empty"),
        (b"   ", "empty"),
        (b'{"start": ' + b"9" * 5000 + b"}", "number too long"),
    ],
)
def test_unreadable_bodies_are_400(client, body, words):
    response = client.post(
        URL, body, content_type="application/json", expect_errors=True
    )

    error = assert_error_shape(response, 400)
    assert words in error["message"]


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
    ],
)
def test_wrong_content_type_is_415(client, content_type):
    response = client.post(
        URL, json.dumps(night()), content_type=content_type, expect_errors=True
    )

    assert_error_shape(response, 415)


def test_missing_content_type_is_415(client):
    response = client.post(URL, json.dumps(night()), expect_errors=True)

    assert_error_shape(response, 415)


def test_body_over_the_limit_is_413_before_reading(app, settings, client):
    limit = settings.server.max_body_bytes

    class Unreadable:
        def read(self, *args):
            raise AssertionError("the body was read")

    environ = {}
    setup_testing_defaults(environ)
    environ.update(
        REQUEST_METHOD="POST",
        PATH_INFO=URL,
        CONTENT_TYPE="application/json",
        CONTENT_LENGTH=str(limit + 1),
        HTTP_AUTHORIZATION=f"Bearer {client.token}",
    )
    environ["wsgi.input"] = Unreadable()
    started = []

    body = b"".join(app(environ, lambda status, headers: started.append(status)))

    assert started == ["413 Payload Too Large"]
    error = json.loads(body)["error"]
    assert error["status"] == 413
    assert error["message"] == (
        f"The request body is {limit + 1} bytes; the limit is {limit}."
    )


def test_body_just_under_the_limit_is_read(client, settings):
    padding = settings.server.max_body_bytes - len(json.dumps(night(note=""))) - 10
    body = json.dumps(night(note="x" * padding))

    response = client.post(URL, body, content_type="application/json", status=422)

    assert response.json["error"]["details"] == [
        {"field": "note", "message": "must be at most 1000 characters long"}
    ]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({}, {"start": "is required", "end": "is required"}),
        (night(end="2024-05-01T22:00:00+03:00"), {"end": "must be after start"}),
        (night(end="2024-05-01T23:00:00+03:00"), {"end": "must be after start"}),
        (
            night(end="2024-05-02T23:00:01+03:00"),
            {"end": "a sleep record lasts at most 24 hours"},
        ),
        (
            # NOW is 2024-06-01T12:00Z; one second more than a day ahead.
            {"start": "2024-06-02T12:00:01Z", "end": "2024-06-02T13:00:00Z"},
            {"start": "must be at most 24 hours in the future"},
        ),
        (
            night(colour="blue", mood=3),
            {
                "colour": "is not a field of a sleep record",
                "mood": "is not a field of a sleep record",
            },
        ),
        (
            night(start="2024-05-01 23:00"),
            {
                "start": "must be an RFC 3339 timestamp such as "
                "2024-03-01T23:15:00+01:00"
            },
        ),
        (
            night(start="2024-02-30T23:00:00Z"),
            {"start": "is not a real date and time (day is out of range for month)"},
        ),
        (
            night(start="2024-05-01T23:00:00"),
            {
                "start": "has no UTC offset; add one (such as +03:00 or Z) "
                "or give a timezone"
            },
        ),
        (
            night(timezone="Mars/Olympus"),
            {"timezone": "'Mars/Olympus' is not a known IANA time zone"},
        ),
        (
            night(timezone="../../etc/passwd"),
            {"timezone": "is not an IANA time zone name such as Europe/Moscow"},
        ),
        (
            night(timezone="Europe/Berlin"),
            {
                "start": "its UTC offset does not match Europe/Berlin at that moment",
                "end": "its UTC offset does not match Europe/Berlin at that moment",
            },
        ),
        (
            night(
                start="2024-03-31T02:30:00",
                end="2024-03-31T08:00:00",
                timezone="Europe/Berlin",
            ),
            {
                "start": "2024-03-31T02:30:00 does not exist in Europe/Berlin: "
                "the clocks skipped it when daylight-saving time began"
            },
        ),
        (night(source="s" * 65), {"source": "must be at most 64 characters long"}),
        (night(note="n" * 1001), {"note": "must be at most 1000 characters long"}),
        (night(source=7), {"source": "must be a string"}),
        (night(start=1714593600), {"start": "must be a string in RFC 3339 form"}),
        (night(note="\ud800"), {"note": "is not valid Unicode text"}),
        (
            {"start": "1969-12-31T23:00:00Z", "end": "1970-01-01T01:00:00Z"},
            {"start": "must not be before 1970"},
        ),
    ],
)
def test_failed_validation_is_422_naming_each_field(client, payload, expected):
    response = client.post_json(URL, payload, expect_errors=True)

    error = assert_error_shape(response, 422)
    assert {d["field"]: d["message"] for d in error["details"]} == expected
    for field in expected:
        assert field in error["message"]


def test_limits_are_inclusive(client):
    payload = night(
        end="2024-05-02T23:00:00+03:00", source="s" * 64, note="\u2603" * 1000
    )

    response = client.post_json(URL, payload)

    assert response.status_int == 201


def test_unknown_route_is_404(client):
    error = assert_error_shape(client.get("/api/nothing", expect_errors=True), 404)

    assert error["message"] == "There is nothing at /api/nothing."


def test_wrong_method_is_405_with_allow(client):
    response = client.delete(URL, expect_errors=True)

    error = assert_error_shape(response, 405)
    assert response.headers["Allow"] == "GET,POST"
    assert error["details"] == [{"allowed": "GET,POST"}]


def test_unexpected_failure_is_500_without_traceback(client, stores, caplog):
    def explode(record):
        raise RuntimeError("secret internals")

    stores["memory"].save = explode

    response = client.post_json(URL, night(), expect_errors=True)

    error = assert_error_shape(response, 500)
    assert "secret" not in response.text and "Traceback" not in response.text
    assert error["message"] == "Something went wrong on our side."
    assert "secret internals" in caplog.text


def test_client_request_id_is_kept_when_sane(client):
    kept = client.get("/livez", headers={"X-Request-ID": "abc-123"})
    replaced = client.get("/livez", headers={"X-Request-ID": "no spaces <here>"})

    assert kept.headers["X-Request-ID"] == "abc-123"
    assert len(replaced.headers["X-Request-ID"]) == 32


def test_errors_are_audited(client, audit_log):
    client.get("/api/nothing", expect_errors=True)
    client.delete(URL, expect_errors=True)
    client.post_json(URL, {}, expect_errors=True)

    entries = log_entries(audit_log)

    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/api/nothing", 404),
        ("DELETE", URL, 405),
        ("POST", URL, 422),
    ]
    assert entries[2]["summary"] == {
        "error": "The sleep record is not valid: start, end.",
        "details": [
            {"field": "start", "message": "is required"},
            {"field": "end", "message": "is required"},
        ],
    }


def test_auth_errors_have_the_shape(anonymous, auth, accounts, secret_registry):
    viewer = auth.user("viewer")
    taken = {"nickname": viewer.user.nickname, "password": "long-enough-pw"}
    secret_registry.add("long-enough-pw")
    # A copy: the settings are shared by the whole run.
    accounts.config = copy.copy(accounts.config)
    accounts.config.login_max_failures = 1
    wrong = {"nickname": viewer.user.nickname, "password": "wrong-password"}

    no_token = anonymous.get(URL, expect_errors=True)
    forbidden = viewer.client.post_json(URL, night(), expect_errors=True)
    conflict = anonymous.post_json("/api/auth/register", taken, expect_errors=True)
    first = anonymous.post_json("/api/auth/login", wrong, expect_errors=True)
    throttled = anonymous.post_json("/api/auth/login", wrong, expect_errors=True)

    assert_error_shape(no_token, 401)
    assert no_token.headers["WWW-Authenticate"] == 'Bearer realm="sleeplog"'
    assert_error_shape(forbidden, 403)
    assert_error_shape(conflict, 409)
    assert_error_shape(first, 401)
    assert_error_shape(throttled, 429)
    assert 1 <= int(throttled.headers["Retry-After"]) <= 900


FAR = "is too far from the present"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            night(
                start="0001-01-01T00:00:00+01:00",
                end="0001-01-01T05:00:00+01:00",
                timezone="Europe/Paris",
            ),
            # 00:00+01:00 on 1 January of year 1 is still in year 0 in UTC;
            # Paris was at +00:09:21 then, which 05:00+01:00 does not match.
            {
                "start": FAR,
                "end": "its UTC offset does not match Europe/Paris at that moment",
            },
        ),
        (
            {
                "start": "0001-01-01T00:00:00",
                "end": "0001-01-01T05:00:00",
                "timezone": "Europe/Moscow",
            },
            # Moscow was at +02:30:17, so only the start falls before year 1.
            {"start": FAR},
        ),
        (
            {
                "start": "9999-12-31T20:00:00",
                "end": "9999-12-31T23:00:00",
                "timezone": "America/New_York",
            },
            {"start": FAR, "end": FAR},
        ),
        (
            {"start": "9500-01-01T00:00:00Z", "end": "9500-01-01T05:00:00Z"},
            {
                "start": "must be before the year 9000",
                "end": "must be before the year 9000",
            },
        ),
        (
            night(timezone="localtime"),
            {"timezone": "'localtime' is not a known IANA time zone"},
        ),
        (
            night(timezone="posix/Europe/Moscow"),
            {"timezone": "'posix/Europe/Moscow' is not a known IANA time zone"},
        ),
    ],
)
def test_edges_of_time_are_422_not_500(client, payload, expected):
    response = client.post_json(URL, payload, expect_errors=True)

    error = assert_error_shape(response, 422)
    assert {d["field"]: d["message"] for d in error["details"]} == expected


def test_many_unknown_fields_are_counted_not_listed(client):
    payload = night(**{f"f{number:02d}": 1 for number in range(25)})

    response = client.post_json(URL, payload, expect_errors=True)

    error = assert_error_shape(response, 422)
    assert [d["field"] for d in error["details"]] == [
        f"f{number:02d}" for number in range(20)
    ] + [None]
    assert error["details"][-1]["message"] == (
        "and 5 more fields that a sleep record does not have"
    )


def test_a_lone_surrogate_in_a_field_name_is_named_safely(client):
    body = (
        b'{"\\ud800": 1, '
        b'"start": "2024-05-01T23:00:00Z", "end": "2024-05-02T06:00:00Z"}'
    )

    response = client.post(
        URL, body, content_type="application/json", expect_errors=True
    )

    error = assert_error_shape(response, 422)
    assert error["details"] == [
        {"field": "\ud800", "message": "is not a field of a sleep record"}
    ]
