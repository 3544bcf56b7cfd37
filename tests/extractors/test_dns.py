"""DNS extractor: matching, rcodes, retransmissions, TCP framing, hostile names."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capfcap.decode import Prefilter, decode
from capfcap.events import DnsTransaction, Event, FlowKey
from capfcap.extractors.dns import (
    DnsError,
    DnsExtractor,
    DnsTcpHandler,
    _name,
    _parse,
    _skip_name,
)
from capfcap.sources.inputs import InputSet, frames
from tests.conftest import PCAPS, REALPEER
from tests.helpers import tshark_fields


@dataclass(frozen=True, slots=True)
class DnsMessage:
    """A DNS message as `_parse` reads it, with the header flags named."""

    txid: int
    response: bool
    opcode: int
    rcode: int
    qname: str
    qtype: int
    qclass: int
    addresses: tuple[str, ...]
    answer_count: int


def parse_dns(msg: bytes) -> DnsMessage:
    """The header, first question and A/AAAA answers of a DNS message (RFC 1035 §4.1)."""
    txid, flags, (qname, qtype, qclass), addresses, an = _parse(msg)
    return DnsMessage(txid=txid, response=bool(flags & 0x8000), opcode=(flags >> 11) & 0x0F,
                      rcode=flags & 0x0F, qname=qname, qtype=qtype, qclass=qclass,
                      addresses=addresses, answer_count=an)


def run(pcap: str, folder: str = "realpeer") -> list[DnsTransaction]:
    ex = DnsExtractor()
    out = []
    for f in frames([str(PCAPS / folder / pcap)], InputSet()):
        p = decode(f, Prefilter())
        if p is not None:
            out += ex.feed(p)
    out += ex.finish()
    return [e for e in out if isinstance(e, DnsTransaction)]


def q(txid: int, name: str, qtype: int = 1, flags: int = 0x0100, qclass: int = 1) -> bytes:
    body = b"".join(bytes([len(x)]) + x.encode() for x in name.split(".")) + b"\0"
    return (struct.pack("!HHHHHH", txid, flags, 1, 0, 0, 0) + body
            + struct.pack("!HH", qtype, qclass))


def answer(txid: int, name: str, qtype: int, addr: bytes = b"", rcode: int = 0) -> bytes:
    """A response that copies the question (RFC 1035 §4.1.2), with one A/AAAA record
    (owner: a pointer to the question's name) when `addr` is given."""
    m = bytearray(q(txid, name, qtype, flags=0x8180 | rcode))
    if addr:
        m[7] = 1  # ANCOUNT
        m += b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 60, len(addr)) + addr
    return bytes(m)


PHONE, RESOLVER = "192.0.2.9", "203.0.113.53"


def ask(ex: DnsExtractor, msg: bytes, frame: int, port: int = 4000) -> list[Event]:
    return ex.message(msg, PHONE, RESOLVER, port, 53, "udp", frame, frame * 1000)


def reply(ex: DnsExtractor, msg: bytes, frame: int, port: int = 4000) -> list[Event]:
    return ex.message(msg, RESOLVER, PHONE, 53, port, "udp", frame, frame * 1000)


def by_type(evs: list[Event]) -> dict[int, DnsTransaction]:
    txs = [e for e in evs if isinstance(e, DnsTransaction)]
    assert len({t.qtype for t in txs}) == len(txs)
    return {t.qtype: t for t in txs}


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


# --- names: decoding, and skipping the owner names of answers ---

LABELS = st.lists(st.binary(min_size=1, max_size=63).filter(lambda b: b[0] != 0xFF),
                  max_size=6)


@settings(max_examples=300)
@given(LABELS)
def test_name_decodes_as_its_labels_decoded_one_by_one(labels: list[bytes]) -> None:
    # labels may hold dots, upper case and bytes above 0x7F
    wire = b"".join(bytes([len(x)]) + x for x in labels) + b"\0"
    msg = bytes(12) + wire + b"\0\1\0\1"
    want = ".".join(x.decode("ascii", "replace") for x in labels).lower()
    name, end, octets, pointers = _name(msg, 12)
    assert (name, end, octets, pointers) == (want, 12 + len(wire), len(wire) - 1, 0)


def test_name_keeps_dots_and_replaces_each_non_ascii_byte() -> None:
    msg = bytes(12) + b"\x03A.b\x02\xc3\xa9\x00"
    assert _name(msg, 12)[0] == "a.b.\ufffd\ufffd"


