"""Streaming readers for pcap, pcapng and gzip-compressed captures.

pcap: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html (24-byte file header,
16-byte record header; magic a1b2c3d4 = microseconds, a1b23c4d = nanoseconds, either byte
order). pcapng: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html (SHB, IDB,
EPB, SPB, obsolete PB; if_tsresol, if_tsoffset; sections reset interface numbering).

Files are read in chunks; nothing holds more than one chunk and one frame. Damage stops
the reader with a `CaptureError` naming the byte offset, after every good frame before it
has been yielded.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from capfcap.sources.frame import Frame
from capfcap.sources.hashing import ThreadedSha256

if TYPE_CHECKING:
    from capfcap.sources.scan import Skipper

CHUNK = 1 << 20
MAX_FRAME = 16 << 20  # no record may claim more (untrusted length)
MAX_BLOCK = 32 << 20

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1000),
    b"\xa1\xb2\xc3\xd4": (">", 1000),
    b"\x4d\x3c\xb2\xa1": ("<", 1),
    b"\xa1\xb2\x3c\x4d": (">", 1),
}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
GZIP_MAGIC = b"\x1f\x8b"


class CaptureError(Exception):
    """The input is not a capture, or is damaged at `offset`."""

    def __init__(self, message: str, offset: int | None = None, fatal: bool = True) -> None:
        super().__init__(message)
        self.offset = offset
        self.fatal = fatal  # False: frames before the damage were read


@dataclass
class FileInfo:
    path: str
    format: str = ""  # "pcap", "pcapng", with "+gzip"
    sha256: str = ""
    packets: int = 0
    first: int | None = None
    last: int | None = None
    linktypes: list[int] = field(default_factory=list)
    error: str = ""  # damage note (the reader stopped here)
    size: int = 0
    comments: list[str] = field(default_factory=list)
    linktype_frames: dict[int, int] = field(default_factory=dict)  # frames per link type
    cut: int = 0  # frames whose caplen < original length (snap length)
    first_cut: int = 0  # number of the first such frame
    read_bytes: int = 0  # bytes of the file read so far (the progress bar's measure)


class _HashingReader:
    """File wrapper that hashes every byte read (the SHA-256 of the file as stored)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.h = ThreadedSha256()
        self.nread = 0
        self.info: FileInfo | None = None

    def read(self, n: int = -1) -> bytes:
        b = self.raw.read(n)
        self.h.update(b)
        self.nread += len(b)
        if self.info is not None:
            self.info.read_bytes = self.nread
        return b

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


class _Buf:
    """Chunked buffer over a stream; `offset` is the absolute position of `pos`."""

    def __init__(self, f: BinaryIO | gzip.GzipFile | _HashingReader, initial: bytes,
                 path: str = "") -> None:
        self.f = f
        self.path = path
        self._read = _GzRead(f).read if isinstance(f, gzip.GzipFile) else f.read
        self.buf = initial
        self.pos = 0
        self.base = 0  # absolute offset of buf[0]
        self.eof = False

    @property
    def offset(self) -> int:
        return self.base + self.pos

    def ensure(self, n: int) -> bool:
        """Make n bytes available at pos; False at end of file."""
        while len(self.buf) - self.pos < n:
            if self.eof:
                return False
            try:
                more = self._read(max(CHUNK, n))
            except (OSError, EOFError, zlib.error) as e:
                self.eof = True
                end = self.base + len(self.buf)
                raise CaptureError(
                    f"{self.path}: decompression failed at uncompressed byte {end}: {e}",
                    end, False,
                ) from e
            if not more:
                self.eof = True
                return False
            self.base += self.pos
            self.buf = self.buf[self.pos :] + more
            self.pos = 0
        return True


class _GzRead:
    """GzipFile.read(n) drops what it already decompressed when the stream turns out to be
    cut short (EOFError). Collect read1() pieces instead and raise the error on the next
    call, so a truncated .gz still yields every whole frame before the cut."""

    def __init__(self, gz: gzip.GzipFile) -> None:
        self.gz = gz
        self.error: BaseException | None = None

    def read(self, n: int) -> bytes:
        if self.error is not None:
            raise self.error
        parts: list[bytes] = []
        got = 0
        while got < n:
            try:
                p = self.gz.read1(n - got)
            except (OSError, EOFError, zlib.error) as e:
                if not parts:
                    raise
                self.error = e
                break
            if not p:
                break
            parts.append(p)
            got += len(p)
        return b"".join(parts)


