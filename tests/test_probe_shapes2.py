"""Second round of the verdict hunt (tools/gen_pcaps.py; pcaps/README.md, "capture shapes
of the verdict hunt, second round"): shapes whose packets have another explanation than
the failure they look like, and fixes that must follow the shape (DESIGN §4, FIELD)."""

from __future__ import annotations

import contextlib
import io
import json
from functools import cache
from pathlib import Path
from typing import Any

from capfcap.cli import main
from tests.helpers import gen_pcaps

SYNTH = Path(__file__).resolve().parent.parent / "pcaps" / "synthetic"
ITL_FIX = "Make the phone's ITL"


@cache
def _report(name: str) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["analyze", "--format", "json", str(SYNTH / name)])
    return json.loads(out.getvalue())


def _codes(r: dict[str, Any]) -> list[str]:
    return sorted(f["code"] for f in r["findings"])


def _capf_lines(r: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in r["phones"][0]["timeline"] if e["what"].startswith("CAPF TCP")]


def test_a_session_nothing_closed_has_not_ended() -> None:
    """S P S and no FIN/RST: the last CAPF record may be END_SESSION or the request for
    the phone's key, which the phone may take minutes to generate (CAPF's keepalive is the
    first thing a living session must show). 'Ended without a certificate' is unproven."""
    r = _report("capf_key_pending.pcap")
    assert _codes(r) == []
    (w,) = r["withheld"]
    assert w["code"] == "CAPF_SESSION_CUT" and "capture longer" in w["reason"]
    (line,) = _capf_lines(r)
    assert line["outcome"] != "failed" and "no certificate delivered" not in line["what"]


def test_reset_before_the_certificate_is_not_the_phones_trust_list() -> None:
    """CAPF resets the connection right after the ClientHello: the phone never saw a
    certificate, so its ITL cannot be the cause; a RST after the ClientHello is CUCM
    refusing the TLS version or cipher (FIELD E4)."""
    r = _report("capf_rst_after_hello.pcap")
    (f,) = [f for f in r["findings"] if f["code"] == "CAPF_TLS_FAILED"]
    assert "CAPF" in f["summary"] and "RST" in f["summary"]
    assert "before" in f["summary"] and "certificate" in f["summary"]
    assert not f["remediation"].startswith(ITL_FIX)
    assert "TLS" in f["remediation"] and "min-version" in f["remediation"]


def test_server_flight_never_acknowledged_is_the_path_not_the_trust_list() -> None:
    """CAPF sent its handshake flight (retransmitted, with ICMP fragmentation-needed
    captured) and the phone never acknowledged it: the answer did not reach the phone.
    Not 'no further handshake message', and the fix is the path's MTU, not the ITL."""
    r = _report("capf_pmtu_blackhole.pcap")
    (f,) = r["findings"]
    assert f["code"] == "CAPF_TLS_FAILED"
    assert "no further handshake message" not in f["summary"]
    assert "never acknowledged" in f["summary"]
    assert "fragmentation needed" in f["detail"]
    assert not f["remediation"].startswith(ITL_FIX)
    assert "MTU" in f["remediation"]


def test_answers_from_another_address_are_named_not_called_silence() -> None:
    """Each answer has the query's ID, port and question but comes from another address
    than the one asked (a multi-homed resolver, a NAT that does not translate the reply
    back); the phone drops it and retries. The phone got no usable answer, but the
    finding must not say nothing answered, and its fix is the resolver's source address."""
    r = _report("dns_foreign_source.pcap")
    (f,) = [f for f in r["findings"] if f["code"] == "DNS_NO_RESPONSE"]
    assert "192.0.2.54" in f["summary"]
    assert "address" in f["remediation"] and "NAT" in f["remediation"]
    (line,) = [e for e in r["phones"][0]["timeline"] if e["what"].startswith("DNS A")]
    assert "192.0.2.54" in line["what"]



