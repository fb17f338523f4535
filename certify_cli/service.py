"""Service commands: `serve` (everything in one), `api` and `worker`.

The client commands (`submit`, `status`, `cancel`, `jobs`) are in `client_commands`.
"""

import argparse
import os
import sys
from pathlib import Path

from certify_cli.errors import CommandError
from certify_settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = subparsers.add_parser(
        "serve", help="run Redis (private unless CERTIFY_REDIS_URL), one worker and the API")
    _add_bind(serve)
    serve.add_argument("--model-dir", type=Path, default=None, metavar="PATH",
                       help="serve every model in PATH (a subfolder with a manifest.json each), "
                       "beside the default models (default: CERTIFY_MODEL_DIR and "
                       "CERTIFY_WORKER_MODELS decide)")
    serve.set_defaults(handler=run_serve)

    api = subparsers.add_parser("api", help="run the HTTP API against CERTIFY_REDIS_URL")
    _add_bind(api)
    api.add_argument("--workers", type=int, default=None,
                     help="API processes (default: CERTIFY_API_WORKERS, 1)")
    api.set_defaults(handler=run_api)

    worker = subparsers.add_parser("worker", help="run one queue worker against CERTIFY_REDIS_URL")
    worker.add_argument("--model", action="append", default=None,
                        help="model to serve (repeatable; default CERTIFY_WORKER_MODELS or the "
                        "default image model)")
    worker.add_argument("--name", default=None, help="worker name (default: random)")
    worker.add_argument("--burst", action="store_true", help="exit once the queue is empty")
    worker.set_defaults(handler=run_worker_command)

    hooks = subparsers.add_parser(
        "webhook-worker", help="run the light worker that delivers webhooks (no models, no torch)")
    hooks.add_argument("--name", default=None, help="worker name (default: random)")
    hooks.set_defaults(handler=run_webhook_worker)


def _add_bind(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (0.0.0.0: every interface)")
    parser.add_argument("--port", type=int, default=8000, help="port of the HTTP API")
    parser.add_argument("--allow-no-api-key", action="store_true",
                        help="listen on a non-loopback address even with no CERTIFY_API_KEYS "
                        "(a trusted network only; also CERTIFY_ALLOW_NO_API_KEY=1)")


def _check_exposure(args: argparse.Namespace, settings: Settings) -> None:
    from certify_cli.exposure import exposure_error

    error = exposure_error(args.host, settings, args.allow_no_api_key)
    if error is not None:
        raise CommandError(error)


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    from certify_cli.embedded import ServeError, serve
    from certify_cli.model_folder import model_folder_environment

    _check_exposure(args, settings)
    env = model_folder_environment(args.model_dir, settings) if args.model_dir else {}
    if env:
        print(f"certify serve: serving {env['CERTIFY_WORKER_MODELS']} from {env['CERTIFY_MODEL_DIR']}",
              file=sys.stderr, flush=True)
    try:
        return serve(args.host, args.port, settings.redis_url, env)
    except ServeError as exc:
        raise CommandError(str(exc)) from exc


def run_api(args: argparse.Namespace, settings: Settings) -> int:
    _check_exposure(args, settings)
    # Replace this process: the command-line entry point has already imported
    # the library (and torch), which the API process must not carry.
    argv = [sys.executable, "-m", "app", "--host", args.host, "--port", str(args.port)]
    if args.workers is not None:
        argv += ["--workers", str(args.workers)]
    os.execv(sys.executable, argv)
    return 0  # not reached


def run_worker_command(args: argparse.Namespace, settings: Settings) -> int:
    from certify_jobs.json_logs import configure_logging
    from certify_jobs.redis_connect import RedisUnreachableError
    from worker.__main__ import run_worker

    if args.model:
        settings = settings.model_copy(update={"worker_models": ",".join(args.model)})
    configure_logging(settings.log_level, settings.log_format)
    try:
        run_worker(settings, args.name, args.burst)
    except RedisUnreachableError as exc:
        raise CommandError(str(exc)) from None
    return 0


def run_webhook_worker(args: argparse.Namespace, settings: Settings) -> int:
    # Replace this process, as `api` does: the delivery worker carries no torch.
    argv = [sys.executable, "-m", "app.webhooks.worker"] + (["--name", args.name] if args.name else [])
    os.execv(sys.executable, argv)
    return 0  # not reached
