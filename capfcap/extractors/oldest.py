"""The entry with the smallest last-seen time of a bounded flow table, in O(log n).

A full table evicts its least recent flow for each new one; scanning every flow for it made
a flood of new flows (many phones, a SYN flood, a port sweep) quadratic. Packet times may go
backwards, so insertion order is not enough: a heap of (last_ts, creation order, key) with
stale entries skipped on the way gives exactly `min(table.values(), key=last_ts)` (the first
created among equals, as dict order is creation order)."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class Oldest(Generic[K]):
    def __init__(self) -> None:
        self._heap: list[tuple[int, int, K]] = []
        self._seq = 0
        self._at: dict[K, tuple[int, int]] = {}  # key -> (last_ts, creation order)

    def created(self, key: K, ts: int) -> None:
        self._seq += 1
        self._at[key] = (ts, self._seq)
        heapq.heappush(self._heap, (ts, self._seq, key))

    def touched(self, key: K, ts: int) -> None:
        at = self._at.get(key)
        if at is None or at[0] == ts:
            return
        self._at[key] = (ts, at[1])
        heapq.heappush(self._heap, (ts, at[1], key))
        self._compact()

    def removed(self, key: K) -> None:
        self._at.pop(key, None)
        self._compact()

    def _compact(self) -> None:
        """Drop stale entries once they outnumber the live ones: the heap stays in
        proportion to the table, not to every flow the capture ever opened."""
        if len(self._heap) > 4 * len(self._at) + 1024:
            self._heap = [(t, s, k) for k, (t, s) in self._at.items()]
            heapq.heapify(self._heap)

    def oldest(self, alive: Callable[[K], bool] = lambda _k: True) -> K | None:
        while self._heap:
            ts, seq, key = self._heap[0]
            if self._at.get(key) == (ts, seq) and alive(key):
                return key
            heapq.heappop(self._heap)
        return None
