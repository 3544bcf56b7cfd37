"""UdpTracker: idle flows end after IDLE_TIMEOUT of capture time, whatever the order of
packet times."""

from __future__ import annotations

import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from capfcap.decode import UDP, Packet
from capfcap.events import Event, UdpFlow
from capfcap.extractors.udp import IDLE_TIMEOUT, UdpTracker

S = 1_000_000_000
STEPS = st.lists(st.tuples(st.sampled_from(["pkt", "pkt", "expire"]),
                           st.integers(0, 3),  # which flow
                           st.sampled_from([-70 * S, -S, 0, S, 30 * S, 61 * S, 200 * S])),
                 max_size=60)


def _pkt(frame: int, ts: int, flow: int) -> Packet:
    return Packet(frame, ts, "", 4, f"192.0.2.{flow}", "203.0.113.1", 64, UDP,
                  sport=40000 + flow, dport=5000, payload=b"x")


@settings(max_examples=400)
@given(STEPS)
def test_expire_ends_the_flows_a_full_scan_ends(steps: list[tuple[str, int, int]]) -> None:
    fast, full = UdpTracker(lambda p: True), UdpTracker(lambda p: True)
    now = 1000 * S
    for i, (what, flow, dt) in enumerate(steps):
        now += dt
        if what == "pkt":
            assert fast.feed(_pkt(i, now, flow)) == full.feed(_pkt(i, now, flow))
        else:
            full.floor = -sys.maxsize  # nothing skipped: every flow compared
            assert fast.expire(now) == full.expire(now)
    assert fast.finish() == full.finish()


def test_a_flow_idle_longer_than_the_timeout_ends() -> None:
    u = UdpTracker(lambda p: True)
    u.feed(_pkt(1, 100 * S, 1))
    u.feed(_pkt(2, 90 * S, 2))  # earlier time, later frame
    assert u.expire(90 * S + IDLE_TIMEOUT) == []
    assert _clients(u.expire(90 * S + IDLE_TIMEOUT + 1)) == ["192.0.2.2"]
    assert _clients(u.expire(100 * S + IDLE_TIMEOUT)) == []
    assert _clients(u.expire(100 * S + IDLE_TIMEOUT + 1)) == ["192.0.2.1"]


def _clients(evs: list[Event]) -> list[str]:
    assert all(isinstance(e, UdpFlow) for e in evs)
    return [e.key.client for e in evs if isinstance(e, UdpFlow)]
