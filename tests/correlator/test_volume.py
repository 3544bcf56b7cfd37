"""Hostile volume (correlator/volume.py): port sweeps and SYN floods told in one note, their
sources not judged as phones, real phones of a mass outage never hidden."""

from __future__ import annotations

import pytest

from capfcap.correlator.engine import Correlator
from capfcap.correlator.evidence import TCP_WAIT
from capfcap.correlator.volume import FLOOD_MIN, MAX_NOTES, SWEEP_HOSTS, Volume
from capfcap.events import DnsTransaction, FileTransfer, FlowKey, IcmpError, TcpConnection
from capfcap.pipeline import Options, analyze
from tests.conftest import PCAPS

SYNTH = PCAPS / "synthetic"
S = 1_000_000_000
SERVER = "198.51.100.11"
PORTS = frozenset({3804, 2445})


def syn(client: str, t: int, *, server: str = SERVER, port: int = 3804, syns: int = 1,
        synack: bool = False, rst: bool = False, more: int = 0) -> TcpConnection:
    """A connection of `syns` SYNs from `client` (frame numbers are arbitrary, distinct)."""
    f = t // 1000
    syn_frames = tuple(range(f, f + syns))
    sa = (f + syns,) if synack else ()
    rs = (f + syns + 1,) if rst else ()
    state = "REJ" if rst else "S1" if synack else "S0"
    return TcpConnection(FlowKey("tcp", client, 40000, server, port), t, t + syns * S,
                         syn_frames + sa + rs, syn_frames, sa, rs, "server" if rst else None, (),
                         state, "S", 1, syns + more, len(sa) + len(rs), 0, 0)


