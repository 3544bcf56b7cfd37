"""Phones that share a verdict and its cause, told once (text, Markdown and HTML reports).

A phone's cause key is the set of its findings' (severity, code, server address, server
port) and of its withheld verdicts' (code, server): phones whose keys are equal failed (or
succeeded) the same way against the same servers. When GROUP_MIN or more phones share a
key, the reports print one block for them (count, cause, the first phone's finding as the
example, each phone's first evidence frame, the phones abbreviated) instead of one section
per phone; `--phone IP` prints any of them in full, and JSON always holds one finding per
phone (DESIGN §5). Fewer than GROUP_MIN phones with a key print per phone, so a capture
with one or two failing phones reads as it always did. A report narrowed by `--phone`
never groups: the phones were asked for by name.

Linear in phones and findings: one pass to index the findings by phone, one to key them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from capfcap.catalog import CATALOG
from capfcap.findings import SEVERITY_ORDER, Finding
from capfcap.report import PhoneReport, Report

GROUP_MIN = 3  # phones with one cause key printed as one block
SHOW_PHONES = 8  # phones named in a block before "and N more"
SHOW_FRAMES = 12  # first frames listed in a block

Cause = tuple[str, str, str, str]  # severity (or "withheld"), code, server address, port


@dataclass
class Group:
    key: tuple[Cause, ...]
    phones: list[PhoneReport] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # the first phone's, its example
    withheld: list[dict[str, object]] = field(default_factory=list)  # the first phone's
    first_frames: list[int] = field(default_factory=list)  # each phone's first evidence frame

    @property
    def lead(self) -> PhoneReport:
        return self.phones[0]

    def worst(self) -> Finding | None:
        return min(self.findings, key=lambda f: SEVERITY_ORDER[f.severity], default=None)


@dataclass
class Grouping:
    """How a report's phones print: `group_of` maps each grouped phone's address to its
    group; `by_phone` every phone's findings (sorted as the report sorts them)."""

    by_phone: dict[str, list[Finding]]
    withheld: dict[str, list[dict[str, object]]]
    groups: list[Group]
    group_of: dict[str, Group]

    def leads(self, p: PhoneReport) -> Group | None:
        """The group that prints where `p` would print: `p` is its first phone."""
        g = self.group_of.get(p.ip)
        return g if g is not None and g.lead is p else None

    def grouped(self, ip: object) -> bool:
        return ip in self.group_of

    def printed(self, phones: Sequence[PhoneReport]) -> list[tuple[PhoneReport, Group | None]]:
        """The phones told one by one, and each group's first phone with its group (the
        group's other phones are told through it)."""
        out: list[tuple[PhoneReport, Group | None]] = []
        for p in phones:
            g = self.group_of.get(p.ip)
            if g is None or g.lead is p:
                out.append((p, g))
        return out


def _cause(f: Finding) -> Cause:
    return (f.severity, f.code, str(f.server.get("ip", "")), str(f.server.get("port", "")))


def _withheld_cause(w: dict[str, object]) -> Cause:
    return ("withheld", str(w.get("code", "")), str(w.get("server", "")),
            str(w.get("port", "")))


def _frames(w: dict[str, object]) -> list[int]:
    fs = w.get("frames")
    return [int(x) for x in fs] if isinstance(fs, list) else []


def cause_key(findings: list[Finding], withheld: list[dict[str, object]]) -> tuple[Cause, ...]:
    return tuple(sorted({*map(_cause, findings), *map(_withheld_cause, withheld)}))


def narrowed(r: Report) -> bool:
    """The report holds only the phones `--phone` asked for."""
    return r.narrowed


