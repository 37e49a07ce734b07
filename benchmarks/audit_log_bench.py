"""Appends per second to the audit log, by thread count and fsync policy.

Each run starts from an empty log in a scratch folder and appends entries of
about ``--entry-bytes`` bytes from one shared :class:`AuditLog`. It prints
figures; it passes or fails nothing. Run it on the disk the service uses::

    python benchmarks/audit_log_bench.py --dir /var/lib/sleeplog
"""

import argparse
import os
import shutil
import tempfile
import threading
import time

from sleeplog.storage.audit_log import AuditLog


def main(argv=None):
    """Measure every combination of ``--threads`` and fsync policy; print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", help="where to write (default: a temporary folder)")
    parser.add_argument("--threads", default="1,4,8", help="thread counts (1,4,8)")
    parser.add_argument("--entry-bytes", type=int, default=300, help="entry size (300)")
    parser.add_argument(
        "--never", type=int, default=40000, help="appends per run, fsync never (40000)"
    )
    parser.add_argument(
        "--always", type=int, default=2000, help="appends per run, fsync always (2000)"
    )
    args = parser.parse_args(argv)
    thread_counts = [int(item) for item in args.threads.split(",")]

    scratch = tempfile.mkdtemp(prefix="audit-bench-", dir=args.dir)
    try:
        print(f"{'fsync':<8}{'threads':>8}{'appends':>10}{'seconds':>10}{'per s':>10}")
        for fsync, total in (("never", args.never), ("always", args.always)):
            for threads in thread_counts:
                path = os.path.join(scratch, f"log-{fsync}-{threads}.json")
                count, seconds = measure(path, fsync, threads, total, args.entry_bytes)
                rate = count / seconds
                print(f"{fsync:<8}{threads:>8}{count:>10}{seconds:>10.3f}{rate:>10.0f}")
    finally:
        shutil.rmtree(scratch)


def measure(path, fsync, threads, total, entry_bytes):
    """Appends made and seconds taken by ``threads`` threads sharing ``total``."""
    log = AuditLog(path, fsync=fsync)
    log.open()
    # The other fields serialise to about 40 bytes; padding makes up the rest.
    pad = "x" * max(0, entry_bytes - 40)
    share = total // threads
    barrier = threading.Barrier(threads + 1)

    def work(thread):
        barrier.wait()
        for number in range(share):
            log.append({"thread": thread, "number": number, "pad": pad})

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started

    log.close()
    return share * threads, seconds


if __name__ == "__main__":
    main()
