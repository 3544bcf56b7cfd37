"""DNS transactions of hosts not (yet) known as phones: the most recent ones, by client.

A phone resolves its TFTP and CUCM names before it asks for a file or connects to CAPF, and
only then is it known as a phone; its earlier transactions are taken from here. A busy SPAN
carries DNS of every host, so only the most recent `limit` are kept; the index by client
makes taking a new phone's own transactions cost its own, not a scan of all `limit`."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from capfcap.events import DnsTransaction


class RecentDns:
    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        # arrival order, with the client's generation: a taken client's places linger
        # until they are dropped, and a client seen again after it was taken starts anew
        self._order: deque[tuple[int, DnsTransaction]] = deque()
        self._by: dict[str, tuple[int, deque[DnsTransaction]]] = {}
        self._gen = 0
        self._n = 0  # transactions held (in `_by`)

    def _live(self, gen: int, d: DnsTransaction) -> bool:
        mine = self._by.get(d.client)
        return mine is not None and mine[0] == gen

    def append(self, d: DnsTransaction) -> None:
        mine = self._by.get(d.client)
        if mine is None:
            self._gen += 1
            mine = self._by[d.client] = (self._gen, deque())
        mine[1].append(d)
        self._order.append((mine[0], d))
        self._n += 1
        while self._n > self.limit:
            self._drop_oldest()
        if len(self._order) > 2 * self.limit:  # forget the taken ones' places
            self._order = deque(x for x in self._order if self._live(*x))

    def _drop_oldest(self) -> None:
        gen, d = self._order.popleft()
        if not self._live(gen, d):  # taken already
            return
        mine = self._by[d.client][1]
        mine.popleft()  # a client's own are in arrival order too: `d` is its oldest
        self._n -= 1
        if not mine:
            del self._by[d.client]

    def take(self, client: str) -> list[DnsTransaction]:
        """Remove and return the transactions of `client` (arrival order)."""
        mine = self._by.pop(client, None)
        if mine is None:
            return []
        self._n -= len(mine[1])
        return list(mine[1])

    def __iter__(self) -> Iterator[DnsTransaction]:
        return (d for gen, d in self._order if self._live(gen, d))

    def __len__(self) -> int:
        return self._n
