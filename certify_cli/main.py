"""Entry point of the `certify` console script.

Each command group lives in its own module exposing `register(subparsers)`;
modules are imported here so `certify --help` lists every command. Errors the
project knows about print one line and exit non-zero, never a traceback.
"""

import argparse
import importlib
import sys
from collections.abc import Sequence

from certify_cli.errors import CommandError

__all__ = ["CommandError", "build_parser", "main"]

COMMAND_MODULES = ("certify_cli.local", "certify_cli.research", "certify_cli.service")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="certify", description="Certified robustness by randomized smoothing and Smooth-Reduce."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from certify_core.errors import CertifyError
    from certify_media.errors import MediaError

    try:
        result: int = args.handler(args)
    except (CertifyError, MediaError) as exc:
        print(f"certify: error: {exc.detail}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(f"certify: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