def _pieces(draw: st.DrawFn, size: int) -> bytes:
    """Name-like bytes: labels, root, pointers (mostly to the question), other label
    types, cut anywhere."""
    out = b""
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["label", "label", "root", "ptr12", "ptr", "type", "raw"]))
        if kind == "label":
            out += bytes([n := draw(st.integers(0, 63))]) + draw(st.binary(min_size=n,
                                                                            max_size=n))
        elif kind == "root":
            out += b"\0"
        elif kind == "ptr12":
            out += b"\xc0\x0c"
        elif kind == "ptr":
            out += bytes([0xC0, draw(st.integers(0, size))])
        elif kind == "type":
            out += bytes([draw(st.sampled_from([0x40, 0x80, 0xBF]))])
        else:
            out += draw(st.binary(max_size=4))
    return out


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    qname = draw(st.sampled_from([b"\x03cm1\x07example\x00", b"\x01a\x00", b"\x00",
                                  b"\xc0\x0c", b"\x02ab\xc0\x13\x00"]))
    body = qname + b"\x00\x01\x00\x01"
    an = draw(st.integers(0, 4))
    for _ in range(an):
        owner = draw(st.sampled_from([b"\xc0\x0c", b"\x03www\xc0\x0c", b"\x00"])) if draw(
            st.booleans()) else _pieces(draw, 80)
        rtype = draw(st.sampled_from([1, 28, 5, 16]))
        rdata = draw(st.sampled_from([bytes(4), bytes(range(16)), b"\x01x\xc0\x0c", b""]))
        rdlen = draw(st.sampled_from([len(rdata), 4, 16, 300]))
        body += owner + struct.pack("!HHIH", rtype, 1, 60, rdlen) + rdata
    qd = draw(st.sampled_from([1, 1, 1, 0, 2]))
    msg = struct.pack("!HHHHHH", 1, 0x8180, qd, an + draw(st.integers(0, 1)), 0, 0) + body
    return msg[: draw(st.integers(12, len(msg)))]


def _reference_parse(msg: bytes) -> tuple[str, int, tuple[str, ...]]:
    """parse_dns with every name read whole, as `_name` reads it."""
    _txid, flags, qd, an, _ns, _ar = struct.unpack_from("!HHHHHH", msg, 0)
    off, qname, qtype = 12, "", 0
    if qd:
        qname, off, _o, _p = _name(msg, off)
        if off + 4 > len(msg):
            raise DnsError("truncated question")
        qtype = (msg[off] << 8) | msg[off + 1]
        off += 4
        for _ in range(qd - 1):
            off = _name(msg, off)[1] + 4
    addrs: list[str] = []
    for _ in range(an if flags & 0x8000 else 0):
        try:
            off = _name(msg, off)[1]
        except DnsError:
            break
        if off + 10 > len(msg):
            break
        rtype, _cls, _ttl, rdlen = struct.unpack_from("!HHIH", msg, off)
        rdata = msg[off + 10 : off + 10 + rdlen]
        off += 10 + rdlen
        if rtype == 1 and len(rdata) == 4:
            addrs.append(socket.inet_ntoa(rdata))
        elif rtype == 28 and len(rdata) == 16:
            addrs.append(socket.inet_ntop(socket.AF_INET6, rdata))
    return qname, qtype, tuple(addrs)


@settings(max_examples=600, deadline=None)
@given(messages())
def test_answers_parse_as_with_every_name_read_whole(msg: bytes) -> None:
    try:
        want: object = _reference_parse(msg)
    except DnsError:
        want = DnsError
    try:
        m = parse_dns(msg)
        got: object = (m.qname, m.qtype, m.addresses)
    except DnsError:
        got = DnsError
    assert got == want


@settings(max_examples=600, deadline=None)
@given(messages(), st.integers(12, 120))
def test_skip_name_ends_or_fails_where_name_does(msg: bytes, off: int) -> None:
    try:
        _q, _e, octets, pointers = _name(msg, 12)
        known: tuple[int, int, int] | None = (12, octets, pointers)
    except DnsError:
        known = None
    try:
        want: object = _name(msg, off)[1]
    except DnsError:
        want = DnsError
    try:
        got: object = _skip_name(msg, off, known)
    except DnsError:
        got = DnsError
    assert got == want


def _response(qname: bytes, owner: bytes, tail: bytes = b"") -> bytes:
    """One question, one A answer 192.0.2.1 whose owner name is `owner`; `tail` after it."""
    return (struct.pack("!HHHHHH", 1, 0x8180, 1, 1, 0, 0) + qname + b"\0\1\0\1" + owner
            + struct.pack("!HHIH", 1, 1, 60, 4) + bytes((192, 0, 2, 1)) + tail)


