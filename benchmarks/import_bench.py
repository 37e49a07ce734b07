"""Import speed and memory for each store, against the raw driver on this machine.

It writes a generic CSV file of ``--records`` generated nights (and one of a
tenth as many), then, for each store, measures in a fresh process each:

- ``raw``: the same rows written straight through the driver, with nothing
  parsed or checked: PyMySQL ``executemany`` of the store's own
  ``INSERT ... ON DUPLICATE KEY UPDATE`` in batches of 1000, or a redis-py
  pipeline per 1000 records of the three writes that keep a record under
  the store's key layout (its JSON, its span key, its timeline entry);
- ``import``: ``sleeplog.services.imports.import_records`` reading the file
  into the real store class, as ``sleeplog import`` does, at both sizes.

It prints records per second, peak resident memory of each process (and
what the process held before it started working), and the import's ratio
to the raw rate. It passes or fails nothing. Everything goes to a database
and a Redis key prefix named ``sleeplog_bench_<random>``, removed at the
end. Run it small first::

    python benchmarks/import_bench.py --records 20000
"""

import argparse
import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

BATCH = 1000
FIRST_NIGHT = datetime(1990, 1, 1, 22, 0, tzinfo=timezone.utc)
NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)
OWNER = "bench"
STORES = ("mysql", "redis")


