"""A full flow table evicts exactly the flow a scan of every flow would (smallest last
time, the first created among equals), whatever the order of packet times, in the UDP and
TCP trackers."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
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


def _queries(ops: list[tuple[str, int, int]]) -> Iterator[tuple[int, dict[int, int], Oldest[int]]]:
    """Replay the table changes on a plain dict (key -> last_ts, in creation order) and on
    the index; at each "oldest" step yield (its time step, the dict, the index)."""
    table: dict[int, int] = {}
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
            yield dt, table, idx


@settings(max_examples=400)
@given(OPS)
def test_oldest_is_the_minimum_a_scan_finds(ops: list[tuple[str, int, int]]) -> None:
    for _dt, table, idx in _queries(ops):
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


@settings(max_examples=400)
@given(OPS, st.integers(95, 110))
def test_idle_is_what_a_scan_finds_in_creation_order(ops: list[tuple[str, int, int]],
                                                     cut_s: int) -> None:
    """`idle(cutoff)` names the keys a scan of the table finds last seen before the cutoff,
    in creation order, and the earliest time of the rest; interleaved with `oldest`."""
    for dt, table, idx in _queries(ops):
        cutoff = cut_s * S + dt
        want = [k for k, t in table.items() if t < cutoff]
        got, floor = idx.idle(cutoff)
        assert got == want
        for k in got:
            del table[k]
            idx.removed(k)
        assert floor == min(table.values(), default=sys.maxsize)
        assert idx.oldest() == (min(table, key=lambda k: table[k]) if table else None)


def test_udp_expiry_finishes_idle_flows_in_creation_order() -> None:
    """Flow 3 is created first but last seen after flow 2: both idle, in creation order
    (as the scan of the table gave), not in last-seen order."""
    tr = udpmod.UdpTracker(lambda p: True)
    for i, (flow, t) in enumerate([(3, 0), (2, 1), (3, 2), (4, 5), (1, 70)]):
        tr.feed(_udp(i, t * S, flow))
    done = tr.expire(63 * S)  # idle over 60 s: last seen before 3 s
    assert [e.key.client for e in done] == ["192.0.2.3", "192.0.2.2"]
    assert tr.expire(64 * S) == []
    assert [e.key.client for e in tr.expire(66 * S)] == ["192.0.2.4"]
    assert list(tr.flows) == [("192.0.2.1", 40001, "203.0.113.1", 5000)]


def test_times_going_back_and_forth_keep_the_heap_bounded() -> None:
    idx: Oldest[int] = Oldest()
    for k in range(3):
        idx.created(k, 10 * S)
    for i in range(20_000):  # every other touch moves a key's time backwards
        idx.touched(i % 3, (10 + (i % 2) * 5) * S - i)
    assert len(idx._heap) <= 4 * 3 + 1024 + 1
    assert idx.oldest() == min(range(3), key=lambda k: idx._at[k][0])
