"""The violators report and the statistics over HTTP, against both stores.

The clock of the app stands at 2024-06-01T12:00Z (helpers.NOW); every user
made by ``auth`` lives in UTC, so nights run 22:00Z to 06:00Z.
"""

import argparse
import csv
import io
import json
from datetime import date, datetime, timedelta, timezone

import pytest

from sleeplog import report_cli
from sleeplog.web.app import create_app
from test_services_nights import CASES

pytestmark = pytest.mark.usefixtures("stores")

FINE = {"start": "2024-05-01T23:00:00Z", "end": "2024-05-02T07:00:00Z"}
# Night of 2 May: 01:00-09:00 on the 3rd overlaps 22:00-06:00 for 5 h.
SHORT = {"start": "2024-05-03T01:00:00Z", "end": "2024-05-03T09:00:00Z"}
# Night of 3 May: 22:00-04:00 is exactly 6 h, fine.
EXACT = {"start": "2024-05-03T22:00:00Z", "end": "2024-05-04T04:00:00Z"}

MAY_2 = {
    "date": "2024-05-02",
    "minutes": 300,
    "total_minutes": 480,
    "window_start": "2024-05-02T22:00:00Z",
    "window_end": "2024-05-03T06:00:00Z",
    "timezone": "UTC",
    "violated": True,
    "clients": ["127.0.0.1"],
}


def post(client, store, record):
    client.post_json(f"/api/{store}/records", record)


def report(client, **query):
    query.setdefault("from", "2024-05-01")
    query.setdefault("to", "2024-05-03")
    return client.get("/api/reports/violators", query)


def test_own_report_lists_the_short_night(auth):
    alice = auth.user()
    for record in (FINE, SHORT, EXACT):
        post(alice.client, "mysql", record)

    body = report(alice.client).json

    assert body["from"] == "2024-05-01"
    assert body["to"] == "2024-05-03"
    # The test app serves a memory store beside the two real ones.
    assert body["stores"] == ["memory", "mysql", "redis"]
    assert body["rule"] == {
        "evening": "22:00",
        "morning": "06:00",
        "threshold_minutes": 360,
    }
    assert body["violators"] == [
        {
            "user_id": alice.id,
            "nickname": alice.user.nickname,
            "owner": alice.owner,
            "clients": ["127.0.0.1"],
            "nights": [MAY_2],
        }
    ]


def test_a_record_in_both_stores_counts_once(auth):
    alice = auth.user()
    # Half of the night in each store would be 5 h; the same 2 h in both is 2 h.
    two_hours = {"start": "2024-05-02T23:00:00Z", "end": "2024-05-03T01:00:00Z"}
    post(alice.client, "mysql", two_hours)
    post(alice.client, "redis", two_hours)

    nights = report(alice.client).json["violators"][0]["nights"]

    assert [(n["date"], n["minutes"]) for n in nights] == [("2024-05-02", 120)]


def test_store_choice(auth):
    alice = auth.user()
    post(alice.client, "redis", SHORT)
    post(alice.client, "mysql", FINE)

    from_mysql = report(alice.client, store="mysql").json["violators"]
    from_redis = report(alice.client, store="redis").json["violators"]

    assert from_mysql == []
    assert [n["date"] for n in from_redis[0]["nights"]] == ["2024-05-02"]


def test_analysts_see_everyone_users_only_themselves(auth):
    alice, bob = auth.user(nickname="alice-r"), auth.user(nickname="Bob-r")
    analyst = auth.user("analyst")
    post(alice.client, "mysql", SHORT)
    post(bob.client, "redis", SHORT)

    seen_by_analyst = report(analyst.client).json["violators"]
    seen_by_alice = report(alice.client).json["violators"]

    # Sorted by nickname without regard to case.
    assert [v["nickname"] for v in seen_by_analyst] == ["alice-r", "Bob-r"]
    assert [v["nickname"] for v in seen_by_alice] == ["alice-r"]


