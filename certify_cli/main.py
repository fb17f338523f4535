"""Entry point of the `certify` console script.

Each command group lives in its own module exposing `register(subparsers)`;
modules are imported here so `certify --help` lists every command. The
settings are read once, here, and passed to the command. Errors the project
knows about print one line and exit non-zero, never a traceback.
"""

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence

from certify_cli.errors import CommandError
from certify_cli.help_format import DefaultsHelpFormatter
from certify_contract.errors import CodedError
from certify_settings import load_settings

__all__ = ["build_parser", "main"]

COMMAND_MODULES = ("certify_cli.local", "certify_cli.research", "certify_cli.service",
                   "certify_cli.client_commands", "certify_cli.store_commands",
                   "certify_cli.gate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="certify", description="Certified robustness by randomized smoothing and Smooth-Reduce."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    for command in subparsers.choices.values():
        command.formatter_class = DefaultsHelpFormatter
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args, load_settings())
        sys.stdout.flush()  # here, where a closed pipe can still be answered quietly
    except BrokenPipeError:
        return _reader_left()
    except CodedError as exc:  # the library's, the decoders' and the options' errors
        print(f"certify: error: {exc.detail}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(f"certify: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return result


def _reader_left() -> int:
    """`certify jobs | head`: the reader has gone. Exit as a shell command killed by SIGPIPE
    would (status 141), without a traceback and without a second error at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
