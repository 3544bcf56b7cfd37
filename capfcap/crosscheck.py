"""`analyze --crosscheck`: Wireshark's own dissectors confirm each finding's facts.

One tshark run per capture (several files are merged first with mergecap, the way the
pipeline numbers them): a display filter selects every frame any finding cites, tshark
runs two-pass (`-2`: `dns.response_in` needs the later response; `tcp.completeness` is the
OR over a stream's frames, tshark 4.0 leaves early frames partial) with the
non-standard TLS ports decoded as TLS, and its EK (JSON lines) output is read here: a
frame holding a protocol more than once (several TLS records, some ending a reassembled
PDU) comes as a list of layers or as repeated keys, and every instance is kept. TFTP
objects are exported in the same run. Each finding then gets
``extra["crosscheck"]``: "confirmed by Wireshark: ...", "disagrees: ..." or
"not checkable: ...", built from the facts the rules stored in ``extra["_facts"]``.
Output tshark wrote but that cannot be read makes the facts on those frames "not
checkable", never a disagreement.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from typing import Any

from capfcap import exitcodes
from capfcap.correlator.common import frames_filter
from capfcap.findings import Finding
from capfcap.protocol import TSHARK_TLS_PORTS
from capfcap.report import Report

MISSING = "tshark not found: install it (apt-get install tshark) or drop --crosscheck"
MAX_SUMMARY = 4  # confirmed facts named in the one-line verdict
TFTP_BLKSIZE = 512  # RFC 1350 default block size

Fields = dict[str, list[str]]


class CrosscheckError(Exception):
    """A one-line reason why the crosscheck could not run, with its exit status."""

    def __init__(self, message: str, status: int = exitcodes.BAD_INPUT) -> None:
        super().__init__(message)
        self.status = status


def tshark_args(extra: Iterable[int] = ()) -> list[str]:
    """`-d` options that decode the phone-facing TLS ports (DESIGN §2), and `extra` (CAPF/TVS
    ports a config or --capf-port/--tvs-port named), as TLS."""
    out: list[str] = []
    for p in tls_ports(extra):
        out += ["-d", f"tcp.port=={p},tls"]
    return out


def tls_ports(extra: Iterable[int] = ()) -> tuple[int, ...]:
    return (*TSHARK_TLS_PORTS, *sorted(set(extra) - set(TSHARK_TLS_PORTS)))



# -- running tshark ----------------------------------------------------------------------
WANTED = (
    "frame.time_epoch", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "tcp.stream",
    "tcp.completeness",
    "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.reset", "dns.id", "dns.flags.response",
    "dns.flags.rcode", "dns.count.answers", "dns.response_in", "dns.qry.name",
    "dns.qry.type", "icmp.type",
    "icmp.code", "icmpv6.type", "icmpv6.code", "tls.record.content_type",
    "tls.record.opaque_type", "tls.record.length", "tls.handshake.type",
    "tls.handshake.version", "tls.alert_message.level", "tls.alert_message.desc",
    "tls.handshake.certificate", "tftp.opcode", "tftp.source_file", "tftp.block",
    "tftp.error.code", "data.len", "http.response.code",
)


class WiresharkFrames(dict[int, Fields]):
    """Wireshark's fields per frame, and why tshark's output for other frames could not be
    read: `unreadable` per frame, `lost` for output whose frame number is unknown."""

    def __init__(self) -> None:
        super().__init__()
        self.unreadable: dict[int, str] = {}
        self.lost = ""

    def why_unreadable(self, n: int) -> str:
        """'' when frame n was read (or is simply absent from a clean output)."""
        if n in self:
            return ""
        return self.unreadable.get(n) or self.lost


class EkError(ValueError):
    """One line of tshark's EK output is not what the format promises."""


