"""ARP messages (RFC 826) read from Ethernet and Linux SLL/SLL2 frames."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from capfcap.sources.frame import (
    ETH_ARP,
    ETH_IPV4,
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    VLAN_TAGS,
    Frame,
)

_unpack_arp = struct.Struct("!HHBBH").unpack_from



@dataclass(frozen=True, slots=True)
class ArpInfo:
    """An Ethernet/IPv4 ARP message (RFC 826): operation, sender and target addresses."""

    frame: int
    ts: int
    op: int  # 1 request, 2 reply
    sender_mac: str
    sender_ip: str
    target_mac: str
    target_ip: str


def arp(frame: Frame) -> ArpInfo | None:
    """The ARP message a frame carries, or None (any other frame, or not Ethernet/IPv4).

    RFC 826 packet: hardware type (1 Ethernet), protocol type (0x0800), hardware length 6,
    protocol length 4, operation, then sender MAC, sender IP, target MAC, target IP."""
    data = frame.data
    lt = frame.linktype
    if lt == LINKTYPE_ETHERNET:
        n = len(data)
        if n < 14:
            return None
        et = (data[12] << 8) | data[13]
        off = 14
        while et in VLAN_TAGS and off + 4 <= n:
            et = (data[off + 2] << 8) | data[off + 3]
            off += 4
    elif lt == LINKTYPE_LINUX_SLL and len(data) >= 16:
        et, off = (data[14] << 8) | data[15], 16
    elif lt == LINKTYPE_LINUX_SLL2 and len(data) >= 20:
        et, off = (data[0] << 8) | data[1], 20
    else:
        return None
    if et != ETH_ARP or off + 28 > len(data):
        return None
    htype, ptype, hlen, plen, op = _unpack_arp(data, off)
    if htype != 1 or ptype != ETH_IPV4 or hlen != 6 or plen != 4 or op not in (1, 2):
        return None
    a = off + 8
    return ArpInfo(frame.number, frame.ts, op, data[a : a + 6].hex(":"),
                   socket.inet_ntoa(data[a + 6 : a + 10]), data[a + 10 : a + 16].hex(":"),
                   socket.inet_ntoa(data[a + 16 : a + 20]))
