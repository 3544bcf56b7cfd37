"""One direction of a TCP byte stream, reassembled in sequence order (RFC 793 §3.3).

Retransmitted and overlapping bytes are trimmed, out-of-order segments wait (bounded),
and a gap that never fills is skipped when the buffer limit is reached (or at the end), so
a lost segment costs its bytes, never the rest of the stream. A skipped gap is no secret:
the first chunk after it carries the number of missing bytes (`Chunk.gap`), so the
consumer can resynchronise its framing, and the gap is kept as a `Hole` with the
receiver's first ACK that covered it (`acked`), proof that only the capture lost it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_PENDING_BYTES = 1 << 20
MAX_PENDING_SEGMENTS = 512
MAX_HOLES = 64  # holes kept per direction (all are counted in `gaps`)
MAX_ACKS = 64  # ACKs past a hole kept until it is skipped
_MOD = 1 << 32


@dataclass(slots=True)
class Chunk:
    frame: int
    ts: int
    data: bytes
    gap: int = 0  # bytes missing right before this chunk (a skipped hole)


@dataclass(frozen=True, slots=True)
class Hole:
    offset: int  # stream offset of the first missing byte
    length: int
    before_frame: int | None  # the last frame delivered before the hole
    after_frame: int  # the frame of the first byte after it
    ack_frame: int | None  # the receiver's first ACK at or past its end
    snap: bool  # the hole is the cut-off part of a snap-length-truncated segment


@dataclass(slots=True)
class Reassembler:
    """Two per TCP connection read by a handler, and a 100,000-phone capture holds as many
    connections: slots, and the hole bookkeeping built only when a hole appears."""

    next_seq: int | None = None
    pending: dict[int, Chunk] = field(default_factory=dict)  # seq -> chunk
    pending_bytes: int = 0
    gaps: int = 0  # holes skipped
    gap_bytes: int = 0
    retransmitted: int = 0  # segments wholly below next_seq
    base: int | None = None  # sequence number of stream offset 0
    last_frame: int | None = None  # frame of the last byte delivered
    holes: list[Hole] | None = None
    # (ack, frame) of the receiver's ACKs past next_seq while segments wait (increasing)
    acks: list[tuple[int, int]] | None = None
    cuts: set[int] | None = None  # end seq of snap-length-cut segments

    def syn(self, seq: int) -> None:
        """A SYN fixes the initial sequence number: data starts at ISN + 1."""
        if self.next_seq is None:
            self.next_seq = self.base = (seq + 1) % _MOD

    def acked(self, ack: int, frame: int) -> None:
        """The receiver acknowledged `ack` while segments wait behind a hole: an ACK past
        the hole proves the bytes were delivered (called only while `pending`)."""
        nxt = self.next_seq
        if nxt is None or not 0 < (ack - nxt) % _MOD < _MOD // 2:
            return
        acks = self.acks
        if acks is None:
            acks = self.acks = []
        elif acks and not 0 < (ack - acks[-1][0]) % _MOD < _MOD // 2:
            return
        if len(acks) < MAX_ACKS:
            acks.append((ack, frame))

    def cut(self, end: int) -> None:
        """A segment ending at `end` (sequence number) was cut by the snap length."""
        if self.cuts is None:
            self.cuts = set()
        if len(self.cuts) < MAX_HOLES:
            self.cuts.add(end)

    def add(self, seq: int, payload: bytes, frame: int, ts: int) -> list[Chunk]:
        """Add a segment; return the chunks that became contiguous, in order."""
        if not payload:
            return []
        if self.next_seq is None:
            self.next_seq = self.base = seq  # midstream pick-up
        rel = (seq - self.next_seq) % _MOD
        if rel >= _MOD // 2:  # starts before next_seq: trim the part already delivered
            overlap = _MOD - rel
            if overlap >= len(payload):
                self.retransmitted += 1
                return []
            payload = payload[overlap:]
            seq = self.next_seq
            rel = 0
        if rel > 0:
            if seq not in self.pending or len(self.pending[seq].data) < len(payload):
                old = self.pending.get(seq)
                self.pending_bytes += len(payload) - (len(old.data) if old else 0)
                self.pending[seq] = Chunk(frame, ts, payload)
            if (
                self.pending_bytes > MAX_PENDING_BYTES
                or len(self.pending) > MAX_PENDING_SEGMENTS
            ):
                return self._skip_gap()
            return []
        out = [Chunk(frame, ts, payload)]
        self.next_seq = (seq + len(payload)) % _MOD
        self.last_frame = frame
        if self.pending:
            out.extend(self._drain())
        return out

    def _drain(self) -> list[Chunk]:
        out: list[Chunk] = []
        progressed = True
        while progressed and self.pending:
            progressed = False
            assert self.next_seq is not None
            for s in list(self.pending):
                rel = (s - self.next_seq) % _MOD
                ch = self.pending[s]
                if rel == 0 or rel >= _MOD // 2:
                    del self.pending[s]
                    self.pending_bytes -= len(ch.data)
                    skip = 0 if rel == 0 else _MOD - rel
                    if skip < len(ch.data):
                        data = ch.data[skip:]
                        out.append(Chunk(ch.frame, ch.ts, data))
                        self.next_seq = (self.next_seq + len(data)) % _MOD
                        self.last_frame = ch.frame
                    progressed = True
        return out

    def _skip_gap(self) -> list[Chunk]:
        """Give up on the hole before the lowest pending segment."""
        assert self.next_seq is not None
        nxt = self.next_seq
        lowest = min(self.pending, key=lambda s: (s - nxt) % _MOD)
        length = (lowest - nxt) % _MOD
        self.gaps += 1
        self.gap_bytes += length
        acks = self.acks or []
        ack_frame = next((f for a, f in acks if (a - lowest) % _MOD < _MOD // 2), None)
        self.acks = [(a, f) for a, f in acks if 0 < (a - lowest) % _MOD < _MOD // 2]
        if self.holes is None:
            self.holes = []
        if len(self.holes) < MAX_HOLES:
            base = nxt if self.base is None else self.base
            self.holes.append(Hole((nxt - base) % _MOD, length, self.last_frame,
                                   self.pending[lowest].frame, ack_frame,
                                   nxt in (self.cuts or ())))
        self.next_seq = lowest
        out = self._drain()
        if out:
            out[0].gap = length
        return out

    def flush(self) -> list[Chunk]:
        """End of stream: deliver what is pending past any holes."""
        out: list[Chunk] = []
        while self.pending:
            out.extend(self._skip_gap())
        return out
