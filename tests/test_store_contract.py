"""One contract, run against every record store: memory, MySQL and Redis.

A new backend passes this class before it is named in the configuration.
"""

from datetime import datetime, timedelta, timezone

import pytest

from sleeplog.errors import NotFoundError
from sleeplog.models import SleepRecord
from sleeplog.timestamps import parse_timestamp

MSK = timezone(timedelta(hours=3))


def record(start, end, owner="alice", **fields):
    return SleepRecord(
        owner=owner, start=parse_timestamp(start), end=parse_timestamp(end), **fields
    )


def starts(records):
    return [r.start.isoformat() for r in records]


class TestRecordStoreContract:
    def test_save_returns_the_stored_record_with_id_and_time(self, store):
        stored, created = store.save(
            record(
                "2024-05-01T23:10:00+03:00",
                "2024-05-02T07:05:30+03:00",
                timezone="Europe/Moscow",
                source="Sleep as Android",
                note='snow \u2744 and "quotes"',
                client="192.0.2.7",
            )
        )

        assert created is True
        assert isinstance(stored.id, int) and stored.id > 0
        assert stored.created_at.utcoffset() == timedelta(0)
        again = store.get(stored.id)
        assert again == stored
        assert again.to_json()["start"] == "2024-05-01T23:10:00+03:00"
        assert again.to_json()["end"] == "2024-05-02T07:05:30+03:00"
        assert again.note == 'snow \u2744 and "quotes"'
        assert again.client == "192.0.2.7"

    def test_offsets_come_back_as_sent(self, store):
        stored, _ = store.save(
            record("2024-03-30T22:00:00-04:30", "2024-03-31T06:00:00Z")
        )

        again = store.get(stored.id).to_json()
        assert again["start"] == "2024-03-30T22:00:00-04:30"
        assert again["end"] == "2024-03-31T06:00:00Z"

    def test_fractions_of_a_second_survive(self, store):
        stored, _ = store.save(
            record("2024-05-01T23:00:00.25+02:00", "2024-05-02T06:00:00.000001Z")
        )

        again = store.get(stored.id).to_json()
        assert again["start"] == "2024-05-01T23:00:00.250000+02:00"
        assert again["end"] == "2024-05-02T06:00:00.000001Z"

    def test_same_owner_start_and_end_is_kept_once(self, store):
        first, created_first = store.save(
            record("2024-05-01T23:00:00+03:00", "2024-05-02T07:00:00+03:00", note="a")
        )
        # The same instants written with another offset are the same record.
        second, created_second = store.save(
            record("2024-05-01T20:00:00Z", "2024-05-02T04:00:00Z", note="b")
        )

        assert (created_first, created_second) == (True, False)
        assert second == first
        assert second.note == "a"
        assert store.count() == 1

    def test_another_owner_or_end_is_another_record(self, store):
        a, _ = store.save(record("2024-05-01T23:00:00Z", "2024-05-02T07:00:00Z"))
        b, _ = store.save(
            record("2024-05-01T23:00:00Z", "2024-05-02T07:00:00Z", owner="bob")
        )
        c, _ = store.save(record("2024-05-01T23:00:00Z", "2024-05-02T07:00:01Z"))

        assert len({a.id, b.id, c.id}) == 3
        assert store.count() == 3
        assert store.count(owner="alice") == 2
        assert store.count(owner="bob") == 1
        assert store.count(owner="carol") == 0

    def test_get_unknown_id_raises_not_found(self, store):
        with pytest.raises(NotFoundError):
            store.get(987654321)

    def test_delete(self, store):
        kept, _ = store.save(record("2024-05-01T23:00:00Z", "2024-05-02T07:00:00Z"))
        gone, _ = store.save(record("2024-05-02T23:00:00Z", "2024-05-03T07:00:00Z"))

        assert store.delete(gone.id) is True
        assert store.delete(gone.id) is False
        assert store.count() == 1
        assert [r.id for r in store.iter_records()] == [kept.id]
        with pytest.raises(NotFoundError):
            store.get(gone.id)
        # A deleted span can be stored again.
        again, created = store.save(
            record("2024-05-02T23:00:00Z", "2024-05-03T07:00:00Z")
        )
        assert created is True

    def test_iterates_everything_by_start_then_id(self, store):
        store.save(record("2024-05-03T01:00:00Z", "2024-05-03T02:00:00Z"))
        store.save(record("2024-05-01T01:00:00Z", "2024-05-01T02:00:00Z", owner="b"))
        # 03:00+02:00 is 01:00Z: the same instant as the next one, saved later.
        store.save(record("2024-05-02T03:00:00+02:00", "2024-05-02T04:00:00+02:00"))
        store.save(record("2024-05-02T01:00:00Z", "2024-05-02T05:00:00Z", owner="c"))

        result = list(store.iter_records(page_size=2))

        assert starts(result) == [
            "2024-05-01T01:00:00+00:00",
            "2024-05-02T03:00:00+02:00",
            "2024-05-02T01:00:00+00:00",
            "2024-05-03T01:00:00+00:00",
        ]
        assert result[1].id < result[2].id

    def test_pages_follow_the_cursor(self, store):
        for day in range(1, 8):
            store.save(record(f"2024-05-0{day}T01:00:00Z", f"2024-05-0{day}T02:00:00Z"))

        first = store.page(limit=3)
        second = store.page(after=(datetime(2024, 5, 3, 1), first[-1].id), limit=3)
        rest = store.page(after=(datetime(2024, 5, 6, 1), second[-1].id), limit=3)

        assert [r.start.day for r in first] == [1, 2, 3]
        assert [r.start.day for r in second] == [4, 5, 6]
        assert [r.start.day for r in rest] == [7]

    def test_time_range_selects_overlapping_records(self, store):
        # 22:00 on the 1st to 06:00 on the 2nd, UTC.
        window = (
            datetime(2024, 5, 1, 22, tzinfo=timezone.utc),
            datetime(2024, 5, 2, 6, tzinfo=timezone.utc),
        )
        store.save(record("2024-05-01T03:00:00Z", "2024-05-01T22:00:00Z"))  # ends at
        store.save(record("2024-05-01T02:00:00Z", "2024-05-01T23:00:00Z"))  # 21 h, in
        store.save(record("2024-05-02T01:00:00+03:00", "2024-05-02T09:00:00+03:00"))
        store.save(record("2024-05-02T05:59:59Z", "2024-05-02T07:00:00Z"))  # in
        store.save(record("2024-05-02T06:00:00Z", "2024-05-02T07:00:00Z"))  # starts at
        store.save(record("2024-05-01T23:00:00Z", "2024-05-02T01:00:00Z", owner="bob"))

        everyone = store.page(start_from=window[0], start_to=window[1])
        alice = list(
            store.iter_records(
                owner="alice", start_from=window[0], start_to=window[1], page_size=1
            )
        )

        # 01:00+03:00 is 22:00Z, so it comes before bob's 23:00Z.
        assert starts(everyone) == [
            "2024-05-01T02:00:00+00:00",
            "2024-05-02T01:00:00+03:00",
            "2024-05-01T23:00:00+00:00",
            "2024-05-02T05:59:59+00:00",
        ]
        assert starts(alice) == [
            "2024-05-01T02:00:00+00:00",
            "2024-05-02T01:00:00+03:00",
            "2024-05-02T05:59:59+00:00",
        ]

    def test_owner_filter_pages(self, store):
        for hour in range(6):
            owner = "alice" if hour % 2 == 0 else "bob"
            store.save(
                record(
                    f"2024-05-01T0{hour}:00:00Z",
                    f"2024-05-01T0{hour}:30:00Z",
                    owner=owner,
                )
            )

        bobs = list(store.iter_records(owner="bob", page_size=2))

        assert [r.start.hour for r in bobs] == [1, 3, 5]

    def test_save_many_counts_new_records(self, store):
        store.save(record("2024-05-01T23:00:00Z", "2024-05-02T07:00:00Z"))
        batch = [
            record("2024-05-01T23:00:00Z", "2024-05-02T07:00:00Z"),
            record("2024-05-02T23:00:00Z", "2024-05-03T07:00:00Z"),
            record("2024-05-02T23:00:00Z", "2024-05-03T07:00:00Z"),
            record("2024-05-03T23:00:00Z", "2024-05-04T07:00:00Z", owner="bob"),
        ]

        assert store.save_many(batch) == 2
        assert store.save_many(batch) == 0
        assert store.count() == 3

    def test_check_passes_when_up(self, store):
        assert store.check() is None
