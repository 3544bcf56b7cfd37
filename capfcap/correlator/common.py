"""Shared pieces of the rules: finding construction, display filters, capture judgement."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import overload

from capfcap.catalog import CATALOG, port_text
from capfcap.correlator import facts
from capfcap.correlator.state import PhoneState, State
from capfcap.events import CertInfo, FileTransfer, TcpConnection, TlsSession, TrustListSeen
from capfcap.filenames import basename, phone_file
from capfcap.findings import Evidence, Finding
from capfcap.protocol import TLS_ALERTS, TLS_VERSIONS
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
    # phone ip -> the capture shows packets sent *to* the phone (its receive direction)
    reverse_seen: dict[str, bool]
    # hosts the capture shows sending packets (any host *from* which something was heard)
    heard_from: set[str] = field(default_factory=set)
    one_sided: dict[str, str] = field(default_factory=dict)  # phone ip -> reason
    # why the order of the frames proves nothing (the capture is out of time order), or ""
    # phone ip -> why its own frames' file order proves nothing (engine: out of time order)
    out_of_order: dict[str, str] = field(default_factory=dict)
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


def conn_of(phone: PhoneState, s: TlsSession) -> TcpConnection | None:
    """The TCP connection a TLS session was read from: the same 5-tuple and the same
    frames. A phone that reboots may reuse its source port, and the 5-tuple alone would
    lend one connection's close (or silence) to the other's session."""
    first = s.frames[:1]
    return next((c for c in phone.conns if c.key == s.key and c.frames[:1] == first), None)


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


def alert_name(code: int) -> str:
    """An alert description for a sentence: its RFC name, else "alert N"."""
    return TLS_ALERTS.get(code, f"alert {code}")


def version_name(v: int | None) -> str:
    """A ProtocolVersion for a sentence: its name, else its hex value."""
    return "unknown" if v is None else TLS_VERSIONS.get(v, f"0x{v:04x}")


# -- what the phone downloaded (shared by the trust, TLS and distrust rules, the timeline)
EXPIRING_NS = 30 * 86400 * 1_000_000_000
AUTH_MODES = {
    0: "none pending",
    1: "By Authentication String",
    2: "By Null String",
    3: "By Existing Certificate (precedence to LSC)",
    4: "By Existing Certificate (precedence to MIC)",
}


def transfer_text(t: FileTransfer) -> str:
    proto = "TFTP" if t.protocol == "tftp" else f"HTTP {t.server_port}"
    if t.status == "complete":
        res = f"{t.size} bytes"
    elif t.status == "error":
        res = (f"HTTP {t.http_status}" if t.http_status is not None
               else f"ERROR {t.error_code} \"{t.error_message}\"")
        if t.http_status == 304:
            res += " (not modified: the phone's copy is current)"
    elif t.status == "incomplete":
        res = f"incomplete after {t.size} bytes"
    elif t.status == "complete_gaps":
        n = t.acked_unseen_blocks
        res = (f"complete for the phone ({n} ACKed block{'s' if n != 1 else ''} not "
               f"captured; {t.size} bytes captured)")
    else:
        res = "no response"
    return f"{proto} {basename(t.filename)} from {t.server}: {res}"


def transfer_filter(ts: list[FileTransfer]) -> str:
    """Filter for exactly the frames of these transfers (all from one phone)."""
    parts = []
    for t in ts:
        if not t.client_port:
            return frames_filter(f for x in ts for f in x.frames)
        f = ipf(t.client)
        l4 = "udp" if t.protocol == "tftp" else "tcp"
        p = (f"{f}.addr=={t.client} && {f}.addr=={t.server} && {l4}.port=={t.client_port}")
        if t.protocol == "http":
            p += f" && {l4}.port=={t.server_port} && tcp.len > 0"
        parts.append(p)
    return parts[0] if len(parts) == 1 else " || ".join(f"({p})" for p in parts)


def file_kind(t: FileTransfer) -> str:
    pf = phone_file(t.filename)
    return pf[0] if pf else ""


def latest_itl(phone: PhoneState, before_frame: int | None = None) -> TrustListSeen | None:
    """The ITL the phone holds: its last parsed ITL download (before a frame, if given)."""
    best: TrustListSeen | None = None
    for tl in phone.trust_lists:
        if tl.trust_list is None or tl.trust_list.kind != "ITL":
            continue
        if file_kind(tl.transfer) not in ("ITL", ""):
            continue
        last = tl.transfer.frames[-1] if tl.transfer.frames else 0
        if before_frame is not None and last > before_frame:
            continue
        if best is None or last > (best.transfer.frames[-1] if best.transfer.frames else 0):
            best = tl
    return best


def cert_expiry(ctx: Context, phone: PhoneState, cert: CertInfo, at: int, where: str,
                frames: list[int], filt: str, prefix: str = "CAPF",
                server: dict[str, object] | None = None,
                facts_: list[facts.Fact] | None = None) -> list[Finding]:
    if cert.not_after < at:
        code, what = prefix + "_CERT_EXPIRED", "expired"
    elif cert.not_after - at < EXPIRING_NS:
        code, what = prefix + "_CERT_EXPIRING", "expires within 30 days"
    else:
        return []
    from capfcap.report import iso

    return [make(
        ctx, code, phone, server or {}, f"{prefix} certificate {cert.subject} {what} "
        f"(notAfter {iso(cert.not_after)}) — {where}",
        f"Certificate SHA-256 {cert.der_sha256}, serial {cert.serial}, valid "
        f"{iso(cert.not_before)} to {iso(cert.not_after)}; capture time {iso(at)}.",
        frames, filt, cert_sha256=cert.der_sha256, _facts=list(facts_ or []),
    )]
