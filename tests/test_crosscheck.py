"""`analyze --crosscheck`: Wireshark confirms every finding of every shared capture."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from capfcap import exitcodes
from capfcap.correlator import facts
from capfcap.crosscheck import crosscheck, verdict, wireshark_view
from capfcap.findings import Evidence, Finding
from capfcap.pipeline import Analysis, Options, analyze
from capfcap.report import Report
from capfcap.sources.inputs import InputSet, frames
from capfcap.tshark import run as tshark_run
from capfcap.tshark.ek import EkError, parse_ek, read_ek
from capfcap.tshark.run import MISSING, read_frames
from tests.conftest import PCAPS, REALPEER
from tests.test_oracle import CAPTURES, IDS

CONFIRMED = "confirmed by Wireshark"


def cap(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "capfcap", *args], capture_output=True,
                          text=True, timeout=300, env=env)


@cache
def _view(path: Path) -> tuple[Report, dict[int, Any], dict[str, list[str]]]:
    r, _ = analyze([str(path)], Options())
    pkts, objects = wireshark_view(r, [str(path)])
    return r, pkts, objects


def checked(path: Path) -> Report:
    """A fresh report of `path`, crosschecked (one tshark run per capture per session)."""
    r, pkts, objects = _view(path)
    r = copy.deepcopy(r)
    for f in r.findings:
        f.extra["crosscheck"] = verdict(f, pkts, objects)
    return r


def test_missing_tshark_is_a_one_line_usage_error(tmp_path: Path) -> None:
    # a PATH with nothing on it (no tshark, no mergecap); the interpreter runs from its
    # own path, since a copy or link elsewhere loses a virtual environment's pyvenv.cfg
    bindir = tmp_path / "bin"
    bindir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PATH"}
    env["PATH"] = str(bindir)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    p = subprocess.run([sys.executable, "-m", "capfcap", "analyze",
                        str(REALPEER / "S05_capf_filtered.pcap"), "--crosscheck"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == exitcodes.USAGE
    assert p.stderr.strip() == f"capfcap: {MISSING}"
    assert p.stdout == ""


@pytest.mark.tshark
@pytest.mark.parametrize("path", CAPTURES, ids=IDS)
def test_every_finding_confirmed_or_reasoned(path: Path) -> None:
    r = checked(path)
    for f in r.findings:
        v = str(f.extra["crosscheck"])
        assert v.startswith((CONFIRMED, "not checkable: ")), f"{f.code}: {v}"
        if "realpeer" in path.parts:
            # every real-capture finding rests on at least one fact Wireshark can see
            assert v.startswith(CONFIRMED), f"{f.code}: {v}"


@pytest.mark.tshark
def test_facts_named_in_the_verdicts() -> None:
    v = {f.code: str(f.extra["crosscheck"])
         for f in checked(REALPEER / "S03_dns_nxdomain.pcap").findings}
    assert "rcode 3, 0 answers (frame 58)" in v["DNS_NXDOMAIN"]
    v = {f.code: str(f.extra["crosscheck"])
         for f in checked(REALPEER / "S06_capf_refused.pcap").findings}
    assert "tcp.completeness 37" in v["CAPF_REFUSED"]  # 1 SYN | 4 ACK | 32 RST
    v = {f.code: str(f.extra["crosscheck"])
         for f in checked(REALPEER / "S14_tls_version_mismatch.pcap").findings}
    assert "TLS alert level 2 desc 70 (frame 64)" in v["CAPF_TLS_FAILED"]
    v = {f.code: str(f.extra["crosscheck"])
         for f in checked(REALPEER / "S07_capf_cert_mismatch.pcap").findings}
    assert "certificate DER SHA-256 ef8e709922886b04 (frame 64)" in v["CAPF_CERT_MISMATCH"]
    assert "equals Wireshark's exported object" in v["CAPF_CERT_MISMATCH"]
    assert "not checkable: the ITL CAPF record" in v["CAPF_CERT_MISMATCH"]
    v = {f.code: str(f.extra["crosscheck"])
         for f in checked(REALPEER / "S04_dns_timeout.pcap").findings}
    assert "unanswered (no dns.response_in)" in v["DNS_NO_RESPONSE"]


def _tampered(path: Path, code: str, kind: str, key: str, value: Any) -> str:
    """Crosscheck a finding whose fact `kind`.`key` was changed to a false claim."""
    r, pkts, objects = _view(path)
    f = next(x for x in r.findings if x.code == code)
    facts = copy.deepcopy(f.extra["_facts"])
    assert isinstance(facts, list)
    for fact in facts:
        if fact["kind"] == kind:
            fact[key] = value
    return verdict(Finding(**{**f.__dict__, "extra": {**f.extra, "_facts": facts}}),
                   pkts, objects)


@pytest.mark.tshark
@pytest.mark.parametrize(("pcap", "code", "kind", "key", "value", "said"), [
    ("S03_dns_nxdomain.pcap", "DNS_NXDOMAIN", "dns", "rcode", 2, "dns.flags.rcode [3]"),
    ("S03_dns_nxdomain.pcap", "DNS_NXDOMAIN", "dns", "answers", 1, "dns.count.answers [0]"),
    ("S03_dns_nxdomain.pcap", "DNS_NXDOMAIN", "dns", "response_frame", None,
     "Wireshark links the queries to response frame 58"),
    ("S04_dns_timeout.pcap", "DNS_NO_RESPONSE", "dns", "txid", 1, "is not DNS query id"),
    ("S05_capf_filtered.pcap", "CAPF_UNIDIRECTIONAL", "tcp", "completeness", 3,
     "tcp.completeness 1 vs claimed 3"),
    ("S06_capf_refused.pcap", "CAPF_REFUSED", "tcp", "rst_frames", [59], "not a RST"),
    ("S14_tls_version_mismatch.pcap", "CAPF_TLS_FAILED", "tls", "alerts", [[64, 2, 48]],
     "level/desc [2]/[70] vs claimed 2/48"),
    ("S14_tls_version_mismatch.pcap", "CAPF_TLS_FAILED", "tls", "client_version", 0x0303,
     "tls.handshake.version [769] vs claimed 771"),
    ("S07_capf_cert_mismatch.pcap", "CAPF_CERT_MISMATCH", "cert", "sha256", "00" * 32,
     "certificate SHA-256 ef8e709922886b04 vs claimed 0000"),
    ("S07_capf_cert_mismatch.pcap", "CAPF_CERT_MISMATCH", "transfer", "size", 9000,
     "carry 9054 bytes vs claimed 9000"),
    ("S07_capf_cert_mismatch.pcap", "CAPF_CERT_MISMATCH", "transfer", "sha256", "ab" * 32,
     "bytes differ from Wireshark's exported object"),
    ("S15_tftp_silent.pcap", "TFTP_NO_RESPONSE", "transfer", "filename", "x.cnf.xml",
     "not x.cnf.xml"),
    ("S01_happy.pcap", "CAPF_LSC_ISSUED", "records", "records", [[77, 23, 996]],
     "frame 77 has no 996-byte TLS record"),
    ("S08_asymmetric_capture.pcap", "CAPTURE_ONE_SIDED", "sender", "ips", ["192.0.2.99"],
     "were not sent by 192.0.2.99"),
])
def test_false_claims_are_named(pcap: str, code: str, kind: str, key: str, value: Any,
                                said: str) -> None:
    v = _tampered(REALPEER / pcap, code, kind, key, value)
    assert v.startswith("disagrees: "), v
    assert said in v


SAME_ID = PCAPS / "synthetic" / "dns_a_timeout_aaaa_nodata.pcap"


def _same_id_a_fact(**claims: Any) -> str:
    """The crosscheck of the A transaction of SAME_ID's finding with `claims` changed.
    Wireshark links the A query (frame 8) to the AAAA answer (frame 10): same ID."""
    r, pkts, objects = _view(SAME_ID)
    f = next(x for x in r.findings if x.code == "DNS_NO_RESPONSE")
    facts = [{**x, **claims} for x in copy.deepcopy(f.extra["_facts"])
             if x["kind"] == "dns" and x["qtype"] == 1]
    assert len(facts) == 1
    return verdict(Finding(**{**f.__dict__, "extra": {**f.extra, "_facts": facts}}),
                   pkts, objects)


@pytest.mark.tshark
def test_wireshark_link_to_an_answer_of_another_question_is_no_answer() -> None:
    assert _same_id_a_fact() == (f"{CONFIRMED}: DNS id 0x52b0 unanswered (no "
                                 "dns.response_in)")


@pytest.mark.tshark
@pytest.mark.parametrize(("claims", "said"), [
    ({"qtype": 28}, "frame 8 asks for type [1], not 28"),
    ({"response_frame": 10, "rcode": 0, "answers": 0},
     "frame 10 answers ['pub.atimeout.example'] type [28], not pub.atimeout.example type 1"),
])
def test_claims_about_the_question_are_checked(claims: dict[str, Any], said: str) -> None:
    v = _same_id_a_fact(**claims)
    assert v.startswith("disagrees: ") and said in v, v


@pytest.mark.tshark
def test_tftp_error_code_checked() -> None:
    # S03's CTL/ITL requests got ERROR 1; a finding built on them is checked per code
    r, _ = analyze([str(REALPEER / "S03_dns_nxdomain.pcap")], Options())
    a = Analysis(Options())
    for fr in frames([str(REALPEER / "S03_dns_nxdomain.pcap")], InputSet()):
        a.feed(fr)
    a.finish()
    errs = [t for t in a.correlator.state.transfers if t.status == "error"]
    assert errs and errs[0].error_code == 1
    t = errs[0]
    good = facts.transfer(t)
    bad = {**good, "error_code": 2}
    r.findings = [
        Finding("ITL_NOT_FOUND", "error", {}, {}, "s", "d", "r",
                Evidence(t.frames, None, None, ""), {"_facts": [fact]})
        for fact in (good, bad)
    ]
    crosscheck(r, [str(REALPEER / "S03_dns_nxdomain.pcap")])
    assert str(r.findings[0].extra["crosscheck"]).startswith(CONFIRMED + ": TFTP CTLSEP")
    assert "ERROR code 1" in str(r.findings[0].extra["crosscheck"])
    assert str(r.findings[1].extra["crosscheck"]) == \
        "disagrees: TFTP ERROR codes [1] vs claimed 2"


@pytest.mark.tshark
def test_frame_wireshark_does_not_have_is_a_disagreement() -> None:
    r, _ = analyze([str(REALPEER / "S05_capf_filtered.pcap")], Options())
    f = r.findings[0]
    ev = f.evidence.__class__(**{**f.evidence.__dict__, "frames": (*f.evidence.frames, 99999)})
    r.findings = [Finding(**{**f.__dict__, "evidence": ev})]
    crosscheck(r, [str(REALPEER / "S05_capf_filtered.pcap")])
    assert "Wireshark has no frame 99999" in str(r.findings[0].extra["crosscheck"])


@pytest.mark.slow
@pytest.mark.tshark
def test_cli_outputs_show_the_verdict() -> None:
    f = str(REALPEER / "S07_capf_cert_mismatch.pcap")
    p = cap("analyze", f, "--crosscheck", "--format", "json")
    assert p.returncode == exitcodes.ERRORS, p.stderr
    doc = json.loads(p.stdout)
    assert all(x["crosscheck"].startswith(CONFIRMED) for x in doc["findings"])
    assert "_facts" not in p.stdout
    p = cap("analyze", f, "--crosscheck", "--format", "markdown")
    assert "- Crosscheck: confirmed by Wireshark: ClientHello (frame 62)" in p.stdout
    p = cap("analyze", f, "--crosscheck", "--format", "text")
    assert "Crosscheck: confirmed by Wireshark" in p.stdout
    p = cap("analyze", f, "--format", "json")
    assert "crosscheck" not in json.loads(p.stdout)["findings"][0]


@pytest.mark.tshark
def test_bundle_shows_the_verdict(tmp_path: Path) -> None:
    import zipfile

    out = tmp_path / "t.zip"
    p = cap("analyze", str(REALPEER / "S14_tls_version_mismatch.pcap"), "--crosscheck",
            "--bundle", str(out), "--format", "json")
    assert p.returncode == exitcodes.ERRORS, p.stderr
    with zipfile.ZipFile(out) as z:
        summary = z.read("summary.md").decode()
        doc = json.loads(z.read("findings.json"))
    assert "- Crosscheck: confirmed by Wireshark: ClientHello (frame 62), TLS alert level 2 " \
        "desc 70 (frame 64)" in summary
    assert doc["findings"][0]["crosscheck"].startswith(CONFIRMED)


@pytest.mark.tshark
@pytest.mark.skipif(shutil.which("mergecap") is None, reason="mergecap not installed")
def test_several_captures_are_merged_like_the_pipeline(tmp_path: Path) -> None:
    paths = [str(REALPEER / "S03_dns_nxdomain.pcap"), str(REALPEER / "S06_capf_refused.pcap")]
    r, _ = analyze(paths, Options())
    assert r.findings and max(f.evidence.frames[-1] for f in r.findings) > 100
    crosscheck(r, paths)
    for f in r.findings:
        assert str(f.extra["crosscheck"]).startswith(CONFIRMED), f.extra["crosscheck"]


def test_pcaps_dir_exists() -> None:
    assert PCAPS.is_dir()


@pytest.mark.tshark
def test_cut_short_capture_still_crosschecked_without_traceback(tmp_path: Path) -> None:
    src = (REALPEER / "S07_capf_cert_mismatch.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(src[:18100])  # frame 66 (the alert) is cut in half
    p = cap("analyze", str(cut), "--crosscheck", "--format", "json")
    assert p.returncode == exitcodes.BAD_INPUT
    assert "Traceback" not in p.stderr and "Exception" not in p.stderr
    assert all(x.startswith("capfcap: ") for x in p.stderr.splitlines() if x.strip())
    doc = json.loads(p.stdout)
    assert doc["findings"] and all(
        f["crosscheck"].startswith(CONFIRMED) for f in doc["findings"])


def _finding(facts_: list[dict[str, Any]], frames_: tuple[int, ...]) -> Finding:
    return Finding("CAPF_REFUSED", "error", {}, {}, "s", "d", "r",
                   Evidence(frames_, None, None, ""), {"_facts": facts_})


def test_icmp_facts_compared_with_icmp_fields() -> None:
    pkts = {7: {"icmp.type": ["3"], "icmp.code": ["13"]},
            8: {"icmpv6.type": ["1"], "icmpv6.code": ["4"]}}
    ok = _finding([{"kind": "icmp", "frame": 7, "version": 4, "type": 3, "code": 13},
                   {"kind": "icmp", "frame": 8, "version": 6, "type": 1, "code": 4}], (7, 8))
    assert verdict(ok, pkts, {}) == ("confirmed by Wireshark: icmp type 3 code 13 (frame 7), "
                                     "icmpv6 type 1 code 4 (frame 8)")
    bad = _finding([{"kind": "icmp", "frame": 7, "version": 4, "type": 3, "code": 3}], (7,))
    assert verdict(bad, pkts, {}) == \
        "disagrees: frame 7 icmp.type/code [3]/[13] vs claimed 3/3"


def test_http_status_and_reasons_only() -> None:
    pkts = {5: {"http.response.code": ["404"]}}
    t = {"kind": "transfer", "protocol": "http", "frames": [5], "http_status": 404}
    assert verdict(_finding([t], (5,)), pkts, {}) == "confirmed by Wireshark: HTTP status 404"
    assert verdict(_finding([{**t, "http_status": 200}], (5,)), pkts, {}).startswith(
        "disagrees: http.response.code [404] vs claimed 200")
    why = {"kind": "unchecked", "why": "frame identity"}
    assert verdict(_finding([why], (5,)), pkts, {}) == "not checkable: frame identity"
    assert verdict(_finding([], (5,)), pkts, {}).startswith("not checkable: no fact")


# -- frames holding several TLS records -------------------------------------------------
def _der_sha256(pem: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = x509.load_pem_x509_certificate((REALPEER / "data" / "certs" / pem).read_bytes())
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


@pytest.mark.tshark
@pytest.mark.parametrize(("path", "frame", "pem", "types"), [
    # one TCP segment, one TLS layer: ServerHello+Certificate+ServerKeyExchange+
    # ServerHelloDone (MANIFEST: "f64 ... ServerHello+Certificate+ServerKeyExchange+
    # ServerHelloDone")
    (REALPEER / "S07_capf_cert_mismatch.pcap", 64, "capf.crt.pem", [2, 11, 12, 14]),
    # the Certificate record ends a PDU reassembled over three segments and two more
    # records follow in the same segment: tshark gives the frame two TLS layers (a list)
    (PCAPS / "synthetic" / "tls_split_cert.pcap", 8, "capf-old.crt.pem", [11, 12, 14]),
])
def test_certificate_fact_on_a_multi_record_frame_agrees(path: Path, frame: int, pem: str,
                                                         types: list[int]) -> None:
    pkts = read_frames(str(path), [frame])
    assert [int(t) for t in pkts[frame]["tls.handshake.type"]] == types
    assert len(pkts[frame]["tls.record.length"]) == len(types)
    sha = _der_sha256(pem)
    f = _finding([{"kind": "cert", "frame": frame, "sha256": sha}], (frame,))
    assert verdict(f, pkts, {}) == \
        f"confirmed by Wireshark: certificate DER SHA-256 {sha[:16]} (frame {frame})"
    wrong = _finding([{"kind": "cert", "frame": frame, "sha256": "00" * 32}], (frame,))
    assert verdict(wrong, pkts, {}).startswith("disagrees: ")


@pytest.mark.tshark
def test_every_record_of_a_frame_with_two_tls_layers_is_read() -> None:
    """Real frames whose records tshark splits over two TLS layers: S01b frame 65 (two
    TLS 1.3 application_data records, MANIFEST "281,69 B") and S24 frame 63 (Certificate
    Request + ServerHelloDone). pyshark's EK reader returned no TLS field for either."""
    pkts = read_frames(str(REALPEER / "S01b_happy_tls13.pcap"), [65])
    assert pkts[65]["tls.record.length"] == ["281", "69"]
    recs = {"kind": "records", "records": [[65, 23, 281], [65, 23, 69]]}
    assert verdict(_finding([recs], (65,)), pkts, {}) == \
        "confirmed by Wireshark: 2 application_data record lengths"
    bad = {"kind": "records", "records": [[65, 23, 281], [65, 23, 70]]}
    assert verdict(_finding([bad], (65,)), pkts, {}).startswith(
        "disagrees: frame 65 has no 70-byte TLS record")
    pkts = read_frames(str(REALPEER / "S24_lsc_rejected_5061.pcap"), [63])
    assert pkts[63]["tls.handshake.type"] == ["13", "14"]


