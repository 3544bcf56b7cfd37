"""Where the network layer starts behind a link header: the one walk of the link headers
that the scanner (`relevance.py`), the decoder (`capfcap.headers.l3`) and the ARP reader
(`capfcap.arp`) share.

Ethernet II with 802.1Q/802.1ad/QinQ tags (IEEE 802.1Q); Linux SLL (protocol type at 14,
header 16) and SLL2 (protocol type at 0, header 20); raw IPv4/IPv6 (the version nibble, or
the link type itself).
"""

from __future__ import annotations

from capfcap.sources.frame import (
    ETH_ARP,
    ETH_IPV4,
    ETH_IPV6,
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    RAW_IP_TYPES,
    VLAN_TAGS,
)

# the link types `l3_offset` reads the network layer behind (the others are never skipped)
SCANNED_LINKTYPES = frozenset(
    (LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_IPV4,
     LINKTYPE_IPV6, *RAW_IP_TYPES)
)
# the link header before any 802.1Q tag, of the link types that have one
LINK_HEADER_LEN = {LINKTYPE_ETHERNET: 14, LINKTYPE_LINUX_SLL: 16, LINKTYPE_LINUX_SLL2: 20}


def l3_offset(buf: bytes, s: int, fe: int, lt: int) -> tuple[int, int]:
    """(IP version 4/6, or 0 when the frame buf[s:fe] is not IP; offset of the IP header in
    buf). Version -1 means "cannot tell here, do not skip": an ARP message (RFC 826), which
    starts at the offset returned, or a link type outside SCANNED_LINKTYPES (offset 0)."""
    if lt == LINKTYPE_ETHERNET:
        if fe - s < 14:
            return 0, 0
        et = (buf[s + 12] << 8) | buf[s + 13]
        o = s + 14
        while et in VLAN_TAGS and o + 4 <= fe:  # bounded by the frame length
            et = (buf[o + 2] << 8) | buf[o + 3]
            o += 4
    elif lt == LINKTYPE_LINUX_SLL:
        if fe - s < 16:
            return 0, 0
        et = (buf[s + 14] << 8) | buf[s + 15]
        o = s + 16
    elif lt == LINKTYPE_LINUX_SLL2:
        if fe - s < 20:
            return 0, 0
        et = (buf[s] << 8) | buf[s + 1]
        o = s + 20
    elif lt in RAW_IP_TYPES:
        if fe - s < 1:
            return 0, 0
        v = buf[s] >> 4
        return (v if v in (4, 6) else 0), s
    elif lt == LINKTYPE_IPV4:
        return 4, s
    elif lt == LINKTYPE_IPV6:
        return 6, s
    else:
        return -1, 0
    if et == ETH_IPV4:
        return 4, o
    if et == ETH_IPV6:
        return 6, o
    return (-1, o) if et == ETH_ARP else (0, 0)
