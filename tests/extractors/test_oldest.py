"""A full flow table evicts exactly the flow a scan of every flow would (smallest last
time, the first created among equals), whatever the order of packet times, in the UDP and
TCP trackers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capfcap.decode import SYN, TCP, UDP, Packet
from capfcap.extractors import tcp as tcpmod
from capfcap.extractors import udp as udpmod
from capfcap.extractors.oldest import Oldest

S = 1_000_000_000
OPS = st.lists(st.tuples(st.sampled_from(["new", "touch", "touch", "remove", "oldest"]),
                         st.integers(0, 7), st.sampled_from([-2 * S, -S, 0, 0, S, 3 * S])),
               max_size=80)


@settings(max_examples=400)
@given(OPS)
def test_oldest_is_the_minimum_a_scan_finds(ops: list[tuple[str, int, int]]) -> None:
    table: dict[int, int] = {}  # key -> last_ts, in creation order
    idx: Oldest[int] = Oldest()
    now = 100 * S
    for what, key, dt in ops:
        now += dt
        if what == "new" and key not in table:
            table[key] = now
            idx.created(key, now)
        elif what == "touch" and key in table:
            table[key] = now
            idx.touched(key, now)
        elif what == "remove" and key in table:
            del table[key]
            idx.removed(key)
        elif what == "oldest":
            want = min(table, key=lambda k: table[k]) if table else None
            assert idx.oldest() == want


def _udp(frame: int, ts: int, flow: int) -> Packet:
    return Packet(frame, ts, "", 4, f"192.0.2.{flow}", "203.0.113.1", 64, UDP,
                  sport=40000 + flow, dport=5000, payload=b"x")


def _syn(frame: int, ts: int, flow: int) -> Packet:
    return Packet(frame, ts, "", 4, f"192.0.2.{flow}", "203.0.113.1", 64, TCP,
                  sport=40000 + flow, dport=3804, flags=SYN, seq=flow)


FLOWS = st.lists(st.tuples(st.integers(0, 9), st.sampled_from([-S, 0, S, 2 * S])),
                 min_size=1, max_size=60)


def _table(tr: object) -> dict[tuple[str, int, str, int], Any]:
    return tr.flows if isinstance(tr, udpmod.UdpTracker) else tr.conns  # type: ignore[attr-defined]


@pytest.mark.parametrize("mod, cap, make, pkt", [
    (udpmod, "MAX_FLOWS", lambda: udpmod.UdpTracker(lambda p: True), _udp),
    (tcpmod, "MAX_CONNS", tcpmod.TcpTracker, _syn),
], ids=["udp", "tcp"])
@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=FLOWS)
def test_full_table_evicts_the_least_recent_flow(
        mod: Any, cap: str, make: Callable[[], Any], pkt: Callable[[int, int, int], Packet],
        steps: list[tuple[int, int]]) -> None:
    tr = make()
    old = getattr(mod, cap)
    setattr(mod, cap, 3)
    try:
        now = 100 * S
        for i, (flow, dt) in enumerate(steps):
            now += dt
            p = pkt(i, now, flow)
            table = _table(tr)
            want = None
            if (p.src, p.sport, p.dst, p.dport) not in table and len(table) >= 3:
                want = min(table.values(), key=lambda f: f.last_ts).key
            keys = [e.key for e in tr.feed(p)]
            assert keys == ([want] if want else [])
    finally:
        setattr(mod, cap, old)


def test_heap_stays_in_proportion_to_the_live_flows() -> None:
    """A capture of many short flows (one per phone) removes each flow: the index must not
    keep an entry for every flow the capture ever opened."""
    idx: Oldest[int] = Oldest()
    for k in range(50_000):
        idx.created(k, k)
        if k >= 10:
            idx.removed(k - 10)
    assert len(idx._heap) <= 4 * 10 + 1024
    assert idx.oldest() == 49_990
