"""The pcapng reader (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html):
SHB, IDB, EPB, SPB, obsolete PB and Custom Blocks; if_tsresol, if_tsoffset; sections
reset interface numbering."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from capfcap.sources.filebuf import Buffer
from capfcap.sources.fileinfo import (
    MAX_BLOCK,
    CaptureError,
    FileInfo,
    count_cut,
    count_frame,
)
from capfcap.sources.frame import Frame

if TYPE_CHECKING:
    from capfcap.sources.scan import Skipper

PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"


@dataclass
class _Iface:
    linktype: int
    snaplen: int
    mult: int = 1000  # ns per tick (default resolution 10^-6 s)
    div: int = 1
    offset_s: int = 0
    frames: int = 0


def _parse_idb(body: bytes, endian: str) -> _Iface:
    linktype, _res, snaplen = struct.unpack_from(endian + "HHI", body, 0)
    iface = _Iface(linktype, snaplen)
    p = 8
    for _ in range(4096):  # options: code(2) len(2) value padded to 4
        if p + 4 > len(body):
            break
        code, olen = struct.unpack_from(endian + "HH", body, p)
        val = body[p + 4 : p + 4 + olen]
        if code == 0:
            break
        if code == 9 and olen >= 1:  # if_tsresol
            r = val[0]
            if r & 0x80:
                iface.mult, iface.div = 1_000_000_000, 1 << min(r & 0x7F, 63)
            else:
                e = min(r, 18)
                if e <= 9:
                    iface.mult, iface.div = 10 ** (9 - e), 1
                else:
                    iface.mult, iface.div = 1, 10 ** (e - 9)
        elif code == 14 and olen == 8:  # if_tsoffset, seconds
            iface.offset_s = struct.unpack_from(endian + "q", val, 0)[0]
        p += 4 + ((olen + 3) & ~3)
    return iface


def _comment(body: bytes, p: int, endian: str) -> str:
    """opt_comment (code 1) among the options starting at p."""
    for _ in range(4096):
        if p + 4 > len(body):
            return ""
        code, olen = struct.unpack_from(endian + "HH", body, p)
        if code == 0:
            return ""
        if code == 1:
            return body[p + 4 : p + 4 + olen].decode("utf-8", "replace")
        p += 4 + ((olen + 3) & ~3)
    return ""


def read_pcapng(
    b: Buffer, info: FileInfo, file_index: int, skip: Skipper | None = None
) -> Iterator[Frame]:
    seen: list[_Iface] = []  # every interface of every section (frame counts per link type)
    try:
        yield from _pcapng_blocks(b, info, file_index, seen, skip)
    finally:
        for ifc in seen:
            info.linktype_frames[ifc.linktype] = (
                info.linktype_frames.get(ifc.linktype, 0) + ifc.frames)


def _check_shb_version(body: bytes, endian: str, path: str, offset: int, number: int,
                       first: bool) -> None:
    """A section header body is byte-order magic, u16 major, u16 minor, i64 section
    length; a reader stops at a major version other than 1 (pcapng spec §4.1), as tshark
    does."""
    if len(body) < 16:
        raise CaptureError(f"{path}: section header block at byte {offset} is too short; "
                           f"stopping after frame {number}", offset, first)
    major, minor = struct.unpack_from(endian + "HH", body, 4)
    if major != 1:
        raise CaptureError(f"{path}: pcapng section header at byte {offset} has version "
                           f"{major}.{minor} (only 1.x is defined); stopping after frame "
                           f"{number}", offset, first)


def _pcapng_blocks(b: Buffer, info: FileInfo, file_index: int, seen: list[_Iface],
                   skip: Skipper | None = None) -> Iterator[Frame]:
    """Every block of every section, yielding packets. One loop on purpose: it runs once
    per block (frame), and a function call per block costs measurably on multi-GB
    captures; each block kind is a branch of a few lines."""
    endian = "<"
    ifaces: list[_Iface] = []
    number = 0
    first = True
    while True:
        if skip is not None and ifaces:
            number = skip.pcapng(b, info, number, ifaces, endian)
        if not b.ensure(12):
            if len(b.buf) - b.pos:
                raise CaptureError(
                    f"{info.path}: truncated block header at byte {b.offset} after frame {number}",
                    b.offset,
                    False,
                )
            return
        btype_raw = b.buf[b.pos : b.pos + 4]
        if btype_raw == PCAPNG_SHB:
            bom = b.buf[b.pos + 8 : b.pos + 12]
            if bom == b"\x4d\x3c\x2b\x1a":
                endian = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                endian = ">"
            else:
                raise CaptureError(
                    f"{info.path}: bad pcapng byte-order magic at byte {b.offset + 8}",
                    b.offset,
                    first,
                )
            ifaces = []  # a new section resets interface numbering
        elif first:
            raise CaptureError(f"{info.path}: pcapng does not start with a section header", 0)
        btype, blen = struct.unpack_from(endian + "II", b.buf, b.pos)
        if blen < 12 or blen % 4 or blen > MAX_BLOCK:
            raise CaptureError(
                f"{info.path}: block at byte {b.offset} has invalid length {blen}; stopping "
                f"after frame {number}",
                b.offset,
                first,
            )
        if not b.ensure(blen):
            raise CaptureError(
                f"{info.path}: block at byte {b.offset} truncated ({len(b.buf) - b.pos} of "
                f"{blen} bytes) after frame {number}",
                b.offset,
                False,
            )
        trailer = struct.unpack_from(endian + "I", b.buf, b.pos + blen - 4)[0]
        if trailer != blen:
            raise CaptureError(
                f"{info.path}: block at byte {b.offset}: trailing length {trailer} != {blen}; "
                f"stopping after frame {number}",
                b.offset,
                first,
            )
        body = b.buf[b.pos + 8 : b.pos + blen - 4]
        offset = b.offset
        b.pos += blen
        first = False
        if btype == 0x0A0D0D0A:
            _check_shb_version(body, endian, info.path, offset, number, first)
            c = _comment(body, 16, endian)
            if c:
                info.comments.append(c)
        elif btype == 1:  # IDB
            if len(body) < 8:
                raise CaptureError(
                    f"{info.path}: short interface block at byte {offset}", offset, False)
            iface = _parse_idb(body, endian)
            ifaces.append(iface)
            if len(seen) < 65536:  # IDBs are bounded only by the file size
                seen.append(iface)
            if iface.linktype not in info.linktypes:
                info.linktypes.append(iface.linktype)
        elif btype in (6, 2):  # EPB, obsolete PB
            if len(body) < 20:
                raise CaptureError(
                    f"{info.path}: short packet block at byte {offset}", offset, False)
            if btype == 6:
                iid, hi, lo, cap, orig = struct.unpack_from(endian + "IIIII", body, 0)
            else:
                iid, _drops, hi, lo, cap, orig = struct.unpack_from(endian + "HHIIII", body, 0)
            if iid >= len(ifaces):
                raise CaptureError(
                    f"{info.path}: packet block at byte {offset} names interface {iid}, "
                    f"but only {len(ifaces)} are defined; stopping after frame {number}",
                    offset,
                    False,
                )
            if cap > len(body) - 20:
                raise CaptureError(
                    f"{info.path}: packet block at byte {offset} claims {cap} captured bytes "
                    f"in a {blen}-byte block; stopping after frame {number}",
                    offset,
                    False,
                )
            ifc = ifaces[iid]
            ticks = (hi << 32) | lo
            ts = ticks * ifc.mult // ifc.div + ifc.offset_s * 1_000_000_000
            number += 1
            count_frame(info, ts)
            ifc.frames += 1
            if orig > cap:
                count_cut(info, number)
            data = body[20 : 20 + cap]
            opts = 20 + ((cap + 3) & ~3)  # options follow the data padded to 32 bits
            comment = _comment(body, opts, endian) if len(body) > 20 + cap + 3 else ""
            yield Frame(number, ts, ifc.linktype, data, orig, file_index, comment)
        elif btype == 3:  # SPB: no timestamp, interface 0
            if not ifaces or len(body) < 4:
                raise CaptureError(f"{info.path}: simple packet block at byte {offset} "
                                   "without interface", offset, False)
            orig = struct.unpack_from(endian + "I", body, 0)[0]
            ifc = ifaces[0]
            cap = min(orig, len(body) - 4, ifc.snaplen or orig)
            number += 1
            ts = info.last or 0
            count_frame(info, ts)
            ifc.frames += 1
            if orig > cap:
                count_cut(info, number)
            yield Frame(number, ts, ifc.linktype, body[4 : 4 + cap], orig, file_index)
        elif btype in (0x00000BAD, 0x40000BAD):
            # Custom Block (pcapng §4.8): Wireshark lists it as a record with its own
            # frame number; count it so that later frame numbers stay Wireshark's
            number += 1
        # other block types (NRB, ISB, DSB): skipped by their length
