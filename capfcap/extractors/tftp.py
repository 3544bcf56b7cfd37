"""TFTP read transfers (RFC 1350, options RFC 2347/2348/2349), tracked by transfer ID.

Wire format (RFC 1350 §5, all integers big-endian):
  RRQ/WRQ  | 01/02 | filename | 0 | mode | 0 | [opt | 0 | value | 0]* (RFC 2347)
  DATA     | 03 | block u16 | 0..blksize bytes   (a block shorter than blksize ends the file)
  ACK      | 04 | block u16 |
  ERROR    | 05 | code u16 | message | 0
  OACK     | 06 | [opt | 0 | value | 0]*           (RFC 2347; acknowledged with ACK 0)

The request goes to UDP 69 from the client's port; the server answers from a fresh port (its
transfer ID, RFC 1350 §4) to the client's port. A transfer is keyed by (client ip, client
port, server ip) and holds every server TID seen on it (a server answers each copy of a
retransmitted request from a new TID; when only the client side is captured, the TID is the
destination port of the client's ACKs). The transfer is the TID the client follows: the one
it ACKs (with options, its ACK 0 to one OACK, RFC 2347). Another TID is a duplicate answer:
its packets, the client's ERROR 5 "Unknown transfer ID" to it and its own ERROR never end
the transfer. Block numbers are 16 bit and wrap past 65535 to 0 (or to 1 on some servers);
they are unwrapped to an absolute index.

Capture loss (DESIGN §4 rule 4): RFC 1350 §2 is lock-step, so the client's ACK n says every
block up to n arrived. Blocks it ACKs that the capture lacks are listed once each (with the
ACK that proves them); a transfer the client ACKed to the end is "complete_gaps": complete
for the client, its bytes incomplete here and never parsed.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from typing import TYPE_CHECKING

from capfcap.decode import Packet, Prefilter
from capfcap.events import FileTransfer
from capfcap.extractors.tftptid import (
    MAX_UNSEEN,
    Tid,
    Transfer,
    status_of,
    transfer_notes,
)
from capfcap.extractors.tftpwire import (
    MAX_BLKSIZE,
    MIN_BLKSIZE,
    OP_ACK,
    OP_DATA,
    OP_ERROR,
    OP_OACK,
    OP_RRQ,
    OP_WRQ,
    TftpParseError,
    parse_error,
    parse_oack,
    parse_request,
)
from capfcap.protocol import TFTP_PORT

if TYPE_CHECKING:
    from capfcap.extractors.base import Extractor

UDP = 17


DEFAULT_TIMEOUT_NS = 10_000_000_000
# Open transfers end by age (`timeout_ns` without a packet, the client's patience); the count
# bound only stops a flood. It must exceed every transfer open within that patience, or a
# request is forgotten before its retransmission (a rollout of thousands of phones retrying
# against a silent server opens a thousand transfers a second): the bound of the TCP and UDP
# flow tables.
MAX_TRANSFERS = 65536
MAX_DATA = 16 << 20  # bytes kept per transfer
MAX_BUFFERED = 64 << 20  # bytes kept over all open transfers
MAX_REQUEST_FRAMES = 64
MAX_OOO_BLOCKS = 1024  # out-of-order blocks waiting for a hole to fill
EXPIRE_SCAN_NS = 1_000_000_000



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
        self._open: OrderedDict[tuple[str, int, str], Transfer] = OrderedDict()
        self._port_refs: dict[int, int] = {}
        self._by_client: dict[str, set[tuple[str, int, str]]] = {}  # open keys per client
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
        if t is not None:
            return self._from_server(t, pkt, op)
        if pkt.sport in refs and pkt.dport != TFTP_PORT:
            t = self._open.get((pkt.src, pkt.sport, pkt.dst))
            if t is not None:
                return self._from_client(t, pkt, op)
        return []

    def expire(self, now: int) -> list[FileTransfer]:
        if now - self._last_scan < EXPIRE_SCAN_NS and self._last_scan:
            return []
        self._last_scan = now
        return self._expired(now)

    def _expired(self, now: int) -> list[FileTransfer]:
        """Close the transfers idle for longer than the client's patience (least recent
        first: `_open` is ordered by last activity)."""
        out: list[FileTransfer] = []
        while self._open:
            t = next(iter(self._open.values()))
            if now - t.last_ts <= self.timeout_ns:
                break
            t.moved_on = True
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
        for k in self._by_client.get(pkt.src, ()):
            if self._open[k].filename != filename:
                self._open[k].moved_on = True  # the client went on to another file
        if t is not None:
            done = any(s.complete or s.error_code is not None for s in t.tids.values())
            if t.filename == filename and not done:
                # RRQ retransmission from the same port: same transfer
                if len(t.request_frames) < MAX_REQUEST_FRAMES:
                    t.request_frames.append(pkt.frame)
                t.add_frame(pkt.frame, pkt.ts)
                self._open.move_to_end(key)
                return out
            out.append(self._close(t))
        if len(self._open) >= self.max_transfers:
            out += self._expired(pkt.ts)
        while len(self._open) >= self.max_transfers:
            out.append(self._close(next(iter(self._open.values())), evicted=True))
        t = Transfer(
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
        self._by_client.setdefault(pkt.src, set()).add(key)
        self._port_refs[pkt.sport] = self._port_refs.get(pkt.sport, 0) + 1
        if self.prefilter is not None:
            self.prefilter.add_tftp_port(pkt.sport)
        return out

    def _from_server(self, t: Transfer, pkt: Packet, op: int) -> list[FileTransfer]:
        p = pkt.payload
        if op not in (OP_DATA, OP_ERROR, OP_OACK) or (op == OP_DATA and len(p) < 4):
            s = t.tids.get(pkt.sport)
            if s is not None:
                s.bad_packets += 1
            return []
        s = t.tid(pkt.sport)
        if s is None:
            t.foreign_tid += 1  # RFC 1350 §4: a packet from yet another TID is not ours
            return []
        t.replied = True
        t.add_frame(pkt.frame, pkt.ts)
        self._open.move_to_end(t.key)
        if op == OP_DATA:
            if pkt.truncated or pkt.fragment:
                self._cut(s, (p[2] << 8) | p[3])
                return []
            self._data(s, (p[2] << 8) | p[3], p[4:])
            return []
        if op == OP_OACK:
            s.oacks += 1
            self._oack(s, parse_oack(p))
            return []
        try:
            err = parse_error(p)
        except TftpParseError:
            s.bad_packets += 1
            return []
        if not t.ends_with(s):
            s.server_error = err  # a TID the client does not follow gives up: not ours
            return []
        s.error_code, s.error_message = err
        return [self._close(t)]  # RFC 1350 §7: an ERROR terminates the transfer

    def _from_client(self, t: Transfer, pkt: Packet, op: int) -> list[FileTransfer]:
        p = pkt.payload
        if op not in (OP_ACK, OP_ERROR) or len(p) < 4:
            return []
        # the client's packet names the server TID (one-sided capture: the only sight of it)
        s = t.tid(pkt.dport)
        if s is None:
            t.foreign_tid += 1
            return []
        t.add_frame(pkt.frame, pkt.ts)
        self._open.move_to_end(t.key)
        if op == OP_ERROR:
            try:
                code, msg = parse_error(p)
            except TftpParseError:
                return []
            if code == 5 or not t.ends_with(s):
                # RFC 1350 §4: the client rejects a TID that is not its transfer
                s.rejected += 1
                if t.followed == s.port:
                    t.followed = None
                return []
            s.error_code, s.error_message, s.error_from_client = code, msg, True
            return [self._close(t)]
        block = (p[2] << 8) | p[3]
        s.acks += 1
        if block == 0 and s.counter.high == 0:
            if not s.options and t.requested:
                s.oack_unseen = True  # ACK 0 answers an OACK the capture lacks
            self._follow(t, s)
            return []
        absn = s.counter.absolute(block)
        if absn > s.ack_high:
            self._acked(s, absn, pkt.frame)
        elif absn == s.ack_high:
            s.ack_repeats += 1
        self._follow(t, s)
        if s.final_block is not None and absn >= s.final_block:
            return [self._close(t)]  # ACK of the final block ends the exchange
        return []

    @staticmethod
    def _follow(t: Transfer, s: Tid) -> None:
        """The TID the client ACKs furthest is its transfer (RFC 1350 §4, RFC 2347 ACK 0)."""
        cur = t.tids.get(t.followed) if t.followed is not None else None
        if cur is None or s.ack_high >= cur.ack_high:
            t.followed = s.port

    @staticmethod
    def _acked(s: Tid, absn: int, frame: int) -> None:
        """ACK `absn` (lock-step, RFC 1350 §2: every block up to it arrived): list each
        block above the in-order prefix and the last ACK that the capture does not hold."""
        lo = max(s.ack_high, s.contig)
        for b in range(lo + 1, absn + 1):
            if len(s.unseen) >= MAX_UNSEEN:
                s.unseen_over += absn - b + 1 - sum(1 for x in s.ooo if b <= x <= absn)
                break
            if b not in s.ooo and b not in s.cut:
                s.unseen[b] = frame
        s.ack_high = absn
        s.ack_repeats = 0

    @staticmethod
    def _cut(s: Tid, block: int) -> None:
        """DATA cut short by the snap length or IP fragmentation: the block arrived (it is
        no capture loss) but its bytes are not all here, so it stays missing."""
        s.damaged += 1
        if block == 0 and s.counter.high == 0:
            return
        absn = s.counter.absolute(block)
        if absn > s.contig and absn not in s.ooo and len(s.cut) < MAX_UNSEEN:
            s.cut.add(absn)
            s.unseen.pop(absn, None)

    def _oack(self, s: Tid, opts: tuple[tuple[str, str], ...]) -> None:
        s.options = opts
        for name, value in opts:
            v = value.strip()
            if not v.isdigit() or len(v) > 12:
                continue
            n = int(v)
            if name == "blksize" and MIN_BLKSIZE <= n <= MAX_BLKSIZE:
                s.blksize = n
            elif name == "tsize":
                s.tsize = n

    def _data(self, s: Tid, block: int, chunk: bytes) -> None:
        s.data_blocks += 1
        if block == 0 and s.counter.high == 0:
            s.bad_packets += 1  # DATA blocks start at 1 (RFC 1350 §6)
            return
        absn = s.counter.absolute(block)
        if absn <= s.contig or absn in s.ooo:
            s.duplicates += 1
            return
        if s.final_block is not None and absn > s.final_block:
            s.bad_packets += 1  # nothing follows the short block
            return
        if len(chunk) > s.blksize and not s.options:
            # blksize negotiated in an OACK the capture lacks: the full block size shows it
            s.blksize = min(len(chunk), MAX_BLKSIZE)
            s.blksize_inferred = True
        if s.unseen.pop(absn, None) is None and absn <= s.ack_high and s.unseen_over:
            s.unseen_over -= 1  # captured after its ACK (reordering)
        s.size += len(chunk)
        if len(chunk) < s.blksize:
            s.final_block = absn
        if absn == s.contig + 1:
            self._store(s, chunk)
            s.contig = absn
            while s.contig + 1 in s.ooo:
                s.contig += 1
                self._store(s, s.ooo.pop(s.contig))
        elif len(s.ooo) < MAX_OOO_BLOCKS:
            s.ooo[absn] = chunk
        else:
            s.ooo_dropped += 1
            s.size -= len(chunk)

    def _store(self, s: Tid, chunk: bytes) -> None:
        room = min(MAX_DATA - len(s.buf), MAX_BUFFERED - self._buffered)
        if len(chunk) > room:
            chunk = chunk[: max(0, room)]
            s.capped = True
        s.buf += chunk
        self._buffered += len(chunk)

    # -- results --------------------------------------------------------------------------

    def _close(self, t: Transfer, evicted: bool = False) -> FileTransfer:
        self._open.pop(t.key, None)
        keys = self._by_client.get(t.client)
        if keys is not None:
            keys.discard(t.key)
            if not keys:
                del self._by_client[t.client]
        self._buffered -= sum(len(s.buf) for s in t.tids.values())
        refs = self._port_refs.get(t.client_port, 0) - 1
        if refs > 0:
            self._port_refs[t.client_port] = refs
        else:
            self._port_refs.pop(t.client_port, None)
            if self.prefilter is not None:
                self.prefilter.drop_tftp_port(t.client_port)
        s = t.primary()
        status = status_of(t, s)
        notes = transfer_notes(t, s, status, evicted)
        buf = s.buf if s is not None else b""
        data: bytes | None = bytes(buf) if buf or status == "complete" else None
        gaps = sorted(s.unseen.items()) if s is not None else []
        requests, frames = tuple(t.request_frames), tuple(sorted(t.frames))
        return FileTransfer(
            protocol="tftp",
            client=t.client,
            server=t.server,
            server_port=TFTP_PORT,
            filename=t.filename,
            status=status,
            request_frames=requests,
            frames=frames if frames != requests else requests,  # unanswered: one tuple
            first_ts=t.first_ts,
            last_ts=t.last_ts,
            data=data,
            size=s.size if s is not None else 0,
            error_code=s.error_code if s is not None else None,
            error_message=s.error_message if s is not None else "",
            options=s.options if s is not None else (),
            client_port=t.client_port,
            data_port=s.port if s is not None else 0,
            note=sys.intern("; ".join(notes)),  # the same few texts for most transfers
            acked_unseen_blocks=s.acked_unseen if s is not None else 0,
            acked_cut_blocks=sum(1 for b in s.cut if b <= s.ack_high) if s is not None else 0,
            unseen_blocks=tuple(b for b, _f in gaps),
            unseen_ack_frames=tuple(sorted({f for _b, f in gaps})),
        )


if TYPE_CHECKING:  # structural check against the pipeline's protocol
    _check: Extractor = TftpExtractor()
