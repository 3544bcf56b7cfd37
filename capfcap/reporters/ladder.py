"""A phone's timeline as a ladder (sequence) diagram: lanes and arrows, no SVG.

`layout` is a pure function from a finished PhoneReport (its timeline, flows and wire
steps), the phone's findings and withheld verdicts to drawing primitives in pixel
coordinates; the HTML template turns them into SVG. Which server a step talked to comes
from the flow that starts at the step's frame, else from a server address named in the
step's text, else (a decoded CAPF message, "phone -> CAPF: ...") from the latest flow of
that service; a step with none (a parsed ITL, a parsed config) is a note on the phone's
own lane. Wire steps (TLS handshake messages, alerts, record runs) are arrows of their
own; a transfer's wire step adds its block and byte counts to the transfer's arrow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from capfcap.findings import SEVERITY_ORDER, Finding
from capfcap.report import PhoneReport, TimelineEntry, WireStep, frames_text
from capfcap.reporters.ladder_text import lines_of, seconds

LANE_GAP = 230  # px between lanes
MARGIN = 110  # px left of the first lane and right of the last
TOP = 62  # px above the first step (lane headers)
ROW = 46  # px per step
LINE = 14  # px per extra line of a wrapped label
GAP_ROW = 22  # extra px for a marked time gap
CODE_ROW = 16  # extra px under a step that carries a finding code
GAP_NS = 1_000_000_000  # gaps longer than this are marked


@dataclass(frozen=True)
class Lane:
    x: int
    ip: str
    title: str  # services seen ("TFTP, DNS", "phone")
    name: str = ""  # host name, device name


@dataclass(frozen=True)
class Arrow:
    y: int  # baseline of the label's first line
    x1: int
    x2: int
    lines: tuple[str, ...]  # the step text wrapped, nothing cut (see ladder_text)
    full: str  # whole step text (with meta: the tooltip and accessible name)
    meta: str  # "frame 59 · +0.106 s" and counts
    kind: str  # "ok", "error", "warning", "info", "withheld"
    cross: bool = False  # the step got no answer: the arrow ends in a cross
    code: str = ""  # finding code drawn where the exchange stopped
    frame: int = 0
    shaft: int = 0  # y of the arrow's line, under the label

    @property
    def right(self) -> bool:
        return self.x2 > self.x1


@dataclass(frozen=True)
class Note:
    y: int
    x: int
    lines: tuple[str, ...]
    full: str
    meta: str
    kind: str
    code: str = ""


@dataclass(frozen=True)
class Gap:
    y: int
    label: str  # "+15.26 s"


@dataclass(frozen=True)
class Ladder:
    width: int
    height: int
    lanes: tuple[Lane, ...]
    arrows: tuple[Arrow, ...]
    notes: tuple[Note, ...]
    gaps: tuple[Gap, ...]


@dataclass
class _Step:
    ts: int
    frame: int
    rank: int  # among equal times: timeline 0, wire 1, outcome read from records 2
    text: str
    outcome: str
    server: str = ""
    flow: dict[str, object] | None = None
    finding: Finding | None = None
    to_server: bool | None = None  # None: from the flow (see _direction)
    frames: str = ""  # "frames 7-43" instead of the step's own frame
    counts: str = ""
    held: str = ""  # code of the verdict withheld about this step


def _flow_int(fl: dict[str, object], key: str) -> int:
    v = fl.get(key)
    return v if isinstance(v, int) else 0


def _names_address(text: str, ip: str) -> bool:
    """`ip` stands in `text` as a whole address (an IPv4 one may carry ":port")."""
    after = r"(?![0-9A-Fa-f.])" + (r"(?!:[0-9A-Fa-f])" if ":" in ip else "")
    return re.search(r"(?<![0-9A-Fa-f:.])" + re.escape(ip) + after, text) is not None


_ROLE_ARROW = re.compile(r"\s*(?:phone -> (\w+)|(\w+) -> phone):")


def _server_of(e: TimelineEntry, flows: list[dict[str, object]], servers: list[str]
               ) -> tuple[str, bool | None]:
    """The server a step without a flow of its own talked to, and whether the phone sent
    it (None: not said)."""
    hits = [s for s in servers if _names_address(e.what, s)]
    if hits:
        return max(hits, key=len), None
    m = _ROLE_ARROW.match(e.what)
    if m:  # a decoded message of a session: the latest flow of that service before it
        role = m.group(1) or m.group(2)
        mine = [fl for fl in flows if fl.get("service") == role and fl.get("server")
                and _flow_int(fl, "first_frame") <= e.frame]
        if mine:
            return str(mine[-1]["server"]), m.group(1) is not None
    return "", None


def _names(findings: list[Finding]) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in findings:
        ip, name = f.server.get("ip"), f.server.get("name")
        if isinstance(ip, str) and isinstance(name, str) and name:
            out.setdefault(ip, name)
    return out


def _worst(hit: list[Finding]) -> Finding | None:
    hit = [f for f in hit if f.severity != "info"] or hit
    return min(hit, key=lambda f: SEVERITY_ORDER[f.severity]) if hit else None


def _finding_for(frame: int, server: str, findings: list[Finding]) -> Finding | None:
    """The worst finding about this step: one citing its frame, else one about its server."""
    hit = [f for f in findings if frame in f.evidence.frames]
    if not hit and server:
        # one about the server, unless its evidence comes later: that is drawn on its own
        # (see _outcomes), where the exchange stopped
        hit = [f for f in findings if f.server.get("ip") == server
               and (f.evidence.first is None or min(f.evidence.frames, default=0) <= frame)]
    return _worst(hit)


def _unanswered(fl: dict[str, object] | None) -> bool:
    """A connection or request the server never answered (Zeek S0: no reply seen)."""
    if fl is None or _flow_int(fl, "resp_pkts"):
        return False
    if fl.get("proto") == "tcp":
        return fl.get("conn_state") in ("S0", "OTH", "REJ")
    return fl.get("conn_state") == "S0"


def _counts(fl: dict[str, object] | None, unanswered: bool, span: str) -> str:
    if fl is None:
        return ""
    if unanswered:
        n = _flow_int(fl, "orig_pkts") or _flow_int(fl, "frames")
        what = "SYN" if fl.get("proto") == "tcp" else "request"
        return (f"{n} {what}{'s' if n != 1 else ''} ({max(n - 1, 0)} retransmitted)"
                f"{span}, no answer")
    if fl.get("service") in ("TFTP", "HTTP") and _flow_int(fl, "frames"):
        return f"transfer: {_flow_int(fl, 'frames')} packets"
    pk = _flow_int(fl, "orig_pkts") + _flow_int(fl, "resp_pkts")
    return f"{pk} packets" if pk else ""


def _outcomes(findings: list[Finding], attached: set[str], servers: list[str]) -> list[_Step]:
    """Findings no step carries (a CAPF or TLS outcome read from the records), as steps at
    their last evidence frame: after the records they judge."""
    out = []
    for f in findings:
        if f.code in attached or f.evidence.last is None or not f.evidence.frames \
                or str(f.server.get("ip")) not in servers:
            continue
        out.append(_Step(f.evidence.last, max(f.evidence.frames), 2, f.summary,
                         f"finding-{f.severity}", str(f.server.get("ip")), finding=f,
                         frames=f"frames {frames_text(f.evidence.frames, 6)}"))
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


def _wire(w: WireStep, findings: list[Finding]) -> _Step:
    frames = f"frames {w.frame}-{w.last_frame}" if w.last_frame > w.frame else ""
    f = _worst([x for x in findings if w.frame in x.evidence.frames]) \
        if w.outcome == "failed" else None
    return _Step(w.ts, w.frame, 1, w.what, w.outcome, w.server, finding=f,
                 to_server=w.to_server, frames=frames)


def _hold(steps: list[_Step], withheld: list[dict[str, object]]) -> None:
    """A failed or unproven step a withheld verdict is about is drawn as withheld (not as
    an error), its code on the last such step."""
    for w in withheld:
        frames = w.get("frames")
        mine = [s for s in steps if s.outcome in ("failed", "unproven") and s.finding is None
                and isinstance(frames, list) and s.frame in frames]
        for s in mine:
            s.outcome = "withheld"
        if mine:
            mine[-1].held = str(w.get("code") or "")


def _steps(p: PhoneReport, findings: list[Finding], withheld: list[dict[str, object]]
           ) -> list[_Step]:
    by_frame = {_flow_int(fl, "first_frame"): fl for fl in p.flows}
    servers = list(dict.fromkeys(str(fl["server"]) for fl in p.flows if fl.get("server")))
    transfers = {w.frame: w for w in p.wire if w.kind == "transfer"}
    steps: list[_Step] = []
    for e in p.timeline:
        fl = by_frame.get(e.frame)
        srv, to = (str(fl["server"]), None) if fl and fl.get("server") \
            else _server_of(e, p.flows, servers)
        st = _Step(e.ts, e.frame, 0, e.what, e.outcome, srv, fl, to_server=to)
        if e.outcome == "failed":
            st.finding = _finding_for(e.frame, srv, findings)
        w = transfers.get(e.frame)
        if w is not None and not _unanswered(fl):  # an HTTP request is not its flow's start
            st.frames = f"frames {w.frame}-{w.last_frame}" if w.last_frame > w.frame else ""
            st.counts = w.what
        steps.append(st)
    steps += [_wire(w, findings) for w in p.wire if w.kind != "transfer" and w.server]
    _last_carries_code(steps)
    _hold(steps, withheld)
    attached = {s.finding.code for s in steps if s.finding}
    steps += _outcomes(findings, attached, servers)
    steps.sort(key=lambda s: (s.ts, s.rank, s.frame))
    return steps


def _last_carries_code(steps: list[_Step]) -> None:
    """A finding drawn on several steps (every retry, the connection and its alert) is
    drawn once: on the last, where the exchange stopped."""
    last: dict[str, _Step] = {}
    for s in sorted(steps, key=lambda s: (s.ts, s.rank, s.frame)):
        if s.finding:
            last[s.finding.code] = s
    for s in steps:
        if s.finding and last[s.finding.code] is not s:
            s.finding = None


_KIND = {"ok": "ok", "failed": "error", "info": "info", "unproven": "withheld",
         "finding-error": "error",
         "finding-warning": "warning", "finding-info": "info"}


def _direction(s: _Step, kind: str, cross: bool) -> bool:
    """The phone's attempts (TCP, failures) point at the server; answers, transfers and
    outcomes read from the server's records point at the phone."""
    if s.to_server is not None:
        return s.to_server
    fl = s.flow
    return fl is not None and (cross or fl.get("proto") == "tcp" or kind == "error")


