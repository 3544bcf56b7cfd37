"""The fleet summary of `analyze --each`: what each capture's report says, in a few
numbers, and phones grouped by verdict and cause across captures.

A `CaptureSummary` is built from a finished Report in the process that analysed it (it
is small: it crosses the process boundary instead of the report); the fleet is computed
from the summaries, in input order, so the result is the same however many processes ran.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from capfcap import exitcodes
from capfcap.findings import SEVERITY_ORDER, worst_by_phone
from capfcap.report import Report

NO_FINDING = ""  # the cause of a phone without a finding
# a verdict's head ends where its particulars start (timeline.verdict: "head: detail",
# "head (detail)", "head; also ...", "head, but ...")
_HEAD_END = re.compile(r":|\s\(|;|,")


@dataclass(frozen=True)
class PhoneLine:
    verdict: str  # the head of the phone's verdict line ("LSC install blocked")
    cause: str  # the code of its most severe finding, NO_FINDING when none
    severity: str  # that finding's severity, "" when none


@dataclass
class CaptureSummary:
    path: str
    status: int  # the capture's own exit status (exitcodes)
    error: str = ""  # why it could not be analysed (unreadable input, a bug)
    phones: list[PhoneLine] = field(default_factory=list)
    findings: dict[str, int] = field(default_factory=dict)  # by severity
    unmatched: list[str] = field(default_factory=list)  # --phone values matching no phone

    @property
    def analysed(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class Group:
    """Phones sharing a verdict and a cause, over all captures."""

    verdict: str
    cause: str
    severity: str
    phones: int
    captures: tuple[str, ...]  # in input order


def verdict_head(verdict: str) -> str:
    return _HEAD_END.split(verdict, maxsplit=1)[0].strip()


def summarise(path: str, r: Report, status: int) -> CaptureSummary:
    phones = []
    worst = worst_by_phone(r.findings)
    for p in r.phones:
        w = worst.get(p.ip)
        phones.append(PhoneLine(verdict_head(p.verdict), w.code if w else NO_FINDING,
                                w.severity if w else ""))
    counts = {s: 0 for s in SEVERITY_ORDER}
    for f in r.findings:
        counts[f.severity] += 1
    return CaptureSummary(path, status, phones=phones, findings=counts,
                          unmatched=list(r.unmatched_phones))


def failed(path: str, status: int, error: str) -> CaptureSummary:
    """A capture that could not be analysed."""
    return CaptureSummary(path, status, error=error)


def _rank(severity: str) -> int:
    return SEVERITY_ORDER.get(severity, len(SEVERITY_ORDER))


def groups(captures: list[CaptureSummary]) -> list[Group]:
    """Most severe first, then the most phones; ties by cause and verdict."""
    count: dict[tuple[str, str, str], int] = {}
    where: dict[tuple[str, str, str], list[str]] = {}
    for c in captures:
        for p in c.phones:
            k = (p.verdict, p.cause, p.severity)
            count[k] = count.get(k, 0) + 1
            if c.path not in where.setdefault(k, []):
                where[k].append(c.path)
    out = [Group(v, cause, sev, n, tuple(where[(v, cause, sev)]))
           for (v, cause, sev), n in count.items()]
    return sorted(out, key=lambda g: (_rank(g.severity), -g.phones, g.cause, g.verdict))


def worst_first(captures: list[CaptureSummary]) -> list[CaptureSummary]:
    """Captures by their status's precedence (exitcodes.worst), then most errors, then
    most warnings; ties keep the input order."""
    return sorted(captures, key=lambda c: (exitcodes.PRECEDENCE.index(c.status),
                                           -c.findings.get("error", 0),
                                           -c.findings.get("warning", 0)))


def unmatched_everywhere(captures: list[CaptureSummary]) -> list[str]:
    """--phone values that match no phone in any capture that was analysed."""
    done = [c for c in captures if c.analysed]
    if not done:
        return []
    return [v for v in done[0].unmatched if all(v in c.unmatched for c in done[1:])]
