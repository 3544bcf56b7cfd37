"""Hand-parsed headers against scapy-built frames, and the prefilter contract."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrHopByHop
from scapy.layers.l2 import CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q, Ether

from capfcap.decode import Prefilter, decode
from capfcap.sources.frame import Frame

PHONE, SRV = "192.0.2.50", "203.0.113.7"
MAC = "00:1b:54:aa:bb:cc"


def fr(data: bytes, lt: int = 1, n: int = 1) -> Frame:
    return Frame(n, 1_000_000_000, lt, data, len(data))


def test_ethernet_qinq_tcp() -> None:
    pkt = (Ether(src=MAC) / Dot1AD(vlan=100) / Dot1Q(vlan=20)
           / IP(src=PHONE, dst=SRV) / TCP(sport=40000, dport=3804, flags="S", seq=7))
    p = decode(fr(bytes(pkt)), Prefilter())
    assert p is not None
    assert (p.src, p.dst, p.sport, p.dport, p.flags, p.seq) == (PHONE, SRV, 40000, 3804, 2, 7)
    assert p.vlan == 100 and p.src_mac == MAC


def test_ethernet_padding_is_not_payload() -> None:
    pkt = Ether() / IP(src=PHONE, dst=SRV) / UDP(sport=5000, dport=53) / b"ab"
    raw = bytes(pkt) + b"\0" * 12  # Ethernet minimum-size padding
    p = decode(fr(raw), Prefilter())
    assert p is not None and p.payload == b"ab"


@pytest.mark.parametrize("lt,wrap", [
    (113, lambda x: CookedLinux(pkttype=0, lladdrlen=6, src=b"\x00\x1b\x54\xaa\xbb\xcc\0\0",
                                proto=0x86DD) / x),
    (276, lambda x: CookedLinuxV2(proto=0x86DD, lladdrlen=6,
                                  src=b"\x00\x1b\x54\xaa\xbb\xcc\0\0") / x),
    (101, lambda x: x),
    (229, lambda x: x),
])
def test_cooked_and_raw_ipv6_with_extension_header(lt: int, wrap: object) -> None:
    inner = (IPv6(src="2001:db8::50", dst="2001:db8:1::7") / IPv6ExtHdrHopByHop()
             / TCP(sport=40001, dport=3804, flags="SA"))
    p = decode(fr(bytes(wrap(inner)), lt), Prefilter())  # type: ignore[operator]
    assert p is not None
    assert (p.ip_version, p.src, p.dst, p.dport, p.flags) == (6, "2001:db8::50",
                                                              "2001:db8:1::7", 3804, 0x12)
    if lt in (113, 276):
        assert p.src_mac == MAC


def test_icmp_unreachable_quotes_the_syn() -> None:
    syn = IP(src=PHONE, dst=SRV) / TCP(sport=40002, dport=3804, flags="S")
    pkt = Ether() / IP(src="198.51.100.1", dst=PHONE) / ICMP(type=3, code=13) / bytes(syn)[:28]
    p = decode(fr(bytes(pkt)), Prefilter())
    assert p is not None and p.icmp is not None
    i = p.icmp
    assert (i.type, i.code, i.q_proto, i.q_src, i.q_dst, i.q_sport, i.q_dport) == (
        3, 13, 6, PHONE, SRV, 40002, 3804)


def test_prefilter_drops_noise_and_learns_hosts() -> None:
    rtp = Ether() / IP(src=PHONE, dst=SRV) / UDP(sport=16384, dport=16390) / (b"\x80" * 160)
    pf = Prefilter()
    assert decode(fr(bytes(rtp)), pf) is None
    assert decode(fr(bytes(rtp)), Prefilter(enabled=False)) is not None
    from capfcap.decode import ip_packed

    pf.add_host(ip_packed(PHONE))
    p = decode(fr(bytes(rtp)), pf)
    assert p is not None and pf.relevant(p)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([0, 1, 12, 101, 108, 113, 228, 229, 276, 999]))
def test_decode_never_raises(data: bytes, lt: int) -> None:
    decode(fr(data, lt), Prefilter())
    decode(fr(data, lt), Prefilter(enabled=False))


@pytest.mark.parametrize("l4, want", [
    (UDP(sport=5000, dport=53) / b"ab",
     {"proto": 17, "sport": 5000, "dport": 53, "payload": b"ab", "l4": 38, "l4_end": 48}),
    (TCP(sport=40000, dport=3804, flags="PA", seq=7, ack=9, window=512) / b"xyz",
     {"proto": 6, "sport": 40000, "dport": 3804, "flags": 0x18, "seq": 7, "ack": 9,
      "window": 512, "payload": b"xyz", "l4": 38, "l4_end": 61}),
])
def test_every_packet_field(l4: object, want: dict[str, object]) -> None:
    raw = bytes(Ether(src=MAC, dst="00:00:5e:00:53:01") / Dot1Q(vlan=20)
                / IP(src=PHONE, dst=SRV, ttl=63, flags="DF") / l4)  # type: ignore[operator]
    p = decode(Frame(7, 1_000_000_123, 1, raw, len(raw)), Prefilter())
    assert p is not None
    base = {"frame": 7, "ts": 1_000_000_123, "src_mac": MAC, "ip_version": 4, "src": PHONE,
            "dst": SRV, "ttl": 63, "flags": 0, "seq": 0, "ack": 0, "window": 0, "icmp": None,
            "vlan": 20, "fragment": False, "truncated": False, "missing": 0,
            "wirelen": len(raw), "linktype": 1, "data": raw}
    got = {f.name: getattr(p, f.name) for f in dataclasses.fields(p)}
    assert got == {**base, **want}
