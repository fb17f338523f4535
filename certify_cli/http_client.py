"""`certify submit` and `certify status`: a small HTTP client of the API (no torch needed)."""

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from certify_cli.errors import CommandError
from certify_cli.options import given_options
from certify_settings import Settings

TERMINAL = ("succeeded", "failed", "canceled")
POLL_INTERVAL_S = 0.5


def _client(settings: Settings, url: str | None, api_key: str | None) -> httpx.Client:
    key = api_key or settings.api_key
    headers = {"X-API-Key": key} if key else {}
    return httpx.Client(base_url=url or settings.api_url, headers=headers, timeout=30.0)


def _checked(response: httpx.Response) -> dict[str, Any]:
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {"error": "http_error", "detail": response.text[:200]}
    if response.status_code >= 400:
        raise CommandError(f"{response.status_code} {body.get('error')}: {body.get('detail')}")
    return body


def submit(args: argparse.Namespace, settings: Settings) -> int:
    """POST the file with the options given (the server's defaults apply to the rest)."""
    path: Path = args.path
    if not path.is_file():
        raise CommandError(f"No such file: {path}")
    fields = given_options(args)
    if args.model is not None:
        fields["model"] = args.model
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
    with _client(settings, args.url, args.api_key) as client:
        try:
            view = _checked(client.get(f"/jobs/{args.job_id}"))
        except httpx.HTTPError as exc:
            raise CommandError(f"Cannot reach the API: {exc}") from exc
    print(json.dumps(view))
    return 0
