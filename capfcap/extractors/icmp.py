"""ICMP (RFC 792) and ICMPv6 (RFC 4443) errors that quote a TCP or UDP packet."""

from __future__ import annotations

from capfcap.decode import TCP, UDP, Packet
from capfcap.events import Event, FlowKey, HostSeen, IcmpError


class IcmpExtractor:
    def feed(self, pkt: Packet) -> list[Event]:
        i = pkt.icmp
        if i is None or i.q_proto not in (TCP, UDP):
            return []
        return [
            IcmpError(
                frame=pkt.frame,
                ts=pkt.ts,
                reporter=pkt.src,
                version=i.version,
                icmp_type=i.type,
                icmp_code=i.code,
                quoted=FlowKey(
                    "tcp" if i.q_proto == TCP else "udp", i.q_src, i.q_sport, i.q_dst, i.q_dport
                ),
            )
        ]

    def expire(self, now: int) -> list[Event]:
        return []

    def finish(self) -> list[Event]:
        return []


class HostExtractor:
    """First source MAC seen for each IP address (link types that carry one)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def feed(self, pkt: Packet) -> list[Event]:
        if not pkt.src_mac or pkt.src in self.seen:
            return []
        self.seen.add(pkt.src)
        return [HostSeen(pkt.src, pkt.src_mac, pkt.frame, pkt.ts, pkt.ttl)]

    def expire(self, now: int) -> list[Event]:
        return []

    def finish(self) -> list[Event]:
        return []

