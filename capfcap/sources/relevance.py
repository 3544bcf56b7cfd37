"""Whether one frame can matter to the analysis, read from its headers alone: the
network layer behind any link type the fused reader scans, and the ports and addresses
the prefilter wants (the same answer `capfcap.decode.decode` gives, or "maybe").

The link headers are walked by `linklayer.l3_offset`; here: IPv4 (RFC 791), IPv6
(RFC 8200), TCP/UDP ports at the start of the segment. A GRE/ERSPAN or VXLAN packet
matters when the Ethernet frame it carries does (`linklayer.tunnel_payload`), or when
that frame cannot be read (the analysis counts it).
"""

from __future__ import annotations

import struct
from typing import Protocol

from capfcap.sources.frame import ETH_ARP, ETH_IPV4, ETH_IPV6, LINKTYPE_ETHERNET, VLAN_TAGS
from capfcap.sources.linklayer import (
    IP_GRE,
    NOT_TUNNEL,
    VXLAN_PORT,
    l3_offset,
    tunnel_payload,
)

# decode() looks further into these: never skipped here
V4_PASS = (1, 58)  # ICMP, ICMPv6
V6_PASS = (0, 43, 44, 60, 1, 58)  # extension headers, fragment, ICMP, ICMPv6

_hh = struct.Struct("!HH").unpack_from


def transport(buf: bytes, lt: int) -> tuple[int, int, int] | None:
    """(IP protocol, source port, destination port) of a plain IPv4/IPv6 TCP or UDP frame,
    or None when it is anything else or this cannot tell (IPv6 extension headers, short
    frames): a quick look for the reader process (parallel.py), which decodes
    the frames this returns None for."""
    fe = len(buf)
    ver, o = l3_offset(buf, 0, fe, lt)
    if ver == 4:
        if o + 20 > fe:
            return None
        l4 = o + (buf[o] & 0x0F) * 4
        proto = buf[o + 9]
    elif ver == 6:
        l4 = o + 40
        proto = buf[o + 6] if l4 <= fe else 0
    else:
        return None
    if (proto != 6 and proto != 17) or l4 + 4 > fe:
        return None
    sport, dport = _hh(buf, l4)
    if dport == VXLAN_PORT and proto == 17:  # perhaps a frame inside: decode it
        return None
    return proto, sport, dport


class PortsAndHosts(Protocol):
    """What the fused reader reads of a prefilter (`decode.Prefilter` keeps these up to
    date as it learns): the wanted ports and IPv4 hosts in both byte orders."""

    enabled: bool
    tcp_ports: frozenset[int]
    udp_any: set[int]
    udp_scan: set[int]
    hosts: set[bytes]
    tcp_ports_le: frozenset[int]
    udp_any_le: set[int]
    udp_scan_le: set[int]
    hosts4_be: set[int]
    hosts4_le: set[int]


def skippable(buf: bytes, s: int, fe: int, lt: int, pf: PortsAndHosts,
              outer: bool = True) -> bool:
    """True when decode(frame buf[s:fe], pf) is certain to return None and the frame is
    not a tunnel packet whose frame cannot be read. `outer` False: buf[s:fe] is the frame
    inside a tunnel packet, where a tunnel is not read but counted (never skipped)."""
    # l3_offset's Ethernet walk, inline: calling it costs 50-60 ns more a record (of ~800)
    if lt == LINKTYPE_ETHERNET and fe - s >= 14:
        et = (buf[s + 12] << 8) | buf[s + 13]
        o = s + 14
        while et in VLAN_TAGS and o + 4 <= fe:
            et = (buf[o + 2] << 8) | buf[o + 3]
            o += 4
        if et == ETH_IPV4:
            ver = 4
        elif et == ETH_IPV6:
            ver = 6
        else:
            return et != ETH_ARP
    else:
        ver, o = l3_offset(buf, s, fe, lt)
        if ver <= 0:
            return ver == 0
    if ver == 4:
        if o + 20 > fe:
            return True
        b0 = buf[o]
        ihl = (b0 & 0x0F) * 4
        if b0 >> 4 != 4 or ihl < 20:
            return True
        total = (buf[o + 2] << 8) | buf[o + 3]
        end = min(fe, o + total) if total >= ihl else fe
        proto = buf[o + 9]
        l4 = o + ihl
        a_src, a_dst = o + 12, o + 16
        alen = 4
        if proto != 6 and proto != 17:
            if proto == IP_GRE:
                frag = ((buf[o + 6] << 8) | buf[o + 7]) & 0x3FFF != 0  # MF, offset
                return _tunnel_skippable(buf, proto, l4, end, frag, pf, outer)
            return proto not in V4_PASS
    else:
        if o + 40 > fe or buf[o] >> 4 != 6:
            return True
        plen = (buf[o + 4] << 8) | buf[o + 5]
        end = min(fe, o + 40 + plen) if plen else fe
        proto = buf[o + 6]
        l4 = o + 40
        a_src, a_dst = o + 8, o + 24
        alen = 16
        if proto != 6 and proto != 17:
            if proto == IP_GRE:  # a fragment header would be next, not GRE
                return _tunnel_skippable(buf, proto, l4, end, False, pf, outer)
            return proto not in V6_PASS
    if l4 + 4 > end:
        return True
    sport, dport = _hh(buf, l4)
    ports = pf.tcp_ports if proto == 6 else pf.udp_any
    if sport in ports or dport in ports:
        return False
    hosts = pf.hosts
    if hosts and (buf[a_src : a_src + alen] in hosts or buf[a_dst : a_dst + alen] in hosts):
        return False
    if dport == VXLAN_PORT and proto == 17:
        frag = ver == 4 and ((buf[o + 6] << 8) | buf[o + 7]) & 0x3FFF != 0
        return _tunnel_skippable(buf, proto, l4, end, frag, pf, outer)
    return True


def _tunnel_skippable(buf: bytes, proto: int, l4: int, end: int, frag: bool,
                      pf: PortsAndHosts, outer: bool) -> bool:
    """`skippable` of a GRE or UDP-to-VXLAN packet: of the frame it carries, if any."""
    i, e = tunnel_payload(buf, proto, l4, end, frag)
    if i == NOT_TUNNEL:
        return True
    if i < 0 or not outer:  # a frame that cannot be read, or a tunnel in the tunnel
        return False
    return skippable(buf, i, e, LINKTYPE_ETHERNET, pf, False)
