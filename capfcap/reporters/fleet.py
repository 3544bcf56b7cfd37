"""The fleet summary of `analyze --each` as text, Markdown and JSON. Only renders what
capfcap.fleet computed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from capfcap import exitcodes
from capfcap.fleet import NO_FINDING, CaptureSummary, Group, groups, worst_first
from capfcap.reporters.summary import code, esc

SCHEMA = "capfcap.fleet/1"
_STATUS_WORDS = {exitcodes.OK: "clean", exitcodes.WARNINGS: "warnings",
                 exitcodes.ERRORS: "errors", exitcodes.BAD_INPUT: "damaged",
                 exitcodes.INTERNAL: "failed", exitcodes.USAGE: "usage"}


def status_word(c: CaptureSummary) -> str:
    if c.status == exitcodes.BAD_INPUT and not c.analysed:
        return "unreadable"
    return _STATUS_WORDS.get(c.status, f"status {c.status}")


def _cause(g: Group) -> str:
    return g.cause if g.cause != NO_FINDING else "(no finding)"


def _headline(captures: list[CaptureSummary]) -> str:
    phones = sum(len(c.phones) for c in captures)
    missed = sum(1 for c in captures if not c.analysed)
    not_done = f" ({missed} not analysed)" if missed else ""
    return (f"{len(captures)} capture{'s' if len(captures) != 1 else ''}{not_done}, "
            f"{phones} phone{'s' if phones != 1 else ''}; exit status "
            f"{exitcodes.worst([c.status for c in captures])}")


def _counts(c: CaptureSummary) -> tuple[str, str, str]:
    if not c.analysed:
        return "-", "-", "-"
    return (str(c.findings.get("error", 0)), str(c.findings.get("warning", 0)),
            str(len(c.phones)))


def _table(rows: Sequence[tuple[str, ...]], right: tuple[int, ...]) -> list[str]:
    """Columns padded to their widest cell, those in `right` right-aligned; the last
    column is never padded (no trailing blanks)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    out = []
    for r in rows:
        cells = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(r, widths, strict=False))]
        out.append("  " + "  ".join([*cells, r[-1]]))
    return out


def render_text(captures: list[CaptureSummary]) -> str:
    out = ["Fleet summary: " + _headline(captures), ""]
    gs = groups(captures)
    if gs:
        out.append("Phones by verdict and cause, most severe first")
        out += _table([("phones", "captures", "severity", "cause", "verdict")]
                      + [(str(g.phones), str(len(g.captures)), g.severity or "-", _cause(g),
                          g.verdict) for g in gs], right=(0, 1))
        out.append("")
    out.append("Captures, worst first")
    rows: list[tuple[str, ...]] = [("status", "errors", "warnings", "phones", "capture")]
    for c in worst_first(captures):
        rows.append((status_word(c), *_counts(c),
                     f"{c.path}: {c.error}" if c.error else c.path))
    out += _table(rows, right=(1, 2, 3))
    return "\n".join(line.rstrip() for line in out) + "\n"


def render_markdown(captures: list[CaptureSummary]) -> str:
    out = ["# Fleet summary", "", esc(_headline(captures)), ""]
    gs = groups(captures)
    if gs:
        out += ["## Phones by verdict and cause", "",
                "| phones | captures | severity | cause | verdict |", "|---|---|---|---|---|"]
        out += [f"| {g.phones} | {len(g.captures)} | {g.severity or '-'} | "
                f"{code(g.cause) if g.cause else '(no finding)'} | {esc(g.verdict)} |"
                for g in gs]
        out.append("")
    out += ["## Captures, worst first", "",
            "| status | errors | warnings | phones | capture |", "|---|---|---|---|---|"]
    for c in worst_first(captures):
        what = esc(c.path) + (": " + esc(c.error) if c.error else "")
        out.append(f"| {status_word(c)} | {' | '.join(_counts(c))} | {what} |")
    return "\n".join(out) + "\n"


def to_dict(captures: list[CaptureSummary]) -> dict[str, Any]:
    """The summary object of the JSON (`summary`) and JSON Lines (last line) outputs."""
    return {
        "captures": len(captures),
        "analysed": sum(1 for c in captures if c.analysed),
        "phones": sum(len(c.phones) for c in captures),
        "status": exitcodes.worst([c.status for c in captures]),
        "groups": [{"verdict": g.verdict, "cause": g.cause or None,
                    "severity": g.severity or None, "phones": g.phones,
                    "captures": list(g.captures)} for g in groups(captures)],
        "files": [{"path": c.path, "status": c.status, "result": status_word(c),
                   "error": c.error or None, "phones": len(c.phones),
                   "findings": dict(c.findings)} for c in worst_first(captures)],
    }
