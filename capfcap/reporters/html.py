"""`--format html`: one self-contained page (inline CSS and SVG, nothing fetched).

Renders a finished Report only. Jinja2 with autoescaping on: every capture-derived string
(file names, DNS names, certificate subjects, config values) reaches the page as text.
"""

from __future__ import annotations

from functools import lru_cache

import jinja2

from capfcap.findings import SEVERITY_ORDER, Finding
from capfcap.report import PhoneReport, Report, frames_text, iso
from capfcap.reporters import groups
from capfcap.reporters.ladder import LINE, Ladder, layout

# A Content-Security-Policy that forbids every load and every script: the page is complete
# without either, and a browser refuses any request a hostile string might still cause.
CSP = "default-src 'none'; style-src 'unsafe-inline'"


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("capfcap.reporters", "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined)


def _anchor(i: int) -> str:
    return f"phone-{i}"


def _phone_view(i: int, p: PhoneReport, r: Report, by_phone: dict[str, list[Finding]]
                ) -> dict[str, object]:
    fs = by_phone.get(p.ip, [])
    worst = min(fs, key=lambda f: SEVERITY_ORDER[f.severity]) if fs else None
    held = [w for w in r.withheld if w.get("phone") == p.ip]
    ladder: Ladder = layout(p, fs, held)
    return {"anchor": _anchor(i), "p": p, "findings": fs, "worst": worst, "ladder": ladder,
            "open": worst is not None and worst.severity in ("error", "warning") or bool(held),
            "withheld": held}


def _group_rows(r: Report, grouping: groups.Grouping, views: list[dict[str, object]]
                ) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The verdict table's rows in phone order (a phone's view, or a group's block at its
    first phone's place), and the groups' blocks."""
    by_ip = {str(getattr(v["p"], "ip", "")): v for v in views}
    rows: list[dict[str, object]] = []
    blocks: list[dict[str, object]] = []
    for p in r.phones:
        g = grouping.leads(p)
        if g is not None:
            w = g.worst()
            block = {"anchor": f"group-{len(blocks)}", "g": g, "worst": w,
                     "headline": groups.headline(g), "phones": groups.phones_line(g.phones),
                     "frames": groups.frames_line(g), "hint": groups.DETAIL_HINT,
                     "first": groups.phone_name(g.lead)}
            blocks.append(block)
            rows.append(block)
        elif p.ip in by_ip:
            rows.append(by_ip[p.ip])
    return rows, blocks


def render(r: Report, title: str = "capfcap report") -> str:
    grouping = groups.group(r)
    by_phone: dict[str, list[Finding]] = {}
    for f in r.findings:
        by_phone.setdefault(f.phone.get("ip", ""), []).append(f)
    for fs in by_phone.values():
        fs.sort(key=lambda f: SEVERITY_ORDER[f.severity])
    ips = {p.ip for p in r.phones}
    # grouped phones (reporters/groups.py) print as one block each, not as sections
    phones = [_phone_view(i, p, r, by_phone) for i, p in enumerate(r.phones)
              if not grouping.grouped(p.ip)]
    rows, blocks = _group_rows(r, grouping, phones)
    other = [f for f in r.findings if f.phone.get("ip", "") not in ips]
    counts = {s: sum(1 for f in r.findings if f.severity == s) for s in SEVERITY_ORDER}
    return _env().get_template("report.html.j2").render(
        title=title, r=r, phones=phones, rows=rows, groups=blocks, other=other,
        counts=counts, csp=CSP, iso=iso, frames_text=frames_text, line_px=LINE,
        other_withheld=[w for w in r.withheld if w.get("phone") not in ips])
