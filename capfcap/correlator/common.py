"""Shared pieces of the rules: finding construction, display filters, capture judgement."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import overload

from capfcap.correlator.state import PhoneState, State
from capfcap.events import TcpConnection
from capfcap.findings import CATALOG, Evidence, Finding, port_text
from capfcap.report import frame_runs


class FrameTimes:
    """The capture time of each relevant frame, for the time spans of findings cited by
    frame. Frames arrive in increasing number, so two compact arrays and a binary search
    hold them: 16 bytes a frame where a dict entry costs about 100 (an all-relevant bulk
    capture has millions)."""

    def __init__(self) -> None:
        self.frames = array("q")
        self.times: array[int] | list[int] = array("q")

    def add(self, frame: int, ts: int) -> None:
        if not -(1 << 63) <= ts < 1 << 63 and isinstance(self.times, array):
            self.times = list(self.times)  # a damaged timestamp beyond 64 bits: keep it whole
        if not self.frames or frame > self.frames[-1]:
            self.frames.append(frame)
            self.times.append(ts)
            return
        i = bisect_left(self.frames, frame)  # out of order: keep the arrays sorted
        if i < len(self.frames) and self.frames[i] == frame:
            self.times[i] = ts
        else:
            self.frames.insert(i, frame)
            self.times.insert(i, ts)

    @overload
    def get(self, frame: int) -> int | None: ...

    @overload
    def get(self, frame: int, default: int) -> int: ...

    def get(self, frame: int, default: int | None = None) -> int | None:
        i = bisect_left(self.frames, frame)
        if i < len(self.frames) and self.frames[i] == frame:
            return self.times[i]
        return default


@dataclass
class Context:
    """What the rules know besides the per-phone state."""

    state: State
    cucm_names: dict[str, str]  # name -> why it is CUCM-related
    cucm_ips: set[str]
    server_names: dict[str, str]  # ip -> name
    reverse_seen: dict[str, bool]  # phone ip -> the capture shows packets sent to it
    heard_from: set[str] = field(default_factory=set)  # hosts seen sending packets
    one_sided: dict[str, str] = field(default_factory=dict)  # phone ip -> reason
    withheld: list[dict[str, object]] = field(default_factory=list)
    frame_ts: FrameTimes = field(default_factory=FrameTimes)
    now: int = 0
    end_ts: int | None = None  # time of the capture's last frame (None: not known)
    # withheld entries by phone, caught up with `withheld` on each read (append-only)
    # (tuples: a phone has one or two, and 100,000 phones may have them)
    _withheld_by: dict[str, tuple[dict[str, object], ...]] = field(default_factory=dict)
    _withheld_seen: int = 0

    def withheld_of(self, ip: str) -> Sequence[dict[str, object]]:
        """The withheld verdicts of one phone, in the order they were withheld."""
        by = self._withheld_by
        for i in range(self._withheld_seen, len(self.withheld)):
            w = self.withheld[i]
            key = str(w.get("phone"))
            by[key] = (*by.get(key, ()), w)
        self._withheld_seen = len(self.withheld)
        return by.get(ip, ())


def ipf(ip: str) -> str:
    return "ipv6" if ":" in ip else "ip"


def frames_filter(frames: Iterable[int]) -> str:
    """`frame.number in {a..b, c}`: runs of consecutive frames become ranges."""
    parts = [str(a) if a == b else f"{a}..{b}" for a, b in frame_runs(frames)]
    if len(parts) == 1 and ".." not in parts[0]:
        return f"frame.number == {parts[0]}"
    return "frame.number in {" + ", ".join(parts) + "}"


def conns_filter(phone: str, server: str, port: int, conns: list[TcpConnection],
                 all_conns: list[TcpConnection]) -> str:
    """Filter for exactly the frames of `conns` (a subset of the phone<->server:port ones)."""
    f = ipf(phone)
    base = f"{f}.addr=={phone} && {f}.addr=={server} && tcp.port=={port}"
    if len(conns) == len(all_conns):
        return base
    ports = ", ".join(str(c.key.client_port) for c in conns)
    return f"{base} && tcp.port in {{{ports}}}"


def make(
    ctx: Context,
    code: str,
    phone: PhoneState,
    server: dict[str, object],
    summary: str,
    detail: str,
    frames: Iterable[int],
    filt: str,
    conn: TcpConnection | None = None,
    remediation: str | None = None,
    times: tuple[int | None, int | None] | None = None,
    **extra: object,
) -> Finding:
    info = CATALOG[code]
    fr = tuple(sorted(set(frames)))
    first = last = None
    if times is not None:
        first, last = times
    elif fr:
        first = ctx.frame_ts.get(fr[0])
        last = ctx.frame_ts.get(fr[-1])
    ident = {"ip": phone.ip} if phone.ip else {}
    if phone.mac:
        ident["mac"] = phone.mac
    if phone.device:
        ident["device"] = phone.device
    return Finding(
        code=code,
        severity=info.severity,
        phone=ident,
        server=server,
        summary=summary,
        detail=detail,
        remediation=remediation or port_text(info.fix, server.get("port")),
        evidence=Evidence(
            frames=fr,
            first=first,
            last=last,
            filter=filt,
            conn_state=conn.conn_state if conn else None,
            history=conn.history if conn else None,
        ),
        extra=dict(extra),
    )


def server_ident(ctx: Context, ip: str, port: int | None = None) -> dict[str, object]:
    d: dict[str, object] = {"ip": ip}
    if port is not None:
        d["port"] = port
    name = ctx.server_names.get(ip)
    if name:
        d["name"] = name
    return d


def label(ctx: Context, ip: str) -> str:
    name = ctx.server_names.get(ip)
    return f"{name} ({ip})" if name else ip
