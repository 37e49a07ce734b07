"""The record endpoints, in-process, against the real MySQL and Redis stores.

``client`` is logged in as a user with the role ``user``; who may see whose
records is tested in ``test_auth_access.py``.
"""

import pytest

from helpers import log_entries, night

pytestmark = pytest.mark.usefixtures("stores")


@pytest.fixture(params=["mysql", "redis"])
def store_name(request):
    return request.param


def test_post_creates_a_record(client, store_name):
    response = client.post_json(
        f"/api/{store_name}/records",
        night(timezone="Europe/Moscow", source="Sleep as Android", note="ok"),
    )

    assert response.status_int == 201
    body = response.json
    assert response.headers["Location"] == f"/api/{store_name}/records/{body['id']}"
    assert body["start"] == "2024-05-01T23:00:00+03:00"
    assert body["end"] == "2024-05-02T07:00:00+03:00"
    assert body["owner"] == client.user.owner == str(client.user.id)
    assert body["client"] == "127.0.0.1"
    assert body["timezone"] == "Europe/Moscow"
    assert body["source"] == "Sleep as Android"
    assert body["created_at"].endswith("Z")
    assert len(response.headers["X-Request-ID"]) == 32


def test_repeat_answers_200_with_the_stored_record(client, store_name):
    first = client.post_json(f"/api/{store_name}/records", night(note="first"))
    # The same instants written in UTC are the same record.
    again = client.post_json(
        f"/api/{store_name}/records",
        {"start": "2024-05-01T20:00:00Z", "end": "2024-05-02T04:00:00Z", "note": "2"},
    )

    assert again.status_int == 200
    assert again.json == first.json
    assert again.headers["Location"] == first.headers["Location"]
    assert len(client.get(f"/api/{store_name}/records").json) == 1


def test_get_one_record(client, store_name):
    created = client.post_json(f"/api/{store_name}/records", night()).json

    response = client.get(f"/api/{store_name}/records/{created['id']}")

    assert response.json == created


@pytest.mark.parametrize("record_id", ["999999", "abc", "-1", "1.0", "9" * 30])
def test_unknown_record_is_404(client, store_name, record_id):
    response = client.get(f"/api/{store_name}/records/{record_id}", status=404)

    assert response.json["error"]["status"] == 404


def test_naive_times_are_read_in_the_timezone(client, store_name):
    # Berlin moved from +01:00 to +02:00 at 02:00 on 31 March 2024.
    response = client.post_json(
        f"/api/{store_name}/records",
        {
            "start": "2024-03-31T01:30:00",
            "end": "2024-03-31T08:00:00",
            "timezone": "Europe/Berlin",
        },
    )

    assert response.json["start"] == "2024-03-31T01:30:00+01:00"
    assert response.json["end"] == "2024-03-31T08:00:00+02:00"


def test_list_is_ordered_and_pages_with_a_cursor(client, store_name):
    url = f"/api/{store_name}/records"
    for day in (3, 1, 2, 5, 4):
        client.post_json(
            url,
            {
                "start": f"2024-05-0{day}T23:00:00Z",
                "end": f"2024-05-0{day + 1}T06:00:00Z",
            },
        )

    everything = client.get(url)
    first = client.get(url, {"limit": "2"})
    second = client.get(url, {"limit": "2", "cursor": first.headers["X-Next-Cursor"]})
    # The Link header is a ready-made URL for the next page.
    link = second.headers["Link"].split(";")[0].strip("<>")
    third = client.get(link)

    assert [r["start"][8:10] for r in everything.json] == ["01", "02", "03", "04", "05"]
    assert [r["start"][8:10] for r in first.json] == ["01", "02"]
    assert [r["start"][8:10] for r in second.json] == ["03", "04"]
    assert [r["start"][8:10] for r in third.json] == ["05"]
    assert "X-Next-Cursor" not in third.headers
    assert first.headers["Link"].endswith('; rel="next"')


