"""The audit trail: exact bytes, concurrent writers, torn entries, failures."""

import datetime
import errno
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from sleeplog.errors import AuditLogUnavailableError
from sleeplog.storage import audit_log
from sleeplog.storage.audit_log import AuditLog

#: Appends ``count`` entries from each of ``threads`` threads, once told to go.
WRITER = r"""
import sys
import threading

from sleeplog.storage.audit_log import AuditLog

path, fsync, prefix = sys.argv[1:4]
threads, count, pad = (int(value) for value in sys.argv[4:7])
log = AuditLog(path, fsync=fsync)
log.open()
print("ready", flush=True)
sys.stdin.readline()


def work(thread):
    for number in range(count):
        log.append({"id": f"{prefix}-{thread}-{number}", "pad": "x" * pad})


workers = [threading.Thread(target=work, args=(thread,)) for thread in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
log.close()
"""

#: Appends ever larger sequence numbers with 1 MiB of padding until killed.
ENDLESS = r"""
import sys

from sleeplog.storage.audit_log import AuditLog

log = AuditLog(sys.argv[1], fsync="never")
pad = "x" * (1024 * 1024)
number = 0
while True:
    log.append({"seq": number, "pad": pad})
    number += 1
"""

#: Two entries, then a file size limit 100 bytes past the end, then a third.
SIZE_LIMIT = r"""
import json
import os
import resource
import signal
import sys

from sleeplog.errors import AuditLogUnavailableError
from sleeplog.storage.audit_log import AuditLog

log = AuditLog(sys.argv[1], fsync="never")
log.append({"n": 1})
log.append({"n": 2})

writes = []
real_pwrite = os.pwrite


def pwrite(fd, data, offset):
    try:
        written = real_pwrite(fd, data, offset)
    except OSError as exc:
        writes.append(["error", len(data), exc.errno])
        raise
    writes.append(["wrote", len(data), written])
    return written


os.pwrite = pwrite
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = os.path.getsize(log.path) + 100
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
try:
    log.append({"n": 3, "pad": "x" * 1000})
    error = None
except AuditLogUnavailableError as exc:
    error = str(exc)
print(json.dumps({
    "error": error,
    "writes": writes,
    "healthy": log.healthy,
    "entries": list(log.iter_entries()),
}))
"""

TWO_ENTRIES = b'[\n{"a":1},\n{"b":2}\n]\n'


@pytest.fixture()
def path(tmp_path):
    return tmp_path / "log.json"


def test_a_new_log_is_an_empty_array(path):
    log = AuditLog(path)
    assert not path.exists()

    log.open()
    log.close()

    assert path.read_bytes() == b"[\n]\n"
    assert json.loads(path.read_bytes()) == []
    assert list(AuditLog(path).iter_entries()) == []


def test_entries_are_one_ascii_line_each(path):
    log = AuditLog(path)

    log.append({"a": 1})
    log.append({"b": "é"})
    log.close()

    assert path.read_bytes() == b'[\n{"a":1},\n{"b":"\\u00e9"}\n]\n'
    assert json.loads(path.read_bytes()) == [{"a": 1}, {"b": "é"}]
    assert list(log.iter_entries()) == [{"a": 1}, {"b": "é"}]


def test_a_line_separator_stays_inside_its_line(path):
    with AuditLog(path) as log:
        log.append({"s": "a\u2028b\u0085c\nd"})

    assert path.read_bytes() == b'[\n{"s":"a\\u2028b\\u0085c\\nd"}\n]\n'
    assert list(log.iter_entries()) == [{"s": "a\u2028b\u0085c\nd"}]


def test_values_json_cannot_hold_are_written_as_text(path):
    with AuditLog(path) as log:
        log.append({"when": datetime.date(2024, 6, 1), "what": b"x"})

    assert path.read_bytes() == b'[\n{"when":"2024-06-01","what":"b\'x\'"}\n]\n'


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ([1, 2], TypeError),
        ({"n": float("nan")}, ValueError),
        ({"n": float("inf")}, ValueError),
    ],
)
def test_an_entry_the_caller_got_wrong_changes_nothing(path, entry, error):
    with AuditLog(path) as log:
        log.append({"a": 1})
        with pytest.raises(error):
            log.append(entry)

        assert log.healthy
    assert path.read_bytes() == b'[\n{"a":1}\n]\n'


def test_an_unknown_fsync_policy_is_refused(path):
    with pytest.raises(ValueError, match="'sometimes'"):
        AuditLog(path, fsync="sometimes")


