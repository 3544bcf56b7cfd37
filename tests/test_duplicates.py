"""SPAN duplicate removal: a frame byte-identical to one of the last DUP_WINDOW analysed
frames, at most DUP_NS later, is a copy (both directions mirrored to the SPAN port)."""

from __future__ import annotations

from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from capfcap.decode import UDP, Packet
from capfcap.pipeline import DUP_NS, DUP_WINDOW, Analysis, Options


def _pkt(frame: int, ts: int, data: bytes) -> Packet:
    return Packet(frame, ts, "", 4, "192.0.2.1", "192.0.2.2", 64, UDP, data=data)


class _Reference:
    """The definition: compare with every frame kept, in order."""

    def __init__(self) -> None:
        self.recent: deque[tuple[int, bytes]] = deque(maxlen=DUP_WINDOW)

    def duplicate(self, ts: int, data: bytes) -> bool:
        if any(d == data and 0 <= ts - t <= DUP_NS for t, d in self.recent):
            return True
        self.recent.append((ts, data))
        return False


def test_an_older_copy_in_the_window_still_matches() -> None:
    a = Analysis(Options())
    # b"x" twice in the window: the later copy is in the future of the third frame
    # (timestamps out of order), the earlier one is 10 ms before it
    assert not a._duplicate(_pkt(1, 100_000_000, b"x"))
    assert not a._duplicate(_pkt(2, 200_000_000, b"x"))
    assert a._duplicate(_pkt(3, 110_000_000, b"x"))
    assert a.dup_frames == [3]


def test_a_frame_leaves_the_window_after_dup_window_others() -> None:
    a = Analysis(Options())
    assert not a._duplicate(_pkt(1, 0, b"x"))
    for i in range(DUP_WINDOW - 1):
        assert not a._duplicate(_pkt(2 + i, 1, bytes([i])))
    assert a._duplicate(_pkt(99, 2, b"x"))  # still the DUP_WINDOW-th frame back
    a = Analysis(Options())
    assert not a._duplicate(_pkt(1, 0, b"x"))
    for i in range(DUP_WINDOW):
        assert not a._duplicate(_pkt(2 + i, 1, bytes([i])))
    assert not a._duplicate(_pkt(99, 2, b"x"))
    assert a.recent_ts[b"x"] == [2]


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from([b"a", b"b", b"c", b"d"]),
                          st.sampled_from([-DUP_NS - 1, -1, 0, 1, DUP_NS // 2, DUP_NS,
                                           DUP_NS + 1])),
                max_size=80))
def test_same_verdicts_as_comparing_every_kept_frame(steps: list[tuple[bytes, int]]) -> None:
    a, ref = Analysis(Options()), _Reference()
    ts = 10 * DUP_NS
    for i, (data, dt) in enumerate(steps):
        ts += dt
        assert a._duplicate(_pkt(i + 1, ts, data)) == ref.duplicate(ts, data), i
    assert [d for _t, d in a.recent] == [d for _t, d in ref.recent]
    assert sum(map(len, a.recent_ts.values())) == len(a.recent)
