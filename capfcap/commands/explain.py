"""`capfcap explain [CODE | "TEXT"]`: the findings reference, from the one catalog, and
what a message of the phone or CUCM points to (capfcap.messages)."""

from __future__ import annotations

import argparse
import re
import sys
import textwrap

from capfcap import exitcodes
from capfcap.catalog import CATALOG, CodeInfo, port_note
from capfcap.messages import MESSAGES, Message, lookup


def text(code: str, info: CodeInfo) -> str:
    lines = [f"{code} ({info.severity}): {info.title}", "", info.meaning, "", "Likely causes:"]
    lines += [f"  - {c}" for c in info.causes]
    lines += ["", f"Confirm in Wireshark: {info.confirm}", "", f"Fix: {info.fix}"]
    note = port_note(code)
    if note:
        lines += ["", f"Port: {note}"]
    if info.source:
        lines += ["", f"Source: {info.source}"]
    return "\n".join(lines) + "\n"


def markdown_reference() -> str:
    """The README's findings reference."""
    out = ["| code | severity | meaning | fix |", "|---|---|---|---|"]
    for code in sorted(CATALOG):
        i = CATALOG[code]
        src = f" Source: {i.source}." if i.source else ""
        out.append(f"| `{code}` | {i.severity} | {i.title}. {i.meaning} | {i.fix}{src} |")
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
  4. The phone's frames are in time order. When three or more of them are over 10 ms
     older than one before them (two captures concatenated, interfaces written in runs),
     an answer may be read before its question; `reordercap in.pcapng out.pcapng`
     rewrites the file in time order.

Otherwise the verdict is withheld: the report lists it under "Withheld verdicts" with the
reason (for example "the capture ends 0 ms after the SYN to CAPF port 3804 ...: capture
longer"), and the phone's verdict line starts with "Inconclusive". In the timeline such a
request reads ?? ("not a proven failure", with the reason) instead of FAIL. Capture again,
longer, at the phone's access port with both directions mirrored.
"""
TOPICS = {"INCONCLUSIVE": INCONCLUSIVE, "SILENCE": INCONCLUSIVE, "WITHHELD": INCONCLUSIVE}


def _wrap(text: str, indent: str = "", hang: str = "") -> list[str]:
    return textwrap.wrap(text, 78, initial_indent=indent, subsequent_indent=hang or indent)


def message_text(m: Message) -> str:
    """What a pasted message means and the findings to look for, in triage order."""
    lines = [" / ".join(f'"{t}"' for t in m.shows), *_wrap(f"Where: {m.where}.")]
    lines += ["", *_wrap(("Benign. " if m.kind == "benign" else "") + m.meaning)]
    if m.steps:
        head = ("Findings to look for in 'capfcap analyze', in triage order:"
                if m.kind == "problem" else "Related findings:")
        lines += ["", head]
        for n, st in enumerate(m.steps, 1):
            what = ", ".join(st.codes) if st.codes else "(no finding)"
            lines += _wrap(f"{n}. {what}: {st.note}", "  ", "     ")
    lines += ["", *_wrap(f"Source: {m.source}.")]
    return "\n".join(lines) + "\n"


def known_messages() -> str:
    out = ["Messages capfcap knows (quote the text: capfcap explain \"LSC: Connection Failed\"):"]
    for m in MESSAGES:
        out += _wrap(" / ".join(m.shows), "  ", "    ")
    return "\n".join(out) + "\n"


def _code_shaped(text: str) -> bool:
    return re.fullmatch(r"[A-Za-z]+(_[A-Za-z0-9]+)+", text) is not None


def run(args: argparse.Namespace) -> int:
    what = " ".join(args.what).strip()
    if not what:
        for code in sorted(CATALOG):
            print(f"{code:26} {CATALOG[code].severity:8} {CATALOG[code].title}")
        print("\n'capfcap explain CODE': what a finding means, how to confirm and fix it"
              "\n'capfcap explain \"TEXT\"': what a message on the phone or in CUCM means "
              "(quote it,\n  e.g. capfcap explain \"LSC: Connection Failed\"); the messages "
              "known are listed\n  after an unknown one"
              "\n'capfcap explain inconclusive': when a verdict of silence is withheld")
        return exitcodes.OK
    code = what.upper()
    if code in TOPICS:
        sys.stdout.write(TOPICS[code])
        return exitcodes.OK
    if code in CATALOG:
        sys.stdout.write(text(code, CATALOG[code]))
        return exitcodes.OK
    found = lookup(what)
    if found:
        sys.stdout.write("\n".join(message_text(m) for m in found))
        return exitcodes.OK
    kind = ("unknown finding code {!r}, and no message matches it" if _code_shaped(what)
            else "no match for {!r}")
    print(f"capfcap: {kind.format(what)} (the messages capfcap knows follow; 'capfcap "
          "explain' lists the finding codes)", file=sys.stderr)
    sys.stdout.write(known_messages())
    return exitcodes.USAGE
