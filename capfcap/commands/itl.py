"""`capfcap itl FILE.tlv|CAPTURE`: dump and verify trust lists, in the spirit of `show itl`."""

from __future__ import annotations

import argparse
import io
import json
import sys

from rich.console import Console
from rich.text import Text

from capfcap import exitcodes
from capfcap.errors import InputError
from capfcap.events import TrustList, TrustListSeen
from capfcap.outputs import check_writable, write_atomic
from capfcap.sources.fileinfo import open_error
from capfcap.sources.files import GZIP_MAGIC, PCAP_MAGICS, PCAPNG_SHB

MAX_TLV = 4 << 20
# A trust list opens with its VERSION (tag 1) or HEADER_LENGTH (tag 2) element, each a
# 2-byte value (DOMAIN.md §1.3): tag, u16 length 2.
TRUST_LIST_STARTS = (b"\x01\x00\x02", b"\x02\x00\x02")


def _is_capture(head: bytes) -> bool:
    return head[:4] in PCAP_MAGICS or head[:4] == PCAPNG_SHB or head[:2] == GZIP_MAGIC


def _from_capture(path: str) -> tuple[list[TrustListSeen], list[str]]:
    from capfcap.pipeline import Analysis, Options
    from capfcap.sources.inputs import InputSet, frames

    a = Analysis(Options())
    inputs = InputSet()
    for fr in frames([path], inputs):
        a.feed(fr)
    a.finish()
    return list(a.correlator.state.trust_lists), inputs.errors


def _status(tls: list[TrustList]) -> int:
    st = {t.signature_status for t in tls}
    if "invalid" in st:
        return exitcodes.ERRORS
    if st - {"valid"}:
        return exitcodes.WARNINGS
    return exitcodes.OK


def run(args: argparse.Namespace) -> int:
    from capfcap.reporters.itl import to_json

    path = args.file
    if args.output:
        check_writable(args.output, args.force)
    found, failed, errors = _read(path)
    if args.format == "json":
        doc = {"trust_lists": [dict(source=w, **to_json(tl)) for w, tl in found],
               "errors": failed + errors}
        text = json.dumps(doc, indent=2) + "\n"
    else:
        text = _text(found, failed, to_stdout=not args.output)
    if args.output:
        write_atomic(args.output, text, args.force)
    else:
        sys.stdout.write(text)
    for msg in failed + errors:
        print(f"capfcap: {msg}", file=sys.stderr)
    if failed or errors:
        return exitcodes.BAD_INPUT
    return _status([t for _w, t in found])


def _read(path: str) -> tuple[list[tuple[str, TrustList]], list[str], list[str]]:
    """The trust lists in a `.tlv` file or carried whole by a capture, each with where it
    came from; the capture's trust lists that do not parse; the capture's read errors."""
    from capfcap.trust.itl import TrustListError, parse_trust_list

    try:
        with open(path, "rb") as f:
            head = f.read(4)
            data = b"" if _is_capture(head) else head + f.read(MAX_TLV)
    except OSError as e:
        raise InputError(open_error(path, e)) from None
    found: list[tuple[str, TrustList]] = []
    errors: list[str] = []
    failed: list[str] = []  # trust lists carried whole by the capture that do not parse
    if _is_capture(head):
        seen, errors = _from_capture(path)
        for s in seen:
            t = s.transfer
            where = (f"{t.protocol.upper()} {t.filename} from {t.server} to {t.client}, "
                     f"frames {t.frames[0]}-{t.frames[-1]}")
            if s.trust_list is None:
                failed.append(f"{where}: {s.error}")
            else:
                found.append((where, s.trust_list))
        return found, failed, errors
    if len(data) > MAX_TLV:
        raise InputError(f"{path}: larger than {MAX_TLV} bytes, not a trust list")
    try:
        found.append((path, parse_trust_list(data, path)))
    except TrustListError as e:
        if not data.startswith(TRUST_LIST_STARTS):
            raise InputError(f"{path}: not a trust list (ITL/CTL .tlv file)") from None
        raise InputError(f"{path}: {e}") from None
    return found, failed, errors


def _text(found: list[tuple[str, TrustList]], failed: list[str], to_stdout: bool) -> str:
    """The listing for a terminal (colour and width when it goes to stdout) or a file."""
    from capfcap import terminal
    from capfcap.reporters.itl import render_text

    buf = io.StringIO()
    color = to_stdout and terminal.use_color("auto", sys.stdout)
    con = Console(file=buf, width=(terminal.width(sys.stdout) if to_stdout else None)
                  or terminal.UNWRAPPED, force_terminal=color, no_color=not color,
                  highlight=False, soft_wrap=False)
    for where, tl in found:
        con.print(Text(where, style="bold"))
        render_text(tl, con)
        con.print()
    for msg in failed:
        con.print(f"Trust list not parsed: {msg}", markup=False)
    if not found and not failed:
        con.print("No trust list (ITL/CTL download) found.")
    return terminal.strip_trailing(buf.getvalue())
