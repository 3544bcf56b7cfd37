"""`capfcap explain`: finding codes, pasted phone/CUCM messages, and catalog texts that
follow Cisco's documents (FIELD.md §b and §c of the shared notes)."""

from __future__ import annotations

import re

import pytest

from capfcap import exitcodes
from capfcap.catalog import CATALOG
from capfcap.cli import main
from capfcap.messages import MESSAGES, codes_named, fold, lookup

# DESIGN.md §4, both tables (the shared docs are not in CI, so the list is copied here; keep
# it in step with the contract). `TVS_*` of the first table is spelled out.
FIRST_TABLE = {
    "CAPTURE_ONE_SIDED", "CAPTURE_GAPS", "CAPTURE_DUPLICATES", "TFTP_NO_RESPONSE",
    "TRANSFER_INCOMPLETE", "ITL_NOT_FOUND", "ITL_PARSE_ERROR", "ITL_SIGNATURE_INVALID",
    "ITL_NO_CAPF", "ITL_MISMATCH", "CONFIG_NOT_FOUND", "CAPF_NOT_ATTEMPTED", "DNS_NXDOMAIN",
    "DNS_NODATA", "DNS_SERVER_ERROR", "DNS_NO_RESPONSE", "CAPF_UNIDIRECTIONAL",
    "CAPF_REFUSED", "CAPF_TLS_FAILED", "CAPF_CERT_MISMATCH", "CAPF_CERT_EXPIRED",
    "CAPF_CERT_EXPIRING", "CAPF_CERT_NOT_CA", "CAPF_NO_CERTIFICATE", "CAPF_LSC_ISSUED",
    "TVS_UNIDIRECTIONAL", "TVS_REFUSED", "TVS_TLS_FAILED", "TVS_CERT_MISMATCH",
    "TVS_CERT_EXPIRED", "TVS_CERT_EXPIRING",
}
SECOND_TABLE = {
    "CAPF_NO_OPERATION", "CAPF_AWAITING_AUTH_STRING", "CONFIG_NO_CAPF_SERVER",
    "CAPF_AUTH_FAILED", "CAPF_SESSION_CUT", "PHONE_DISTRUSTS_CLUSTER", "PHONE_MIC_EXPIRED",
    "PHONE_MIC_EXPIRING", "LSC_REJECTED",
}
DESIGN_CODES = FIRST_TABLE | SECOND_TABLE