def _repeats_as_lists(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON object whose repeated keys (tshark EK repeats a layer or field that occurs
    several times in a frame) keep every value, as a list."""
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k not in out:
            out[k] = v
            continue
        prev = out[k]
        out[k] = (prev if isinstance(prev, list) else [prev]) + (v if isinstance(v, list)
                                                                else [v])
    return out


def _strings(v: Any, name: str) -> list[str]:
    """An EK field value (scalar, or a list of them when it occurs several times)."""
    if v is None:
        return []
    if isinstance(v, list):
        return [x for item in v for x in _strings(item, name)]
    if isinstance(v, bool):
        return ["1" if v else "0"]
    if isinstance(v, str | int | float):
        return [str(v)]
    raise EkError(f"{name} is a {type(v).__name__}, not a value")


def _instances(layers: dict[str, Any], proto: str) -> list[dict[str, Any]]:
    """Every instance of a protocol layer: tshark gives one object, or a list of them (or
    repeated keys) when a frame holds the protocol more than once (TLS records that end
    a reassembled PDU and start new ones)."""
    v = layers.get(proto)
    items = v if isinstance(v, list) else [] if v is None else [v]
    for it in items:
        if not isinstance(it, dict):
            raise EkError(f"layer {proto} is a {type(it).__name__}, not an object")
    return items


def parse_ek(line: str) -> tuple[int, Fields] | None:
    """(frame number, WANTED fields) of one EK output line; None for the Elasticsearch
    index lines between packets. Raises EkError when the line cannot be read."""
    try:
        doc = json.loads(line, object_pairs_hook=_repeats_as_lists)
    except (ValueError, RecursionError) as e:
        raise EkError(f"invalid JSON ({e})") from None
    if not isinstance(doc, dict):
        raise EkError("not a JSON object")
    if "layers" not in doc:
        if "index" in doc:
            return None
        raise EkError("no layers")
    layers = doc["layers"]
    if not isinstance(layers, dict):
        raise EkError("layers is not an object")
    frame = _instances(layers, "frame")
    numbers = [x for f in frame for x in _strings(f.get("frame_frame_number"), "frame.number")]
    if len(numbers) != 1 or not numbers[0].isdigit():
        raise EkError(f"frame.number {numbers}")
    out: Fields = {}
    for name in WANTED:
        proto = name.partition(".")[0]
        key = proto + "_" + name.replace(".", "_")
        vals = [x for inst in _instances(layers, proto) for x in _strings(inst.get(key), name)]
        if vals:
            out[name] = vals
    return int(numbers[0]), out


_FRAME_NUMBER = re.compile(r'"frame_frame_number"\s*:\s*"?(\d+)')


def read_ek(lines: Iterable[str]) -> WiresharkFrames:
    """Frames from tshark's EK output; a line that does not parse marks its frame (when its
    number can still be found) or the whole output as unreadable, with the reason."""
    out = WiresharkFrames()
    for line in lines:
        if not line.strip():
            continue
        try:
            got = parse_ek(line)
        except EkError as e:
            m = _FRAME_NUMBER.search(line)
            if m is None:
                out.lost = out.lost or f"tshark output unreadable: {e}"
            else:
                out.unreadable[int(m.group(1))] = f"tshark output unreadable: {e}"
            continue
        if got is not None:
            out[got[0]] = got[1]
    for n in out:
        out.unreadable.pop(n, None)
    return out


def tshark_ek(path: str, frames: list[int], objdir: str | None, tshark: str,
              extra_tls: Iterable[int] = ()) -> list[str]:
    """tshark's EK (JSON lines) output for the given frames and the DNS responses it links
    to them: two passes (`-2`), the phone-facing TLS ports decoded as TLS, TFTP objects
    exported into `objdir`."""
    flt = frames_filter(frames)
    # Wireshark pairs DNS by ID and conversation only: the question of a response it links
    # to a cited query tells whether that response answers it (see _Check.dns)
    flt = f"{flt} || {flt.replace('frame.number', 'dns.response_to', 1)}"
    cmd = [tshark, "-n", "-2", "-r", path, "-T", "ek", "-Y", flt, *tshark_args(extra_tls)]
    if objdir is not None:
        cmd += ["--export-objects", f"tftp,{objdir}"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    except OSError as e:
        raise CrosscheckError(f"{path}: tshark could not run ({e.strerror})") from None
    lines = r.stdout.splitlines()
    if r.returncode != 0 and not any('"layers"' in ln for ln in lines):
        # tshark exits 2 on a cut-short file after printing what it read
        last = (r.stderr.strip().splitlines() or [f"exit status {r.returncode}"])[-1]
        raise CrosscheckError(f"{path}: Wireshark could not read the capture ({last})")
    return lines


def read_frames(path: str, frames: Iterable[int], objdir: str | None = None,
                tshark: str | None = None, extra_tls: Iterable[int] = ()) -> WiresharkFrames:
    """Wireshark's fields of the given frames, from one tshark run; `extra_tls`: the
    CAPF/TVS ports the report learned, decoded as TLS too."""
    wanted = sorted(set(frames))
    if not wanted:
        return WiresharkFrames()
    exe = tshark or shutil.which("tshark")
    if exe is None:
        raise CrosscheckError(MISSING, exitcodes.USAGE)
    return read_ek(tshark_ek(path, wanted, objdir, exe, extra_tls))


def _merge(files: list[str], tmp: str) -> str:
    """Several captures merged in time order, as the pipeline numbers their frames."""
    mergecap = shutil.which("mergecap")
    if mergecap is None:
        raise CrosscheckError("mergecap not found: install wireshark-common, or pass one "
                              "capture with --crosscheck", exitcodes.USAGE)
    out = os.path.join(tmp, "merged.pcapng")
    r = subprocess.run([mergecap, "-w", out, *files], capture_output=True, text=True,
                       check=False, timeout=600)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["failed"])[-1]
        raise CrosscheckError(f"mergecap could not merge the captures: {last}")
    return out


def _objects(objdir: str) -> dict[str, list[str]]:
    """Exported TFTP objects: file name (without Wireshark's "(n)" suffix) -> SHA-256s."""
    out: dict[str, list[str]] = {}
    for name in sorted(os.listdir(objdir)):
        p = os.path.join(objdir, name)
        with open(p, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        stem, dot, ext = name.rpartition(".")
        base = name
        if dot and stem.endswith(")") and "(" in stem:
            base = stem[: stem.rindex("(")] + "." + ext
        out.setdefault(base, []).append(digest)
    return out


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
        path = files[0] if len(files) == 1 else _merge(files, tmp)
        objdir = os.path.join(tmp, "objects")
        os.mkdir(objdir)
        pkts = read_frames(path, cited, objdir, tshark, report.service_ports())
        objects = _objects(objdir)
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


def _int(v: str) -> int | None:
    try:
        return int(v, 0)
    except ValueError:
        try:
            return int(float(v))
        except ValueError:
            return None


def _ints(p: Fields, name: str) -> list[int]:
    return [i for i in (_int(v) for v in p.get(name, [])) if i is not None]


class _Check:
    def __init__(self, pkts: dict[int, Fields]) -> None:
        self.pkts = pkts
        self.ok: list[str] = []
        self.bad: list[str] = []
        self.unchecked: list[str] = []

    def pkt(self, n: int) -> Fields | None:
        p = self.pkts.get(n)
        if p is None:
            self.bad.append(f"Wireshark has no frame {n}")
        return p

    def _other_question(self, rf: int, name: str, qtype: int | None) -> bool:
        """Whether response frame `rf`, as Wireshark decodes it, asks another question than
        (name, qtype): Wireshark links a response to a query by ID and conversation alone,
        and a stub resolver sends A and AAAA under one ID (RFC 5452 §9.1: the question
        must match too)."""
        p = self.pkts.get(rf)
        if p is None:
            return False
        names = {v.lower().rstrip(".") for v in p.get("dns.qry.name", [])}
        return name not in names or (qtype is not None
                                     and qtype not in _ints(p, "dns.qry.type"))

    def dns(self, fact: dict[str, Any]) -> None:
        txid = fact["txid"]
        name = str(fact["qname"]).lower().rstrip(".")
        qtype = fact.get("qtype")
        bad0 = len(self.bad)
        linked: set[int] = set()
        for q in fact["query_frames"]:
            p = self.pkt(q)
            if p is None:
                continue
            if _ints(p, "dns.flags.response") != [0] or txid not in _ints(p, "dns.id"):
                self.bad.append(f"frame {q} is not DNS query id 0x{txid:04x}")
            elif name not in {v.lower().rstrip(".") for v in p.get("dns.qry.name", [])}:
                self.bad.append(f"frame {q} asks for {p.get('dns.qry.name')}, not {name}")
            elif qtype is not None and qtype not in _ints(p, "dns.qry.type"):
                self.bad.append(f"frame {q} asks for type {_ints(p, 'dns.qry.type')}, "
                                f"not {qtype}")
            linked |= {r for r in _ints(p, "dns.response_in")
                       if not self._other_question(r, name, qtype)}
        rf = fact["response_frame"]
        if rf is None:
            if linked:
                self.bad.append(f"Wireshark links the queries to response frame "
                                f"{min(linked)} (dns.response_in)")
            elif len(self.bad) == bad0:
                self.ok.append(f"DNS id 0x{txid:04x} unanswered (no dns.response_in)")
            return
        p = self.pkt(rf)
        if p is None:
            return
        rc, an = _ints(p, "dns.flags.rcode"), _ints(p, "dns.count.answers")
        if _ints(p, "dns.flags.response") != [1] or txid not in _ints(p, "dns.id"):
            self.bad.append(f"frame {rf} is not the DNS response id 0x{txid:04x}")
        elif rc != [fact["rcode"]]:
            self.bad.append(f"frame {rf} dns.flags.rcode {rc} vs claimed {fact['rcode']}")
        elif an != [fact["answers"]]:
            self.bad.append(f"frame {rf} dns.count.answers {an} vs claimed {fact['answers']}")
        elif self._other_question(rf, name, qtype):
            self.bad.append(f"frame {rf} answers {p.get('dns.qry.name')} type "
                            f"{_ints(p, 'dns.qry.type')}, not {name} type {qtype}")
        elif linked and rf not in linked:
            self.bad.append(f"dns.response_in links the query to frame {min(linked)}, not {rf}")
        if len(self.bad) == bad0:
            self.ok.append(f"DNS id 0x{txid:04x} rcode {fact['rcode']}, {fact['answers']} "
                           f"answers (frame {rf})")

    def tcp(self, fact: dict[str, Any]) -> None:
        bad0 = len(self.bad)
        kinds = (("syn_frames", 1, 0, None, "SYN"), ("synack_frames", 1, 1, None, "SYN-ACK"),
                 ("rst_frames", None, None, 1, "RST"))
        for key, syn, ack, rst, what in kinds:
            for n in fact[key]:
                p = self.pkt(n)
                if p is None:
                    continue
                if (syn is not None and _ints(p, "tcp.flags.syn") != [syn]) or (
                        ack is not None and _ints(p, "tcp.flags.ack") != [ack]) or (
                        rst is not None and _ints(p, "tcp.flags.reset") != [rst]):
                    self.bad.append(f"frame {n} is not a {what} (tcp.flags)")
        comp: set[int] = set()
        streams: set[int] = set()
        for n in fact["frames"]:
            p = self.pkts.get(n)
            if p is None:
                self.bad.append(f"Wireshark has no frame {n}")
                continue
            comp |= set(_ints(p, "tcp.completeness")[:1])
            streams |= set(_ints(p, "tcp.stream"))
        if len(streams) > 1:
            self.bad.append(f"frames span TCP streams {sorted(streams)}")
        # the bits only accumulate; tshark 4.0 leaves early frames' values partial even
        # with -2, so the stream's value is the OR over its frames
        final = 0
        for v in comp:
            final |= v
        if comp and final != fact["completeness"]:
            self.bad.append(f"tcp.completeness {final} vs claimed {fact['completeness']}")
        elif not comp:
            self.bad.append("no tcp.completeness in the cited frames")
        if len(self.bad) == bad0:
            self.ok.append(f"TCP flags and tcp.completeness {final} "
                           f"(stream {min(streams) if streams else '?'})")

    def icmp(self, fact: dict[str, Any]) -> None:
        p = self.pkt(fact["frame"])
        if p is None:
            return
        proto = "icmp" if fact["version"] == 4 else "icmpv6"
        t, c = _ints(p, f"{proto}.type"), _ints(p, f"{proto}.code")
        if t[:1] != [fact["type"]] or c[:1] != [fact["code"]]:
            self.bad.append(f"frame {fact['frame']} {proto}.type/code {t}/{c} vs claimed "
                            f"{fact['type']}/{fact['code']}")
        else:
            self.ok.append(f"{proto} type {fact['type']} code {fact['code']} "
                           f"(frame {fact['frame']})")

    def tls(self, fact: dict[str, Any]) -> None:
        ch = fact.get("client_hello_frame")
        if isinstance(ch, int):
            p = self.pkt(ch)
            if p is not None:
                ver = _ints(p, "tls.handshake.version")
                if 1 not in _ints(p, "tls.handshake.type"):
                    self.bad.append(f"frame {ch} has no ClientHello (tls.handshake.type 1)")
                elif fact.get("client_version") is not None and fact["client_version"] not in ver:
                    self.bad.append(f"frame {ch} tls.handshake.version {ver} vs claimed "
                                    f"{fact['client_version']}")
                else:
                    self.ok.append(f"ClientHello (frame {ch})")
        for frame, level, desc in fact.get("alerts") or []:
            p = self.pkt(frame)
            if p is None:
                continue
            lv, ds = _ints(p, "tls.alert_message.level"), _ints(p, "tls.alert_message.desc")
            if level not in lv or desc not in ds:
                self.bad.append(f"frame {frame} tls.alert_message level/desc {lv}/{ds} vs "
                                f"claimed {level}/{desc}")
            else:
                self.ok.append(f"TLS alert level {level} desc {desc} (frame {frame})")

    def cert(self, fact: dict[str, Any]) -> None:
        frame = fact.get("frame")
        if not isinstance(frame, int):
            self.unchecked.append("certificate frame unknown")
            return
        p = self.pkt(frame)
        if p is None:
            return
        ders = p.get("tls.handshake.certificate", [])
        if not ders:
            self.bad.append(f"frame {frame} carries no tls.handshake.certificate")
            return
        try:
            leaf = hashlib.sha256(bytes.fromhex(ders[0].replace(":", ""))).hexdigest()
        except ValueError:
            self.unchecked.append(f"frame {frame} certificate bytes unreadable")
            return
        if leaf != fact["sha256"]:
            self.bad.append(f"frame {frame} certificate SHA-256 {leaf[:16]} vs claimed "
                            f"{str(fact['sha256'])[:16]}")
        else:
            self.ok.append(f"certificate DER SHA-256 {leaf[:16]} (frame {frame})")

    def records(self, fact: dict[str, Any]) -> None:
        bad0 = len(self.bad)
        by_frame: dict[int, list[int]] = {}
        for frame, _ct, length in fact["records"]:
            by_frame.setdefault(int(frame), []).append(int(length))
        for frame, lengths in sorted(by_frame.items()):
            p = self.pkt(frame)
            if p is None:
                continue
            types = set(_ints(p, "tls.record.content_type")) | set(
                _ints(p, "tls.record.opaque_type"))
            have = _ints(p, "tls.record.length")
            if 23 not in types:
                self.bad.append(f"frame {frame} has no application_data record")
                continue
            for ln in lengths:
                if ln in have:
                    have.remove(ln)
                else:
                    self.bad.append(f"frame {frame} has no {ln}-byte TLS record "
                                    f"(tls.record.length {_ints(p, 'tls.record.length')})")
        if len(self.bad) == bad0 and by_frame:
            self.ok.append(f"{len(fact['records'])} application_data record lengths")

    def transfer(self, fact: dict[str, Any], objects: dict[str, list[str]]) -> None:
        if fact["protocol"] == "http":
            self._http(fact)
            return
        bad0 = len(self.bad)
        name = str(fact["filename"])
        for n in fact["request_frames"]:
            p = self.pkt(n)
            if p is None:
                continue
            if 1 not in _ints(p, "tftp.opcode"):
                self.bad.append(f"frame {n} is not a TFTP read request (tftp.opcode)")
            elif name not in p.get("tftp.source_file", []):
                self.bad.append(f"frame {n} requests {p.get('tftp.source_file')}, not {name}")
        blocks: dict[int, int] = {}
        errors: list[int] = []
        answered = False
        for n in fact["frames"]:
            p = self.pkts.get(n)
            if p is None:
                self.bad.append(f"Wireshark has no frame {n}")
                continue
            ops = _ints(p, "tftp.opcode")
            if 3 in ops:
                b = _ints(p, "tftp.block")
                dl = _ints(p, "data.len")
                if b:
                    blocks.setdefault(b[0], dl[0] if dl else 0)
            if 5 in ops:
                errors += _ints(p, "tftp.error.code")
            answered |= bool({3, 5, 6} & set(ops))
        status = fact["status"]
        what = name.replace("\\", "/").rsplit("/", 1)[-1]
        if status == "no_response":
            if answered:
                self.bad.append(f"Wireshark shows a TFTP answer to {what}")
            elif len(self.bad) == bad0:
                self.ok.append(f"TFTP RRQ {what} (tftp.opcode 1), no answer")
            return
        if status == "error":
            if fact["error_code"] not in errors:
                self.bad.append(f"TFTP ERROR codes {errors} vs claimed {fact['error_code']}")
            elif len(self.bad) == bad0:
                self.ok.append(f"TFTP {what}: ERROR code {fact['error_code']}")
            return
        nums = sorted(blocks)
        size = sum(blocks.values())
        if nums and nums != list(range(1, len(nums) + 1)):
            self.unchecked.append(f"TFTP {what} block numbers wrap or skip")
        elif size != fact["size"]:
            self.bad.append(f"TFTP {what}: {len(nums)} DATA blocks carry {size} bytes vs "
                            f"claimed {fact['size']}")
        elif status == "complete" and nums and blocks[nums[-1]] >= TFTP_BLKSIZE:
            self.unchecked.append(f"TFTP {what} final block size (negotiated blksize)")
        if len(self.bad) > bad0:
            return
        self.ok.append(f"TFTP {what} (RRQ frame {min(fact['request_frames'], default='?')}): "
                       f"blocks 1-{len(nums)}, {size} bytes")
        sha = fact.get("sha256")
        if status == "complete" and isinstance(sha, str):
            exported = objects.get(what, [])
            if sha in exported:
                self.ok.append(f"{what} ({size} bytes) equals Wireshark's exported object")
            elif exported:
                self.bad.append(f"{what} bytes differ from Wireshark's exported object")
            else:
                self.unchecked.append(f"Wireshark exported no TFTP object {what}")

    def _http(self, fact: dict[str, Any]) -> None:
        want = fact.get("http_status")
        codes = sorted({c for n in fact["frames"] if n in self.pkts
                        for c in _ints(self.pkts[n], "http.response.code")})
        if want is None:
            self.unchecked.append("HTTP transfer without a status line")
        elif want in codes:
            self.ok.append(f"HTTP status {want}")
        else:
            self.bad.append(f"http.response.code {codes} vs claimed {want}")

    def sender(self, fact: dict[str, Any]) -> None:
        ips = set(fact["ips"])
        end, verb = ("dst", "sent to") if fact.get("received") else ("src", "sent by")
        others = []
        for n in fact["frames"]:
            p = self.pkt(n)
            if p is None:
                continue
            addr = set(p.get(f"ip.{end}", [])[:1] + p.get(f"ipv6.{end}", [])[:1])
            if not addr & ips:
                others.append(n)
        if others:
            self.bad.append(f"frames {', '.join(map(str, others[:5]))} were not {verb} "
                            f"{', '.join(sorted(ips))}")
        else:
            self.ok.append(f"all {len(fact['frames'])} frames {verb} the phone")


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
    c = _Check(pkts)
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
