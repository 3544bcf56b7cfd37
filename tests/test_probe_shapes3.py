"""Third round of the verdict hunt, the trust side (tools/gen_pcaps.py; pcaps/README.md,
"the verdict hunt, third round"): ITL/CTL/TVS shapes whose packets have another
explanation than the failure they look like (DESIGN §4, FIELD D)."""

from __future__ import annotations

import contextlib
import io
import json
from functools import cache
from pathlib import Path
from typing import Any

from capfcap.cli import main

SYNTH = Path(__file__).resolve().parent.parent / "pcaps" / "synthetic"


@cache
def _run(name: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["analyze", "--format", "json", str(SYNTH / name)])
    return rc, json.loads(out.getvalue())


def _codes(r: dict[str, Any]) -> list[str]:
    return sorted(f["code"] for f in r["findings"])


def test_an_expired_capf_record_capf_does_not_present_is_not_the_failure() -> None:
    """The ITL holds two CAPF records (another node's or a stale certificate next to the
    current one); CAPF presents the current, valid one and the phone enrols. The expired
    record is not what the phone checks CAPF against: no CAPF_CERT_EXPIRED error, and the
    withheld verdict says why."""
    rc, r = _run("itl_two_capf_stale.pcap")
    assert _codes(r) == ["CAPF_LSC_ISSUED"]
    assert rc == 0
    (w,) = [w for w in r["withheld"] if w["code"] == "CAPF_CERT_EXPIRED"]
    assert "presents" in w["reason"] and "CAPF-p3cur" in w["reason"]


def test_two_capf_records_and_no_capf_session_cannot_tell_which_one_counts() -> None:
    """The same ITL, no operation pending and no CAPF session: the capture does not show
    which CAPF record CAPF uses, so an expired one of the two is no proven failure."""
    _rc, r = _run("itl_two_capf_no_session.pcap")
    assert _codes(r) == ["CAPF_NO_OPERATION"]
    (w,) = [w for w in r["withheld"] if w["code"] == "CAPF_CERT_EXPIRED"]
    assert "which" in w["reason"] and "capture" in w["reason"]


def test_a_stale_itl_capf_record_is_a_mismatch_not_a_certificate_to_regenerate() -> None:
    """Mixed mode: the CTL carries the current CAPF certificate, the ITL only the old,
    expired one (TFTP not restarted after the CAPF regeneration); CAPF presents the
    current one and the phone enrols. The ITL is stale (CAPF_CERT_MISMATCH, ITL only), but
    CAPF's certificate is valid: 'CAPF certificate expired, regenerate it' is wrong."""
    _rc, r = _run("ctl_current_itl_stale.pcap")
    assert _codes(r) == ["CAPF_CERT_MISMATCH", "CAPF_LSC_ISSUED"]
    (m,) = [f for f in r["findings"] if f["code"] == "CAPF_CERT_MISMATCH"]
    assert m["lists"] == ["ITL"]
    (w,) = [w for w in r["withheld"] if w["code"] == "CAPF_CERT_EXPIRED"]
    assert "CAPF_CERT_MISMATCH" in w["reason"] and "CAPF-p3cur" in w["reason"]


def test_tvs_certificate_missing_from_the_served_itl_is_no_foreign_trust_list() -> None:
    """TVS presents a regenerated certificate that the ITL the phone just took does not
    hold, and the phone aborts with unknown_ca. A phone holding this very ITL rejects that
    certificate too, so the alert does not prove the phone holds another cluster's trust
    list (and an ITL reset is not the fix): TVS_CERT_MISMATCH, restart TVS and TFTP."""
    _rc, r = _run("tvs_cert_not_in_itl.pcap")
    assert _codes(r) == ["TVS_CERT_MISMATCH", "TVS_TLS_FAILED"]
    (m,) = [f for f in r["findings"] if f["code"] == "TVS_CERT_MISMATCH"]
    assert "TFTP" in m["remediation"] and "itl reset" not in m["remediation"]
    assert "TVS" in m["detail"] and "ITLFile.tlv" in m["detail"]


def test_a_phone_rejecting_a_tvs_certificate_of_the_served_itl_still_distrusts() -> None:
    """The counterpart (pcaps/synthetic/distrust_tvs_alert.pcap): the presented TVS
    certificate is in the ITL the phone took, so its rejection shows another trust list."""
    _rc, r = _run("distrust_tvs_alert.pcap")
    assert "PHONE_DISTRUSTS_CLUSTER" in _codes(r)
    assert "TVS_CERT_MISMATCH" not in _codes(r)


def test_one_server_changing_its_itl_is_a_change_over_time_not_odd_servers() -> None:
    """One TFTP server serves the phone an ITL and, 30 s later, an ITL of another signer.
    No majority can be counted (one phone), but the capture does prove what happened: the
    server's ITL changed during the capture. The fix is not 'the node serving the odd one
    out' (there is one node): reset the phone, and if it rejects the new signer, an ITL
    reset (FIELD D1)."""
    _rc, r = _run("itl_signer_change.pcap")
    (m,) = [f for f in r["findings"] if f["code"] == "ITL_MISMATCH"]
    assert "changed during the capture" in m["detail"]
    assert "203.0.113.140" in m["summary"] and "none a majority" not in m["summary"]
    assert "odd one out" not in m["remediation"]
    assert "utils itl reset" in m["remediation"]


def test_a_capf_rejection_explained_by_a_stale_ctl_does_not_blame_the_itl() -> None:
    """Mixed mode: the ITL carries the certificate CAPF presents, the CTL only the old one,
    and the phone rejects CAPF with unknown_ca. 'Its ITL does not vouch for it' is false
    and 'make the phone's ITL carry the current CAPF certificate' is already so: the CTL
    must be updated (FIELD D4)."""
    _rc, r = _run("ctl_stale_capf_rejected.pcap")
    assert _codes(r) == ["CAPF_CERT_MISMATCH", "CAPF_TLS_FAILED"]
    (t,) = [f for f in r["findings"] if f["code"] == "CAPF_TLS_FAILED"]
    assert "ITL does not vouch" not in t["detail"] and "CTL" in t["detail"]
    assert t["remediation"].startswith("Update the CTL")


def test_a_ctl_holding_the_capf_certificate_vouches_like_tvs() -> None:
    """Mixed mode: the ITL lacks a CAPF record, but the CTL the phone holds carries the very
    certificate CAPF presents and the phone enrols. 'Nothing can vouch for the CAPF
    certificate' is false and CAPF evidently runs: ITL_NO_CAPF is info (as when TVS
    vouches), and the fix is restarting TFTP, not activating CAPF."""
    rc, r = _run("ctl_vouches_capf.pcap")
    assert _codes(r) == ["CAPF_LSC_ISSUED", "ITL_NO_CAPF"]
    (f,) = [f for f in r["findings"] if f["code"] == "ITL_NO_CAPF"]
    assert f["severity"] == "info" and rc == 0
    assert "nothing can vouch" not in f["detail"] and "CTL" in f["detail"]
    assert not f["remediation"].startswith("Activate") and "TFTP" in f["remediation"]