def test_csv_by_accept_header_and_by_parameter(auth):
    alice = auth.user()
    post(alice.client, "mysql", SHORT)

    by_header = alice.client.get(
        "/api/reports/violators",
        {"from": "2024-05-01", "to": "2024-05-03"},
        headers={"Accept": "text/csv"},
    )
    by_parameter = report(alice.client, format="csv")

    assert by_header.content_type == "text/csv"
    assert by_header.body == by_parameter.body
    assert "attachment" in by_header.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(by_header.text)))
    assert rows == [
        [
            "user_id",
            "nickname",
            "date",
            "minutes",
            "total_minutes",
            "window_start",
            "window_end",
            "clients",
        ],
        [
            str(alice.id),
            alice.user.nickname,
            "2024-05-02",
            "300",
            "480",
            "2024-05-02T22:00:00Z",
            "2024-05-03T06:00:00Z",
            "127.0.0.1",
        ],
    ]


def test_default_range_is_the_last_seven_nights(auth):
    alice = auth.user()
    # NOW is 2024-06-01T12:00Z: the default nights are 25 to 31 May.
    post(
        alice.client,
        "mysql",
        {"start": "2024-05-25T02:00:00Z", "end": "2024-05-25T05:00:00Z"},
    )
    post(
        alice.client,
        "mysql",
        {"start": "2024-05-24T02:00:00Z", "end": "2024-05-24T05:00:00Z"},
    )

    body = alice.client.get("/api/reports/violators").json

    assert (body["from"], body["to"]) == ("2024-05-25", "2024-05-31")
    assert body["violators"] == []
    earlier = report(alice.client, **{"from": "2024-05-23", "to": "2024-05-24"})
    # 02:00 on the 25th belongs to the night of the 24th, and so on.
    assert [n["date"] for n in earlier.json["violators"][0]["nights"]] == [
        "2024-05-23",
        "2024-05-24",
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2024-05-04", "to": "2024-05-03"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2024-02-30"}, "to"),
        ({"from": "2023-01-01", "to": "2024-05-03"}, "to"),
        ({"store": "postgres"}, "store"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_report_parameters_are_422(auth, query, field):
    client = auth.client()

    response = client.get("/api/reports/violators", query, status=422)

    assert response.json["error"]["details"][0]["field"] == field


def test_the_report_needs_a_login(auth):
    anonymous = auth.anonymous()

    anonymous.get("/api/reports/violators", status=401)
    anonymous.get("/api/stats", status=401)


def test_own_statistics(auth):
    alice = auth.user()
    # Night of 31 May: 23:00-07:00, 7 h in the window, 8 h in all.
    post(
        alice.client,
        "mysql",
        {"start": "2024-05-31T23:00:00Z", "end": "2024-06-01T07:00:00Z"},
    )
    # Night of 30 May: 01:00-06:00, 5 h, a violation; kept in both stores.
    short = {"start": "2024-05-31T01:00:00Z", "end": "2024-05-31T06:00:00Z"}
    post(alice.client, "mysql", short)
    post(alice.client, "redis", short)
    # Outside the 30 nights, and before the last 7 days.
    post(alice.client, "redis", FINE)

    body = alice.client.get("/api/stats").json
    own = body["own"]

    assert body["everyone"] is None
    assert own["store_counts"] == {"memory": 0, "mysql": 2, "redis": 2}
    assert own["users"] == 1
    assert (own["first_night"], own["last_night"]) == ("2024-05-02", "2024-05-31")
    assert own["records_last_7_days"] == 2
    assert own["evaluated_nights"] == 2
    assert own["average_sleep_minutes"] == (480 + 300) / 2
    assert own["average_window_minutes"] == (420 + 300) / 2
    assert own["violators_last_7_nights"] == 1
    assert len(own["series"]) == 30
    last_two = own["series"][-2:]
    assert [p["date"] for p in last_two] == ["2024-05-30", "2024-05-31"]
    assert [p["minutes_in_window"] for p in last_two] == [300, 420]
    assert [p["total_minutes"] for p in last_two] == [300, 480]
    assert [p["violated"] for p in last_two] == [1, 0]
    # 2 May is the first night: FINE belongs to 1 May, outside the series.
    assert own["series"][0]["evaluated"] == 0


def test_everyones_statistics_need_the_permission(auth):
    alice, analyst = auth.user(), auth.user("analyst")
    post(
        alice.client,
        "mysql",
        {"start": "2024-05-31T01:00:00Z", "end": "2024-05-31T06:00:00Z"},
    )
    users = len(auth.accounts.list_users(limit=100000))

    body = analyst.client.get("/api/stats").json

    assert body["own"]["store_counts"] == {"memory": 0, "mysql": 0, "redis": 0}
    everyone = body["everyone"]
    assert everyone["store_counts"] == {"memory": 0, "mysql": 1, "redis": 0}
    assert everyone["users"] == users
    assert everyone["violators_last_7_nights"] == 1
    assert everyone["series"][-2]["violated"] == 1


def test_the_command_line_report_matches_the_api(auth, settings):
    alice = auth.user()
    post(alice.client, "mysql", SHORT)
    args = argparse.Namespace(
        kind="violators",
        date_from=date(2024, 5, 1),
        date_to=date(2024, 5, 3),
        store="mysql",
        format="json",
    )
    out = io.StringIO()

    assert report_cli.run(args, settings, out=out) == 0

    printed = json.loads(out.getvalue())
    mine = [v for v in printed["violators"] if v["user_id"] == alice.id]
    assert mine[0]["nights"] == [MAY_2]
    assert printed["stores"] == ["mysql"]


# The hand-worked table of tests/test_services_nights.py, through the API.
LATER = datetime(2030, 1, 1, tzinfo=timezone.utc)


def fixed_zone(moment):
    """The IANA zone of a whole-hour fixed offset: Etc/GMT-3 is +03:00.

    A record without a zone is read in its start's offset only when its owner
    has no zone either; every account has one, so the API case names it.
    """
    hours = moment.utcoffset() // timedelta(hours=1)
    return "Etc/UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"


@pytest.mark.parametrize("store_name", ["mysql", "redis"])
@pytest.mark.parametrize(("records", "night", "minutes", "violated"), CASES)
def test_the_night_table_through_the_api(
    auth,
    settings,
    stores,
    audit_log,
    accounts,
    store_name,
    records,
    night,
    minutes,
    violated,
):
    app = create_app(
        settings, stores, audit_log, clock=lambda: LATER, accounts=accounts
    )
    person = auth.user()
    client = auth.client_for(person.token, person.user, app=app)
    for record in records:
        body = {key: record.to_json()[key] for key in ("start", "end")}
        body["timezone"] = record.timezone or fixed_zone(record.start)
        client.post_json(f"/api/{store_name}/records", body)

    found = client.get(
        "/api/reports/violators",
        {"from": night, "to": night, "store": store_name},
    ).json["violators"]

    if violated:
        assert [(n["date"], n["minutes"]) for n in found[0]["nights"]] == [
            (night, minutes)
        ]
    else:
        assert found == []


@pytest.mark.parametrize(
    "query",
    [
        {"to": "0001-01-01"},
        {"from": "0001-01-01", "to": "0001-01-05"},
        {"to": "9999-12-31"},
        {"from": "9999-12-31", "to": "9999-12-31"},
    ],
)
def test_report_dates_far_away_are_422(auth, query):
    response = auth.client().get("/api/reports/violators", query, status=422)

    assert response.json["error"]["details"][0]["message"] == (
        "must lie between the years 1970 and 9000"
    )


def test_csv_cells_cannot_become_formulas(auth):
    minus = auth.user(nickname="-2-3")
    post(minus.client, "mysql", SHORT)

    rows = list(csv.reader(io.StringIO(report(minus.client, format="csv").text)))

    assert rows[1][1] == "'-2-3"
