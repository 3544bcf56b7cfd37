"""Rotating pcapng files for live capture (`capfcap live --ring DIR`).

pcapng (draft-ietf-opsawg-pcapng-02): each file is one section: a Section Header Block
(type 0x0A0D0D0A, byte-order magic 0x1A2B3C4D, version 1.0, section length -1,
shb_userappl), one Interface Description Block (type 1: link type, snaplen, if_name,
if_tsresol = 9 i.e. nanoseconds, if_filter with the kernel filter's expression) and
Enhanced Packet Blocks (type 6: interface 0, 64-bit timestamp, captured and original
length, data padded to 32 bits, opt_comment "capfcap frame N"). Little-endian.

Files are named `capfcap-<UTC start of the run>-<5-digit sequence>.pcapng`, so their
names sort in capture order and `capfcap analyze DIR` merges them back in order. A file
is closed when the next frame would take it past `max_bytes`; when more than `max_files`
files exist, the oldest file of this run is deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import time
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from capfcap import __version__
from capfcap.sources.files import FileInfo
from capfcap.sources.frame import Frame

DEFAULT_MAX_BYTES = 10 << 20
DEFAULT_MAX_FILES = 10
SNAPLEN = 262144


def _opt(code: int, value: bytes) -> bytes:
    pad = (-len(value)) % 4
    return struct.pack("<HH", code, len(value)) + value + b"\0" * pad


def _block(btype: int, body: bytes) -> bytes:
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def section_header(application: str) -> bytes:
    body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
    body += _opt(4, application.encode()) + _opt(0, b"")
    return _block(0x0A0D0D0A, body)


def interface_block(linktype: int, name: str, bpf: str = "", snaplen: int = SNAPLEN) -> bytes:
    body = struct.pack("<HHI", linktype, 0, snaplen)
    body += _opt(2, name.encode())
    body += _opt(9, b"\x09")  # if_tsresol: 10^-9 s
    if bpf:
        body += _opt(11, b"\x00" + bpf.encode())  # if_filter, libpcap expression
    body += _opt(0, b"")
    return _block(1, body)


def packet_block(fr: Frame, comment: str = "") -> bytes:
    data = fr.data
    body = struct.pack("<IIIII", 0, (fr.ts >> 32) & 0xFFFFFFFF, fr.ts & 0xFFFFFFFF,
                       len(data), max(fr.wirelen, len(data)))
    body += data + b"\0" * ((-len(data)) % 4)
    if comment:
        body += _opt(1, comment.encode()) + _opt(0, b"")
    return _block(6, body)


@dataclass
class RingFile:
    path: str
    packets: int = 0
    first: int | None = None
    last: int | None = None
    first_frame: int = 0
    size: int = 0
    sha: Any = field(default_factory=hashlib.sha256)

    def info(self, linktype: int) -> FileInfo:
        fi = FileInfo(self.path, format="pcapng", packets=self.packets, first=self.first,
                      last=self.last, linktypes=[linktype], size=self.size)
        fi.sha256 = self.sha.hexdigest()
        return fi


class Ring:
    """Write frames into rotating pcapng files under `directory`."""

    def __init__(self, directory: str, linktype: int, iface: str, bpf: str = "",
                 max_bytes: int = DEFAULT_MAX_BYTES, max_files: int = DEFAULT_MAX_FILES,
                 start_ns: int | None = None) -> None:
        self.dir = directory
        self.linktype = linktype
        self.iface = iface
        self.bpf = bpf
        self.max_bytes = max(max_bytes, 4096)
        self.max_files = max(max_files, 1)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime((start_ns or time.time_ns())
                                                             // 1_000_000_000))
        self.prefix = f"capfcap-{stamp}"
        self.files: list[RingFile] = []  # present on disk, oldest first
        self.deleted = 0  # files rotated away
        self.seq = 0
        self.f: BinaryIO | None = None
        os.makedirs(directory, exist_ok=True)

    def _open_next(self, first_frame: int) -> None:
        self._close_current()
        self.seq += 1
        path = os.path.join(self.dir, f"{self.prefix}-{self.seq:05d}.pcapng")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        self.f = os.fdopen(fd, "wb")
        rf = RingFile(path, first_frame=first_frame)
        self.files.append(rf)
        self._put(section_header(f"capfcap {__version__} live"))
        self._put(interface_block(self.linktype, self.iface, self.bpf))
        while len(self.files) > self.max_files:
            old = self.files.pop(0)
            with contextlib.suppress(OSError):
                os.unlink(old.path)
            self.deleted += 1

    def _put(self, b: bytes) -> None:
        assert self.f is not None
        self.f.write(b)
        rf = self.files[-1]
        rf.size += len(b)
        rf.sha.update(b)

    def write(self, fr: Frame) -> None:
        blk = packet_block(fr, f"capfcap frame {fr.number}")
        if self.f is None or (self.files[-1].packets and
                              self.files[-1].size + len(blk) > self.max_bytes):
            self._open_next(fr.number)
        self._put(blk)
        rf = self.files[-1]
        rf.packets += 1
        if rf.first is None:
            rf.first = fr.ts
        rf.last = fr.ts

    def flush(self) -> None:
        if self.f is not None:
            self.f.flush()

    def _close_current(self) -> None:
        if self.f is not None:
            self.f.close()
            self.f = None

    def close(self) -> None:
        self._close_current()

    def infos(self) -> list[FileInfo]:
        return [rf.info(self.linktype) for rf in self.files]

    @property
    def paths(self) -> list[str]:
        return [rf.path for rf in self.files]
