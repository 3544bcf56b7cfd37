"""Where the network layer starts behind a link header: the one walk of the link headers
that the scanner (`relevance.py`), the decoder (`capfcap.headers.l3`) and the ARP reader
(`capfcap.arp`) share; and where the Ethernet frame a remote SPAN tunnel carries starts
(`tunnel_payload`), which they all read as if it had been captured by itself.

Ethernet II with 802.1Q/802.1ad/QinQ tags (IEEE 802.1Q); Linux SLL (protocol type at 14,
header 16) and SLL2 (protocol type at 0, header 20); raw IPv4/IPv6 (the version nibble, or
the link type itself).

Tunnels (one level; a tunnel inside the tunnel is not read, and is counted as such):
- GRE (IP protocol 47; RFC 2784 §2, RFC 2890 §2): C(1) R(1) K(1) S(1) s(1) Recur(3)
  Flags(5) Ver(3) | Protocol Type(16), then Checksum(16)+Reserved1(16) when C, Key(32)
  when K, Sequence Number(32) when S, in that order. A receiver discards a packet with any
  of bits 1-5 but K and S set (RFC 2784 §2.3, RFC 2890 §2), here "not decoded". Version 1
  (PPTP's enhanced GRE, RFC 2637) and other protocol types are not mirrored frames.
- GRE protocol type 0x6558, transparent Ethernet bridging: the Ethernet frame follows.
- Cisco ERSPAN (draft-foschiano-erspan-03): protocol type 0x88BE without the S bit is type
  I (no ERSPAN header: the frame follows the GRE header); 0x88BE with S, and 0x22EB, carry
  an ERSPAN header whose 4-bit version (the top of its first octet) gives its form, as
  Wireshark reads it: version 1 (type II), 8 octets Ver(4) VLAN(12) COS(3) En(2) T(1)
  Session ID(10) | Reserved(12) Index(20); version 2 (type III), 12 octets Ver(4) VLAN(12)
  COS(3) BSO(2) T(1) Session ID(10) | Timestamp(32) | SGT(16) P(1) FT(5) Hw ID(6) D(1)
  Gra(2) O(1), followed by an 8-octet platform-specific subheader when O is set. Frame type
  FT 0 is an Ethernet frame (without FCS); others are not decoded.
- VXLAN (RFC 7348 §5): UDP to destination port 4789, then 8 octets Flags(8, I = 0x08)
  Reserved(24) | VNI(24) Reserved(8), then the Ethernet frame (without FCS). Without the I
  flag the datagram is not taken for VXLAN (a TFTP transfer may use port 4789 too).
A fragmented tunnel packet is not reassembled: "not decoded".
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

# IP protocol of GRE; UDP port of VXLAN (RFC 7348 §5, IANA); GRE protocol types read
IP_GRE = 47
IP_UDP = 17
VXLAN_PORT = 4789
GRE_TEB = 0x6558
GRE_ERSPAN = 0x88BE  # type I (no S bit), or type II
GRE_ERSPAN3 = 0x22EB
# what `tunnel_payload` returns as the start when there is no frame to read
NOT_TUNNEL = -1  # not one of the tunnels above
NOT_DECODED = -2  # one of them, but its frame cannot be read (cut short, damaged, ...)
_MIN_FRAME = 14  # an Ethernet header

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


def tunnel_payload(buf: bytes, proto: int, l4: int, end: int, frag: bool) -> tuple[int, int]:
    """(start, end) of the Ethernet frame carried by an IP packet of protocol `proto` whose
    payload is buf[l4:end] (`frag`: the packet is an IP fragment), when it is a GRE (TEB,
    ERSPAN I/II/III) or VXLAN packet (module docstring); (NOT_TUNNEL, 0) when it is none of
    these, (NOT_DECODED, 0) when it is one but its frame cannot be read."""
    if proto == IP_GRE:
        if frag or l4 + 4 > end:
            return NOT_DECODED, 0
        b0 = buf[l4]
        ptype = (buf[l4 + 2] << 8) | buf[l4 + 3]
        if buf[l4 + 1] & 0x07 or (ptype != GRE_TEB and ptype != GRE_ERSPAN
                                  and ptype != GRE_ERSPAN3):
            return NOT_TUNNEL, 0
        if b0 & 0x4C:  # R, s or the first Recur bit: RFC 1701 routing, not read
            return NOT_DECODED, 0
        o = l4 + 4 + (4 if b0 & 0x80 else 0) + (4 if b0 & 0x20 else 0)
        if b0 & 0x10:
            o += 4
        if ptype != GRE_TEB and (ptype == GRE_ERSPAN3 or b0 & 0x10):
            if o + 8 > end:
                return NOT_DECODED, 0
            version = buf[o] >> 4
            if version == 1:
                o += 8
            elif version == 2 and o + 12 <= end and not (buf[o + 10] & 0x7C):  # FT 0
                o += 20 if buf[o + 11] & 0x01 else 12
            else:
                return NOT_DECODED, 0
    elif proto == IP_UDP:
        if l4 + 8 > end or ((buf[l4 + 2] << 8) | buf[l4 + 3]) != VXLAN_PORT:
            return NOT_TUNNEL, 0
        ulen = (buf[l4 + 4] << 8) | buf[l4 + 5]
        if ulen >= 8:
            end = min(end, l4 + ulen)
        if l4 + 16 > end or not buf[l4 + 8] & 0x08:
            return NOT_TUNNEL, 0
        if frag:
            return NOT_DECODED, 0
        o = l4 + 16
    else:
        return NOT_TUNNEL, 0
    if o + _MIN_FRAME > end:
        return NOT_DECODED, 0
    return o, end
