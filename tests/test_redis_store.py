"""What only the Redis store promises: its keys, its slots, races and failures.

The raw ``redis_client`` reads keys under this run's random prefix, which is
why these tests may list them; the store itself never scans.
"""

import copy
import json
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import redis
from redis.crc import key_slot

from sleeplog.errors import NotFoundError, StorageUnavailableError
from sleeplog.models import SleepRecord
from sleeplog.storage.redis_store import RedisRecordStore
from sleeplog.timestamps import parse_timestamp

ALICE_START_US = "01714604400000000"  # 2024-05-01T23:00:00Z
ALICE_SPAN = "1714604400000000:1714633200000000"  # to 2024-05-02T07:00:00Z
BOB_START_US = "01714606200500000"  # 2024-05-01T23:30:00.5Z


def record(start, end, owner="alice", **fields):
    return SleepRecord(
        owner=owner, start=parse_timestamp(start), end=parse_timestamp(end), **fields
    )


def alice_night(**fields):
    return record("2024-05-01T23:00:00Z", "2024-05-02T07:00:00Z", **fields)


@pytest.fixture()
def prefix(settings):
    return settings.redis.key_prefix


def owner_keys(prefix, tag):
    return [f"{prefix}:{{o:{tag}}}:{name}" for name in ("data", "spans", "timeline")]


def global_keys(prefix):
    return [f"{prefix}:{{all}}:{name}" for name in ("timeline", "owners", "next_id")]


def text(value):
    return value.decode("utf-8")


def test_two_owners_make_exactly_these_keys(redis_store, redis_client, prefix):
    redis_store.save(alice_night(note="\u2744"))
    redis_store.save(
        record("2024-05-02T01:30:00.5+02:00", "2024-05-02T08:00:00+02:00", "bob")
    )

    keys = {text(key) for key in redis_client.scan_iter(match=prefix + ":*")}
    assert keys == set(
        owner_keys(prefix, "alice") + owner_keys(prefix, "bob") + global_keys(prefix)
    )
    assert [text(redis_client.type(key)) for key in owner_keys(prefix, "bob")] == [
        "hash",
        "hash",
        "zset",
    ]
    assert [text(redis_client.type(key)) for key in global_keys(prefix)] == [
        "zset",
        "hash",
        "string",
    ]

    alice_data, alice_spans, alice_timeline = owner_keys(prefix, "alice")
    bob_data, bob_spans, bob_timeline = owner_keys(prefix, "bob")
    timeline, owners, next_id = global_keys(prefix)
    assert redis_client.hgetall(alice_spans) == {ALICE_SPAN.encode(): b"1"}
    assert redis_client.hgetall(bob_spans) == {
        b"1714606200500000:1714629600000000": b"2"
    }
    assert redis_client.zrange(alice_timeline, 0, -1, withscores=True) == [
        (f"{ALICE_START_US}:000000000001".encode(), 0.0)
    ]
    assert redis_client.zrange(bob_timeline, 0, -1) == [
        f"{BOB_START_US}:000000000002".encode()
    ]
    assert redis_client.zrange(timeline, 0, -1) == [
        f"{ALICE_START_US}:000000000001:alice".encode(),
        f"{BOB_START_US}:000000000002:bob".encode(),
    ]
    assert redis_client.hgetall(owners) == {b"1": b"alice", b"2": b"bob"}
    assert redis_client.get(next_id) == b"2"

    raw = redis_client.hget(alice_data, "1")
    assert raw.startswith(
        '{"id":1,"owner":"alice","start":"2024-05-01T23:00:00Z",'
        '"end":"2024-05-02T07:00:00Z","timezone":null,"source":null,'
        '"note":"\u2744","client":null,"created_at":"'.encode()
    )
    bob = json.loads(redis_client.hget(bob_data, "2"))
    assert (bob["id"], bob["start"], bob["end"]) == (
        2,
        "2024-05-02T01:30:00.500000+02:00",
        "2024-05-02T08:00:00+02:00",
    )


@pytest.mark.parametrize(
    ("owner", "tag"), [("alice", "alice"), ("*", "%2A"), ("a}b:{c", "a%7Db%3A%7Bc")]
)
def test_one_owners_keys_share_a_slot(redis_store, redis_client, prefix, owner, tag):
    redis_store.save(alice_night().replace(owner=owner))

    keys = owner_keys(prefix, tag)
    assert [text(redis_client.type(key)) for key in keys] == ["hash", "hash", "zset"]
    assert {key_slot(key.encode()) for key in keys} == {key_slot(f"o:{tag}".encode())}
    assert len({key_slot(key.encode()) for key in global_keys(prefix)}) == 1


def test_the_slot_is_crc16_of_the_hash_tag():
    # CRC-16/XMODEM of "123456789" is 0x31C3, the check value in the cluster spec.
    assert key_slot(b"{123456789}:data") == 0x31C3 % 16384 == 12739
    assert key_slot(b"p:{o:x}:data") == key_slot(b"p:{o:x}:spans") == key_slot(b"o:x")


def test_concurrent_saves_of_one_span_store_one_record(redis_store, redis_client):
    barrier = threading.Barrier(8)
    results = []
    failures = []

    def save(number):
        barrier.wait()
        try:
            results.append(redis_store.save(alice_night(note=f"thread {number}")))
        except Exception as exc:  # collected and reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert failures == []
    assert sorted(created for _, created in results) == [False] * 7 + [True]
    assert len({stored for stored, _ in results}) == 1
    assert redis_store.count() == redis_store.count(owner="alice") == 1
    assert [r.note for r in redis_store.iter_records()] == [results[0][0].note]


