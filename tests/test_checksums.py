"""Bad checksums (NIC offload) are counted and reported, never dropped (PEERS §1.3)."""

from __future__ import annotations

from pathlib import Path

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from capfcap.decode import Prefilter, checksum_ok, decode
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
