"""Bad checksums (NIC offload) are counted and reported, never dropped (PEERS §1.3)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from capfcap.checksum import checksum_ok
from capfcap.decode import TCP, Packet, Prefilter, decode, ip_packed
from capfcap.decode import UDP as UDP_P
from capfcap.pipeline import Options, analyze
from capfcap.sources.frame import Frame
from capfcap.sources.inputs import InputSet, frames
from tests.conftest import REALPEER
from tests.helpers import write_pcap


def test_every_real_frame_has_a_good_checksum() -> None:
    checked = 0
    for name in ("S12_busy.pcap", "S13_ipv6_relay.pcap"):
        for f in frames([str(REALPEER / name)], InputSet()):
            p = decode(f, Prefilter(enabled=False))
            if p is not None and checksum_ok(p) is not None:
                assert checksum_ok(p), f.number
                checked += 1
    assert checked > 10000


def test_bad_checksum_is_detected_and_reported_not_dropped(tmp_path: Path) -> None:
    q = bytes(Ether() / IP(src="192.0.2.7", dst="203.0.113.53") / UDP(sport=4000, dport=53)
              / bytes.fromhex("abcd01000001000000000000036361700000010001"))
    bad = bytearray(q)
    bad[40] ^= 0xFF  # UDP checksum high byte (14 Ethernet + 20 IP + 6)
    p6 = bytes(Ether() / IPv6(src="2001:db8::7", dst="2001:db8::53") / UDP(sport=4001, dport=53)
               / b"\x00\x01")
    for raw, want in ((q, True), (bytes(bad), False), (p6, True)):
        pkt = decode(Frame(1, 0, 1, raw, len(raw)), Prefilter())
        assert pkt is not None and checksum_ok(pkt) is want
    rrq = bytes(Ether() / IP(src="192.0.2.7", dst="203.0.113.69") / UDP(sport=4002, dport=69)
                / b"\x00\x01SEP001122334455.cnf.xml\x00octet\x00")  # makes 192.0.2.7 a phone
    cap = tmp_path / "bad.pcap"
    t0 = 1_700_000_000_000_000_000
    write_pcap(cap, [(t0, rrq), (t0 + 1000, bytes(bad))])
    r, _ = analyze([str(cap)], Options())
    assert any("wrong TCP/UDP checksum" in n and "(first: 2)" in n for n in r.notes)


# --- the sum taken in pieces equals the sum over the pseudo-header and segment bytes ---

def _reference(pkt: Packet) -> bool | None:
    """RFC 793 §3.1 / RFC 768 / RFC 8200 §8.1 literally: the pseudo-header and the padded
    segment as one string of 16-bit words."""
    if pkt.proto not in (TCP, UDP_P) or pkt.fragment or pkt.truncated or not pkt.l4:
        return None
    seg = pkt.data[pkt.l4 : pkt.l4_end]
    if len(seg) < (20 if pkt.proto == TCP else 8) or pkt.wirelen > len(pkt.data):
        return None
    if pkt.proto == UDP_P and pkt.ip_version == 4 and seg[6:8] == b"\0\0":
        return None
    src, dst = ip_packed(pkt.src), ip_packed(pkt.dst)
    if pkt.ip_version == 4:
        pseudo = src + dst + bytes((0, pkt.proto)) + len(seg).to_bytes(2, "big")
    else:
        pseudo = src + dst + len(seg).to_bytes(4, "big") + bytes((0, 0, 0, pkt.proto))
    blob = pseudo + seg + (b"\0" if len(seg) % 2 else b"")
    words = sum(int.from_bytes(blob[i : i + 2], "big") for i in range(0, len(blob), 2))
    while words > 0xFFFF:
        words = (words & 0xFFFF) + (words >> 16)
    return words == 0xFFFF


ADDRS = {4: st.ip_addresses(v=4).map(str), 6: st.ip_addresses(v=6).map(str)}


RARE = st.sampled_from([False] * 7 + [True])


@st.composite
def segments(draw: st.DrawFn) -> Packet:
    ver = draw(st.sampled_from([4, 6]))
    proto = draw(st.sampled_from([TCP, UDP_P, TCP, UDP_P, 1]))
    l4 = draw(st.sampled_from([0, 14, 34, 54, 35]))
    seg = draw(st.binary(min_size=draw(st.sampled_from([0, 8, 20, 20])), max_size=90))
    data = draw(st.binary(min_size=l4, max_size=l4)) + seg + draw(st.binary(max_size=3))
    pkt = Packet(1, 0, "", ver, draw(ADDRS[ver]), draw(ADDRS[ver]), 64, proto, data=data,
                 l4=l4, l4_end=l4 + len(seg) - draw(RARE), wirelen=len(data) + draw(RARE),
                 fragment=draw(RARE), truncated=draw(RARE))
    field = pkt.l4 + (16 if proto == TCP else 6)
    how = draw(st.sampled_from(["as drawn", "right", "right", "zero"]))
    if how != "as drawn" and field + 2 <= pkt.l4_end and proto in (TCP, UDP_P):
        b = bytearray(data)
        b[field : field + 2] = b"\0\0"
        pkt.data = bytes(b)
        if how == "right":  # the value that makes the sum come out right
            total = _reference_sum(pkt)
            b[field : field + 2] = ((0xFFFF - total) % 0xFFFF or 0xFFFF).to_bytes(2, "big")
            pkt.data = bytes(b)
    return pkt


def _reference_sum(pkt: Packet) -> int:
    src, dst = ip_packed(pkt.src), ip_packed(pkt.dst)
    seg = pkt.data[pkt.l4 : pkt.l4_end]
    head = (len(seg).to_bytes(2, "big") if pkt.ip_version == 4 else len(seg).to_bytes(4, "big"))
    blob = src + dst + bytes((0, pkt.proto)) + head + seg + (b"\0" if len(seg) % 2 else b"")
    return int.from_bytes(blob, "big") % 0xFFFF


@pytest.mark.slow
@settings(max_examples=1500)
@given(segments())
def test_checksum_ok_agrees_with_the_word_sum(pkt: Packet) -> None:
    assert checksum_ok(pkt) is _reference(pkt)


def test_ipv4_segment_longer_than_the_pseudo_header_length_is_not_checked(
        tmp_path: Path) -> None:
    # IPv4 total length 0 (a TCP segmentation offload capture): the IP payload is the rest
    # of the frame, 70,020 octets, which the 16-bit pseudo-header length cannot state
    tcp = struct.pack("!HHIIBBHHH", 40000, 3804, 1, 0, 0x50, 0x10, 1000, 0, 0)
    ip = bytes((0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 7, 192, 0, 2, 8))
    big = ip + tcp + bytes(70000)
    pkt = decode(Frame(1, 0, 101, big, len(big)), Prefilter(enabled=False))
    assert pkt is not None and pkt.l4_end - pkt.l4 == 70020
    assert checksum_ok(pkt) is None
    syn = bytearray(big[:40])
    syn[3], syn[33] = 40, 0x02  # total length 40, SYN to CAPF: 192.0.2.7 is a phone
    cap = tmp_path / "big.pcap"
    write_pcap(cap, [(1_000_000_000, bytes(syn)), (2_000_000_000, big)], linktype=101)
    r, _ = analyze([str(cap)], Options())
    assert [p.ip for p in r.phones] == ["192.0.2.7"]
