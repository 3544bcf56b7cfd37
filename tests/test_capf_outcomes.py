"""Config findings and one outcome per CAPF session (issue 15).

Correlator-level tests feed hand-built events (TLS 1.2 AES-GCM: record = CAPF message +
24 bytes, DOMAIN §3.3); capture-level tests run the real captures of pcaps/realpeer
(S18-S22, with and without their key logs), the synthetic dialogues of tools/gen_pcaps.py,
and every capture in pcaps/.
"""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from capfcap.catalog import CATALOG
from capfcap.correlator.capf_outcome import OUTCOME_CODES, classify
from capfcap.correlator.engine import Correlator
from capfcap.correlator.ports import is_capf
from capfcap.correlator.rules_capf import outcome_of
from capfcap.events import (
    CapfMessage,
    ConfigSeen,
    FileTransfer,
    FlowKey,
    PhoneConfig,
    TcpConnection,
    TlsRecordInfo,
    TlsSession,
)
from capfcap.findings import Finding
from capfcap.pipeline import Analysis, Options
from capfcap.report import Report
from capfcap.sources.files import CaptureError
from capfcap.sources.inputs import InputSet, frames
from capfcap.trust.config import parse_config
from tests.conftest import REALPEER, ROOT

S = 1_000_000_000
PHONE, CAPF, TFTP = "192.0.2.21", "198.51.100.11", "198.51.100.12"
KEY = FlowKey("tcp", PHONE, 50000, CAPF, 3804)
NEW = ("CAPF_NO_OPERATION", "CAPF_AWAITING_AUTH_STRING", "CONFIG_NO_CAPF_SERVER",
       "CAPF_AUTH_FAILED", "CAPF_SESSION_CUT")
SYNTH = ROOT / "pcaps" / "synthetic"


# -- hand-built events --------------------------------------------------------------------


def _config(mode: int | None, capf: tuple[tuple[str, int], ...] = (("pub.example", 3804),),
            capf_list: str = "ok", name: str = "SEP0023AB12CD34.cnf.xml",
            observable: bool = True, frames_: tuple[int, ...] = (1, 2, 3),
            http: bool = False) -> list[object]:
    t = FileTransfer("http" if http else "tftp", PHONE, TFTP, 6970 if http else 69, name,
                     "complete", (frames_[0],), frames_, frames_[0] * S // 10,
                     frames_[-1] * S // 10, b"<device/>", 9, client_port=40000 + frames_[0],
                     data_port=0 if http else 41000)
    cfg = PhoneConfig("SEP0023AB12CD34", mode, capf, (), (), 1, "", observable=observable,
                      capf_list=capf_list)
    return [t, ConfigSeen(t, cfg)]


def _session(recs: list[tuple[str, int, float]], *, close: tuple[str, str, float] | None =
             ("server", "FIN", 0.01), msgs: tuple[CapfMessage, ...] = (),
             version: int = 0x0303) -> list[object]:
    """A CAPF session on 3804: handshake frames 10-13, then one frame per record
    (direction "s"/"c", record length, seconds after 20 s), then the close if any."""
    records = tuple(TlsRecordInfo(20 + i, int((20 + at) * S), "s2c" if d == "s" else "c2s",
                                  23, n) for i, (d, n, at) in enumerate(recs))
    last = records[-1] if records else None
    end_frame = (last.frame if last else 13) + 1
    end_ts = (last.ts if last else 20 * S)
    fins: tuple[int, ...] = ()
    rsts: tuple[int, ...] = ()
    close_ts = close_from = None
    if close is not None:
        close_from, how, after = close
        close_ts = end_ts + int(after * S)
        if how == "RST":
            rsts = (end_frame,)
        else:
            fins = (end_frame, end_frame + 1)
    all_frames = tuple(range(10, end_frame + (2 if fins else 1 if rsts else 0)))
    last_ts = close_ts if close_ts is not None else end_ts
    conn = TcpConnection(KEY, 10 * S, last_ts, all_frames, (10,), (11,), rsts,
                         close_from if rsts else None, fins, "SF", "ShADadfF", 31, 7, 6,
                         300, 300, close_ts=close_ts, close_from=close_from)
    tls = TlsSession(KEY, all_frames, 10 * S, last_ts, client_hello_frame=12,
                     client_version=0x0303, offered_versions=(version,), server_hello_frame=13,
                     version=version, cipher=0xC030, handshake_done=True, records=records,
                     capf_messages=msgs, decrypted=bool(msgs))
    return [conn, tls]


