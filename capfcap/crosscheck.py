"""`analyze --crosscheck`: Wireshark's own dissectors confirm each finding's facts.

One tshark run per capture (several files are merged first with mergecap, the way the
pipeline numbers them): a display filter selects every frame any finding cites, tshark
runs two-pass (`-2`: `dns.response_in` needs the later response; `tcp.completeness` is the
OR over a stream's frames, tshark 4.0 leaves early frames partial) with the
non-standard TLS ports decoded as TLS (`tshark/run.py`), its EK output read by
`tshark/ek.py`. TFTP objects are exported in the same run. Each finding then gets
``extra["crosscheck"]``: "confirmed by Wireshark: ...", "disagrees: ..." or
"not checkable: ...", built from the facts the rules stored in ``extra["_facts"]``.
Output tshark wrote but that cannot be read makes the facts on those frames "not
checkable", never a disagreement.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from typing import Any

from capfcap import exitcodes
from capfcap.factcheck import FactCheck
from capfcap.findings import Finding
from capfcap.report import Report
from capfcap.tshark.ek import Fields, WiresharkFrames
from capfcap.tshark.run import (
    MISSING,
    CrosscheckError,
    exported_objects,
    merge_captures,
    read_frames,
)

MAX_SUMMARY = 4  # confirmed facts named in the one-line verdict


def crosscheck(report: Report, capture_paths: list[str]) -> None:
    """Set ``extra["crosscheck"]`` on every finding of `report`."""
    pkts, objects = wireshark_view(report, capture_paths)
    for f in report.findings:
        f.extra["crosscheck"] = verdict(f, pkts, objects)


def wireshark_view(report: Report, capture_paths: list[str]
                   ) -> tuple[WiresharkFrames, dict[str, list[str]]]:
    """Wireshark's fields of every frame the findings cite, and its exported TFTP objects."""
    tshark = shutil.which("tshark")
    if tshark is None:
        raise CrosscheckError(MISSING, exitcodes.USAGE)
    from capfcap.sources.files import CaptureError
    from capfcap.sources.inputs import expand

    try:
        files = expand(list(capture_paths))
    except CaptureError as e:
        raise CrosscheckError(str(e)) from None
    cited = {n for f in report.findings for n in f.evidence.frames}
    for f in report.findings:
        cited |= set(fact_frames(f))
    if not files or not cited:
        return WiresharkFrames(), {}
    with tempfile.TemporaryDirectory(prefix="capfcap-xc-") as tmp:
        path = files[0] if len(files) == 1 else merge_captures(files, tmp)
        objdir = os.path.join(tmp, "objects")
        os.mkdir(objdir)
        pkts = read_frames(path, cited, objdir, tshark, report.service_ports())
        objects = exported_objects(objdir)
    return pkts, objects


# -- comparing ---------------------------------------------------------------------------
def _facts(f: Finding) -> list[dict[str, Any]]:
    raw = f.extra.get("_facts")
    return [x for x in raw if isinstance(x, dict)] if isinstance(raw, list) else []


def fact_frames(f: Finding) -> list[int]:
    return [n for fact in _facts(f) for n in _frames_of(fact)]


def _frames_of(fact: dict[str, Any]) -> list[int]:
    """Every frame one fact cites."""
    out: list[int] = []
    for k in ("frames", "query_frames", "request_frames", "syn_frames", "synack_frames",
              "rst_frames"):
        v = fact.get(k)
        if isinstance(v, list):
            out += [x for x in v if isinstance(x, int)]
    for k in ("frame", "response_frame", "client_hello_frame"):
        v = fact.get(k)
        if isinstance(v, int):
            out.append(v)
    for rec in fact.get("records") or []:
        out.append(int(rec[0]))
    for al in fact.get("alerts") or []:
        out.append(int(al[0]))
    return out


def _unreadable(pkts: dict[int, Fields], frames: Iterable[int]) -> str:
    """'frame N: <why>' for the first of `frames` whose tshark output could not be read
    (those facts are not checkable, not contradicted); '' when all were read."""
    if not isinstance(pkts, WiresharkFrames):
        return ""
    for n in frames:
        why = pkts.why_unreadable(n)
        if why:
            return f"frame {n}: {why}"
    return ""


def verdict(f: Finding, pkts: dict[int, Fields], objects: dict[str, list[str]]) -> str:
    """The one-line crosscheck verdict of one finding."""
    c = FactCheck(pkts)
    facts = _facts(f)
    for n in f.evidence.frames:
        if n not in pkts:
            why = _unreadable(pkts, [n])
            (c.unchecked if why else c.bad).append(why or f"Wireshark has no frame {n}")
            break
    checks: dict[str, Callable[[dict[str, Any]], object]] = {
        "dns": c.dns, "tcp": c.tcp, "icmp": c.icmp, "tls": c.tls, "cert": c.cert,
        "records": c.records, "sender": c.sender,
        "transfer": lambda fact: c.transfer(fact, objects),
        "unchecked": lambda fact: c.unchecked.append(str(fact.get("why"))),
    }
    for fact in facts:
        kind = fact.get("kind")
        check = checks.get(kind) if isinstance(kind, str) else None
        if check is None:
            continue
        try:
            why = _unreadable(pkts, _frames_of(fact))
            if why:
                c.unchecked.append(why)
                continue
            check(fact)
        except (KeyError, TypeError, ValueError) as e:
            c.unchecked.append(f"malformed {kind} fact ({type(e).__name__})")
    if not facts:
        c.unchecked.append("no fact of this finding maps to a Wireshark field")
    if c.bad:
        return "disagrees: " + "; ".join(dict.fromkeys(c.bad))
    tail = "; not checkable: " + "; ".join(dict.fromkeys(c.unchecked)) if c.unchecked else ""
    if c.ok:
        ok = list(dict.fromkeys(c.ok))
        more = f" (+{len(ok) - MAX_SUMMARY} more)" if len(ok) > MAX_SUMMARY else ""
        return "confirmed by Wireshark: " + ", ".join(ok[:MAX_SUMMARY]) + more + tail
    return "not checkable: " + "; ".join(dict.fromkeys(c.unchecked))
