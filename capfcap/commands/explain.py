"""`capfcap explain [CODE]`: the findings reference, from the one catalog."""

from __future__ import annotations

import argparse
import sys

from capfcap import exitcodes
from capfcap.cli import UsageError
from capfcap.findings import CATALOG, CodeInfo, port_note


def text(code: str, info: CodeInfo) -> str:
    lines = [f"{code} ({info.severity}): {info.title}", "", info.meaning, "", "Likely causes:"]
    lines += [f"  - {c}" for c in info.causes]
    lines += ["", f"Confirm in Wireshark: {info.confirm}", "", f"Fix: {info.fix}"]
    note = port_note(code)
    if note:
        lines += ["", f"Port: {note}"]
    return "\n".join(lines) + "\n"


def markdown_reference() -> str:
    """The README's findings reference."""
    out = ["| code | severity | meaning | fix |", "|---|---|---|---|"]
    for code in sorted(CATALOG):
        i = CATALOG[code]
        out.append(f"| `{code}` | {i.severity} | {i.title}. {i.meaning} | {i.fix} |")
    return "\n".join(out) + "\n"


def run(args: argparse.Namespace) -> int:
    if not args.code:
        for code in sorted(CATALOG):
            print(f"{code:24} {CATALOG[code].severity:8} {CATALOG[code].title}")
        return exitcodes.OK
    code = args.code.strip().upper()
    if code not in CATALOG:
        raise UsageError(f"unknown finding code {args.code!r}; 'capfcap explain' lists them")
    sys.stdout.write(text(code, CATALOG[code]))
    return exitcodes.OK