def _msg(frame: int, d: str, cmd: str, *els: tuple[str, str]) -> CapfMessage:
    return CapfMessage(frame, frame * S, "s2c" if d == "s" else "c2s", 0, cmd, 42, 12,
                       tuple(els))


def _report(*events: object, end_s: float | None = None) -> Report:
    c = Correlator()
    c.add_all(events)  # type: ignore[arg-type]
    return c.report([], end_ts=None if end_s is None else int(end_s * S))


def _codes(r: Report) -> list[str]:
    return sorted(f.code for f in r.findings)


def _one(r: Report, code: str) -> Finding:
    found = [f for f in r.findings if f.code == code]
    assert len(found) == 1, _codes(r)
    return found[0]


# -- config findings ----------------------------------------------------------------------


def test_mode_0_is_no_operation_even_in_a_short_capture() -> None:
    r = _report(*_config(0), end_s=1.0)
    f = _one(r, "CAPF_NO_OPERATION")
    assert f.severity == "info" and f.evidence.frames == (1, 2, 3)
    assert "Install/Upgrade" in f.remediation and "Apply Config" in f.remediation
    assert "CAPF_NOT_ATTEMPTED" not in _codes(r) and not r.withheld


@pytest.mark.parametrize("name, http", [("SEP0023AB12CD34.cnf.xml.sgn", False),
                                        ("SEP0023AB12CD34.cnf.xml", True)])
def test_signed_and_http_configs_are_read(name: str, http: bool) -> None:
    r = _report(*_config(0, name=name, http=http), end_s=1.0)
    f = _one(r, "CAPF_NO_OPERATION")
    assert ("tcp.port==6970" in f.evidence.filter) == http


def test_signed_config_file_gives_mode_and_capf_list() -> None:
    data = (ROOT / "pcaps" / "itl" / "SEP00005E005301.cnf.xml.sgn").read_bytes()
    cfg = parse_config("SEP00005E005301.cnf.xml.sgn", data)
    assert cfg.signer and (cfg.capf_auth_mode, cfg.capf_list) == (1, "ok")


def test_mode_1_without_capf_connection_awaits_the_string() -> None:
    r = _report(*_config(1), end_s=1.0)
    f = _one(r, "CAPF_AWAITING_AUTH_STRING")
    assert "Security Setup > LSC" in f.remediation
    assert "CAPF_NOT_ATTEMPTED" not in _codes(r) and not r.withheld


@pytest.mark.parametrize("capf_list, words", [("absent", "no capfList element"),
                                               ("no_entry", "without any capf entry"),
                                               ("blank", "processNodeName is empty")])
def test_pending_operation_without_capf_server(capf_list: str, words: str) -> None:
    r = _report(*_config(2, capf=(), capf_list=capf_list), end_s=100.0)
    f = _one(r, "CONFIG_NO_CAPF_SERVER")
    assert f.severity == "error" and words in f.detail
    assert "CAPF_NOT_ATTEMPTED" not in _codes(r)  # the config finding explains the silence


def test_automatic_mode_keeps_capf_not_attempted() -> None:
    r = _report(*_config(2), end_s=100.0)
    assert "CAPF_NOT_ATTEMPTED" in _codes(r)
    assert not set(NEW) & set(_codes(r))
    short = _report(*_config(2), end_s=1.0)  # the evidence rules still hold
    assert "CAPF_NOT_ATTEMPTED" not in _codes(short)
    assert [w["code"] for w in short.withheld] == ["CAPF_NOT_ATTEMPTED"]


def test_no_config_verdict_when_the_phone_contacts_capf() -> None:
    r = _report(*_config(0), *_session([("s", 36, 0), ("c", 59, 0.001), ("s", 36, 0.002)]))
    assert "CAPF_NO_OPERATION" not in _codes(r)
    assert "CAPF_NO_CERTIFICATE" in _codes(r)


