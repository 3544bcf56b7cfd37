"""`evidence.pcapng`: only the frames the findings cite, with a comment on each.

pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html), little-endian:
- SHB  type 0x0A0D0D0A, byte-order magic 0x1A2B3C4D, version 1.0, section length -1;
  options opt_comment(1) = the one-line verdict, shb_userappl(4) = "capfcap VERSION".
- IDB  type 1: linktype(2) reserved(2) snaplen(4); option if_tsresol(9) = 9 (nanoseconds),
  so the original timestamps (pcap: us or ns; pcapng: any resolution <= ns) survive exactly.
- EPB  type 6: interface(4) ts_high(4) ts_low(4) caplen(4) origlen(4) data, padded to 4;
  opt_comment(1) "capfcap: CODE[, CODE]; original frame N".
Every block: type(4) total_length(4) body total_length(4); options are code(2) len(2)
value padded to 4, ended by opt_endofopt (0, 0).

Frames are re-read from the original captures in a second streaming pass (the same merge
and numbering as the analysis), selecting the cited frame numbers only.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from capfcap.report import Report
from capfcap.sources.frame import Frame
from capfcap.sources.inputs import InputSet, frames

BLOCK_SHB = 0x0A0D0D0A
BLOCK_IDB = 1
BLOCK_EPB = 6
OPT_END = 0
OPT_COMMENT = 1
OPT_SHB_USERAPPL = 4
OPT_IF_TSRESOL = 9
BYTE_ORDER_MAGIC = 0x1A2B3C4D
DEFAULT_SNAPLEN = 262144
MAX_OPTION = 0xFFFF  # option length is 16 bits


@dataclass
class EvidenceFrame:
    """One cited frame as it will be written (bytes may be redacted)."""

    number: int  # original (merged) frame number
    ts: int  # ns
    linktype: int
    data: bytes
    wirelen: int
    codes: tuple[str, ...]
    note: str = ""  # e.g. what redaction did to it
    original_comment: str = ""


def cited_frames(report: Report) -> dict[int, tuple[str, ...]]:
    """Frame number -> finding codes citing it (in finding order, each code once)."""
    out: dict[int, list[str]] = {}
    for f in report.findings:
        for n in f.evidence.frames:
            codes = out.setdefault(n, [])
            if f.code not in codes:
                codes.append(f.code)
    return {n: tuple(out[n]) for n in sorted(out)}


def collect(report: Report, paths: Sequence[str]) -> tuple[list[EvidenceFrame], list[str]]:
    """Re-read `paths` and keep the cited frames. Returns (frames, problems)."""
    cited = cited_frames(report)
    if not cited or not paths:
        return [], []
    last = max(cited)
    inputs = InputSet()
    out: list[EvidenceFrame] = []
    it = frames(list(paths), inputs)
    try:
        for fr in it:
            if fr.number > last:
                break
            codes = cited.get(fr.number)
            if codes is not None:
                out.append(_evidence(fr, codes))
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()
    problems = list(inputs.errors)
    missing = len(cited) - len(out)
    if missing:
        problems.append(f"{missing} cited frame(s) could not be read again from the captures")
    return out, problems


def _evidence(fr: Frame, codes: tuple[str, ...]) -> EvidenceFrame:
    return EvidenceFrame(fr.number, fr.ts, fr.linktype, bytes(fr.data), fr.wirelen, codes,
                         original_comment=fr.comment)


def frame_comment(ev: EvidenceFrame) -> str:
    s = f"capfcap: {', '.join(ev.codes)}; original frame {ev.number}"
    return s + (f"; {ev.note}" if ev.note else "")


# -- writer ------------------------------------------------------------------------------
def _option(code: int, value: bytes) -> bytes:
    value = value[:MAX_OPTION]
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def _options(opts: Iterable[tuple[int, bytes]]) -> bytes:
    body = b"".join(_option(c, v) for c, v in opts)
    return body + struct.pack("<HH", OPT_END, 0) if body else b""


def _block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    total = len(body) + 12
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


def shb(comment: str, userappl: str) -> bytes:
    opts = []
    if comment:
        opts.append((OPT_COMMENT, comment.encode("utf-8")))
    if userappl:
        opts.append((OPT_SHB_USERAPPL, userappl.encode("utf-8")))
    body = struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1) + _options(opts)
    return _block(BLOCK_SHB, body)


def idb(linktype: int, snaplen: int) -> bytes:
    body = struct.pack("<HHI", linktype, 0, snaplen) + _options([(OPT_IF_TSRESOL, b"\x09")])
    return _block(BLOCK_IDB, body)


def epb(iface: int, ts_ns: int, data: bytes, wirelen: int, comments: Iterable[str]) -> bytes:
    ts = max(ts_ns, 0)
    body = struct.pack("<IIIII", iface, (ts >> 32) & 0xFFFFFFFF, ts & 0xFFFFFFFF, len(data),
                       max(wirelen, len(data)))
    body += data + b"\0" * (-len(data) % 4)
    body += _options((OPT_COMMENT, c.encode("utf-8")) for c in comments if c)
    return _block(BLOCK_EPB, body)


def write_pcapng(out: BinaryIO, evs: Sequence[EvidenceFrame], section_comment: str,
                 userappl: str = "", keep_original_comments: bool = True) -> int:
    """Write a one-section pcapng: one IDB per link type, then the EPBs in frame order.
    Returns the number of packets written."""
    out.write(shb(section_comment, userappl))
    ifaces: dict[int, int] = {}
    for ev in evs:
        if ev.linktype not in ifaces:
            ifaces[ev.linktype] = len(ifaces)
    for lt in ifaces:
        longest = max((len(e.data) for e in evs if e.linktype == lt), default=0)
        out.write(idb(lt, max(DEFAULT_SNAPLEN, longest)))
    for ev in evs:
        comments = [frame_comment(ev)]
        if keep_original_comments and ev.original_comment:
            comments.append(ev.original_comment)
        out.write(epb(ifaces[ev.linktype], ev.ts, ev.data, ev.wirelen, comments))
    return len(evs)


def write_evidence(out: BinaryIO, report: Report, paths: Sequence[str], section_comment: str,
                   transform: Callable[[list[EvidenceFrame]], None] | None = None
                   ) -> tuple[int, list[str]]:
    """Collect the cited frames from `paths`, optionally transform them, write pcapng."""
    evs, problems = collect(report, paths)
    if transform is not None:
        transform(evs)
    n = write_pcapng(out, evs, section_comment, f"capfcap {report.version}".strip(),
                     keep_original_comments=transform is None)
    return n, problems
