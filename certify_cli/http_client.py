"""`certify submit` and `certify status`: a small HTTP client of the API (no torch needed)."""

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, get_args

import httpx

from certify_jobs.options import CertifyForm
from certify_settings import Settings

TERMINAL = ("succeeded", "failed", "canceled")
POLL_INTERVAL_S = 0.5


def add_submit_options(parser: argparse.ArgumentParser) -> None:
    """One flag per form field; unset flags are not sent, so the server's defaults apply."""
    group = parser.add_argument_group("certification (server defaults when omitted)")
    for name, field in CertifyForm.model_fields.items():
        flag = "--" + name.replace("_", "-")
        choices = [c for c in get_args(field.annotation) if isinstance(c, str)] or None
        kind: type = str
        if not choices and field.annotation in (int, int | None):
            kind = int
        elif not choices and field.annotation in (float, float | None):
            kind = float
        group.add_argument(flag, dest=name, type=kind, choices=choices, default=None,
                           help=field.description)


def _client(settings: Settings, url: str | None, api_key: str | None) -> httpx.Client:
    key = api_key or settings.api_key
    headers = {"X-API-Key": key} if key else {}
    return httpx.Client(base_url=url or settings.api_url, headers=headers, timeout=30.0)


def _checked(response: httpx.Response) -> dict[str, Any]:
    from certify_cli.main import CommandError

    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {"error": "http_error", "detail": response.text[:200]}
    if response.status_code >= 400:
        raise CommandError(f"{response.status_code} {body.get('error')}: {body.get('detail')}")
    return body


def submit(args: argparse.Namespace, settings: Settings) -> int:
    from certify_cli.main import CommandError

    path: Path = args.path
    if not path.is_file():
        raise CommandError(f"No such file: {path}")
    fields = {name: str(getattr(args, name)) for name in CertifyForm.model_fields
              if getattr(args, name) is not None}
    headers = {"Idempotency-Key": args.idempotency_key} if args.idempotency_key else {}
    with _client(settings, args.url, args.api_key) as client:
        try:
            accepted = _checked(client.post(
                "/certify", data=fields, files={"file": (path.name, path.read_bytes())},
                headers=headers))
            if not args.wait:
                print(json.dumps(accepted))
                return 0
            final = _poll(client, accepted["status_url"])
        except httpx.HTTPError as exc:
            raise CommandError(f"Cannot reach the API: {exc}") from exc
    print(json.dumps(final))
    return 0 if final["status"] == "succeeded" else 1


def _poll(client: httpx.Client, status_url: str) -> dict[str, Any]:
    while True:
        view = _checked(client.get(status_url))
        if view["status"] in TERMINAL:
            return view
        progress = view.get("progress") or {}
        if progress:
            print(f"{view['status']}: {progress['done']}/{progress['total']} samples",
                  file=sys.stderr, flush=True)
        time.sleep(POLL_INTERVAL_S)


def status(args: argparse.Namespace, settings: Settings) -> int:
    from certify_cli.main import CommandError

    with _client(settings, args.url, args.api_key) as client:
        try:
            view = _checked(client.get(f"/jobs/{args.job_id}"))
        except httpx.HTTPError as exc:
            raise CommandError(f"Cannot reach the API: {exc}") from exc
    print(json.dumps(view))
    return 0
