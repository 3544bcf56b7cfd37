"""`--bundle OUT.zip`: everything a support case needs, in one file (DESIGN §6).

    summary.md        the human summary (reporters.summary)
    findings.json     the JSON report (reporters.json)
    evidence.pcapng   only the cited frames, commented (bundle.frames)
    report.html       the report as one self-contained page with ladders (reporters.html)
    objects/          carved trust lists, configs and server certificates (PEM)

The zip is written to a temporary file beside OUT.zip and renamed into place; an existing
file is never replaced without `force`. `inputs` are the captures to re-read for the
evidence (an `InputSet` from the analysis, or paths, e.g. the ring files of a live run).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence

from capfcap.bundle.frames import EvidenceFrame, collect, write_pcapng
from capfcap.bundle.redact import Redactor
from capfcap.outputs import check_writable, write_atomic
from capfcap.protocol import REDACT_TLS_PORTS
from capfcap.report import CarvedObject, Report
from capfcap.reporters.html import render as render_html
from capfcap.reporters.json import render as render_json
from capfcap.reporters.summary import BundleFacts, Listed, overall_verdict, render_summary
from capfcap.sources.inputs import InputSet

ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed: same input, same bundle bytes
MAX_NAME = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]+")
_CN = re.compile(r"(?:^|,)CN=((?:[^,\\]|\\.)*)")
TRUST_KINDS = ("ITL", "CTL")


def safe_component(name: str) -> str:
    """One file-name component: no separators, no leading dot, only portable characters."""
    s = _UNSAFE.sub("_", name.replace("\\", "/").replace("/", "_"))
    s = s.lstrip("._") or "object"
    return s[:MAX_NAME]


def object_name(o: CarvedObject) -> str:
    """objects/<how>_<server>_<what>_frame<N>.<ext>, from capture data made safe."""
    if o.kind == "CERT":
        m = _CN.search(o.name)
        what = f"CN={m.group(1)}" if m else "certificate"
        stem = f"cert_{o.protocol}_{o.server}_frame{o.frame}_{what}"
        ext = ".pem"
    else:
        base = o.name.replace("\\", "/").rsplit("/", 1)[-1].strip(".") or "unnamed"
        low = base.lower()
        ext = ".tlv" if o.kind in TRUST_KINDS else ".sgn" if low.endswith(".sgn") else ".xml"
        stem = f"{o.protocol}_{o.server}_{base}_frame{o.frame}"
    return safe_component(stem)[: MAX_NAME - len(ext)] + ext


def _describe(o: CarvedObject) -> tuple[str, str]:
    """(what the object is, the group the summary counts it in: its kind and server)."""
    if o.kind == "CERT":
        return (f"certificate presented by {o.server} on TCP {o.protocol} (frame {o.frame}): "
                f"{o.name}", f"certificates presented by {o.server} on TCP {o.protocol}")
    how = "TFTP" if o.protocol == "tftp" else "HTTP 6970" if o.protocol == "http" else o.protocol
    return (f"{o.kind} file {o.name} from {o.server} over {how}, request frame {o.frame}, "
            f"{len(o.data)} bytes", f"{o.kind} files from {o.server} over {how}")


def _paths(inputs: InputSet | Sequence[str]) -> list[str]:
    if isinstance(inputs, InputSet):
        return [f.path for f in inputs.files]
    return [str(p) for p in inputs]


def _objects(report: Report, redactor: Redactor | None
             ) -> tuple[list[tuple[str, bytes]], list[Listed], int, int]:
    """(zip entries, the files as the summary lists them, configs left out, files left out
    because their signed bytes carry a MAC)."""
    from capfcap.trust.certs import to_pem

    entries: list[tuple[str, bytes]] = []
    described: list[Listed] = []
    used: set[str] = set()
    dropped = carry_mac = 0
    for o in report.objects:
        if redactor is not None and o.kind == "CONFIG":
            dropped += 1
            continue
        if redactor is not None and redactor.blob(o.data) != o.data:
            # e.g. ITLSEP<MAC>.tlv: the signed header's FILENAME element names the MAC
            carry_mac += 1
            continue
        name = object_name(o)
        desc, group = _describe(o)
        if redactor is not None:
            name, desc, group = redactor.text(name), redactor.text(desc), redactor.text(group)
        stem, dot, ext = name.rpartition(".")
        for i in range(2, 10_000):
            if name not in used:
                break
            name = f"{stem}_{i}.{ext}" if dot else f"{name}_{i}"
        used.add(name)
        data = to_pem(o.data).encode("ascii") if o.kind == "CERT" else o.data
        entries.append(("objects/" + name, data))
        described.append(Listed("objects/" + name, desc, group))
    return entries, described, dropped, carry_mac


def _trust_frames(report: Report) -> set[int]:
    return {n for o in report.objects if o.kind in TRUST_KINDS for n in o.frames}


def _redact_frames(report: Report, redactor: Redactor, evs: list[EvidenceFrame]) -> None:
    """Register every MAC first (phones, then link headers), then rewrite."""
    for p in report.phones:
        if p.mac:
            redactor.add(p.mac)
        if p.device.upper().startswith("SEP") and len(p.device) == 15:
            redactor.add(p.device[3:])
    for f in report.findings:
        if f.phone.get("mac"):
            redactor.add(f.phone["mac"])
    redactor.register_frames(evs)
    redactor.redact_frames(evs, _trust_frames(report),
                           REDACT_TLS_PORTS | frozenset(report.service_ports()))


def _redactions(redactor: Redactor, carry_mac: int, dropped: int) -> list[str]:
    """What the summary says was redacted, and how."""
    out = [
        f"{len(redactor.map)} MAC address(es) were replaced by pseudonyms 02:ca:fe:xx:xx:xx "
        "in every file of this bundle (summary.md, findings.json, the Ethernet/SLL headers "
        "and any text inside evidence.pcapng, object names); a device name SEP<MAC> "
        "follows its MAC's pseudonym.",
        f"evidence.pcapng: headers through layer 4, DNS, TFTP control packets, trust-list "
        f"downloads and TLS records other than application data are kept; other payloads "
        f"were removed from {redactor.truncated} frame(s) (their original length is kept). "
        "UDP/TCP checksums of rewritten frames are not recomputed.",
        "Certificates and ITL/CTL files are public material and are kept unchanged, "
        "except those whose bytes name a MAC (below).",
    ]
    if carry_mac:
        out.append(
            f"{carry_mac} file(s) whose signed bytes name a device MAC (a per-device "
            "trust list ITLSEP<MAC>.tlv / CTLSEP<MAC>.tlv, a certificate for SEP<MAC>) "
            "were left out of objects/; their parsed summary stays in summary.md and "
            "findings.json.")
    if dropped:
        out.append(
            f"{dropped} phone configuration file(s) were left out of objects/ "
            "(they may hold credentials).")
    return out


def build(report: Report, inputs: InputSet | Sequence[str], redact: bool = False
          ) -> list[tuple[str, bytes]]:
    """The bundle's entries (name, bytes), in zip order."""
    paths = _paths(inputs)
    redactor = Redactor() if redact else None
    verdict = overall_verdict(report)

    evs, problems = collect(report, paths)
    if redactor is not None:
        _redact_frames(report, redactor, evs)
    buf = io.BytesIO()
    section = redactor.text(verdict) if redactor is not None else verdict
    n = write_pcapng(buf, evs, section, f"capfcap {report.version}".strip(),
                     keep_original_comments=redactor is None)
    evidence = buf.getvalue()
    entries, described, dropped, carry_mac = _objects(report, redactor)
    facts = BundleFacts(evidence_frames=n, objects=described,
                        objects_omitted=report.objects_omitted, problems=problems)
    if redactor is not None:
        facts.redactions = _redactions(redactor, carry_mac, dropped)
    summary = render_summary(report, facts, paths)
    findings = render_json(report)
    page = render_html(report)
    if redactor is not None:
        summary = redactor.text(summary)
        findings = redactor.text(findings)
        page = redactor.text(page)
    return [("summary.md", summary.encode("utf-8")), ("findings.json", findings.encode("utf-8")),
            ("evidence.pcapng", evidence), ("report.html", page.encode("utf-8"))] + entries


def write_bundle(path: str, report: Report, inputs: InputSet | Sequence[str],
                 opts: object = None, redact: bool = False, force: bool = False) -> None:
    """Write the bundle zip atomically. Raises UsageError when `path` exists (without
    force) or cannot be written."""
    del opts  # the analysis options are already reflected in the report
    check_writable(path, force)
    entries = build(report, inputs, redact)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zi = zipfile.ZipInfo(name, ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zf.writestr(zi, data)
    write_atomic(path, buf.getvalue(), force)
