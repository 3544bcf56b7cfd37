"""`--format markdown`: pastes into Jira, ServiceNow or GitHub and reads as plain text."""

from __future__ import annotations

import re

from capfcap.findings import SEVERITY_ORDER
from capfcap.report import OUTCOME_LABELS, Report, frames_text, iso
from capfcap.reporters.summary import code, esc


def _cell(s: str) -> str:
    """Capture-derived text as an inert table cell (no HTML, no markup, no line break)."""
    return esc(s.replace("\n", " "))


def _fence(lines: list[str]) -> list[str]:
    """A fenced block longer than any backtick run inside it (CommonMark 4.5)."""
    runs = [len(r) for ln in lines for r in re.findall(r"`{3,}", ln)]
    f = "`" * max(3, max(runs, default=0) + 1)
    return [f, *lines, f]


def render(r: Report, title: str = "capfcap report") -> str:
    out = [f"# {title}", ""]
    out.append(f"capfcap {r.version}")
    out.append("")
    out.append("## Capture")
    out.append("")
    out.append("| file | SHA-256 | packets | first | last | link types |")
    out.append("|---|---|---|---|---|---|")
    for c in r.files:
        out.append(f"| {_cell(c.path)} | `{c.sha256}` | {c.packets} | {iso(c.first) or '-'} | "
                   f"{iso(c.last) or '-'} | {_cell(', '.join(c.linktypes))} |")
    for n in r.notes:
        out.append("")
        out.append(f"> Note: {_cell(n)}")
    out.append("")
    out.append("## Phones")
    out.append("")
    if not r.phones:
        out.append("No phone traffic (trust-list/config downloads or CAPF/TVS connections) "
                   "was found.")
    else:
        out.append("| IP | MAC | device | worst finding | verdict |")
        out.append("|---|---|---|---|---|")
        for p in r.phones:
            w = r.worst_for(p.ip)
            out.append(f"| {_cell(p.ip)} | {_cell(p.mac or '-')} | {_cell(p.device or '-')} | "
                       f"{w.code if w else '-'} | {_cell(p.verdict)} |")
    for p in r.phones:
        out.append("")
        out.append(f"### Timeline {_cell(p.device or p.ip)} ({_cell(p.ip)})")
        out.append("")
        rows = []
        for e in p.timeline:
            mark = OUTCOME_LABELS.get(e.outcome, "")
            rows.append(f"{e.frame:>7}  {(iso(e.ts) or '')[11:23]}  {mark:<4}  "
                        f"{e.what.replace(chr(10), ' ')}")
        out += _fence(rows)
    out.append("")
    out.append("## Findings")
    for sev in sorted(SEVERITY_ORDER, key=SEVERITY_ORDER.__getitem__):
        fs = [f for f in r.findings if f.severity == sev]
        if not fs:
            continue
        out.append("")
        out.append(f"### {sev.capitalize()} ({len(fs)})")
        for f in fs:
            who = f.phone.get("device") or f.phone.get("ip") or "capture"
            out.append("")
            out.append(f"#### {f.code} — {_cell(who)}")
            out.append("")
            out.append(f"**{_cell(f.summary)}**")
            out.append("")
            out.append("  \n".join(esc(ln) for ln in f.detail.split("\n")))
            out.append("")
            out.append(f"- Remediation: {_cell(f.remediation)}")
            out.append(f"- Frames: {frames_text(f.evidence.frames)}")
            out.append(f"- Wireshark filter: {code(f.evidence.filter)}")
            if f.evidence.conn_state:
                out.append(f"- Zeek conn_state/history: {_cell(f.evidence.conn_state)} / "
                           f"{_cell(str(f.evidence.history))}")
            if "crosscheck" in f.extra:
                out.append(f"- Crosscheck: {_cell(str(f.extra['crosscheck']))}")
    if not r.findings:
        out.append("")
        out.append("No findings.")
    if r.withheld:
        out.append("")
        out.append("## Withheld verdicts")
        out.append("")
        for wh in r.withheld:
            out.append("- " + _cell(f"{wh.get('code')} for {wh.get('phone')}: {wh.get('reason')}"))
    out.append("")
    return "\n".join(out)
