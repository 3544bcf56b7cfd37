"""TCP and UDP checksums over the IPv4/IPv6 pseudo-header (RFC 793 §3.1, RFC 768,
RFC 8200 §8.1)."""

from __future__ import annotations

from capfcap.decode import TCP, UDP, Packet, ip_packed
from capfcap.headers import Memo

_addr_values: Memo[str, int] = Memo(lambda ip: int.from_bytes(ip_packed(ip), "big"))
_addr_value = _addr_values.__getitem__  # address text -> its packed bytes as one integer


def clear_cache() -> None:
    """Forget the cached address values (an analysis is over; the next starts empty)."""
    _addr_values.clear()


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