@pytest.mark.parametrize("extra, ok", [(62, True), (63, False)])
def test_answer_pointing_to_the_question_counts_its_pointers(extra: int, ok: bool) -> None:
    # the question's name is a pointer to a chain of `extra` more pointers placed after the
    # answer; the answer's C0 0C adds one: 64 pointers are followed, 65 are a loop
    chain_at = 12 + 2 + 4 + 2 + 14
    chain = b"".join(bytes((0xC0, chain_at + 2 * (i + 1))) for i in range(extra)) + b"\1a\0"
    msg = _response(bytes((0xC0, chain_at)), b"\xc0\x0c", chain)
    assert len(msg) == chain_at + len(chain)
    m = parse_dns(msg)
    assert (m.qname, m.addresses) == ("a", ("192.0.2.1",) if ok else ())


@pytest.mark.parametrize("last, ok", [(60, True), (61, False)])
def test_answer_pointing_to_the_question_counts_its_octets(last: int, ok: bool) -> None:
    # 3 * 64 + (last + 1) octets in the question; the owner name adds 2 ("\1x") of 255
    qname = b"".join(bytes([63]) + b"q" * 63 for _ in range(3)) + bytes([last]) + b"q" * last
    m = parse_dns(_response(qname + b"\0", b"\1x\xc0\x0c"))
    assert m.addresses == (("192.0.2.1",) if ok else ())


def test_skip_name_cases() -> None:
    msg = bytes(12) + b"\x01a\x00" + b"\x02bb\xc0\x0c" + b"\xc0\x0f" + b"\x05ab"
    known = (12, 2, 0)
    assert _skip_name(msg, 12, known) == 15  # labels and the root
    assert _skip_name(msg, 15, known) == 20  # labels, then a pointer to the question
    assert _skip_name(msg, 20, known) == 22  # a pointer elsewhere, to a good name
    with pytest.raises(DnsError, match="past"):
        _skip_name(msg, 22, known)  # a label cut by the end of the message
    with pytest.raises(DnsError, match="truncated"):
        _skip_name(msg[:21], 20, known)  # half a pointer
    with pytest.raises(DnsError, match="loop"):
        _skip_name(bytes(12) + b"\xc0\x0e\xc0\x0c", 12, None)
    with pytest.raises(DnsError, match="label type"):
        _skip_name(bytes(12) + b"\x41", 12, known)
    # a pointer to the question when the answer loop meets a cut name: the loop ends
    resp = _response(b"\1a\0", b"\xc0\x0c")
    assert parse_dns(resp).addresses == ("192.0.2.1",)
    assert parse_dns(resp[:-15] + b"\x05ab").addresses == ()


def test_names_in_place_are_held_to_255_octets() -> None:
    long = b"".join(bytes([63]) + b"q" * 63 for _ in range(4)) + b"\0"  # 256 octets
    with pytest.raises(DnsError, match="longer"):
        _skip_name(bytes(12) + long, 12, None)
    assert parse_dns(_response(b"\1a\0", long)).addresses == ()
    assert _skip_name(bytes(12) + long[64:], 12, None) == 12 + 193


def test_cut_address_and_second_question() -> None:
    resp = _response(b"\1a\0", b"\xc0\x0c")
    assert parse_dns(resp[:-1]).addresses == ()  # RDLENGTH 4, three octets captured
    two = bytearray(resp[:12] + b"\1a\0\0\1\0\1" + b"\1b\xc0\x0c\0\1\0\1" + resp[19:])
    two[5] = 2  # QDCOUNT
    m = parse_dns(bytes(two))
    assert (m.qname, m.addresses) == ("a", ("192.0.2.1",))


@pytest.mark.parametrize("opcode, kept", [(0, True), (1, False), (4, False), (8, False)])
def test_only_standard_queries_are_matched(opcode: int, kept: bool) -> None:
    ex = DnsExtractor()
    flags = 0x0100 | opcode << 11
    assert ex.message(q(5, "a.example", flags=flags), "192.0.2.9", "203.0.113.53", 4000, 53,
                      "udp", 1, 0) == []
    resp = ex.message(q(5, "a.example", flags=flags | 0x8183), "203.0.113.53", "192.0.2.9",
                      53, 4000, "udp", 2, 1)
    got = [(t.rcode, t.response_frame) for t in resp if isinstance(t, DnsTransaction)]
    assert got == ([(3, 2)] if kept else []) and len(resp) == len(got)
    assert ex.finish() == []


# --- pairing by ID, 5-tuple and question (RFC 1035 §4.1.2, RFC 5452 §9.1) ---


