"""Findings (DESIGN §4): the codes are stable API.

What a finding is (its code, phone, server, texts and evidence frames). Each code's
severity, meaning and fix are in `capfcap.catalog.CATALOG`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Evidence:
    frames: tuple[int, ...]
    first: int | None  # ns
    last: int | None
    filter: str
    conn_state: str | None = None
    history: str | None = None


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    phone: dict[str, str]
    server: dict[str, object]
    summary: str
    detail: str
    remediation: str
    evidence: Evidence
    extra: dict[str, object] = field(default_factory=dict)  # e.g. confidence, crosscheck

    def sort_key(self) -> tuple[object, ...]:
        first_frame = self.evidence.frames[0] if self.evidence.frames else 0
        return (
            SEVERITY_ORDER[self.severity],
            self.phone.get("ip", ""),
            first_frame,
            self.code,
            self.summary,
        )


def worst_by_phone(findings: Iterable[Finding]) -> dict[str, Finding]:
    """Each phone's (by IP) most severe finding, the first of equals: one pass over the
    findings, not one scan of them per phone."""
    worst: dict[str, Finding] = {}
    for f in findings:
        ip = f.phone.get("ip", "")
        if ip not in worst or SEVERITY_ORDER[f.severity] < SEVERITY_ORDER[worst[ip].severity]:
            worst[ip] = f
    return worst
