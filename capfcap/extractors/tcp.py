"""TCP connections with Zeek's conn_state/history and Wireshark's tcp.completeness.

conn_state and history follow zeek/zeek scripts/base/protocols/conn/main.zeek (see
PEERS.md §2.1/2.2): upper-case letters for the originator, lower-case for the responder;
a, d, i, q once per direction; s, h, f, r again only for a new sequence number; t, g, c, w
logarithmically (1st, 10th, 100th...). Completeness is Wireshark's additive bitmask:
1 SYN, 2 SYN-ACK, 4 ACK, 8 DATA, 16 FIN, 32 RST.

Payload is reassembled per direction for connections that have a StreamHandler (TLS,
HTTP, DNS over TCP) and handed over in order.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

from capfcap.decode import ACK, FIN, RST, SYN, TCP, Packet
from capfcap.events import Direction, Event, FlowKey, TcpConnection, TcpHole
from capfcap.extractors.base import StreamHandler
from capfcap.extractors.flowtable import either_way
from capfcap.extractors.oldest import Oldest
from capfcap.extractors.tcpstream import Reassembler
from capfcap.protocol import SERVICE_PORTS

_MOD = 1 << 32
INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET = range(7)
IDLE_TIMEOUT = 300_000_000_000  # 5 min of capture time without a packet ends a connection
CLOSED_LINGER = 2_000_000_000  # a closed/reset connection is reported 2 s after its end
# An attempt that is only SYNs (no answer, no other packet) is over once the client has
# stayed silent for three times its last retransmission interval, and at least 10 s:
# SYN retransmissions back off exponentially (RFC 6298 §5.5; Linux doubles from 1 s), so a
# next SYN would have come within twice the last interval. This lets a live run report
# "no SYN-ACK" once the phone has given up, not 5 minutes later.
SYN_ONLY_MIN = 10_000_000_000
SYN_ONLY_FACTOR = 3
MAX_CONNS = 65536

HandlerFactory = Callable[[FlowKey], "StreamHandler | None"]


def _after(a: int, b: int) -> bool:
    """Sequence number a is after b (RFC 1982 serial arithmetic)."""
    return a != b and ((a - b) % _MOD) < _MOD // 2


@dataclass
class _Side:
    state: int = INACTIVE
    pkts: int = 0
    bytes: int = 0
    isn: int | None = None
    max_end: int | None = None  # highest seq+len (+SYN/FIN) sent
    seen_letters: set[str] = field(default_factory=set)
    last_seq: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    acked_unseen: int = 0
    max_ack: int | None = None  # highest acknowledgement number sent
    max_ack_frame: int = 0  # the frame that sent it
    reasm: Reassembler = field(default_factory=Reassembler)


@dataclass
class _Conn:
    key: FlowKey
    first_ts: int
    last_ts: int
    flipped: bool
    orig: _Side = field(default_factory=_Side)
    resp: _Side = field(default_factory=_Side)
    frames: list[int] = field(default_factory=list)
    syn_frames: list[int] = field(default_factory=list)
    synack_frames: list[int] = field(default_factory=list)
    rst_frames: list[int] = field(default_factory=list)
    fin_frames: list[int] = field(default_factory=list)
    rst_from: str | None = None
    rst_ttl: int | None = None  # of the server's first RST
    history: list[str] = field(default_factory=list)
    completeness: int = 0
    retrans: int = 0
    ack_events: int = 0
    handler: StreamHandler | None = None
    ended_ts: int | None = None
    close_ts: int | None = None  # first FIN or RST
    close_from: str | None = None
    syn_ts: list[int] = field(default_factory=list)  # times of the last two SYNs
    seq: int = 0  # creation order (the table's dict order)


def _unacked(sender: _Side, receiver: _Side) -> int:
    """Sequence space of the sender's data the receiver never acknowledged (0 when it
    sent none)."""
    if not sender.bytes or sender.max_end is None:
        return 0
    if receiver.max_ack is None:
        return sender.bytes
    return (sender.max_end - receiver.max_ack) % _MOD if _after(
        sender.max_end, receiver.max_ack) else 0


def _holes(c: _Conn) -> tuple[TcpHole, ...]:
    """The holes skipped in each direction's stream, with the ACK that proves the receiver
    got the bytes: the first one past the hole while later segments waited, else the
    receiver's highest ACK when it lies past the hole's end."""
    out: list[TcpHole] = []
    sides: tuple[tuple[_Side, _Side, Direction], ...] = (
        (c.orig, c.resp, "c2s"), (c.resp, c.orig, "s2c"))
    for sender, receiver, d in sides:
        r = sender.reasm
        for h in r.holes or ():
            ack = h.ack_frame
            if ack is None and r.base is not None and receiver.max_ack is not None:
                end = (r.base + h.offset + h.length) % _MOD
                if not _after(end, receiver.max_ack):
                    ack = receiver.max_ack_frame
            out.append(TcpHole(d, h.offset, h.length, h.before_frame, h.after_frame, ack,
                               h.snap))
    return tuple(out)


def _table_key(c: _Conn) -> tuple[str, int, str, int]:
    """The connection's key in `TcpTracker.conns`: client, client port, server, port."""
    return (c.key.client, c.key.client_port, c.key.server, c.key.server_port)


