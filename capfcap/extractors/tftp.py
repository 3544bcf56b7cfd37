"""TFTP read transfers (RFC 1350, options RFC 2347/2348/2349), tracked by transfer ID.

Wire format (RFC 1350 §5, all integers big-endian):
  RRQ/WRQ  | 01/02 | filename | 0 | mode | 0 | [opt | 0 | value | 0]* (RFC 2347)
  DATA     | 03 | block u16 | 0..blksize bytes   (a block shorter than blksize ends the file)
  ACK      | 04 | block u16 |
  ERROR    | 05 | code u16 | message | 0
  OACK     | 06 | [opt | 0 | value | 0]*           (RFC 2347; acknowledged with ACK 0)

The request goes to UDP 69 from the client's port; the server answers from a fresh port (its
transfer ID, RFC 1350 §4) to the client's port. A transfer is keyed by (client ip, client
port, server ip) and the server TID is learned from the first reply (or, when only the client
side is captured, from the destination port of the client's ACKs). Block numbers are 16 bit
and wrap past 65535 to 0 (or to 1 on some servers); they are unwrapped to an absolute index.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from capfcap.decode import Packet, Prefilter
from capfcap.events import FileTransfer

if TYPE_CHECKING:
    from capfcap.extractors.base import Extractor

TFTP_PORT = 69
UDP = 17

OP_RRQ, OP_WRQ, OP_DATA, OP_ACK, OP_ERROR, OP_OACK = 1, 2, 3, 4, 5, 6

DEFAULT_BLKSIZE = 512  # RFC 1350
MIN_BLKSIZE, MAX_BLKSIZE = 8, 65464  # RFC 2348
DEFAULT_TIMEOUT_NS = 10_000_000_000
MAX_TRANSFERS = 4096
MAX_DATA = 16 << 20  # bytes kept per transfer
MAX_BUFFERED = 64 << 20  # bytes kept over all open transfers
MAX_FRAMES = 200_000  # frame numbers kept per transfer
MAX_REQUEST_FRAMES = 64
MAX_OOO_BLOCKS = 1024  # out-of-order blocks waiting for a hole to fill
MAX_FIELDS = 64  # NUL-terminated strings read from a request or OACK
MAX_STRING = 512  # characters kept of a filename, option or message
EXPIRE_SCAN_NS = 1_000_000_000

_U16 = 1 << 16


class TftpParseError(ValueError):
    """A TFTP packet does not follow RFC 1350 framing."""


def _strings(payload: bytes, start: int) -> list[str]:
    """NUL-terminated strings from `start`; a trailing unterminated field is kept too."""
    parts = payload[start:].split(b"\x00", MAX_FIELDS)[:MAX_FIELDS]
    if parts and parts[-1] == b"":
        parts.pop()
    return [p[:MAX_STRING].decode("latin-1") for p in parts]


def parse_request(payload: bytes) -> tuple[int, str, str, tuple[tuple[str, str], ...]]:
    """RRQ/WRQ -> (opcode, filename, mode, options). Option names are lower-cased."""
    if len(payload) < 4:
        raise TftpParseError("request shorter than 4 bytes")
    op = (payload[0] << 8) | payload[1]
    if op not in (OP_RRQ, OP_WRQ):
        raise TftpParseError(f"opcode {op} is not a request")
    fields = _strings(payload, 2)
    if len(fields) < 2 or not fields[0]:
        raise TftpParseError("request without filename and mode")
    opts = tuple((fields[i].lower(), fields[i + 1]) for i in range(2, len(fields) - 1, 2))
    return op, fields[0], fields[1].lower(), opts


def parse_oack(payload: bytes) -> tuple[tuple[str, str], ...]:
    fields = _strings(payload, 2)
    return tuple((fields[i].lower(), fields[i + 1]) for i in range(0, len(fields) - 1, 2))


def parse_error(payload: bytes) -> tuple[int, str]:
    if len(payload) < 4:
        raise TftpParseError("ERROR shorter than 4 bytes")
    code = (payload[2] << 8) | payload[3]
    msg = payload[4:].split(b"\x00", 1)[0][:MAX_STRING]
    return code, msg.decode("utf-8", "replace")


class BlockCounter:
    """Maps 16-bit block numbers to absolute block indexes (1-based) across wraps.

    After block 65535 a server continues with 0 (tftpd-hpa, most servers) or with 1; the
    first block seen after the wrap decides which. A block number maps to the absolute index
    nearest the next expected one, so late duplicates from before a wrap stay in their epoch.
    """

    def __init__(self) -> None:
        self.high = 0  # highest absolute index seen
        self.period: int | None = None  # 65536 (wrap to 0) or 65535 (wrap to 1)
        self.wrapped = False

    def absolute(self, block: int) -> int:
        ref = self.high + 1
        if self.period is None:
            if self.high >= _U16 - 1024 and block < 1024:
                # first block after the wrap: 0 means wrap-to-0, anything else wrap-to-1
                self.period = _U16 if block == 0 else _U16 - 1
            else:
                absn = block
                if absn > self.high:
                    self.high = absn
                return absn
        period = self.period
        if period == _U16 - 1 and block == 0:
            block = period  # 0 cannot occur after a wrap-to-1; treat as its alias
        k = max(0, round((ref - block) / period))
        absn = block + k * period
        if absn > self.high:
            self.high = absn
            if absn >= _U16:
                self.wrapped = True
        return absn


@dataclass
class _Transfer:
    client: str
    client_port: int
    server: str
    filename: str
    mode: str
    requested: tuple[tuple[str, str], ...]
    first_ts: int
    last_ts: int
    request_frames: list[int] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)
    data_port: int = 0
    replied: bool = False  # any packet from the server side captured
    options: tuple[tuple[str, str], ...] = ()
    blksize: int = DEFAULT_BLKSIZE
    tsize: int | None = None
    counter: BlockCounter = field(default_factory=BlockCounter)
    buf: bytearray = field(default_factory=bytearray)
    contig: int = 0  # absolute index of the last block of the in-order prefix
    ooo: dict[int, bytes] = field(default_factory=dict)  # absolute index -> bytes
    size: int = 0  # bytes of distinct blocks seen (stored or not)
    capped: bool = False
    final_block: int | None = None  # absolute index of the short block
    data_blocks: int = 0
    duplicates: int = 0
    ack_high: int = 0  # highest absolute block the client acknowledged
    acked_unseen: int = 0
    ooo_dropped: int = 0
    foreign_tid: int = 0
    oack_unseen: bool = False
    error_code: int | None = None
    error_message: str = ""
    error_from_client: bool = False
    bad_packets: int = 0
    damaged: int = 0  # DATA cut short by the snap length or IP fragmentation
    blksize_inferred: bool = False
    frames_capped: bool = False

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.client, self.client_port, self.server)

    @property
    def complete(self) -> bool:
        return self.final_block is not None and self.contig >= self.final_block

    def add_frame(self, frame: int, ts: int) -> None:
        if len(self.frames) < MAX_FRAMES:
            self.frames.append(frame)
        else:
            self.frames_capped = True
        if ts > self.last_ts:
            self.last_ts = ts


class TftpExtractor:
    """Extractor (capfcap.extractors.base) for TFTP read transfers -> FileTransfer events."""

    def __init__(
        self,
        prefilter: Prefilter | None = None,
        timeout_ns: int = DEFAULT_TIMEOUT_NS,
        max_transfers: int = MAX_TRANSFERS,
    ) -> None:
        self.prefilter = prefilter
        self.timeout_ns = timeout_ns
        self.max_transfers = max(1, max_transfers)
        # ordered by last activity (oldest first)
        self._open: OrderedDict[tuple[str, int, str], _Transfer] = OrderedDict()
        self._port_refs: dict[int, int] = {}
        self._buffered = 0
        self._last_scan = 0

    # -- Extractor protocol -------------------------------------------------------------

    def feed(self, pkt: Packet) -> list[FileTransfer]:
        if pkt.proto != UDP or len(pkt.payload) < 2:
            return []
        p = pkt.payload
        op = (p[0] << 8) | p[1]
        if pkt.dport == TFTP_PORT and op in (OP_RRQ, OP_WRQ):
            return self._request(pkt)
        # open transfers are keyed by client port, and _port_refs counts them per port
        refs = self._port_refs
        t = self._open.get((pkt.dst, pkt.dport, pkt.src)) if pkt.dport in refs else None
        if t is not None and (t.data_port == 0 or pkt.sport == t.data_port):
            return self._from_server(t, pkt, op)
        if t is not None:
            t.foreign_tid += 1  # RFC 1350 §4: a packet from another TID is not ours
            return []
        if pkt.sport in refs:
            t = self._open.get((pkt.src, pkt.sport, pkt.dst))
            if t is not None:
                return self._from_client(t, pkt, op)
        return []

    def expire(self, now: int) -> list[FileTransfer]:
        if now - self._last_scan < EXPIRE_SCAN_NS and self._last_scan:
            return []
        self._last_scan = now
        out: list[FileTransfer] = []
        while self._open:
            t = next(iter(self._open.values()))
            if now - t.last_ts <= self.timeout_ns:
                break
            out.append(self._close(t))
        return out

    def finish(self) -> list[FileTransfer]:
        out: list[FileTransfer] = [self._close(t) for t in list(self._open.values())]
        return out

    # -- packets --------------------------------------------------------------------------

    def _request(self, pkt: Packet) -> list[FileTransfer]:
        try:
            op, filename, mode, opts = parse_request(pkt.payload)
        except TftpParseError:
            return []
        if op != OP_RRQ:
            return []  # uploads are not downloads a phone makes
        out: list[FileTransfer] = []
        key = (pkt.src, pkt.sport, pkt.dst)
        t = self._open.get(key)
        if t is not None:
            retrans = t.filename == filename and t.error_code is None and not t.complete
            if retrans:  # RRQ retransmission from the same port: same transfer
                if len(t.request_frames) < MAX_REQUEST_FRAMES:
                    t.request_frames.append(pkt.frame)
                t.add_frame(pkt.frame, pkt.ts)
                self._open.move_to_end(key)
                return out
            out.append(self._close(t))
        while len(self._open) >= self.max_transfers:
            out.append(self._close(next(iter(self._open.values())), evicted=True))
        t = _Transfer(
            client=pkt.src,
            client_port=pkt.sport,
            server=pkt.dst,
            filename=filename,
            mode=mode,
            requested=opts,
            first_ts=pkt.ts,
            last_ts=pkt.ts,
            request_frames=[pkt.frame],
            frames=[pkt.frame],
        )
        self._open[key] = t
        self._port_refs[pkt.sport] = self._port_refs.get(pkt.sport, 0) + 1
        if self.prefilter is not None:
            self.prefilter.add_tftp_port(pkt.sport)
        return out

    def _from_server(self, t: _Transfer, pkt: Packet, op: int) -> list[FileTransfer]:
        p = pkt.payload
        if op not in (OP_DATA, OP_ERROR, OP_OACK) or (op == OP_DATA and len(p) < 4):
            t.bad_packets += 1
            return []
        if t.data_port == 0:
            t.data_port = pkt.sport
        t.replied = True
        t.add_frame(pkt.frame, pkt.ts)
        self._open.move_to_end(t.key)
        if op == OP_DATA:
            if pkt.truncated or pkt.fragment:
                t.damaged += 1  # the block's bytes are not all here: leave it missing
                return []
            self._data(t, (p[2] << 8) | p[3], p[4:])
            return []
        if op == OP_OACK:
            self._oack(t, parse_oack(p))
            return []
        try:
            t.error_code, t.error_message = parse_error(p)
        except TftpParseError:
            t.bad_packets += 1
            return []
        return [self._close(t)]  # RFC 1350 §7: an ERROR terminates the transfer

    def _from_client(self, t: _Transfer, pkt: Packet, op: int) -> list[FileTransfer]:
        p = pkt.payload
        if op == OP_ACK and len(p) >= 4:
            if t.data_port == 0 and pkt.dport != TFTP_PORT:
                t.data_port = pkt.dport  # one-sided capture: the ACK names the server TID
            elif t.data_port and pkt.dport != t.data_port:
                return []
            t.add_frame(pkt.frame, pkt.ts)
            self._open.move_to_end(t.key)
            block = (p[2] << 8) | p[3]
            if block == 0:
                if not t.options and t.requested:
                    t.oack_unseen = True  # ACK 0 answers an OACK the capture lacks
                return []
            absn = t.counter.absolute(block)
            if absn > t.ack_high:
                # lock-step (RFC 1350 §2): ACK n says blocks up to n arrived; count the ones
                # above the highest already acknowledged that the capture does not hold
                lo = max(t.ack_high, t.contig)
                if absn > lo:
                    held = sum(1 for b in t.ooo if lo < b <= absn)
                    t.acked_unseen += absn - lo - held
                t.ack_high = absn
            if t.complete and absn >= (t.final_block or 0):
                return [self._close(t)]  # ACK of the final block ends the exchange
            return []
        if op == OP_ERROR and len(p) >= 4:
            t.add_frame(pkt.frame, pkt.ts)
            try:
                t.error_code, t.error_message = parse_error(p)
            except TftpParseError:
                return []
            t.error_from_client = True
            return [self._close(t)]
        return []

    def _oack(self, t: _Transfer, opts: tuple[tuple[str, str], ...]) -> None:
        t.options = opts
        for name, value in opts:
            v = value.strip()
            if not v.isdigit() or len(v) > 12:
                continue
            n = int(v)
            if name == "blksize" and MIN_BLKSIZE <= n <= MAX_BLKSIZE:
                t.blksize = n
            elif name == "tsize":
                t.tsize = n

    def _data(self, t: _Transfer, block: int, chunk: bytes) -> None:
        t.data_blocks += 1
        if block == 0 and t.counter.high == 0:
            t.bad_packets += 1  # DATA blocks start at 1 (RFC 1350 §6)
            return
        absn = t.counter.absolute(block)
        if absn <= t.contig or absn in t.ooo:
            t.duplicates += 1
            return
        if t.final_block is not None and absn > t.final_block:
            t.bad_packets += 1  # nothing follows the short block
            return
        if len(chunk) > t.blksize and not t.options:
            # blksize negotiated in an OACK the capture lacks: the full block size shows it
            t.blksize = min(len(chunk), MAX_BLKSIZE)
            t.blksize_inferred = True
        if absn <= t.ack_high and t.acked_unseen:  # captured after its ACK (reordering)
            t.acked_unseen -= 1
        t.size += len(chunk)
        if len(chunk) < t.blksize:
            t.final_block = absn
        if absn == t.contig + 1:
            self._store(t, chunk)
            t.contig = absn
            while t.contig + 1 in t.ooo:
                t.contig += 1
                self._store(t, t.ooo.pop(t.contig))
        elif len(t.ooo) < MAX_OOO_BLOCKS:
            t.ooo[absn] = chunk
        else:
            t.ooo_dropped += 1
            t.size -= len(chunk)

    def _store(self, t: _Transfer, chunk: bytes) -> None:
        room = min(MAX_DATA - len(t.buf), MAX_BUFFERED - self._buffered)
        if len(chunk) > room:
            chunk = chunk[: max(0, room)]
            t.capped = True
        t.buf += chunk
        self._buffered += len(chunk)

    # -- results --------------------------------------------------------------------------

    def _close(self, t: _Transfer, evicted: bool = False) -> FileTransfer:
        self._open.pop(t.key, None)
        self._buffered -= len(t.buf)
        refs = self._port_refs.get(t.client_port, 0) - 1
        if refs > 0:
            self._port_refs[t.client_port] = refs
        else:
            self._port_refs.pop(t.client_port, None)
            if self.prefilter is not None:
                self.prefilter.drop_tftp_port(t.client_port)
        status: Literal["complete", "error", "incomplete", "no_response"]
        if t.error_code is not None:
            status = "error"
        elif t.complete:
            status = "complete"
        elif not t.replied and not t.acked_unseen and not t.oack_unseen:
            status = "no_response"
        else:
            status = "incomplete"
        notes: list[str] = []
        if t.duplicates:
            notes.append(f"duplicate blocks {t.duplicates}")
        if len(t.request_frames) > 1:
            notes.append(f"request retransmissions {len(t.request_frames) - 1}")
        if t.counter.wrapped:
            wrap = "0" if t.counter.period == _U16 else "1"
            notes.append(f"block wrap past 65535 (to {wrap})")
        if t.acked_unseen:
            notes.append(f"client acknowledged {t.acked_unseen} blocks never captured")
        if t.oack_unseen:
            notes.append("client acknowledged an OACK never captured")
        if t.error_from_client:
            notes.append("error sent by the client")
        if t.capped:
            notes.append(f"data capped at {len(t.buf)} bytes")
        if t.frames_capped:
            notes.append(f"frame list capped at {MAX_FRAMES}")
        if t.ooo_dropped:
            notes.append(f"out-of-order blocks dropped {t.ooo_dropped}")
        if t.ooo and not t.complete:
            notes.append(f"blocks missing before block {min(t.ooo)}")
        if t.foreign_tid:
            notes.append(f"packets from another TID {t.foreign_tid}")
        if t.damaged:
            notes.append(f"DATA cut short by snap length or fragmentation {t.damaged}")
        if t.blksize_inferred:
            notes.append(f"blksize {t.blksize} inferred from DATA")
        if t.bad_packets:
            notes.append(f"malformed packets {t.bad_packets}")
        if t.requested and not t.options and t.replied:
            notes.append("requested options not acknowledged")
        if t.tsize is not None and t.complete and t.tsize not in (0, t.size):
            notes.append(f"tsize {t.tsize} differs from size {t.size}")
        if t.mode != "octet":
            notes.append(f"mode {t.mode}")
        if evicted:
            notes.append("evicted: too many concurrent transfers")
        data: bytes | None = bytes(t.buf) if t.buf or status == "complete" else None
        return FileTransfer(
            protocol="tftp",
            client=t.client,
            server=t.server,
            server_port=TFTP_PORT,
            filename=t.filename,
            status=status,
            request_frames=tuple(t.request_frames),
            frames=tuple(sorted(t.frames)),
            first_ts=t.first_ts,
            last_ts=t.last_ts,
            data=data,
            size=t.size,
            error_code=t.error_code,
            error_message=t.error_message,
            options=t.options,
            client_port=t.client_port,
            data_port=t.data_port,
            note="; ".join(notes),
            acked_unseen_blocks=t.acked_unseen,
        )


if TYPE_CHECKING:  # structural check against the pipeline's protocol
    _check: Extractor = TftpExtractor()
