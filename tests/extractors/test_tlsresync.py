"""Capture holes in a TLS stream: the reassembler says where bytes are missing
(`Chunk.gap`, `Hole`) and the record parser resynchronises at the next record boundary it
can prove, counting what it lost (`tlsparse.TlsDirectionParser.gap`)."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from capfcap.decode import ACK, SYN, TCP, Packet
from capfcap.events import Direction, Event, TcpConnection
from capfcap.extractors import tcpstream
from capfcap.extractors.tcp import TcpTracker
from capfcap.extractors.tcpstream import Reassembler
from capfcap.extractors.tlsitems import (
    HEADER_LEN,
    MAX_HANDSHAKE,
    MAX_RECORD,
    AppData,
    HandshakeMessage,
    Hole,
    ServerHello,
    TlsItem,
)
from capfcap.extractors.tlsparse import TlsDirectionParser
from tests.extractors.test_tlsparse import hs, rec, server_hello

SIZES = (100, 200, 300, 400, 500)


def dialogue(seed: int = 7) -> tuple[bytes, list[int]]:
    """A ChangeCipherSpec, then application records of SIZES (random bodies); the stream
    and the offset where each application record starts."""
    rng = random.Random(seed)
    out = rec(20, b"\x01")
    starts = []
    for n in SIZES:
        starts.append(len(out))
        out += rec(23, rng.randbytes(n))
    return out, starts


def parse(stream: bytes, holes: list[tuple[int, int]], step: int = 0) -> list[TlsItem]:
    """Feed `stream` without the byte ranges `holes` (each announced by a gap); after each
    hole in chunks of `step` bytes (0: at once), each chunk its own frame."""
    p = TlsDirectionParser()
    items: list[TlsItem] = []
    pos, frame = 0, 1
    for a, b in [*holes, (len(stream), len(stream))]:
        piece = stream[pos:a]
        for i in range(0, len(piece), step or len(piece) or 1):
            items += p.feed(frame, frame, piece[i : i + (step or len(piece))])
            frame += 1
        if b > a:
            items += p.gap(frame, frame, b - a)
        pos = b
    return items + p.finish()


def lengths(items: list[TlsItem]) -> list[int]:
    return [it.length for it in items if isinstance(it, AppData)]


def holes(items: list[TlsItem]) -> list[Hole]:
    return [it for it in items if isinstance(it, Hole)]


def test_no_hole_no_hole_item() -> None:
    stream, _ = dialogue()
    items = parse(stream, [])
    assert lengths(items) == list(SIZES) and not holes(items)


def test_hole_at_a_record_boundary() -> None:
    """The hole is exactly the second record: the third starts right after it, proven by
    the fourth's header."""
    stream, s = dialogue()
    items = parse(stream, [(s[1], s[2])])
    assert lengths(items) == [100, 300, 400, 500]
    (h,) = holes(items)
    assert (h.missing, h.skipped, h.records_lost, h.resynced, h.dialogue) == (
        s[2] - s[1], 0, 1, True, True)


def test_hole_inside_a_record_header() -> None:
    """Two bytes of the second record's header were captured: its length is unknown, so
    the bytes after the hole are searched for a proven boundary."""
    stream, s = dialogue()
    items = parse(stream, [(s[1] + 2, s[1] + 12)])
    assert lengths(items) == [100, 300, 400, 500]
    (h,) = holes(items)
    assert h.resynced and h.records_lost == 1 and h.skipped == s[2] - (s[1] + 12)


def test_hole_inside_a_record_body() -> None:
    """The header was captured: the record's end is known, parsing goes on there."""
    stream, s = dialogue()
    items = parse(stream, [(s[1] + 50, s[1] + 60)])
    assert lengths(items) == [100, 300, 400, 500]
    (h,) = holes(items)
    assert (h.missing, h.skipped, h.records_lost) == (10, s[2] - (s[1] + 60), 1)


def test_hole_past_the_end_of_the_record_it_breaks() -> None:
    """From inside the second record's body to inside the third's: both are lost."""
    stream, s = dialogue()
    items = parse(stream, [(s[1] + 50, s[2] + 20)])
    assert lengths(items) == [100, 400, 500]
    (h,) = holes(items)
    assert h.records_lost == 2 and h.skipped == s[3] - (s[2] + 20)


def test_two_holes() -> None:
    stream, s = dialogue()
    items = parse(stream, [(s[1] + 50, s[1] + 60), (s[3] + 3, s[3] + 40)])
    assert lengths(items) == [100, 300, 500]
    assert [h.missing for h in holes(items)] == [10, 37]


