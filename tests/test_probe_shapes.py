"""Capture shapes whose packets have another explanation than the failure they look like
(tools/gen_pcaps.py, "capture shapes of the verdict hunt"; pcaps/README.md): a finding
claims only what the capture proves (DESIGN §4)."""

from __future__ import annotations

import contextlib
import io
import json
import random
from functools import cache
from pathlib import Path
from typing import Any

from capfcap.cli import main
from tests.helpers import gen_pcaps

SYNTH = Path(__file__).resolve().parent.parent / "pcaps" / "synthetic"


def _json_report(path: Path) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["analyze", "--format", "json", str(path)])
    return json.loads(out.getvalue())


@cache
def _report(name: str) -> dict[str, Any]:
    return _json_report(SYNTH / name)


def _codes(r: dict[str, Any], ip: str | None = None) -> list[str]:
    return sorted(f["code"] for f in r["findings"] if ip is None or f["phone"]["ip"] == ip)


def _phone(r: dict[str, Any], ip: str) -> dict[str, Any]:
    (p,) = [p for p in r["phones"] if p["ip"] == ip]
    return p


def test_two_phones_behind_one_router_mac_stay_two_phones() -> None:
    """Every frame of both phones carries the router's MAC: the MAC is not either phone's,
    and the second phone's unanswered SYNs are its own verdict, not a line of the first's."""
    r = _report("router_two_phones.pcap")
    assert sorted(p["ip"] for p in r["phones"]) == ["198.51.100.206", "198.51.100.207"]
    assert _codes(r, "198.51.100.206") == ["CAPF_LSC_ISSUED"]
    assert _codes(r, "198.51.100.207") == ["CAPF_UNIDIRECTIONAL"]
    for ip in ("198.51.100.206", "198.51.100.207"):
        assert _phone(r, ip)["mac"] in ("", None)


def test_reused_source_port_does_not_lend_the_old_close_to_the_new_handshake() -> None:
    """After a reboot the phone reuses its CAPF source port; the new handshake stops at the
    server flight and the capture ends 1 s later. The FIN of the first connection does not
    make it an abort: the TLS verdict is withheld."""
    r = _report("reboot_port_reuse.pcap")
    assert _codes(r) == ["CAPF_LSC_ISSUED"]
    (w,) = r["withheld"]
    assert w["code"] == "CAPF_TLS_FAILED" and "capture longer" in w["reason"]
    lines = [e["what"] for e in _phone(r, "198.51.100.210")["timeline"]
             if e["what"].startswith("CAPF TCP")]
    assert len(lines) == 2
    assert "certificate delivered" in lines[0] and "frame 13)" in lines[0]
    assert "certificate delivered" not in lines[1] and "frame 48)" in lines[1]


def test_truncated_dns_answer_is_not_nodata() -> None:
    """TC=1 without records says the answer did not fit, not that there is none."""
    r = _report("dns_truncated_tcp_answered.pcap")
    assert _codes(r) == ["CAPF_LSC_ISSUED"]
    r = _report("dns_truncated_tcp_blocked.pcap")
    assert not [c for c in _codes(r) if c.startswith("DNS_")]
    (w,) = [w for w in r["withheld"] if w["code"].startswith("DNS_")]
    assert "truncated" in w["reason"] and "TCP" in w["reason"]


def test_http_304_is_not_a_missing_config() -> None:
    r = _report("http_keepalive_304.pcap")
    assert "CONFIG_NOT_FOUND" not in _codes(r)
    (p,) = r["phones"]
    assert any("304" in e["what"] and e["outcome"] != "failed" for e in p["timeline"])


def test_tls13_hello_retry_request_keeps_tls13_reading() -> None:
    """The change_cipher_spec after a HelloRetryRequest is TLS 1.3 middlebox compatibility
    (RFC 8446 D.4): the encrypted server flight is handshake, not CAPF records."""
    r = _report("tls13_hrr_capf.pcap")
    assert _codes(r) == ["CAPF_LSC_ISSUED"]
    assert "server 1290 B" not in r["findings"][0]["detail"]
    r = _report("tls13_hrr_abort.pcap")
    assert _codes(r) == ["CAPF_TLS_FAILED"]


def test_syn_ack_the_phone_never_took_is_no_connection() -> None:
    """SYN-ACKs in the capture, yet the phone retransmits its SYN and never acknowledges:
    the answers were lost on the way back. Not 'no CAPF problem'."""
    r = _report("synack_lost.pcap")
    (f,) = r["findings"]
    assert f["code"] == "CAPF_UNIDIRECTIONAL"
    assert "never reached the phone" in f["summary"]
    (line,) = [e for e in r["phones"][0]["timeline"] if e["what"].startswith("CAPF TCP")]
    assert line["outcome"] == "failed"


