"""`summary.md` of the ticket bundle: pastes into Jira or ServiceNow, reads as plain text.

Plain Markdown only (no HTML): headings, short lists, one narrow table, lines wrapped at
100 columns. Text that came from the capture is escaped so it cannot become markup.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from capfcap.findings import SEVERITY_ORDER, Finding, worst_by_phone
from capfcap.report import Report, frames_text, iso
from capfcap.reporters import groups

WIDTH = 100
MAX_FRAMES_LISTED = 60
OBJECTS_PER_GROUP = 10  # objects listed by name per kind and server; the rest counted
_CTRL = re.compile(r"[\x00-\x1f\x7f]")
_PLURAL = {"error": "errors", "warning": "warnings", "info": "info"}


class Listed(NamedTuple):
    """A file of the bundle's objects/ folder as the summary lists it."""

    path: str  # in the zip
    what: str  # its description
    group: str  # the files of its kind from its server ("CONFIG files from ... over TFTP")


@dataclass
class BundleFacts:
    """What the bundle holds besides the report (filled by bundle.archive)."""

    evidence_frames: int = 0
    objects: list[Listed] = field(default_factory=list)
    objects_omitted: int = 0  # past the bound on carved objects (correlator/objects.py)
    redactions: list[str] = field(default_factory=list)  # empty: not redacted
    problems: list[str] = field(default_factory=list)


def _omitted(facts: BundleFacts) -> str:
    if not facts.objects_omitted:
        return ""
    kept = len(facts.objects)
    return (f" They are {kept} of the {kept + facts.objects_omitted} files and certificates "
            "seen on the wire: a bundle keeps trust lists and certificates first, then "
            "configs in frame order, up to its bound.")


def _by_group(objects: list[Listed]) -> dict[str, list[Listed]]:
    """The objects by kind and server, groups in the order of their first object."""
    out: dict[str, list[Listed]] = {}
    for o in objects:
        out.setdefault(o.group, []).append(o)
    return out


def _clean(s: str) -> str:
    return _CTRL.sub(" ", s)


def esc(s: str) -> str:
    """Untrusted text as inert Markdown: no HTML, no emphasis, no links, no block markup
    (`>` and `#` only where they could start one, so arrows stay readable as text)."""
    s = re.sub(r"([\\`*<\[\]|])", r"\\\1", _clean(s))
    return re.sub(r"(^|\s)([>#])", r"\1\\\2", s)


def code(s: str) -> str:
    """An inline code span whose fence is longer than any backtick run inside it."""
    s = _clean(s)
    runs = [len(m) for m in re.findall(r"`+", s)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def by_severity(r: Report) -> list[tuple[str, list[Finding]]]:
    """The report's findings of each severity that has any, worst first."""
    order = sorted(SEVERITY_ORDER, key=SEVERITY_ORDER.__getitem__)
    fs: dict[str, list[Finding]] = {s: [] for s in order}
    for f in r.findings:
        fs[f.severity].append(f)
    return [(s, fs[s]) for s in order if fs[s]]


def _wrap(text: str, first: str = "", rest: str = "") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False) or [first.rstrip()]


def _counts(r: Report) -> str:
    c = {s: sum(1 for f in r.findings if f.severity == s) for s in SEVERITY_ORDER}
    return ", ".join(f"{c[s]} {s if c[s] == 1 else _PLURAL[s]}" for s in SEVERITY_ORDER)


def _who(phone: dict[str, str]) -> str:
    ip = phone.get("ip", "")
    dev = phone.get("device", "")
    if dev and ip:
        return f"{dev} ({ip})"
    return dev or ip or "capture"


def overall_verdict(r: Report) -> str:
    """The one line that heads the summary and the evidence file's section comment."""
    head = f"capfcap: {_counts(r)}"
    if not r.phones:
        return head + "; no phone traffic (trust-list/config downloads, CAPF or TVS) found"
    grouping = groups.group(r)
    parts = [groups.headline(g) if g else f"{_who(p.ident())}: {p.verdict or 'no verdict'}"
             for p, g in grouping.printed(r.phones)]
    return _clean(head + "; " + "; ".join(parts))


def _finding(n: int, f: Finding, g: groups.Group | None = None) -> list[str]:
    who = esc(_who(f.phone))
    if g is not None:
        who = f"{len(g.phones):,} phones, as on the first, {who}"
    out = ["", f"#### {n}. {f.code}: {who}", ""]
    out += _wrap(esc(f.summary))
    for para in f.detail.splitlines():
        if para.strip():
            out.append("")
            out += _wrap(esc(para.strip()))
    out.append("")
    out += _wrap("Remediation: " + esc(f.remediation), "- ", "  ")
    listed = frames_text(f.evidence.frames, MAX_FRAMES_LISTED)
    out += _wrap(f"Frames: {listed}", "- ", "  ")
    # a code span may span lines (CommonMark 6.1): wrapped here, one line when rendered
    out += _wrap(f"Wireshark filter: {code(f.evidence.filter)}", "- ", "  ")
    if f.evidence.first is not None:
        out.append(f"- Time: {iso(f.evidence.first)} to {iso(f.evidence.last)}")
    if f.evidence.conn_state:
        out.append(f"- Zeek conn_state/history: {esc(f.evidence.conn_state)} / "
                   f"{esc(f.evidence.history or '')}")
    if "crosscheck" in f.extra:
        out += _wrap("Crosscheck: " + esc(str(f.extra["crosscheck"])), "- ", "  ")
    if g is not None:
        out += _group_lines(g)
    return out