@pytest.mark.parametrize(
    ("fsync", "threads", "count", "process_threads"),
    [("never", 8, 250, 4), ("always", 4, 50, 2)],
)
def test_threads_and_processes_never_lose_or_mix_entries(
    path, fsync, threads, count, process_threads
):
    log = AuditLog(path, fsync=fsync)
    log.open()
    writers = [
        _start_writer(path, fsync, f"p{n}", process_threads, count) for n in (1, 2)
    ]
    barrier = threading.Barrier(threads + 1)

    def work(thread):
        barrier.wait()
        for number in range(count):
            log.append({"id": f"t-{thread}-{number}"})

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for writer in writers:
        writer.stdin.write("go\n")
        writer.stdin.flush()
    barrier.wait()
    for worker in workers:
        worker.join()
    for writer in writers:
        _finish(writer)
    log.close()

    expected = {f"t-{t}-{n}" for t in range(threads) for n in range(count)}
    for prefix in ("p1", "p2"):
        expected |= {
            f"{prefix}-{t}-{n}" for t in range(process_threads) for n in range(count)
        }
    ids = [entry["id"] for entry in json.loads(path.read_bytes())]
    assert len(expected) == threads * count + 2 * process_threads * count
    assert len(ids) == len(expected)
    assert set(ids) == expected
    assert [entry["id"] for entry in log.iter_entries()] == ids


def test_readers_holding_the_shared_lock_see_valid_documents(path):
    log = AuditLog(path, fsync="never")
    log.open()
    writer = _start_writer(path, "never", "p", 2, 3000, pad=200)
    stop = threading.Event()

    def work():
        number = 0
        while not stop.is_set():
            log.append({"id": f"t-{number}", "pad": "y" * 200})
            number += 1

    worker = threading.Thread(target=work)
    worker.start()
    writer.stdin.write("go\n")
    writer.stdin.flush()

    sizes = set()
    reads = 0
    while writer.poll() is None or reads < 20:
        document = _read_locked(path)
        entries = json.loads(document)
        assert all(isinstance(entry, dict) for entry in entries)
        assert all(isinstance(entry, dict) for entry in log.iter_entries())
        sizes.add(len(document))
        reads += 1
    stop.set()
    worker.join()
    _finish(writer)
    log.close()

    assert len(sizes) > 2
    assert len(json.loads(path.read_bytes())) >= 6000


def test_a_writer_killed_mid_append_leaves_a_repairable_log(path):
    with subprocess.Popen([sys.executable, "-c", ENDLESS, str(path)]) as writer:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if path.exists() and path.stat().st_size > 24 * 1024 * 1024:
                break
            time.sleep(0.01)
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()

    with AuditLog(path) as log:
        log.append({"after": True})

    entries = json.loads(path.read_bytes())
    assert entries[-1] == {"after": True}
    assert [entry["seq"] for entry in entries[:-1]] == list(range(len(entries) - 1))
    assert len(entries) > 20
    assert len(list(path.parent.glob("log.json.torn-*"))) <= 1


BASE = b'[\n{"a":1},\n{"b":2}'


@pytest.mark.parametrize(
    ("damaged", "repaired", "torn", "appended"),
    [
        # the tail overwritten by the first bytes of a large entry
        (
            BASE + b',\n{"half":',
            TWO_ENTRIES,
            b',\n{"half":',
            b'[\n{"a":1},\n{"b":2},\n{"new":1}\n]\n',
        ),
        # one byte of ",\n{...}\n]\n" written over "\n]\n"
        (BASE + b",]\n", TWO_ENTRIES, b",]\n", None),
        # two bytes written
        (BASE + b",\n\n", TWO_ENTRIES, b",\n\n", None),
        # zeros where the file grew but its data was lost
        (BASE + b",\n\0\0\0", TWO_ENTRIES, b",\n\0\0\0", None),
        # the whole entry written, its closing bracket not
        (
            BASE + b',\n{"c":3}\n]',
            b'[\n{"a":1},\n{"b":2},\n{"c":3}\n]\n',
            b"\n]",
            b'[\n{"a":1},\n{"b":2},\n{"c":3},\n{"new":1}\n]\n',
        ),
        (BASE + b',\n{"c":3}', b'[\n{"a":1},\n{"b":2},\n{"c":3}\n]\n', None, None),
        # the first entry torn
        (b'[\n{"ha', b"[\n]\n", b'\n{"ha', b'[\n{"new":1}\n]\n'),
        (b"[\n{\n", b"[\n]\n", b"\n{\n", None),
        # creating the file torn
        (b"[\n", b"[\n]\n", None, None),
    ],
)
def test_open_repairs_a_torn_entry(path, caplog, damaged, repaired, torn, appended):
    path.write_bytes(damaged)
    caplog.set_level(logging.WARNING, logger=audit_log.__name__)

    assert list(AuditLog(path).iter_entries()) == json.loads(repaired)
    assert path.read_bytes() == damaged

    log = AuditLog(path)
    log.open()

    assert path.read_bytes() == repaired
    torn_files = list(path.parent.glob("log.json.torn-*"))
    if torn is None:
        assert torn_files == []
    else:
        assert [file.read_bytes() for file in torn_files] == [torn]
        assert f"moved {len(torn)} bytes to {torn_files[0]}" in caplog.text
    assert log.healthy

    log.append({"new": 1})
    log.close()
    if appended is not None:
        assert path.read_bytes() == appended
    assert json.loads(path.read_bytes()) == json.loads(repaired) + [{"new": 1}]


