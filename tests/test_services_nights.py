"""The night model, against cases whose values were worked out by hand.

Each row says how its minutes come about. "Z" times are UTC; a window is
22:00 on D to 06:00 on D+1 local time unless a row says otherwise.
"""

import json
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from sleeplog.models import SleepRecord
from sleeplog.services.nights import (
    DEFAULT_RULE,
    NightRule,
    evaluate_everyone,
    evaluate_nights,
    local_zone,
    night_of,
    night_window,
    record_range,
)
from sleeplog.timestamps import format_timestamp, load_zone, parse_timestamp

DATA = Path(__file__).resolve().parent / "data" / "sleep_as_android_records.json"


def record(start, end, owner="alice", **fields):
    return SleepRecord(
        owner=owner, start=parse_timestamp(start), end=parse_timestamp(end), **fields
    )


def record_at(owner, start, hours):
    return SleepRecord(owner=owner, start=start, end=start + timedelta(hours=hours))


def berlin(start, end):
    return record(start, end, timezone="Europe/Berlin")


def new_york(start, end):
    return record(start, end, timezone="America/New_York")


def lord_howe(start, end):
    return record(start, end, timezone="Australia/Lord_Howe")


def nights_of(records, owner_zone=None, rule=DEFAULT_RULE):
    ordered = sorted(records, key=lambda item: item.start)
    return {night.date: night for night in evaluate_nights(ordered, owner_zone, rule)}


