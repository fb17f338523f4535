"""Command-line flags for the certification options, derived from their one definition.

`local` and `evaluate` show each option's default in `--help` and pass every
value on; `submit` sends only the flags given, so the server's defaults (the
same definitions) apply to the rest.
"""

import argparse

from certify_contract.options import OPTION_SPECS, CertifyOptions


def add_certify_options(parser: argparse.ArgumentParser, *, send_only_given: bool = False) -> None:
    """One flag per option (`--batch-size` for `batch_size`), with its type, choices and help."""
    group = parser.add_argument_group("certification options")
    for spec in OPTION_SPECS:
        group.add_argument(
            spec.flag, dest=spec.name, type=spec.kind, choices=spec.choices or None,
            default=None if send_only_given else spec.default,
            help=spec.help_line.replace("%", "%%"),  # argparse formats help with %
        )


def options_from_args(args: argparse.Namespace) -> CertifyOptions:
    """The options the flags give (raises `InvalidOptionError` with the library's message)."""
    return CertifyOptions.from_dict({spec.name: getattr(args, spec.name) for spec in OPTION_SPECS})


def given_options(args: argparse.Namespace) -> dict[str, object]:
    """The options given on the command line (typed; the client sends them as form fields)."""
    values = {spec.name: getattr(args, spec.name) for spec in OPTION_SPECS}
    return {name: value for name, value in values.items() if value is not None}
