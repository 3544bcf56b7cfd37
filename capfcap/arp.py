"""ARP messages (RFC 826) read from Ethernet and Linux SLL/SLL2 frames, and from the
Ethernet frame a GRE/ERSPAN or VXLAN packet carries (`headers.inner_frame`)."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from capfcap.headers import inner_frame
from capfcap.sources.frame import (
    ETH_IPV4,
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    Frame,
)
from capfcap.sources.linklayer import l3_offset

_unpack_arp = struct.Struct("!HHBBH").unpack_from
_ARP_LINKTYPES = (LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2)


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
    ver = 0
    if lt in _ARP_LINKTYPES:
        ver, off = l3_offset(data, 0, len(data), lt)  # on these link types -1 is ARP
        if ver == 0:  # neither IP nor ARP
            return None
    if ver != -1:  # perhaps a tunnel packet, carrying an ARP message in its frame
        i, e = inner_frame(lt, data)
        if i < 0:
            return None
        data = data[i:e]
        ver, off = l3_offset(data, 0, len(data), LINKTYPE_ETHERNET)
    if ver != -1 or off + 28 > len(data):
        return None
    htype, ptype, hlen, plen, op = _unpack_arp(data, off)
    if htype != 1 or ptype != ETH_IPV4 or hlen != 6 or plen != 4 or op not in (1, 2):
        return None
    a = off + 8
    return ArpInfo(frame.number, frame.ts, op, data[a : a + 6].hex(":"),
                   socket.inet_ntoa(data[a + 6 : a + 10]), data[a + 10 : a + 16].hex(":"),
                   socket.inet_ntoa(data[a + 16 : a + 20]))