class TcpTracker:
    def __init__(
        self,
        handler_for: HandlerFactory | None = None,
        want: Callable[[Packet], bool] | None = None,
    ) -> None:
        self.handler_for = handler_for
        self.want = want  # which connections to report (default: all fed)
        self.conns: dict[tuple[str, int, str, int], _Conn] = {}
        # SERVICE_PORTS plus CAPF/TVS ports a config or an option named (the pipeline adds)
        self.service_ports: set[int] = set(SERVICE_PORTS)
        self._oldest: Oldest[tuple[str, int, str, int]] = Oldest()
        # (time after which the connection may be due, entry number, connection): a lower
        # bound per connection, checked again when it comes up (see `expire`)
        self._due: list[tuple[int, int, _Conn]] = []
        self._created = 0
        self._entries = 0

    # -- helpers -----------------------------------------------------------------
    def _letter(self, c: _Conn, side: _Side, is_orig: bool, letter: str, seq: int) -> None:
        ch = letter.upper() if is_orig else letter
        if letter in "adiq":
            if letter in side.seen_letters:
                return
            side.seen_letters.add(letter)
        elif letter in "shfr":
            if side.last_seq.get(letter) == seq:
                return
            side.last_seq[letter] = seq
        elif letter in "tgcw":
            n = side.counts.get(letter, 0) + 1
            side.counts[letter] = n
            if n not in (1, 10, 100, 1000, 10000, 100000):
                return
        c.history.append(ch)

    def _new(self, pkt: Packet) -> _Conn:
        syn_only = pkt.flags & SYN and not pkt.flags & ACK
        synack = pkt.flags & SYN and pkt.flags & ACK
        if syn_only:
            orig_is_src, flipped = True, False
        elif synack:
            orig_is_src, flipped = False, True
        elif pkt.dport in self.service_ports and pkt.sport not in self.service_ports:
            orig_is_src, flipped = True, False
        elif pkt.sport in self.service_ports and pkt.dport not in self.service_ports:
            orig_is_src, flipped = False, True
        else:
            orig_is_src, flipped = True, False
        if orig_is_src:
            key = FlowKey("tcp", pkt.src, pkt.sport, pkt.dst, pkt.dport)
        else:
            key = FlowKey("tcp", pkt.dst, pkt.dport, pkt.src, pkt.sport)
        c = _Conn(key, pkt.ts, pkt.ts, flipped)
        if self.handler_for is not None:
            c.handler = self.handler_for(key)
        return c

    # -- Extractor protocol ------------------------------------------------------------
    def feed(self, pkt: Packet) -> list[Event]:
        if pkt.proto != TCP or pkt.truncated and not pkt.flags:
            return []
        if self.want is not None and not self.want(pkt):
            return []
        out: list[Event] = []
        k, c = either_way(self.conns, pkt)
        fl = pkt.flags
        if c is not None and fl & SYN and not fl & ACK:
            # a new SYN on a finished tuple (port reuse) starts a new connection
            src_is_orig = pkt.src == c.key.client and pkt.sport == c.key.client_port
            side = c.orig if src_is_orig else c.resp
            if c.ended_ts is not None or (
                side.isn is not None and side.isn != pkt.seq and side.state != SYN_SENT
            ):
                out += self._finish(c)
                c = None
        if c is None:
            if len(self.conns) >= MAX_CONNS:
                ok = self._oldest.oldest()
                if ok is not None:
                    out += self._finish(self.conns[ok])
            c = self._new(pkt)
            self._created += 1
            c.seq = self._created
            k = _table_key(c)
            self.conns[k] = c
            self._oldest.created(k, pkt.ts)
            self._update(c, pkt)
            self._schedule(c)
            return out
        self._oldest.touched(k, pkt.ts)  # k: the connection's key, as matched
        last, ended = c.last_ts, c.ended_ts
        self._update(c, pkt)
        if pkt.ts < last or ended is None and c.ended_ts is not None or fl & SYN and not fl & ACK:
            # it may be due sooner: time went backwards, the connection just ended, or a
            # SYN came sooner after the last than that one after its own (a SYN-only
            # connection's wait follows the gap between its last two SYNs)
            self._schedule(c)
        return out

    def _update(self, c: _Conn, pkt: Packet) -> None:
        """One segment's effect on its connection: history letters, states, completeness,
        sequence space and the payload handed to the stream handler. The per-segment path
        (ACK, data) stays in this one function; SYN and FIN/RST go to their helpers."""
        is_orig = pkt.src == c.key.client and pkt.sport == c.key.client_port
        me, peer = (c.orig, c.resp) if is_orig else (c.resp, c.orig)
        fl = pkt.flags
        c.last_ts = pkt.ts
        c.frames.append(pkt.frame)
        me.pkts += 1
        plen = len(pkt.payload)
        # a snap-length cut segment still used its full length of sequence space
        wlen = plen + pkt.missing
        seq = pkt.seq
        # flags -> history, states, completeness
        if fl & SYN and fl & (FIN | RST):
            self._letter(c, me, is_orig, "q", seq)
        if fl & FIN and fl & RST:
            self._letter(c, me, is_orig, "i", seq)
        if fl & SYN:
            self._syn(c, me, is_orig, pkt)
        if fl & ACK and not fl & SYN:
            c.completeness |= 4  # Wireshark: any ACK-bearing segment other than SYN-ACK
            c.ack_events += 1
            if me.max_ack is None or _after(pkt.ack, me.max_ack):
                me.max_ack = pkt.ack
                me.max_ack_frame = pkt.frame
            if peer.reasm.pending:  # segments wait behind a hole: does this ACK cover it?
                peer.reasm.acked(pkt.ack, pkt.frame)
            # ACK of data (or a SYN-ACK) the capture never saw from the peer
            if peer.max_end is None:
                if me.state in (SYN_SENT, ESTABLISHED) and peer.pkts == 0:
                    me.acked_unseen += 1
            elif _after(pkt.ack, peer.max_end):
                me.acked_unseen += 1
            if not fl & RST:
                if me.state in (SYN_SENT, SYN_ACK_SENT):
                    me.state = ESTABLISHED
                elif me.state == INACTIVE:
                    me.state = PARTIAL
                if peer.state == SYN_ACK_SENT:
                    peer.state = ESTABLISHED
            if wlen == 0 and not fl & (FIN | RST):
                self._letter(c, me, is_orig, "a", seq)
        if pkt.window == 0 and not fl & (SYN | RST):
            self._letter(c, me, is_orig, "w", seq)
        if wlen:
            c.completeness |= 8
            end = (seq + wlen) % _MOD
            if me.max_end is not None and not _after(end, me.max_end):
                c.retrans += 1
                self._letter(c, me, is_orig, "t", seq)
            else:
                self._letter(c, me, is_orig, "d", seq)
            me.bytes += wlen
            if c.handler is not None and plen:
                direction: Direction = "c2s" if is_orig else "s2c"
                if pkt.missing:
                    me.reasm.cut((seq + plen) % _MOD)
                for ch in me.reasm.add(seq, pkt.payload, pkt.frame, pkt.ts):
                    if ch.gap:
                        c.handler.gap(direction, ch.frame, ch.ts, ch.gap)
                    c.handler.data(direction, ch.frame, ch.ts, ch.data)
        end = (seq + wlen + (1 if fl & (SYN | FIN) else 0)) % _MOD
        if me.max_end is None or _after(end, me.max_end):
            me.max_end = end
        if fl & (FIN | RST):
            self._fin_rst(c, me, is_orig, pkt)
        if (c.orig.state in (CLOSED, RESET) and c.resp.state in (CLOSED, RESET, INACTIVE)) or (
            c.resp.state in (CLOSED, RESET) and c.orig.state in (CLOSED, RESET, INACTIVE)
        ) or RESET in (c.orig.state, c.resp.state):
            c.ended_ts = pkt.ts

    def _syn(self, c: _Conn, me: _Side, is_orig: bool, pkt: Packet) -> None:
        """A SYN (RFC 9293 §3.5) or SYN-ACK: the side's initial sequence number."""
        seq = pkt.seq
        me.isn = seq
        me.reasm.syn(seq)
        if pkt.flags & ACK:
            self._letter(c, me, is_orig, "h", seq)
            c.synack_frames.append(pkt.frame)
            c.completeness |= 2
            if me.state in (INACTIVE, PARTIAL):
                me.state = SYN_ACK_SENT
        else:
            self._letter(c, me, is_orig, "s", seq)
            c.syn_frames.append(pkt.frame)
            c.syn_ts = [*c.syn_ts[-1:], pkt.ts]
            c.completeness |= 1
            if me.state == INACTIVE:
                me.state = SYN_SENT

    def _fin_rst(self, c: _Conn, me: _Side, is_orig: bool, pkt: Packet) -> None:
        """A FIN or RST: who closed first, and the side's closed or reset state."""
        fl, seq = pkt.flags, pkt.seq
        if c.close_ts is None:
            c.close_ts = pkt.ts
            c.close_from = "client" if is_orig else "server"
        if fl & FIN:
            self._letter(c, me, is_orig, "f", seq)
            c.fin_frames.append(pkt.frame)
            c.completeness |= 16
            me.state = CLOSED
        if fl & RST:
            self._letter(c, me, is_orig, "r", seq)
            c.rst_frames.append(pkt.frame)
            c.completeness |= 32
            if c.rst_from is None:
                c.rst_from = "client" if is_orig else "server"
            if not is_orig and c.rst_ttl is None:
                c.rst_ttl = pkt.ttl
            me.state = RESET

    def _conn_state(self, c: _Conn) -> str:
        o, r = c.orig.state, c.resp.state
        hist = "".join(c.history)
        o_inactive = o in (INACTIVE, PARTIAL)
        r_inactive = r in (INACTIVE, PARTIAL)
        if r == RESET:
            if o in (SYN_SENT, SYN_ACK_SENT) or (o == RESET and c.orig.bytes == 0
                                                 and c.resp.bytes == 0 and not c.synack_frames):
                return "REJ"
            return "RSTRH" if o_inactive else "RSTR"
        if o == RESET:
            if r_inactive:
                import re

                return "RSTOS0" if re.match(r"^\^?S[^HAFGIQ]*R.*", hist) else "OTH"
            return "RSTO"
        if o == CLOSED and r == CLOSED:
            return "SF"
        if o == CLOSED:
            return "SH" if r_inactive else "S2"
        if r == CLOSED:
            return "SHR" if o_inactive else "S3"
        if o == SYN_SENT and r == INACTIVE:
            return "S0"
        if o == ESTABLISHED and r == ESTABLISHED:
            return "S1"
        return "OTH"

    def _finish(self, c: _Conn) -> list[Event]:
        k = _table_key(c)
        if self.conns.pop(k, None) is not None:
            self._oldest.removed(k)
        if c.handler is not None:
            sides: tuple[tuple[_Side, Direction], ...] = ((c.orig, "c2s"), (c.resp, "s2c"))
            for side, d in sides:
                for ch in side.reasm.flush():
                    if ch.gap:
                        c.handler.gap(d, ch.frame, ch.ts, ch.gap)
                    c.handler.data(d, ch.frame, ch.ts, ch.data)
        hist = "".join(c.history)
        gaps = c.orig.reasm.gaps + c.resp.reasm.gaps
        if gaps:
            hist += "G" if c.orig.reasm.gaps else "g"
        ev = TcpConnection(
            key=c.key,
            first_ts=c.first_ts,
            last_ts=c.last_ts,
            frames=tuple(c.frames),
            syn_frames=tuple(c.syn_frames),
            synack_frames=tuple(c.synack_frames),
            rst_frames=tuple(c.rst_frames),
            rst_from=c.rst_from,
            fin_frames=tuple(c.fin_frames),
            conn_state=self._conn_state(c),
            history=("^" if c.flipped else "") + hist,
            completeness=c.completeness,
            orig_pkts=c.orig.pkts,
            resp_pkts=c.resp.pkts,
            orig_bytes=c.orig.bytes,
            resp_bytes=c.resp.bytes,
            retransmissions=c.retrans,
            acked_unseen=c.orig.acked_unseen + c.resp.acked_unseen,
            orig_acked_unseen=c.orig.acked_unseen,
            flipped=c.flipped,
            ack_events=c.ack_events,
            close_ts=c.close_ts,
            close_from=c.close_from,
            rst_ttl=c.rst_ttl,
            resp_unacked=_unacked(c.resp, c.orig),
            holes=_holes(c),
        )
        out: list[Event] = [ev]
        if c.handler is not None:
            out += c.handler.close(ev)
        return out

    def expire(self, now: int) -> list[Event]:
        """Finish, in creation order, every connection that ended CLOSED_LINGER ago, was
        idle IDLE_TIMEOUT, or sent only SYNs and waited its SYN-only time. Only the
        connections whose due time has come are looked at, so a second of capture time
        costs the same with 10 or 100,000 open connections."""
        due = self._due
        ready: dict[int, _Conn] = {}  # by creation order (a connection may come up twice)
        while due and due[0][0] < now:
            _t, _s, c = heapq.heappop(due)
            if not self._open(c):
                continue  # finished already (evicted, port reuse or an earlier entry)
            t = self._due_of(c)
            if t < now:
                ready[c.seq] = c
            else:
                self._schedule(c, t)
        if len(due) > 4 * len(self.conns) + 1024:  # entries of finished connections
            self._due = [e for e in due if self._open(e[2])]
            heapq.heapify(self._due)
        out: list[Event] = []
        for _seq, c in sorted(ready.items()):
            out += self._finish(c)
        return out

    def _open(self, c: _Conn) -> bool:
        """`c` is still in the table (not finished, not replaced by a reused tuple)."""
        return self.conns.get(_table_key(c)) is c

    def _schedule(self, c: _Conn, t: int | None = None) -> None:
        self._entries += 1
        heapq.heappush(self._due, (self._due_of(c) if t is None else t, self._entries, c))

    @staticmethod
    def _due_of(c: _Conn) -> int:
        """The time after which the connection is finished if nothing more arrives."""
        t = c.last_ts + IDLE_TIMEOUT
        if c.ended_ts is not None:
            t = min(t, c.ended_ts + CLOSED_LINGER)
        if not c.resp.pkts and c.orig.pkts == len(c.syn_frames) and c.syn_ts:
            gap = c.syn_ts[-1] - c.syn_ts[0] if len(c.syn_ts) == 2 else 0
            t = min(t, c.last_ts + max(SYN_ONLY_MIN, SYN_ONLY_FACTOR * gap))
        return t

    def finish(self) -> list[Event]:
        self._due = []  # its entries would keep the finished connections alive
        out: list[Event] = []
        for c in sorted(self.conns.values(), key=lambda x: x.frames[0]):
            out += self._finish(c)
        return out