# Rows: records, the night's date, minutes inside the window, violated.
# Records without a timezone are in Moscow's +03:00, which is their zone.
CASES = [
    pytest.param(
        [record("2024-05-01T23:00:00+03:00", "2024-05-02T07:00:00+03:00")],
        "2024-05-01",
        # inside: 23:00-06:00 = 7 h = 420
        420,
        False,
        id="23-07 is fine",
    ),
    pytest.param(
        [record("2024-05-02T01:00:00+03:00", "2024-05-02T09:00:00+03:00")],
        "2024-05-01",
        # starts at 01:00 on the 2nd, before noon: the night of the 1st;
        # inside: 01:00-06:00 = 5 h = 300
        300,
        True,
        id="01-09 gives 5 h",
    ),
    pytest.param(
        [record("2024-05-01T22:00:00+03:00", "2024-05-02T04:00:00+03:00")],
        "2024-05-01",
        # inside: 22:00-04:00 = 6 h = 360, not strictly less than 6 h
        360,
        False,
        id="22-04 is exactly 6 h",
    ),
    pytest.param(
        [record("2024-05-01T21:00:00+03:00", "2024-05-02T03:30:00+03:00")],
        "2024-05-01",
        # 21:00-22:00 is before the window; inside: 22:00-03:30 = 330
        330,
        True,
        id="21-03:30 gives 5.5 h",
    ),
    pytest.param(
        [
            record("2024-05-01T23:00:00+03:00", "2024-05-02T01:00:00+03:00"),
            record("2024-05-02T02:00:00+03:00", "2024-05-02T05:00:00+03:00"),
        ],
        "2024-05-01",
        # 23:00-01:00 = 120, plus 02:00-05:00 = 180: 300
        300,
        True,
        id="23-01 plus 02-05 gives 5 h",
    ),
    pytest.param(
        [
            record("2024-05-01T23:00:00+03:00", "2024-05-02T04:00:00+03:00"),
            record("2024-05-01T23:10:00+03:00", "2024-05-02T04:10:00+03:00"),
        ],
        "2024-05-01",
        # two devices, 5 h each; their union 23:00-04:10 = 310, not 600
        310,
        True,
        id="two overlapping devices count once",
    ),
    pytest.param(
        [
            record("2024-05-01T04:00:00+03:00", "2024-05-02T00:00:00+03:00"),
            record("2024-05-02T01:00:00+03:00", "2024-05-02T05:00:00+03:00"),
        ],
        "2024-04-30",
        # the 20-hour record starts 04:00 on May 1: night of Apr 30, whose
        # window it covers 04:00-06:00 = 120
        120,
        True,
        id="20-hour record, first window",
    ),
    pytest.param(
        [
            record("2024-05-01T04:00:00+03:00", "2024-05-02T00:00:00+03:00"),
            record("2024-05-02T01:00:00+03:00", "2024-05-02T05:00:00+03:00"),
        ],
        "2024-05-01",
        # the same record reaches May 1's window, 22:00-00:00 = 120, and
        # 01:00-05:00 = 240 makes that night evaluated: 360
        360,
        False,
        id="20-hour record, second window",
    ),
    pytest.param(
        [berlin("2024-03-30T22:00:00+01:00", "2024-03-31T06:00:00+02:00")],
        "2024-03-30",
        # the whole window: 21:00Z-04:00Z = 7 h = 420
        420,
        False,
        id="Berlin spring, whole window",
    ),
    pytest.param(
        [berlin("2024-03-30T23:30:00+01:00", "2024-03-31T06:00:00+02:00")],
        "2024-03-30",
        # the clock says 6.5 h; really 22:30Z-04:00Z = 5.5 h = 330
        330,
        True,
        id="Berlin spring, clock 6.5 h real 5.5 h",
    ),
    pytest.param(
        [berlin("2024-10-26T22:00:00+02:00", "2024-10-27T06:00:00+01:00")],
        "2024-10-26",
        # the whole window: 20:00Z-05:00Z = 9 h = 540
        540,
        False,
        id="Berlin autumn, whole window",
    ),
    pytest.param(
        [berlin("2024-10-27T01:00:00+02:00", "2024-10-27T06:00:00+01:00")],
        "2024-10-26",
        # the clock says 5 h; really 23:00Z-05:00Z = 6 h = 360
        360,
        False,
        id="Berlin autumn, clock 5 h real 6 h",
    ),
    pytest.param(
        [new_york("2024-03-09T23:00:00-05:00", "2024-03-10T06:00:00-04:00")],
        "2024-03-09",
        # the clock says 7 h; really 04:00Z-10:00Z = 6 h = 360
        360,
        False,
        id="New York spring, clock 7 h real 6 h",
    ),
    pytest.param(
        [new_york("2024-03-10T00:30:00-05:00", "2024-03-10T07:00:00-04:00")],
        "2024-03-09",
        # window 03:00Z-10:00Z; inside 05:30Z-10:00Z = 4.5 h = 270
        270,
        True,
        id="New York spring, clock 5.5 h real 4.5 h",
    ),
    pytest.param(
        [new_york("2024-11-03T01:00:00-04:00", "2024-11-03T06:00:00-05:00")],
        "2024-11-02",
        # the clock says 5 h; really 05:00Z-11:00Z = 6 h = 360
        360,
        False,
        id="New York autumn, clock 5 h real 6 h",
    ),
    pytest.param(
        [lord_howe("2024-04-07T00:30:00+11:00", "2024-04-07T06:00:00+10:30")],
        "2024-04-06",
        # 02:00 becomes 01:30; the clock says 5.5 h, really
        # 13:30Z-19:30Z = 6 h = 360
        360,
        False,
        id="Lord Howe autumn, clock 5.5 h real 6 h",
    ),
    pytest.param(
        [lord_howe("2024-10-06T00:00:00+10:30", "2024-10-06T06:00:00+11:00")],
        "2024-10-05",
        # 02:00 becomes 02:30; the clock says 6 h, really
        # 13:30Z-19:00Z = 5.5 h = 330
        330,
        True,
        id="Lord Howe spring, clock 6 h real 5.5 h",
    ),
]


@pytest.mark.parametrize(("records", "night", "minutes", "violated"), CASES)
def test_hand_worked_nights(records, night, minutes, violated):
    result = nights_of(records)[date.fromisoformat(night)]

    assert result.minutes == minutes
    assert result.violated is violated


