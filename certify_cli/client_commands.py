"""`certify submit`, `status`, `cancel` and `jobs`: the light client of a running API.

These commands import `certify_client` (httpx) and the settings only, never
torch or the library, so they start in a fraction of a second. They print a
readable summary by default and the API's JSON with `--json`.
"""

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certify_cli.errors import CommandError
from certify_cli.options import add_certify_options, given_options
from certify_contract import JOB_STATUSES
from certify_settings import Settings

if TYPE_CHECKING:
    from certify_client import CertifyClient


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    submit = subparsers.add_parser("submit", help="submit a file to a running API")
    submit.add_argument("path", type=Path, metavar="PATH", help="image or video file to certify")
    submit.add_argument("--wait", action="store_true",
                        help="poll until the job ends, with a progress bar on a terminal")
    submit.add_argument("--timeout", type=float, default=None,
                        help="with --wait: give up after this many seconds (default: no limit)")
    submit.add_argument("--idempotency-key", default=None,
                        help="send again with the same key to get the same job, never a second "
                        "one (default: a fresh random key)")
    submit.add_argument("--model", default=None,
                        help="model name (default: the server's default model for the file's kind)")
    _add_client(submit)
    add_certify_options(submit, send_only_given=True)
    submit.set_defaults(handler=run_submit)

    for name, verb in (("status", "show"), ("cancel", "cancel")):
        command = subparsers.add_parser(name, help=f"{verb} a job of a running API")
        command.add_argument("job_id", metavar="JOB_ID", help="the id `certify submit` printed")
        _add_client(command)
        command.set_defaults(handler=run_status if name == "status" else run_cancel)

    jobs = subparsers.add_parser("jobs", help="list recent jobs of a running API, newest first")
    jobs.add_argument("--status", choices=JOB_STATUSES, default=None,
                      help="only jobs with this status (default: all)")
    jobs.add_argument("--limit", type=int, default=20, help="jobs to show")
    jobs.add_argument("--offset", type=int, default=0, help="skip this many of the newest jobs")
    _add_client(jobs)
    jobs.set_defaults(handler=run_jobs)


def _add_client(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=None,
                        help="API base URL (default: CERTIFY_API_URL, else http://127.0.0.1:8000)")
    parser.add_argument("--api-key", default=None,
                        help="X-API-Key to send (default: CERTIFY_API_KEY, else none)")
    parser.add_argument("--json", action="store_true", help="print the API's JSON instead of a summary")


def _client(args: argparse.Namespace, settings: Settings) -> "CertifyClient":
    from certify_client import CertifyClient, RetryPolicy

    # Four tries over about 3.5 s: rides out an API restart, yet a wrong URL fails soon.
    return CertifyClient(args.url or settings.api_url, args.api_key or settings.api_key,
                         retry=RetryPolicy(attempts=4))


def _print(args: argparse.Namespace, body: dict[str, Any], summary: str) -> None:
    print(json.dumps(body) if args.json else summary, flush=True)


def _failed(exc: Exception) -> CommandError:
    return CommandError(str(exc))


def run_submit(args: argparse.Namespace, settings: Settings) -> int:
    from certify_cli.summaries import format_job
    from certify_client import ClientError

    if not args.path.is_file():
        raise CommandError(f"No such file: {args.path}")
    options = given_options(args)
    try:
        with _client(args, settings) as client:
            job = client.submit(args.path, model=args.model, options=options,
                                idempotency_key=args.idempotency_key)
            if not args.wait:
                summary = (f"{job.job_id}: {job.status}; follow it with "
                           f"`certify status {job.job_id}`")
                _print(args, job.to_dict(), summary)
                return 0
            view = _wait(client, job.job_id, args)
    except ClientError as exc:
        raise _failed(exc) from None
    body = view.to_dict()
    _print(args, body, format_job(body))
    return 0 if view.status == "succeeded" else 1


def _wait(client: "CertifyClient", job_id: str, args: argparse.Namespace) -> Any:
    from certify_cli.progress import bars_wanted, sample_bar

    with sample_bar(job_id[:8], bars_wanted(args.json)) as update:

        def show(view: Any) -> None:
            if view.progress is not None:
                update(view.progress.done, view.progress.total)

        return client.wait(job_id, timeout_s=args.timeout, on_progress=show)


def run_status(args: argparse.Namespace, settings: Settings) -> int:
    return _show_job(args, settings, cancel=False)


def run_cancel(args: argparse.Namespace, settings: Settings) -> int:
    return _show_job(args, settings, cancel=True)


def _show_job(args: argparse.Namespace, settings: Settings, cancel: bool) -> int:
    from certify_cli.summaries import format_cancel, format_job
    from certify_client import ClientError

    try:
        with _client(args, settings) as client:
            view = client.cancel(args.job_id) if cancel else client.job(args.job_id)
    except ClientError as exc:
        raise _failed(exc) from None
    body = view.to_dict()
    _print(args, body, format_cancel(body) if cancel else format_job(body))
    return 0


def run_jobs(args: argparse.Namespace, settings: Settings) -> int:
    from certify_cli.summaries import format_job_table
    from certify_client import ClientError

    if args.limit < 1 or args.offset < 0:
        raise CommandError(f"Expected --limit >= 1 and --offset >= 0, got {args.limit}, {args.offset}.")
    try:
        with _client(args, settings) as client:
            page = client.jobs(status=args.status, offset=args.offset, limit=args.limit)
    except ClientError as exc:
        raise _failed(exc) from None
    body = page.to_dict()
    table = format_job_table(body["jobs"]) if page.jobs else "no jobs"
    if page.next_offset is not None:
        table += f"\nmore: certify jobs --offset {page.next_offset}"
    _print(args, body, table)
    return 0

