"""UDP flows of phones, with Zeek's UDP conn_state (PEERS §2.1): SF when both sides
spoke, S0 when only the originator did, SHR when only the responder did."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from capfcap.decode import UDP, Packet
from capfcap.events import Event, FlowKey, UdpFlow
from capfcap.extractors.flowtable import either_way
from capfcap.extractors.oldest import Oldest
from capfcap.protocol import SERVICE_PORTS

IDLE_TIMEOUT = 60_000_000_000  # Zeek's udp_inactivity_timeout default is 1 min
MAX_FLOWS = 65536
KEEP_FRAMES = 64


@dataclass(slots=True)
class _Flow:
    key: FlowKey
    first_ts: int
    last_ts: int
    frames: list[int] = field(default_factory=list)
    orig_pkts: int = 0
    resp_pkts: int = 0
    orig_bytes: int = 0
    resp_bytes: int = 0
    history: str = ""


class UdpTracker:
    def __init__(self, want: Callable[[Packet], bool]) -> None:
        self.want = want
        self.flows: dict[tuple[str, int, str, int], _Flow] = {}
        # at most the oldest last_ts of a flow (packet times may go backwards): expire()
        # has nothing to do until the idle timeout has passed since then
        self.floor = sys.maxsize
        self._oldest: Oldest[tuple[str, int, str, int]] = Oldest()

    def feed(self, pkt: Packet) -> list[Event]:
        if pkt.proto != UDP or not self.want(pkt):
            return []
        out: list[Event] = []
        k, f = either_way(self.flows, pkt)
        if f is None:
            if len(self.flows) >= MAX_FLOWS:
                ok = self._oldest.oldest()
                if ok is not None:
                    out.append(self._finish(self.flows[ok]))
            if pkt.sport in SERVICE_PORTS and pkt.dport not in SERVICE_PORTS:
                key = FlowKey("udp", pkt.dst, pkt.dport, pkt.src, pkt.sport)
            else:
                key = FlowKey("udp", pkt.src, pkt.sport, pkt.dst, pkt.dport)
            k = (key.client, key.client_port, key.server, key.server_port)
            f = self.flows[k] = _Flow(key, pkt.ts, pkt.ts)
            self._oldest.created(k, pkt.ts)
        else:
            self._oldest.touched(k, pkt.ts)  # k: the flow's key, as matched
        f.last_ts = pkt.ts
        if pkt.ts < self.floor:
            self.floor = pkt.ts
        if len(f.frames) < KEEP_FRAMES:
            f.frames.append(pkt.frame)
        n = len(pkt.payload)
        if pkt.src == f.key.client and pkt.sport == f.key.client_port:
            f.orig_pkts += 1
            f.orig_bytes += n
            if "D" not in f.history:
                f.history += "D"
        else:
            f.resp_pkts += 1
            f.resp_bytes += n
            if "d" not in f.history:
                f.history += "d"
        return out

    @staticmethod
    def _state(f: _Flow) -> str:
        if f.orig_pkts:
            return "SF" if f.resp_pkts else "S0"
        return "SHR" if f.resp_pkts else "OTH"

    def _finish(self, f: _Flow) -> UdpFlow:
        k = f.key
        t = (k.client, k.client_port, k.server, k.server_port)
        if self.flows.pop(t, None) is not None:
            self._oldest.removed(t)
        return UdpFlow(k, f.first_ts, f.last_ts, f.frames[0], tuple(f.frames), self._state(f),
                       f.history, f.orig_pkts, f.resp_pkts, f.orig_bytes, f.resp_bytes)

    def expire(self, now: int) -> list[Event]:
        if now - self.floor <= IDLE_TIMEOUT:
            return []
        idle, self.floor = self._oldest.idle(now - IDLE_TIMEOUT)
        return [self._finish(self.flows[k]) for k in idle]

    def finish(self) -> list[Event]:
        return [self._finish(f) for f in sorted(self.flows.values(), key=lambda x: x.frames[0])]