STDIN = "-"  # a pcap or pcapng stream on standard input (`tcpdump -w -`), read once


def _stdin() -> BinaryIO:
    """Standard input as a binary stream of its own (read sequentially, never seeked)."""
    return os.fdopen(os.dup(0), "rb")


def _open(path: str) -> tuple[_HashingReader, BinaryIO | gzip.GzipFile | _HashingReader, bytes]:
    try:
        raw = _stdin() if path == STDIN else open(path, "rb")  # noqa: SIM115 - caller closes
    except FileNotFoundError:
        raise CaptureError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CaptureError(f"{path}: is a directory") from None
    except PermissionError:
        raise CaptureError(f"{path}: permission denied") from None
    except OSError as e:
        raise CaptureError(f"{path}: {e.strerror or e}") from None
    hr = _HashingReader(raw)
    head = hr.read(4)
    if head[:2] == GZIP_MAGIC:
        gz = gzip.GzipFile(fileobj=_Prepend(head, hr), mode="rb")  # type: ignore[call-overload]
        try:
            head = gz.read(4)
        except (OSError, EOFError, zlib.error) as e:
            raise CaptureError(f"{path}: not a readable gzip file ({e})") from None
        return hr, gz, head
    return hr, hr, head


class _Prepend:
    def __init__(self, head: bytes, f: _HashingReader) -> None:
        self.head = head
        self.f = f

    def read(self, n: int = -1) -> bytes:
        if self.head:
            h, self.head = self.head, b""
            if n < 0:
                return h + self.f.read()
            if n <= len(h):
                self.head = h[n:]
                return h[:n]
            return h + self.f.read(n - len(h))
        return self.f.read(n)


def read_capture(
    path: str, info: FileInfo | None = None, file_index: int = 0, skip: Skipper | None = None
) -> Iterator[Frame]:
    """Yield frames of one capture file; fill `info` as it goes.

    Raises CaptureError: fatal (nothing read) for a missing or non-capture file; non-fatal
    (after yielding the good frames) for damage part-way.
    """
    info = info if info is not None else FileInfo(path)
    hr, f, head = _open(path)
    hr.info = info
    try:
        info.size = os.path.getsize(path)
    except OSError:
        info.size = 0
    gz = f is not hr
    try:
        if head in PCAP_MAGICS:
            info.format = "pcap" + ("+gzip" if gz else "")
            yield from _read_pcap(_Buf(f, head, path), head, info, file_index, skip)
        elif head == PCAPNG_SHB:
            info.format = "pcapng" + ("+gzip" if gz else "")
            yield from _read_pcapng(_Buf(f, head, path), info, file_index, skip)
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


def _cut(info: FileInfo, number: int) -> None:
    info.cut += 1
    if not info.first_cut:
        info.first_cut = number


def _note(info: FileInfo, ts: int) -> None:
    info.packets += 1
    if info.first is None:
        info.first = ts
    info.last = ts


def _read_pcap(
    b: _Buf, magic: bytes, info: FileInfo, file_index: int, skip: Skipper | None = None
) -> Iterator[Frame]:
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
        _note(info, ts)
        if orig > incl:
            _cut(info, number)
        yield Frame(number, ts, linktype, data, orig, file_index)


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


def _read_pcapng(
    b: _Buf, info: FileInfo, file_index: int, skip: Skipper | None = None
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


def _pcapng_blocks(b: _Buf, info: FileInfo, file_index: int, seen: list[_Iface],
                   skip: Skipper | None = None) -> Iterator[Frame]:
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
            _note(info, ts)
            ifc.frames += 1
            if orig > cap:
                _cut(info, number)
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
            _note(info, ts)
            ifc.frames += 1
            if orig > cap:
                _cut(info, number)
            yield Frame(number, ts, ifc.linktype, body[4 : 4 + cap], orig, file_index)
        elif btype in (0x00000BAD, 0x40000BAD):
            # Custom Block (pcapng §4.8): Wireshark lists it as a record with its own
            # frame number; count it so that later frame numbers stay Wireshark's
            number += 1
        # other block types (NRB, ISB, DSB): skipped by their length
