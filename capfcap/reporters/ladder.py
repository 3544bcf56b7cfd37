"""A phone's timeline as a ladder (sequence) diagram: lanes and arrows, no SVG.

`layout` is a pure function from a finished PhoneReport (its timeline and flows), the
phone's findings and withheld verdicts to drawing primitives in pixel coordinates; the HTML
template turns them into SVG. Which server a step talked to comes from the flow that starts
at the step's frame, else from a server address named in the step's text; a step with
neither (a parsed ITL, a parsed config) is a note on the phone's own lane.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from capfcap.findings import SEVERITY_ORDER, Finding
from capfcap.report import PhoneReport, TimelineEntry, frames_text

LANE_GAP = 230  # px between lanes
MARGIN = 110  # px left of the first lane and right of the last
TOP = 62  # px above the first step (lane headers)
ROW = 46  # px per step
GAP_ROW = 22  # extra px for a marked time gap
CODE_ROW = 16  # extra px under a step that carries a finding code
GAP_NS = 1_000_000_000  # gaps longer than this are marked
MAX_LABEL = 64  # characters drawn; the full text is the element's tooltip

@dataclass(frozen=True)
class Lane:
    x: int
    ip: str
    title: str  # services seen ("TFTP, DNS", "phone")
    name: str = ""  # host name, device name


@dataclass(frozen=True)
class Arrow:
    y: int
    x1: int
    x2: int
    label: str  # shortened step text
    full: str  # whole step text (tooltip)
    meta: str  # "frame 59 · +0.106 s" and counts
    kind: str  # "ok", "error", "info", "withheld"
    cross: bool = False  # the step got no answer: the arrow ends in a cross
    code: str = ""  # finding code drawn where the exchange stopped
    frame: int = 0


@dataclass(frozen=True)
class Note:
    y: int
    x: int
    label: str
    full: str
    meta: str
    kind: str
    code: str = ""


@dataclass(frozen=True)
class Gap:
    y: int
    label: str  # "+15.26 s"


@dataclass
class Ladder:
    width: int
    height: int
    lanes: list[Lane] = field(default_factory=list)
    arrows: list[Arrow] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)


def _short(s: str) -> str:
    return s if len(s) <= MAX_LABEL else s[:MAX_LABEL - 1] + "…"


def _seconds(ns: int) -> str:
    return f"{ns / 1e9:.3f} s"


def _flow_int(fl: dict[str, object], key: str) -> int:
    v = fl.get(key)
    return v if isinstance(v, int) else 0


def _names_address(text: str, ip: str) -> bool:
    """`ip` stands in `text` as a whole address (an IPv4 one may carry ":port")."""
    after = r"(?![0-9A-Fa-f.])" + (r"(?!:[0-9A-Fa-f])" if ":" in ip else "")
    return re.search(r"(?<![0-9A-Fa-f:.])" + re.escape(ip) + after, text) is not None


def _server_in_text(text: str, servers: list[str]) -> str:
    hits = [s for s in servers if _names_address(text, s)]
    return max(hits, key=len) if hits else ""


def _names(findings: list[Finding]) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in findings:
        ip, name = f.server.get("ip"), f.server.get("name")
        if isinstance(ip, str) and isinstance(name, str) and name:
            out.setdefault(ip, name)
    return out


def _finding_for(e: TimelineEntry, server: str, findings: list[Finding]) -> Finding | None:
    """The worst finding about this step: one citing its frame, else one about its server."""
    hit = [f for f in findings if e.frame in f.evidence.frames]
    if not hit and server:
        # one about the server, unless its evidence comes later: that is drawn on its own
        # (see _outcomes), where the exchange stopped
        hit = [f for f in findings if f.server.get("ip") == server
               and (f.evidence.first is None or min(f.evidence.frames, default=0) <= e.frame)]
    hit = [f for f in hit if f.severity != "info"] or hit
    return min(hit, key=lambda f: SEVERITY_ORDER[f.severity]) if hit else None


def _unanswered(fl: dict[str, object] | None) -> bool:
    """A TCP connection the server never answered (Zeek S0: SYN seen, no reply)."""
    return (fl is not None and fl.get("proto") == "tcp" and _flow_int(fl, "resp_pkts") == 0
            and fl.get("conn_state") in ("S0", "OTH", "REJ"))


def _counts(fl: dict[str, object] | None, unanswered: bool, span: str) -> str:
    if fl is None:
        return ""
    if unanswered:
        n = _flow_int(fl, "orig_pkts")
        return (f"{n} SYN{'s' if n != 1 else ''} ({max(n - 1, 0)} retransmitted)"
                f"{span}, no answer")
    if fl.get("service") in ("TFTP", "HTTP") and _flow_int(fl, "frames"):
        return f"transfer: {_flow_int(fl, 'frames')} packets"
    pk = _flow_int(fl, "orig_pkts") + _flow_int(fl, "resp_pkts")
    return f"{pk} packets" if pk else ""


def _outcomes(findings: list[Finding], attached: set[str], servers: list[str]
              ) -> list[tuple[TimelineEntry, Finding]]:
    """Findings no step carries (a CAPF or TLS outcome read from the records), as steps at
    the time of their first evidence frame."""
    out = []
    for f in findings:
        if f.code in attached or f.evidence.first is None or not f.evidence.frames \
                or str(f.server.get("ip")) not in servers:
            continue
        out.append((TimelineEntry(min(f.evidence.frames), f.evidence.first, f.summary,
                                  f"finding-{f.severity}"), f))
    return out


def _lanes(p: PhoneReport, order: list[str], names: dict[str, str]) -> list[Lane]:
    services: dict[str, list[str]] = {}
    for fl in p.flows:
        svc = str(fl.get("service") or fl.get("proto") or "")
        if fl.get("server") and svc:
            if fl.get("proto") == "tcp":
                svc = f"{svc} {fl.get('server_port')}"
            seen = services.setdefault(str(fl["server"]), [])
            if svc not in seen:
                seen.append(svc)
    lanes = [Lane(MARGIN, p.ip, "phone", p.device or p.mac)]
    for i, ip in enumerate(order, 1):
        lanes.append(Lane(MARGIN + i * LANE_GAP, ip, ", ".join(services.get(ip, [])) or "server",
                          names.get(ip, "")))
    return lanes


_KIND = {"ok": "ok", "failed": "error", "info": "info", "finding-error": "error",
         "finding-warning": "warning", "finding-info": "info"}


def layout(p: PhoneReport, findings: list[Finding] | None = None,
           withheld: list[dict[str, object]] | None = None) -> Ladder:
    findings = [f for f in findings or [] if f.phone.get("ip") == p.ip]
    withheld = [w for w in withheld or [] if w.get("phone") == p.ip]
    by_frame = {_flow_int(fl, "first_frame"): fl for fl in p.flows}
    servers = list(dict.fromkeys(str(fl["server"]) for fl in p.flows if fl.get("server")))
    steps: list[tuple[TimelineEntry, str, dict[str, object] | None, Finding | None]] = []
    for e in p.timeline:
        fl = by_frame.get(e.frame)
        srv = str(fl["server"]) if fl and fl.get("server") else _server_in_text(e.what, servers)
        f = _finding_for(e, srv, findings) if e.outcome == "failed" else None
        steps.append((e, srv, fl, f))
    attached = {f.code for *_, f in steps if f}
    steps += [(e, str(f.server.get("ip")), None, f)
              for e, f in _outcomes(findings, attached, servers)]
    steps.sort(key=lambda s: (s[0].ts, s[0].frame))
    order = list(dict.fromkeys(srv for _, srv, _, _ in steps if srv))
    lanes = _lanes(p, order, _names(findings))
    lane_x = {ln.ip: ln.x for ln in lanes[1:]}
    d = Ladder(width=2 * MARGIN + (len(lanes) - 1) * LANE_GAP, height=0, lanes=lanes)
    y = TOP
    t0 = steps[0][0].ts if steps else 0
    prev: int | None = None
    for e, srv, fl, f in steps:
        if prev is not None and e.ts - prev > GAP_NS:
            d.gaps.append(Gap(y - ROW // 2 + GAP_ROW // 2, f"+{_seconds(e.ts - prev)}"))
            y += GAP_ROW
        prev = e.ts
        kind = _KIND.get(e.outcome, "withheld")
        code = f.code if f else ""
        cross = _unanswered(fl)
        span = ""
        if f and f.evidence.first is not None and f.evidence.last is not None \
                and f.evidence.last - f.evidence.first > GAP_NS:
            span = f" over {_seconds(f.evidence.last - f.evidence.first)}"
        counts = _counts(fl, cross, span)
        frames = f"frame {e.frame}" if fl is not None or f is None \
            else f"frames {frames_text(f.evidence.frames, 6)}"
        meta = " · ".join(x for x in (frames, f"+{_seconds(e.ts - t0)}", counts) if x)
        if srv:
            sx = lane_x[srv]
            # the phone's attempts (TCP, failures) point at the server; answers, transfers
            # and outcomes read from the server's records point at the phone
            outward = fl is not None and (cross or fl.get("proto") == "tcp" or kind == "error")
            x1, x2 = (MARGIN, sx) if outward else (sx, MARGIN)
            d.arrows.append(Arrow(y, x1, x2, _short(e.what), e.what, meta, kind, cross, code,
                                  e.frame))
        else:
            d.notes.append(Note(y, MARGIN, _short(e.what), e.what, meta, kind, code))
        y += ROW + (CODE_ROW if code else 0)
    for w in withheld:
        text = f"withheld: {w.get('code')}: {w.get('reason')}"
        d.notes.append(Note(y, MARGIN, _short(text), text, "verdict withheld", "withheld",
                            str(w.get("code") or "")))
        y += ROW
    d.height = y + 10
    return d
