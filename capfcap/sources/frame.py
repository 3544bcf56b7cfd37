"""The unit every source yields."""

from __future__ import annotations

from dataclasses import dataclass

# Link types (https://www.tcpdump.org/linktypes.html)
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276
# DLT_RAW on some BSDs is 12 or 14 in the file header
LINKTYPE_RAW_ALT = (12, 14)
RAW_IP_TYPES = frozenset((LINKTYPE_RAW, *LINKTYPE_RAW_ALT))  # a bare IPv4/IPv6 packet

# EtherTypes (IEEE 802 numbers): IPv4, IPv6, ARP (RFC 826: kept for the phone's receive
# direction, DESIGN §4 rule 2), and the 802.1Q / 802.1ad / legacy QinQ tags
ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_ARP = 0x0806
VLAN_TAGS = (0x8100, 0x88A8, 0x9100)

LINKTYPE_NAMES = {
    LINKTYPE_NULL: "BSD loopback",
    LINKTYPE_ETHERNET: "Ethernet",
    LINKTYPE_RAW: "Raw IP",
    12: "Raw IP",
    14: "Raw IP",
    LINKTYPE_LOOP: "OpenBSD loopback",
    LINKTYPE_LINUX_SLL: "Linux cooked (SLL)",
    LINKTYPE_IPV4: "Raw IPv4",
    LINKTYPE_IPV6: "Raw IPv6",
    LINKTYPE_LINUX_SLL2: "Linux cooked v2 (SLL2)",
}


@dataclass(slots=True)
class Frame:
    number: int  # 1-based, as Wireshark numbers it
    ts: int  # nanoseconds since the epoch
    linktype: int
    data: bytes  # captured bytes (caplen)
    wirelen: int  # original length on the wire
    file_index: int = 0
    comment: str = ""
