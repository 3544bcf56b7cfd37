"""`--format markdown`: pastes into Jira, ServiceNow or GitHub and reads as plain text."""

from __future__ import annotations

from capfcap.findings import SEVERITY_ORDER
from capfcap.report import OUTCOME_LABELS, Report, frames_text, iso


def _cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


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
        out.append(f"> Note: {n}")
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
            out.append(f"| {p.ip} | {p.mac or '-'} | {p.device or '-'} | "
                       f"{w.code if w else '-'} | {_cell(p.verdict)} |")
    for p in r.phones:
        out.append("")
        out.append(f"### Timeline {p.device or p.ip} ({p.ip})")
        out.append("")
        out.append("```")
        for e in p.timeline:
            mark = OUTCOME_LABELS.get(e.outcome, "")
            out.append(f"{e.frame:>7}  {(iso(e.ts) or '')[11:23]}  {mark:<4}  {e.what}")
        out.append("```")
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
            out.append(f"#### {f.code} — {who}")
            out.append("")
            out.append(f"**{f.summary}**")
            out.append("")
            out.append(f.detail.replace("\n", "  \n"))
            out.append("")
            out.append(f"- Remediation: {f.remediation}")
            out.append(f"- Frames: {frames_text(f.evidence.frames)}")
            out.append(f"- Wireshark filter: `{f.evidence.filter}`")
            if f.evidence.conn_state:
                out.append(f"- Zeek conn_state/history: {f.evidence.conn_state} / "
                           f"{f.evidence.history}")
            if "crosscheck" in f.extra:
                out.append(f"- Crosscheck: {f.extra['crosscheck']}")
    if not r.findings:
        out.append("")
        out.append("No findings.")
    if r.withheld:
        out.append("")
        out.append("## Withheld verdicts")
        out.append("")
        for wh in r.withheld:
            out.append(f"- {wh.get('code')} for {wh.get('phone')}: {wh.get('reason')}")
    out.append("")
    return "\n".join(out)
