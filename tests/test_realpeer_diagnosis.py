"""Every shared real-implementation capture gets the diagnosis its MANIFEST expects.

These are semantic assertions (codes, key frames, severities), independent of wording.
The exact reports are pinned separately by the reviewed golden files in tests/golden/.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from capfcap.pipeline import Options, analyze
from capfcap.report import Report
from tests.conftest import REALPEER, ROOT

GOLDEN = ROOT / "tests" / "golden"
ERROR_CONN = {"DNS_NXDOMAIN", "DNS_NODATA", "DNS_SERVER_ERROR", "DNS_NO_RESPONSE",
              "CAPF_UNIDIRECTIONAL", "CAPF_REFUSED", "TVS_UNIDIRECTIONAL", "TVS_REFUSED"}


def run(name: str, **kw: object) -> Report:
    r, inputs = analyze([str(REALPEER / name)], Options(**kw))  # type: ignore[arg-type]
    assert not inputs.errors
    return r


def codes(r: Report, ip: str | None = None) -> set[str]:
    return {f.code for f in r.findings if ip is None or f.phone.get("ip") == ip}


def one(r: Report, code: str):  # type: ignore[no-untyped-def]
    fs = [f for f in r.findings if f.code == code]
    assert len(fs) == 1, (code, [f.code for f in r.findings])
    return fs[0]


@pytest.mark.parametrize("name", ["S01_happy.pcap", "S01_happy.pcapng", "S09_http6970.pcap",
                                  "S13_ipv6_relay.pcap"])
def test_success_gives_lsc_issued_and_no_error(name: str) -> None:
    r = run(name)
    assert codes(r) == {"CAPF_LSC_ISSUED"}
    assert len(r.phones) == 1 and r.phones[0].device == "SEP0023AB12CD34"
    assert r.phones[0].mac == "00:23:ab:12:cd:34"


def test_tls13_success_from_record_sizes() -> None:
    r = run("S01b_happy_tls13.pcap")
    f = one(r, "CAPF_LSC_ISSUED")
    assert "record sizes" in f.summary and f.extra["confidence"] == "high"
    assert codes(r) == {"CAPF_LSC_ISSUED"}


def test_itl_without_capf_record() -> None:
    r = run("S02_itl_no_capf.pcap")
    f = one(r, "ITL_NO_CAPF")
    assert f.evidence.frames[0] == 7 and 36 in f.evidence.frames  # ITL transfer frames
    t = one(r, "CAPF_TLS_FAILED")
    assert t.extra["alert"] == "unknown_ca" and t.extra["alert_sender"] == "client"
    assert 60 in t.evidence.frames


def test_nxdomain_for_the_config_capf_name_without_cucm_option() -> None:
    r = run("S03_dns_nxdomain.pcap")
    f = one(r, "DNS_NXDOMAIN")
    assert f.evidence.frames == (57, 58)
    assert f.extra["name"] == "pub.cucm.example"
    assert "processNodeName" in f.detail
    assert codes(r) & ERROR_CONN == {"DNS_NXDOMAIN"}


def test_silent_dns() -> None:
    r = run("S04_dns_timeout.pcap")
    f = one(r, "DNS_NO_RESPONSE")
    assert f.evidence.frames == (57, 58, 59) and f.severity == "error"


def test_filtered_port_cites_the_syns() -> None:
    r = run("S05_capf_filtered.pcap")
    f = one(r, "CAPF_UNIDIRECTIONAL")
    assert f.evidence.frames == (59, 60, 61, 64, 65)
    assert (f.evidence.conn_state, f.evidence.history) == ("S0", "S")
    assert "CAPTURE_ONE_SIDED" not in codes(r)


def test_stopped_service_is_refused() -> None:
    r = run("S06_capf_refused.pcap")
    f = one(r, "CAPF_REFUSED")
    assert f.evidence.frames == (59, 60, 61, 62, 65, 66)
    assert f.evidence.conn_state == "REJ"


def test_stopped_service_fix_is_to_start_capf() -> None:
    f = one(run("S06_capf_refused.pcap"), "CAPF_REFUSED")
    assert f.remediation.startswith("Activate and start the Cisco Certificate Authority")
    assert "cause" not in f.extra and "filtered" not in f.summary


def test_icmp_admin_prohibited_from_a_router_is_a_filter_not_a_stopped_capf() -> None:
    r = run("S17_icmp_admin_prohibited.pcap")
    f = one(r, "CAPF_REFUSED")
    assert f.evidence.frames == (60, 62, 66)  # the three ICMP 3/13
    assert f.extra["cause"] == "filtered" and f.extra["reported_by"] == "192.0.2.1"
    assert "192.0.2.1" in f.summary and "filtered" in f.summary
    assert "prohibited" in f.summary and "the server itself" not in f.summary
    assert "firewall/ACL on 192.0.2.1" in f.remediation and "TCP 3804" in f.remediation
    assert "activate" not in f.remediation.lower()
    assert r.phones[0].verdict.startswith("LSC install blocked: port 3804 filtered by 192.0.2.1")


def test_cert_mismatch_cites_itl_transfer_and_certificate_frame() -> None:
    r = run("S07_capf_cert_mismatch.pcap")
    f = one(r, "CAPF_CERT_MISMATCH")
    assert 7 in f.evidence.frames and 64 in f.evidence.frames
    assert f.extra["cert_sha256"].startswith("ef8e709922886b04")
    assert "CAPF_TLS_FAILED" in codes(r)


def test_one_sided_capture_is_not_a_dead_server() -> None:
    r = run("S08_asymmetric_capture.pcap")
    assert "CAPTURE_ONE_SIDED" in codes(r)
    assert not [f for f in r.findings if f.severity == "error"]
    assert {w["code"] for w in r.withheld} >= {"CAPF_UNIDIRECTIONAL"}


@pytest.mark.parametrize("name", ["S10_capf_no_operation.pcap",
                                  "S10b_capf_unknown_device.pcap"])
def test_session_without_certificate(name: str) -> None:
    r = run(name)
    assert codes(r) == {"CAPF_NO_CERTIFICATE"}


def test_two_tftp_servers_itl_mismatch() -> None:
    """Two phones, two ITLs: no majority, so one capture-level ITL_MISMATCH; the phone
    that got its LSC is not warned and its verdict stays "LSC installed"."""
    r = run("S11_two_tftp_itl_mismatch.pcap")
    f = one(r, "ITL_MISMATCH")
    assert f.phone == {} and "none a majority" in f.summary
    assert "192.0.2.21" in f.summary and "192.0.2.22" in f.summary
    assert 7 in f.evidence.frames and 89 in f.evidence.frames  # both ITL downloads
    # the CAPF certificate on the wire (frame 64) is the CAPF record of pub's ITL
    assert 64 in f.evidence.frames and "198.51.100.12" in f.remediation
    assert codes(r, "192.0.2.21") == {"CAPF_LSC_ISSUED"}
    assert {"CAPF_TLS_FAILED", "CAPF_CERT_MISMATCH"} <= codes(r, "192.0.2.22")
    assert "ITL_MISMATCH" not in codes(r, "192.0.2.22")
    by_ip = {p.ip: p.verdict for p in r.phones}
    assert by_ip["192.0.2.21"].startswith("LSC installed")


def test_busy_capture_two_lscs_and_no_noise() -> None:
    r = run("S12_busy.pcap")
    assert [f.code for f in r.findings] == ["CAPF_LSC_ISSUED", "CAPF_LSC_ISSUED"]
    assert {p.ip for p in r.phones} == {"192.0.2.21", "192.0.2.22"}


@pytest.mark.parametrize("name", ["S14_tls_version_mismatch.pcap", "S14b_tls10_client.pcap"])
def test_tls_version_mismatch(name: str) -> None:
    f = one(run(name), "CAPF_TLS_FAILED")
    assert f.extra["alert"] == "protocol_version" and f.extra["alert_sender"] == "server"
    assert "TLS 1.0" in f.detail


def test_keylog_decodes_the_real_dialogue() -> None:
    from capfcap.extractors.tlsdecrypt import load_keylog

    kl = load_keylog(str(REALPEER / "keylogs" / "S01_happy.keylog"))
    r = run("S01_happy.pcap", keylog_data=kl)
    f = one(r, "CAPF_LSC_ISSUED")
    assert f.extra["confidence"] == "certain"
    truth = json.loads((REALPEER / "GROUND_TRUTH.json").read_text())
    s01 = next(s for s in truth["scenarios"] if s["id"] == "S01")
    want = [(m["frame"], m["message"].split("(")[0]) for m in s01["capf_messages"]]
    got = [(int(line.split()[1]), line.split()[2]) for line in f.detail.splitlines()
           if line.startswith("frame ")]
    assert got == want
    assert "SEP0023AB12CD34" in f.detail


@pytest.mark.parametrize("name", sorted(p.name for p in REALPEER.glob("*.pcap*")))
def test_golden_json_report(name: str, update_golden: bool) -> None:
    """The exact JSON, reviewed by a person; rewrite only with --update-golden."""
    out = subprocess.run([sys.executable, "-m", "capfcap", "analyze", str(REALPEER / name),
                          "--format", "json"], capture_output=True, text=True, cwd=ROOT)
    doc = json.loads(out.stdout)
    for f in doc["capture"]["files"]:
        f["path"] = Path(f["path"]).name
    text = json.dumps(doc, indent=2) + "\n"
    path = GOLDEN / (name + ".json")
    if update_golden:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no golden file; run pytest --update-golden and review {path}"
    assert text == path.read_text()


def test_real_itl_downloaded_over_tftp_has_no_capf_record() -> None:
    """The real, in-use ITL (pcaps/real-itl) carried over TFTP: ITL_NO_CAPF, transfer frames."""
    r, inputs = analyze([str(ROOT / "pcaps" / "synthetic" / "real_itl_tftp.pcap")], Options())
    f = one(r, "ITL_NO_CAPF")
    assert f.evidence.frames == tuple(range(5, 48))
    assert "dbf86422cbab7859f3b850c2375814f7" in f.detail  # the file's MD5 (PROVENANCE.md)
    assert "SAST+CCM+CCM+APP-SERVER+APP-SERVER" in f.summary
