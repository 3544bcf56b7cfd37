"""Values of command-line options checked beyond what argparse does (DESIGN §3)."""

from __future__ import annotations

from collections.abc import Sequence

from capfcap.errors import UsageError


def ports(values: Sequence[str], flag: str) -> list[int]:
    """The values of a repeatable TCP port option, checked (1..65535; UsageError)."""
    out: list[int] = []
    for v in values:
        try:
            n = int(v, 10)
        except ValueError:
            raise UsageError(f"{flag} {v!r}: not a port number (1..65535)") from None
        if not 1 <= n <= 65535:
            raise UsageError(f"{flag} {v}: not a TCP port (1..65535)")
        if n not in out:
            out.append(n)
    return out
