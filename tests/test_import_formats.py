"""The export parsers, one format at a time, on real and hand-made files.

Every expected value here was worked out by hand from the file it names
(see tests/data/SOURCES.md); offsets follow the tz database.
"""

import io
import json
from zoneinfo import ZoneInfo

import pytest

from conftest import DATA_DIR
from sleeplog.services.imports import (
    FORMATS,
    apple_health,
    detect_format,
    fitbit,
    generic_csv,
    sleep_as_android,
)
from sleeplog.services.imports.reading import (
    MAX_LINE_BYTES,
    SKIPPED,
    Problem,
    UnreadableFileError,
    csv_rows,
    json_items,
    open_source,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def stream_of(data):
    return open_source(io.BytesIO(data), 16)[1]


def parse(module, name, zone=None):
    with open(DATA_DIR / name, "rb") as file:
        _, stream = open_source(file, 64)
        return list(module.parse(stream, zone))


@pytest.mark.parametrize(
    "name, expected",
    [
        ("sleep_as_android_sleep-export.csv", "sleep-as-android"),
        ("fitbit_api_v1.2_sleep_date_range.json", "fitbit"),
        ("fitbit_export/sleep-2021-02-27.json", "fitbit"),
        ("apple_health_export.xml", "apple-health"),
        ("generic.csv", "csv"),
        ("sleep_as_android_records.json", None),
    ],
)
def test_formats_are_told_apart_by_content(name, expected):
    head = (DATA_DIR / name).read_bytes()[:65536]

    assert detect_format(head) == expected


@pytest.mark.parametrize(
    "head, expected",
    [
        (b'{"summary": {}, "sleep": []}', "fitbit"),
        (b"[]", None),
        (b"\xef\xbb\xbfstart,end\n", "csv"),
        (b"2024-05-01T23:00:00Z,2024-05-02T07:00:00Z\n", "csv"),
        (b"Id,Tz\n", None),
        (b"<?xml version='1.0'?><html/>", None),
        (b"\xff\xfe\x00", None),
    ],
)
def test_detection_of_edge_cases(head, expected):
    assert detect_format(head) == expected


def test_format_names_are_the_documented_ones():
    assert list(FORMATS) == ["apple-health", "fitbit", "sleep-as-android", "csv"]


class TestSleepAsAndroid:
    def test_each_record_is_read_from_its_own_header(self):
        items = parse(sleep_as_android, "sleep_as_android_sleep-export.csv")

        # 12 records, each a header line and a value line: values on even lines.
        assert [position for position, _ in items] == [
            f"line {n}" for n in range(2, 25, 2)
        ]
        # The widest header (24 columns) still finds Comment in column 8.
        assert items[9][1]["note"].startswith('\u20ac\u00a5$\u03c0\\,"\n #alcohol_3x')
        assert items[0][1] == {
            "start": "2020-12-01T20:00:00",
            "end": "2020-12-02T07:00:00",
            "timezone": "Europe/London",
            "source": "Sleep as Android",
            "note": "Manually added",
        }

    def test_comments_are_decoded_as_the_app_escapes_them(self):
        items = parse(sleep_as_android, "sleep_as_android_sleep-export.csv")
        notes = [payload.get("note") for _, payload in items]

        assert notes == [
            "Manually added",
            "#fullmoon",
            "#fullmoon",
            None,  # " \n ": one line break, nothing else
            "\\n",  # a backslash and an n, typed as such
            "#lullaby",
            None,
            "\\n",  # "\n \n ": the first is literal, the second a break
            None,
            '\u20ac\u00a5$\u03c0\\,"\n #alcohol_3x #food #sport #stress #love_2x '
            "#med_2x #dream #talk #snore #laugh #sick #work #cpap #baby_2x #rain "
            "#storm #cold #cloudy #hot #gooddream #baddream #lullaby #menses_3x",
            "Manually added #stress #alcohol",
            "Manually added",
        ]

    def test_unpadded_hours_and_a_record_crossing_midnight(self):
        items = parse(sleep_as_android, "sleep_as_android_sleep-export.csv")

        assert items[10][1]["start"] == "2020-11-26T20:00:00"
        assert items[10][1]["end"] == "2020-11-27T07:00:00"
        assert items[6][1]["start"] == "2020-11-27T08:54:00"

    def test_noise_lines_are_passed_over_and_a_short_row_is_a_problem(self):
        data = (
            b'Id,Tz,From,To,Sched,Hours,Rating,Comment,"1:00"\n'
            b'"1","UTC","01. 01. 2021 1:00","01. 01. 2021 2:00","","1.0","0","",""\n'
            b',,,,,,,,"0.5"\n'
            b'"2","UTC","02. 01. 2021 1:00"\n'
        )

        items = list(sleep_as_android.parse(stream_of(data), None))

        assert items == [
            (
                "line 2",
                {
                    "start": "2021-01-01T01:00:00",
                    "end": "2021-01-01T02:00:00",
                    "timezone": "UTC",
                    "source": "Sleep as Android",
                },
            ),
            ("line 4", Problem("has 3 values, too few for its header")),
        ]

    def test_a_repeated_wall_time_takes_the_offset_id_points_to(self):
        # 25 Oct 2020, London: 01:30 happens at 00:30Z (BST) and at 01:30Z (GMT).
        # Id 1603589400000 is 2020-10-25T01:30:00Z, the second one.
        data = (
            b"Id,Tz,From,To,Sched,Hours,Rating,Comment\n"
            b'"1603589400000","Europe/London","25. 10. 2020 1:30",'
            b'"25. 10. 2020 7:00","","5.5","0",""\n'
        )

        [(_, payload)] = sleep_as_android.parse(stream_of(data), None)

        assert payload["start"] == "2020-10-25T01:30:00Z"
        assert payload["end"] == "2020-10-25T07:00:00"

    def test_values_before_any_header_make_the_file_unreadable(self):
        data = b'"1","UTC","01. 01. 2021 1:00","01. 01. 2021 2:00"\n'

        with pytest.raises(UnreadableFileError) as caught:
            list(sleep_as_android.parse(stream_of(data), None))

        assert caught.value.position == "line 1"


class TestFitbit:
    def test_api_response_without_is_main_sleep(self):
        items = parse(fitbit, "fitbit_api_v1.2_sleep_date_range.json", NEW_YORK)

        assert items == [
            (
                "record 1",
                {
                    "start": "2016-12-13T09:59:00.000",
                    "end": "2016-12-13T11:02:30.000",
                    "timezone": "America/New_York",
                    "source": "Fitbit",
                },
            ),
            (
                "record 2",
                {
                    "start": "2016-12-13T01:16:00.000",
                    "end": "2016-12-13T03:14:00.000",
                    "timezone": "America/New_York",
                    "source": "Fitbit",
                },
            ),
        ]

    def test_account_export_array(self):
        items = parse(fitbit, "fitbit_export/sleep-2021-02-27.json", LONDON)

        assert [(p, i["start"], i["end"]) for p, i in items] == [
            ("record 1", "2021-03-27T23:30:00.000", "2021-03-28T07:30:00.000"),
            ("record 2", "2021-02-28T22:45:00.000", "2021-03-01T06:15:30.000"),
            ("record 3", "2021-02-27T14:00:00.000", "2021-02-27T14:40:00.000"),
        ]

    @pytest.mark.parametrize(
        "start, end, duration_ms, expected_start, expected_end",
        [
            # Fell asleep at 01:20 BST (00:20Z), woke 07:00 GMT: 6 h 40 min.
            (
                "2021-10-31T01:20:00.000",
                "2021-10-31T07:00:00.000",
                24000000,
                "2021-10-31T01:20:00+01:00",
                "2021-10-31T07:00:00.000",
            ),
            # Fell asleep at 01:20 GMT (01:20Z), the second 01:20: 5 h 40 min.
            (
                "2021-10-31T01:20:00.000",
                "2021-10-31T07:00:00.000",
                20400000,
                "2021-10-31T01:20:00Z",
                "2021-10-31T07:00:00.000",
            ),
            # From 23:00 BST, 2 h 30 min later is 00:30Z, which is 01:30 BST.
            (
                "2021-10-30T23:00:00.000",
                "2021-10-31T01:30:00.000",
                9000000,
                "2021-10-30T23:00:00.000",
                "2021-10-31T01:30:00+01:00",
            ),
        ],
    )
    def test_duration_settles_the_repeated_hour(
        self, start, end, duration_ms, expected_start, expected_end
    ):
        log = {"startTime": start, "endTime": end, "duration": duration_ms}
        data = json.dumps({"sleep": [log]}).encode()

        [(_, payload)] = fitbit.parse(stream_of(data), LONDON)

        assert (payload["start"], payload["end"]) == (expected_start, expected_end)

    def test_entries_that_are_not_logs_are_problems(self):
        data = b'{"sleep": [1, {"startTime": "2021-01-01T01:00:00"}], "pagination": {}}'

        items = list(fitbit.parse(stream_of(data), LONDON))

        assert items == [
            ("record 1", Problem("is not a JSON object")),
            ("record 2", Problem("has no endTime")),
        ]


class TestAppleHealth:
    def test_asleep_kept_in_bed_and_awake_skipped(self):
        items = parse(apple_health, "apple_health_export.xml")

        assert len(items) == 9
        assert items[0] == ("record 1", SKIPPED)
        assert items[1] == (
            "record 2",
            {
                "start": "2020-07-08T01:05:06+01:00",
                "end": "2020-07-08T06:58:12+01:00",
                "source": "Sleep Cycle",
                "timezone": "Europe/London",
            },
        )
        assert items[2] == (
            "record 3",
            {
                "start": "2020-07-08T23:50:00+01:00",
                "end": "2020-07-09T00:20:00+01:00",
                "source": "Jane\u2019s Apple Watch",
                "note": "core sleep",
            },
        )
        assert items[7] == ("record 8", SKIPPED)
        assert items[8][1]["start"] == "2021-03-28T04:35:00+01:00"
        assert "note" not in items[8][1]

    def test_stages_across_the_spring_forward_night(self):
        items = parse(apple_health, "apple_health_export.xml")

        assert [(i["start"], i["end"], i["note"]) for _, i in items[4:7]] == [
            ("2021-03-28T00:30:00+00:00", "2021-03-28T03:15:00+01:00", "core sleep"),
            ("2021-03-28T03:15:00+01:00", "2021-03-28T03:45:00+01:00", "deep sleep"),
            ("2021-03-28T03:45:00+01:00", "2021-03-28T04:30:00+01:00", "REM sleep"),
        ]

    def test_memory_is_released_as_elements_end(self):
        records = b"".join(
            b'<Record type="HKQuantityTypeIdentifierStepCount" sourceName="x" '
            b'startDate="2020-01-01 00:00:00 +0000" '
            b'endDate="2020-01-01 00:00:00 +0000" value="1"/>'
            for _ in range(5000)
        )
        data = b"<HealthData>" + records + b"</HealthData>"
        stream = stream_of(data)
        parser = apple_health.parse(stream, None)

        assert list(parser) == []

    def test_broken_xml_names_its_line(self):
        data = b'<HealthData>\n<Record type="x"\n</HealthData>'

        with pytest.raises(UnreadableFileError) as caught:
            list(apple_health.parse(stream_of(data), None))

        assert caught.value.position == "line 3"

    def test_another_xml_document_is_refused(self):
        with pytest.raises(UnreadableFileError) as caught:
            list(apple_health.parse(stream_of(b"<html></html>"), None))

        assert "root is <html>" in caught.value.reason


class TestGenericCsv:
    def test_rows_become_payloads_with_their_line(self):
        items = parse(generic_csv, "generic.csv")

        assert [position for position, _ in items] == [
            "line 2",
            "line 3",
            "line 4",
            "line 5",
            "line 6",
            "line 8",
            "line 9",
            "line 10",
            "line 11",
        ]
        assert items[0][1] == {
            "start": "2021-10-30T23:00:00",
            "end": "2021-10-31T07:00:00",
            "timezone": "Europe/London",
            "source": "csv",
            "note": "fall-back night, an hour longer",
        }
        assert items[2][1]["note"] == 'with "quotes", and a comma'
        assert items[4][1]["note"] == "two\nlines"
        assert items[7][1] == Problem("has 6 values; expected 5")

    def test_the_given_zone_fills_in_rows_without_one(self):
        items = parse(generic_csv, "generic.csv", ZoneInfo("Europe/Moscow"))

        assert items[3][1]["timezone"] == "Europe/Moscow"
        assert items[0][1]["timezone"] == "Europe/London"

    def test_without_a_header_columns_go_in_order(self):
        data = b"2024-05-01T23:00:00Z,2024-05-02T07:00:00Z\n2024-05-02T23:00:00Z\n"

        items = list(generic_csv.parse(stream_of(data), None))

        assert items[0][1]["start"] == "2024-05-01T23:00:00Z"
        assert items[1] == ("line 2", Problem("has 1 values; expected 2 to 5"))

    def test_an_unknown_column_makes_the_file_unreadable(self):
        with pytest.raises(UnreadableFileError) as caught:
            list(generic_csv.parse(stream_of(b"start,end,mood\n"), None))

        assert "'mood'" in caught.value.reason


class TestReading:
    def test_csv_rows_report_bad_utf8_and_overlong_lines_and_go_on(self):
        data = b"a,b\n\xff,c\n" + b"x" * (MAX_LINE_BYTES + 10) + b"\n" + b"d,e\n"

        rows = list(csv_rows(stream_of(data)))

        assert rows[0] == (1, ["a", "b"], None)
        assert rows[1][0] == 2 and rows[1][2] == "is not UTF-8 text (byte 1)"
        assert rows[2] == (3, [], f"is longer than {MAX_LINE_BYTES} bytes")
        assert rows[3] == (4, ["d", "e"], None)

    def test_json_items_stream_across_chunks(self):
        values = [{"n": n, "pad": "\u00e9" * 50} for n in range(3000)]
        data = json.dumps({"before": [1, 2], "sleep": values, "after": 3}).encode()

        items = list(json_items(stream_of(data), "sleep"))

        assert items == values

    @pytest.mark.parametrize(
        "data, line",
        [
            (b'[\n{"a": 1},\n{"a": ', "line 3"),
            (b'[\n{"a": 1}\n{"a": 2}]', "line 3"),
            (b"nope", "line 1"),
            (b'[{"a": 1}] trailing', "line 1"),
        ],
    )
    def test_broken_json_names_its_line(self, data, line):
        with pytest.raises(UnreadableFileError) as caught:
            list(json_items(stream_of(data), "sleep"))

        assert caught.value.position == line