def test_unreadable_later_config_gives_no_verdict() -> None:
    later = _config(None, capf=(), name="SEP0023AB12CD34.cnf.xml.enc.sgn", observable=False,
                    frames_=(5, 6))
    r = _report(*_config(0), *later, end_s=100.0)
    assert not set(NEW) & set(_codes(r))


@pytest.mark.parametrize("xml, want", [
    (b"<device><capfAuthMode>2</capfAuthMode></device>", "absent"),
    (b"<device><capfList></capfList></device>", "no_entry"),
    (b"<device><capfList><capf><phonePort>3804</phonePort><processNodeName/></capf>"
     b"</capfList></device>", "blank"),
    (b"<device><capfList><capf><processNodeName>pub</processNodeName></capf></capfList>"
     b"</device>", "ok"),
])
def test_config_reads_how_the_capf_list_is_written(xml: bytes, want: str) -> None:
    assert parse_config("SEP0023AB12CD34.cnf.xml", xml).capf_list == want


# -- CAPF dialogue from record sizes -------------------------------------------------------


def _classify(recs: list[tuple[str, int, float]], mode: int | None = 2, **kw: object):
    conn, tls = _session(recs, **kw)  # type: ignore[arg-type]
    assert isinstance(conn, TcpConnection) and isinstance(tls, TlsSession)
    return classify(tls, conn, mode)


def test_sizes_existing_certificate_rejected() -> None:
    oc = _classify([("s", 36, 0), ("c", 1324, 0.01), ("s", 36, 0.02)], mode=3)
    assert oc is not None and (oc.code, oc.kind) == ("CAPF_AUTH_FAILED", "auth_certificate")


def test_sizes_auth_string_rejected_only_in_string_mode() -> None:
    recs = [("s", 36, 0), ("c", 69, 0.01), ("s", 36, 0.02)]
    oc1 = _classify(recs, mode=1)
    oc2 = _classify(recs, mode=2)
    assert oc1 is not None and (oc1.code, oc1.kind) == ("CAPF_AUTH_FAILED", "auth_string")
    assert oc2 is not None and oc2.code == "CAPF_NO_CERTIFICATE"


def test_sizes_delete_and_fetch_are_not_faults() -> None:
    delete = _classify([("s", 36, 0), ("c", 59, .01), ("s", 32, .02), ("c", 36, .03),
                        ("s", 36, .04)])
    fetch = _classify([("s", 36, 0), ("c", 59, .01), ("s", 32, .02), ("c", 1000, .03),
                       ("s", 36, .04)])
    assert delete is not None and (delete.code, delete.kind) == (None, "delete")
    assert fetch is not None and (fetch.code, fetch.kind) == (None, "fetch")
    events = _session([("s", 36, 0), ("c", 59, .01), ("s", 32, .02), ("c", 36, .03),
                       ("s", 36, .04)])
    r = _report(*events)
    assert not set(OUTCOME_CODES) & set(_codes(r))
    assert any("certificate deleted" in e.what for p in r.phones for e in p.timeline)


def test_sizes_end_after_the_key_is_no_certificate() -> None:
    oc = _classify([("s", 36, 0), ("c", 59, .01), ("s", 37, .02), ("c", 329, .03),
                    ("s", 36, .04)])
    assert oc is not None and (oc.code, oc.kind) == ("CAPF_NO_CERTIFICATE", "after_key")


def test_sizes_issue_is_unchanged() -> None:
    oc = _classify([("s", 36, 0), ("c", 59, .01), ("s", 37, .02), ("c", 329, .03),
                    ("s", 997, .04), ("c", 36, .05), ("s", 36, .06)])
    assert oc is not None and oc.code == "CAPF_LSC_ISSUED"


def test_cut_by_rst_after_a_long_idle_gap_names_the_gap() -> None:
    r = _report(*_session([("s", 36, 0), ("c", 59, .01), ("s", 37, .02)],
                          close=("server", "RST", 900.0)))
    f = _one(r, "CAPF_SESSION_CUT")
    assert "900.0 s" in f.summary and "RST" in f.summary
    assert "tcp.flags.reset == 1" in f.evidence.filter
    assert 23 in f.evidence.frames  # the RST frame is cited


