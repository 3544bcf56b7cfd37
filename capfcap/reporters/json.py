"""`--format json`: the DESIGN §5 schema, deterministic (same input, same bytes)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from capfcap.findings import Finding
from capfcap.report import PhoneReport, Report, iso

SCHEMA = "capfcap.report/1"


def finding_dict(f: Finding) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "frames": list(f.evidence.frames),
        "first": iso(f.evidence.first),
        "last": iso(f.evidence.last),
        "filter": f.evidence.filter,
    }
    if f.evidence.conn_state is not None:
        ev["conn_state"] = f.evidence.conn_state
        ev["history"] = f.evidence.history
    d: dict[str, Any] = {
        "code": f.code,
        "severity": f.severity,
        "phone": f.phone,
        "server": f.server,
        "summary": f.summary,
        "detail": f.detail,
        "remediation": f.remediation,
        "evidence": ev,
    }
    for k in sorted(f.extra):
        if not k.startswith("_"):  # internal (e.g. _facts for --crosscheck)
            d[k] = f.extra[k]
    return d


class _Lazy(list):
    """A list the JSON encoder walks one element at a time, each built on demand and
    dropped once encoded: a report of 100,000 phones is never one tree of dicts."""

    def __init__(self, items: list[Any], build: Callable[[Any], Any]) -> None:
        super().__init__()
        self.items, self.build = items, build

    def __iter__(self) -> Iterator[Any]:
        return (self.build(x) for x in self.items)

    def __len__(self) -> int:
        return len(self.items)


def _phone_dict(p: PhoneReport) -> dict[str, Any]:
    return {
        "ip": p.ip,
        "mac": p.mac,
        "device": p.device,
        "verdict": p.verdict,
        "flows": p.flows,
        "timeline": [
            {"frame": e.frame, "time": iso(e.ts), "what": e.what, "outcome": e.outcome,
             "stage": e.stage}
            for e in p.timeline
        ],
    }


def to_dict(r: Report, lazy: bool = False) -> dict[str, Any]:
    phones: list[Any] = [_phone_dict(p) for p in r.phones] if not lazy \
        else _Lazy(r.phones, _phone_dict)
    findings: list[Any] = [finding_dict(f) for f in r.findings] if not lazy \
        else _Lazy(r.findings, finding_dict)
    return {
        "schema": SCHEMA,
        "capfcap_version": r.version,
        "capture": {
            "files": [
                {
                    "path": c.path,
                    "sha256": c.sha256,
                    "packets": c.packets,
                    "first": iso(c.first),
                    "last": iso(c.last),
                    "format": c.format,
                    "link_types": c.linktypes,
                    **({"error": c.error} if c.error else {}),
                }
                for c in r.files
            ],
            "notes": r.notes,
        },
        "phones": phones,
        "findings": findings,
        "withheld": r.withheld,
    }


_FLAT = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode  # C encoder
_CONTAINERS = (dict, list, tuple)


def _flat(o: Any) -> bool:
    """A value written on one line: a scalar, or a container of scalars only (a flow, a
    timeline entry, a frame list)."""
    if isinstance(o, _Lazy):
        return False
    if isinstance(o, dict):
        return not any(isinstance(v, _CONTAINERS) for v in o.values())
    if isinstance(o, (list, tuple)):
        return not any(isinstance(v, _CONTAINERS) for v in o)
    return True


def _pieces(o: Any, level: int) -> Iterator[str]:
    """The document indented by two spaces per level down to the containers of scalars,
    which stay on one line: the same JSON value as json.dumps, written by the C encoder
    for all but the outer structure (Python's pure-Python indenting encoder was a seventh
    of a bulk rollout's run)."""
    if _flat(o):
        yield _FLAT(o)
        return
    pad = "\n" + "  " * (level + 1)
    if isinstance(o, dict):
        yield "{"
        sep = pad
        for k, v in o.items():
            yield sep + _FLAT(str(k)) + ": "
            yield from _pieces(v, level + 1)
            sep = "," + pad
        yield "\n" + "  " * level + "}"
        return
    yield "["
    sep = pad
    empty = True
    for v in o:
        yield sep
        yield from _pieces(v, level + 1)
        sep, empty = "," + pad, False
    yield "]" if empty else "\n" + "  " * level + "]"


def render(r: Report) -> str:
    return "".join(_pieces(to_dict(r), 0)) + "\n"


def line(r: Report) -> str:
    """`--format jsonl`: the same document on one line (JSON Lines, https://jsonlines.org)."""
    return json.dumps(to_dict(r), ensure_ascii=False, separators=(",", ":")) + "\n"


def write(r: Report, out: TextIO) -> None:
    """Stream the same bytes as `render` (a large report is never one string in memory),
    a few thousand pieces per write."""
    piece: list[str] = []
    for chunk in _pieces(to_dict(r, lazy=True), 0):
        piece.append(chunk)
        if len(piece) >= 4096:
            out.write("".join(piece))
            piece.clear()
    piece.append("\n")
    out.write("".join(piece))
