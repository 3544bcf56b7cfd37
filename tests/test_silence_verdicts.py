"""Verdicts of silence claim only what the capture proves (DESIGN §4 "What silence proves").

Real captures: S15 (a TFTP server that drops UDP 69; only ARP comes back), S26 and the
editcap cuts of pcaps/cuts/ (captures stopped a moment after a request). Synthetic ones
(tools/gen_pcaps.py, gen_silent_*): a silent phone beside a phone the same server
answers, alone, and with an ARP reply to its MAC.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from capfcap.pipeline import Options, analyze
from capfcap.report import Report
from tests.conftest import REALPEER, ROOT

CUTS = ROOT / "pcaps" / "cuts"
SYNTH = ROOT / "pcaps" / "synthetic"
SILENCE = {"DNS_NO_RESPONSE", "TFTP_NO_RESPONSE", "CAPF_UNIDIRECTIONAL", "TVS_UNIDIRECTIONAL",
           "CAPF_TLS_FAILED", "TRANSFER_INCOMPLETE", "CAPF_NOT_ATTEMPTED", "CAPF_REFUSED"}


def run(path: Path) -> Report:
    r, inputs = analyze([str(path)], Options())
    assert not inputs.errors
    return r


def codes(r: Report, ip: str | None = None) -> list[str]:
    return sorted(f.code for f in r.findings if ip is None or f.phone.get("ip") == ip)


def withheld(r: Report) -> dict[str, str]:
    return {str(w["code"]): str(w["reason"]) for w in r.withheld}


def test_silent_tftp_server_with_arp_back_is_tftp_no_response() -> None:
    r = run(REALPEER / "S15_tftp_silent.pcap")
    assert codes(r) == ["TFTP_NO_RESPONSE"]  # never CAPTURE_ONE_SIDED: silence alone
    (f,) = r.findings
    assert f.evidence.frames == tuple(range(3, 15))  # the 12 RRQs
    assert "ARP reply to the phone's MAC" in f.detail
    assert r.phones[0].verdict.startswith("LSC install blocked: the TFTP server")
    assert r.withheld == []


def test_capture_stopped_right_after_the_syn_is_inconclusive() -> None:
    r = run(REALPEER / "S26_capture_stopped_early.pcap")
    assert not set(codes(r)) & SILENCE
    assert codes(r) == []
    w = withheld(r)
    assert set(w) == {"CAPF_UNIDIRECTIONAL"}
    assert "the capture ends 0 ms after the SYN to CAPF port 3804" in w["CAPF_UNIDIRECTIONAL"]
    assert r.phones[0].verdict.startswith("Inconclusive: CAPF_UNIDIRECTIONAL cannot be judged")
    assert "capture longer" in r.phones[0].verdict


@pytest.mark.parametrize(("name", "code", "what"), [
    ("S01_cut_after_dns_query.pcapng", "DNS_NO_RESPONSE", "after the DNS query"),
    ("S04_cut_after_first_query.pcapng", "DNS_NO_RESPONSE", "after the DNS query"),
    ("S01_cut_after_clienthello.pcapng", "CAPF_TLS_FAILED", "after the ClientHello"),
    ("S01_cut_mid_itl.pcapng", "TRANSFER_INCOMPLETE", "after the last packet of ITLFile"),
])
def test_capture_stopped_a_moment_after_a_request_proves_nothing(name: str, code: str,
                                                                 what: str) -> None:
    r = run(CUTS / name)
    assert not set(codes(r)) & SILENCE, codes(r)
    w = withheld(r)
    assert what in w[code] and "capture longer" in w[code]
    assert r.phones[0].verdict.startswith(f"Inconclusive: {code} cannot be judged")


@pytest.mark.parametrize(("name", "code", "frames"), [
    ("S04_cut_after_retry.pcapng", "DNS_NO_RESPONSE", (57, 58)),
    ("S05_cut_after_second_syn.pcapng", "CAPF_UNIDIRECTIONAL", (59, 60)),
])
def test_the_phones_own_retransmission_proves_the_silence(name: str, code: str,
                                                          frames: tuple[int, ...]) -> None:
    """The capture still ends right after the last packet, but the phone waited for an
    answer and retried: the first request went unanswered."""
    r = run(CUTS / name)
    assert code in codes(r)
    f = next(f for f in r.findings if f.code == code)
    assert f.evidence.frames == frames


def test_silent_phone_beside_a_served_phone_is_judged() -> None:
    r = run(SYNTH / "silent_tftp_two_phones.pcap")
    # the served phone's config has capfAuthMode 0: no TFTP verdict, only the config's
    assert codes(r, "198.51.100.41") == ["CAPF_NO_OPERATION"]
    assert codes(r, "198.51.100.42") == ["TFTP_NO_RESPONSE"]
    f = r.findings[0]
    assert "203.0.113.69 answering other hosts" in f.detail
    assert "no fault" not in r.phones[1].verdict


def test_silent_phone_alone_is_inconclusive_not_one_sided() -> None:
    r = run(SYNTH / "silent_tftp_alone.pcap")
    assert codes(r) == []
    assert "no packet sent to this phone" in withheld(r)["TFTP_NO_RESPONSE"]
    assert r.phones[0].verdict.startswith("Inconclusive: TFTP_NO_RESPONSE")


def test_arp_reply_to_the_silent_phone_proves_its_receive_direction() -> None:
    r = run(SYNTH / "silent_tftp_arp.pcap")
    assert codes(r) == ["TFTP_NO_RESPONSE"]
    assert "ARP reply to the phone's MAC 00:1b:54:aa:bb:44 (frame 2" in r.findings[0].detail


@pytest.mark.parametrize("fast", [True, False])
def test_arp_frames_reach_the_analysis_on_every_path(fast: bool) -> None:
    r, _ = analyze([str(REALPEER / "S15_tftp_silent.pcap")], Options(fast=fast, jobs=1))
    assert codes(r) == ["TFTP_NO_RESPONSE"]


def test_verdict_of_a_blocked_phone_is_blocked_even_when_its_itl_is_at_risk() -> None:
    r = run(REALPEER / "S02_itl_no_capf.pcap")
    assert {"ITL_NO_CAPF", "CAPF_TLS_FAILED"} <= set(codes(r))
    assert r.phones[0].verdict.startswith("LSC install blocked: TLS to CAPF failed")
