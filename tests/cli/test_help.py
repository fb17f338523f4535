"""Help that answers: every option of every command has one line of help that names its default."""

import argparse
import subprocess
import sys

import pytest

from certify_cli.help_format import DefaultsHelpFormatter
from certify_cli.main import build_parser


def commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


COMMANDS = commands()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_has_help_naming_its_default(name: str) -> None:
    parser = COMMANDS[name]
    formatter = DefaultsHelpFormatter(prog=name)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        shown = formatter._get_help_string(action) or ""
        what = f"{name} {'/'.join(action.option_strings) or action.dest}"
        assert shown.strip(), f"{what} has no help"
        if action.option_strings and action.nargs != 0:  # flags are off unless given
            assert "default" in shown or "(required)" in shown, \
                f"{what}: its help does not say the default: {shown!r}"


def test_the_default_n_shows_in_local_help() -> None:
    done = subprocess.run([sys.executable, "-m", "certify_cli.main", "local", "--help"],
                          capture_output=True, text=True, timeout=120, check=True)
    text = " ".join(done.stdout.split())
    assert "estimation samples: the fresh draws that bound the label's probability (default: 100000)" \
        in text
    assert "--epochs" not in text


def test_plain_options_get_the_argparse_default() -> None:
    text = " ".join(COMMANDS["train"].format_help().split())
    assert "(default: 2)" in text and "--epochs" in text
    serve = " ".join(COMMANDS["serve"].format_help().split())
    assert "port of the HTTP API (default: 8000)" in serve