def test_rst_with_another_ttl_than_the_server_is_not_proof_capf_is_down() -> None:
    """The RSTs arrive with TTL 255, the same address's TFTP answers with TTL 63: another
    device (a firewall) reset in the server's name; the fix names it before the service."""
    r = _report("firewall_rst.pcap")
    (f,) = r["findings"]
    assert f["code"] == "CAPF_REFUSED"
    assert "TTL 255" in f["summary"] and "TTL 63" in f["summary"]
    assert f["remediation"].startswith("A firewall")


def test_two_ipv6_phones_behind_one_router_mac_stay_two_phones(tmp_path: Path) -> None:
    """The IPv6 form of the router uplink: one phone has one IPv6 address, so two behind
    one MAC are two phones (the dual-stack merge joins one IPv4 and one IPv6 address)."""
    g = gen_pcaps()
    rtr, up = "00:00:5e:00:53:c8", "00:00:5e:00:53:01"
    a, b = g.Host("2001:db8:51::206", rtr, 63), g.Host("2001:db8:51::207", rtr, 63)
    capf = g.Host("2001:db8:113::206", up, 63)
    cap = g.Cap(g.start(85))
    conn = g.TcpConn(cap, a, capf, 50701, 3804, 0x11110000, 0x22220000)
    conn.handshake()
    g.tls12_capf_session(conn, random.Random(85), g.pem_to_der(str(
        SYNTH.parent / "realpeer" / "data" / "certs" / "capf.crt.pem")))
    cap.wait_us(500_000)
    g.probe_syns(g.TcpConn(cap, b, capf, 50702, 3804, 0x33330000, 0))
    cap.wait_us(5_000_000)
    path = tmp_path / "v6_router.pcap"
    path.write_bytes(g.pcap_bytes(g.LINKTYPE_ETHERNET, cap.recs))
    r = _json_report(path)
    assert _codes(r, "2001:db8:51::206") == ["CAPF_LSC_ISSUED"]
    assert _codes(r, "2001:db8:51::207") == ["CAPF_UNIDIRECTIONAL"]



def test_a_syn_that_crosses_the_syn_ack_is_no_lost_answer(tmp_path: Path) -> None:
    """The retransmission race: the phone's timer fires just as the slow SYN-ACK is on its
    way, so its second SYN follows the SYN-ACK by 0.1 ms and the capture ends there. The
    phone may well take the SYN-ACK; only a SYN a timeout after it shows the answer lost
    (synack_lost.pcap retransmits 1 s and more after each SYN-ACK)."""
    g = gen_pcaps()
    phone = g.probe_phone(227)
    tftp = g.server_host("203.0.113.227", 0x4E07)
    capf = g.server_host("203.0.113.228", 0x4E08)
    cap = g.Cap(g.start(99))
    g.probe_config(cap, phone, tftp, capf.ip, 27)
    conn = g.TcpConn(cap, phone, capf, 50910, 3804, 0x1000, 0x2000)
    conn.syn()
    conn.sack = conn.cseq
    cap.wait_us(999_900)
    conn._emit(False, "SA", opts=[("MSS", 1460)])
    cap.wait_us(100)
    conn.syn(retransmit=True)
    path = tmp_path / "syn_race.pcap"
    path.write_bytes(g.pcap_bytes(g.LINKTYPE_ETHERNET, cap.recs))
    r = _json_report(path)
    assert not [f for f in r["findings"] if "never reached the phone" in f["summary"]]
    (line,) = [e for e in r["phones"][0]["timeline"] if e["what"].startswith("CAPF TCP")]
    assert line["outcome"] != "failed"


def test_first_ttls_are_kept_for_a_bounded_number_of_hosts() -> None:
    """The TTL of each host's first packet (for the forged-RST check) is kept for the
    first MAX_TTL_HOSTS hosts only: 100,000 phones would otherwise cost about 10 MB."""
    import ipaddress

    from capfcap.correlator.state import MAX_TTL_HOSTS, State
    from capfcap.events import HostSeen

    st = State()
    base = ipaddress.ip_address("2001:db8::1")
    for i in range(MAX_TTL_HOSTS + 10):
        st.add(HostSeen(str(base + i), "02:00:5e:00:00:01", i + 1, i, 64))
    assert len(st.first_ttl) == MAX_TTL_HOSTS
    assert st.first_ttl[str(base)] == (64, 1)
