"""Fused reader + prefilter: skip records that cannot matter without building a Frame.

The readers (`files.py`, `pcapng.py`) call `Skipper.pcap` / `Skipper.pcapng` before each record. The
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
- TCP/UDP: source port, destination port at the start of the segment;
- GRE (IP protocol 47) and UDP to the VXLAN port 4789 are left to `skippable`, which reads
  the Ethernet frame they carry (`linklayer.tunnel_payload`).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Protocol

from capfcap.sources.fileinfo import MAX_BLOCK, MAX_FRAME
from capfcap.sources.frame import LINKTYPE_ETHERNET
from capfcap.sources.linklayer import SCANNED_LINKTYPES, VXLAN_PORT
from capfcap.sources.relevance import PortsAndHosts, skippable

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


class Skipper:
    """Advances a reader's buffer over frames the prefilter would drop, counting them."""

    def __init__(self, pf: PortsAndHosts) -> None:
        self.pf = pf
        self.skipped = 0

    def _wanted(self, little: bool) -> tuple[frozenset[int], set[int], set[int], int, int,
                                             int, int, int]:
        """What the IPv4 fast path compares, as a struct in the file's byte order reads it:
        TCP ports, UDP ports with VXLAN's and IPv4 hosts (kept up to date by the Prefilter
        as it learns); the 802.1Q and IPv4 Ethernet types; IPv4 total lengths 20 and 23;
        the VXLAN port."""
        pf = self.pf
        if little:
            return (pf.tcp_ports_le, pf.udp_scan_le, pf.hosts4_le, 0x0081, 0x0008, 0x1400,
                    0x1700, ((VXLAN_PORT & 0xFF) << 8) | (VXLAN_PORT >> 8))
        return pf.tcp_ports, pf.udp_scan, pf.hosts4_be, 0x8100, 0x0800, 20, 23, VXLAN_PORT

    def pcap(self, b: _Buffer, info: _Info, number: int, linktype: int, fcs: int,
             endian: str, unit: int) -> int:
        """Skip complete irrelevant pcap records at b.pos; return the new frame count."""
        if linktype not in SCANNED_LINKTYPES or not self.pf.enabled:
            return number
        little = endian == "<"
        first, last, count = self._walk(b, info, number, little, None, (linktype,), fcs)
        if count:  # the record header starts with ts_sec, ts_frac
            ts = _TS[little]
            if info.first is None:
                sec, frac = ts(b.buf, first)
                info.first = sec * 1_000_000_000 + frac * unit
            sec, frac = ts(b.buf, last)
            info.last = sec * 1_000_000_000 + frac * unit
        return number + count

    def pcapng(self, b: _Buffer, info: _Info, number: int, ifaces: Sequence[_Iface],
               endian: str) -> int:
        """Skip complete irrelevant Enhanced Packet Blocks at b.pos; return the new frame
        count."""
        if not self.pf.enabled or not ifaces:
            return number
        little = endian == "<"
        per_if = [0] * len(ifaces)
        buf = b.buf
        first, last, count = self._walk(b, info, number, little, per_if,
                                        tuple(ifc.linktype for ifc in ifaces), 0)
        if count:
            for i, k in enumerate(per_if):
                ifaces[i].frames += k
            epb = _EPB[little]
            if info.first is None:
                info.first = self._ng_ts(buf, first, ifaces, epb)
            info.last = self._ng_ts(buf, last, ifaces, epb)
        return number + count

    def _walk(self, b: _Buffer, info: _Info, number: int, little: bool,
              per_if: list[int] | None, linktypes: tuple[int, ...], fcs: int
              ) -> tuple[int, int, int]:
        """Walk the complete records at b.pos (pcap records, or with `per_if` the EPBs of
        interfaces `linktypes`, counted per interface into it), stop at the first that may
        matter, is incomplete or looks damaged, and account for the skipped ones; return
        (position of the first skipped, of the last skipped, how many). One loop for both
        formats with the relevance test inlined, on purpose: it runs per record over
        gigabytes, where a call per record would cost more than the test itself."""
        buf, pos = b.buf, b.pos
        n = len(buf)
        ng = per_if is not None
        counts = per_if if per_if is not None else []
        eth = [lt == LINKTYPE_ETHERNET for lt in linktypes]
        if ng:
            rec, tag = _EPB_ETH_V4[little]
            u32, epb = _U32[little], _EPB[little]
            head, limit = 28, n - 66  # the fused read needs 66 bytes from the block start
        else:
            rec, tag = _REC_ETH_V4[little]
            incl_at = _U32X2[little]
            # the fused read needs 54 bytes from the record start; Ethernet only
            head, limit = 16, n - 54 if eth[0] else -1
        pf = self.pf
        tcp, udp, hosts, et_vlan, et_v4, t_lo, t_hi, vxlan = self._wanted(little)
        min38, min42 = 38 + fcs, 42 + fcs  # Ethernet + IPv4 + ports (+ a tag) before the FCS
        big = n > MAX_FRAME  # only then can a record complete in the buffer be too large
        first, last = pos, -1  # the first record skipped, if any, is the one at pos
        count = iid = 0
        cut, first_cut = 0, info.first_cut
        while True:  # each pass advances pos by at least 16
            et = 0
            if ng:
                if pos <= limit:
                    # EPB header + Ethernet + IPv4 + ports in one read (file byte order)
                    btype, blen, iid, incl, orig, et, vi, total, proto, src, dst, sport, \
                        dport = rec(buf, pos)
                elif pos + 32 <= n:
                    btype, blen, iid, _hi, _lo, incl, orig = epb(buf, pos)
                else:
                    break
                if (btype != 6 or blen < 32 or blen & 3 or blen > MAX_BLOCK
                        or pos + blen > n or iid >= len(linktypes) or incl > blen - 32
                        or u32(buf, pos + blen - 4)[0] != blen):
                    break
                e = pos + blen
            elif pos <= limit:
                # record header + Ethernet + IPv4 + ports in one read (file byte order)
                incl, orig, et, vi, total, proto, src, dst, sport, dport = rec(buf, pos)
                e = pos + 16 + incl
                if e > n or (big and incl > MAX_FRAME):
                    break
            else:
                if pos + 16 > n:
                    break
                incl, orig = incl_at(buf, pos + 8)
                e = pos + 16 + incl
                if incl > MAX_FRAME or e > n:
                    break
            s = pos + head
            if et and eth[iid] and incl >= min38:
                if et == et_vlan and incl >= min42:
                    et, vi, total, proto, src, dst, sport, dport = tag(buf, s + 16)
                if et == et_v4 and vi == 0x45 and (proto == 17 or proto == 6):
                    # IPv4 total length 20..23: the ports lie beyond the datagram, decode
                    # drops the frame
                    if total > t_hi or total < t_lo or (little and total & 0xFF):
                        ports = udp if proto == 17 else tcp
                        if (sport in ports or dport in ports
                                or (hosts and (src in hosts or dst in hosts))):
                            if dport != vxlan or proto != 17:
                                break
                            et = 0  # perhaps VXLAN: `skippable` reads the frame inside
                else:
                    et = 0
            else:
                et = 0
            if not et:  # not decided by the IPv4 fast path
                lt = linktypes[iid]
                if lt not in SCANNED_LINKTYPES:
                    break
                fe = s + incl - fcs if incl >= fcs else s + incl
                if not skippable(buf, s, fe, lt, pf):
                    break
            if orig > incl:  # cut short by the snap length
                cut += 1
                first_cut = first_cut or number + count + 1
            last = pos
            pos = e
            count += 1
            if ng:
                counts[iid] += 1
        if count:
            info.packets += count
            info.cut += cut
            info.first_cut = first_cut
            self.skipped += count
            b.pos = pos
        return first, last, count

    @staticmethod
    def _ng_ts(buf: bytes, pos: int, ifaces: Sequence[_Iface],
               epb: object) -> int:
        _t, _l, iid, hi, lo, _c, _o = epb(buf, pos)  # type: ignore[operator]
        ifc = ifaces[iid]
        return int(((hi << 32) | lo) * ifc.mult // ifc.div + ifc.offset_s * 1_000_000_000)
