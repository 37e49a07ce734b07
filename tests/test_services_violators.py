"""The violators report, computed from records with no I/O."""

import json
from datetime import date, timezone
from pathlib import Path

import pytest

from sleeplog.models import SleepRecord
from sleeplog.services.nights import record_range
from sleeplog.services.people import Person, person_of
from sleeplog.services.violators import find_violators, iter_violators, merge_stores
from sleeplog.storage.memory_store import MemoryRecordStore
from sleeplog.timestamps import parse_timestamp

DATA = Path(__file__).resolve().parent / "data" / "sleep_as_android_records.json"

PEOPLE = {
    "u-2": Person(owner="u-2", user_id=2, nickname="bob", timezone="Europe/Berlin"),
    "u-1": Person(owner="u-1", user_id=1, nickname="Zoe", timezone="Europe/Moscow"),
    "u-3": Person(owner="u-3", user_id=3, nickname="alice", timezone="Europe/Moscow"),
}


def record(start, end, owner, **fields):
    return SleepRecord(
        owner=owner, start=parse_timestamp(start), end=parse_timestamp(end), **fields
    )


def in_store_order(records):
    return sorted(records, key=lambda item: item.start)


RECORDS = in_store_order(
    [
        # Zoe (Moscow): 1 May 01:00-06:00 inside = 300, violated, from two
        # addresses; 2 May 23:00-07:00 = 420, fine; 3 May 23:30-04:00 = 270.
        record(
            "2024-05-02T01:00:00+03:00",
            "2024-05-02T09:00:00+03:00",
            "u-1",
            client="192.0.2.9",
        ),
        record(
            "2024-05-02T05:00:00+03:00",
            "2024-05-02T05:20:00+03:00",
            "u-1",
            client="192.0.2.10",
        ),
        record(
            "2024-05-02T23:00:00+03:00",
            "2024-05-03T07:00:00+03:00",
            "u-1",
            client="203.0.113.5",
        ),
        record(
            "2024-05-03T23:30:00+03:00",
            "2024-05-04T04:00:00+03:00",
            "u-1",
            client="192.0.2.9",
        ),
        # bob (Berlin, no zone on the records): 2 May 22:00-04:00 = 360, fine.
        record("2024-05-02T22:00:00+02:00", "2024-05-03T04:00:00+02:00", "u-2"),
        # alice (Moscow): 1 May 21:00-03:30, inside 22:00-03:30 = 330.
        record(
            "2024-05-01T21:00:00+03:00",
            "2024-05-02T03:30:00+03:00",
            "u-3",
            client="198.51.100.1",
        ),
        # "default" has no account: 3 May 00:00-05:00 UTC, inside = 300.
        record("2024-05-04T00:00:00Z", "2024-05-04T05:00:00Z", "default"),
    ]
)

EXPECTED = [
    {
        "user_id": 3,
        "nickname": "alice",
        "owner": "u-3",
        "clients": ["198.51.100.1"],
        "nights": [
            {
                "date": "2024-05-01",
                "minutes": 330,
                "total_minutes": 390,
                "window_start": "2024-05-01T22:00:00+03:00",
                "window_end": "2024-05-02T06:00:00+03:00",
                "timezone": "Europe/Moscow",
                "violated": True,
                "clients": ["198.51.100.1"],
            }
        ],
    },
    {
        "user_id": None,
        "nickname": "default",
        "owner": "default",
        "clients": [],
        "nights": [
            {
                "date": "2024-05-03",
                "minutes": 300,
                "total_minutes": 300,
                "window_start": "2024-05-03T22:00:00Z",
                "window_end": "2024-05-04T06:00:00Z",
                "timezone": None,
                "violated": True,
                "clients": [],
            }
        ],
    },
    {
        "user_id": 1,
        "nickname": "Zoe",
        "owner": "u-1",
        "clients": ["192.0.2.10", "192.0.2.9"],
        "nights": [
            {
                "date": "2024-05-01",
                # 01:00-06:00; the 05:00-05:20 record from a second device
                # lies inside it and adds nothing.
                "minutes": 300,
                "total_minutes": 480,
                "window_start": "2024-05-01T22:00:00+03:00",
                "window_end": "2024-05-02T06:00:00+03:00",
                "timezone": "Europe/Moscow",
                "violated": True,
                "clients": ["192.0.2.10", "192.0.2.9"],
            },
            {
                "date": "2024-05-03",
                # 23:30-04:00 = 270; the night before, ending 07:00 on the
                # 3rd, is outside this window.
                "minutes": 270,
                "total_minutes": 270,
                "window_start": "2024-05-03T22:00:00+03:00",
                "window_end": "2024-05-04T06:00:00+03:00",
                "timezone": "Europe/Moscow",
                "violated": True,
                "clients": ["192.0.2.9"],
            },
        ],
    },
]


def test_the_report_by_hand():
    violators = find_violators(RECORDS, date(2024, 5, 1), date(2024, 5, 3), PEOPLE)

    # Sorted by nickname ignoring case: alice, default, Zoe; bob slept enough.
    assert [violator.to_json() for violator in violators] == EXPECTED


def test_one_person_at_a_time_gives_the_same_report():
    with_account = {**PEOPLE, "default": Person(owner="default", nickname="default")}
    calls = []

    def records_of(owner, start_from, start_to):
        calls.append((owner, start_from, start_to))
        return [item for item in RECORDS if item.owner == owner]

    violators = iter_violators(
        records_of, date(2024, 5, 1), date(2024, 5, 3), with_account
    )

    assert [violator.to_json() for violator in violators] == EXPECTED
    start_from, start_to = record_range(date(2024, 5, 1), date(2024, 5, 3))
    # in report order, bob too, each once with the range to read
    assert calls == [
        (owner, start_from, start_to) for owner in ("u-3", "u-2", "default", "u-1")
    ]


