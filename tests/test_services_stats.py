"""The main page's statistics, computed from records with no I/O or clock.

Now is 10 May 2024, 09:00 in Moscow (06:00Z), seen from Moscow: today is
10 May, last night 9 May, and the 30 nights run from 10 April to 9 May.
"""

from datetime import date, timedelta

import pytest

from sleeplog.models import SleepRecord
from sleeplog.services.people import Person
from sleeplog.services.stats import compute_stats, stats_range
from sleeplog.timestamps import parse_timestamp

NOW = parse_timestamp("2024-05-10T09:00:00+03:00")

PEOPLE = {
    "alice": Person(
        owner="alice", user_id=1, nickname="alice", timezone="Europe/Moscow"
    ),
    "bob": Person(owner="bob", user_id=2, nickname="bob", timezone="America/New_York"),
}


def record(start, end, owner):
    return SleepRecord(
        owner=owner, start=parse_timestamp(start), end=parse_timestamp(end)
    )


ALICE = [
    # before the period: not counted anywhere
    record("2024-04-01T23:00:00+03:00", "2024-04-02T07:00:00+03:00", "alice"),
    # 7 May: inside 23:00-06:00 = 420, total 480
    record("2024-05-07T23:00:00+03:00", "2024-05-08T07:00:00+03:00", "alice"),
    # 8 May: inside 01:00-06:00 = 300, violated, total 480
    record("2024-05-09T01:00:00+03:00", "2024-05-09T09:00:00+03:00", "alice"),
    # 9 May: inside 22:00-04:00 = 360, total 360
    record("2024-05-09T22:00:00+03:00", "2024-05-10T04:00:00+03:00", "alice"),
    # a nap this afternoon, tonight's night: outside the period and in the
    # future, so not among the records of the last 7 days either
    record("2024-05-10T13:00:00+03:00", "2024-05-10T14:00:00+03:00", "alice"),
]

BOB = [
    # 2 May: inside 00:00-04:00 = 240, violated, total 240; starts 04:00Z on
    # 3 May, just before the last 7 days, [3 May 06:00Z, 10 May 06:00Z)
    record("2024-05-03T00:00:00-04:00", "2024-05-03T04:00:00-04:00", "bob"),
    # 8 May: inside 23:00-05:00 = 360, total 360
    record("2024-05-08T23:00:00-04:00", "2024-05-09T05:00:00-04:00", "bob"),
    # 9 May: its window ends 06:00 New York = 10:00Z, after now, so it is
    # still under way and left out
    record("2024-05-09T22:30:00-04:00", "2024-05-10T01:00:00-04:00", "bob"),
]


def everyone():
    return sorted(ALICE + BOB, key=lambda item: item.start)


def test_everyone_by_hand():
    stats = compute_stats(
        everyone(),
        now=NOW,
        tz="Europe/Moscow",
        people=PEOPLE,
        store_counts={"mysql": 8, "redis": 7},
    )

    assert stats.first_night == date(2024, 4, 10)
    assert stats.last_night == date(2024, 5, 9)
    assert stats.store_counts == {"mysql": 8, "redis": 7}
    assert stats.users == 2
    # alice: 7 May 20:00Z, 8 May 22:00Z, 9 May 19:00Z; bob: 9 May 03:00Z and
    # 10 May 02:30Z
    assert stats.records_last_7_days == 5
    # alice 7, 8, 9 May; bob 2 and 8 May
    assert stats.evaluated_nights == 5
    # (480 + 480 + 360 + 240 + 360) / 5 = 1920 / 5
    assert stats.average_sleep_minutes == 384.0
    # (420 + 300 + 360 + 240 + 360) / 5 = 1680 / 5
    assert stats.average_window_minutes == 336.0
    # nights 3-9 May: only alice's 8 May; bob's 2 May is eight nights ago
    assert stats.violators_last_7_nights == 1


