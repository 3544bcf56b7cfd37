"""Trust around enrolment (issue 16): a phone locked to another cluster's trust list, a
rejected LSC, the certificate a phone presents, the CTL's CAPF record, TVS vouching."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from capfcap.correlator.rules_clientcert import cert_kind
from capfcap.pipeline import Options, analyze
from capfcap.report import Report
from capfcap.trust.certs import cert_info, signed_by
from tests.conftest import REALPEER, ROOT
from tests.gen_module import gen_pcaps

SYNTH = ROOT / "pcaps" / "synthetic"
S15_CERTS = REALPEER / "data" / "s15" / "certs"


def run(path: Path, **kw: object) -> Report:
    r, inputs = analyze([str(path)], Options(**kw))  # type: ignore[arg-type]
    assert not inputs.errors
    return r


def codes(r: Report) -> set[str]:
    return {f.code for f in r.findings}


def one(r: Report, code: str):  # type: ignore[no-untyped-def]
    fs = [f for f in r.findings if f.code == code]
    assert len(fs) == 1, (code, [f.code for f in r.findings])
    return fs[0]


def der(name: str) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    pem = (S15_CERTS / name).read_bytes()
    return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)


# --- PHONE_DISTRUSTS_CLUSTER --------------------------------------------------------------


def test_s23_tvs_outside_the_served_config_is_a_locked_phone() -> None:
    r = run(REALPEER / "S23_phone_distrusts_cluster.pcap")
    f = one(r, "PHONE_DISTRUSTS_CLUSTER")
    assert f.severity == "error"
    assert "198.51.100.21" in f.detail and "not a TVS member" in f.detail
    assert "198.51.100.11" in f.detail and "198.51.100.12" in f.detail  # the served members
    assert {57, 59, 61}.issubset(f.evidence.frames)  # the SYNs to the old node
    assert "utils itl reset localkey" in f.remediation
    assert "Restarting TFTP does not help" in f.detail
    # the TVS refusal is this cluster's outage only in appearance: it is explained here
    assert codes(r) == {"PHONE_DISTRUSTS_CLUSTER"}
    assert "TVS_REFUSED" in f.detail
    assert r.phones[0].verdict.startswith("LSC install blocked: the phone distrusts")


def test_download_loop_names_count_and_period() -> None:
    r = run(SYNTH / "distrust_loop.pcap")
    f = one(r, "PHONE_DISTRUSTS_CLUSTER")
    assert "4 times" in f.detail and "every 20 s" in f.detail
    assert "CAPF_NOT_ATTEMPTED" not in codes(r)
    assert not r.withheld


def test_download_loop_cut_short_is_withheld_not_judged() -> None:
    r = run(SYNTH / "distrust_loop_short.pcap")
    assert "PHONE_DISTRUSTS_CLUSTER" not in codes(r)
    w = [w for w in r.withheld if w["code"] == "PHONE_DISTRUSTS_CLUSTER"]
    assert len(w) == 1 and "capture longer" in str(w[0]["reason"])
    assert r.phones[0].verdict.startswith("Inconclusive")


def test_phone_side_alert_on_tvs() -> None:
    r = run(SYNTH / "distrust_tvs_alert.pcap")
    f = one(r, "PHONE_DISTRUSTS_CLUSTER")
    assert "unknown_ca" in f.detail and "phone itself" in f.detail
    assert 56 in f.evidence.frames  # the phone's alert
    assert codes(r) == {"PHONE_DISTRUSTS_CLUSTER"} and "Explains: TVS_TLS_FAILED" in f.detail


@pytest.mark.parametrize("name", ["S01_happy.pcap", "S02_itl_no_capf.pcap",
                                  "S18_config_no_operation.pcap", "S24_lsc_rejected_5061.pcap"])
def test_no_distrust_without_its_evidence(name: str) -> None:
    assert "PHONE_DISTRUSTS_CLUSTER" not in codes(run(REALPEER / name))


# --- LSC_REJECTED and the presented certificate ------------------------------------------


def test_s24_lsc_rejected_names_certificate_alert_and_cause() -> None:
    r = run(REALPEER / "S24_lsc_rejected_5061.pcap")
    f = one(r, "LSC_REJECTED")
    assert f.severity == "error" and f.server == {"ip": "198.51.100.11", "port": 5061,
                                                 "name": "pub.cucm.example"}
    lsc = cert_info(der("lsc-phone1-old-capf.crt.pem"))
    assert f.extra["cert_sha256"] == lsc.der_sha256 and f.extra["cert_kind"] == "LSC"
    assert f.extra["alert"] == "decrypt_error"
    assert f.evidence.frames == (66, 67) and f.evidence.filter == "frame.number in {66..67}"
    for part in ("CN=SEP0023AB12CD34", "CN=CAPF-1a2b3c4d", lsc.serial, "2027-12-03"):
        assert part in f.detail
    # the LSC does not verify with the capture's current CAPF certificate (same name)
    assert "does not verify" in f.detail and "older CAPF" in f.detail
    assert "Reissue the LSC" in f.remediation
    assert codes(r) == {"LSC_REJECTED", "CAPF_NO_OPERATION"}  # the config: capfAuthMode 0


def test_timeline_shows_the_presented_certificate() -> None:
    r = run(REALPEER / "S24_lsc_rejected_5061.pcap")
    steps = [e for e in r.phones[0].timeline if "client certificate" in e.what]
    assert len(steps) == 1
    e = steps[0]
    assert e.frame == 66 and e.outcome == "failed"
    assert "LSC SEP0023AB12CD34 issued by CAPF-1a2b3c4d" in e.what and "2027-12-03" in e.what


def test_mic_expired_and_shown() -> None:
    r = run(SYNTH / "mic_expired_5061.pcap")
    f = one(r, "PHONE_MIC_EXPIRED")
    assert f.severity == "warning" and "By Existing Certificate" in f.detail
    assert codes(r) == {"PHONE_MIC_EXPIRED", "CAPF_NO_OPERATION"}  # capfAuthMode 0
    [e] = [e for e in r.phones[0].timeline if "client certificate" in e.what]
    assert "MIC" in e.what and "Cisco Manufacturing CA SHA2" in e.what and e.outcome == "ok"


@pytest.mark.parametrize(("days", "code"), [(10, "PHONE_MIC_EXPIRING"), (400, None)])
def test_mic_expiry_window(tmp_path: Path, days: int, code: str | None) -> None:
    gen = gen_pcaps()
    p = tmp_path / "mic.pcap"
    p.write_bytes(gen.gen_mic_expired_5061(gen.DEFAULT_REALPEER, days=days))
    got = codes(run(p)) & {"PHONE_MIC_EXPIRED", "PHONE_MIC_EXPIRING"}
    assert got == ({code} if code else set())
    if code:
        assert one(run(p), code).severity == "info"


def test_a_phones_https_8443_reaches_the_tls_reader(tmp_path: Path) -> None:
    gen = gen_pcaps()
    p = tmp_path / "mic8443.pcap"
    p.write_bytes(gen.gen_mic_expired_5061(gen.DEFAULT_REALPEER, port=8443))
    r = run(p)
    assert one(r, "PHONE_MIC_EXPIRED").server["port"] == 8443
    [e] = [e for e in r.phones[0].timeline if "client certificate" in e.what]
    assert "HTTPS 8443" in e.what


def test_certificate_kinds_and_signature_check() -> None:
    lsc = cert_info(der("lsc-phone1-old-capf.crt.pem"))
    assert cert_kind(lsc) == "LSC"
    assert cert_kind(cert_info(der("cm-pub.crt.pem"))) == ""
    gen = gen_pcaps()
    assert cert_kind(cert_info(gen.mic_cert(100))) == "MIC"
    assert signed_by(lsc.der, der("capf-old.crt.pem")) is True
    assert signed_by(lsc.der, der("capf.crt.pem")) is False


# --- CTL ---------------------------------------------------------------------------------


def test_s25_stale_ctl_capf_record() -> None:
    r = run(REALPEER / "S25_ctl_stale_capf.pcap")
    f = one(r, "CAPF_CERT_MISMATCH")
    assert f.extra["lists"] == ["CTL"]
    assert "phone's CTL" in f.summary
    # whole record hashes (issue 17: 64 hex digits for both certificates, not 16 for one)
    assert re.search(r"SHA-256 ef7cfd05ef1a1553[0-9a-f]{48}: differs", f.detail)
    assert re.search(r"SHA-256 a16a2cbf2207a11b[0-9a-f]{48}: matches", f.detail)
    assert "the CTL only" in f.detail and "utils ctl update CTLFile" in f.remediation
    assert set(range(5, 30)).issubset(f.evidence.frames) and 89 in f.evidence.frames
    assert codes(r) == {"CAPF_CERT_MISMATCH", "CAPF_TLS_FAILED"}
    tls = one(r, "CAPF_TLS_FAILED")  # the ITL holds CAPF's certificate; the stale CTL not
    assert "the CTL it holds (CTLFile.tlv, frames 5-29) does not" in tls.detail
    assert "utils ctl update CTLFile" in tls.remediation
    [ctl] = [e for e in r.phones[0].timeline if e.what.startswith("CTL ")]
    assert "SAST+CCM+TFTP+CAPF" in ctl.what


def test_itl_only_mismatch_keeps_its_itl_wording() -> None:
    f = one(run(REALPEER / "S07_capf_cert_mismatch.pcap"), "CAPF_CERT_MISMATCH")
    assert "phone's ITL" in f.summary and "lists" not in f.extra
    from capfcap.catalog import CATALOG
    from capfcap.correlator.rules_distrust import CTL_FIX

    assert f.remediation == CATALOG["CAPF_CERT_MISMATCH"].fix and CTL_FIX not in f.remediation


# --- TVS vouching --------------------------------------------------------------------------


def test_tvs_vouched_makes_itl_no_capf_info() -> None:
    r = run(SYNTH / "tvs_vouched_capf.pcap")
    f = one(r, "ITL_NO_CAPF")
    assert f.severity == "info" and f.extra["tvs_vouched"] is True
    assert "TVS vouched" in f.summary
    assert "CAPF_LSC_ISSUED" in codes(r)
    assert not [x for x in r.findings if x.severity == "error"]
    assert r.phones[0].verdict.startswith("LSC installed")


def test_without_tvs_itl_no_capf_stays_an_error() -> None:
    f = one(run(REALPEER / "S02_itl_no_capf.pcap"), "ITL_NO_CAPF")
    assert f.severity == "error" and "tvs_vouched" not in f.extra


def test_itl_command_dumps_and_verifies_the_captured_ctl() -> None:
    import json
    import subprocess

    out = subprocess.run([sys.executable, "-m", "capfcap", "itl",
                          str(REALPEER / "S25_ctl_stale_capf.pcap"), "--format", "json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120, check=True)
    lists = json.loads(out.stdout)["trust_lists"]
    ctl = next(t for t in lists if t["kind"] == "CTL")
    assert ctl["filename"] == "CTLFile.tlv" and ctl["signature"]["status"] == "valid"
    assert [r["role_name"] for r in ctl["records"]] == ["SAST", "CCM+TFTP", "CAPF"]
    assert ctl["records"][-1]["serial"] == cert_info(der("capf-old.crt.pem")).serial
