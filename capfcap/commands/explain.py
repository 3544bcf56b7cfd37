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


INCONCLUSIVE = """Inconclusive verdicts: what silence proves

A verdict of silence (DNS_NO_RESPONSE, TFTP_NO_RESPONSE, CAPF_UNIDIRECTIONAL,
TVS_UNIDIRECTIONAL, a TLS handshake that stalls, TRANSFER_INCOMPLETE, CAPF_NOT_ATTEMPTED)
claims that something did not happen. capfcap raises it only when the capture proves it:

  1. Time. The capture goes on after the last unanswered packet for at least the
     protocol's patience (DNS 5 s, TCP SYN 3 s, TFTP 5 s, TLS 10 s; CAPF 30 s after the
     config), or the phone retried (a retransmission shows it waited and heard nothing).
  2. The direction towards the phone is captured: an answer on another of its
     conversations, an ARP reply to its MAC, or the server answering other hosts.
  3. The capture is not proven one-sided. CAPTURE_ONE_SIDED needs positive evidence (the
     phone acknowledges data the file does not hold); silence alone never proves it.

Otherwise the verdict is withheld: the report lists it under "Withheld verdicts" with the
reason (for example "the capture ends 0 ms after the SYN to CAPF port 3804 ...: capture
longer"), and the phone's verdict line starts with "Inconclusive". Capture again, longer,
at the phone's access port with both directions mirrored.
"""
TOPICS = {"INCONCLUSIVE": INCONCLUSIVE, "SILENCE": INCONCLUSIVE, "WITHHELD": INCONCLUSIVE}


def run(args: argparse.Namespace) -> int:
    if not args.code:
        for code in sorted(CATALOG):
            print(f"{code:24} {CATALOG[code].severity:8} {CATALOG[code].title}")
        print("\n'capfcap explain inconclusive': when a verdict of silence is withheld")
        return exitcodes.OK
    code = args.code.strip().upper()
    if code in TOPICS:
        sys.stdout.write(TOPICS[code])
        return exitcodes.OK
    if code not in CATALOG:
        raise UsageError(f"unknown finding code {args.code!r}; 'capfcap explain' lists them")
    sys.stdout.write(text(code, CATALOG[code]))
    return exitcodes.OK
