"""The two errors a command reports as one line (DESIGN §3; `exitcodes` maps them)."""


class UsageError(Exception):
    """A bad command line or output path: exit status 2 (`exitcodes.USAGE`)."""


class InputError(Exception):
    """An unreadable or non-capture input: exit status 5 (`exitcodes.BAD_INPUT`)."""

