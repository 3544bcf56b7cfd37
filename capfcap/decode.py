"""Hand-parsed link, IP and transport headers: the hot path.

Only fixed headers are read here (Ethernet II with 802.1Q/802.1ad/QinQ tags, Linux SLL
and SLL2, BSD loopback, raw IPv4/IPv6; IPv4 with options, IPv6 with extension headers;
TCP, UDP, ICMP, ICMPv6). Everything above transport is left to the extractors.
A `Prefilter` decides from ports and addresses whether a frame can matter before any
object is built (DESIGN §7).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from capfcap.protocol import PHONE_PORTS
from capfcap.sources.frame import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    LINKTYPE_RAW_ALT,
    Frame,
)

TCP = 6
UDP = 17
ICMP = 1
ICMPV6 = 58

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_ARP = 0x0806
VLAN_TAGS = (0x8100, 0x88A8, 0x9100)

# TCP ports whose SYN shows a phone (DOMAIN §2): TVS and CAPF defaults (§4.1, §3.1)

# TCP flag bits
FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20

# IPv6 extension headers that carry a next-header byte and a length in 8-octet units
_V6_EXT = (0, 43, 60)
_V6_FRAG = 44

_unpack_hh = struct.Struct("!HH").unpack_from
_unpack_tcp = struct.Struct("!HHIIBBH").unpack_from
_unpack_arp = struct.Struct("!HHBBH").unpack_from


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
        self.hosts: set[bytes] = set()  # packed addresses of phones (all their traffic)
        self.host_ips: set[str] = set()  # the same, as decode() writes them
        # derived, for the fused reader: ports byte-swapped; IPv4 hosts as u32 in either order
        self.tcp_ports_le = frozenset(swap16(p) for p in self.tcp_ports)
        self.udp_any_le = {swap16(p) for p in self.udp_any}
        self.hosts4_be: set[int] = set()
        self.hosts4_le: set[int] = set()

    def add_host(self, packed: bytes) -> None:
        if packed in self.hosts:
            return
        self.hosts.add(packed)
        self.host_ips.add(_ntoa(packed))
        if len(packed) == 4:
            self.hosts4_be.add(int.from_bytes(packed, "big"))
            self.hosts4_le.add(int.from_bytes(packed, "little"))

    def add_tftp_port(self, port: int) -> None:
        self.tftp_ports.add(port)
        self.udp_any.add(port)
        self.udp_any_le.add(swap16(port))

    def drop_tftp_port(self, port: int) -> None:
        self.tftp_ports.discard(port)
        if port not in self.udp_ports:
            self.udp_any.discard(port)
            self.udp_any_le.discard(swap16(port))

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


_ntoa_cache: dict[bytes, str] = {}


def _ntoa(b: bytes) -> str:
    s = _ntoa_cache.get(b)
    if s is None:
        if len(b) == 4:
            s = socket.inet_ntoa(b)
        else:
            s = socket.inet_ntop(socket.AF_INET6, b)
        if len(_ntoa_cache) < 65536:
            _ntoa_cache[b] = s
    return s


def ip_packed(ip: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6 if ":" in ip else socket.AF_INET, ip)


def _l3(linktype: int, data: bytes) -> tuple[int, int, str, int | None]:
    """Return (ethertype-like version 4/6/0, offset of the IP header, source MAC, vlan)."""
    n = len(data)
    if linktype == LINKTYPE_ETHERNET:
        if n < 14:
            return 0, 0, "", None
        et = (data[12] << 8) | data[13]
        off = 14
        vlan = None
        while et in VLAN_TAGS and off + 4 <= n:
            if vlan is None:
                vlan = ((data[off] << 8) | data[off + 1]) & 0x0FFF
            et = (data[off + 2] << 8) | data[off + 3]
            off += 4
        mac = data[6:12].hex(":")
        if et == ETH_IPV4:
            return 4, off, mac, vlan
        if et == ETH_IPV6:
            return 6, off, mac, vlan
        return 0, 0, mac, vlan
    if linktype == LINKTYPE_LINUX_SLL:
        if n < 16:
            return 0, 0, "", None
        alen = min((data[4] << 8) | data[5], 8)
        mac = data[6 : 6 + alen].hex(":") if alen == 6 else ""
        et = (data[14] << 8) | data[15]
        return (4 if et == ETH_IPV4 else 6 if et == ETH_IPV6 else 0), 16, mac, None
    if linktype == LINKTYPE_LINUX_SLL2:
        if n < 20:
            return 0, 0, "", None
        alen = min(data[11], 8)
        mac = data[12 : 12 + alen].hex(":") if alen == 6 else ""
        et = (data[0] << 8) | data[1]
        return (4 if et == ETH_IPV4 else 6 if et == ETH_IPV6 else 0), 20, mac, None
    if linktype == LINKTYPE_RAW or linktype in LINKTYPE_RAW_ALT:
        if n < 1:
            return 0, 0, "", None
        v = data[0] >> 4
        return (v if v in (4, 6) else 0), 0, "", None
    if linktype == LINKTYPE_IPV4:
        return 4, 0, "", None
    if linktype == LINKTYPE_IPV6:
        return 6, 0, "", None
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if n < 4:
            return 0, 0, "", None
        fam = int.from_bytes(data[:4], "big" if linktype == LINKTYPE_LOOP else "little")
        if linktype == LINKTYPE_NULL and fam > 0xFFFF:
            fam = int.from_bytes(data[:4], "big")
        if fam == 2:
            return 4, 4, "", None
        if fam in (10, 24, 28, 30):
            return 6, 4, "", None
        return 0, 0, "", None
    return 0, 0, "", None


SUPPORTED_LINKTYPES = frozenset(
    {
        LINKTYPE_ETHERNET,
        LINKTYPE_LINUX_SLL,
        LINKTYPE_LINUX_SLL2,
        LINKTYPE_RAW,
        LINKTYPE_IPV4,
        LINKTYPE_IPV6,
        LINKTYPE_NULL,
        LINKTYPE_LOOP,
        *LINKTYPE_RAW_ALT,
    }
)


def _ip_header(
    data: bytes, off: int, ver: int
) -> tuple[int, int, int, bytes, bytes, int, bool] | None:
    """(proto, l4 offset, l4 end, src, dst, ttl, fragment) or None."""
    n = len(data)
    if ver == 4:
        if off + 20 > n or data[off] >> 4 != 4:
            return None
        ihl = (data[off] & 0x0F) * 4
        if ihl < 20:
            return None
        total = (data[off + 2] << 8) | data[off + 3]
        end = min(n, off + total) if total >= ihl else n
        frag = ((data[off + 6] << 8) | data[off + 7]) & 0x3FFF  # MF + offset
        return (
            data[off + 9],
            off + ihl,
            end,
            data[off + 12 : off + 16],
            data[off + 16 : off + 20],
            data[off + 8],
            frag != 0,
        )
    if off + 40 > n or data[off] >> 4 != 6:
        return None
    plen = (data[off + 4] << 8) | data[off + 5]
    end = min(n, off + 40 + plen) if plen else n
    nh = data[off + 6]
    src = data[off + 8 : off + 24]
    dst = data[off + 24 : off + 40]
    hop = data[off + 7]
    p = off + 40
    frag = False
    for _ in range(8):  # bounded walk over extension headers
        if nh in _V6_EXT:
            if p + 8 > n:
                return None
            nh, p = data[p], p + (data[p + 1] + 1) * 8
        elif nh == _V6_FRAG:
            if p + 8 > n:
                return None
            frag = True
            nh, p = data[p], p + 8
        else:
            break
    return nh, p, end, src, dst, hop, frag


def _icmp_quote(data: bytes, off: int, end: int, version: int) -> tuple[int, str, str, int, int]:
    """Quoted IP header + first 8 bytes of L4 inside an ICMP error."""
    h = _ip_header(data[:end], off, version)
    if h is None:
        return -1, "", "", 0, 0
    proto, l4, _e, src, dst, _ttl, _frag = h
    sport = dport = 0
    if proto in (TCP, UDP) and l4 + 4 <= end:
        sport, dport = _unpack_hh(data, l4)
    return proto, _ntoa(src), _ntoa(dst), sport, dport


def decode(frame: Frame, pf: Prefilter | None = None) -> Packet | None:
    """Decode a frame, or return None when it is not IP or the prefilter rejects it."""
    data = frame.data
    ver, off, mac, vlan = _l3(frame.linktype, data)
    if ver == 0:
        return None
    h = _ip_header(data, off, ver)
    if h is None:
        return None
    proto, l4, end, src_b, dst_b, ttl, frag = h
    sport = dport = 0
    if proto in (TCP, UDP):
        if l4 + 4 > end:
            return None
        sport, dport = _unpack_hh(data, l4)
        if pf is not None and pf.enabled:
            ports = pf.tcp_ports if proto == TCP else pf.udp_any
            hit = sport in ports or dport in ports
            if not hit and pf.hosts:
                hit = src_b in pf.hosts or dst_b in pf.hosts
            if not hit:
                return None
    elif proto in (ICMP, ICMPV6):
        pass
    elif pf is not None and pf.enabled:
        return None
    # every field by position: keyword arguments cost more than the rest of the decoding
    pkt = Packet(
        frame.number, frame.ts, mac, ver, _ntoa(src_b), _ntoa(dst_b), ttl, proto, sport, dport,
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
            # bytes the IP length (RFC 791 total length / RFC 8200 payload length) declares
            # past the captured end: sequence space the sender used but the capture lost
            declared = off + ((data[off + 2] << 8 | data[off + 3]) if ver == 4
                              else 40 + (data[off + 4] << 8 | data[off + 5]))
            pkt.missing = max(0, min(declared, off + 65535 + 40) - len(data))
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
        itype, icode = data[l4], data[l4 + 1]
        q = None
        is_err = (proto == ICMP and itype in (3, 4, 5, 11, 12)) or (
            proto == ICMPV6 and itype in (1, 2, 3, 4)
        )
        if is_err and l4 + 8 < end:
            qp, qs, qd, qsp, qdp = _icmp_quote(data, l4 + 8, end, 4 if proto == ICMP else 6)
            if qp >= 0:
                q = IcmpInfo(4 if proto == ICMP else 6, itype, icode, qp, qs, qd, qsp, qdp)
        pkt.icmp = q or IcmpInfo(4 if proto == ICMP else 6, itype, icode)
        if pf is not None and pf.enabled and q is None and not (
            src_b in pf.hosts or dst_b in pf.hosts
        ):
            return None
    return pkt


_addr_values: dict[str, int] = {}


def clear_caches() -> None:
    """Forget the address caches (an analysis is over; the next starts empty)."""
    _ntoa_cache.clear()
    _addr_values.clear()


def _addr_value(ip: str) -> int:
    v = _addr_values.get(ip)
    if v is None:
        v = int.from_bytes(ip_packed(ip), "big")
        if len(_addr_values) < 65536:
            _addr_values[ip] = v
    return v


def checksum_ok(pkt: Packet) -> bool | None:
    """Verify the TCP/UDP checksum (RFC 793 §3.1, RFC 768, RFC 8200 §8.1).

    The one's-complement sum of 16-bit words is congruent to the whole byte string read as
    one big-endian integer modulo 0xFFFF, so a correct segment sums to 0 mod 0xFFFF. As
    65536 = 1 (mod 0xFFFF), pieces of even length add up: the pseudo-header (IPv4: source,
    destination, zero, protocol, 16-bit length; IPv6: source, destination, 32-bit length,
    zeros, next header) counts as source + destination + length + protocol, and the
    segment, padded with a zero octet to even length, as its own value.
    None: not checkable (fragment, cut by the snap length, UDP/IPv4 without checksum).
    """
    proto = pkt.proto
    if (proto != TCP and proto != UDP) or pkt.fragment or pkt.truncated or not pkt.l4:
        return None
    data, l4 = pkt.data, pkt.l4
    seg = data[l4 : pkt.l4_end]
    n = len(seg)
    if n < (20 if proto == TCP else 8) or pkt.wirelen > len(data):
        return None
    if proto == UDP and pkt.ip_version == 4 and seg[6] == 0 and seg[7] == 0:
        return None
    if pkt.ip_version == 4 and n > 0xFFFF:
        return None  # more than the 16-bit length of the IPv4 pseudo-header can hold
    value = int.from_bytes(seg, "big")
    if n & 1:
        value <<= 8
    return (_addr_value(pkt.src) + _addr_value(pkt.dst) + n + proto + value) % 0xFFFF == 0


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
