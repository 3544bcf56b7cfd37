"""Hand-parsed link, IP and transport headers: the hot path.

Only fixed headers are read here (the link and IP headers in `headers.py`; TCP, UDP, ICMP,
ICMPv6 here). A GRE/ERSPAN or VXLAN packet (a remote SPAN) is decoded as the Ethernet
frame it carries, found by `sources.linklayer.tunnel_payload`, under the outer frame's
number. Everything above transport is left to the extractors; ARP is read by `arp.py`,
transport checksums checked by `checksum.py`.
A `Prefilter` decides from ports and addresses whether a frame can matter before any
object is built (DESIGN §7).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from capfcap.headers import ip_header, l3, ntoa
from capfcap.protocol import PHONE_PORTS
from capfcap.sources.frame import LINKTYPE_ETHERNET, Frame
from capfcap.sources.linklayer import IP_GRE, NOT_TUNNEL, VXLAN_PORT, tunnel_payload

TCP = 6
UDP = 17
ICMP = 1
ICMPV6 = 58

# TCP flag bits
FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20

_unpack_hh = struct.Struct("!HH").unpack_from
_unpack_tcp = struct.Struct("!HHIIBBH").unpack_from


@dataclass(frozen=True, slots=True)
class IcmpInfo:
    version: int
    type: int
    code: int
    # quoted packet (ICMP errors only)
    q_proto: int | None = None
    q_src: str = ""
    q_dst: str = ""
    q_sport: int = 0
    q_dport: int = 0


@dataclass(slots=True)
class Packet:
    frame: int
    ts: int  # ns
    src_mac: str  # "" when the link type has none
    ip_version: int
    src: str
    dst: str
    ttl: int
    proto: int  # 6, 17, 1, 58
    sport: int = 0
    dport: int = 0
    flags: int = 0  # TCP flags
    seq: int = 0
    ack: int = 0
    window: int = 0
    payload: bytes = b""
    icmp: IcmpInfo | None = None
    vlan: int | None = None
    fragment: bool = False  # a non-first fragment or a fragmented datagram (payload partial)
    truncated: bool = False  # caplen cut the L4 payload short
    missing: int = 0  # TCP payload bytes the IP header declares beyond caplen (snap length)
    wirelen: int = 0
    linktype: int = 0
    data: bytes = b""  # the frame's raw bytes (kept for evidence export)
    l4: int = 0  # offset of the TCP/UDP header in data
    l4_end: int = 0  # end of the IP payload in data


def swap16(p: int) -> int:
    """A 16-bit field as a little-endian struct reads network-order bytes."""
    return ((p & 0xFF) << 8) | (p >> 8)


class Prefilter:
    """Cheap relevance test on ports and addresses.

    `enabled=False` decodes every IP frame (the slow path used to prove the fast path
    never changes a finding). The learned sets change only through `add_host`,
    `add_tftp_port` and `drop_tftp_port`, which keep the derived sets in step: the UDP
    ports in one set, and each set as the fused reader (`sources/scan.py`) reads the
    fields of a little-endian file.
    """

    def __init__(self, enabled: bool = True, service_ports: Iterable[int] = ()) -> None:
        """`service_ports`: CAPF/TVS ports given on the command line (`--capf-port`,
        `--tvs-port`): passed like the defaults, and a SYN to one spots a phone."""
        self.enabled = enabled
        # TCP ports whose SYN/SYN-ACK shows a phone (learn.py): the defaults and the given
        self.phone_ports: frozenset[int] = PHONE_PORTS | frozenset(service_ports)
        self.tcp_ports: frozenset[int] = frozenset(
            {53, 2443, 2444, 5061, 6970, 6971, 6972} | self.phone_ports)
        self.udp_ports: frozenset[int] = frozenset({53, 69})
        self.tftp_ports: set[int] = set()  # learned client ports of TFTP read requests
        self.udp_any: set[int] = set(self.udp_ports)  # udp_ports | tftp_ports
        # what the fused reader's IPv4 fast path looks up instead: VXLAN too, whose
        # datagrams it hands to `relevance.skippable` to read the frame inside
        self.udp_scan: set[int] = self.udp_any | {VXLAN_PORT}
        self.hosts: set[bytes] = set()  # packed addresses of phones (all their traffic)
        self.host_ips: set[str] = set()  # the same, as decode() writes them
        # derived, for the fused reader: ports byte-swapped; IPv4 hosts as u32 in either order
        self.tcp_ports_le = frozenset(swap16(p) for p in self.tcp_ports)
        self.udp_any_le = {swap16(p) for p in self.udp_any}
        self.udp_scan_le = {swap16(p) for p in self.udp_scan}
        self.hosts4_be: set[int] = set()
        self.hosts4_le: set[int] = set()

    def add_host(self, packed: bytes) -> None:
        if packed in self.hosts:
            return
        self.hosts.add(packed)
        self.host_ips.add(ntoa(packed))
        if len(packed) == 4:
            self.hosts4_be.add(int.from_bytes(packed, "big"))
            self.hosts4_le.add(int.from_bytes(packed, "little"))

    def add_tftp_port(self, port: int) -> None:
        self.tftp_ports.add(port)
        self.udp_any.add(port)
        self.udp_any_le.add(swap16(port))
        self.udp_scan.add(port)
        self.udp_scan_le.add(swap16(port))

    def drop_tftp_port(self, port: int) -> None:
        self.tftp_ports.discard(port)
        if port not in self.udp_ports:
            self.udp_any.discard(port)
            self.udp_any_le.discard(swap16(port))
            if port != VXLAN_PORT:
                self.udp_scan.discard(port)
                self.udp_scan_le.discard(swap16(port))

    def relevant(self, pkt: Packet) -> bool:
        """The same decision as the byte-level check in `decode`, on a decoded packet
        (used when the fast path is off, so both paths analyse the same frames)."""
        if pkt.proto == TCP:
            hit = pkt.sport in self.tcp_ports or pkt.dport in self.tcp_ports
        elif pkt.proto == UDP:
            hit = pkt.sport in self.udp_any or pkt.dport in self.udp_any
        elif pkt.icmp is not None:
            hit = pkt.icmp.q_proto is not None
        else:
            return False
        if not hit and self.hosts:
            hit = pkt.src in self.host_ips or pkt.dst in self.host_ips
        return hit


def ip_packed(ip: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6 if ":" in ip else socket.AF_INET, ip)


def _icmp_quote(data: bytes, off: int, end: int, version: int) -> tuple[int, str, str, int, int]:
    """Quoted IP header + first 8 bytes of L4 inside an ICMP error."""
    h = ip_header(data[:end], off, version)
    if h is None:
        return -1, "", "", 0, 0
    proto, l4, _e, src, dst, _ttl, _frag = h
    sport = dport = 0
    if proto in (TCP, UDP) and l4 + 4 <= end:
        sport, dport = _unpack_hh(data, l4)
    return proto, ntoa(src), ntoa(dst), sport, dport


def decode(frame: Frame, pf: Prefilter | None = None, outer: bool = True) -> Packet | None:
    """Decode a frame, or return None when it is not IP or the prefilter rejects it.

    A tunnel packet (GRE/ERSPAN, VXLAN) is decoded as the frame it carries (`_inner`), or
    None when that frame cannot be read; `outer` False: the frame is such an inner frame,
    and a tunnel inside it is not read (None).

    One function over 60 lines: it runs for every frame, and the TCP and UDP cases stay
    inline (a call per frame costs more than their parsing)."""
    data = frame.data
    ver, off, mac, vlan = l3(frame.linktype, data)
    if ver == 0:
        return None
    h = ip_header(data, off, ver)
    if h is None:
        return None
    proto, l4, end, src_b, dst_b, ttl, frag = h
    sport = dport = 0
    if proto in (TCP, UDP):
        if l4 + 4 > end:
            return None
        sport, dport = _unpack_hh(data, l4)
        if dport == VXLAN_PORT and proto == UDP:
            i, e = tunnel_payload(data, proto, l4, end, frag)
            if i != NOT_TUNNEL:  # VXLAN: its frame, or none that can be read
                return _inner(frame, i, e, pf) if outer else None
        if pf is not None and pf.enabled:
            ports = pf.tcp_ports if proto == TCP else pf.udp_any
            hit = sport in ports or dport in ports
            if not hit and pf.hosts:
                hit = src_b in pf.hosts or dst_b in pf.hosts
            if not hit:
                return None
    elif proto in (ICMP, ICMPV6):
        pass
    elif proto == IP_GRE and (t := tunnel_payload(data, proto, l4, end, frag))[0] != NOT_TUNNEL:
        return _inner(frame, t[0], t[1], pf) if outer else None  # GRE of another kind: IP
    elif pf is not None and pf.enabled:
        return None
    # every field by position: keyword arguments cost more than the rest of the decoding
    pkt = Packet(
        frame.number, frame.ts, mac, ver, ntoa(src_b), ntoa(dst_b), ttl, proto, sport, dport,
        0, 0, 0, 0, b"",  # flags, seq, ack, window, payload
        None, vlan, frag, False, 0,  # icmp, vlan, fragment, truncated, missing
        frame.wirelen, frame.linktype, data, l4, end,
    )
    if proto == TCP:
        if l4 + 20 > end:
            pkt.truncated = True
            return pkt
        _sp, _dp, seq, ack, doff, flags, win = _unpack_tcp(data, l4)
        hl = (doff >> 4) * 4
        pkt.seq, pkt.ack, pkt.flags, pkt.window = seq, ack, flags, win
        pkt.payload = data[l4 + hl : end] if hl >= 20 else b""
        pkt.truncated = frame.wirelen > len(data) and end == len(data)
        if pkt.truncated:
            pkt.missing = _missing(data, off, ver)
    elif proto == UDP:
        if l4 + 8 > end:
            pkt.truncated = True
            return pkt
        ulen = (data[l4 + 4] << 8) | data[l4 + 5]
        uend = min(end, l4 + ulen) if ulen >= 8 else end
        pkt.payload = data[l4 + 8 : uend]
        pkt.truncated = ulen > 8 and l4 + ulen > len(data)
    else:
        if l4 + 4 > end:
            return None
        pkt.icmp = _icmp(data, l4, end, proto)
        if pf is not None and pf.enabled and pkt.icmp.q_proto is None and not (
            src_b in pf.hosts or dst_b in pf.hosts
        ):
            return None
    return pkt


def _inner(frame: Frame, i: int, e: int, pf: Prefilter | None) -> Packet | None:
    """The packet of the Ethernet frame data[i:e] a tunnel packet carries (None when `i` is
    negative: no frame to read): the frame's number and time; its wire length less what
    the capture cut from the outer frame."""
    if i < 0:
        return None
    data = frame.data
    return decode(Frame(frame.number, frame.ts, LINKTYPE_ETHERNET, data[i:e],
                        e - i + max(0, frame.wirelen - len(data)), frame.file_index),
                  pf, False)


def _missing(data: bytes, off: int, ver: int) -> int:
    """TCP payload bytes the IP length (RFC 791 total length / RFC 8200 payload length)
    declares past the captured end: sequence space the sender used but the capture lost."""
    declared = off + ((data[off + 2] << 8 | data[off + 3]) if ver == 4
                      else 40 + (data[off + 4] << 8 | data[off + 5]))
    return max(0, min(declared, off + 65535 + 40) - len(data))


def _icmp(data: bytes, l4: int, end: int, proto: int) -> IcmpInfo:
    """ICMP (RFC 792) / ICMPv6 (RFC 4443) type and code, with the quoted IP header and
    ports of an error message (destination unreachable, time exceeded, ...)."""
    version = 4 if proto == ICMP else 6
    itype, icode = data[l4], data[l4 + 1]
    is_err = (proto == ICMP and itype in (3, 4, 5, 11, 12)) or (
        proto == ICMPV6 and itype in (1, 2, 3, 4)
    )
    if is_err and l4 + 8 < end:
        qp, qs, qd, qsp, qdp = _icmp_quote(data, l4 + 8, end, version)
        if qp >= 0:
            return IcmpInfo(version, itype, icode, qp, qs, qd, qsp, qdp)
    return IcmpInfo(version, itype, icode)


