"""Link-layer and IP headers read by position (the hot path): where the IP header starts
in a frame of each supported link type, and the IPv4/IPv6 fields the decoder needs.

Ethernet II with 802.1Q/802.1ad/QinQ tags (IEEE 802.1Q), Linux SLL and SLL2 and raw
IPv4/IPv6 are walked by `capfcap.sources.linklayer`; BSD loopback (DLT_NULL/DLT_LOOP) here;
IPv4 (RFC 791) with options, IPv6 (RFC 8200 §4) with extension headers; the Ethernet
frame inside a GRE/ERSPAN or VXLAN packet (`inner_frame`, over `linklayer.tunnel_payload`).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Hashable
from typing import TypeVar

from capfcap.sources.frame import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    VLAN_TAGS,
)
from capfcap.sources.linklayer import (
    NOT_DECODED,
    NOT_TUNNEL,
    SCANNED_LINKTYPES,
    l3_offset,
    tunnel_payload,
)

# IPv6 extension headers that carry a next-header byte and a length in 8-octet units
_V6_EXT = (0, 43, 60)
_V6_FRAG = 44
_LOOPBACK = frozenset((LINKTYPE_NULL, LINKTYPE_LOOP))  # read by `l3` alone, not `l3_offset`


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(dict[K, V]):
    """`memo[x]` is `fn(x)` for a pure `fn`, computed once per x: a hit is one dict lookup,
    with no Python call. At most `limit` values are kept: a miss on a full memo starts it
    over, so it stays bounded and the keys now in use stay cached (a capture of more
    phones than `limit` does not compute every later address again)."""

    __slots__ = ("fn", "limit")

    def __init__(self, fn: Callable[[K], V], limit: int = 65536) -> None:
        super().__init__()
        self.fn, self.limit = fn, limit

    def __missing__(self, key: K) -> V:
        v = self.fn(key)
        if len(self) >= self.limit:
            self.clear()
        self[key] = v
        return v


def _ntoa(b: bytes) -> str:
    if len(b) == 4:
        return socket.inet_ntoa(b)
    return socket.inet_ntop(socket.AF_INET6, b)


_ntoa_memo: Memo[bytes, str] = Memo(_ntoa)
ntoa = _ntoa_memo.__getitem__  # 4 or 16 packed bytes -> address text


def clear_cache() -> None:
    """Forget the cached address texts (an analysis is over; the next starts empty)."""
    _ntoa_memo.clear()


def l3(linktype: int, data: bytes) -> tuple[int, int, str, int | None]:
    """Return (ethertype-like version 4/6/0, offset of the IP header, source MAC, vlan):
    `l3_offset`'s walk, with BSD loopback, the source MAC and the first 802.1Q VLAN id."""
    n = len(data)
    if linktype == LINKTYPE_ETHERNET:
        ver, off = l3_offset(data, 0, n, linktype)
        if ver > 0:  # the IP header past 14: 802.1Q tags were walked, the first VLAN id
            return ver, off, data[6:12].hex(":"), (
                ((data[14] << 8) | data[15]) & 0x0FFF if off > 14 else None)
        if n < 14:
            return 0, 0, "", None
        vlan = (((data[14] << 8) | data[15]) & 0x0FFF
                if n >= 18 and ((data[12] << 8) | data[13]) in VLAN_TAGS else None)
        return 0, 0, data[6:12].hex(":"), vlan
    if linktype in _LOOPBACK:
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
    ver, off = l3_offset(data, 0, n, linktype)
    if ver <= 0:  # not IP, or ARP, or a link type not read here
        ver = off = 0
    if linktype == LINKTYPE_LINUX_SLL:  # the offset is the header's even when not IP
        if n < 16:
            return 0, 0, "", None
        return ver, 16, data[6:12].hex(":") if data[4] == 0 and data[5] == 6 else "", None
    if linktype == LINKTYPE_LINUX_SLL2:
        if n < 20:
            return 0, 0, "", None
        return ver, 20, data[12:18].hex(":") if data[11] == 6 else "", None
    return ver, off, "", None


# the link types `l3` reads: the scanned ones and BSD loopback
SUPPORTED_LINKTYPES = SCANNED_LINKTYPES | _LOOPBACK


def ip_header(
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
        mf_offset = ((data[off + 6] << 8) | data[off + 7]) & 0x3FFF  # MF + offset
        return (
            data[off + 9],
            off + ihl,
            end,
            data[off + 12 : off + 16],
            data[off + 16 : off + 20],
            data[off + 8],
            mf_offset != 0,
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


def _tunnel_once(linktype: int, data: bytes) -> tuple[int, int]:
    ver, off, _mac, _vlan = l3(linktype, data)
    if ver == 0:
        return NOT_TUNNEL, 0
    h = ip_header(data, off, ver)
    if h is None:
        return NOT_TUNNEL, 0
    proto, l4, end, _src, _dst, _ttl, frag = h
    return tunnel_payload(data, proto, l4, end, frag)


def inner_frame(linktype: int, data: bytes) -> tuple[int, int]:
    """(start, end) in `data` of the Ethernet frame a GRE/ERSPAN or VXLAN packet carries,
    read as `capfcap.decode.decode` reads it; (NOT_TUNNEL, 0) for any other frame;
    (NOT_DECODED, 0) when the tunnel's frame cannot be read, or is itself a tunnel
    (decapsulated once only)."""
    i, e = _tunnel_once(linktype, data)
    if i >= 0 and _tunnel_once(LINKTYPE_ETHERNET, data[i:e])[0] != NOT_TUNNEL:
        return NOT_DECODED, 0
    return i, e
