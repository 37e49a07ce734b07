"""Violators report: seconds, records per second and peak memory, per store.

Generates ``--records`` sleep records, ``--users`` people with one record a
night each, into a throw-away MySQL database and Redis key prefix, both named
``sleeplog_bench_<random>`` and removed at the end, through the stores'
``save_many`` (two loading processes, one per store). Then it computes the
report from each store for a tenth of the records and for all of them, and
prints a table. It passes or fails nothing::

    python benchmarks/violators_bench.py --records 100000 --users 1000 --trace

The report is read one person at a time (``iter_violators`` with
``store.iter_records(owner=...)``), the way that keeps memory flat: one
person's records, a page of at most 500, and each violator handed on as it
comes instead of gathered; the tenth is a tenth of the people. ``--mode
global`` reads everybody's records as one stream (``find_violators``)
instead, and the tenth is a tenth of the nights; that mode holds every active
person's last days and the whole report, so its memory grows with people and
with violations.

"RSS MiB" is how far this process's peak resident size rose above its size
when the report began (Linux: ``/proc/self/clear_refs`` resets the peak; the
loading ran elsewhere, so only the report counts). With ``--trace``, "traced
MiB" is the peak of Python allocations during a second run under
``tracemalloc``, about five times slower.
"""

import argparse
import itertools
import json
import multiprocessing
import os
import random
import secrets
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pymysql
import redis

from sleeplog.config import load_settings
from sleeplog.models import SleepRecord
from sleeplog.services.nights import record_range
from sleeplog.services.people import Person
from sleeplog.services.violators import find_violators, iter_violators, merge_stores
from sleeplog.storage.mysql_store import MySQLRecordStore, migrate
from sleeplog.storage.redis_store import RedisRecordStore
from sleeplog.timestamps import load_zone

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
FIRST_NIGHT = date(2024, 1, 1)
ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Asia/Tokyo",
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Los_Angeles",
    "Asia/Kolkata",
)
STORES = {"mysql": MySQLRecordStore, "redis": RedisRecordStore}
LOAD_CHUNK = 10_000
MIB = 1024 * 1024


