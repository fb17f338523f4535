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

    PYTHONPATH=. .venv/bin/python scripts/fault_injection.py --scenario poison --jobs 300
    PYTHONPATH=. .venv/bin/python scripts/fault_injection.py --scenario redis-restart --jobs 100
    PYTHONPATH=. .venv/bin/python scripts/fault_injection.py --scenario api-kills --jobs 100
    PYTHONPATH=. .venv/bin/python scripts/fault_injection.py --scenario webhooks --jobs 30
    PYTHONPATH=. .venv/bin/python scripts/fault_injection.py --scenario tenants --jobs 200

`poison`: pickled and garbage jobs (and unparsable job hashes) written to the
queue and the started registry among `--jobs` real ones; exits 1 unless every
real job ends, every read answers 200, no worker exits and every poison is
moved aside. `redis-restart`: Redis SIGKILLed under a running job with
`--jobs` jobs queued behind it; exits 1 unless the interrupted job runs next
with its retries kept (see `certify_testkit/queue_faults.py`).

`api-kills` (`certify_testkit/api_faults.py`) SIGKILLs the API while clients
create jobs and batches with an `Idempotency-Key` and retry; it fails on any
broken batch, key pointing at nothing, or acknowledged id unknown or unended.
`webhooks` (`certify_testkit/webhook_faults.py`) runs five bad receivers
(hanging, trickling, refusing) beside a healthy one; it fails unless healthy
deliveries arrive within 1 s at the 95th percentile and every attempt at a bad
receiver is recorded. `tenants` (`certify_testkit/tenant_faults.py`) has
tenant A queue 200 jobs and then tenant B one; it fails unless B waited at most
two of A's job times and every A job succeeded (a 5 s upload TTL).
"""

import argparse
import sys
import tempfile
from pathlib import Path

from certify_testkit.api_faults import is_healthy, run_api_kills
from certify_testkit.faults import run_faults
from certify_testkit.queue_faults import run_poison, run_restart_deep_queue
from certify_testkit.tenant_faults import goal_met as fair_enough
from certify_testkit.tenant_faults import run_tenant_flood
from certify_testkit.webhook_faults import goal_met, run_bad_receivers


def print_rows(rows: list[tuple[str, object]]) -> None:
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def queue_scenario(scenario: str, root: Path, jobs: int) -> int:
    """The poison-job and the Redis-restart-under-a-deep-queue scenarios."""
    report = (run_poison(root, jobs, settle_s=300.0) if scenario == "poison"
              else run_restart_deep_queue(root, jobs, settle_s=600.0))
    print_rows(report.rows())
    return 0 if report.healthy else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--rate", type=float, default=4.0, help="submissions per second, in all")
    parser.add_argument("--appendfsync", choices=("always", "everysec"), default="always")
    parser.add_argument("--keep", type=Path, default=None, help="keep logs in this directory")
    parser.add_argument("--scenario", default="faults", choices=(
        "faults", "poison", "redis-restart", "api-kills", "webhooks", "tenants"))
    parser.add_argument("--kills", type=int, default=8, help="api-kills: API SIGKILLs")
    args = parser.parse_args()
    if args.scenario == "api-kills":
        return _api_kills(args)
    if args.scenario == "webhooks":
        return _webhooks(args)
    if args.scenario == "tenants":
        return _tenants(args)
    with tempfile.TemporaryDirectory(prefix="certify-faults-") as scratch:
        root = args.keep or Path(scratch)
        if args.scenario in ("poison", "redis-restart"):
            return queue_scenario(args.scenario, root, args.jobs)
        report = run_faults(root, args.jobs, rate=args.rate, appendfsync=args.appendfsync,
                            settle_s=300.0)
    for event in report.events:
        print(f"# {event}")
    width = max(len(name) for name, _ in report.rows())
    for name, value in report.rows():
        print(f"{name:<{width}}  {value}")
    healthy = not report.lost and not report.stuck and report.surviving_worker_alive
    return 0 if healthy else 1


def _api_kills(args: argparse.Namespace) -> int:
    """API SIGKILLs during POST /certify and POST /batches, retried by Idempotency-Key."""
    with tempfile.TemporaryDirectory(prefix="certify-api-kills-") as scratch:
        report = run_api_kills(args.keep or Path(scratch), submissions=min(args.jobs, 200),
                               kills=args.kills, settle_s=300.0)
    print_rows(report.rows())
    return 0 if is_healthy(report) else 1


def _webhooks(args: argparse.Namespace) -> int:
    """Five bad webhook receivers beside a healthy one."""
    with tempfile.TemporaryDirectory(prefix="certify-webhooks-") as scratch:
        report = run_bad_receivers(args.keep or Path(scratch), healthy=min(args.jobs, 200),
                                   settle_s=300.0)
    print_rows(report.rows())
    return 0 if goal_met(report) else 1


def _tenants(args: argparse.Namespace) -> int:
    """Tenant A floods 200 jobs, then tenant B queues one small job."""
    with tempfile.TemporaryDirectory(prefix="certify-tenants-") as scratch:
        report = run_tenant_flood(args.keep or Path(scratch), flood=min(args.jobs, 200))
    print_rows(report.rows())
    return 0 if fair_enough(report) else 1


if __name__ == "__main__":
    sys.exit(main())