def _analyze(path: Path) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["analyze", "--format", "json", str(path)])
    return json.loads(out.getvalue())


def test_silent_capf_over_ipv6_names_ipv6_in_the_fix(tmp_path: Path) -> None:
    """An IPv6-only phone resolves the CAPF name by AAAA and its SYNs go unanswered: with
    'Enable IPv6' off CAPF may ignore IPv6 connections (FIELD A3), so the fix names it."""
    g = gen_pcaps()
    phone = g.Host("2001:db8:51::244", "00:1b:54:aa:c0:f4", 64)
    dns = g.Host("2001:db8:53::54", g.GW_MAC, 63)
    tftp = g.Host("2001:db8:113::244", g.GW_MAC, 63)
    capf = g.Host("2001:db8:113::245", g.GW_MAC, 63)
    cap = g.Cap(g.start(111))
    g.probe_config(cap, phone, tftp, "capf.v6.example", 44)
    g.dns_udp(cap, phone, dns, 0x7601, 48701, "capf.v6.example", "AAAA", 0, [capf.ip],
              "v6.example")
    g.probe_syns(g.TcpConn(cap, phone, capf, 52080, 3804, 0x100, 0))
    cap.wait_us(5_000_000)
    path = tmp_path / "v6_capf_silent.pcap"
    path.write_bytes(g.pcap_bytes(g.LINKTYPE_ETHERNET, cap.recs))
    (f,) = _analyze(path)["findings"]
    assert f["code"] == "CAPF_UNIDIRECTIONAL"
    assert "IPv6" in f["remediation"] and "Enable IPv6" in f["remediation"]


def _hole_capture(tmp_path: Path, name: str, *, lose_flight: bool = True,
                  retransmit: bool = False, fin_after_us: int | None = None,
                  lose_certificate: bool = False) -> Path:
    """A CAPF session (TLS 1.2, null-string install) whose capture lacks segments: the
    third of CAPF's six-segment handshake flight (`lose_flight`; `retransmit`: it was lost
    before the phone, which acknowledges only up to it until CAPF sends it again), and/or
    the segment carrying CAPF's certificate record (`lose_certificate`). `fin_after_us`:
    no CAPF dialogue, the phone closes that long after the handshake."""
    import random
    g = gen_pcaps()
    phone = g.probe_phone(233)
    srv = g.server_host("203.0.113.233", 0x5004)
    cert = g.pem_to_der(str(SYNTH.parent / "realpeer" / "data" / "certs" / g.PROBE_CERT))
    cap = g.Cap(g.start(104))
    rng = random.Random(104)
    g.probe_config(cap, phone, srv, srv.ip, 33)
    c = g.TcpConn(cap, phone, srv, 52020, 3804, 0x100000, 0x200000)
    c.handshake()
    c.send(True, g.client_hello(rng, tls13=False))
    flight = g.tls_record(22, g.server_hello(rng, rng.randbytes(32), tls13=False)
                          + g.certificate_msg([cert, cert, cert])
                          + g.server_key_exchange(rng) + g.hs(14, b""))
    first = len(cap.recs)
    c.send(False, flight, cuts=[500, 1000, 1500, 2000, 2500, 3000], ack=not retransmit)
    if lose_flight:
        lost = cap.recs.pop(first + 2)  # the third segment of the flight
        if retransmit:  # the phone's duplicate ACK, then CAPF's retransmission, then the ACK
            c.cack = (c.sseq - len(flight) + 1000) & 0xFFFFFFFF
            c._emit(True, "A")
            cap.recs.append(lost)
            c.cack = c.sseq
            c._emit(True, "A")
    c.send(True, g.tls_record(22, g.hs(16, g.u8v(rng.randbytes(32))))
           + g.tls_record(20, b"\x01") + g.tls_record(22, g.opaque(rng, 40)), ack=False)
    c.send(False, g.tls_record(20, b"\x01") + g.tls_record(22, g.opaque(rng, 40)), ack=False)
    if fin_after_us is not None:
        cap.wait_us(fin_after_us)
    else:
        for who, size in g.CAPF_SERVER_FIRST:
            cap.wait_us(2000 if who == "s" else 1500)
            at = len(cap.recs)
            c.send(who == "c", g.tls_record(23, g.opaque(rng, size + 24)))
            if lose_certificate and who == "s" and size > 600:
                del cap.recs[at]  # CAPF's certificate record, acknowledged by the phone
        c.send(True, g.tls_record(21, g.opaque(rng, 26)), ack=False)
    c.close()
    path = tmp_path / name
    path.write_bytes(g.pcap_bytes(g.LINKTYPE_ETHERNET, cap.recs))
    return path


