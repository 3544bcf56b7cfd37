"""What `capfcap live` shows: a line (or JSON object) per finding, or a terminal table
of phones with their stage and worst finding (rich)."""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Iterable
from typing import IO

from capfcap.findings import Finding, worst_by_phone
from capfcap.report import PhoneReport, Report
from capfcap.reporters import groups

DONE_CODES = frozenset({"CAPF_LSC_ISSUED", "CAPF_NO_CERTIFICATE"})
STAGES = (("trust", "trust list"), ("config", "config"), ("dns", "DNS"), ("capf", "CAPF"))
_STAGE_INDEX = {k: i for i, (k, _n) in enumerate(STAGES)}


def finding_key(f: Finding) -> tuple[object, ...]:
    first = f.evidence.frames[0] if f.evidence.frames else f.summary
    return (f.code, f.phone.get("ip", ""), json.dumps(f.server, sort_keys=True), first)


def done_phones(findings: Iterable[Finding]) -> set[str]:
    """The IPs of the phones whose CAPF session came to an end (`DONE_CODES`)."""
    return {f.phone.get("ip", "") for f in findings if f.code in DONE_CODES}


def stage_of(p: PhoneReport, done: Collection[str]) -> str:
    """How far the phone got: trust list, config, DNS, CAPF, done (`done`: the IPs of
    `done_phones`)."""
    if p.ip in done:
        return "done"
    best = max((_STAGE_INDEX[e.stage] for e in p.timeline if e.stage in _STAGE_INDEX),
               default=-1)
    return STAGES[best][1] if best >= 0 else "-"


def finding_line(f: Finding) -> str:
    srv = ""
    if f.server.get("ip"):
        srv = f" -> {f.server['ip']}" + (f":{f.server['port']}" if f.server.get("port") else "")
    frames = ", ".join(map(str, f.evidence.frames[:10])) + (
        " ..." if len(f.evidence.frames) > 10 else "")
    who = f.phone.get("ip", "capture")
    return f"{f.severity.upper():7} {f.code}  {who}{srv}  {f.summary}" + (
        f"  [frames {frames}]" if frames else "")


def finding_json(f: Finding) -> str:
    from capfcap.reporters.json import finding_dict

    return json.dumps(finding_dict(f), ensure_ascii=False, sort_keys=False)


# -- display ---------------------------------------------------------------------------------
class LineView:
    """One line per finding (text), or one JSON object per line (jsonl)."""

    def __init__(self, out: IO[str], jsonl: bool) -> None:
        self.out = out
        self.jsonl = jsonl

    def finding(self, f: Finding) -> None:
        self.out.write((finding_json(f) if self.jsonl else finding_line(f)) + "\n")
        self.out.flush()

    def message(self, text: str) -> None:
        print(f"capfcap: {text}", file=sys.stderr, flush=True)

    def update(self, r: Report, status: str) -> None:
        pass

    def close(self) -> None:
        pass


def table_rows(r: Report) -> list[tuple[str, str, str, str]]:
    """The terminal table's rows (phone, device, stage, worst finding): one a phone, but
    one for each set of `groups.GROUP_MIN` or more phones at the same stage with the same
    worst finding against the same server (a rollout gone wrong for thousands of phones
    is a few rows, not a screen per second of thousands)."""
    worst_of = worst_by_phone(r.findings)  # once, not a scan of the findings per phone
    done = done_phones(r.findings)
    keyed: dict[tuple[str, ...], list[PhoneReport]] = {}
    shown: list[tuple[PhoneReport, str, Finding | None, tuple[str, ...]]] = []
    for p in r.phones:
        w = worst_of.get(p.ip)
        stage = stage_of(p, done)
        key = (stage, *((w.severity, w.code, str(w.server.get("ip", "")),
                         str(w.server.get("port", ""))) if w else ()))
        keyed.setdefault(key, []).append(p)
        shown.append((p, stage, w, key))
    rows: list[tuple[str, str, str, str]] = []
    for p, stage, w, key in shown:
        same = keyed[key]
        if len(same) < groups.GROUP_MIN:
            worst = f"{w.severity.upper()} {w.code}: {w.summary}" if w else "-"
            rows.append((p.ip, p.device or p.mac, stage, worst))
        elif same[0] is p:
            names = groups.phones_line(same, name=lambda q: q.ip)
            worst = f"{w.severity.upper()} {groups.cause_line(w)}" if w else "-"
            rows.append((f"{len(same):,} phones: {names}", "-", stage, worst))
    return rows


class RichView:
    """A terminal view: one row per phone (stage, worst finding), findings above it."""

    def __init__(self, out: IO[str], color: str) -> None:
        from rich.console import Console
        from rich.live import Live

        force = {"always": True, "never": False}.get(color)
        self.console = Console(file=out, force_terminal=force if force else None,
                               no_color=color == "never")
        self.live = Live(console=self.console, auto_refresh=False, transient=True,
                         redirect_stdout=False, redirect_stderr=False)
        self.live.start()

    def finding(self, f: Finding) -> None:
        from rich.text import Text

        style = {"error": "bold red", "warning": "yellow", "info": "cyan"}[f.severity]
        t = Text()
        t.append(f"{f.severity.upper():7} {f.code}", style=style)
        t.append(finding_line(f)[8 + len(f.code):])
        self.live.console.print(t)

    def message(self, text: str) -> None:
        self.live.console.print(f"[yellow]capfcap: {text}[/]")

    def update(self, r: Report, status: str) -> None:
        from rich.table import Table

        tab = Table(title=status, title_justify="left", expand=False)
        for col in ("phone", "device", "stage", "worst finding"):
            tab.add_column(col, overflow="fold")
        for row in table_rows(r):
            tab.add_row(*row)
        self.live.update(tab, refresh=True)

    def close(self) -> None:
        self.live.stop()
