"""`python -m app [--host H] [--port P]`: serve the API with uvicorn (no torch in this process)."""

import argparse

import uvicorn

from app.http.slow_clients import GUARDED_PROTOCOL, HeaderDeadline
from app.main import create_app
from certify_jobs.json_logs import uvicorn_log_config
from certify_settings import load_settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=None,
                        help="API processes (default: CERTIFY_API_WORKERS, 1)")
    args = parser.parse_args()
    settings = load_settings()
    args.workers = args.workers or settings.api_workers
    # One process serves the app built from these settings; several import the
    # factory, and each reads the settings once for itself.
    target = create_app(settings) if args.workers == 1 else "app.main:create_app"
    # Our middleware logs each request (route, status, duration) as JSON; uvicorn's
    # own access line would repeat it in another format.
    HeaderDeadline.header_timeout_s = settings.request_header_timeout_s
    # The protocol bounds the time a request's headers may take (uvicorn has no such limit).
    uvicorn.run(target, factory=args.workers > 1, host=args.host, port=args.port,
                workers=args.workers, http=GUARDED_PROTOCOL, log_level=settings.log_level.lower(),
                access_log=False,
                log_config=uvicorn_log_config(settings.log_level, settings.log_format))


if __name__ == "__main__":
    main()
