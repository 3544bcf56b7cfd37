"""A timeline line says FAIL only for what the capture proves (DESIGN §4 "What silence
proves"): a request without a captured answer is `unproven` ("??") when the capture ends
too soon, is one-sided, or holds nothing sent to the phone, and when the phone
acknowledged what the capture lacks. An answer that is a refusal (RST, ICMP error, TFTP
ERROR) and a silence that stands stay failures."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from capfcap.pipeline import Options, analyze
from capfcap.report import PhoneReport, Report, TimelineEntry
from capfcap.reporters.text import render

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = sorted(p for p in (ROOT / "pcaps").rglob("*.pcap*")
                  if "damaged" not in p.parts and p.suffix in (".pcap", ".pcapng"))
REALPEER = ROOT / "pcaps" / "realpeer"


def _report(path: Path) -> Report:
    r, _inputs = analyze([str(path)], Options())
    return r


def _lines(r: Report, outcome: str) -> list[tuple[PhoneReport, TimelineEntry]]:
    return [(p, e) for p in r.phones for e in p.timeline if e.outcome == outcome]


def test_the_captures_are_found() -> None:
    assert len(CAPTURES) > 50 and any(p.parent.name == "cuts" for p in CAPTURES)


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_line_fails_what_a_withheld_verdict_cannot_judge(path: Path) -> None:
    """Where the rules withhold a verdict for want of proof, the timeline does not call
    the same frames a failure."""
    r = _report(path)
    held: dict[str, set[int]] = {}
    for w in r.withheld:
        frames = w.get("frames")
        assert isinstance(frames, list)
        held.setdefault(str(w["phone"]), set()).update(frames)
    wrong = [(p.ip, e.frame, e.what) for p, e in _lines(r, "failed")
             if e.frame in held.get(p.ip, set())]
    assert not wrong
    for _p, e in _lines(r, "unproven"):  # each says why
        assert "; not a proven failure (" in e.what or "; verdict withheld (" in e.what


def test_a_one_sided_capture_proves_no_silence() -> None:
    """S08 holds only what the phone sent: the unanswered TFTP requests, the config the
    phone ACKed and the CAPF connection whose server data it ACKed are all unproven."""
    r = _report(REALPEER / "S08_asymmetric_capture.pcap")
    why = {e.frame: e.what.rsplit("(", 1)[1] for _p, e in _lines(r, "unproven")}
    assert not _lines(r, "failed")
    assert sorted(why.values()) == sorted([
        "the capture is one-sided)", "the capture is one-sided)",
        "the phone acknowledged blocks the capture lacks)",
        "the phone acknowledged server data the capture lacks)"])
    out = io.StringIO()
    render(r, out, color=False)
    lines = out.getvalue().splitlines()
    assert sum(" ?? " in ln for ln in lines) == 4 and not any(" FAIL " in ln for ln in lines)


def test_a_capture_that_ends_before_the_answer_was_due_proves_no_silence() -> None:
    r = _report(REALPEER / "S26_capture_stopped_early.pcap")
    (_p, e), = _lines(r, "unproven")
    assert e.what.startswith("CAPF TCP ") and e.what.endswith("(the capture ends 0 ms later)")
    assert not _lines(r, "failed")


@pytest.mark.parametrize("name, first_failed", [
    ("S04_dns_timeout.pcap", "DNS A "),  # retried for longer than a resolver waits
    ("S05_capf_filtered.pcap", "CAPF TCP "),  # the phone's other conversations answered
    ("S15_tftp_silent.pcap", "TFTP "),
    ("S17_icmp_admin_prohibited.pcap", "CAPF TCP "),  # answered by ICMP, however soon
    ("S06_capf_refused.pcap", "CAPF TCP "),  # reset by the server
])
def test_proven_failures_stay_failures(name: str, first_failed: str) -> None:
    r = _report(REALPEER / name)
    failed = _lines(r, "failed")
    assert failed and failed[0][1].what.startswith(first_failed)
    assert not _lines(r, "unproven")


def _sip_capture(tmp_path: Path, register_times: list[float], answered_elsewhere: bool,
                 end: float) -> Path:
    """A phone fetches its config over TFTP (the server answers when `answered_elsewhere`)
    and sends SIP REGISTERs over UDP 5060 that nothing answers; the capture ends at `end`."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

    from tests.helpers import write_pcap

    phone, cucm, mac = "198.51.100.70", "203.0.113.10", "02:00:5e:10:00:70"
    t0 = 1_800_000_000 * 10**9
    eth_out = Ether(src=mac, dst="02:00:5e:10:00:01")
    eth_in = Ether(src="02:00:5e:10:00:01", dst=mac)
    frames: list[tuple[int, bytes]] = [(t0, bytes(
        eth_out / IP(src=phone, dst=cucm) / UDP(sport=50000, dport=69)
        / Raw(b"\x00\x01SEP02005E100070.cnf.xml\x00octet\x00")))]
    if answered_elsewhere:
        frames.append((t0 + 2_000_000, bytes(
            eth_in / IP(src=cucm, dst=phone) / UDP(sport=40000, dport=50000)
            / Raw(b"\x00\x05\x00\x01File not found\x00"))))
    for k, at in enumerate(register_times):
        frames.append((t0 + int(at * 1e9), bytes(
            eth_out / IP(src=phone, dst=cucm, id=k + 1) / UDP(sport=5060, dport=5060)
            / Raw(b"REGISTER sip:" + cucm.encode() + b" SIP/2.0\r\n\r\n"))))
    frames.append((t0 + int(end * 1e9), bytes(
        Ether(src="02:00:5e:10:00:99", dst="02:00:5e:10:00:98")
        / IP(src="203.0.113.98", dst="203.0.113.99") / UDP(sport=9, dport=9))))
    path = tmp_path / "sip.pcap"
    write_pcap(path, frames)
    return path