def test_end_then_prompt_close_is_not_a_cut() -> None:
    oc = _classify([("s", 36, 0), ("c", 59, .01), ("s", 37, .02)],
                   close=("server", "FIN", 0.5))
    assert oc is not None and oc.code == "CAPF_NO_CERTIFICATE"


def test_cut_when_capf_closes_while_it_owes_an_answer() -> None:
    oc = _classify([("s", 36, 0), ("c", 59, .01), ("s", 37, .02), ("c", 329, .03)],
                   close=("server", "FIN", 0.08))
    assert oc is not None and (oc.code, oc.kind) == ("CAPF_SESSION_CUT", "cut")
    # the summary stays the same in a live and an offline capture; the detail is exact
    assert "under a second" in oc.summary and "80.0 ms" in oc.detail


def test_silence_goes_through_the_evidence_rules() -> None:
    recs = [("s", 36, 0), ("c", 59, .01), ("s", 37, .02), ("c", 329, .03)]
    short = _report(*_session(recs, close=None), end_s=21.0)
    assert "CAPF_SESSION_CUT" not in _codes(short)
    assert [w["code"] for w in short.withheld] == ["CAPF_SESSION_CUT"]
    assert "capture longer" in str(short.withheld[0]["reason"])
    long = _report(*_session(recs, close=None), end_s=120.0)
    f = _one(long, "CAPF_SESSION_CUT")
    assert "went silent" in f.summary and not long.withheld


def test_no_cut_claimed_when_the_capture_lost_server_records() -> None:
    r = _report(*_session([("s", 40, 0), ("c", 63, .01), ("c", 32, .02), ("c", 329, .03),
                           ("c", 36, .04)]))
    assert "CAPF_SESSION_CUT" not in _codes(r)
    assert "in a row" in str(r.withheld[0]["reason"])


def test_tls13_close_notify_record_is_not_a_capf_message() -> None:
    oc = _classify([("s", 29, 0), ("c", 56, .01), ("s", 29, .02), ("c", 19, .03)],
                   version=0x0304)
    assert oc is not None and oc.code == "CAPF_NO_CERTIFICATE"


# -- decrypted dialogue ---------------------------------------------------------------------


def _decrypted(end_reason: str, auth_els: tuple[tuple[str, str], ...], mode: int | None = 1
               ) -> Finding:
    msgs = (_msg(20, "s", "AUTH_REQUEST", ("VERSION", "3")),
            _msg(21, "c", "AUTH_RESPONSE", *auth_els),
            _msg(22, "s", "END_SESSION", ("REASON", end_reason)))
    ev = _session([("s", 40, 0), ("c", 69, .01), ("s", 36, .02)], msgs=msgs)
    r = _report(*(_config(mode) if mode is not None else []), *ev)
    outs = [f for f in r.findings if f.code in OUTCOME_CODES]
    assert len(outs) == 1, _codes(r)
    return outs[0]


def test_decrypted_summary_names_the_end_it_decoded() -> None:
    f = _decrypted("9 UNKNOWN_DEVICE", (("DEVICE_NAME", "SEP0023AB12CD34"),), mode=2)
    assert f.code == "CAPF_NO_CERTIFICATE"
    assert "END_SESSION reason 9 UNKNOWN_DEVICE" in f.summary
    assert "not seen" not in f.summary
    assert "device name" in f.remediation


def test_decrypted_reason_selects_the_fix() -> None:
    f0 = _decrypted("0 NO_ACTION", (("PASSWORD", "****"),), mode=2)
    assert f0.code == "CAPF_NO_CERTIFICATE" and "Operation Completes By" in f0.remediation
    f7 = _decrypted("7 INVALID_ELEMENT", (("PASSWORD", "****"),), mode=1)
    assert f7.code == "CAPF_AUTH_FAILED" and "enter it again" in f7.remediation
    fc = _decrypted("7 INVALID_ELEMENT", (("CERTIFICATE", "MIC subject=..."),
                                          ("SIGNED_DATA", "<256 bytes>")), mode=3)
    assert fc.code == "CAPF_AUTH_FAILED" and "CAPF-trust" in fc.remediation
    assert "Null String" in fc.remediation
    assert len({f0.remediation, f7.remediation, fc.remediation}) == 3


