"""TcpTracker.expire looks only at connections whose due time has come; it must finish
exactly the connections, in the same order, that checking every open connection finishes,
whatever the packets (SYN retransmissions, answers, closes, resets, port reuse) and
however their times jump (backwards too)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from capfcap.decode import ACK, FIN, RST, SYN, TCP, Packet
from capfcap.events import Event
from capfcap.extractors import tcp
from capfcap.extractors.tcp import TcpTracker, _Conn

S = 1_000_000_000
KINDS = ["syn", "syn", "synack", "ack", "data", "fin", "rst", "expire", "expire"]
STEPS = st.lists(st.tuples(st.sampled_from(KINDS),
                           st.integers(0, 3),  # which connection
                           st.booleans(),  # sent by the server
                           st.sampled_from([-20 * S, -S, 0, S, 3 * S, 11 * S, 40 * S,
                                            301 * S])),
                 max_size=80)


class FullScan(TcpTracker):
    """The reference: every open connection checked on every call."""

    def expire(self, now: int) -> list[Event]:
        out: list[Event] = []
        for c in list(self.conns.values()):
            if (c.ended_ts is not None and now - c.ended_ts > tcp.CLOSED_LINGER) or (
                now - c.last_ts > tcp.IDLE_TIMEOUT
            ) or self._syn_only_over(c, now):
                out += self._finish(c)
        return out

    @staticmethod
    def _syn_only_over(c: _Conn, now: int) -> bool:
        if c.resp.pkts or c.orig.pkts != len(c.syn_frames) or not c.syn_ts:
            return False
        gap = c.syn_ts[-1] - c.syn_ts[0] if len(c.syn_ts) == 2 else 0
        return now - c.last_ts > max(tcp.SYN_ONLY_MIN, tcp.SYN_ONLY_FACTOR * gap)


FLAGS = {"syn": SYN, "synack": SYN | ACK, "ack": ACK, "data": ACK, "fin": FIN | ACK,
         "rst": RST}


def _pkt(frame: int, ts: int, conn: int, kind: str, from_server: bool) -> Packet:
    phone, server = f"192.0.2.{conn % 2 + 1}", "198.51.100.1"
    pport, sport = 50000 + conn // 2, 3804
    if kind in ("syn",):
        from_server = False
    if kind == "synack":
        from_server = True
    src, dst, sp, dp = (server, phone, sport, pport) if from_server else (
        phone, server, pport, sport)
    seq = 1000 * frame if kind == "syn" and frame % 3 == 0 else 1000 + frame
    return Packet(frame, ts, "", 4, src, dst, 64, TCP, sport=sp, dport=dp,
                  flags=FLAGS[kind], seq=seq, ack=1, window=1000,
                  payload=b"x" if kind == "data" else b"")


@settings(max_examples=500, deadline=None)
@given(STEPS)
# found by this test: SYNs at 0, 11 and (time going back 1 s) 11 s; the third shrinks
# the gap between the last two SYNs, so the SYN-only wait ends sooner than scheduled
@example([("syn", 0, False, -20 * S), ("syn", 0, False, 11 * S), ("expire", 0, False, S),
          ("syn", 0, False, -S), ("expire", 0, False, 11 * S)])
# the same without time going backwards: a SYN 1 s after one that came 11 s after the first
@example([("syn", 0, False, 0), ("syn", 0, False, 11 * S), ("expire", 0, False, S),
          ("syn", 0, False, 0), ("expire", 0, False, 12 * S)])
def test_expire_finishes_what_a_full_scan_finishes(steps: list[tuple[str, int, bool, int]]
                                                  ) -> None:
    fast, full = TcpTracker(), FullScan()
    now = 1000 * S
    for i, (kind, conn, from_server, dt) in enumerate(steps, 1):
        now += dt
        if kind == "expire":
            assert fast.expire(now) == full.expire(now)
        else:
            p = _pkt(i, now, conn, kind, from_server)
            assert fast.feed(p) == full.feed(p)
    assert fast.finish() == full.finish()


def test_syn_only_connection_ends_after_its_wait_and_not_before() -> None:
    t = TcpTracker()
    t.feed(_pkt(1, 100 * S, 0, "syn", False))
    t.feed(_pkt(2, 101 * S, 0, "syn", False))  # retransmitted after 1 s
    assert t.expire(101 * S + tcp.SYN_ONLY_MIN) == []
    (c,) = t.expire(101 * S + tcp.SYN_ONLY_MIN + 1)
    assert c.syn_frames == (1, 2)  # type: ignore[attr-defined]
    assert t.conns == {}


def test_entries_of_evicted_connections_do_not_pile_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tcp, "MAX_CONNS", 10)
    fast, full = TcpTracker(), FullScan()
    for i in range(3000):  # each new connection evicts the least recent one
        p = _pkt(i + 1, 100 * S + i, 2 * i, "syn", False)
        assert fast.feed(p) == full.feed(p)
    assert fast.expire(101 * S) == full.expire(101 * S) == []
    assert len(fast._due) <= 4 * len(fast.conns) + 1024
    assert fast.expire(200 * S) == full.expire(200 * S) != []
