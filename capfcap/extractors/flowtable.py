"""Flow tables keyed by (client, client port, server, server port): a packet belongs to
its flow whichever way it travels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from capfcap.decode import Packet

V = TypeVar("V")
Key = tuple[str, int, str, int]


def either_way(table: Mapping[Key, V], pkt: Packet) -> tuple[Key, V | None]:
    """The packet's flow and the key it is stored under: sent by the client (src, sport,
    dst, dport) or by the server (dst, dport, src, sport). Neither: (the reverse key,
    None)."""
    k = (pkt.src, pkt.sport, pkt.dst, pkt.dport)
    v = table.get(k)
    if v is None:
        k = (pkt.dst, pkt.dport, pkt.src, pkt.sport)
        v = table.get(k)
    return k, v
