"""The finished analysis that reporters render (DESIGN §5)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from capfcap.findings import Finding

_MIN_NS = -62135596800 * 1_000_000_000  # 0001-01-01T00:00:00Z
_MAX_NS = 253402300799 * 1_000_000_000 + 999_999_999  # 9999-12-31T23:59:59.999999999Z
# date and time of day by whole second: a report's times fall in few seconds (a rollout's
# 10,000 phones in an hour), and datetime + strftime cost 2.6 µs a time
_SECONDS: dict[int, str] = {}
_SECONDS_KEPT = 1 << 16


def iso(ns: int | None) -> str | None:
    """ISO-8601 UTC with microseconds, as Wireshark shows absolute times."""
    if ns is None:
        return None
    # Capture timestamps are untrusted (a pcapng if_tsoffset or 64-bit tick count can put
    # them outside what datetime holds): clamp to years 1..9999 rather than fail.
    ns = min(max(ns, _MIN_NS), _MAX_NS)
    sec, frac = divmod(ns, 1_000_000_000)
    day_time = _SECONDS.get(sec)
    if day_time is None:
        if len(_SECONDS) >= _SECONDS_KEPT:
            _SECONDS.clear()
        dt = datetime.fromtimestamp(sec, tz=timezone.utc)
        day_time = _SECONDS[sec] = f"{dt.year:04d}-" + dt.strftime("%m-%dT%H:%M:%S")
    return f"{day_time}.{frac // 1000:06d}Z"


def frame_runs(frames: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted distinct frame numbers as runs of consecutive numbers (first, last)."""
    fs = sorted(set(frames))
    runs: list[tuple[int, int]] = []
    for f in fs:
        if runs and f == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], f)
        else:
            runs.append((f, f))
    return runs


def frames_text(frames: tuple[int, ...] | list[int], limit: int = 40) -> str:
    """Frame numbers for people: runs become ranges ("7-43, 64"), long lists are cut."""
    parts = [str(a) if a == b else f"{a}-{b}" for a, b in frame_runs(frames)]
    if len(parts) > limit:
        return ", ".join(parts[:limit]) + f" … ({len(set(frames))} frames)"
    return ", ".join(parts) or "none"


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    frame: int
    ts: int
    what: str
    outcome: str = ""  # "ok", "failed", "info", "unproven" (OUTCOME_LABELS)
    stage: str = ""  # "trust", "config", "dns", "capf", "tvs", "other"


@dataclass(frozen=True, slots=True)
class WireStep:
    """One exchange finer than a timeline step, for the ladder diagram only (not in the JSON
    report): a TLS handshake message or alert, a run of application records one way, or a
    file transfer's block and byte counts (kind "transfer", at its request frame)."""

    frame: int
    ts: int
    server: str
    to_server: bool  # sent by the phone
    what: str
    kind: str  # "tls", "alert", "records", "transfer"
    outcome: str = "info"  # "ok", "failed", "info" as TimelineEntry
    last_frame: int = 0  # of a run or transfer (0: one frame)


@dataclass(slots=True)
class PhoneReport:
    ip: str
    mac: str = ""
    device: str = ""
    timeline: list[TimelineEntry] = field(default_factory=list)
    verdict: str = ""
    flows: list[dict[str, object]] = field(default_factory=list)
    wire: list[WireStep] = field(default_factory=list)  # ladder detail, not serialised

    def ident(self) -> dict[str, str]:
        d = {"ip": self.ip}
        if self.mac:
            d["mac"] = self.mac
        if self.device:
            d["device"] = self.device
        return d


@dataclass
class CaptureInfo:
    path: str
    sha256: str
    packets: int
    first: int | None
    last: int | None
    format: str = ""
    linktypes: list[str] = field(default_factory=list)
    error: str = ""


@dataclass(frozen=True)
class CarvedObject:
    """A file or certificate seen on the wire, for the ticket bundle's objects/ folder."""

    kind: str  # "ITL", "CTL", "CONFIG" (a downloaded file) or "CERT" (a server certificate)
    protocol: str  # "tftp", "http", or the TLS server port as text ("3804")
    server: str  # server IP
    name: str  # file name as requested, or the certificate subject
    frame: int  # request frame, or the frame carrying the certificate
    data: bytes = field(repr=False, default=b"")  # file bytes, or DER
    frames: tuple[int, ...] = ()  # every frame of the transfer


# a timeline step's outcome as every text format shows it
# "unproven": a failure only the absence of packets would show, which the capture
# cannot prove (correlator/evidence.py: ends too soon, one-sided, nothing to the phone)
OUTCOME_LABELS = {"ok": "ok", "failed": "FAIL", "info": "--", "unproven": "??"}


@dataclass
class Report:
    files: list[CaptureInfo]
    phones: list[PhoneReport]
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)  # capture notes, withheld verdicts
    withheld: list[dict[str, object]] = field(default_factory=list)
    version: str = ""
    options: dict[str, object] = field(default_factory=dict)
    objects: list[CarvedObject] = field(default_factory=list)  # bundle objects/
    objects_omitted: int = 0  # objects past the bundle's bound (correlator/objects.py)
    unmatched_phones: list[str] = field(default_factory=list)  # --phone values, no match
    phones_seen: list[str] = field(default_factory=list)  # every phone, when a --phone matched none
    narrowed: bool = False  # --phone chose the phones shown (not in the JSON report)

    def severities(self) -> list[str]:
        return [f.severity for f in self.findings]

    def service_ports(self) -> set[int]:
        """The TCP ports the phones used for CAPF and TVS (the configs' phonePort and TVS
        member ports, the given ones): TLS ports for Wireshark and for --redact."""
        ports = {int(str(fl["server_port"])) for p in self.phones for fl in p.flows
                 if fl.get("proto") == "tcp" and fl.get("service") in ("CAPF", "TVS")}
        ports |= {int(str(f.server["port"])) for f in self.findings
                  if f.code.startswith(("CAPF_", "TVS_")) and f.server.get("port")}
        return ports
