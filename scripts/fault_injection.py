"""Fault injection at full size: a worker SIGKILLed, Redis restarted twice, every job accounted for.

    PYTHONPATH=. .venv/bin/python scripts/fault_injection.py --jobs 300

Starts its own Redis (append-only file on), one API and two workers (see
`certify_testkit/faults.py`), submits `--jobs` small jobs (n = 10) at `--rate`
jobs/s, SIGKILLs a busy worker, stops Redis with SIGTERM and later with
SIGKILL (starting it again from its append-only file each time), and prints
a table: accepted, succeeded, failed by code, lost, stuck, seconds. Exits 1
when any accepted job is lost or stuck or the surviving worker has exited.
`--appendfsync everysec` (the compose file's setting) may lose the last
second of acknowledged jobs on the SIGKILL; `always` (the default here) may not.
"""

import argparse
import sys
import tempfile
from pathlib import Path

from certify_testkit.faults import run_faults


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--rate", type=float, default=4.0, help="submissions per second, in all")
    parser.add_argument("--appendfsync", choices=("always", "everysec"), default="always")
    parser.add_argument("--keep", type=Path, default=None, help="keep logs in this directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="certify-faults-") as scratch:
        root = args.keep or Path(scratch)
        report = run_faults(root, args.jobs, rate=args.rate, appendfsync=args.appendfsync,
                            settle_s=300.0)
    for event in report.events:
        print(f"# {event}")
    width = max(len(name) for name, _ in report.rows())
    for name, value in report.rows():
        print(f"{name:<{width}}  {value}")
    healthy = not report.lost and not report.stuck and report.surviving_worker_alive
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