def test_owners_with_key_syntax_in_their_names_stay_apart(redis_store):
    alice, _ = redis_store.save(alice_night())
    star, _ = redis_store.save(alice_night().replace(owner="*"))
    braces, _ = redis_store.save(alice_night().replace(owner="a}b:{c"))

    assert len({alice.id, star.id, braces.id}) == 3
    assert redis_store.count(owner="*") == 1
    assert redis_store.count(owner="a}b:{c") == 1
    assert [r.id for r in redis_store.page(owner="*")] == [star.id]
    assert [r.owner for r in redis_store.page()] == ["alice", "*", "a}b:{c"]

    assert redis_store.delete(star.id) is True
    assert redis_store.count() == 2
    assert redis_store.count(owner="*") == 0
    assert [r.id for r in redis_store.page(owner="alice")] == [alice.id]
    assert redis_store.get(braces.id) == braces


@pytest.fixture()
def dead_store(settings):
    dead = copy.deepcopy(settings)
    dead.redis.url = "redis://:s3cret@127.0.0.1:1/0"
    dead.redis.connect_timeout = 0.5
    dead.redis.timeout = 0.5
    store = RedisRecordStore(dead)
    yield store
    store.close()


@pytest.mark.parametrize(
    "call",
    [
        lambda store: store.save(alice_night()),
        lambda store: store.save_many([alice_night()]),
        lambda store: store.page(),
        lambda store: store.get(1),
        lambda store: store.check(),
    ],
    ids=["save", "save_many", "page", "get", "check"],
)
def test_a_closed_port_is_unavailable_at_once(dead_store, call):
    began = time.monotonic()
    with pytest.raises(StorageUnavailableError) as caught:
        call(dead_store)

    assert time.monotonic() - began < 2
    assert caught.value.message.startswith("Redis is unavailable: ")
    assert "s3cret" not in caught.value.message
    assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)


def test_saving_again_heals_lost_global_entries(redis_store, redis_client, prefix):
    first, _ = redis_store.save(alice_night())
    timeline, owners, _ = global_keys(prefix)
    member = f"{ALICE_START_US}:{first.id:012d}:alice"
    redis_client.zrem(timeline, member)
    redis_client.hdel(owners, first.id)
    assert redis_store.count() == 0
    with pytest.raises(NotFoundError):
        redis_store.get(first.id)

    again, created = redis_store.save(alice_night(note="later"))

    assert (again, created) == (first, False)
    assert redis_client.zrange(timeline, 0, -1) == [member.encode()]
    assert redis_store.count() == 1
    assert redis_store.get(first.id) == first


def test_stale_global_entries_are_skipped_and_dropped(
    redis_store, redis_client, prefix
):
    kept, _ = redis_store.save(alice_night())
    gone, _ = redis_store.save(alice_night().replace(owner="bob"))
    # As if a delete stopped after the owner's keys: the global entries remain.
    redis_client.hdel(owner_keys(prefix, "bob")[0], gone.id)

    assert redis_store.page() == [kept]
    assert redis_store.count() == 1
    assert redis_client.hgetall(global_keys(prefix)[1]) == {b"1": b"alice"}


def test_ids_sort_by_number_and_cursors_split_equal_starts(redis_store):
    start = datetime(2024, 5, 1, 23, tzinfo=timezone.utc)
    for hours in range(1, 12):
        redis_store.save(
            SleepRecord(owner="alice", start=start, end=start + timedelta(hours=hours))
        )
    redis_store.save(
        SleepRecord(owner="bob", start=start, end=start + timedelta(hours=12))
    )
    cursor_start = datetime(2024, 5, 1, 23)

    alices = list(redis_store.iter_records(owner="alice", page_size=4))
    after_nine = redis_store.page(after=(cursor_start, 9), limit=2)

    assert [r.id for r in alices] == list(range(1, 12))
    assert [r.id for r in after_nine] == [10, 11]
    assert [r.id for r in redis_store.page(after=(cursor_start, 11))] == [12]
    assert redis_store.page(after=(cursor_start, 10**13)) == []
    assert len(redis_store.page(after=(cursor_start, -5))) == 12


def test_a_page_keeps_reading_past_records_that_end_too_early(redis_store):
    for owner in ("alice", "bob"):
        for hour in range(1, 6):  # each ends before the window opens
            redis_store.save(
                record(
                    f"2024-05-01T0{hour}:00:00Z", f"2024-05-01T0{hour}:30:00Z", owner
                )
            )
    for hour in (20, 21, 22):
        redis_store.save(record(f"2024-05-01T{hour}:00:00Z", "2024-05-02T06:00:00Z"))
    window_opens = datetime(2024, 5, 2, tzinfo=timezone.utc)

    alices = redis_store.page(owner="alice", start_from=window_opens, limit=2)
    everyones = redis_store.page(start_from=window_opens, limit=2)

    assert [r.start.hour for r in alices] == [20, 21]
    assert [r.start.hour for r in everyones] == [20, 21]


def test_save_many_batches_more_than_a_thousand(redis_store, redis_client, prefix):
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    batch = [
        SleepRecord(
            owner=f"owner{n % 3}",
            start=start + timedelta(hours=n),
            end=start + timedelta(hours=n, minutes=30),
        )
        for n in range(1001)
    ]

    assert redis_store.save_many(batch + batch[:5]) == 1001
    assert redis_store.save_many(batch) == 0
    assert redis_store.count() == 1001
    assert redis_store.count(owner="owner1") == 334
    assert redis_client.get(global_keys(prefix)[2]) == b"1001"


@pytest.mark.parametrize("record_id", [0, -1, "1", 1.0, True, 10**30])
def test_ids_that_cannot_exist_are_not_found(redis_store, record_id):
    redis_store.save(alice_night())

    with pytest.raises(NotFoundError):
        redis_store.get(record_id)
    assert redis_store.delete(record_id) is False