def test_the_series_for_everyone():
    stats = compute_stats(everyone(), now=NOW, tz="Europe/Moscow", people=PEOPLE)

    series = [point.to_json() for point in stats.series]
    assert len(series) == 30
    assert series[0]["date"] == "2024-04-10"
    busy = [point for point in series if point["evaluated"]]
    assert busy == [
        {
            "date": "2024-05-02",
            "evaluated": 1,
            "violated": 1,
            "minutes_in_window": 240,
            "total_minutes": 240,
        },
        {
            "date": "2024-05-07",
            "evaluated": 1,
            "violated": 0,
            "minutes_in_window": 420,
            "total_minutes": 480,
        },
        {
            # alice 300 of 480, violated; bob 360 of 360: means 330 and 420
            "date": "2024-05-08",
            "evaluated": 2,
            "violated": 1,
            "minutes_in_window": 330,
            "total_minutes": 420,
        },
        {
            "date": "2024-05-09",
            "evaluated": 1,
            "violated": 0,
            "minutes_in_window": 360,
            "total_minutes": 360,
        },
    ]
    assert series[1] == {
        "date": "2024-04-11",
        "evaluated": 0,
        "violated": 0,
        "minutes_in_window": None,
        "total_minutes": None,
    }


def test_one_person_by_hand():
    stats = compute_stats(
        ALICE,
        now=NOW,
        tz="Europe/Moscow",
        people={"alice": PEOPLE["alice"]},
        store_counts={"mysql": 5},
    )

    assert stats.users == 1
    assert stats.records_last_7_days == 3
    assert stats.evaluated_nights == 3
    # (480 + 480 + 360) / 3 = 440; (420 + 300 + 360) / 3 = 360
    assert (stats.average_sleep_minutes, stats.average_window_minutes) == (440, 360)
    assert stats.violators_last_7_nights == 1
    assert [point.violated for point in stats.series[-3:]] == [0, 1, 0]


def test_no_records():
    stats = compute_stats([], now=NOW, tz="Europe/Moscow", people=PEOPLE)

    body = stats.to_json()
    assert body["average_sleep_minutes"] is None
    assert body["average_window_minutes"] is None
    assert body["evaluated_nights"] == body["violators_last_7_nights"] == 0
    assert body["store_counts"] == {}
    assert body["now"] == "2024-05-10T09:00:00+03:00"


def test_today_is_where_the_viewer_is():
    # 06:00Z on 10 May is still 9 May, 23:00, in Los Angeles.
    stats = compute_stats(everyone(), now=NOW, tz="America/Los_Angeles")

    assert stats.last_night == date(2024, 5, 8)
    # alice's 9 May night is outside the period; the other four remain
    assert stats.evaluated_nights == 4


def test_averages_round_to_a_tenth_of_a_minute():
    records = [
        # 300 and 301 minutes inside and in total, plus 20 seconds on the second
        record("2024-05-07T23:00:00+03:00", "2024-05-08T04:00:00+03:00", "alice"),
        record("2024-05-08T23:00:00+03:00", "2024-05-09T04:01:20+03:00", "alice"),
    ]

    stats = compute_stats(records, now=NOW, tz="Europe/Moscow")

    # (18000 s + 18080 s) / 2 = 18040 s = 300.666... minutes
    assert stats.average_window_minutes == 300.7
    assert [point.minutes_in_window for point in stats.series[-3:-1]] == [300, 301]


def test_stats_range_covers_the_period_and_the_last_week():
    start_from, start_to = stats_range(NOW, "Europe/Moscow")

    # 30 nights from 10 April: from noon UTC the day before the first night
    # to noon UTC two days after the last
    assert start_from == parse_timestamp("2024-04-09T12:00:00Z")
    assert start_to == parse_timestamp("2024-05-11T12:00:00Z")
    assert start_from <= NOW - timedelta(days=7)


@pytest.mark.parametrize(
    ("now", "nights"),
    [(NOW.replace(tzinfo=None), 30), (NOW, 6)],
)
def test_a_naive_now_or_a_short_period_is_refused(now, nights):
    with pytest.raises(ValueError):
        compute_stats([], now=now, tz="Europe/Moscow", nights=nights)