def dns(client: str, t: int) -> DnsTransaction:
    return DnsTransaction(client, "198.51.100.53", 5000, 53, "udp", 1, "pub.example", 1,
                          (t // 1000,), (t,), None, None, None)


def spoofed(n: int, first: int = 1) -> list[str]:
    return [f"2001:db8:bad::{i:x}" for i in range(first, first + n)]


def judge(events: list[object], end: int) -> tuple[set[str], list[str]]:
    v = Volume()
    for ev in events:
        v.add(ev, PORTS)  # type: ignore[arg-type]
    out = v.judge(end)
    return out.sources, out.notes


def test_single_unanswered_syns_past_the_retransmission_timeout_are_a_flood() -> None:
    ips = spoofed(FLOOD_MIN)
    hidden, notes = judge([syn(ip, i * 1000) for i, ip in enumerate(ips)], TCP_WAIT + S)
    assert hidden == set(ips)
    assert notes == [f"SYN flood: {FLOOD_MIN:,} sources sent one SYN each to {SERVER}:3804, "
                     "with no other traffic, and never completed a handshake nor "
                     "retransmitted as a TCP client does; not judged as phones"]


def test_fewer_than_flood_min_sources_are_judged_as_phones() -> None:
    ips = spoofed(FLOOD_MIN - 1)
    assert judge([syn(ip, 0) for ip in ips], 10 * S) == (set(), [])


@pytest.mark.parametrize("variant", ["retransmitted", "dns", "refused", "acked", "phone_file",
                                     "icmp"])
def test_real_phone_behaviour_is_never_a_flood(variant: str) -> None:
    """Retransmitted SYNs (RFC 6298), another conversation, a RST answer (a stopped CAPF
    also ends a real phone's attempt), a completed handshake, a phone's file request, an
    ICMP error in answer (RFC 1122 §4.2.3.9: the connection may give up)."""
    ips = spoofed(FLOOD_MIN * 2)
    evs: list[object] = []
    for ip in ips:
        evs.append(syn(ip, 0, syns=2 if variant == "retransmitted" else 1,
                       rst=variant == "refused", synack=variant == "acked",
                       more=1 if variant == "acked" else 0))
        if variant == "dns":
            evs.append(dns(ip, 0))
        if variant == "icmp":
            evs.append(IcmpError(1, 0, "198.51.100.1", 6, 1, 1,
                                 FlowKey("tcp", ip, 40000, SERVER, 3804)))
        if variant == "phone_file":
            evs.append(FileTransfer("tftp", ip, "198.51.100.10", 69, "SEP001B54AABB01.cnf.xml",
                                    "complete", (1,), (1,), 0, 0))
    assert judge(evs, 20 * S) == (set(), [])


def test_syn_ack_never_acknowledged_proves_a_flood_without_waiting() -> None:
    ips = spoofed(FLOOD_MIN)
    hidden, notes = judge([syn(ip, 5 * S, synack=True) for ip in ips], 5 * S + 1)
    assert hidden == set(ips) and len(notes) == 1


def test_syns_too_late_to_prove_join_a_proven_flood_only() -> None:
    early, late = spoofed(FLOOD_MIN), spoofed(10, first=FLOOD_MIN + 1)
    end = 20 * S
    evs = [syn(ip, 0) for ip in early] + [syn(ip, end - TCP_WAIT + S) for ip in late]
    hidden, notes = judge(evs, end)
    assert hidden == set(early + late)
    assert f"{FLOOD_MIN + 10:,} sources" in notes[0]
    # alone, the late ones prove nothing: a short capture of real phones
    assert judge([syn(ip, end - S) for ip in spoofed(FLOOD_MIN * 3)], end) == (set(), [])


def test_one_source_on_many_hosts_is_a_sweep() -> None:
    hosts = [f"203.0.113.{i}" for i in range(1, SWEEP_HOSTS + 1)]
    evs = [syn("192.0.2.9", 0, server=h, port=p) for h in hosts for p in (3804, 2445)]
    hidden, notes = judge(evs, 10 * S)
    assert hidden == {"192.0.2.9"}
    assert notes == [f"port sweep: 192.0.2.9 sent SYNs to TCP 2445, 3804 on {SWEEP_HOSTS} "
                     "hosts; not judged as a phone"]
    # a phone talks to its CAPF and its TVS members: a few hosts
    assert judge(evs[:2 * (SWEEP_HOSTS - 1)], 10 * S) == (set(), [])


def test_a_sweeping_host_that_asks_for_phone_files_stays_a_phone() -> None:
    evs: list[object] = [FileTransfer("tftp", "192.0.2.9", "198.51.100.10", 69,
                                      "ITLFile.tlv", "complete", (1,), (1,), 0, 0)]
    evs += [syn("192.0.2.9", 0, server=f"203.0.113.{i}") for i in range(1, 40)]
    assert judge(evs, 10 * S) == (set(), [])


def test_many_sweeps_are_summed_up_after_max_notes() -> None:
    evs = [syn(f"192.0.2.{s}", 0, server=f"203.0.113.{h}")
           for s in range(1, MAX_NOTES + 4) for h in range(1, SWEEP_HOSTS + 1)]
    hidden, notes = judge(evs, 10 * S)
    assert len(hidden) == MAX_NOTES + 3
    assert len(notes) == MAX_NOTES + 1
    assert notes[-1].startswith("3 more port sweeps or SYN floods")


def test_the_correlator_leaves_flood_sources_out_and_notes_it() -> None:
    c = Correlator()
    ips = spoofed(FLOOD_MIN)
    c.add_all([syn(ip, i * 1000) for i, ip in enumerate(ips)])
    c.add(syn("192.0.2.40", 0, syns=5))  # a real phone retransmits
    r = c.report(end_ts=20 * S)
    assert [p.ip for p in r.phones] == ["192.0.2.40"]
    assert r.notes[-1].startswith(f"SYN flood: {FLOOD_MIN} sources")
    # a --phone that matches nothing lists the phones seen: the flood's sources are none
    c = Correlator(phones=["203.0.113.250"])
    c.add_all([syn(ip, i * 1000) for i, ip in enumerate(ips)])
    c.add(syn("192.0.2.40", 0, syns=5))
    seen = " ".join(c.report(end_ts=20 * S).phones_seen)
    assert "192.0.2.40" in seen and not any(ip in seen for ip in ips)


def test_flood_capture_has_no_phone_and_one_note() -> None:
    r, _ = analyze([str(SYNTH / "syn_flood_capf.pcap")], Options())
    assert r.phones == [] and r.findings == []
    assert [n for n in r.notes if "SYN flood" in n] == [
        "SYN flood: 2,000 sources sent one SYN each to [2001:db8:100::11]:3804, with no "
        "other traffic, and never completed a handshake nor retransmitted as a TCP client "
        "does; not judged as phones"]


def test_flood_does_not_hide_the_real_phones() -> None:
    r, _ = analyze([str(SYNTH / "syn_flood_mixed.pcap")], Options())
    assert [p.ip for p in r.phones] == ["2001:db8:1::21", "2001:db8:1::22", "2001:db8:1::23"]
    assert sorted((f.code, f.phone["ip"]) for f in r.findings) == [
        ("CAPF_UNIDIRECTIONAL", f"2001:db8:1::2{i}") for i in (1, 2, 3)]
    assert sum("SYN flood: 2,000 sources" in n for n in r.notes) == 1


def test_sweep_capture_judges_only_the_phone() -> None:
    r, _ = analyze([str(SYNTH / "port_sweep.pcap")], Options())
    assert [p.ip for p in r.phones] == ["192.0.2.21"]
    assert [f.code for f in r.findings] == ["CAPF_UNIDIRECTIONAL"]
    assert [n for n in r.notes if n.startswith("port sweep")] == [
        "port sweep: 203.0.113.9 sent SYNs to TCP 2445, 3804 on 507 hosts; not judged as a "
        "phone"]