def test_decrypted_dialogue_without_end_is_a_cut() -> None:
    msgs = (_msg(20, "s", "AUTH_REQUEST"), _msg(21, "c", "AUTH_RESPONSE"),
            _msg(22, "s", "KEY_GENERATE_REQUEST"), _msg(23, "c", "REQUEST_IN_PROGRESS"))
    ev = _session([("s", 40, 0), ("c", 63, .01), ("s", 41, .02), ("c", 32, .03)],
                  msgs=msgs, close=("server", "FIN", 0.09))
    f = _one(_report(*ev), "CAPF_SESSION_CUT")
    assert "no END_SESSION" in f.summary and f.extra["confidence"] == "certain"


def test_new_codes_are_in_the_catalog_with_contract_severities() -> None:
    want = {"CAPF_NO_OPERATION": "info", "CAPF_AWAITING_AUTH_STRING": "info",
            "CONFIG_NO_CAPF_SERVER": "error", "CAPF_AUTH_FAILED": "error",
            "CAPF_SESSION_CUT": "error"}
    for code, sev in want.items():
        info = CATALOG[code]
        assert info.severity == sev and info.fix and info.meaning and info.causes
    readme = (ROOT / "README.md").read_text()
    for code in want:
        assert f"`{code}`" in readme, code


# -- captures -------------------------------------------------------------------------------


@cache
def _run(path: str, keylog: str = "") -> tuple[Report, Analysis]:
    opts = Options()
    if keylog:
        from capfcap.extractors.tlsdecrypt import load_keylog

        opts.keylog, opts.keylog_data = keylog, load_keylog(keylog)
    a = Analysis(opts)
    inputs = InputSet()
    for fr in frames([path], inputs, None):
        a.feed(fr)
    a.finish()
    return a.report(inputs.files), a


REAL_CASES = [
    ("S18_config_no_operation", "CAPF_NO_OPERATION", False),
    ("S19_awaiting_auth_string", "CAPF_AWAITING_AUTH_STRING", False),
    ("S20_config_no_capf_server", "CONFIG_NO_CAPF_SERVER", False),
    ("S21_capf_session_cut", "CAPF_SESSION_CUT", False),
    ("S21_capf_session_cut", "CAPF_SESSION_CUT", True),
    ("S22_capf_auth_failed", "CAPF_AUTH_FAILED", False),
    ("S22_capf_auth_failed", "CAPF_AUTH_FAILED", True),
    ("S10_capf_no_operation", "CAPF_NO_CERTIFICATE", False),
    ("S10_capf_no_operation", "CAPF_NO_CERTIFICATE", True),
    ("S10b_capf_unknown_device", "CAPF_NO_CERTIFICATE", False),
    ("S10b_capf_unknown_device", "CAPF_NO_CERTIFICATE", True),
]


@pytest.mark.parametrize("name, code, keyed", REAL_CASES,
                         ids=[f"{n}{'-keylog' if k else ''}" for n, _c, k in REAL_CASES])
def test_real_capture_gets_its_verdict(name: str, code: str, keyed: bool) -> None:
    keylog = str(REALPEER / "keylogs" / f"{name}.keylog") if keyed else ""
    r, _a = _run(str(REALPEER / f"{name}.pcap"), keylog)
    f = _one(r, code)
    assert not set(NEW) - {code} & set(_codes(r))
    if keyed:
        assert f.extra["confidence"] == "certain"
    if keyed and name.startswith("S10b"):
        assert "reason 9" in f.summary and "device name" in f.remediation
    if keyed and name.startswith("S10_"):
        assert "reason 0" in f.summary and "Operation Completes By" in f.remediation
    if name.startswith("S21"):  # the session ended by the server's FIN, gap measured
        assert "idle gap of" in f.summary and "FIN" in f.summary