# Rows: zone, night, window start and end, its real length in minutes.
WINDOWS = [
    ("Europe/Moscow", "2024-05-01", "22:00:00+03:00", "06:00:00+03:00", 480),
    ("Europe/Berlin", "2024-03-30", "22:00:00+01:00", "06:00:00+02:00", 420),
    ("Europe/Berlin", "2024-10-26", "22:00:00+02:00", "06:00:00+01:00", 540),
    ("America/New_York", "2024-03-09", "22:00:00-05:00", "06:00:00-04:00", 420),
    ("America/New_York", "2024-11-02", "22:00:00-04:00", "06:00:00-05:00", 540),
    ("Australia/Lord_Howe", "2024-04-06", "22:00:00+11:00", "06:00:00+10:30", 510),
    ("Australia/Lord_Howe", "2024-10-05", "22:00:00+10:30", "06:00:00+11:00", 450),
]


@pytest.mark.parametrize(("zone", "night", "start", "end", "minutes"), WINDOWS)
def test_night_window_is_wall_time_measured_in_real_time(
    zone, night, start, end, minutes
):
    day = date.fromisoformat(night)

    window_start, window_end = night_window(day, zone)

    assert format_timestamp(window_start) == f"{day}T{start}"
    assert format_timestamp(window_end) == f"{day + timedelta(days=1)}T{end}"
    assert (window_end - window_start) // timedelta(minutes=1) == minutes


@pytest.mark.parametrize(
    ("zone", "night", "morning", "end"),
    [
        # 02:30 never happens on 31 March in Berlin: the clocks jump from
        # 02:00 CET to 03:00 CEST, and the window ends at that jump.
        ("Europe/Berlin", "2024-03-30", time(2, 30), "2024-03-31T03:00:00+02:00"),
        # 02:30 happens twice on 27 October: the first time counts.
        ("Europe/Berlin", "2024-10-26", time(2, 30), "2024-10-27T02:30:00+02:00"),
        # Lord Howe skips 02:00-02:30 (+10:30 to +11:00); the jump is at 15:30Z.
        ("Australia/Lord_Howe", "2024-10-05", time(2, 15), "2024-10-06T02:30:00+11:00"),
    ],
)
def test_a_skipped_or_repeated_wall_time_ends_the_window_sensibly(
    zone, night, morning, end
):
    rule = NightRule(morning=morning)

    _, window_end = night_window(date.fromisoformat(night), zone, rule)

    assert format_timestamp(window_end) == end


@pytest.mark.parametrize(
    ("night", "start", "end", "hours"),
    [
        # Samoa skipped 30 December 2011, from 24:00 at -10:00 to 00:00 on
        # the 31st at +14:00: the morning of the 29th's night is skipped...
        ("2011-12-29", "2011-12-29T22:00:00-10:00", "2011-12-31T00:00:00+14:00", 2),
        # ... and so is the evening of the 30th's.
        ("2011-12-30", "2011-12-31T00:00:00+14:00", "2011-12-31T06:00:00+14:00", 6),
    ],
)
def test_a_skipped_day_cuts_the_windows_at_the_jump(night, start, end, hours):
    window_start, window_end = night_window(date.fromisoformat(night), "Pacific/Apia")

    assert format_timestamp(window_start) == start
    assert format_timestamp(window_end) == end
    assert window_end - window_start == timedelta(hours=hours)


def test_a_fixed_offset_zone_has_no_daylight_saving():
    zone = timezone(timedelta(hours=-4, minutes=-30))

    start, end = night_window(date(2024, 3, 9), zone)

    assert format_timestamp(start) == "2024-03-09T22:00:00-04:30"
    assert format_timestamp(end) == "2024-03-10T06:00:00-04:30"