def test_a_and_aaaa_under_one_id_are_two_transactions() -> None:
    # glibc sends both from one socket and may reuse the ID; the empty AAAA answer first
    ex = DnsExtractor()
    out = ask(ex, q(5, "pub.cucm.example", 1), 1) + ask(ex, q(5, "pub.cucm.example", 28), 2)
    out += reply(ex, answer(5, "pub.cucm.example", 28), 3)
    out += reply(ex, answer(5, "pub.cucm.example", 1, bytes((203, 0, 113, 10))), 4)
    assert ex.finish() == [] and ex.unmatched == 0
    t = by_type(out)
    assert (t[1].query_frames, t[1].response_frame, t[1].addresses) == ((1,), 4,
                                                                        ("203.0.113.10",))
    assert (t[28].query_frames, t[28].response_frame, t[28].rcode, t[28].nodata) == (
        (2,), 3, 0, True)


def test_a_retransmission_joins_a_while_aaaa_stays_apart() -> None:
    ex = DnsExtractor()
    out = ask(ex, q(9, "cm.example", 1), 1) + ask(ex, q(9, "cm.example", 28), 2)
    out += reply(ex, answer(9, "cm.example", 28), 3)
    out += ask(ex, q(9, "cm.example", 1), 4) + ask(ex, q(9, "cm.example", 1), 5)
    t = by_type(out + ex.finish())
    assert (t[1].query_frames, t[1].query_times, t[1].rcode) == ((1, 4, 5),
                                                                 (1000, 4000, 5000), None)
    assert (t[28].query_frames, t[28].response_frame) == ((2,), 3)


@pytest.mark.parametrize("resp", [
    answer(7, "cm.example", 28),  # another type
    answer(7, "other.example", 1, bytes(4)),  # another name
    q(7, "cm.example", 1, flags=0x8180, qclass=3),  # another class (CH)
    answer(8, "cm.example", 1, bytes(4)),  # another ID
    struct.pack("!HHHHHH", 7, 0x8182, 0, 0, 0, 0),  # no question at all
], ids=["type", "name", "class", "id", "no-question"])
def test_a_response_asking_another_question_answers_nothing(resp: bytes) -> None:
    ex = DnsExtractor()
    assert ask(ex, q(7, "cm.example", 1), 1) == []
    assert reply(ex, resp, 2) == []
    assert ex.unmatched == 1
    (t,) = ex.finish()
    assert isinstance(t, DnsTransaction)
    assert (t.qtype, t.query_frames, t.response_frame, t.rcode) == (1, (1,), None, None)


def test_question_names_match_whatever_their_case() -> None:
    # DNS names compare without case (RFC 4343); 0x20 randomisation mixes it on purpose
    ex = DnsExtractor()
    ask(ex, q(3, "PuB.cUcM.example", 1), 1)
    (t,) = reply(ex, answer(3, "pub.CUCM.EXAMPLE", 1, bytes((203, 0, 113, 10))), 2)
    assert isinstance(t, DnsTransaction)
    assert (t.qname, t.response_frame, t.addresses) == ("pub.cucm.example", 2,
                                                         ("203.0.113.10",))


def test_parse_dns_reads_the_question_class() -> None:
    m = parse_dns(q(1, "a.example", 28, qclass=3))
    assert (m.qname, m.qtype, m.qclass) == ("a.example", 28, 3)
    assert (parse_dns(struct.pack("!HHHHHH", 1, 0, 0, 0, 0, 0)).qclass) == 0


def test_same_id_capture_pairs_each_answer_with_its_own_question() -> None:
    txs = run("dns_same_id_aaaa_first.pcap", "synthetic")
    got = {(t.qname, t.qtype): (t.query_frames, t.response_frame, t.rcode, t.addresses)
           for t in txs}
    assert got == {
        ("pub.sameid.example.corp.example", 1): ((8,), 10, 3, ()),
        ("pub.sameid.example.corp.example", 28): ((9,), 11, 3, ()),
        ("pub.sameid.example", 1): ((12,), 15, 0, ("203.0.113.24",)),
        ("pub.sameid.example", 28): ((13,), 14, 0, ()),
    }


def test_timeout_capture_keeps_the_a_retransmissions_apart_from_aaaa() -> None:
    txs = run("dns_a_timeout_aaaa_nodata.pcap", "synthetic")
    got = {t.qtype: (t.txid, t.query_frames, t.response_frame, t.rcode) for t in txs}
    assert got == {1: (0x52B0, (8, 11, 12), None, None), 28: (0x52B0, (9,), 10, 0)}
