"""The import's fast paths give what the plain ones give.

``parse_timestamp`` reads through ``datetime.fromisoformat`` when it can,
``format_timestamp`` writes through ``isoformat``, ``save_many`` sends
datetimes as text and the generic CSV reader takes fields by position; each
is checked here against the slow form it stands in for.
"""

import io
import re
from datetime import datetime, timedelta, timezone

import pytest

from sleeplog.models import SleepRecord
from sleeplog.services.imports import generic_csv
from sleeplog.timestamps import (
    _TIMESTAMP,
    _from_parts,
    format_timestamp,
    load_zone,
    localize,
    parse_timestamp,
)

BERLIN = load_zone("Europe/Berlin")


def slow_parse(text, zone=None):
    match = _TIMESTAMP.fullmatch(text)
    moment = _from_parts(match.groupdict(), match["offset"])
    return moment if match["offset"] else localize(moment, zone)


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01T23:00:00Z",
        "2024-05-01t23:00:00z",
        "2024-05-01 23:00:00+00:00",
        "2024-05-01T23:00:00-00:00",
        "2024-05-01T23:00:00.5+05:30",
        "2024-05-01T23:00:00.25-03:00",
        "2024-05-01T23:00:00.250Z",
        "2024-05-01T23:00:00.1234+23:59",
        "2024-05-01T23:00:00.123456-23:59",
        "2024-05-01T23:00:00.123456789Z",
        "2024-05-01T23:00:00.000000001",
        "2024-10-27T02:30:00",
        "0001-01-02T00:00:00",
        "9999-12-31T23:59:59.999999+01:00",
    ],
)
def test_parse_matches_the_field_by_field_reading(text):
    fast, slow = parse_timestamp(text, BERLIN), slow_parse(text, BERLIN)

    assert fast == slow
    assert repr(fast) == repr(slow)
    assert fast.tzname() == slow.tzname()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2024-02-30T00:00:00Z", "day is out of range for month"),
        ("2024-05-01T24:00:00Z", "hour must be in 0..23"),
        ("2024-05-01T23:59:60Z", "second must be in 0..59"),
        ("0000-01-01T00:00:00Z", "year 0 is out of range"),
        ("2024-05-01T23:00:00+00:60", "impossible UTC offset +00:60"),
        ("2024-05-01T23:00:00.1+24:00", "impossible UTC offset +24:00"),
    ],
)
def test_refusals_keep_their_reasons(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_timestamp(text)


@pytest.mark.parametrize(
    "offset",
    [
        timedelta(0),
        timedelta(hours=5, minutes=30),
        -timedelta(hours=3),
        timedelta(seconds=1172),  # Amsterdam's old +00:19:32
        -timedelta(seconds=30),
        timedelta(minutes=1, microseconds=5),
    ],
)
@pytest.mark.parametrize("microsecond", [0, 250000])
def test_format_writes_whole_minutes_of_offset(offset, microsecond):
    moment = datetime(2024, 5, 1, 23, 0, 0, microsecond, timezone(offset))
    minutes = abs(offset) // timedelta(minutes=1)
    sign = "-" if offset < timedelta(0) else "+"
    expected = moment.replace(tzinfo=None).isoformat()
    expected += "Z" if not offset else f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"

    assert format_timestamp(moment) == expected


def test_save_many_keeps_offsets_and_fractions(store):
    night = SleepRecord(
        owner="alice",
        start=parse_timestamp("2024-05-01T23:00:00.25+02:00"),
        end=parse_timestamp("2024-05-02T06:00:00.000001Z"),
        note="snow \u2744",
    )
    whole = night.replace(start=parse_timestamp("2024-05-03T23:00:00-04:30"))

    assert store.save_many([night, whole]) == 2
    stored = {r.start: r for r in store.page(owner="alice")}
    assert stored[night.start].to_json()["start"] == "2024-05-01T23:00:00.250000+02:00"
    assert stored[night.start].to_json()["end"] == "2024-05-02T06:00:00.000001Z"
    assert stored[night.start].note == "snow \u2744"
    assert stored[whole.start].to_json()["start"] == "2024-05-03T23:00:00-04:30"
    assert stored[whole.start].created_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "header",
    [
        "start,end,timezone,source,note",
        "start,end,timezone",
        "start,end",
        "note,end,start,source,timezone",
    ],
)
def test_csv_columns_in_any_order_give_the_same_payload(header):
    values = {
        "start": " 2024-05-01T23:00:00 ",
        "end": "2024-05-02T07:00:00+02:00",
        "timezone": "",
        "source": " ",
        "note": " hi ",
    }
    names = header.split(",")
    text = header + "\n" + ",".join(values[name] for name in names) + "\n"

    [(_, payload)] = generic_csv.parse(io.BytesIO(text.encode()), BERLIN)

    assert payload == {
        "start": "2024-05-01T23:00:00",
        "end": "2024-05-02T07:00:00+02:00",
        "timezone": "Europe/Berlin",
        "source": "csv",
        "note": "hi" if "note" in names else None,
    }
