"""The correlator works on events alone: hand-written event lists, no packets."""

from __future__ import annotations

import sys

from capfcap.correlator.engine import Correlator
from capfcap.events import DnsTransaction, FileTransfer, FlowKey, IcmpError, TcpConnection

PHONE, OTHER, CAPF, DNS = "192.0.2.40", "192.0.2.99", "203.0.113.10", "198.51.100.53"
S = 1_000_000_000


def dns(client: str, name: str, rcode: int | None, frames: tuple[int, ...],
        resp: int | None, addrs: tuple[str, ...] = ()) -> DnsTransaction:
    return DnsTransaction(client, DNS, 5000 + frames[0], 53, "udp", frames[0], name, 1, frames,
                          tuple(f * S for f in frames), resp, resp * S if resp else None, rcode,
                          addrs)


def conn(port: int, frames: tuple[int, ...], state: str, hist: str, synack: tuple[int, ...] = (),
         rst: tuple[int, ...] = (), rst_from: str | None = None, resp: int = 0,
         client: str = PHONE, cport: int = 40000) -> TcpConnection:
    syns = tuple(f for f in frames if f not in synack + rst)
    return TcpConnection(FlowKey("tcp", client, cport, CAPF, port), frames[0] * S,
                         frames[-1] * S, frames, syns, synack, rst, rst_from, (), state, hist,
                         1 | (2 if synack else 0) | (36 if rst else 0), len(syns), resp, 0, 0)


def tftp(client: str, name: str, status: str, frames: tuple[int, ...]) -> FileTransfer:
    return FileTransfer("tftp", client, CAPF, 69, name, status, frames[:1], frames,
                        frames[0] * S, frames[-1] * S, b"x" * 10 if status == "complete" else None,
                        10 if status == "complete" else 0)


def codes(c: Correlator) -> list[str]:
    return [f.code for f in c.report().findings]


def test_nxdomain_of_cucm_name_from_phone_is_a_finding() -> None:
    c = Correlator(cucm=["capf.example"])
    c.add_all([tftp(PHONE, "SEP001122334455.cnf.xml", "complete", (1, 2)),
               dns(PHONE, "capf.example", 3, (5,), 6)])
    r = c.report()
    assert [f.code for f in r.findings] == ["DNS_NXDOMAIN"]
    f = r.findings[0]
    assert f.evidence.frames == (5, 6)
    assert f.phone == {"ip": PHONE, "mac": "00:11:22:33:44:55", "device": "SEP001122334455"}
    assert 'dns.qry.name == "capf.example"' in f.evidence.filter


def test_nxdomain_from_non_phone_or_for_other_names_is_not() -> None:
    c = Correlator(cucm=["capf.example"])
    c.add_all([tftp(PHONE, "ITLFile.tlv", "complete", (1, 2)),
               dns(OTHER, "capf.example", 3, (5,), 6),
               dns(PHONE, "www.example", 3, (7,), 8)])
    assert codes(c) == []


def test_name_answered_once_is_fine() -> None:
    c = Correlator(cucm=["capf.example"])
    c.add_all([tftp(PHONE, "ITLFile.tlv", "complete", (1, 2)),
               dns(PHONE, "capf.example", None, (5,), None),
               dns(PHONE, "capf.example", 0, (7,), 8, ("203.0.113.10",))])
    assert codes(c) == []


def test_unanswered_syns_with_other_direction_seen_is_unidirectional() -> None:
    c = Correlator()
    c.add_all([tftp(PHONE, "ITLFile.tlv", "complete", (1, 2)),
               conn(3804, (10, 11, 12), "S0", "S")])
    r = c.report()
    assert [f.code for f in r.findings] == ["CAPF_UNIDIRECTIONAL"]
    assert r.findings[0].evidence.conn_state == "S0"
    assert r.findings[0].severity == "error"