class TestLocalZone:
    def test_the_records_own_zone_comes_first(self):
        item = berlin("2024-05-01T23:00:00+02:00", "2024-05-02T07:00:00+02:00")

        assert local_zone(item, "America/New_York") == load_zone("Europe/Berlin")

    def test_then_the_owners_zone(self):
        item = record("2024-03-09T22:00:00-05:00", "2024-03-10T06:00:00-04:00")

        assert local_zone(item, "America/New_York") == load_zone("America/New_York")
        assert local_zone(item, load_zone("Asia/Tokyo")) == load_zone("Asia/Tokyo")

    def test_then_the_offset_of_the_start(self):
        item = record("2024-03-09T22:00:00-05:00", "2024-03-10T06:00:00-04:00")

        assert local_zone(item) == timezone(timedelta(hours=-5))

    def test_an_unknown_zone_name_falls_through(self):
        item = record(
            "2024-05-01T23:00:00+03:00",
            "2024-05-02T07:00:00+03:00",
            timezone="Mars/Olympus_Mons",
        )

        assert local_zone(item, "Nowhere/At_All") == timezone(timedelta(hours=3))
        night = nights_of([item], "Nowhere/At_All")[date(2024, 5, 1)]
        assert format_timestamp(night.window_start) == "2024-05-01T22:00:00+03:00"

    def test_the_owners_zone_moves_the_window_of_a_record_without_one(self):
        # The same instants, 03:00Z to 10:00Z: with New York's rules the
        # morning of 10 March is in daylight-saving time; with the start's
        # fixed -05:00 it is not.
        item = record("2024-03-09T22:00:00-05:00", "2024-03-10T06:00:00-04:00")

        with_owner = nights_of([item], "America/New_York")[date(2024, 3, 9)]
        fixed = nights_of([item])[date(2024, 3, 9)]

        assert format_timestamp(with_owner.window_end) == "2024-03-10T06:00:00-04:00"
        assert (with_owner.minutes, with_owner.violated) == (420, False)
        assert format_timestamp(fixed.window_end) == "2024-03-10T06:00:00-05:00"
        # 03:00Z-10:00Z inside the fixed window 03:00Z-11:00Z: 420 as well.
        assert fixed.minutes == 420


class TestEvaluatedNights:
    @pytest.mark.parametrize(
        ("start", "night"),
        [
            ("2024-05-01T12:00:00+03:00", "2024-05-01"),
            ("2024-05-01T11:59:59+03:00", "2024-04-30"),
            ("2024-05-02T11:59:59+03:00", "2024-05-01"),
            ("2024-05-02T00:00:00+03:00", "2024-05-01"),
        ],
    )
    def test_a_record_belongs_to_the_night_from_noon_to_noon(self, start, night):
        item = record(start, "2024-05-02T12:00:00+03:00")

        assert night_of(item, local_zone(item)) == date.fromisoformat(night)

    def test_a_night_without_records_is_no_data_not_a_violation(self):
        records = [
            record("2024-05-01T23:00:00+03:00", "2024-05-02T07:00:00+03:00"),
            record("2024-05-03T23:00:00+03:00", "2024-05-04T07:00:00+03:00"),
        ]

        assert sorted(nights_of(records)) == [date(2024, 5, 1), date(2024, 5, 3)]

    def test_sleep_in_a_window_does_not_make_its_night_evaluated(self):
        # The 20-hour record belongs to the night of 30 April; it also covers
        # 22:00-00:00 of 1 May's window, but no record starts between 12:00
        # on 1 May and 12:00 on 2 May, so 1 May is no data.
        only = record("2024-05-01T04:00:00+03:00", "2024-05-02T00:00:00+03:00")

        nights = nights_of([only])

        assert sorted(nights) == [date(2024, 4, 30)]
        assert nights[date(2024, 4, 30)].total_minutes == 1200

    def test_total_counts_every_record_of_the_night_once(self):
        records = [
            # 20:00-07:00 = 660, its window part 22:00-06:00 = 480
            record("2024-05-01T20:00:00+03:00", "2024-05-02T07:00:00+03:00"),
            # the same sleep from a second device, 21:00-06:30: inside the first
            record("2024-05-01T21:00:00+03:00", "2024-05-02T06:30:00+03:00"),
            # a nap at 10:00-10:30, before noon: the same night, outside the window
            record("2024-05-02T10:00:00+03:00", "2024-05-02T10:30:00+03:00"),
        ]

        night = nights_of(records)[date(2024, 5, 1)]

        assert (night.minutes, night.total_minutes, night.records) == (480, 690, 3)

    def test_only_the_nights_asked_for_are_evaluated(self):
        records = [
            record(
                f"2024-05-0{day}T23:00:00+03:00", f"2024-05-0{day + 1}T07:00:00+03:00"
            )
            for day in range(1, 6)
        ]

        nights = evaluate_nights(
            records, first_date=date(2024, 5, 2), last_date=date(2024, 5, 4)
        )

        assert [night.date.day for night in nights] == [2, 3, 4]

    def test_clients_are_those_of_the_records_counted(self):
        records = [
            record(
                "2024-05-01T04:00:00+03:00",
                "2024-05-02T00:00:00+03:00",
                client="192.0.2.1",
            ),
            record(
                "2024-05-02T01:00:00+03:00",
                "2024-05-02T05:00:00+03:00",
                client="2001:db8::7",
            ),
            record("2024-05-02T05:00:00+03:00", "2024-05-02T05:30:00+03:00"),
        ]

        night = nights_of(records)[date(2024, 5, 1)]

        assert night.clients == ("192.0.2.1", "2001:db8::7")

    def test_records_out_of_order_are_refused(self):
        records = [
            record("2024-05-02T23:00:00+03:00", "2024-05-03T07:00:00+03:00"),
            record("2024-05-01T23:00:00+03:00", "2024-05-02T07:00:00+03:00"),
        ]

        with pytest.raises(ValueError, match="sorted"):
            list(evaluate_nights(records))

    def test_records_of_two_owners_are_refused(self):
        records = [
            record("2024-05-01T23:00:00+03:00", "2024-05-02T07:00:00+03:00"),
            record("2024-05-02T23:00:00+03:00", "2024-05-03T07:00:00+03:00", "bob"),
        ]

        with pytest.raises(ValueError, match="one owner"):
            list(evaluate_nights(records))


