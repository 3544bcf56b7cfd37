"""Each packet goes only to the extractors that can use its IP protocol: the events must
be those of handing every packet to every extractor, in the same order."""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.inet6 import ICMPv6DestUnreach, IPv6
from scapy.layers.l2 import GRE, Ether

from capfcap.events import Event
from capfcap.pipeline import Analysis, Options
from capfcap.sources.frame import Frame
from capfcap.sources.inputs import InputSet, frames
from tests.conftest import PCAPS

CAPTURES = sorted(p for p in PCAPS.rglob("*") if p.suffix in (".pcap", ".pcapng"))
PHONE = "192.0.2.7"
MAC = "00:00:5e:00:53:ff"


def _events(frs: list[Frame], every: bool) -> list[Event]:
    a = Analysis(Options(fast=False))  # every IP frame, whatever its protocol
    if every:
        a.feeders = {}
        a.other_feeders = tuple(ex.feed for ex in a.extractors)
    out: list[Event] = []
    a.listeners.append(out.extend)
    for fr in frs:
        a.feed(fr)
    a.finish()
    return out


def _crafted() -> list[Frame]:
    """A phone spotted by its TFTP request, then ICMP, ICMPv6 and GRE to and from it."""
    pkts = [
        Ether(src="00:00:5e:00:53:07", dst=MAC) / IP(src=PHONE, dst="203.0.113.69")
        / UDP(sport=40000, dport=69) / b"\x00\x01ITLSEP.tlv\x00octet\x00",
        Ether(src="00:00:5e:00:53:01", dst=MAC) / IP(src="203.0.113.1", dst=PHONE)
        / ICMP(type=3, code=3) / IP(src=PHONE, dst="203.0.113.69")
        / UDP(sport=40000, dport=69),
        Ether(src="00:00:5e:00:53:02", dst=MAC) / IP(src="203.0.113.2", dst=PHONE) / ICMP(type=8),
        Ether(src="00:00:5e:00:53:03", dst=MAC) / IPv6(src="2001:db8::1", dst="2001:db8::7")
        / ICMPv6DestUnreach() / IPv6(src="2001:db8::7", dst="2001:db8::69")
        / UDP(sport=40001, dport=69),
        Ether(src="00:00:5e:00:53:04", dst=MAC) / IP(src="203.0.113.4", dst=PHONE) / GRE() / b"x",
    ]
    return [Frame(i + 1, i * 1000, 1, bytes(p), len(p)) for i, p in enumerate(pkts)]


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: str(p.relative_to(PCAPS)))
def test_same_events_as_feeding_every_extractor(path: Path) -> None:
    frs = list(frames([str(path)], InputSet()))
    assert _events(frs, every=False) == _events(frs, every=True)


def test_same_events_for_icmp_and_other_protocols() -> None:
    frs = _crafted()
    got = _events(frs, every=False)
    assert got == _events(frs, every=True)
    kinds = {type(e).__name__ for e in got}
    assert {"HostSeen", "IcmpError", "FileTransfer"} <= kinds, kinds
    assert sum(type(e).__name__ == "HostSeen" for e in got) == 5  # GRE too


def test_feeders_keep_the_order_of_the_extractors() -> None:
    """Events of one packet are concatenated in extractor order."""
    a = Analysis(Options())
    for feeders in (*a.feeders.values(), a.other_feeders):
        at = [a.extractors.index(f.__self__) for f in feeders]  # type: ignore[attr-defined]
        assert at == sorted(set(at)) and at[0] == 0