def test_repeated_keys_and_layer_lists_keep_every_instance() -> None:
    """EK shapes for a protocol present twice in a frame: a list of layer objects, and
    the same key repeated (older tshark); fields with several values stay lists."""
    as_list = ('{"layers":{"frame":{"frame_frame_number":"9"},"tls":['
               '{"tls_tls_record_length":"996","tls_tls_handshake_type":"11"},'
               '{"tls_tls_record_length":["300","4"],"tls_tls_handshake_type":["12","14"]}]}}')
    repeated = ('{"layers":{"frame":{"frame_frame_number":"9"},'
                '"tls":{"tls_tls_record_length":"996","tls_tls_handshake_type":"11"},'
                '"tls":{"tls_tls_record_length":["300","4"],"tls_tls_handshake_type":["12","14"],'
                '"tls_tls_handshake_type":"99"}}}')
    for line in (as_list, repeated):
        got = parse_ek(line)
        assert got is not None and got[0] == 9
        assert got[1]["tls.record.length"] == ["996", "300", "4"]
    rep = parse_ek(repeated)
    assert rep is not None and rep[1]["tls.handshake.type"] == ["11", "12", "14", "99"]
    assert parse_ek('{"index":{"_index":"packets-2026-12-03","_type":"doc"}}') is None


