"""Help that answers: every option's help line ends with its default.

The certification options carry their own `(default: ...)` text from
`certify_contract`; for every other option the formatter appends the
argparse default, unless the help already says what the default is. Flags
(`--json`, `--wait`) are off unless given, which their help makes plain;
required options say so instead.
"""

import argparse


class DefaultsHelpFormatter(argparse.HelpFormatter):
    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.required and action.option_strings:
            return text if "required" in text else f"{text} (required)"
        if "default" in text or action.default in (None, argparse.SUPPRESS) or action.nargs == 0:
            return text
        if not action.option_strings:  # positionals have no default worth printing
            return text
        return f"{text} (default: %(default)s)"

