"""One direction of a TCP byte stream, reassembled in sequence order (RFC 793 §3.3).

Retransmitted and overlapping bytes are trimmed, out-of-order segments wait (bounded),
and a gap that never fills is skipped when the buffer limit is reached, so a lost segment
costs its bytes, never the rest of the stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_PENDING_BYTES = 1 << 20
MAX_PENDING_SEGMENTS = 512
_MOD = 1 << 32


@dataclass(slots=True)
class Chunk:
    frame: int
    ts: int
    data: bytes


@dataclass
class Reassembler:
    next_seq: int | None = None
    pending: dict[int, Chunk] = field(default_factory=dict)  # seq -> chunk
    pending_bytes: int = 0
    gaps: int = 0  # holes skipped
    gap_bytes: int = 0
    retransmitted: int = 0  # segments wholly below next_seq

    def syn(self, seq: int) -> None:
        """A SYN fixes the initial sequence number: data starts at ISN + 1."""
        if self.next_seq is None:
            self.next_seq = (seq + 1) % _MOD

    def add(self, seq: int, payload: bytes, frame: int, ts: int) -> list[Chunk]:
        """Add a segment; return the chunks that became contiguous, in order."""
        if not payload:
            return []
        if self.next_seq is None:
            self.next_seq = seq  # midstream pick-up
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
                    progressed = True
        return out

    def _skip_gap(self) -> list[Chunk]:
        """Give up on the hole before the lowest pending segment."""
        assert self.next_seq is not None
        nxt = self.next_seq
        lowest = min(self.pending, key=lambda s: (s - nxt) % _MOD)
        self.gaps += 1
        self.gap_bytes += (lowest - nxt) % _MOD
        self.next_seq = lowest
        return self._drain()

    def flush(self) -> list[Chunk]:
        """End of stream: deliver what is pending past any holes."""
        out: list[Chunk] = []
        while self.pending:
            out.extend(self._skip_gap())
        return out
