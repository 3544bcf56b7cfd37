"""DNS over UDP and TCP 53 (RFC 1035 §4; TCP framing §4.2.2, RFC 7766).

A response answers the query with the same client, server, ports, transport, ID and
question (QNAME, QTYPE, QCLASS): RFC 1035 §4.1.2 has the server copy the question, and
RFC 5452 §9.1 has the resolver accept only a response whose question matches its own.
Stub resolvers send A and AAAA in parallel, sometimes under one ID from one port (glibc),
so the ID and 5-tuple alone do not tell which query a response answers. A response whose
question matches no open query answers none of them. Retransmissions of a pending query
(same key and question) join it. A query still pending `timeout` nanoseconds of capture
time after its last transmission is reported unanswered, so live and offline runs agree.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field

from capfcap.decode import TCP, Packet
from capfcap.events import DnsTransaction, Event, FlowKey, TcpConnection
from capfcap.protocol import DNS_PORT

DEFAULT_TIMEOUT = 10_000_000_000
MAX_PENDING = 65536
MAX_POINTERS = 64  # compression pointers followed per name
MAX_RRS = 256


class DnsError(ValueError):
    pass


_header = struct.Struct("!HHHHHH").unpack_from
_rr = struct.Struct("!HHIH").unpack_from  # TYPE, CLASS, TTL, RDLENGTH (RFC 1035 §4.1.3)


def _name(msg: bytes, off: int) -> tuple[str, int, int, int]:
    """Read a possibly compressed name (RFC 1035 §4.1.4): (name, offset after it in place,
    octets of its labels with their length bytes, compression pointers followed)."""
    labels: list[bytes] = []
    end = -1
    jumps = 0
    total = 0
    n = len(msg)
    while True:
        if off >= n:
            raise DnsError("name runs past the message")
        ln = msg[off]
        if ln & 0xC0 == 0xC0:
            if off + 1 >= n:
                raise DnsError("truncated compression pointer")
            if end < 0:
                end = off + 2
            jumps += 1
            if jumps > MAX_POINTERS:
                raise DnsError("compression pointer loop")
            off = ((ln & 0x3F) << 8) | msg[off + 1]
            continue
        if ln & 0xC0:
            raise DnsError(f"unsupported label type 0x{ln:02x}")
        off += 1
        if ln == 0:
            break
        if off + ln > n:
            raise DnsError("label runs past the message")
        total += ln + 1
        if total > 255:
            raise DnsError("name longer than 255 octets")
        labels.append(msg[off : off + ln])
        off += ln
    # the ASCII codec replaces each byte above 0x7F on its own, so decoding the joined
    # labels equals joining the decoded labels
    name = b".".join(labels).decode("ascii", "replace").lower()
    return name, (end if end >= 0 else off), total, jumps


def _skip_name(msg: bytes, off: int, known: tuple[int, int, int] | None) -> int:
    """The offset after the name at `off`, raising DnsError exactly when `_name` would.

    Labels in place are stepped over without decoding. A compression pointer (RFC 1035
    §4.1.4) to `known` = (offset, octets, pointers), a name `_name` has read whole, ends
    the name: the 255-octet limit (§2.3.4) and the pointer limit are checked on the sums.
    Any other name is left to `_name`."""
    start = off
    octets = 0
    n = len(msg)
    while off < n:
        ln = msg[off]
        if ln == 0:
            return off + 1
        if ln < 0x40:
            octets += ln + 1
            off += ln + 1
            if octets > 255:
                break
            continue
        if (
            ln >= 0xC0 and known is not None and off + 1 < n
            and ((ln & 0x3F) << 8 | msg[off + 1]) == known[0]
            and octets + known[1] <= 255 and known[2] < MAX_POINTERS
        ):
            return off + 2
        break
    return _name(msg, start)[1]


Question = tuple[str, int, int]  # QNAME (lower case), QTYPE, QCLASS (RFC 1035 §4.1.2)


def _parse(msg: bytes) -> tuple[int, int, Question, tuple[str, ...], int]:
    """(ID, flags, first question, A/AAAA addresses, ANCOUNT) (RFC 1035 §4.1); a message
    without a question has ("", 0, 0)."""
    if len(msg) < 12:
        raise DnsError("shorter than a DNS header")
    txid, flags, qd, an, _ns, _ar = _header(msg, 0)
    off = 12
    qname, qtype, qclass = "", 0, 0
    known = None  # the question's name, which answers point to
    if qd:
        qname, off, octets, pointers = _name(msg, off)
        known = (12, octets, pointers)
        if off + 4 > len(msg):
            raise DnsError("truncated question")
        qtype = (msg[off] << 8) | msg[off + 1]
        qclass = (msg[off + 2] << 8) | msg[off + 3]
        off += 4
        for _ in range(min(qd - 1, MAX_RRS)):  # skip further questions
            off = _skip_name(msg, off, known) + 4
    addrs: list[str] = []
    if flags & 0x8000:
        for _ in range(min(an, MAX_RRS)):
            try:
                off = _skip_name(msg, off, known)
            except DnsError:
                break
            if off + 10 > len(msg):
                break
            rtype, _cls, _ttl, rdlen = _rr(msg, off)
            off += 10
            if rtype == 1:
                rdata = msg[off : off + rdlen]
                if len(rdata) == 4:
                    addrs.append(socket.inet_ntoa(rdata))
            elif rtype == 28:
                rdata = msg[off : off + rdlen]
                if len(rdata) == 16:
                    addrs.append(socket.inet_ntop(socket.AF_INET6, rdata))
            off += rdlen
    return txid, flags, (qname, qtype, qclass), tuple(addrs), an


MAX_FOREIGN = 8  # answers from another address kept per query


@dataclass(slots=True)
class _Pending:
    frames: list[int] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    foreign: list[tuple[int, str]] = field(default_factory=list)  # (frame, source)


# client, server, client port, server port, transport, ID, question
_Key = tuple[str, str, int, int, str, int, Question]


class DnsExtractor:
    def __init__(self, timeout: int = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self.pending: dict[_Key, _Pending] = {}
        self.errors = 0  # malformed messages (counted, not fatal)
        self.unmatched = 0  # responses that answer no captured query
        # client, client port, transport, ID, question -> the pending query's key: a
        # response from another address than the one asked is named on that query
        self.asked: dict[tuple[str, int, str, int, Question], _Key] = {}

    def feed(self, pkt: Packet) -> list[Event]:
        if pkt.proto == TCP or (pkt.sport != DNS_PORT and pkt.dport != DNS_PORT):
            return []
        if pkt.fragment or not pkt.payload:
            return []
        return self.message(pkt.payload, pkt.src, pkt.dst, pkt.sport, pkt.dport, "udp",
                            pkt.frame, pkt.ts)

    def message(
        self,
        payload: bytes,
        src: str,
        dst: str,
        sport: int,
        dport: int,
        transport: str,
        frame: int,
        ts: int,
    ) -> list[Event]:
        try:
            txid, flags, question, addresses, an = _parse(payload)
        except DnsError:
            self.errors += 1
            return []
        if flags & 0x7800:  # OPCODE other than a standard query
            return []
        if not flags & 0x8000:
            if dport != DNS_PORT:
                return []
            key = (src, dst, sport, dport, transport, txid, question)
            out: list[Event] = []
            p = self.pending.get(key)
            if p is None:
                if len(self.pending) >= MAX_PENDING:
                    oldest = next(iter(self.pending))
                    out += self._emit(oldest, self.pending.pop(oldest))
                p = self.pending[key] = _Pending()
                self.asked[(src, sport, transport, txid, question)] = key
            p.frames.append(frame)
            p.times.append(ts)
            return out
        if sport != DNS_PORT:
            return []
        key = (dst, src, dport, sport, transport, txid, question)
        p = self.pending.pop(key, None)
        if p is None:
            self.unmatched += 1  # no captured query asked this question under this ID
            asked = self.asked.get((dst, dport, transport, txid, question))
            other = self.pending.get(asked) if asked is not None else None
            if other is not None and len(other.foreign) < MAX_FOREIGN:
                other.foreign.append((frame, src))
            return []
        return self._emit(key, p, frame, ts, flags & 0x0F, addresses, an,
                          bool(flags & 0x0200))

    def _emit(self, key: _Key, p: _Pending, frame: int | None = None, ts: int | None = None,
              rcode: int | None = None, addresses: tuple[str, ...] = (),
              answer_count: int = 0, truncated: bool = False) -> list[Event]:
        """A transaction; without a response frame, an unanswered one."""
        client, server, cport, sport, transport, txid, question = key
        qname, qtype, _qclass = question
        ak = (client, cport, transport, txid, question)
        if self.asked.get(ak) == key:
            del self.asked[ak]
        return [
            DnsTransaction(
                client=client,
                server=server,
                client_port=cport,
                server_port=sport,
                transport="tcp" if transport == "tcp" else "udp",
                txid=txid,
                qname=qname,
                qtype=qtype,
                query_frames=tuple(p.frames),
                query_times=tuple(p.times),
                response_frame=frame,
                response_ts=ts,
                rcode=rcode,
                addresses=addresses,
                answer_count=answer_count,
                truncated=truncated,
                foreign_responses=tuple(p.foreign),
            )
        ]

    def expire(self, now: int) -> list[Event]:
        out: list[Event] = []
        for key in [k for k, p in self.pending.items() if now - p.times[-1] > self.timeout]:
            out += self._emit(key, self.pending.pop(key))
        return out

    def finish(self) -> list[Event]:
        out: list[Event] = []
        for key in list(self.pending):
            out += self._emit(key, self.pending.pop(key))
        return out


class DnsTcpHandler:
    """DNS over TCP: each message is preceded by a two-octet length (RFC 1035 §4.2.2)."""

    MAX_BUF = 1 << 17

    def __init__(self, key: FlowKey, dns: DnsExtractor) -> None:
        self.key = key
        self.dns = dns
        self.buf = {"c2s": b"", "s2c": b""}
        self.out: list[Event] = []

    def data(self, direction: str, frame: int, ts: int, data: bytes) -> None:
        b = self.buf[direction] + data
        k = self.key
        if direction == "c2s":
            src, dst, sp, dp = k.client, k.server, k.client_port, k.server_port
        else:
            src, dst, sp, dp = k.server, k.client, k.server_port, k.client_port
        for _ in range(1024):
            if len(b) < 2:
                break
            ln = (b[0] << 8) | b[1]
            if len(b) < 2 + ln:
                break
            self.out += self.dns.message(b[2 : 2 + ln], src, dst, sp, dp, "tcp", frame, ts)
            b = b[2 + ln :]
        self.buf[direction] = b[-self.MAX_BUF :] if len(b) > self.MAX_BUF else b

    def gap(self, direction: str, frame: int, ts: int, missing: int) -> None:
        """A capture hole: ignored (the bytes after it are read on as before)."""

    def close(self, conn: TcpConnection) -> list[Event]:
        out, self.out = self.out, []
        return out
