"""Opening a capture (a file, gzip-compressed or not, or standard input), hashing every
byte read, and the chunked buffer the readers parse from."""

from __future__ import annotations

import gzip
import os
import zlib
from typing import BinaryIO

from capfcap.sources.fileinfo import CaptureError, FileInfo, open_error
from capfcap.sources.hashing import ThreadedSha256

CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"


class HashingReader:
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


class Buffer:
    """Chunked buffer over a stream; `offset` is the absolute position of `pos`."""

    def __init__(self, f: BinaryIO | gzip.GzipFile | HashingReader, initial: bytes,
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


def open_capture(path: str
                 ) -> tuple[HashingReader, BinaryIO | gzip.GzipFile | HashingReader, bytes]:
    """(the hashing reader, the stream to parse: it or a gzip reader over it, the first
    four bytes of the capture). Raises CaptureError for a file that cannot be opened."""
    try:
        raw = _stdin() if path == STDIN else open(path, "rb")  # noqa: SIM115 - caller closes
    except OSError as e:
        raise CaptureError(open_error(path, e)) from None
    hr = HashingReader(raw)
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
    def __init__(self, head: bytes, f: HashingReader) -> None:
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