def test_silence_alone_withholds_but_never_makes_the_capture_one_sided() -> None:
    """DESIGN §4 rule 3: silence alone is not positive evidence of a one-sided capture."""
    c = Correlator()
    c.add_all([tftp(PHONE, "ITLFile.tlv", "no_response", (1,)),
               conn(3804, (10, 11, 12), "S0", "S")])
    r = c.report(end_ts=60 * S)
    assert [f.code for f in r.findings] == []
    w = {str(x["code"]): str(x["reason"]) for x in r.withheld}
    assert set(w) == {"CAPF_UNIDIRECTIONAL", "TFTP_NO_RESPONSE"}
    assert "no packet sent to this phone" in w["CAPF_UNIDIRECTIONAL"]
    assert r.phones[0].verdict.startswith("Inconclusive: ")


def test_phone_acknowledging_unseen_data_makes_the_capture_one_sided() -> None:
    from dataclasses import replace

    c = Correlator()
    acked = replace(conn(3804, (10, 11, 12), "OTH", "A"), acked_unseen=2, orig_acked_unseen=2)
    c.add_all([tftp(PHONE, "ITLFile.tlv", "no_response", (1,)), acked])
    r = c.report(end_ts=60 * S)
    assert [f.code for f in r.findings] == ["CAPTURE_ONE_SIDED"]
    assert {str(x["code"]) for x in r.withheld} >= {"TFTP_NO_RESPONSE"}
    w = {str(x["code"]): str(x["reason"]) for x in r.withheld}
    assert "missing direction network -> phone" in w["TFTP_NO_RESPONSE"]


def test_arp_reply_to_the_phone_proves_its_receive_direction() -> None:
    from capfcap.events import HostSeen, LinkReached

    mac = "00:23:ab:00:00:40"
    c = Correlator()
    c.add_all([HostSeen(PHONE, mac, 1, S), tftp(PHONE, "ITLFile.tlv", "no_response", (1, 5)),
               conn(3804, (10, 11, 12), "S0", "S")])
    assert c.report(end_ts=60 * S).findings == []  # nothing proves the phone can hear
    c.add(LinkReached(mac, 3, 3 * S, "192.0.2.1"))
    r = c.report(end_ts=60 * S)
    assert sorted(f.code for f in r.findings) == ["CAPF_UNIDIRECTIONAL", "TFTP_NO_RESPONSE"]
    assert "ARP reply to the phone's MAC" in r.findings[0].detail


def test_a_capture_that_ends_right_after_the_syn_proves_nothing() -> None:
    c = Correlator()
    c.add_all([tftp(PHONE, "ITLFile.tlv", "complete", (1, 2)),
               conn(3804, (10,), "S0", "S")])
    r = c.report(end_ts=10 * S + 400_000)
    assert r.findings == []
    (w,) = r.withheld
    assert w["code"] == "CAPF_UNIDIRECTIONAL"
    assert "the capture ends 0.400 ms after the SYN" in str(w["reason"])
    assert r.phones[0].verdict.startswith("Inconclusive: CAPF_UNIDIRECTIONAL cannot be judged")
    # the same SYN with the capture going on past a TCP retransmission timeout is judged
    assert codes_at(c, 14 * S) == ["CAPF_UNIDIRECTIONAL"]


def codes_at(c: Correlator, end: int) -> list[str]:
    return [f.code for f in c.report(end_ts=end).findings]


def test_rst_and_icmp_are_refused_and_tvs_has_its_own_code() -> None:
    c = Correlator()
    icmp = IcmpError(30, 30 * S, "198.51.100.1", 4, 3, 13,
                     FlowKey("tcp", PHONE, 40010, CAPF, 2445))
    c.add_all([tftp(PHONE, "ITLFile.tlv", "complete", (1, 2)),
               conn(3804, (10, 11), "REJ", "Sr", rst=(11,), rst_from="server", resp=1),
               conn(2445, (29,), "S0", "S", cport=40010), icmp])
    assert sorted(codes(c)) == ["CAPF_REFUSED", "TVS_REFUSED"]