def test_synthetic_dialogues() -> None:
    r, _a = _run(str(SYNTH / "capf_idle_reset.pcap"))
    assert "600.0 s" in _one(r, "CAPF_SESSION_CUT").summary
    r, _a = _run(str(SYNTH / "capf_cert_auth_rejected.pcap"))
    assert "CAPF-trust" in _one(r, "CAPF_AUTH_FAILED").remediation
    r, _a = _run(str(SYNTH / "capf_delete.pcap"))
    assert not set(OUTCOME_CODES) & set(_codes(r))
    assert any("certificate deleted" in e.what for p in r.phones for e in p.timeline)


# Captures besides S18-S22 where a new code is right: configs with capfAuthMode 0 (a
# phone that has its LSC, or synthetic phones served a mode-0 config), and the synthetic
# dialogues made for the new verdicts.
ALSO = {
    "pcaps/realpeer/S24_lsc_rejected_5061.pcap": {"CAPF_NO_OPERATION"},  # LSC issued before
    "pcaps/synthetic/multi_iface.pcapng": {"CAPF_NO_OPERATION"},
    "pcaps/synthetic/real_itl_tftp.pcap": {"CAPF_NO_OPERATION"},
    "pcaps/synthetic/silent_tftp_two_phones.pcap": {"CAPF_NO_OPERATION"},
    "pcaps/synthetic/tftp_lost_final.pcap": {"CAPF_NO_OPERATION"},
    "pcaps/synthetic/tftp_lost_middle.pcap": {"CAPF_NO_OPERATION"},
    "pcaps/synthetic/tftp_stopped.pcap": {"CAPF_NO_OPERATION"},
    "pcaps/synthetic/tftp_two_oacks.pcap": {"CAPF_NO_OPERATION"},
    "pcaps/synthetic/tftp_two_tids_error5.pcap": {"CAPF_NO_OPERATION"},
    "pcaps/realtool/dns_glibc_a_only.pcap": {"CAPF_NO_OPERATION"},
    "pcaps/realtool/dns_glibc_aaaa_refused.pcap": {"CAPF_NO_OPERATION"},
    "pcaps/realtool/dns_glibc_nxdomain.pcap": {"CAPF_NO_OPERATION"},
    "pcaps/synthetic/dns_same_id_aaaa_first.pcap": {"CAPF_NO_OPERATION"},
    "pcaps/synthetic/mic_expired_5061.pcap": {"CAPF_NO_OPERATION"},
    "pcaps/synthetic/capf_cert_auth_rejected.pcap": {"CAPF_AUTH_FAILED"},
    "pcaps/synthetic/capf_idle_reset.pcap": {"CAPF_SESSION_CUT"},
    "pcaps/realpeer/S18_config_no_operation.pcap": {"CAPF_NO_OPERATION"},
    "pcaps/realpeer/S19_awaiting_auth_string.pcap": {"CAPF_AWAITING_AUTH_STRING"},
    "pcaps/realpeer/S20_config_no_capf_server.pcap": {"CONFIG_NO_CAPF_SERVER"},
    "pcaps/realpeer/S21_capf_session_cut.pcap": {"CAPF_SESSION_CUT"},
    "pcaps/realpeer/S22_capf_auth_failed.pcap": {"CAPF_AUTH_FAILED"},
    "pcaps/synthetic/itlsep_download.pcap": {"CAPF_NO_OPERATION"},  # capfAuthMode 0
    "pcaps/synthetic/tftp_window_noack.pcap": {"CAPF_NO_OPERATION"},  # capfAuthMode 0
    "pcaps/synthetic/itl_two_capf_no_session.pcap": {"CAPF_NO_OPERATION"},  # capfAuthMode 0
}


def _captures() -> list[Path]:
    return sorted(p for p in (ROOT / "pcaps").rglob("*")
                  if p.suffix in (".pcap", ".pcapng") and p.is_file())


def _safe_run(p: Path) -> tuple[Report, Analysis] | None:
    try:
        return _run(str(p))
    except CaptureError:
        return None


def test_new_codes_fire_on_nothing_else_in_pcaps() -> None:
    for p in _captures():
        got = _safe_run(p)
        if got is None:
            continue
        rel = str(p.relative_to(ROOT))
        fired = set(NEW) & set(_codes(got[0]))
        assert fired == ALSO.get(rel, set()), (rel, fired)