def test_list_selects_a_time_range(client, store_name):
    url = f"/api/{store_name}/records"
    client.post_json(url, night())  # 20:00Z on the 1st to 04:00Z on the 2nd
    client.post_json(
        url, {"start": "2024-05-03T01:00:00Z", "end": "2024-05-03T02:00:00Z"}
    )

    selected = client.get(
        url, {"from": "2024-05-02T03:00:00Z", "to": "2024-05-03T00:00:00Z"}
    ).json
    none = client.get(
        url, {"from": "2024-05-02T04:00:00Z", "to": "2024-05-03T01:00:00Z"}
    ).json

    assert [r["start"] for r in selected] == ["2024-05-01T23:00:00+03:00"]
    assert none == []


def test_empty_list_is_an_empty_array(client, store_name):
    response = client.get(f"/api/{store_name}/records")

    assert response.body == b"[]\n"
    assert response.json == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "10001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2024-05-01T00:00:00"}, "to"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": "9" * 5000}, "limit"),
        ({"cursor": "W" * 4000}, "cursor"),
        ({"from": "0001-01-01T00:00:00Z"}, "from"),
        ({"to": "9999-12-31T23:59:59-05:00"}, "to"),
        ({"from": "2024-05-02T00:00:00Z", "to": "2024-05-01T00:00:00Z"}, "from"),
    ],
)
def test_bad_list_parameters_are_422(client, store_name, query, field):
    response = client.get(f"/api/{store_name}/records", query, status=422)

    assert response.json["error"]["details"][0]["field"] == field


def test_unknown_store_is_404_to_a_known_caller(client):
    response = client.post_json("/api/postgres/records", night(), status=404)

    assert "postgres" in response.json["error"]["message"]


def test_every_request_leaves_one_audit_entry(client, audit_log, store_name):
    url = f"/api/{store_name}/records"
    created = client.post_json(url, night(note="n"))
    client.post_json(url, night(note="n"))
    client.get(url)
    client.get(url + "/424242", status=404)
    client.post(url, "{", content_type="application/json", status=400)

    entries = log_entries(audit_log)

    assert [(e["method"], e["status"]) for e in entries] == [
        ("POST", 201),
        ("POST", 200),
        ("GET", 200),
        ("GET", 404),
        ("POST", 400),
    ]
    first = entries[0]
    assert first["request_id"] == created.headers["X-Request-ID"]
    assert first["path"] == url
    assert first["client"] == "127.0.0.1"
    assert first["owner"] == client.user.owner
    assert first["user"] == {"id": client.user.id, "nickname": client.user.nickname}
    assert first["store"] == store_name
    assert first["data"]["start"] == "2024-05-01T23:00:00+03:00"
    assert first["data"]["note"] == "n"
    assert first["summary"] == {"id": created.json["id"], "created": True}
    assert entries[1]["summary"] == {"id": created.json["id"], "created": False}
    assert entries[2]["summary"] == {"items": 1}
    assert "data" not in entries[2] or entries[2]["data"] is None
    assert first["time"].endswith("+00:00")
    assert first["duration_ms"] >= 0


@pytest.mark.parametrize("name", ["from", "limit", "cursor"])
def test_query_values_that_are_not_utf8_are_422(client, store_name, name):
    response = client.get(f"/api/{store_name}/records?{name}=%FF", status=422)

    assert response.json["error"]["details"] == [
        {"field": name, "message": "is not valid UTF-8"}
    ]


def test_the_next_page_link_keeps_only_known_parameters(client, store_name):
    url = f"/api/{store_name}/records"
    client.post_json(url, night())
    client.post_json(
        url, night(start="2024-05-02T23:00:00+03:00", end="2024-05-03T07:00:00+03:00")
    )

    response = client.get(url + "?limit=1&x=%FF&from=2024-05-01T00:00:00Z")

    link = response.headers["Link"]
    assert link.startswith(
        f"</api/{store_name}/records?from=2024-05-01T00%3A00%3A00Z&limit=1&cursor="
    )


def test_head_keeps_the_length_of_the_get(client, store_name):
    created = client.post_json(f"/api/{store_name}/records", night()).json
    url = f"/api/{store_name}/records/{created['id']}"

    got = client.get(url)
    head = client.head(url)

    assert head.headers["Content-Length"] == str(len(got.body))
    assert head.body == b""