def explain(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["explain", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


# One pasted text per row of FIELD.md §b, with the findings it must point to ("benign": said
# to be benign, not a fault).
# Phone screen / Status Messages / CUCM Certificate Operation Status:
PHONE_ROWS = [
    ("LSC: Connection Failed", ["CAPTURE_ONE_SIDED", "CAPF_UNIDIRECTIONAL", "CAPF_REFUSED"]),
    ("LSC: Failed", ["CAPF_NO_CERTIFICATE", "CAPF_AUTH_FAILED"]),
    ("No valid CAPF server", ["ITL_NO_CAPF", "CAPF_CERT_MISMATCH", "CONFIG_NO_CAPF_SERVER"]),
    ("Operation Pending", ["CAPF_NO_OPERATION", "CAPF_AWAITING_AUTH_STRING",
                           "PHONE_DISTRUSTS_CLUSTER", "CAPF_NOT_ATTEMPTED"]),
    ("Upgrade Success", ["benign", "CAPF_LSC_ISSUED"]),
    ("Not Installed", ["CAPF_NO_OPERATION", "CAPF_AWAITING_AUTH_STRING", "CAPF_NO_CERTIFICATE"]),
    ("Trust list update failed, verification failure",
     ["PHONE_DISTRUSTS_CLUSTER", "ITL_SIGNATURE_INVALID", "ITL_MISMATCH"]),
    ("invalid file SEP001122334455.cnf.xml.sgn, authenticated fail. Reason:14",
     ["PHONE_DISTRUSTS_CLUSTER"]),
    ("No Trust List installed", ["ITL_NOT_FOUND"]),
    ("File Not Found CTLFile.tlv", ["benign"]),
    ("File not found SEP001122334455.cnf.xml", ["CONFIG_NOT_FOUND"]),
    ("DNS unknown IPv4 Host", ["DNS_NXDOMAIN", "DNS_NODATA"]),
    ("IPv6 DNS Timeout", ["DNS_NO_RESPONSE"]),
    ("No IPv4 DNS Server", []),
    ("TFTP timeout", ["TFTP_NO_RESPONSE"]),
    ("TFTP access error", ["CONFIG_NOT_FOUND", "ITL_NOT_FOUND"]),
    ("CFG TFTP Size Error", []),
    ("Phone failed to register. Cert key size is not FIPS compliant.", []),
    ("Registering", ["LSC_REJECTED"]),
    ("802.1x Authentication: Failed", []),
    ("Host not found", ["TVS_UNIDIRECTIONAL", "TVS_TLS_FAILED"]),
]
# Console-log lines:
CONSOLE_ROWS = [
    ("3128: NOT 09:35:07.021 dgetfile(...)-GETXXTP [src=CTLSEP001122334455.tlv]", ["benign"]),
    ("HTTP download error, try tftp download", ["benign"]),
    ("SECUREAPP-Attempting connect to TVS server addr [192.0.2.10], mode [IPv4]",
     ["TVS_UNIDIRECTIONAL", "PHONE_DISTRUSTS_CLUSTER"]),
    ("SECUREAPP-SSL session setup - cert len=912, type=LSC", ["LSC_REJECTED"]),
    ("SECUREAPP-SSL session setup Cert Verification - Role is = 21", ["TVS_CERT_MISMATCH"]),
    ("SECUREAPP-AUTH: hdr ver 1.2 (knows only upto 1.1)", ["benign"]),
    ("SECUREAPP-TL file verified successfully", ["benign"]),
    ("SECD: -HTTPS cert not in CTL, <192.0.2.10:8443>", ["TVS_TLS_FAILED"]),
    ("SECD: clpSetupSsl: SSL3 alert read:fatal:handshake failure", ["TVS_TLS_FAILED"]),
    ("SECD: -PXY_NO_LSC: No LSC for [SCCP], will try MIC", ["PHONE_MIC_EXPIRED"]),
    ("SECD: -PXY_CERT_CIPHER: [SCCP], [TLSv1], cert [LSC], AES128-SHA", ["benign"]),
    ("SECD: -STATE_SSL3_ALERT: SSL3 alert [read]:[fatal]:[unknown CA]", ["LSC_REJECTED"]),
    ("PAE: -802.1X auth FAILED", []),
]


@pytest.mark.parametrize(("pasted", "expect"), PHONE_ROWS + CONSOLE_ROWS)
def test_every_field_row_is_explained(capsys: pytest.CaptureFixture[str], pasted: str,
                                      expect: list[str]) -> None:
    found = lookup(pasted)
    assert len(found) == 1, [m.shows for m in found]
    m = found[0]
    rc, out, err = explain(capsys, pasted)
    assert rc == exitcodes.OK and not err
    assert f'"{m.shows[0]}"' in out and "Source:" in out
    benign = "benign" in expect
    assert (m.kind == "benign") == benign
    assert out.count("Benign.") == (1 if benign else 0)
    assert ("triage order" in out) == (m.kind == "problem")
    named = [c for s in m.steps for c in s.codes]
    codes = [c for c in expect if c != "benign"]
    for code in codes:
        assert code in named and code in out
    if not codes and not benign:  # a cause capfcap does not diagnose: said so
        assert "(no finding)" in out and "not diagnosed by capfcap" in out


def test_lsc_connection_failed_gives_the_triage_list_in_order(
        capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = explain(capsys, "LSC: Connection Failed")
    assert rc == exitcodes.OK and "in triage order" in out
    order = ["CAPTURE_ONE_SIDED", "DNS_NXDOMAIN", "CAPF_UNIDIRECTIONAL", "CAPF_TLS_FAILED",
             "CAPF_SESSION_CUT"]
    pos = [out.index(c) for c in order]
    assert pos == sorted(pos)
    numbered = re.findall(r"^  (\d+)\. ", out, re.M)
    assert numbered == [str(i) for i in range(1, len(numbered) + 1)] and len(numbered) >= 5


@pytest.mark.parametrize("pasted", [
    "lsc connection failed",
    "LSC - CONNECTION FAILED!!",
    "  LSC:connection   failed.  ",
    "the phone says 'LSC: Connection Failed' since this morning",
    "LSC: Connection Failed",
])
def test_matching_ignores_case_punctuation_and_words_around(pasted: str) -> None:
    assert [m.shows[0] for m in lookup(pasted)] == ["LSC: Connection Failed"]


def test_words_are_passed_unquoted_too(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = explain(capsys, "Operation", "Pending")
    assert rc == exitcodes.OK and "CAPF_NO_OPERATION" in out


def test_a_match_inside_a_longer_message_is_not_reported() -> None:
    assert [m.shows[0] for m in lookup("LSC: Not Installed")] == ["Not Installed"]
    assert [m.shows[0] for m in lookup("LSC: Installed")] == ["Installed"]
    assert [m.shows[0] for m in lookup("No Trust List installed")] == ["No Trust List installed"]
    assert [m.shows[0] for m in lookup("LSC: Failed")] == ["LSC: Failed"]


def test_pasted_log_excerpt_explains_each_line_in_order() -> None:
    log = ("SECUREAPP-AUTH: hdr ver 1.2 (knows only upto 1.1)\n"
           "SECD: -STATE_SSL3_ALERT: SSL3 alert [read]:[fatal]:[unknown CA]\n")
    kinds = [m.kind for m in lookup(log)]
    assert kinds == ["benign", "problem"]


def test_benign_header_warning_names_no_finding(capsys: pytest.CaptureFixture[str]) -> None:
    (m,) = lookup("SECUREAPP-AUTH: hdr ver 1.2 (knows only upto 1.1)")
    assert m.kind == "benign" and not [c for s in m.steps for c in s.codes]
    _, out, _ = explain(capsys, "hdr ver 1.2 (knows only upto 1.1)")
    assert out.count("Benign.") == 1 and "not an error" in out
    assert not any(code in out for code in CATALOG)


def test_unknown_text_is_one_line_no_match_a_list_and_exit_2(
        capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = explain(capsys, "my phone is haunted")
    assert rc == exitcodes.USAGE
    assert err.count("\n") == 1 and err.startswith("capfcap: no match for 'my phone is haunted'")
    listed = out.splitlines()
    for m in MESSAGES:
        assert any(m.shows[0] in x for x in listed), m.shows[0]
    rc, _, err = explain(capsys, "NOT_A_CODE")
    assert rc == exitcodes.USAGE and "unknown finding code 'NOT_A_CODE'" in err


def test_codes_and_topics_still_work(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = explain(capsys, "capf_refused")
    assert rc == exitcodes.OK
    assert out.startswith("CAPF_REFUSED (error): ") and "Fix:" in out
    assert f"Source: {CATALOG['CAPF_REFUSED'].source}" in out
    rc, out, _ = explain(capsys, "inconclusive")
    assert rc == exitcodes.OK and "What silence proves".lower() in out.lower()


def test_no_argument_lists_codes_and_says_how_to_look_up_a_message(
        capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = explain(capsys)
    assert rc == exitcodes.OK
    listed = {x.split()[0] for x in out.splitlines() if x and x.split()[0] in CATALOG}
    assert listed == set(CATALOG)
    assert "capfcap explain \"TEXT\"" in out and "LSC: Connection Failed" in out


def test_message_table_names_only_design_codes() -> None:
    assert codes_named() <= DESIGN_CODES, codes_named() - DESIGN_CODES
    # the first table's codes exist in every build: those named must be catalogued
    assert codes_named() & FIRST_TABLE <= set(CATALOG), (codes_named() & FIRST_TABLE) - set(
        CATALOG)
    assert set(CATALOG) <= DESIGN_CODES, set(CATALOG) - DESIGN_CODES


def test_every_message_has_patterns_that_match_its_own_texts() -> None:
    for m in MESSAGES:
        assert m.source and m.where and m.meaning
        for shown in m.shows:
            if "<" in shown or "..." in shown:
                continue  # a placeholder, not literal text
            assert m in lookup(shown), shown
        for p in m.patterns:
            assert all(fold(f).strip() == f for f in p), p  # stored folded


# -- catalog texts that follow Cisco (FIELD.md §c) -----------------------------------------
def test_every_catalog_entry_cites_a_source() -> None:
    missing = [code for code, info in CATALOG.items() if not info.source.strip()]
    assert not missing


def test_tvs_refused_restarts_tvs_and_does_not_name_capf() -> None:
    i = CATALOG["TVS_REFUSED"]
    text = " ".join((i.meaning, *i.causes, i.fix))
    assert "CAPF" not in text and "Certificate Authority Proxy" not in text
    assert "Service Activation" not in i.fix
    assert "Control Center - Network Services" in i.fix
    assert "Trust Verification Service is stopped on that node" in i.causes[0]


def test_tvs_texts_name_the_callmanager_group_and_per_node_certificates() -> None:
    assert "CallManager group" in CATALOG["TVS_UNIDIRECTIONAL"].fix
    assert "publisher" not in " ".join((*CATALOG["TVS_UNIDIRECTIONAL"].causes,
                                        CATALOG["TVS_UNIDIRECTIONAL"].fix))
    for code in ("TVS_CERT_EXPIRED", "TVS_CERT_EXPIRING", "TVS_CERT_MISMATCH"):
        assert "per node" in CATALOG[code].fix and "publisher" not in CATALOG[code].fix
    confirm = CATALOG["TVS_CERT_MISMATCH"].confirm
    assert "TVS (role 21)" in confirm and "CAPF" not in confirm


def test_tvs_cert_not_ca_is_dropped_and_not_raised() -> None:
    from capfcap.correlator.engine import Correlator
    from capfcap.events import CertInfo, FlowKey, TlsSession
    from tests.correlator.test_rules import CAPF, PHONE, S, conn, tftp

    assert "TVS_CERT_NOT_CA" not in CATALOG

    def leaf(name: str) -> CertInfo:  # self-signed, no BasicConstraints, no KeyUsage
        return CertInfo("a" * 64, "b" * 40, f"CN={name}", f"CN={name}", "01", 0, 10**20,
                        "RSA", 2048, None, None)

    events: list[object] = [tftp(PHONE, "ITLFile.tlv", "complete", (1, 2))]
    for port, cport, name in ((3804, 40000, "CAPF-1"), (2445, 40001, "TVS-1")):
        events.append(conn(port, (10, 11, 12, 13), "SF", "ShADadFf", synack=(11,), resp=1,
                           cport=cport))
        events.append(TlsSession(FlowKey("tcp", PHONE, cport, CAPF, port), (10, 11, 12, 13),
                                 10 * S, 13 * S, client_hello_frame=12, server_hello_frame=13,
                                 cert_frame=13, server_certs=(leaf(name),),
                                 handshake_done=True))
    c = Correlator()
    c.add_all(events)  # type: ignore[arg-type]
    codes = [f.code for f in c.report().findings]
    assert "CAPF_CERT_NOT_CA" in codes  # the rule still runs for CAPF
    assert not [x for x in codes if x.startswith("TVS_CERT")]


def test_capf_cert_not_ca_is_conditional_and_names_the_subordinate_ca_template() -> None:
    i = CATALOG["CAPF_CERT_NOT_CA"]
    assert "Subordinate Certification Authority template" in i.fix
    assert "14SU2" in i.meaning and "cannot read the CUCM version" in i.meaning
    assert "must be issued again" in i.fix


@pytest.mark.parametrize("code", ["CAPF_CERT_MISMATCH", "CAPF_CERT_EXPIRED",
                                  "CAPF_CERT_EXPIRING", "CAPF_CERT_NOT_CA"])
def test_capf_regeneration_follows_ciscos_order(code: str) -> None:
    fix = CATALOG[code].fix
    steps = ["utils ctl update CTLFile", "restart the Cisco Certificate Authority Proxy",
             "Trust Verification Service on all nodes", "TFTP service on all nodes",
             "reset the phones"]
    pos = [fix.find(s) for s in steps]
    assert -1 not in pos and pos == sorted(pos), (code, pos)
    assert "mixed mode" in fix[:pos[0]]


@pytest.mark.parametrize("code", ["CAPF_TLS_FAILED", "TVS_TLS_FAILED", "CAPF_NOT_ATTEMPTED"])
def test_locked_phone_needs_an_itl_reset_not_a_tftp_restart(code: str) -> None:
    fix = CATALOG[code].fix
    assert "utils itl reset localkey" in fix and "cannot help" in fix


def test_itl_mismatch_does_not_bulk_reset_for_cluster_moves() -> None:
    fix = CATALOG["ITL_MISMATCH"].fix
    assert "bulk-reset the ITL on phones that moved clusters" not in fix
    assert "not a bulk ITL reset" in fix
    assert "Bulk Certificate Management" in fix


def test_capf_no_certificate_fix_branches_on_the_cause() -> None:
    fix = CATALOG["CAPF_NO_CERTIFICATE"].fix
    for branch in ("Operation Completes By", "By Authentication String",
                   "By Existing Certificate", "device name", "Online CA", "Delete"):
        assert branch in fix, branch


def test_readme_and_explain_carry_the_corrected_fixes(
        capsys: pytest.CaptureFixture[str]) -> None:
    from capfcap.commands.explain import markdown_reference

    table = markdown_reference()
    assert "TVS_CERT_NOT_CA" not in table
    row = next(x for x in table.splitlines() if x.startswith("| `TVS_REFUSED`"))
    assert "Control Center - Network Services" in row and "Source: Cisco TAC" in row
    _, out, _ = explain(capsys, "TVS_CERT_MISMATCH")
    assert "role 21" in out and "Source: Cisco TAC" in out
