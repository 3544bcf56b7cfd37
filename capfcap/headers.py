"""Link-layer and IP headers read by position (the hot path): where the IP header starts
in a frame of each supported link type, and the IPv4/IPv6 fields the decoder needs.

Ethernet II with 802.1Q/802.1ad/QinQ tags (IEEE 802.1Q), Linux SLL and SLL2, BSD loopback
(DLT_NULL/DLT_LOOP), raw IPv4/IPv6; IPv4 (RFC 791) with options, IPv6 (RFC 8200 §4) with
extension headers.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Hashable
from typing import TypeVar

from capfcap.sources.frame import (
    ETH_IPV4,
    ETH_IPV6,
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    RAW_IP_TYPES,
    VLAN_TAGS,
)

# IPv6 extension headers that carry a next-header byte and a length in 8-octet units
_V6_EXT = (0, 43, 60)
_V6_FRAG = 44


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
    if linktype in RAW_IP_TYPES:
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
        LINKTYPE_IPV4,
        LINKTYPE_IPV6,
        LINKTYPE_NULL,
        LINKTYPE_LOOP,
        *RAW_IP_TYPES,
    }
)


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
