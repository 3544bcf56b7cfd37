"""ARP replies (RFC 826) as proof that the capture holds the direction towards a host.

A reply is sent to one MAC (the requester's, in the target hardware address): a capture
that holds it shows frames travelling towards that host, even when every IP packet to it
is missing (a silent server). Broadcast requests prove nothing of the kind: a VLAN SPAN
sees them whatever the phone's port mirrors.
"""

from __future__ import annotations

from capfcap.arp import ArpInfo
from capfcap.events import Event, LinkReached

ARP_REPLY = 2
MAX_MACS = 65536  # distinct MACs remembered (one event each)


class ArpExtractor:
    def __init__(self) -> None:
        self.reached: set[str] = set()

    def feed_arp(self, a: ArpInfo) -> list[Event]:
        mac = a.target_mac
        if a.op != ARP_REPLY or mac in self.reached or len(self.reached) >= MAX_MACS:
            return []
        if mac in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
            return []
        self.reached.add(mac)
        return [LinkReached(mac, a.frame, a.ts, a.sender_ip)]