def test_one_person_at_a_time_reads_only_people_with_accounts():
    violators = iter_violators(
        lambda owner, *_: [item for item in RECORDS if item.owner == owner],
        date(2024, 5, 1),
        date(2024, 5, 3),
        PEOPLE,
    )

    assert [violator.person.owner for violator in violators] == ["u-3", "u-1"]


def test_the_dates_bound_the_nights_examined():
    violators = find_violators(RECORDS, date(2024, 5, 2), date(2024, 5, 3), PEOPLE)

    assert [
        (violator.person.name, [str(night.date) for night in violator.nights])
        for violator in violators
    ] == [("default", ["2024-05-03"]), ("Zoe", ["2024-05-03"])]


def test_an_owner_without_an_account():
    assert person_of("default", PEOPLE) == Person(owner="default", nickname="default")
    assert person_of("u-1", PEOPLE).user_id == 1


def test_equal_nicknames_are_ordered_by_owner():
    people = {
        "b": Person(owner="b", nickname="sam"),
        "a": Person(owner="a", nickname="sam"),
    }
    records = [
        record("2024-05-01T23:00:00Z", "2024-05-02T01:00:00Z", owner)
        for owner in ("b", "a")
    ]

    violators = find_violators(records, date(2024, 5, 1), date(2024, 5, 1), people)

    assert [violator.person.owner for violator in violators] == ["a", "b"]


def test_the_sleep_as_android_export():
    # Worked out in test_services_nights: in Europe/London (GMT) the nights of
    # 27 November (three one-minute records the next morning) and 30 November
    # (two one-minute records after noon) are evaluated with nothing inside
    # 22:00-06:00; 12 and 26 November and 1 December have 480 minutes each.
    records = in_store_order(
        SleepRecord.from_json(dict(item, owner="sleeper", client="192.0.2.44"))
        for item in json.loads(DATA.read_text(encoding="utf-8"))
    )
    people = {"sleeper": Person(owner="sleeper", user_id=7, nickname="sleeper")}

    violators = find_violators(records, date(2020, 11, 1), date(2020, 12, 31), people)

    assert len(violators) == 1
    report = violators[0].to_json()
    assert report["clients"] == ["192.0.2.44"]
    assert [
        (night["date"], night["minutes"], night["window_start"], night["window_end"])
        for night in report["nights"]
    ] == [
        ("2020-11-27", 0, "2020-11-27T22:00:00Z", "2020-11-28T06:00:00Z"),
        ("2020-11-30", 0, "2020-11-30T22:00:00Z", "2020-12-01T06:00:00Z"),
    ]


class TestMergeStores:
    def test_a_record_in_both_stores_counts_once(self):
        first = [
            record("2024-05-01T23:00:00+03:00", "2024-05-02T03:00:00+03:00", "a"),
            record("2024-05-02T23:00:00+03:00", "2024-05-03T07:00:00+03:00", "a"),
        ]
        # The same span written with another offset is the same record; the
        # other owner's record at the same instant is not.
        second = [
            record("2024-05-01T20:00:00Z", "2024-05-02T00:00:00Z", "a", note="copy"),
            record("2024-05-01T20:00:00Z", "2024-05-02T00:00:00Z", "b"),
            record("2024-05-02T12:00:00Z", "2024-05-02T13:00:00Z", "a"),
        ]

        merged = list(merge_stores(iter(first), iter(second)))

        assert [(item.owner, item.start.isoformat()) for item in merged] == [
            ("a", "2024-05-01T23:00:00+03:00"),
            ("b", "2024-05-01T20:00:00+00:00"),
            ("a", "2024-05-02T12:00:00+00:00"),
            ("a", "2024-05-02T23:00:00+03:00"),
        ]
        assert merged[0].note is None

    def test_store_all_from_two_stores(self):
        # Zoe's records are in both stores, alice's only in the second; the
        # report is the same as from one store holding each record once.
        mysql_like, redis_like = MemoryRecordStore(), MemoryRecordStore()
        for item in RECORDS:
            redis_like.save(item)
            if item.owner == "u-1":
                mysql_like.save(item.replace(start=item.start.astimezone(timezone.utc)))
        start_from, start_to = record_range(date(2024, 5, 1), date(2024, 5, 3))

        def stream(store):
            return store.iter_records(start_from=start_from, start_to=start_to)

        records = merge_stores(stream(mysql_like), stream(redis_like))
        violators = find_violators(records, date(2024, 5, 1), date(2024, 5, 3), PEOPLE)

        assert [violator.to_json() for violator in violators] == EXPECTED

    def test_merging_keeps_memory_to_one_start(self):
        # An endless stream merges lazily.
        def endless(owner):
            day = 1
            while True:
                yield record(
                    f"2024-05-{day:02d}T23:00:00Z",
                    f"2024-05-{day + 1:02d}T06:00:00Z",
                    owner,
                )
                day += 1

        merged = merge_stores(endless("a"), endless("b"))

        assert [next(merged).owner for _ in range(4)] == ["a", "b", "a", "b"]


@pytest.mark.parametrize("nickname", [None, "x"])
def test_a_person_without_a_nickname_is_named_by_owner(nickname):
    person = Person(owner="u-9", nickname=nickname)

    assert person.name == (nickname or "u-9")