def test_second_hole_before_the_first_is_crossed() -> None:
    """Two holes inside the same record's body: the proven end moves by both."""
    stream, s = dialogue()
    items = parse(stream, [(s[1] + 50, s[1] + 60), (s[1] + 100, s[1] + 110)])
    assert lengths(items) == [100, 300, 400, 500]
    (h,) = holes(items)
    assert (h.missing, h.records_lost) == (20, 1)


def test_resync_byte_by_byte_stamps_each_record_with_its_frame() -> None:
    """The bytes held while a boundary is proven keep the frames they arrived in."""
    stream, s = dialogue()
    whole = parse(stream, [(s[1] + 2, s[1] + 12)])
    items = parse(stream, [(s[1] + 2, s[1] + 12)], step=1)
    assert lengths(items) == lengths(whole)
    after = s[1] + 12
    ends = [s[i] + 5 + SIZES[i] for i in range(2, 5)]
    # one frame per byte; the first byte after the hole comes in the frame after the
    # s[1] + 2 frames before it
    first = 1 + (s[1] + 2)
    got = [it.frame for it in items if isinstance(it, AppData)][1:]
    assert got == [first + (e - 1 - after) for e in ends]


def test_a_false_header_in_the_bytes_after_the_hole_is_not_taken() -> None:
    """Bytes that look like one record header, but whose record is not followed by
    another header, are passed over."""
    stream, s = dialogue()
    fake = rec(23, b"\x00" * 8)[:5] + b"\xff" * 20
    body = fake + stream[s[2]:]
    items = parse(stream[: s[1]] + b"\x00" * 10 + body, [(s[1], s[1] + 10)])
    assert lengths(items) == [100, 300, 400, 500]
    (h,) = holes(items)
    assert h.skipped == len(fake)


def test_hole_near_the_end_chains_to_the_last_byte() -> None:
    """Only one record follows the hole: no next header proves it, but it ends exactly at
    the stream's end."""
    stream, s = dialogue()
    items = parse(stream, [(s[3] + 3, s[4] - 3)])  # from inside a header: searched
    assert lengths(items) == [100, 200, 300, 500]
    (h,) = holes(items)
    assert h.resynced and h.skipped == 3


def test_no_boundary_found_is_reported_not_guessed() -> None:
    stream, s = dialogue()
    items = parse(stream[: s[4] + 40], [(s[3] + 5, s[4] + 3)])
    assert lengths(items) == [100, 200, 300]
    (h,) = holes(items)
    assert not h.resynced and h.dialogue


def test_handshake_messages_before_the_hole_are_kept() -> None:
    """A plaintext handshake record broken by a hole: the messages complete before it are
    read (the ServerHello of a flight), the one it cuts is lost; the hole is inside the
    handshake, not the dialogue."""
    flight = rec(22, server_hello() + hs(11, b"\x00" * 900) + hs(14, b""))
    stream = flight + rec(20, b"\x01") + rec(22, b"\x00" * 40) + rec(23, b"\x01" * 64)
    items = parse(stream, [(300, 700)])
    assert [type(i) for i in items if isinstance(i, (ServerHello, HandshakeMessage))] == [
        ServerHello]
    (h,) = holes(items)
    assert h.resynced and not h.dialogue and h.records_lost == 1
    assert lengths(items) == [64]


# --------------------------------------------------------------------------- reassembler


def test_reassembler_marks_the_chunk_after_a_skipped_hole() -> None:
    r = Reassembler()
    r.syn(999)
    assert [c.data for c in r.add(1000, b"a" * 10, 1, 1)] == [b"a" * 10]
    assert r.add(1020, b"c" * 10, 3, 3) == []
    r.acked(1030, 4)  # the receiver acknowledged past the hole
    out = r.flush()
    assert [(c.frame, c.gap) for c in out] == [(3, 10)]
    (h,) = r.holes
    assert (h.offset, h.length, h.before_frame, h.after_frame, h.ack_frame) == (
        10, 10, 1, 3, 4)


def test_reassembler_retransmission_fills_a_hole_never_acknowledged() -> None:
    """Real loss before the receiver: it acknowledges only up to the hole (duplicate
    ACKs), the sender retransmits, and the stream is whole: no hole, no gap."""
    r = Reassembler()
    r.syn(999)
    r.add(1000, b"a" * 10, 1, 1)
    assert r.add(1020, b"c" * 10, 2, 2) == []
    r.acked(1010, 3)
    r.acked(1010, 4)
    out = r.add(1010, b"b" * 10, 5, 5)
    assert b"".join(c.data for c in out) == b"b" * 10 + b"c" * 10
    assert all(c.gap == 0 for c in out) and not r.holes and r.gaps == 0


# --------------------------------------------------------------------------- TCP tracker


