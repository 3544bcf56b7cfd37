"""`--format markdown`: pastes into Jira, ServiceNow or GitHub and reads as plain text."""

from __future__ import annotations

import re

from capfcap.findings import SEVERITY_ORDER, Finding
from capfcap.report import OUTCOME_LABELS, PhoneReport, Report, frames_text, iso
from capfcap.reporters import groups
from capfcap.reporters.summary import by_severity, code, esc


def _cell(s: str) -> str:
    """Capture-derived text as an inert table cell (no HTML, no markup, no line break)."""
    return esc(s.replace("\n", " "))


def _fence(lines: list[str]) -> list[str]:
    """A fenced block longer than any backtick run inside it (CommonMark 4.5)."""
    runs = [len(r) for ln in lines for r in re.findall(r"`{3,}", ln)]
    f = "`" * max(3, max(runs, default=0) + 1)
    return [f, *lines, f]


def _phone_row(p: PhoneReport, w: Finding | None, g: groups.Group | None) -> str:
    """A phone's row, or its group's (reporters/groups.py) at its first phone's place."""
    worst = w.code if w else "-"
    if g is None:
        return (f"| {_cell(p.ip)} | {_cell(p.mac or '-')} | {_cell(p.device or '-')} | "
                f"{worst} | {_cell(p.verdict)} |")
    phones = _cell(groups.phones_line(g.phones))
    return (f"| {len(g.phones):,} phones: {phones} | - | - | {worst} | "
            f"{_cell(p.verdict)} (first phone) |")


def _group_lines(g: groups.Group) -> list[str]:
    return ["- " + _cell(t) for t in groups.group_facts(g)]


def _finding_lines(f: Finding, g: groups.Group | None) -> list[str]:
    who = f.phone.get("device") or f.phone.get("ip") or "capture"
    head = f"{len(g.phones):,} phones, as on the first, {_cell(who)}" if g else _cell(who)
    out = ["", f"#### {f.code} — {head}", "", f"**{_cell(f.summary)}**", "",
           "  \n".join(esc(ln) for ln in f.detail.split("\n")), "",
           f"- Remediation: {_cell(f.remediation)}",
           f"- Frames: {frames_text(f.evidence.frames)}",
           f"- Wireshark filter: {code(f.evidence.filter)}"]
    if f.evidence.conn_state:
        out.append(f"- Zeek conn_state/history: {_cell(f.evidence.conn_state)} / "
                   f"{_cell(str(f.evidence.history))}")
    if "crosscheck" in f.extra:
        out.append(f"- Crosscheck: {_cell(str(f.extra['crosscheck']))}")
    return out + (_group_lines(g) if g else [])


def _findings(r: Report, grouping: groups.Grouping) -> list[str]:
    """Findings by severity; a group's are told once, with its first phone's as example."""
    out = ["", "## Findings"]
    for sev, fs in by_severity(r):
        out += ["", f"### {sev.capitalize()} ({len(fs)})"]
        for f in fs:
            g = grouping.group_of.get(f.phone.get("ip", ""))
            if g is not None and f.phone.get("ip") != g.lead.ip:
                continue
            out += _finding_lines(f, g)
    if not r.findings:
        out += ["", "No findings."]
    return out


def _withheld(r: Report, grouping: groups.Grouping) -> list[str]:
    out = ["- " + _cell(t) for t in groups.withheld_texts(r, grouping)]
    return ["", "## Withheld verdicts", "", *out] if out else []


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
    grouping = groups.group(r)
    if not r.phones:
        out.append("No phone traffic (trust-list/config downloads or CAPF/TVS connections) "
                   "was found.")
    else:
        out.append("| IP | MAC | device | worst finding | verdict |")
        out.append("|---|---|---|---|---|")
        for p, g in grouping.printed(r.phones):
            w = min(grouping.by_phone.get(p.ip, []), default=None,
                    key=lambda f: SEVERITY_ORDER[f.severity])
            out.append(_phone_row(p, w, g))
    for p, g in grouping.printed(r.phones):
        out.append("")
        of = f", first of {len(g.phones):,} phones" if g else ""
        out.append(f"### Timeline {_cell(p.device or p.ip)} ({_cell(p.ip)}){of}")
        out.append("")
        rows = []
        for e in p.timeline:
            mark = OUTCOME_LABELS.get(e.outcome, "")
            rows.append(f"{e.frame:>7}  {(iso(e.ts) or '')[11:23]}  {mark:<4}  "
                        f"{e.what.replace(chr(10), ' ')}")
        out += _fence(rows)
    out += _findings(r, grouping)
    out += _withheld(r, grouping)
    out.append("")
    return "\n".join(out)
