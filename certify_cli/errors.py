"""The command line's own error type."""


class CommandError(Exception):
    """A user error a command reports as one line (exit status 2)."""