def _group_lines(g: groups.Group) -> list[str]:
    return [ln for t in groups.group_facts(g) for ln in _wrap(esc(t), "- ", "  ")]


def _capture(r: Report) -> list[str]:
    """The capture files (format, link types, hash, span, damage) and the report's notes."""
    out: list[str] = []
    out += ["", "## Capture", ""]
    for c in r.files:
        name = os.path.basename(c.path) or c.path
        out.append(f"- {code(name)} ({esc(c.format or 'unknown format')}, "
                   f"{esc(', '.join(c.linktypes) or 'no link type')})")
        out.append(f"  - SHA-256: {code(c.sha256)}")
        out.append(f"  - {c.packets} packets, {iso(c.first) or '-'} to {iso(c.last) or '-'}")
        if c.error:
            out += _wrap("Damaged: " + esc(c.error), "  - ", "    ")
    for note in r.notes:
        out.append("")
        out += _wrap("Note: " + esc(note))
    return out


def _phones(r: Report, grouping: groups.Grouping) -> list[str]:
    """A table of the phones with each one's worst finding, then each phone's verdict (a
    group of phones with one cause: one row and one verdict)."""
    out: list[str] = []
    out += ["", "## Phones", ""]
    if not r.phones:
        out += _wrap("No phone traffic (trust-list/config downloads, CAPF or TVS connections) "
                     "was found.")
    else:
        out.append("| IP | MAC | device | worst finding |")
        out.append("|---|---|---|---|")
        worst = worst_by_phone(r.findings)
        printed = grouping.printed(r.phones)
        for p, g in printed:
            w = worst.get(p.ip)
            worst_text = f"{w.code} ({w.severity})" if w else "none"
            if g is None:
                out.append(f"| {esc(p.ip)} | {esc(p.mac or '-')} | {esc(p.device or '-')} | "
                           f"{worst_text} |")
            else:
                phones = esc(groups.phones_line(g.phones))
                out.append(f"| {len(g.phones):,} phones: {phones} | - | - | {worst_text} |")
        out.append("")
        for p, g in printed:
            line = (f"{esc(groups.headline(g))}; first phone {esc(_who(p.ident()))}: "
                    if g else f"{esc(_who(p.ident()))}: ")
            out += _wrap(line + esc(p.verdict or "no verdict"), "- ", "  ")
    return out


def render_summary(r: Report, facts: BundleFacts, paths: Sequence[str] = ()) -> str:
    out = ["# capfcap ticket summary", ""]
    out += _wrap("**Verdict:** " + esc(overall_verdict(r).removeprefix("capfcap: ")))
    out.append("")
    out += _wrap(
        f"Made by capfcap {r.version or '(unknown version)'}. This bundle holds findings.json "
        f"(the machine-readable report), evidence.pcapng (the {facts.evidence_frames} frames "
        "the findings cite, original bytes and timestamps; each packet comment names its "
        "finding and its frame number in the original capture) and "
        f"{len(facts.objects)} file(s) in objects/." + _omitted(facts))
    grouping = groups.group(r)
    out += _capture(r)
    out += _phones(r, grouping)
    out += ["", "## Findings"]
    n = 0
    for sev, fs in by_severity(r):
        out += ["", f"### {_PLURAL[sev].capitalize()} ({len(fs)})"]
        for f in fs:
            g = grouping.group_of.get(f.phone.get("ip", ""))
            if g is not None and f.phone.get("ip") != g.lead.ip:
                continue  # told with the group's first phone
            n += 1
            out += _finding(n, f, g)
    if not r.findings:
        out += ["", "No findings."]
    withheld = groups.withheld_texts(r, grouping)
    if withheld:
        out += ["", "## Withheld verdicts", ""]
        for text in withheld:
            out += _wrap(esc(text), "- ", "  ")
    if facts.objects:
        out += ["", "## Objects", ""]
        for group, listed in _by_group(facts.objects).items():
            for o in listed[:OBJECTS_PER_GROUP]:
                out += _wrap(f"{code(o.path)}: {esc(o.what)}", "- ", "  ")
            if len(listed) > OBJECTS_PER_GROUP:
                out += _wrap(f"and {len(listed) - OBJECTS_PER_GROUP} more {esc(group)} "
                             "(in objects/)", "- ", "  ")
    if facts.redactions:
        out += ["", "## Redaction", ""]
        for line in facts.redactions:
            out += _wrap(esc(line), "- ", "  ")
    if facts.problems:
        out += ["", "## Problems while writing this bundle", ""]
        for line in facts.problems:
            out += _wrap(esc(line), "- ", "  ")
    out.append("")
    return "\n".join(out)