def test_a_capture_hole_in_the_server_flight_loses_no_outcome(tmp_path: Path) -> None:
    """One segment of CAPF's certificate flight is missing from the capture, the phone
    acknowledges past it and the session completes (LSC delivered). The CAPF records after
    the hole are intact (the record header gives the flight's length), so the outcome is
    readable; and the hole is CAPTURE_GAPS, naming the frames around it and the ACK."""
    r = _analyze(_hole_capture(tmp_path, "hole_in_flight.pcap"))
    assert _codes(r) == ["CAPF_LSC_ISSUED", "CAPTURE_GAPS"]
    (gap,) = [f for f in r["findings"] if f["code"] == "CAPTURE_GAPS"]
    assert "500 bytes" in gap["summary"] and "acknowledged" in gap["summary"]
    assert "after frame 14, before frame 15" in gap["detail"]
    assert "acknowledged past them in frame 19" in gap["detail"]
    assert {14, 15, 19} <= set(gap["evidence"]["frames"])


def test_a_hole_in_the_handshake_then_a_close_is_no_tls_failure(tmp_path: Path) -> None:
    """The same hole, then no CAPF record and the phone's FIN 15 s later: the handshake
    completed (ChangeCipherSpec and Finished both ways after the hole), so this is not a
    TLS failure 'after the ClientHello'; the hole lies inside the plaintext handshake, so
    the cut is read from what was recovered, with the real idle time."""
    r = _analyze(_hole_capture(tmp_path, "hole_then_fin.pcap", fin_after_us=15_000_000))
    assert _codes(r) == ["CAPF_SESSION_CUT", "CAPTURE_GAPS"]
    (cut,) = [f for f in r["findings"] if f["code"] == "CAPF_SESSION_CUT"]
    assert "15.0 s" in cut["summary"]


def test_records_lost_in_a_hole_withhold_the_outcome(tmp_path: Path) -> None:
    """The segment with CAPF's certificate record is missing (the phone acknowledged it):
    the records left read like 'ended after the key without a certificate', which rests
    on the lost record: withheld with that reason, never claimed."""
    r = _analyze(_hole_capture(tmp_path, "hole_in_dialogue.pcap", lose_flight=False,
                               lose_certificate=True))
    assert _codes(r) == ["CAPTURE_GAPS"]
    (w,) = r["withheld"]
    assert w["code"].startswith("CAPF_") and "lacks part of the CAPF dialogue" in w["reason"]
    (line,) = _capf_lines(r)
    assert line["outcome"] == "unproven" and "outcome unknown" in line["what"]


def test_a_hole_filled_by_the_retransmission_is_no_hole(tmp_path: Path) -> None:
    """Lost before the phone: the phone acknowledges only up to the hole and CAPF
    retransmits the segment, which fills it: the stream is whole (certificate read), no
    capture gap."""
    r = _analyze(_hole_capture(tmp_path, "hole_retransmitted.pcap", retransmit=True))
    assert _codes(r) == ["CAPF_LSC_ISSUED"]
    (line,) = _capf_lines(r)
    assert "server certificate" in line["what"]