class TestTraveller:
    """Berlin on 1 May, New York from 2 May; the account says Berlin."""

    RECORDS = [
        # night of 1 May in Berlin: inside 23:00-06:00 = 420
        berlin("2024-05-01T23:00:00+02:00", "2024-05-02T07:00:00+02:00"),
        # a nap before the flight, 14:00-14:30 Berlin (08:00 in New York):
        # in its own zone it belongs to the night of 2 May
        berlin("2024-05-02T14:00:00+02:00", "2024-05-02T14:30:00+02:00"),
        # night of 2 May in New York: inside 23:00-06:00 = 420
        new_york("2024-05-02T23:00:00-04:00", "2024-05-03T07:30:00-04:00"),
    ]

    def test_each_night_follows_its_longest_record(self):
        nights = nights_of(self.RECORDS, "Europe/Berlin")

        first, second = nights[date(2024, 5, 1)], nights[date(2024, 5, 2)]
        assert format_timestamp(first.window_start) == "2024-05-01T22:00:00+02:00"
        assert (first.minutes, first.violated) == (420, False)
        assert format_timestamp(second.window_start) == "2024-05-02T22:00:00-04:00"
        assert format_timestamp(second.window_end) == "2024-05-03T06:00:00-04:00"
        # the nap (30) and the night (23:00-07:30 = 510) both belong to it
        assert (second.minutes, second.total_minutes, second.violated) == (
            420,
            540,
            False,
        )

    def test_in_the_owners_zone_the_night_would_wrongly_be_short(self):
        # Without the records' zones, 2 May's window is 22:00-06:00 Berlin,
        # 16:00-00:00 in New York, where only 23:00-00:00 = 60 was slept.
        bare = [item.replace(timezone=None) for item in self.RECORDS]

        night = nights_of(bare, "Europe/Berlin")[date(2024, 5, 2)]

        assert (night.minutes, night.violated) == (60, True)