@pytest.mark.parametrize(("line", "why"), [
    ('{"layers":{"frame":{"frame_frame_number":"64"},"tls":{"tls_tls_record_len', "invalid JSON"),
    ('{"layers":{"frame":{"frame_frame_number":"64"},"tls":"22"}}', "layer tls is a str"),
    ('{"layers":{"frame":{"frame_frame_number":"64"},"tls":{"tls_tls_handshake_type":{"a":1}}}}',
     "tls.handshake.type is a dict"),
])
def test_unreadable_lines_name_their_frame(line: str, why: str) -> None:
    with pytest.raises(EkError, match=why):
        parse_ek(line)
    view = read_ek([line])
    assert 64 not in view and why in view.unreadable[64] and view.lost == ""
    assert read_ek(["[1, 2]"]).lost.startswith("tshark output unreadable: not a JSON object")
    two = read_ek(['{"layers":{"frame":{"frame_frame_number":["64","65"]}}}'])
    assert "frame.number ['64', '65']" in two.lost and not two.unreadable


def _crosschecked_with(monkeypatch: pytest.MonkeyPatch, path: Path,
                       spoil: Callable[[list[str]], list[str]]) -> dict[str, str]:
    """Crosscheck `path` with tshark's real EK output passed through `spoil`."""
    real = tshark_run.tshark_ek
    monkeypatch.setattr(tshark_run, "tshark_ek",
                        lambda *a, **k: spoil(real(*a, **k)))
    r, _ = analyze([str(path)], Options())
    crosscheck(r, [str(path)])
    return {f.code: str(f.extra["crosscheck"]) for f in r.findings}