@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
def test_chunks_smaller_than_a_line_read_and_repair_the_same(path, monkeypatch, chunk):
    monkeypatch.setattr(audit_log, "_CHUNK", chunk)
    path.write_bytes(b'[\n{"a":1},\n{"b":"xyz"},\n{"c":[1,2]},\n{"half":"ab')

    assert list(AuditLog(path).iter_entries()) == [
        {"a": 1},
        {"b": "xyz"},
        {"c": [1, 2]},
    ]
    AuditLog(path).open()

    assert path.read_bytes() == b'[\n{"a":1},\n{"b":"xyz"},\n{"c":[1,2]}\n]\n'
    [torn] = path.parent.glob("log.json.torn-*")
    assert torn.read_bytes() == b',\n{"half":"ab'
    assert list(AuditLog(path).iter_entries()) == [
        {"a": 1},
        {"b": "xyz"},
        {"c": [1, 2]},
    ]


def test_an_append_repairs_what_another_process_tore(path, caplog):
    log = AuditLog(path)
    log.append({"a": 1})
    with open(path, "r+b") as file:
        file.seek(-3, os.SEEK_END)
        file.write(b',\n{"torn":')

    log.append({"b": 2})
    log.close()

    assert path.read_bytes() == b'[\n{"a":1},\n{"b":2}\n]\n'
    assert "moved 10 bytes" in caplog.text


@pytest.mark.parametrize(
    "content",
    [
        b'{"not": "a log"}\n',
        b"[1, 2, 3]\n",
        b"ab",
        b"",
        b"[\n  1,\n  2,\n  3\n]",
        b"[\n  1\n]",
        b'[\n{"a":1}\n]\nmore\n',
    ],
    ids=["object", "one-line-array", "short", "nothing", "pretty", "small", "trailer"],
)
def test_a_file_that_is_not_a_log_is_refused_untouched(path, content, caplog):
    if not content:
        # An empty file is a new log; this case is a directory instead.
        path.mkdir()
    else:
        path.write_bytes(content)
    log = AuditLog(path)

    with pytest.raises(AuditLogUnavailableError, match="^The audit log is unavailable"):
        log.open()
    assert not log.healthy
    # The path is for the operator's log, not for clients.
    assert str(path) in caplog.text
    with pytest.raises(AuditLogUnavailableError):
        log.append({"a": 1})
    with pytest.raises(AuditLogUnavailableError):
        log.check()
    with pytest.raises(AuditLogUnavailableError):
        list(log.iter_entries())

    if content:
        assert path.read_bytes() == content
    assert list(path.parent.glob("log.json.torn-*")) == []


def test_a_device_is_refused(caplog):
    log = AuditLog("/dev/full")

    with pytest.raises(AuditLogUnavailableError, match="not a regular file"):
        log.open()
    assert not log.healthy
    with pytest.raises(AuditLogUnavailableError):
        log.append({"a": 1})
    with pytest.raises(AuditLogUnavailableError):
        log.check()
    assert caplog.text.count("not a regular file") == 1


def test_the_log_recovers_when_its_directory_appears(tmp_path):
    path = tmp_path / "missing" / "log.json"
    log = AuditLog(path)

    with pytest.raises(AuditLogUnavailableError, match="No such file or directory"):
        log.open()
    assert not log.healthy
    with pytest.raises(AuditLogUnavailableError):
        log.append({"a": 1})
    with pytest.raises(AuditLogUnavailableError):
        log.check()
    with pytest.raises(AuditLogUnavailableError, match="cannot be read"):
        list(log.iter_entries())

    path.parent.mkdir()
    log.check()
    assert log.healthy
    log.append({"a": 1})
    log.close()
    assert path.read_bytes() == b'[\n{"a":1}\n]\n'


