"""`--format text`: a rich terminal report, per phone, timeline first. Only renders."""

from __future__ import annotations

import io
from typing import TextIO

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from capfcap.findings import SEVERITY_ORDER, Finding
from capfcap.report import OUTCOME_LABELS, CaptureInfo, PhoneReport, Report, frames_text, iso
from capfcap.reporters import groups
from capfcap.terminal import UNWRAPPED, strip_trailing

SEV_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
OUTCOME = {k: (label, {"ok": "green", "failed": "red"}.get(k, "dim"))
           for k, label in OUTCOME_LABELS.items()}


def _finding(con: Console, f: Finding) -> None:
    t = Text()
    t.append(f"{f.severity.upper():7} ", style=SEV_STYLE[f.severity])
    t.append(f.code, style="bold")
    con.print(t)
    con.print(Padding(Text(f.summary), (0, 0, 0, 2), expand=False))
    for line in f.detail.splitlines():
        con.print(Padding(Text(line, style="dim"), (0, 0, 0, 4), expand=False))
    con.print(Padding(Text("Fix: " + f.remediation), (0, 0, 0, 2), expand=False))
    con.print(Padding(Text(f"Frames: {frames_text(f.evidence.frames, 30)}"), (0, 0, 0, 2),
                      expand=False))
    # a display filter is copied as it is: never broken across lines
    con.print(Text(f"  Filter: {f.evidence.filter}", no_wrap=True, overflow="ignore"),
              soft_wrap=True)
    state = f"conn_state {f.evidence.conn_state}, history {f.evidence.history}"
    if f.evidence.conn_state and state not in f.detail:
        con.print(Padding(Text(state), (0, 0, 0, 2), expand=False))
    for k in ("confidence", "crosscheck"):
        if k in f.extra:
            con.print(Padding(Text(f"{k.capitalize()}: {f.extra[k]}"), (0, 0, 0, 2), expand=False))
    con.print()


def _phone(con: Console, p: PhoneReport, findings: list[Finding]) -> None:
    head = Text()
    head.append(f"Phone {p.ip}", style="bold")
    if p.device:
        head.append(f"  {p.device}")
    if p.mac:
        head.append(f"  {p.mac}")
    _rule(con, head)
    worst = min((f.severity for f in findings), key=SEVERITY_ORDER.__getitem__, default=None)
    con.print(Text("Verdict: " + p.verdict, style=SEV_STYLE.get(worst or "", "green")))
    if p.timeline:
        tb = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        tb.add_column("frame", justify="right", no_wrap=True)
        tb.add_column("time", no_wrap=True)
        tb.add_column("", no_wrap=True)
        tb.add_column("what", overflow="fold")
        for e in p.timeline:
            label, style = OUTCOME.get(e.outcome, ("", ""))
            tb.add_row(str(e.frame), (iso(e.ts) or "")[11:23], Text(label, style=style),
                       e.what)
        con.print(tb)
    con.print()
    for f in findings:
        _finding(con, f)


def _group(con: Console, g: groups.Group) -> None:
    """Phones with one cause key (reporters/groups.py): one block, the first phone as the
    example."""
    _rule(con, Text(groups.headline(g), style="bold"))
    worst = g.worst()
    con.print(Text("Phones: " + groups.phones_line(g.phones)))
    con.print(Text("First frames: " + groups.frames_line(g)))
    con.print(Text(f"First phone {groups.phone_name(g.lead)}: " + g.lead.verdict,
                   style=SEV_STYLE.get(worst.severity if worst else "", "green")))
    for w in g.withheld:
        if str(w.get("reason")) not in g.lead.verdict:
            con.print(Text(f"Withheld {w.get('code')}: {w.get('reason')}"))
    con.print()
    for f in g.findings:
        _finding(con, f)
    con.print(Text("Each phone in full: " + groups.DETAIL_HINT, style="dim"))
    con.print()


def _rule(con: Console, title: Text) -> None:
    """A heading rule across the width; unwrapped output gets a short one (no padding)."""
    if con.width >= UNWRAPPED:
        con.print(Text("── ").append_text(title))
    else:
        con.rule(title, align="left")


def _file_header(con: Console, c: CaptureInfo) -> None:
    """`path: N frames, format, link types` and its time span; the span goes on its own
    line rather than the line breaking inside the list of link types."""
    what = f"{c.path}: {c.packets} frames, {c.format}, {', '.join(c.linktypes)}"
    span = f"{iso(c.first) or '-'} .. {iso(c.last) or '-'}"
    if len(what) + 2 + len(span) <= con.width:
        con.print(Text(f"{what}, {span}", style="dim"))
    else:
        con.print(Text(what, style="dim", no_wrap=True, overflow="ignore"), soft_wrap=True)
        con.print(Text(f"  {span}", style="dim"))


def render(r: Report, out: TextIO, color: bool | None = None, width: int | None = None) -> None:
    """`width`: the terminal's columns; None writes unwrapped lines (a pipe or a file)."""
    buf = io.StringIO()
    con = Console(file=buf, force_terminal=bool(color), no_color=not color,
                  width=width or UNWRAPPED, highlight=False, soft_wrap=False)
    _body(con, r)
    out.write(strip_trailing(buf.getvalue()))


def _body(con: Console, r: Report) -> None:
    for c in r.files:
        _file_header(con, c)
        con.print(Text(f"  sha256 {c.sha256}", style="dim"))
    for n in r.notes:
        con.print(Text("Note: " + n, style="yellow"))
    con.print()
    if not r.phones:
        con.print("No phone traffic found (no trust-list/config downloads, no CAPF or TVS "
                  "connections).")
    grouping = groups.group(r)
    for p in r.phones:
        g = grouping.leads(p)
        if g is not None:
            _group(con, g)
        elif not grouping.grouped(p.ip):
            _phone(con, p, grouping.by_phone.get(p.ip, []))
    other = [f for f in r.findings if not f.phone.get("ip")]
    if other:
        _rule(con, Text("Capture", style="bold"))
        for f in other:
            _finding(con, f)
    if any(not grouping.grouped(w.get("phone")) for w in r.withheld):
        _rule(con, Text("Withheld verdicts", style="bold"))
        for w in r.withheld:
            if grouping.grouped(w.get("phone")):
                continue  # told in its group's block
            con.print(Text(f"{w.get('code')} for {w.get('phone')}: {w.get('reason')}"))
        con.print()
    counts = {s: sum(1 for f in r.findings if f.severity == s) for s in SEVERITY_ORDER}
    con.print(Text(f"{len(r.phones)} phone(s); {counts['error']} error(s), "
                   f"{counts['warning']} warning(s), {counts['info']} info", style="bold"))
