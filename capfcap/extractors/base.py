"""What every extractor looks like to the pipeline."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from capfcap.decode import Packet
from capfcap.events import Direction, Event, TcpConnection


class Extractor(Protocol):
    """Keeps per-flow protocol state and turns packets into events.

    The clock is packet time: `expire(now)` is called with the newest packet timestamp so
    live and offline runs reach the same verdicts.
    """

    def feed(self, pkt: Packet) -> Iterable[Event]: ...

    def expire(self, now: int) -> Iterable[Event]: ...

    def finish(self) -> Iterable[Event]: ...


class StreamHandler(Protocol):
    """Application-layer consumer of one TCP connection's reassembled byte streams.

    The TCP tracker creates one per connection (by server port), feeds it contiguous,
    in-order data per direction (`gap` says where a hole was skipped), and calls `close`
    with the finished connection record.
    """

    def data(self, direction: Direction, frame: int, ts: int, data: bytes) -> None: ...

    def gap(self, direction: Direction, frame: int, ts: int, missing: int) -> None:
        """`missing` bytes the capture lacks come before the next data (frame `frame`):
        a consumer that frames messages must resynchronise."""
        ...

    def close(self, conn: TcpConnection) -> list[Event]: ...