def group(r: Report, minimum: int | None = None) -> Grouping:
    """`minimum`: GROUP_MIN unless given."""
    least = GROUP_MIN if minimum is None else minimum
    by_phone: dict[str, list[Finding]] = {}
    for f in r.findings:
        by_phone.setdefault(f.phone.get("ip", ""), []).append(f)
    withheld: dict[str, list[dict[str, object]]] = {}
    for w in r.withheld:
        withheld.setdefault(str(w.get("phone", "")), []).append(w)
    out = Grouping(by_phone, withheld, [], {})
    if narrowed(r):
        return out
    keyed: dict[tuple[Cause, ...], Group] = {}
    for p in r.phones:
        fs, ws = by_phone.get(p.ip, []), withheld.get(p.ip, [])
        k = cause_key(fs, ws)
        g = keyed.get(k)
        if g is None:
            g = keyed[k] = Group(k, findings=fs, withheld=ws)
        g.phones.append(p)
        if len(g.first_frames) < SHOW_FRAMES:
            frames = [fr for f in fs for fr in f.evidence.frames[:1]]
            frames += [fr for w in ws for fr in _frames(w)[:1]]
            if frames:
                g.first_frames.append(min(frames))
    for g in keyed.values():
        if len(g.phones) >= least:
            out.groups.append(g)
            for p in g.phones:
                out.group_of[p.ip] = g
    return out


# -- words shared by the reporters ---------------------------------------------------------

def server_text(server: dict[str, object]) -> str:
    ip, name, port = server.get("ip"), server.get("name"), server.get("port")
    where = f"{name} ({ip})" if name and ip else str(name or ip or "")
    if port:
        where = f"{where} port {port}" if where else f"port {port}"
    return where


def cause_line(f: Finding) -> str:
    """`CODE: catalog title, server`: what every phone of a group has in common."""
    where = server_text(f.server)
    title = CATALOG[f.code].title if f.code in CATALOG else f.code
    return f"{f.code}: {title}" + (f" ({where})" if where else "")


def headline(g: Group) -> str:
    """`3,412 phones: CAPF_UNIDIRECTIONAL: ... (pub (198.51.100.11) port 3804)`."""
    w = g.worst()
    if w is not None:
        what = cause_line(w)
        more = len(g.findings) - 1
        if more:
            what += f" and {more} more finding{'s' if more > 1 else ''}"
    elif g.withheld:
        what = "verdict withheld: " + ", ".join(sorted({str(x.get("code")) for x in g.withheld}))
    else:
        what = "no findings"
    return f"{len(g.phones):,} phones: {what}"


def phone_name(p: PhoneReport) -> str:
    return f"{p.ip} ({p.device})" if p.device else p.ip


def phones_line(phones: Sequence[PhoneReport], limit: int = SHOW_PHONES,
                name: Callable[[PhoneReport], str] = phone_name) -> str:
    """The first `limit` phones, then "and N more"."""
    shown = ", ".join(name(p) for p in phones[:limit])
    rest = len(phones) - limit
    return shown + (f" and {rest:,} more" if rest > 0 else "")


def frames_line(g: Group) -> str:
    if not g.first_frames:
        return "none"
    shown = ", ".join(str(f) for f in g.first_frames)
    return shown + (" …" if len(g.phones) > len(g.first_frames) else "")


def withheld_texts(r: Report, grouping: Grouping) -> list[str]:
    """`CODE for PHONE: reason` for each withheld verdict; a group's are told once, for its
    first phone ("6 phones (first: IP)"), the others' left out."""
    out: list[str] = []
    for wh in r.withheld:
        g = grouping.group_of.get(str(wh.get("phone", "")))
        if g is None:
            who = str(wh.get("phone"))
        elif g.lead.ip == wh.get("phone"):
            who = f"{len(g.phones):,} phones (first: {wh.get('phone')})"
        else:
            continue
        out.append(f"{wh.get('code')} for {who}: {wh.get('reason')}")
    return out


def group_facts(g: Group) -> list[str]:
    """What a group's block lists under its example, as plain text (each reporter escapes
    and lays it out): its phones, their first frames, where each phone's detail is."""
    return [f"Phones ({len(g.phones):,}): {phones_line(g.phones)}",
            f"First frames: {frames_line(g)}",
            f"Each phone in full: {DETAIL_HINT}"]


DETAIL_HINT = ("--phone IP (any of the phones above); --format json "
               "holds every phone's findings")