def test_every_capf_session_in_pcaps_has_exactly_one_outcome() -> None:
    sessions = 0
    for p in _captures():
        got = _safe_run(p)
        if got is None:
            continue
        r, a = got
        outs = [f for f in r.findings if f.code in OUTCOME_CODES]
        # withheld: a silent cut not proven, or any outcome of a capture out of time order
        cuts = [w for w in r.withheld if w["code"] in OUTCOME_CODES]
        claimed = 0
        for phone in a.correlator.state.phones().values():
            for s in phone.tls:
                if not is_capf(phone, s.key.server_port) or not s.handshake_done:
                    continue
                sessions += 1
                mine = set(s.frames)
                n = sum(1 for f in outs if set(f.evidence.frames) <= mine)
                n += sum(1 for w in cuts if set(w["frames"]) <= mine)  # type: ignore[arg-type]
                oc = outcome_of(phone, s)
                n += 1 if oc is not None and oc.code is None else 0
                assert n == 1, (str(p.relative_to(ROOT)), s.key, n)
                claimed += n
        assert len(outs) + len(cuts) <= claimed, str(p)  # no outcome outside a session
    assert sessions >= 40


def test_keylog_that_decrypts_nothing_is_said_once() -> None:
    args = [sys.executable, "-m", "capfcap", "analyze",
            str(REALPEER / "S10_capf_no_operation.pcap"), "--format", "json", "--keylog"]
    wrong = subprocess.run(args + [str(REALPEER / "keylogs" / "S01_happy.keylog")],
                           capture_output=True, text=True, timeout=120, cwd=ROOT)
    lines = [ln for ln in wrong.stderr.splitlines() if "--keylog" in ln]
    assert len(lines) == 1 and "decrypted none of the 3 TLS application records" in lines[0]
    assert "first at frame 69" in lines[0]
    assert lines[0].split("warning: ", 1)[1] in wrong.stdout  # the report notes say it too
    right = subprocess.run(args + [str(REALPEER / "keylogs" / "S10_capf_no_operation.keylog")],
                           capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert "--keylog" not in right.stderr and "decrypted none" not in right.stdout


def test_silence_while_the_phone_generates_its_key_waits_for_the_keepalive() -> None:
    """AUTH_REQUEST, AUTH_RESPONSE, KEY_GENERATE_REQUEST, then the phone's small record:
    REQUEST_IN_PROGRESS (DOMAIN §3.4), so the phone owes the key; 30 s of silence (enough
    when CAPF owes the answer) proves nothing, CAPF's 15-minute keepalive does."""
    recs = [("s", 36, 0), ("c", 59, .01), ("s", 37, .02), ("c", 36, .03)]
    short = _report(*_session(recs, close=None), end_s=120.0)
    assert "CAPF_SESSION_CUT" not in _codes(short)
    reason = str(short.withheld[0]["reason"])
    assert "REQUEST_IN_PROGRESS" in reason and "keepalive" in reason, reason
    assert "15 min" in reason or "900" in reason, reason
    long = _report(*_session(recs, close=None), end_s=20 + 16 * 60.0)
    assert "went silent" in _one(long, "CAPF_SESSION_CUT").summary
    # the phone's key is large: then CAPF owes the certificate and 30 s is enough
    keyed = _report(*_session(recs[:3] + [("c", 329, .03)], close=None), end_s=120.0)
    assert "CAPF_SESSION_CUT" in _codes(keyed)


def test_decrypted_request_in_progress_waits_for_the_key() -> None:
    msgs = (_msg(20, "s", "AUTH_REQUEST", ("VERSION", "3")),
            _msg(21, "c", "AUTH_RESPONSE"),
            _msg(22, "s", "KEY_GENERATE_REQUEST"),
            _msg(23, "c", "REQUEST_IN_PROGRESS"))
    ev = _session([("s", 40, 0), ("c", 69, .01), ("s", 37, .02), ("c", 36, .03)],
                  close=None, msgs=msgs)
    r = _report(*ev, end_s=200.0)
    assert "CAPF_SESSION_CUT" not in _codes(r)
    assert "the phone's key or CAPF's keepalive" in str(r.withheld[0]["reason"])