class TestRule:
    def test_window_and_threshold_are_configurable(self):
        rule = NightRule(
            evening=time(23), morning=time(7), threshold=timedelta(hours=7)
        )
        records = [
            # inside 23:00-06:00 = 420: exactly 7 h, fine
            record("2024-05-01T22:00:00+03:00", "2024-05-02T06:00:00+03:00"),
            # inside 23:00-05:59 = 419, a violation
            record("2024-05-02T23:00:00+03:00", "2024-05-03T05:59:00+03:00"),
        ]

        nights = nights_of(records, rule=rule)

        assert [(n.minutes, n.violated) for n in nights.values()] == [
            (420, False),
            (419, True),
        ]

    def test_seconds_short_of_the_threshold_are_a_violation(self):
        # 22:00:00-03:59:59.5 is 359.99 minutes: shown as 359, violated.
        item = record("2024-05-01T22:00:00+03:00", "2024-05-02T03:59:59.5+03:00")

        night = nights_of([item])[date(2024, 5, 1)]

        assert (night.minutes, night.violated) == (359, True)

    @pytest.mark.parametrize(
        "fields",
        [
            {"evening": time(11)},
            {"morning": time(12, 1)},
            {"threshold": timedelta(0)},
            {"evening": time(22, tzinfo=timezone.utc)},
        ],
    )
    def test_a_window_outside_its_day_is_refused(self, fields):
        with pytest.raises(ValueError):
            NightRule(**fields)


def test_record_range_covers_every_zone():
    start_from, start_to = record_range(date(2024, 5, 1), date(2024, 5, 3))

    assert start_from == datetime(2024, 4, 30, 12, tzinfo=timezone.utc)
    assert start_to == datetime(2024, 5, 5, 12, tzinfo=timezone.utc)
    # The earliest record of 1 May's night, noon at +14:00, is 22:00Z on
    # 30 April; the latest of 3 May's, just before noon at -12:00, 23:59Z on
    # 4 May.
    assert start_from <= parse_timestamp("2024-05-01T12:00:00+14:00")
    assert parse_timestamp("2024-05-04T11:59:59-12:00") < start_to


def test_everyone_at_once_matches_one_owner_at_a_time():
    zones = {"alice": "Europe/Berlin", "bob": "America/New_York"}
    records = []
    for day in range(31):
        # Through March 2024 and both of its daylight-saving changes: Alice
        # sleeps 4 to 8 hours from 23:00 Berlin; Bob 5 to 7 hours from 22:30
        # New York, with a second device on odd days.
        evening = date(2024, 3, 1) + timedelta(days=day)
        start = datetime.combine(evening, time(23), load_zone(zones["alice"]))
        records.append(record_at("alice", start, hours=4 + day % 5))
        start = datetime.combine(evening, time(22, 30), load_zone(zones["bob"]))
        records.append(record_at("bob", start, hours=5 + day % 3))
        if day % 2:
            records.append(record_at("bob", start + timedelta(hours=1), hours=6))
    records.sort(key=lambda item: item.start)

    together = sorted(evaluate_everyone(records, zones), key=lambda pair: pair[0])

    apart = [
        (owner, night)
        for owner in ("alice", "bob")
        for night in evaluate_nights(
            [item for item in records if item.owner == owner], zones[owner]
        )
    ]
    assert together == apart
    assert len(together) == 31 + 31


def test_the_sleep_as_android_export():
    # Europe/London in November and December 2020 is GMT, +00:00. By hand:
    #   12 Nov 20:00-13 Nov 07:00      night 12 Nov, inside 22-06 = 480
    #   26 Nov 20:00-27 Nov 07:00      night 26 Nov, inside 22-06 = 480
    #   27 Nov 07:38, 08:50, 08:54 (x2) start before noon: night 26 Nov
    #   28 Nov 08:10, 08:12, 08:17     start before noon: night 27 Nov,
    #                                  nothing in 22:00-06:00: 0, violated
    #   30 Nov 12:12, 12:14            after noon: night 30 Nov, 0, violated
    #    1 Dec 20:00-2 Dec 07:00       night 1 Dec, inside 22-06 = 480
    # Night 26 Nov in total: 660 + 2 (07:38-07:40) + 391 (08:54-15:25) = 1053.
    records = [
        SleepRecord.from_json(dict(item, owner="sleeper"))
        for item in json.loads(DATA.read_text(encoding="utf-8"))
    ]

    nights = nights_of(records)

    summary = [
        (str(n.date), n.minutes, n.total_minutes, n.violated) for n in nights.values()
    ]
    assert summary == [
        ("2020-11-12", 480, 660, False),
        ("2020-11-26", 480, 1053, False),
        ("2020-11-27", 0, 3, True),
        ("2020-11-30", 0, 2, True),
        ("2020-12-01", 480, 660, False),
    ]