class _Recorder:
    """A StreamHandler that records what the tracker hands over."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int, int]] = []

    def data(self, direction: Direction, frame: int, ts: int, data: bytes) -> None:
        self.calls.append(("data", direction, frame, len(data)))

    def gap(self, direction: Direction, frame: int, ts: int, missing: int) -> None:
        self.calls.append(("gap", direction, frame, missing))

    def close(self, conn: TcpConnection) -> list[Event]:
        return []


def _seg(frame: int, from_phone: bool, seq: int, ack: int, payload: bytes = b"",
         flags: int = ACK) -> Packet:
    src, dst, sp, dp = ("192.0.2.10", "203.0.113.5", 50000, 3804) if from_phone else (
        "203.0.113.5", "192.0.2.10", 3804, 50000)
    return Packet(frame, frame * 1000, "", 4, src, dst, 64, TCP, sport=sp, dport=dp,
                  flags=flags, seq=seq, ack=ack, window=500, payload=payload)


def test_tracker_skips_a_hole_mid_stream_and_names_its_ack(monkeypatch: Any) -> None:
    """When segments pile up behind a hole (the buffer limit) it is skipped at once: the
    handler hears of the gap before the bytes after it, and the connection record keeps
    the hole with the phone's ACK past it."""
    monkeypatch.setattr(tcpstream, "MAX_PENDING_SEGMENTS", 2)
    rec_ = _Recorder()
    t = TcpTracker(handler_for=lambda key: rec_)
    s, c = 1000, 5000  # server and phone initial sequence numbers
    pkts = [_seg(1, True, c, 0, flags=SYN), _seg(2, False, s, c + 1, flags=SYN | ACK),
            _seg(3, True, c + 1, s + 1),
            _seg(4, False, s + 1, c + 1, b"a" * 100),
            # frame 5 (s + 101, 100 bytes) is not in the capture
            _seg(6, False, s + 201, c + 1, b"c" * 100),
            _seg(7, True, c + 1, s + 301),  # the phone acknowledges past the hole
            _seg(8, False, s + 301, c + 1, b"d" * 100),
            _seg(9, False, s + 401, c + 1, b"e" * 100)]
    out = []
    for p in pkts:
        out += t.feed(p)
    assert ("gap", "s2c", 6, 100) in rec_.calls
    assert rec_.calls.index(("gap", "s2c", 6, 100)) < rec_.calls.index(("data", "s2c", 6, 100))
    out += t.finish()
    (conn,) = [e for e in out if isinstance(e, TcpConnection)]
    (h,) = conn.holes
    assert (h.direction, h.offset, h.length, h.before_frame, h.after_frame, h.ack_frame) == (
        "s2c", 100, 100, 4, 6, 7)


def test_an_ack_before_the_bytes_after_the_hole_still_proves_it() -> None:
    """The lost segment ends a burst: the phone acknowledges past it before the next
    segment is captured, and nothing is acknowledged afterwards: the phone's highest ACK
    is the proof."""
    t = TcpTracker(handler_for=lambda key: _Recorder())
    s, c = 1000, 5000
    pkts = [_seg(1, True, c, 0, flags=SYN), _seg(2, False, s, c + 1, flags=SYN | ACK),
            _seg(3, True, c + 1, s + 1),
            _seg(4, False, s + 1, c + 1, b"a" * 100),
            # frame 5 (s + 101, 100 bytes) is not in the capture
            _seg(6, True, c + 1, s + 201),  # the phone acknowledges both
            _seg(7, False, s + 201, c + 1, b"c" * 100)]
    out = []
    for p in pkts:
        out += t.feed(p)
    out += t.finish()
    (conn,) = [e for e in out if isinstance(e, TcpConnection)]
    (h,) = conn.holes
    assert (h.offset, h.length, h.after_frame, h.ack_frame) == (100, 100, 7, 6)


@given(st.binary(max_size=3000), st.lists(st.tuples(st.integers(0, 3000),
                                                    st.integers(1, 20000)), max_size=4),
       st.integers(1, 700))
@settings(max_examples=300, deadline=None)
def test_gaps_never_raise_and_stay_bounded(junk: bytes, gaps: list[tuple[int, int]],
                                           step: int) -> None:
    """Any bytes, any holes: items only, never an exception, buffers within a record."""
    stream, _ = dialogue()
    data = stream[:700] + junk + stream[700:]
    p = TlsDirectionParser()
    cuts = dict(gaps)
    for i in range(0, len(data), step):
        if i in cuts or (i // step) % 5 == 4:
            p.gap(i, i, cuts.get(i, 7))
        p.feed(i, i, data[i : i + step])
        assert p.buffered <= 2 * (MAX_RECORD + HEADER_LEN) + MAX_HANDSHAKE + step
    p.finish()
