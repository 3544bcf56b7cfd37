"""`--format text`: a rich terminal report, per phone, timeline first. Only renders."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from capfcap.findings import SEVERITY_ORDER, Finding
from capfcap.report import PhoneReport, Report, frames_text, iso

SEV_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
OUTCOME = {"ok": ("ok", "green"), "failed": ("FAIL", "red"), "info": ("--", "dim")}


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
    con.print(Padding(Text(f"Filter: {f.evidence.filter}"), (0, 0, 0, 2), expand=False))
    if f.evidence.conn_state:
        con.print(Padding(Text(f"conn_state {f.evidence.conn_state}, history "
                               f"{f.evidence.history}"), (0, 0, 0, 2), expand=False))
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
    con.rule(head, align="left")
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


def render(r: Report, out: TextIO, color: bool | None = None, width: int | None = None) -> None:
    con = Console(file=out, force_terminal=color, no_color=color is False,
                  width=width or min(100, Console(file=out).width or 80), highlight=False,
                  soft_wrap=False)
    for c in r.files:
        con.print(Text(f"{c.path}: {c.packets} frames, {c.format}, "
                       f"{', '.join(c.linktypes)}, {iso(c.first) or '-'} .. {iso(c.last) or '-'}",
                       style="dim"))
        con.print(Text(f"  sha256 {c.sha256}", style="dim"))
    for n in r.notes:
        con.print(Text("Note: " + n, style="yellow"))
    con.print()
    if not r.phones:
        con.print("No phone traffic found (no trust-list/config downloads, no CAPF or TVS "
                  "connections).")
    for p in r.phones:
        _phone(con, p, [f for f in r.findings if f.phone.get("ip") == p.ip])
    other = [f for f in r.findings if not f.phone.get("ip")]
    if other:
        con.rule(Text("Capture", style="bold"), align="left")
        for f in other:
            _finding(con, f)
    if r.withheld:
        con.rule(Text("Withheld verdicts", style="bold"), align="left")
        for w in r.withheld:
            con.print(Text(f"{w.get('code')} for {w.get('phone')}: {w.get('reason')}"))
        con.print()
    counts = {s: sum(1 for f in r.findings if f.severity == s) for s in SEVERITY_ORDER}
    con.print(Text(f"{len(r.phones)} phone(s); {counts['error']} error(s), "
                   f"{counts['warning']} warning(s), {counts['info']} info", style="bold"))
