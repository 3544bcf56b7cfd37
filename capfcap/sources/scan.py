"""Fused reader + prefilter: skip records that cannot matter without building a Frame.

The readers in `files.py` call `Skipper.pcap` / `Skipper.pcapng` before each record. The
skipper walks the records that lie complete in the current chunk buffer and stops at the
first one that may matter, is incomplete, or looks damaged; the reader then handles that
record exactly as before (errors included). A record is skipped only when
`capfcap.decode.decode(frame, prefilter)` would return None for it, so findings and frame
numbers are unchanged; everything doubtful is left to `decode`.

Wire formats read here:
- pcap record header: ts_sec, ts_frac, incl_len, orig_len (4 × u32, file byte order)
  (draft-ietf-opsawg-pcap §5);
- pcapng Enhanced Packet Block: type 6, total length, interface id, ts high, ts low,
  captured length, original length, packet data, options, total length
  (draft-ietf-opsawg-pcapng §4.3);
- Ethernet II: dst(6) src(6) type(2), 802.1Q/802.1ad/QinQ tags TPID(2) TCI(2);
  Linux SLL: protocol type at 14, header 16; SLL2: protocol type at 0, header 20;
- IPv4 (RFC 791): version/IHL, total length at 2, protocol at 9, src 12, dst 16;
  IPv6 (RFC 8200): payload length at 4, next header at 6, src 8, dst 24, header 40;
- TCP/UDP: source port, destination port at the start of the segment.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Protocol

from capfcap.sources.frame import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_RAW,
    LINKTYPE_RAW_ALT,
)

MAX_FRAME = 16 << 20  # same limits as files.py: anything larger goes the slow way
MAX_BLOCK = 32 << 20

_ETH_IPV4 = 0x0800
_ETH_IPV6 = 0x86DD
_ETH_ARP = 0x0806  # RFC 826: kept for the phone's receive direction (DESIGN §4 rule 2)
_VLAN = (0x8100, 0x88A8, 0x9100)
# decode() looks further into these: never skipped here
_V4_PASS = (1, 58)  # ICMP, ICMPv6
_V6_PASS = (0, 43, 44, 60, 1, 58)  # extension headers, fragment, ICMP, ICMPv6

_RAW_TYPES = frozenset((LINKTYPE_RAW, *LINKTYPE_RAW_ALT))
SCANNED_LINKTYPES = frozenset(
    (LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_IPV4,
     LINKTYPE_IPV6, *_RAW_TYPES)
)

_hh = struct.Struct("!HH").unpack_from
# Ethernet type, then an IPv4 header without options and the ports: version/IHL, total
# length, protocol, src, dst (as u32), source port, destination port
_ETH_V4 = "HBxH5xB2xIIHH"
# pcap record header (incl_len, orig_len at 8) + Ethernet type + the fields above, in the file's
# byte order (network-order fields come out byte-swapped from a little-endian file)
_REC_ETH_V4 = {
    little: (struct.Struct(e + "8xII12x" + _ETH_V4).unpack_from,
             struct.Struct(e + _ETH_V4).unpack_from)
    for little, e in ((True, "<"), (False, ">"))
}

# EPB: type, total length, interface, captured length, then from the Ethernet type as above
_EPB_ETH_V4 = {
    little: (struct.Struct(e + "III8xII12x" + _ETH_V4).unpack_from,
             struct.Struct(e + _ETH_V4).unpack_from)
    for little, e in ((True, "<"), (False, ">"))
}
_EPB = {True: struct.Struct("<IIIIIII").unpack_from, False: struct.Struct(">IIIIIII").unpack_from}
_U32X2 = {True: struct.Struct("<II").unpack_from, False: struct.Struct(">II").unpack_from}
_U32 = {True: struct.Struct("<I").unpack_from, False: struct.Struct(">I").unpack_from}
_TS = {True: struct.Struct("<II").unpack_from, False: struct.Struct(">II").unpack_from}


class _Buffer(Protocol):
    buf: bytes
    pos: int


class _Info(Protocol):
    packets: int
    first: int | None
    last: int | None
    cut: int
    first_cut: int


class _Iface(Protocol):
    linktype: int
    frames: int
    mult: int
    div: int
    offset_s: int


def _l3(buf: bytes, s: int, fe: int, lt: int) -> tuple[int, int]:
    """(IP version or 0, offset of the IP header) for a frame buf[s:fe]; version -1 means
    "cannot tell here, do not skip"."""
    if lt == LINKTYPE_ETHERNET:
        if fe - s < 14:
            return 0, 0
        et = (buf[s + 12] << 8) | buf[s + 13]
        o = s + 14
        while et in _VLAN and o + 4 <= fe:  # bounded by the frame length
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
    elif lt in _RAW_TYPES:
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
    if et == _ETH_IPV4:
        return 4, o
    if et == _ETH_IPV6:
        return 6, o
    return (-1 if et == _ETH_ARP else 0), 0


def transport(buf: bytes, lt: int) -> tuple[int, int, int] | None:
    """(IP protocol, source port, destination port) of a plain IPv4/IPv6 TCP or UDP frame,
    or None when it is anything else or this cannot tell (IPv6 extension headers, short
    frames): a quick look for the reader process (parallel.py), which decodes
    the frames this returns None for."""
    fe = len(buf)
    ver, o = _l3(buf, 0, fe, lt) if lt != LINKTYPE_ETHERNET or fe < 14 else _eth_l3(buf, fe)
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
    return proto, sport, dport


def _eth_l3(buf: bytes, fe: int) -> tuple[int, int]:
    et = (buf[12] << 8) | buf[13]
    o = 14
    while et in _VLAN and o + 4 <= fe:
        et = (buf[o + 2] << 8) | buf[o + 3]
        o += 4
    return (4 if et == _ETH_IPV4 else 6 if et == _ETH_IPV6 else 0), o


class PortsAndHosts(Protocol):
    """What the fused reader reads of a prefilter (`decode.Prefilter` keeps these up to
    date as it learns): the wanted ports and IPv4 hosts in both byte orders."""

    @property
    def enabled(self) -> bool: ...
    @property
    def tcp_ports(self) -> frozenset[int]: ...
    @property
    def udp_any(self) -> set[int]: ...
    @property
    def hosts(self) -> set[bytes]: ...
    @property
    def tcp_ports_le(self) -> frozenset[int]: ...
    @property
    def udp_any_le(self) -> set[int]: ...
    @property
    def hosts4_be(self) -> set[int]: ...
    @property
    def hosts4_le(self) -> set[int]: ...


def skippable(buf: bytes, s: int, fe: int, lt: int, pf: PortsAndHosts) -> bool:
    """True when decode(frame buf[s:fe], pf) is certain to return None."""
    if lt == LINKTYPE_ETHERNET and fe - s >= 14:  # the common case, inline
        et = (buf[s + 12] << 8) | buf[s + 13]
        o = s + 14
        while et in _VLAN and o + 4 <= fe:
            et = (buf[o + 2] << 8) | buf[o + 3]
            o += 4
        if et == _ETH_IPV4:
            ver = 4
        elif et == _ETH_IPV6:
            ver = 6
        else:
            return et != _ETH_ARP
    else:
        ver, o = _l3(buf, s, fe, lt)
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
            return proto not in _V4_PASS
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
            return proto not in _V6_PASS
    if l4 + 4 > end:
        return True
    sport, dport = _hh(buf, l4)
    ports = pf.tcp_ports if proto == 6 else pf.udp_any
    if sport in ports or dport in ports:
        return False
    hosts = pf.hosts
    return not (hosts and (buf[a_src : a_src + alen] in hosts
                           or buf[a_dst : a_dst + alen] in hosts))


class Skipper:
    """Advances a reader's buffer over frames the prefilter would drop, counting them."""

    def __init__(self, pf: PortsAndHosts) -> None:
        self.pf = pf
        self.skipped = 0

    def _sets(self, little: bool) -> tuple[frozenset[int], set[int], set[int]]:
        """TCP ports, UDP ports and IPv4 hosts as a struct in the file's byte order reads
        them (kept up to date by the Prefilter as it learns)."""
        pf = self.pf
        if little:
            return pf.tcp_ports_le, pf.udp_any_le, pf.hosts4_le
        return pf.tcp_ports, pf.udp_any, pf.hosts4_be

    def pcap(self, b: _Buffer, info: _Info, number: int, linktype: int, fcs: int,
             endian: str, unit: int) -> int:
        """Skip complete irrelevant pcap records at b.pos; return the new frame count."""
        if linktype not in SCANNED_LINKTYPES or not self.pf.enabled:
            return number
        buf, pos = b.buf, b.pos
        n = len(buf)
        little = endian == "<"
        rec, tag = _REC_ETH_V4[little]
        incl_at = _U32X2[little]
        pf = self.pf
        tcp, udp, hosts = self._sets(little)
        # network-order constants as the file-order struct reads them
        et_vlan, et_v4 = (0x0081, 0x0008) if little else (0x8100, 0x0800)
        t_lo, t_hi = (0x1400, 0x1700) if little else (20, 23)
        # the fused read needs 54 bytes from the record start; Ethernet only
        limit = n - 54 if linktype == LINKTYPE_ETHERNET else -1
        min38, min42 = 38 + fcs, 42 + fcs  # Ethernet + IPv4 + ports (+ a tag) before the FCS
        big = n > MAX_FRAME  # only then can a record complete in the buffer be too large
        first = pos
        last = -1
        count = 0
        cut, first_cut = 0, info.first_cut
        while True:  # each pass advances pos by at least 16
            if pos <= limit:
                # record header + Ethernet + IPv4 + ports in one read (file byte order)
                incl, orig, et, vi, total, proto, src, dst, sport, dport = rec(buf, pos)
                e = pos + 16 + incl
                if e > n or (big and incl > MAX_FRAME):
                    break
                if incl >= min38:
                    if et == et_vlan and incl >= min42:
                        et, vi, total, proto, src, dst, sport, dport = tag(buf, pos + 32)
                    if et == et_v4 and vi == 0x45 and (proto == 17 or proto == 6):
                        # IPv4 total length 20..23: the ports lie beyond the datagram,
                        # decode drops the frame
                        if total > t_hi or total < t_lo or (little and total & 0xFF):
                            ports = udp if proto == 17 else tcp
                            if (sport in ports or dport in ports
                                    or (hosts and (src in hosts or dst in hosts))):
                                break
                        if orig > incl:  # cut short by the snap length
                            cut += 1
                            first_cut = first_cut or number + count + 1
                        last = pos
                        pos = e
                        count += 1
                        continue
                s = pos + 16
                fe = e - fcs if incl >= fcs else e
            else:
                if pos + 16 > n:
                    break
                incl, orig = incl_at(buf, pos + 8)
                s = pos + 16
                e = s + incl
                if incl > MAX_FRAME or e > n:
                    break
                fe = e - fcs if incl >= fcs else e
            if not skippable(buf, s, fe, linktype, pf):
                break
            if orig > incl:
                cut += 1
                first_cut = first_cut or number + count + 1
            last = pos
            pos = e
            count += 1
        if count:
            ts = _TS[little]
            if info.first is None:
                sec, frac = ts(buf, first)
                info.first = sec * 1_000_000_000 + frac * unit
            sec, frac = ts(buf, last)
            info.last = sec * 1_000_000_000 + frac * unit
            info.packets += count
            info.cut += cut
            info.first_cut = first_cut
            self.skipped += count
            b.pos = pos
        return number + count

    def pcapng(self, b: _Buffer, info: _Info, number: int, ifaces: Sequence[_Iface],
               endian: str) -> int:
        """Skip complete irrelevant Enhanced Packet Blocks at b.pos."""
        if not self.pf.enabled or not ifaces:
            return number
        buf, pos = b.buf, b.pos
        n = len(buf)
        little = endian == "<"
        u32 = _U32[little]
        epb = _EPB[little]
        rec, tag = _EPB_ETH_V4[little]
        pf = self.pf
        tcp, udp, hosts = self._sets(little)
        et_vlan, et_v4 = (0x0081, 0x0008) if little else (0x8100, 0x0800)
        t_lo, t_hi = (0x1400, 0x1700) if little else (20, 23)
        first, last = pos, -1  # the first record skipped, if any, is the one at pos
        count = 0
        nif = len(ifaces)
        eth = [ifc.linktype == LINKTYPE_ETHERNET for ifc in ifaces]
        per_if = [0] * nif
        cut, first_cut = 0, info.first_cut
        limit = n - 66  # the fused read needs 66 bytes from the block start
        while True:  # each pass advances pos by at least 32
            if pos <= limit:
                # EPB header + Ethernet + IPv4 + ports in one read (file byte order)
                btype, blen, iid, cap, orig, et, vi, total, proto, src, dst, sport, dport = rec(
                    buf, pos)
            elif pos + 32 <= n:
                btype, blen, iid, _hi, _lo, cap, orig = epb(buf, pos)
                et = 0
            else:
                break
            if (btype != 6 or blen < 32 or blen & 3 or blen > MAX_BLOCK or pos + blen > n
                    or iid >= nif or cap > blen - 32 or u32(buf, pos + blen - 4)[0] != blen):
                break
            s = pos + 28
            if eth[iid] and cap >= 38 and et:
                if et == et_vlan and cap >= 42:
                    et, vi, total, proto, src, dst, sport, dport = tag(buf, s + 16)
                if et == et_v4 and vi == 0x45 and (proto == 17 or proto == 6):
                    # IPv4 total length 20..23: the ports lie beyond the datagram
                    if total > t_hi or total < t_lo or (little and total & 0xFF):
                        ports = udp if proto == 17 else tcp
                        if (sport in ports or dport in ports
                                or (hosts and (src in hosts or dst in hosts))):
                            break
                    if orig > cap:  # cut short by the snap length
                        cut += 1
                        first_cut = first_cut or number + count + 1
                    last = pos
                    pos += blen
                    count += 1
                    per_if[iid] += 1
                    continue
            lt = ifaces[iid].linktype
            if lt not in SCANNED_LINKTYPES:
                break
            if not skippable(buf, s, s + cap, lt, pf):
                break
            if orig > cap:
                cut += 1
                first_cut = first_cut or number + count + 1
            last = pos
            pos += blen
            count += 1
            per_if[iid] += 1
        if count:
            if info.first is None:
                info.first = self._ng_ts(buf, first, ifaces, epb)
            info.last = self._ng_ts(buf, last, ifaces, epb)
            for i, k in enumerate(per_if):
                ifaces[i].frames += k
            info.packets += count
            info.cut += cut
            info.first_cut = first_cut
            self.skipped += count
            b.pos = pos
        return number + count

    @staticmethod
    def _ng_ts(buf: bytes, pos: int, ifaces: Sequence[_Iface],
               epb: object) -> int:
        _t, _l, iid, hi, lo, _c, _o = epb(buf, pos)  # type: ignore[operator]
        ifc = ifaces[iid]
        return int(((hi << 32) | lo) * ifc.mult // ifc.div + ifc.offset_s * 1_000_000_000)
