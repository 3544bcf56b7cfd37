"""Streaming readers for pcap, pcapng and gzip-compressed captures.

pcap: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html (24-byte file header,
16-byte record header; magic a1b2c3d4 = microseconds, a1b23c4d = nanoseconds, either byte
order). pcapng: `pcapng.py`; opening, gzip and hashing: `filebuf.py`.

Files are read in chunks; nothing holds more than one chunk and one frame. Damage stops
the reader with a `CaptureError` naming the byte offset, after every good frame before it
has been yielded.
"""

from __future__ import annotations

import contextlib
import os
import struct
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from capfcap.sources.filebuf import GZIP_MAGIC as GZIP_MAGIC
from capfcap.sources.filebuf import STDIN as STDIN
from capfcap.sources.filebuf import Buffer, open_capture
from capfcap.sources.fileinfo import MAX_FRAME as MAX_FRAME
from capfcap.sources.fileinfo import CaptureError as CaptureError
from capfcap.sources.fileinfo import FileInfo, count_cut, count_frame
from capfcap.sources.frame import Frame
from capfcap.sources.pcapng import PCAPNG_SHB as PCAPNG_SHB
from capfcap.sources.pcapng import read_pcapng

if TYPE_CHECKING:
    from capfcap.sources.scan import Skipper


PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1000),
    b"\xa1\xb2\xc3\xd4": (">", 1000),
    b"\x4d\x3c\xb2\xa1": ("<", 1),
    b"\xa1\xb2\x3c\x4d": (">", 1),
}


def read_capture(
    path: str, info: FileInfo | None = None, file_index: int = 0, skip: Skipper | None = None
) -> Iterator[Frame]:
    """Yield frames of one capture file; fill `info` as it goes.

    Raises CaptureError: fatal (nothing read) for a missing or non-capture file; non-fatal
    (after yielding the good frames) for damage part-way.
    """
    info = info if info is not None else FileInfo(path)
    hr, f, head = open_capture(path)
    hr.info = info
    try:
        info.size = os.path.getsize(path)
    except OSError:
        info.size = 0
    gz = f is not hr
    try:
        if head in PCAP_MAGICS:
            info.format = "pcap" + ("+gzip" if gz else "")
            yield from _read_pcap(Buffer(f, head, path), head, info, file_index, skip)
        elif head == PCAPNG_SHB:
            info.format = "pcapng" + ("+gzip" if gz else "")
            yield from read_pcapng(Buffer(f, head, path), info, file_index, skip)
        else:
            if not head:
                raise CaptureError(f"{path}: empty file (0 bytes), not a capture", 0)
            raise CaptureError(
                f"{path}: not a pcap or pcapng capture (magic {head.hex()} at byte 0)", 0
            )
        with contextlib.suppress(OSError, EOFError, zlib.error):
            hr.drain()
    finally:
        info.sha256 = hr.h.hexdigest()
        if len(info.linktypes) == 1 and not info.linktype_frames:  # pcap: one link type
            info.linktype_frames = {info.linktypes[0]: info.packets}
        f.close()
        if gz:
            hr.close()


def _read_pcap(
    b: Buffer, magic: bytes, info: FileInfo, file_index: int, skip: Skipper | None = None
) -> Iterator[Frame]:
    """The records of a classic pcap file. One loop on purpose: it runs once per frame
    and a function call per record costs measurably on multi-GB captures."""
    endian, unit = PCAP_MAGICS[magic]
    if not b.ensure(24):
        raise CaptureError(
            f"{info.path}: pcap file header truncated at byte {len(b.buf)} (of 24)", 0)
    _mj, _mn, _tz, _sf, snaplen, network = struct.unpack_from(endian + "HHiIII", b.buf, 4)
    linktype = network & 0x0FFFFFFF
    fcs = (network >> 28) & 0x1 and ((network >> 26) & 0x3) * 2 or 0  # FCS bytes if flagged
    info.linktypes = [linktype]
    b.pos = 24
    hdr = struct.Struct(endian + "IIII")
    number = 0
    limit = MAX_FRAME
    del snaplen
    while True:
        if skip is not None:
            number = skip.pcap(b, info, number, linktype, fcs, endian, unit)
        if not b.ensure(16):
            if len(b.buf) - b.pos:
                raise CaptureError(
                    f"{info.path}: truncated record header at byte {b.offset} "
                    f"after frame {number}",
                    b.offset,
                    False,
                )
            return
        sec, frac, incl, orig = hdr.unpack_from(b.buf, b.pos)
        if incl > limit:
            raise CaptureError(
                f"{info.path}: record at byte {b.offset} (frame {number + 1}) claims "
                f"{incl} bytes; stopping",
                b.offset,
                False,
            )
        if not b.ensure(16 + incl):
            raise CaptureError(
                f"{info.path}: frame {number + 1} truncated at byte {b.offset} "
                f"({len(b.buf) - b.pos - 16} of {incl} bytes)",
                b.offset,
                False,
            )
        start = b.pos + 16
        data = b.buf[start : start + incl - (fcs if incl >= fcs else 0)]
        b.pos = start + incl
        number += 1
        ts = sec * 1_000_000_000 + frac * unit
        count_frame(info, ts)
        if orig > incl:
            count_cut(info, number)
        yield Frame(number, ts, linktype, data, orig, file_index)