def test_a_write_cut_short_by_a_size_limit_is_taken_back(path):
    result = subprocess.run(
        [sys.executable, "-c", SIZE_LIMIT, str(path)],
        capture_output=True,
        check=True,
        text=True,
    )
    outcome = json.loads(result.stdout)

    assert "File too large" in outcome["error"]
    # 21 bytes, limit 121: the entry's pwrite at offset 18 stops after 103
    # bytes, the rest fails with EFBIG, and "\n]\n" goes back at 18.
    entry_size = len(b',\n{"n":3,"pad":""}\n]\n') + 1000
    assert outcome["writes"] == [
        ["wrote", entry_size, 103],
        ["error", entry_size - 103, errno.EFBIG],
        ["wrote", 3, 3],
    ]
    assert outcome["healthy"] is False
    assert outcome["entries"] == [{"n": 1}, {"n": 2}]
    assert path.read_bytes() == b'[\n{"n":1},\n{"n":2}\n]\n'


def test_a_full_disk_mid_write_is_taken_back_and_recovered_from(path, monkeypatch):
    log = AuditLog(path, fsync="never")
    log.append({"a": 1})
    real_pwrite = os.pwrite

    def half_then_full(fd, data, offset):
        if len(data) == 3:
            return real_pwrite(fd, data, offset)
        if offset == 9:
            return real_pwrite(fd, data[: len(data) // 2], offset)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "pwrite", half_then_full)
    with pytest.raises(AuditLogUnavailableError, match="No space left on device"):
        log.append({"b": "x" * 100})
    assert not log.healthy
    assert path.read_bytes() == b'[\n{"a":1}\n]\n'

    monkeypatch.undo()
    log.check()
    assert log.healthy
    log.append({"b": 2})
    log.close()
    assert path.read_bytes() == b'[\n{"a":1},\n{"b":2}\n]\n'


def test_an_fsync_error_takes_the_entry_back(path, monkeypatch):
    log = AuditLog(path, fsync="always")
    log.append({"a": 1})

    def broken_fsync(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(AuditLogUnavailableError, match="Input/output error"):
        log.append({"b": 2})
    assert not log.healthy
    assert path.read_bytes() == b'[\n{"a":1}\n]\n'

    monkeypatch.undo()
    log.append({"b": 2})
    log.close()
    assert log.healthy
    assert path.read_bytes() == b'[\n{"a":1},\n{"b":2}\n]\n'


def test_check_refuses_a_nearly_full_disk(path, monkeypatch):
    log = AuditLog(path)
    log.append({"a": 1})
    log.check()
    nearly_full = os.statvfs_result((4096, 4096, 1000, 15, 15, 100, 50, 50, 0, 255))

    monkeypatch.setattr(os, "fstatvfs", lambda fd: nearly_full)
    with pytest.raises(AuditLogUnavailableError, match="less than 65536 bytes free"):
        log.check()
    assert not log.healthy
    with pytest.raises(AuditLogUnavailableError):
        log.append({"b": 2})
    assert list(log.iter_entries()) == [{"a": 1}]

    monkeypatch.undo()
    log.check()
    assert log.healthy
    log.close()


def test_check_opens_a_new_log_when_the_file_was_removed(path, caplog):
    log = AuditLog(path)
    log.append({"a": 1})
    path.unlink()

    log.check()
    log.append({"b": 2})
    log.close()

    assert path.read_bytes() == b'[\n{"b":2}\n]\n'
    assert "replaced or removed" in caplog.text


def _start_writer(path, fsync, prefix, threads, count, pad=0):
    arguments = [path, fsync, prefix, threads, count, pad]
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, *map(str, arguments)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout.readline() == "ready\n"
    return writer


def _finish(writer):
    writer.stdin.close()
    writer.stdout.close()
    assert writer.wait(timeout=60) == 0


def _read_locked(path):
    with open(path, "rb") as file:
        fcntl.flock(file, fcntl.LOCK_SH)
        try:
            return file.read()
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


def test_a_lock_held_elsewhere_times_out_instead_of_hanging(path, monkeypatch):
    monkeypatch.setattr(audit_log, "LOCK_WAIT", 0.2)
    log = AuditLog(path, fsync="never")
    log.open()
    log.append({"before": 1})
    holder = os.open(path, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_SH)

    try:
        started = time.monotonic()
        with pytest.raises(AuditLogUnavailableError, match="locked for over 0.2 s"):
            log.append({"during": 1})
        waited = time.monotonic() - started
    finally:
        os.close(holder)

    assert 0.2 <= waited < 1.0
    log.append({"after": 1})
    assert json.loads(path.read_bytes()) == [{"before": 1}, {"after": 1}]
