"""Exit statuses (DESIGN §3). One place decides them."""

OK = 0  # no warning or error finding
INTERNAL = 1  # internal error (a bug)
USAGE = 2  # bad command line
WARNINGS = 3  # warnings only
ERRORS = 4  # at least one error finding
BAD_INPUT = 5  # unreadable or non-capture input

# what each status means, as `--help` lists them
MEANINGS = (
    (OK, "no warning or error finding"),
    (INTERNAL, "internal error (a bug; CAPFCAP_DEBUG=1 shows the traceback)"),
    (USAGE, "bad command line (including a --phone that matches no phone)"),
    (WARNINGS, "warnings only"),
    (ERRORS, "at least one error finding"),
    (BAD_INPUT, "unreadable, damaged or non-capture input"),
)


def from_findings(severities: list[str], fail_on: str = "warning") -> int:
    """Exit status from the worst severity; ``fail_on`` moves the threshold."""
    if fail_on == "never":
        return OK
    if "error" in severities:
        return ERRORS
    if fail_on == "warning" and "warning" in severities:
        return WARNINGS
    return OK


# `analyze --each`: the run's status is the most pressing over its captures. A command
# line that fails everywhere (a --phone in no capture) first, then a bug, then input that
# could not be read, then findings (errors before warnings).
PRECEDENCE = (USAGE, INTERNAL, BAD_INPUT, ERRORS, WARNINGS, OK)


def worst(statuses: list[int]) -> int:
    """The status of several analyses (OK for none)."""
    return min(statuses, key=PRECEDENCE.index, default=OK)