@pytest.mark.parametrize(("times", "answered", "end", "outcome", "why"), [
    ([1.0], True, 1.2, "unproven", "(the capture ends 200 ms later)"),
    ([1.0, 1.5, 2.5, 4.5], False, 5.0, "unproven", "(no packet to the phone is captured)"),
    ([1.0, 1.5, 2.5, 4.5], True, 5.0, "failed", ""),
])
def test_an_unanswered_udp_registration_fails_only_when_the_silence_stands(
        tmp_path: Path, times: list[float], answered: bool, end: float, outcome: str,
        why: str) -> None:
    r = _report(_sip_capture(tmp_path, times, answered, end))
    (e,) = [e for p in r.phones for e in p.timeline if e.stage == "register"]
    assert e.what.startswith("registration: SIP UDP 5060 -> 203.0.113.10:5060: S0")
    assert e.outcome == outcome
    assert e.what.endswith(why)


@pytest.mark.parametrize(("where", "frame", "outcome", "tail"), [
    ("synthetic/capf_pmtu_blackhole.pcap", 8, "failed", "; see CAPF_TLS_FAILED"),
    ("synthetic/capf_rst_after_hello.pcap", 8, "failed", "; see CAPF_TLS_FAILED"),
    ("synthetic/tls13_hrr_abort.pcap", 1, "failed", "; see CAPF_TLS_FAILED"),
    ("cuts/S01_cut_after_clienthello.pcapng", 59, "unproven",
     "; verdict withheld (CAPF_TLS_FAILED)"),
    ("synthetic/reboot_port_reuse.pcap", 43, "unproven",
     "; verdict withheld (CAPF_TLS_FAILED)"),
])
def test_an_answered_connection_follows_the_verdict_on_its_session(
        where: str, frame: int, outcome: str, tail: str) -> None:
    """The SYN-ACK came, so the connection line used to read ok, while an error finding
    (or a withheld verdict) rested on its TLS session: the line now says the same."""
    r = _report(ROOT / "pcaps" / where)
    (e,) = [e for p in r.phones for e in p.timeline
            if e.frame == frame and e.stage in ("capf", "tvs")]
    assert e.outcome == outcome and e.what.endswith(tail)