def test_correlator_never_imports_scapy() -> None:
    import subprocess

    code = ("import sys, capfcap.correlator; "
            "bad = [m for m in sys.modules if m.split('.')[0] == 'scapy']; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unanswered_syns_judged_when_the_server_answers_other_hosts() -> None:
    c = Correlator()
    c.add_all([conn(3804, (10, 11, 12), "S0", "S"),
               conn(3804, (1, 2, 3), "SF", "ShAF", synack=(2,), resp=1, client=OTHER)])
    r = c.report()
    mine = [f.code for f in r.findings if f.phone.get("ip") == PHONE]
    assert mine == ["CAPF_UNIDIRECTIONAL"]
    assert "answering other hosts" in r.findings[0].detail


def test_https_config_is_not_observable_and_phone_filter_selects() -> None:
    from capfcap.events import TlsSession

    s = TlsSession(FlowKey("tcp", PHONE, 40100, CAPF, 6971), (20, 21), 20 * S, 21 * S)
    c = Correlator(phones=["00:11:22:33:44:55"])
    c.add_all([tftp(PHONE, "ITLSEP001122334455.tlv", "complete", (1, 2)),
               tftp(OTHER, "ITLFile.tlv", "complete", (3, 4)), s])
    r = c.report()
    assert [p.ip for p in r.phones] == [PHONE]
    assert any("not observable (not missing)" in e.what for e in r.phones[0].timeline)
    assert "CONFIG_NOT_FOUND" not in codes(c)


def test_cucm_ip_literal_is_not_a_dns_name() -> None:
    c = Correlator(cucm=["203.0.113.10", "cm.example."])
    c.add_all([tftp(PHONE, "ITLFile.tlv", "complete", (1, 2)),
               dns(PHONE, "cm.example", 2, (5,), 6)])
    r = c.report()
    assert [f.code for f in r.findings] == ["DNS_SERVER_ERROR"]
    assert "SERVFAIL" in r.findings[0].summary


def test_parallel_queries_at_the_capture_end_are_not_a_retry() -> None:
    """Two A queries sent together to two servers, then the file ends: nobody waited."""
    name = "pub.cucm.example"
    qs = [DnsTransaction(PHONE, srv, 5000 + i, 53, "udp", 7 + i, name, 1, (10 + i,),
                         (10 * S + i * 1_000_000,), None, None, None)
          for i, srv in enumerate((DNS, "198.51.100.54"))]
    c = Correlator(cucm=[name])
    c.add_all([tftp(PHONE, "ITLFile.tlv", "complete", (1, 2)), *qs])
    r = c.report(end_ts=10 * S + 5_000_000)
    assert r.findings == []
    assert [w["code"] for w in r.withheld] == ["DNS_NO_RESPONSE"]
    # the same two queries a retransmission timeout apart: the phone waited, unanswered
    late = [qs[0], DnsTransaction(PHONE, DNS, 5001, 53, "udp", 8, name, 1, (11,),
                                  (12 * S,), None, None, None)]
    c = Correlator(cucm=[name])
    c.add_all([tftp(PHONE, "ITLFile.tlv", "complete", (1, 2)), *late])
    assert [f.code for f in c.report(end_ts=12 * S + 5_000_000).findings] == ["DNS_NO_RESPONSE"]


def test_frame_times_answer_as_a_dict_would() -> None:
    import random

    from capfcap.correlator.common import FrameTimes

    rng = random.Random(3)
    ft, ref = FrameTimes(), {}
    for f in sorted(rng.sample(range(1, 5000), 800)) + rng.sample(range(1, 5000), 200):
        ts = rng.randrange(1 << 40)
        ft.add(f, ts)
        ref[f] = ts  # a later time for the same frame replaces the earlier one
    assert all(ft.get(f) == ref.get(f) for f in range(0, 5001))
    assert ft.get(0, 7) == 7
    ft.add(6000, 1 << 70)  # a damaged timestamp beyond 64 bits is kept whole
    assert ft.get(6000) == 1 << 70 and ft.get(f) == ref[f]