def main(argv=None):
    """Load the records, measure the report per store and size, print, clean up."""
    args = parse_args(argv)
    nights = max(1, args.records // args.users)
    people = make_people(args.users)
    settings = bench_settings("sleeplog_bench_" + secrets.token_hex(4))
    stores = {}
    names = args.stores.split(",")
    backends = sorted({"mysql", "redis"} if "all" in names else set(names))
    try:
        migrate(settings)
        print(f"{args.users} people x {nights} nights = {args.users * nights} records")
        for name, seconds in load_all(settings, backends, args.users, nights):
            print(f"loaded {name} in {seconds:.1f} s", flush=True)

        for name in backends:
            stores[name] = STORES[name](settings)

        print(f"\n{args.mode}, nights from {FIRST_NIGHT}")
        print(
            f"{'store':<7}{'people':>7}{'nights':>7}{'records':>10}{'seconds':>9}"
            f"{'rec/s':>8}{'RSS MiB':>9}{'traced MiB':>12}{'violators':>11}"
            f"{'violated':>10}"
        )
        for name in names:
            for some, count in sizes(people, nights, args.mode):
                row = measure(stores, name, some, count, args)
                print_row(name, len(some), count, row)
    finally:
        for store in stores.values():
            store.close()
        clean_up(settings)


def parse_args(argv):
    """The command line's options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="(1000000)")
    parser.add_argument("--users", type=int, default=10_000, help="(10000)")
    parser.add_argument(
        "--stores", default="mysql,redis", help="any of mysql,redis,all (mysql,redis)"
    )
    parser.add_argument("--mode", choices=("per-owner", "global"), default="per-owner")
    parser.add_argument(
        "--trace", action="store_true", help="also trace with tracemalloc (slow)"
    )
    return parser.parse_args(argv)


def bench_settings(run_id):
    """The configured settings, pointed at a database and prefix named ``run_id``."""
    environ = dict(os.environ)
    environ.update(
        {"SLEEPLOG_MYSQL_DATABASE": run_id, "SLEEPLOG_REDIS_KEY_PREFIX": run_id}
    )
    return load_settings(str(CONFIG_DIR), environ=environ)


def sizes(people, nights, mode):
    """``(people, nights)`` to measure: a tenth of the records, then all of them.

    Read one person at a time, the tenth is a tenth of the people; read as one
    stream of everybody's, a tenth of the nights.
    """
    if mode == "per-owner":
        tenth = dict(itertools.islice(people.items(), max(1, len(people) // 10)))
        return [(tenth, nights), (people, nights)]
    return [(people, max(1, nights // 10)), (people, nights)]


def print_row(name, people, nights, row):
    """One line of the table."""
    traced = "-" if row["traced"] is None else f"{row['traced'] / MIB:.1f}"
    rate = row["records"] / row["seconds"]
    print(
        f"{name:<7}{people:>7}{nights:>7}{row['records']:>10}{row['seconds']:>9.1f}"
        f"{rate:>8.0f}{row['rss'] / MIB:>9.1f}{traced:>12}{row['violators']:>11}"
        f"{row['nights']:>10}",
        flush=True,
    )


def make_people(users):
    """``users`` people, each in one of ``ZONES``."""
    return {
        f"sleeper{number:05d}": Person(
            owner=f"sleeper{number:05d}",
            user_id=number,
            nickname=f"Sleeper {number:05d}",
            timezone=ZONES[number % len(ZONES)],
        )
        for number in range(users)
    }


def generate(people, nights):
    """One record a night per person: from 21:00-01:00 local, 5 to 10 hours long."""
    for number, person in enumerate(people.values()):
        rng = random.Random(number)
        zone = load_zone(person.timezone)
        for night in range(nights):
            day = FIRST_NIGHT + timedelta(days=night)
            evening = datetime(day.year, day.month, day.day, 21)
            # Real minutes after 21:00 local, so no start falls in a DST gap.
            start = evening.replace(tzinfo=zone).astimezone(timezone.utc)
            start += timedelta(minutes=rng.randrange(0, 240))
            end = start + timedelta(minutes=rng.randrange(300, 600))
            yield SleepRecord(
                owner=person.owner,
                start=_frozen(start, zone),
                end=_frozen(end, zone),
                timezone=person.timezone,
                source="violators_bench",
                client=f"10.{number // 250 % 250}.{number % 250}.{night % 3 + 1}",
            )


def _frozen(moment, zone):
    local = moment.astimezone(zone)
    return local.astimezone(timezone(local.utcoffset()))


def load_all(settings, names, users, nights):
    """Load the stores ``names`` at once, each from a process of its own.

    The loading processes' memory stays out of this one, whose resident size
    then measures the report alone. Yields ``(store name, seconds)``.
    """
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        futures = {
            name: pool.submit(load, name, settings.mysql.database, users, nights)
            for name in names
        }
        for name, future in futures.items():
            yield name, future.result()


def load(name, run_id, users, nights):
    """Save every generated record into store ``name``; return the seconds taken."""
    settings = bench_settings(run_id)
    store = STORES[name](settings)
    started = time.perf_counter()
    records = generate(make_people(users), nights)
    try:
        while True:
            chunk = list(itertools.islice(records, LOAD_CHUNK))
            if not chunk:
                return time.perf_counter() - started
            store.save_many(chunk)
    finally:
        store.close()


def measure(stores, name, people, nights, args):
    """Time the report and its peak RSS, then trace its peak Python memory."""
    date_to = FIRST_NIGHT + timedelta(days=nights - 1)
    rss_before = reset_peak_rss()
    result = report(stores, name, people, date_to, args.mode)
    result["rss"] = max(0, peak_rss() - rss_before)

    result["traced"] = None
    if args.trace:
        tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            report(stores, name, people, date_to, args.mode)
            result["traced"] = tracemalloc.get_traced_memory()[1] - baseline
        finally:
            tracemalloc.stop()
    return result


def reset_peak_rss():
    """Reset the process's peak resident size; return the size now, in bytes."""
    with open("/proc/self/clear_refs", "w") as file:
        file.write("5")
    return _status("VmRSS")


def peak_rss():
    """The process's peak resident size since the last reset, in bytes."""
    return _status("VmHWM")


def _status(field):
    with open("/proc/self/status") as file:
        for line in file:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def report(stores, name, people, date_to, mode):
    """Compute the report once, writing each violator's JSON nowhere."""
    counter = itertools.count()

    def counted(records):
        for record in records:
            next(counter)
            yield record

    def read(owner, start_from, start_to):
        chosen = ("mysql", "redis") if name == "all" else (name,)
        streams = [
            stores[store].iter_records(
                owner=owner, start_from=start_from, start_to=start_to
            )
            for store in chosen
        ]
        return counted(merge_stores(*streams) if len(streams) > 1 else streams[0])

    started = time.perf_counter()
    if mode == "per-owner":
        violators = iter_violators(read, FIRST_NIGHT, date_to, people)
    else:
        records = read(None, *record_range(FIRST_NIGHT, date_to))
        violators = find_violators(records, FIRST_NIGHT, date_to, people)

    found = nights = 0
    for violator in violators:
        json.dumps(violator.to_json())
        found += 1
        nights += len(violator.nights)
    seconds = time.perf_counter() - started

    return {
        "records": next(counter),
        "seconds": seconds,
        "violators": found,
        "nights": nights,
    }


def clean_up(settings):
    """Drop the benchmark's database and delete its Redis keys."""
    connection = pymysql.connect(
        host=settings.mysql.host,
        port=settings.mysql.port,
        user=settings.mysql.user,
        password=settings.mysql.password,
        autocommit=True,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{settings.mysql.database}`")
    connection.close()

    client = redis.Redis.from_url(settings.redis.url)
    # The prefix is this run's random name, so the pattern matches only its keys.
    keys = list(client.scan_iter(match=settings.redis.key_prefix + ":*", count=1000))
    for first in range(0, len(keys), 1000):
        client.delete(*keys[first : first + 1000])
    client.close()


if __name__ == "__main__":
    main()
