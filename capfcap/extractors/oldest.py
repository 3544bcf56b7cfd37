"""The entry with the smallest last-seen time of a bounded flow table, in O(log n).

A full table evicts its least recent flow for each new one; scanning every flow for it made
a flood of new flows (many phones, a SYN flood, a port sweep) quadratic. Packet times may go
backwards, so insertion order is not enough: a heap of (last_ts, creation order, key) with
stale entries skipped on the way gives exactly `min(table.values(), key=last_ts)` (the first
created among equals, as dict order is creation order)."""

from __future__ import annotations

import heapq
import sys
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class Oldest(Generic[K]):
    """A key's heap entry may hold an earlier time than its last-seen one (a touch that moves
    time forward costs no heap push); `oldest` moves such an entry to the key's time before
    trusting it. Every live key's entry is at most its time, so the first entry that is up
    to date is the minimum."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, K]] = []
        self._seq = 0
        # key -> [last_ts, creation order, time of its heap entry (_NONE: no entry)]
        self._at: dict[K, list[int]] = {}

    def created(self, key: K, ts: int) -> None:
        self._seq += 1
        self._at[key] = [ts, self._seq, ts]
        self._push(ts, self._seq, key)

    def touched(self, key: K, ts: int) -> None:
        at = self._at.get(key)
        if at is None:
            return
        at[0] = ts
        if ts < at[2]:  # time went backwards: the entry must not be later than the key
            at[2] = ts
            self._push(ts, at[1], key)

    def _push(self, ts: int, seq: int, key: K) -> None:
        heapq.heappush(self._heap, (ts, seq, key))
        self._compact()

    def removed(self, key: K) -> None:
        self._at.pop(key, None)
        self._compact()

    def _compact(self) -> None:
        """Rebuild once superseded and removed entries outnumber the live keys: the heap
        stays in proportion to the table, not to every flow the capture ever opened."""
        if len(self._heap) > 4 * len(self._at) + 1024:
            self._heap = [(at[0], at[1], k) for k, at in self._at.items()]
            heapq.heapify(self._heap)
            for at in self._at.values():
                at[2] = at[0]

    def oldest(self, alive: Callable[[K], bool] = lambda _k: True) -> K | None:
        heap = self._heap
        while heap:
            ts, seq, key = heap[0]
            at = self._at.get(key)
            if at is None or at[1] != seq or at[2] != ts:
                heapq.heappop(heap)  # a removed key or a superseded entry
            elif at[0] != ts:
                at[2] = at[0]
                heapq.heapreplace(heap, (at[0], seq, key))
            elif alive(key):
                return key
            else:
                at[2] = _NONE
                heapq.heappop(heap)
        return None


    def idle(self, cutoff: int) -> tuple[list[K], int]:
        """The keys last seen before `cutoff`, in creation order (the table's dict order),
        each left without a heap entry until touched (the caller removes them); and the
        earliest time of the others (sys.maxsize: none)."""
        heap = self._heap
        found: list[tuple[int, K]] = []
        while heap:
            ts, seq, key = heap[0]
            at = self._at.get(key)
            if at is None or at[1] != seq or at[2] != ts:
                heapq.heappop(heap)
            elif at[0] != ts:
                at[2] = at[0]
                heapq.heapreplace(heap, (at[0], seq, key))
            elif ts < cutoff:
                at[2] = _NONE
                heapq.heappop(heap)
                found.append((seq, key))
            else:
                break
        found.sort(key=lambda e: e[0])
        return [k for _s, k in found], heap[0][0] if heap else sys.maxsize


_NONE = sys.maxsize  # later than any time: the next touch pushes an entry