def _cut_frame(n: int) -> Callable[[list[str]], list[str]]:
    tag = f'"frame_frame_number":"{n}"'
    return lambda lines: [ln[: len(ln) // 2] if tag in ln else ln for ln in lines]


@pytest.mark.tshark
def test_parse_failure_is_not_checkable_never_a_disagreement(
        monkeypatch: pytest.MonkeyPatch) -> None:
    v = _crosschecked_with(monkeypatch, REALPEER / "S07_capf_cert_mismatch.pcap",
                           _cut_frame(64))
    cert = v["CAPF_CERT_MISMATCH"]
    assert "disagrees" not in cert
    assert "not checkable: " in cert and "frame 64: tshark output unreadable: invalid JSON" in cert
    assert "equals Wireshark's exported object" in cert  # the TFTP fact's frames were read
    assert v["CAPF_TLS_FAILED"].startswith(CONFIRMED)  # frames 62 and 66 were read
    # a frame cited as evidence only (the ClientHello's fact still confirmed)
    v = _crosschecked_with(monkeypatch, REALPEER / "S07_capf_cert_mismatch.pcap",
                           _cut_frame(66))
    assert "disagrees" not in v["CAPF_TLS_FAILED"]
    assert "frame 66: tshark output unreadable" in v["CAPF_TLS_FAILED"]


@pytest.mark.tshark
def test_output_without_frame_numbers_makes_everything_not_checkable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    v = _crosschecked_with(monkeypatch, REALPEER / "S07_capf_cert_mismatch.pcap",
                           lambda lines: ['{"layers": [' for _ in lines])
    assert v and all(x.startswith("not checkable: ") for x in v.values()), v
    assert all("tshark output unreadable: layers is not an object" in x or
               "tshark output unreadable: invalid JSON" in x for x in v.values()), v


@pytest.mark.tshark
@pytest.mark.parametrize("name", ["S01_happy.pcap", "S07_capf_cert_mismatch.pcap",
                                  "S11_two_tftp_itl_mismatch.pcap",
                                  "S16_capf_port3806.pcap"])
def test_no_disagreement_on_real_captures(name: str) -> None:
    r = checked(REALPEER / name)
    for f in r.findings:
        v = str(f.extra["crosscheck"])
        assert "disagrees" not in v, f"{f.code}: {v}"
        assert v.startswith(CONFIRMED), f"{f.code}: {v}"


@pytest.mark.tshark
def test_those_real_captures_have_facts_to_check() -> None:
    """Control for the test above: its captures hold findings with certificate and
    record facts on multi-record frames (S07 frame 64, S11), so it can fail."""
    kinds = {fact["kind"] for name in ("S01_happy.pcap", "S07_capf_cert_mismatch.pcap",
                                       "S11_two_tftp_itl_mismatch.pcap")
             for f in _view(REALPEER / name)[0].findings for fact in f.extra["_facts"]}
    assert {"cert", "records", "tls", "transfer"} <= kinds


@pytest.mark.tshark
def test_sslv2_compatible_hello_is_wiresharks_client_hello_too() -> None:
    """capfcap's TLS fact of a session opened by an SSLv2-compatible ClientHello (frame 4,
    version TLS 1.0) matches Wireshark's SSLv2 dissection of the same frame."""
    path = PCAPS / "synthetic" / "sslv2_hello_capf.pcap"
    a = Analysis(Options())
    for fr in frames([str(path)], InputSet()):
        a.feed(fr)
    a.finish()
    (s,) = a.correlator.state.tls
    assert (s.client_hello_frame, s.client_version, s.client_hello_sslv2) == (4, 0x0301, True)
    pkts = read_frames(str(path), [4])
    f = _finding([facts.tls(s)], (4,))
    assert verdict(f, pkts, {}) == "confirmed by Wireshark: ClientHello (frame 4)"
    wrong = _finding([{**facts.tls(s), "client_version": 0x0303}], (4,))
    assert verdict(wrong, pkts, {}).startswith("disagrees: frame 4 tls.handshake.version")
