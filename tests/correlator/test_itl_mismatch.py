"""ITL_MISMATCH warns the phones that received a minority ITL, from hand-built events."""

from __future__ import annotations

import hashlib

from capfcap.correlator.common import Context
from capfcap.correlator.engine import Correlator
from capfcap.correlator.state import PhoneState, State
from capfcap.correlator.timeline import verdict
from capfcap.events import (
    CertInfo,
    FileTransfer,
    FlowKey,
    TlsSession,
    TrustList,
    TrustListSeen,
    TrustRecord,
)
from capfcap.findings import Evidence, Finding
from capfcap.report import Report

S = 1_000_000_000
PUB, SUB = "203.0.113.11", "203.0.113.12"
A, B, C, D = "192.0.2.41", "192.0.2.42", "192.0.2.43", "192.0.2.44"


def cert(name: str) -> CertInfo:
    h = hashlib.sha256(name.encode()).hexdigest()
    return CertInfo(h, h[:40], f"CN={name}", f"CN={name}", "01", 0, 10**19, "RSA", 2048,
                    True, True)


def itl(signer: str, capf: str, extra: str = "") -> TrustList:
    """An ITL whose identity is its signer and CAPF certificate (`extra` varies the bytes)."""
    sha = hashlib.sha256(f"{signer}|{capf}|{extra}".encode()).hexdigest()
    rec = TrustRecord(1, 4, "CAPF", f"CN={capf}", f"CN={capf}", "02", cert=cert(capf))
    return TrustList("ITL", "ITLFile.tlv", "1.2", "", f"CN={signer}", signer[:8].encode().hex(),
                     f"CN={signer}", "SHA-1", "valid", "", None, (rec,), "m", "s", sha, 100)


def seen(client: str, server: str, tl: TrustList, frame: int) -> TrustListSeen:
    t = FileTransfer("tftp", client, server, 69, "ITLFile.tlv", "complete", (frame,),
                     (frame, frame + 1), frame * S, (frame + 1) * S, b"x", 1,
                     client_port=50000 + frame)
    return TrustListSeen(t, tl)


X = itl("ITLRECOVERY_pub", "CAPF-current")
Y = itl("ITLRECOVERY_sub", "CAPF-old")


def mismatches(*events: object) -> tuple[list[Finding], Report]:
    c = Correlator()
    for ev in events:
        if isinstance(ev, TrustListSeen):
            c.add(ev.transfer)  # the download makes its client a phone
        c.add(ev)  # type: ignore[arg-type]
    r = c.report()
    return [f for f in r.findings if f.code == "ITL_MISMATCH"], r


def test_only_the_phone_with_the_minority_itl_is_warned() -> None:
    fs, _r = mismatches(seen(A, PUB, X, 10), seen(B, PUB, X, 20), seen(C, SUB, Y, 30))
    assert [f.phone.get("ip") for f in fs] == [C]
    f = fs[0]
    assert f.server == {"ip": SUB, "port": 69}
    assert "2 of 3 phones" in f.summary and X.sha256[:16] in f.summary
    assert f.extra["itl_sha256"] == Y.sha256 and f.extra["majority_itl_sha256"] == X.sha256
    assert "signer CN=ITLRECOVERY_sub" in f.detail and "CAPF certificate" in f.detail
    assert "2 phones (192.0.2.41, 192.0.2.42)" in f.detail
    assert "Cisco TFTP service on it" in f.remediation and SUB in f.remediation
    assert "bulk-reset" not in f.remediation and "not a bulk ITL reset" in f.remediation
    assert set(f.evidence.frames) == {30, 31, 10, 11}


def test_a_phone_warned_once_however_often_it_downloads() -> None:
    fs, _r = mismatches(seen(A, PUB, X, 10), seen(B, PUB, X, 20), seen(C, SUB, Y, 30),
                        seen(C, SUB, Y, 40), seen(C, SUB, itl("other", "CAPF-x"), 50))
    assert [f.phone.get("ip") for f in fs] == [C]


def test_two_phones_two_itls_is_one_capture_level_finding() -> None:
    fs, r = mismatches(seen(A, PUB, X, 10), seen(B, SUB, Y, 30))
    assert len(fs) == 1 and fs[0].phone == {} and fs[0].server == {}
    f = fs[0]
    assert "none a majority" in f.summary
    assert f"{X.sha256[:16]} from {PUB} to {A}" in f.summary
    assert f"{Y.sha256[:16]} from {SUB} to {B}" in f.summary
    assert all("ITL_MISMATCH" not in p.verdict for p in r.phones)


def test_a_tie_is_one_capture_level_finding() -> None:
    fs, _r = mismatches(seen(A, PUB, X, 10), seen(B, PUB, X, 20), seen(C, SUB, Y, 30),
                        seen(D, SUB, Y, 40))
    assert [f.phone for f in fs] == [{}]
    assert "4 phones" in fs[0].summary


def test_itls_that_differ_only_in_bytes_are_no_mismatch() -> None:
    same_identity = itl("ITLRECOVERY_pub", "CAPF-current", extra="another TFTP record")
    assert same_identity.sha256 != X.sha256
    fs, _r = mismatches(seen(A, PUB, X, 10), seen(B, PUB, X, 20),
                        seen(C, SUB, same_identity, 30))
    assert fs == []
    fs, _r = mismatches(seen(A, PUB, X, 10), seen(B, SUB, same_identity, 30))
    assert fs == []


def test_one_server_serving_two_itls_says_so() -> None:
    fs, _r = mismatches(seen(A, PUB, X, 10), seen(B, PUB, X, 20), seen(C, PUB, Y, 30))
    assert [f.phone.get("ip") for f in fs] == [C]
    assert f"{PUB} served two different ITLs" in fs[0].remediation


def test_no_majority_names_the_itl_whose_capf_record_is_stale() -> None:
    live = TlsSession(FlowKey("tcp", A, 41000, PUB, 3804), (60, 61, 62), 60 * S, 62 * S,
                      cert_frame=61, server_certs=(cert("CAPF-current"),))
    fs, _r = mismatches(seen(A, PUB, X, 10), seen(B, SUB, Y, 30), live)
    (f,) = fs
    assert f"ITL {Y.sha256[:16]} (from {SUB}) is stale" in f.detail
    assert f"the ITL from {SUB} carries a CAPF certificate" in f.remediation
    assert 61 in f.evidence.frames


def _finding(code: str, severity: str, **extra: object) -> Finding:
    return Finding(code, severity, {"ip": A}, {}, f"{code} summary", "", "",  # type: ignore[arg-type]
                   Evidence((1,), None, None, ""), dict(extra))


def test_the_verdict_of_a_phone_that_got_its_lsc_stays_lsc_installed() -> None:
    ctx = Context(State(), {}, set(), {}, {})
    p = PhoneState(A, 1)
    issued = _finding("CAPF_LSC_ISSUED", "info", confidence="high")
    mismatch = _finding("ITL_MISMATCH", "warning")
    v = verdict(ctx, p, [mismatch, issued], [])
    assert v == "LSC installed (from the TLS record sizes); also ITL_MISMATCH"
    assert verdict(ctx, p, [issued], []) == "LSC installed (from the TLS record sizes)"
    assert verdict(ctx, p, [mismatch], []) == "ITL_MISMATCH summary"
