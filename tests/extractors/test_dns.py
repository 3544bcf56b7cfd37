"""DNS extractor: matching, rcodes, retransmissions, TCP framing, hostile names."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capfcap.decode import Prefilter, decode
from capfcap.events import DnsTransaction, FlowKey
from capfcap.extractors.dns import DnsError, DnsExtractor, DnsTcpHandler, parse_dns
from capfcap.sources.inputs import InputSet, frames
from tests.conftest import REALPEER
from tests.helpers import tshark_fields


def run(pcap: str) -> list[DnsTransaction]:
    ex = DnsExtractor()
    out = []
    for f in frames([str(REALPEER / pcap)], InputSet()):
        p = decode(f, Prefilter())
        if p is not None:
            out += ex.feed(p)
    out += ex.finish()
    return [e for e in out if isinstance(e, DnsTransaction)]


def q(txid: int, name: str, qtype: int = 1, flags: int = 0x0100) -> bytes:
    body = b"".join(bytes([len(x)]) + x.encode() for x in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", txid, flags, 1, 0, 0, 0) + body + struct.pack("!HH", qtype, 1)


def test_nxdomain_capture() -> None:
    txs = [t for t in run("S03_dns_nxdomain.pcap") if t.qname == "pub.cucm.example"]
    assert len(txs) == 1
    t = txs[0]
    assert (t.rcode, t.query_frames, t.response_frame, t.addresses) == (3, (57,), 58, ())


def test_timeout_capture_has_three_unanswered_tries() -> None:
    txs = [t for t in run("S04_dns_timeout.pcap") if t.qname == "pub.cucm.example"]
    assert sum(len(t.query_frames) for t in txs) == 3
    assert all(t.rcode is None and t.response_frame is None for t in txs)
    assert sorted(f for t in txs for f in t.query_frames) == [57, 58, 59]


def test_answer_addresses_and_ipv6() -> None:
    txs = run("S13_ipv6_relay.pcap")
    a = {(t.qname, t.qtype): t.addresses for t in txs}
    assert a[("pub.cucm.example", 1)] == ("198.51.100.11",)
    assert a[("pub.cucm.example", 28)] == ("2001:db8:100::11",)


@pytest.mark.tshark
@pytest.mark.parametrize("pcap", ["S03_dns_nxdomain.pcap", "S04_dns_timeout.pcap",
                                  "S12_busy.pcap", "S13_ipv6_relay.pcap"])
def test_transactions_equal_tshark(pcap: str) -> None:
    rows = tshark_fields(REALPEER / pcap, ["frame.number", "dns.flags.response",
                                           "dns.flags.rcode", "dns.response_in"],
                         display_filter="dns", two_pass=True)
    answered = {int(r[0]): int(r[3]) for r in rows if r[1] in ("0", "False") and r[3]}
    rcodes = {int(r[0]): int(r[2]) for r in rows if r[1] in ("1", "True")}
    for t in run(pcap):
        if t.response_frame is None:
            assert all(f not in answered for f in t.query_frames)
        else:
            assert answered[t.query_frames[-1]] == t.response_frame
            assert rcodes[t.response_frame] == t.rcode


def test_retransmission_joins_and_timeout_expires() -> None:
    ex = DnsExtractor(timeout=5_000_000_000)
    assert ex.message(q(7, "cm.example"), "192.0.2.9", "203.0.113.53", 4000, 53, "udp", 1,
                      0) == []
    assert ex.message(q(7, "cm.example"), "192.0.2.9", "203.0.113.53", 4000, 53, "udp", 2,
                      1_000_000_000) == []
    assert ex.expire(5_000_000_000) == []
    (t,) = ex.expire(6_100_000_000)
    assert isinstance(t, DnsTransaction) and t.query_frames == (1, 2) and t.rcode is None


def test_tcp_framing_two_messages_in_one_chunk() -> None:
    ex = DnsExtractor()
    key = FlowKey("tcp", "192.0.2.9", 4001, "203.0.113.53", 53)
    h = DnsTcpHandler(key, ex)
    m = q(9, "a.example")
    h.data("c2s", 1, 0, struct.pack("!H", len(m)) + m)
    resp = bytearray(q(9, "a.example", flags=0x8183))
    h.data("s2c", 2, 1, struct.pack("!H", len(resp)) + bytes(resp)[:5])
    h.data("s2c", 3, 2, bytes(resp)[5:])
    (t,) = h.close(None)  # type: ignore[arg-type]
    assert isinstance(t, DnsTransaction)
    assert (t.transport, t.rcode, t.response_frame) == ("tcp", 3, 3)


def test_compression_loop_is_an_error_not_a_hang() -> None:
    hdr = struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0)
    with pytest.raises(DnsError, match="loop"):
        parse_dns(hdr + b"\xc0\x0c")


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_parse_dns_only_raises_dnserror(data: bytes) -> None:
    try:
        parse_dns(data)
    except DnsError:
        pass