def main(argv=None):
    """Run every measurement and print the table, or run one ``--phase``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--records", type=int, default=1_000_000, help="records (1000000)"
    )
    parser.add_argument("--stores", default=",".join(STORES), help="mysql,redis")
    parser.add_argument("--config", help="configuration folder (default: ./config)")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.phase:
        print(json.dumps(run_phase(args)))
        return

    name = "sleeplog_bench_" + secrets.token_hex(4)
    environ = bench_environ(name, args.config)
    scratch = tempfile.mkdtemp(prefix="import-bench-")
    try:
        small = max(1, args.records // 10)
        files = {
            args.records: write_file(os.path.join(scratch, "big.csv"), args.records),
            small: write_file(os.path.join(scratch, "small.csv"), small),
        }
        print(f"{args.records} records, {os.path.getsize(files[args.records])} bytes")
        print(
            f"{'store':<7}{'phase':<8}{'records':>9}{'seconds':>9}{'records/s':>11}"
            f"{'peak MiB':>10}{'start MiB':>11}{'vs raw':>8}"
        )
        for store in args.stores.split(","):
            measure_store(store, files, args.records, environ)
    finally:
        shutil.rmtree(scratch)
        clean_up(environ)


def measure_store(store, files, records, environ):
    """Print the raw and import rows for ``store``."""
    raw = phase(f"raw-{store}", records, None, environ)
    show(store, "raw", raw, None)

    for size in sorted(files, reverse=True):
        result = phase(f"import-{store}", size, files[size], environ)
        show(store, "import", result, raw if size == records else None)


def show(store, name, result, raw):
    rate = result["records"] / result["seconds"]
    ratio = ""
    if raw is not None:
        ratio = f"{rate / (raw['records'] / raw['seconds']):.0%}"
    print(
        f"{store:<7}{name:<8}{result['records']:>9}{result['seconds']:>9.1f}"
        f"{rate:>11.0f}{result['peak_kib'] / 1024:>10.1f}"
        f"{result['start_kib'] / 1024:>11.1f}{ratio:>8}",
        flush=True,
    )


def phase(name, records, path, environ):
    """Run one measurement in a fresh process and return what it reports."""
    command = [sys.executable, __file__, "--phase", name, "--records", str(records)]
    if path is not None:
        command += ["--file", path]
    done = subprocess.run(
        command, env=environ, check=True, stdout=subprocess.PIPE, text=True
    )
    return json.loads(done.stdout)


def run_phase(args):
    """Inside the child: prepare an empty store, time the work, report."""
    from sleeplog.config import load_settings
    from sleeplog.storage.registry import close_stores, open_stores

    kind, store_name = args.phase.split("-")
    settings = load_settings(args.config)
    stores = open_stores(settings)
    store = stores[store_name]
    store.prepare()
    empty(store_name, settings)
    start_kib = peak_kib()

    started = time.perf_counter()
    if kind == "raw":
        count = (raw_mysql if store_name == "mysql" else raw_redis)(
            settings, args.records
        )
    else:
        count = run_import(store, args.file)
    seconds = time.perf_counter() - started

    close_stores(stores)
    return {
        "records": count,
        "seconds": seconds,
        "peak_kib": peak_kib(),
        "start_kib": start_kib,
    }


def run_import(store, path):
    from sleeplog.services.imports import import_records

    with open(path, "rb") as file:
        summary = import_records(store, file, owner=OWNER, now=NOW)
    if summary.stored != summary.read:
        raise SystemExit(f"only {summary.stored} of {summary.read} stored")
    return summary.stored


def nights(records):
    """``(start, end)`` of each generated night, as aware UTC datetimes."""
    for number in range(records):
        start = FIRST_NIGHT + timedelta(minutes=10 * number)
        yield start, start + timedelta(minutes=7, seconds=number % 60)


def write_file(path, records):
    with open(path, "w", encoding="utf-8") as file:
        file.write("start,end,timezone,source,note\n")
        for start, end in nights(records):
            file.write(f"{start:%Y-%m-%dT%H:%M:%SZ},{end:%Y-%m-%dT%H:%M:%SZ},,bench,\n")
    return path


def raw_mysql(settings, records):
    import pymysql

    mysql = settings.mysql
    connection = pymysql.connect(
        host=mysql.host,
        port=mysql.port,
        user=mysql.user,
        password=mysql.password,
        database=mysql.database,
        charset="utf8mb4",
        autocommit=True,
    )
    sql = (
        "INSERT INTO sleep_records (owner, start_utc, start_offset, end_utc, "
        "end_offset, timezone, source, note, client, created_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON DUPLICATE KEY UPDATE id = id"
    )
    created_at = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = []
    with connection.cursor() as cursor:
        for start, end in nights(records):
            start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
            rows.append(
                (OWNER, start, 0, end, 0, None, "bench", None, None, created_at)
            )
            if len(rows) == BATCH:
                cursor.executemany(sql, rows)
                rows = []
        if rows:
            cursor.executemany(sql, rows)
    connection.close()
    return records


def raw_redis(settings, records):
    import redis

    client = redis.Redis.from_url(settings.redis.url, protocol=2)
    base = f"{settings.redis.key_prefix}:{{o:{OWNER}}}"
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    created = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    pipe = client.pipeline(transaction=False)
    for number, (start, end) in enumerate(nights(records), start=1):
        start_us = (start - epoch) // timedelta(microseconds=1)
        end_us = (end - epoch) // timedelta(microseconds=1)
        text = json.dumps(
            {
                "id": number,
                "owner": OWNER,
                "start": f"{start:%Y-%m-%dT%H:%M:%SZ}",
                "end": f"{end:%Y-%m-%dT%H:%M:%SZ}",
                "timezone": None,
                "source": "bench",
                "note": None,
                "client": None,
                "created_at": created,
            },
            separators=(",", ":"),
        )
        pipe.hset(f"{base}:data", number, text)
        pipe.hset(f"{base}:spans", f"{start_us}:{end_us}", number)
        pipe.zadd(f"{base}:timeline", {f"{start_us:017d}:{number:012d}": 0})
        if number % BATCH == 0:
            pipe.execute()
    pipe.execute()
    client.close()
    return records


def peak_kib():
    """The process's peak resident memory so far, in KiB (Linux units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def bench_environ(name, config):
    environ = dict(os.environ)
    environ.update(
        SLEEPLOG_MYSQL_DATABASE=name,
        SLEEPLOG_REDIS_KEY_PREFIX=name,
        SLEEPLOG_LOGGING_LEVEL="warning",
    )
    if config:
        environ["SLEEPLOG_CONFIG_DIR"] = config
    # The configuration must load; nothing here signs a token with this key.
    environ.setdefault("SLEEPLOG_AUTH_SECRET_KEYS", secrets.token_hex(32))
    return environ


def empty(store_name, settings):
    """Remove every record the benchmark's database or prefix holds."""
    if store_name == "redis":
        _delete_prefix(settings)
        return

    connection = _mysql_admin(settings)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE `{settings.mysql.database}`.sleep_records")
    connection.close()


def clean_up(environ):
    """Drop the benchmark's database and delete its keys."""
    saved = dict(os.environ)
    os.environ.update(environ)
    try:
        from sleeplog.config import load_settings

        settings = load_settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)

    connection = _mysql_admin(settings)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{settings.mysql.database}`")
    connection.close()
    _delete_prefix(settings)


def _mysql_admin(settings):
    import pymysql

    mysql = settings.mysql
    return pymysql.connect(
        host=mysql.host,
        port=mysql.port,
        user=mysql.user,
        password=mysql.password,
        autocommit=True,
    )


def _delete_prefix(settings):
    import redis

    client = redis.Redis.from_url(settings.redis.url)
    # The prefix is this run's random name, so the pattern matches only its keys.
    keys = list(client.scan_iter(match=settings.redis.key_prefix + ":*", count=1000))
    for first in range(0, len(keys), 500):
        client.unlink(*keys[first : first + 500])
    client.close()


if __name__ == "__main__":
    main()