def _meta(s: _Step, t0: int, cross: bool) -> str:
    f = s.finding
    span = ""
    if f and f.evidence.first is not None and f.evidence.last is not None \
            and f.evidence.last - f.evidence.first > GAP_NS:
        span = f" over {seconds(f.evidence.last - f.evidence.first)}"
    counts = s.counts or _counts(s.flow, cross, span)
    frames = s.frames or f"frame {s.frame}"
    return " · ".join(x for x in (frames, f"+{seconds(s.ts - t0)}", counts) if x)


def layout(p: PhoneReport, findings: list[Finding] | None = None,
           withheld: list[dict[str, object]] | None = None) -> Ladder:
    findings = [f for f in findings or [] if f.phone.get("ip") == p.ip]
    withheld = [w for w in withheld or [] if w.get("phone") == p.ip]
    steps = _steps(p, findings, withheld)
    order = list(dict.fromkeys(s.server for s in steps if s.server))
    lanes = _lanes(p, order, _names(findings))
    lane_x = {ln.ip: ln.x for ln in lanes[1:]}
    arrows: list[Arrow] = []
    notes: list[Note] = []
    gaps: list[Gap] = []
    y = TOP
    t0 = steps[0].ts if steps else 0
    prev: int | None = None
    for s in steps:
        if prev is not None and s.ts - prev > GAP_NS:
            gaps.append(Gap(y - ROW // 2 + GAP_ROW // 2, f"+{seconds(s.ts - prev)}"))
            y += GAP_ROW
        prev = s.ts
        kind = _KIND.get(s.outcome, "withheld")
        code = s.finding.code if s.finding else s.held
        cross = _unanswered(s.flow)
        meta = _meta(s, t0, cross)
        lines = lines_of(s.text)
        full = s.text
        extra = (len(lines) - 1) * LINE
        if s.server:
            sx = lane_x[s.server]
            x1, x2 = (MARGIN, sx) if _direction(s, kind, cross) else (sx, MARGIN)
            arrows.append(Arrow(y, x1, x2, lines, full, meta, kind, cross, code, s.frame,
                                y + 8 + extra))
        else:
            notes.append(Note(y, MARGIN, lines, full, meta, kind, code))
        y += ROW + extra + (CODE_ROW if code else 0)
    for w in withheld:
        text = f"withheld: {w.get('code')}: {w.get('reason')}"
        lines = lines_of(text)
        notes.append(Note(y, MARGIN, lines, text, "verdict withheld", "withheld",
                          str(w.get("code") or "")))
        y += ROW + (len(lines) - 1) * LINE + CODE_ROW
    return Ladder(width=2 * MARGIN + (len(lanes) - 1) * LANE_GAP, height=y + 10,
                  lanes=tuple(lanes), arrows=tuple(arrows), notes=tuple(notes), gaps=tuple(gaps))

