"""DNS verdicts: A and AAAA judged separately (DESIGN §4, "What silence proves", rule 5).

Event lists for the rules, the synthetic captures of tools/gen_pcaps.py for the whole
pipeline, and the real-tool captures of pcaps/realtool/ (glibc and dnsmasq).
"""

from __future__ import annotations

from functools import cache

import pytest

from capfcap.correlator.engine import Correlator
from capfcap.events import DnsTransaction
from capfcap.pipeline import Options, analyze
from capfcap.report import Report
from tests.conftest import PCAPS
from tests.correlator.test_rules import tftp

PHONE, RESOLVER, NAME = "192.0.2.40", "198.51.100.53", "pub.cucm.example"
S = 1_000_000_000
A, AAAA = 1, 28


def tx(qtype: int, rcode: int | None, frames: tuple[int, ...], resp: int | None = None,
       addrs: tuple[str, ...] = (), name: str = NAME, txid: int = 0x4242) -> DnsTransaction:
    return DnsTransaction(PHONE, RESOLVER, 40000, 53, "udp", txid, name, qtype, frames,
                          tuple(f * S for f in frames), resp, resp * S if resp else None,
                          rcode, addrs, len(addrs))


def report(*txs: DnsTransaction, heard: bool = True) -> Report:
    """The phone downloads a file (answered when `heard`), then the lookups; NAME is given
    as a CUCM name (--cucm)."""
    c = Correlator(cucm=[NAME])
    c.add(tftp(PHONE, "ITLFile.tlv", "complete" if heard else "no_response", (1, 2)))
    c.add_all(txs)
    return c.report()


def dns_findings(r: Report) -> list[tuple[str, str]]:
    return [(f.code, f.summary) for f in r.findings if f.code.startswith("DNS_")]


# --- the rules, on events ------------------------------------------------------------------


def test_a_timeout_next_to_aaaa_nodata_is_no_response_for_a() -> None:
    r = report(tx(A, None, (5, 6, 7)), tx(AAAA, 0, (8,), 9))
    ((code, summary),) = dns_findings(r)
    assert code == "DNS_NO_RESPONSE"
    assert summary.startswith(f"3 DNS A queries for {NAME} never answered by {RESOLVER}")
    assert "AAAA: NOERROR, no address" in summary
    f = r.findings[0]
    assert "A pub.cucm.example id 0x4242 to 198.51.100.53 over UDP: no response" in f.detail


def test_a_servfail_next_to_aaaa_nodata_is_a_server_error_for_a() -> None:
    r = report(tx(A, 2, (5,), 10), tx(AAAA, 0, (6,), 7))
    ((code, summary),) = dns_findings(r)
    assert code == "DNS_SERVER_ERROR"
    assert f"({'A'} SERVFAIL; AAAA: NOERROR, no address)" in summary


def test_a_answer_makes_an_empty_aaaa_no_finding_and_no_failed_timeline_line() -> None:
    r = report(tx(AAAA, 0, (5,), 6), tx(A, 0, (7,), 8, ("203.0.113.10",)))
    assert dns_findings(r) == []
    (phone,) = r.phones
    outcomes = {e.what: e.outcome for e in phone.timeline if e.stage == "dns"}
    assert outcomes == {f"DNS AAAA {NAME} -> NOERROR": "info",
                        f"DNS A {NAME} -> 203.0.113.10": "ok"}


def test_a_nodata_names_a_and_its_own_fix() -> None:
    r = report(tx(A, 0, (5,), 6), tx(AAAA, None, (7, 8)))
    ((code, summary),) = dns_findings(r)
    assert code == "DNS_NODATA"
    assert summary == f"{NAME} has no A record (NOERROR, no address; AAAA: never answered)"
    assert r.findings[0].remediation == f"Add the missing DNS A record for {NAME}."


def test_aaaa_only_phone_is_judged_on_aaaa() -> None:
    r = report(tx(AAAA, 0, (5,), 6))
    assert dns_findings(r) == [("DNS_NODATA", f"{NAME} has no AAAA record (NOERROR, no address)")]


def test_nxdomain_for_both_types_is_one_finding() -> None:
    r = report(tx(A, 3, (5,), 6), tx(AAAA, 3, (7,), 8))
    ((code, summary),) = dns_findings(r)
    assert code == "DNS_NXDOMAIN"
    assert summary == f"{NAME} does not exist in DNS (A NXDOMAIN from {RESOLVER}; AAAA: NXDOMAIN)"
    assert r.findings[0].evidence.frames == (5, 6, 7, 8)


def test_aaaa_nxdomain_does_not_replace_a_silence() -> None:
    r = report(tx(A, None, (5, 7)), tx(AAAA, 3, (6,), 8))
    assert [c for c, _s in dns_findings(r)] == ["DNS_NO_RESPONSE"]


def test_withheld_silence_is_the_a_queries_own() -> None:
    # no packet to the phone is captured: the A silence is withheld, with A's frames only
    r = report(tx(A, None, (5, 6, 7)), tx(AAAA, None, (8, 9)), heard=False)
    assert dns_findings(r) == []
    (w,) = [w for w in r.withheld if w["code"] == "DNS_NO_RESPONSE"]
    assert (w["name"], w["frames"]) == (NAME, [5, 6, 7])


def test_search_list_suffix_then_the_name_resolving_is_no_finding() -> None:
    suffixed = NAME + ".corp.local"
    r = report(tx(A, 3, (5,), 6, name=suffixed), tx(AAAA, 3, (7,), 8, name=suffixed),
               tx(A, 0, (9,), 10, ("203.0.113.10",)), tx(AAAA, 0, (11,), 12))
    assert dns_findings(r) == []
    (phone,) = r.phones
    failed = [e.what for e in phone.timeline if e.stage == "dns" and e.outcome == "failed"]
    assert failed == []


def test_search_list_suffix_alone_is_judged_by_the_name_asked() -> None:
    # control for the test above: without the answer for the name itself, it is reported
    suffixed = NAME + ".corp.local"
    r = report(tx(A, 3, (5,), 6, name=suffixed), tx(A, 3, (9,), 10))
    assert dns_findings(r) == [("DNS_NXDOMAIN",
                                f"{NAME} does not exist in DNS (NXDOMAIN from {RESOLVER})")]


# --- the pipeline, on the synthetic captures ----------------------------------------------


@cache
def analysed(path: str, cucm: tuple[str, ...] = ()) -> Report:
    r, _inputs = analyze([str(PCAPS / path)], Options(cucm=list(cucm)))
    return r


def test_capture_same_id_aaaa_first_then_a_answer_is_no_finding() -> None:
    r = analysed("synthetic/dns_same_id_aaaa_first.pcap")
    assert dns_findings(r) == []
    (phone,) = r.phones
    dns = [(e.frame, e.what, e.outcome) for e in phone.timeline if e.stage == "dns"]
    assert dns == [
        (8, "DNS A pub.sameid.example.corp.example -> NXDOMAIN", "info"),
        (9, "DNS AAAA pub.sameid.example.corp.example -> NXDOMAIN", "info"),
        (12, "DNS A pub.sameid.example -> 203.0.113.24", "ok"),
        (13, "DNS AAAA pub.sameid.example -> NOERROR", "info"),
    ]


ONE_FINDING = [
    ("synthetic/dns_a_timeout_aaaa_nodata.pcap", "DNS_NO_RESPONSE",
     "3 DNS A queries for pub.atimeout.example never answered by 192.0.2.53 (AAAA: NOERROR, "
     "no address)", (8, 9, 10, 11, 12)),
    ("synthetic/dns_a_servfail_aaaa_nodata.pcap", "DNS_SERVER_ERROR",
     "DNS server failed to resolve pub.aservfail.example (A SERVFAIL; AAAA: NOERROR, "
     "no address)", (8, 9, 10, 11)),
    ("realtool/dns_glibc_nxdomain.pcap", "DNS_NXDOMAIN",
     "pub.cucm.example does not exist in DNS (A NXDOMAIN from 203.0.113.53; AAAA: NXDOMAIN)",
     (10, 11, 12, 13)),
]


@pytest.mark.parametrize("path, code, summary, frames", ONE_FINDING,
                         ids=[c[0] for c in ONE_FINDING])
def test_capture_one_finding_names_a_and_aaaa(path: str, code: str, summary: str,
                                              frames: tuple[int, ...]) -> None:
    # the config in each capture names the host (no --cucm); A's outcome sets the code
    r = analysed(path)
    assert dns_findings(r) == [(code, summary)]
    f = next(f for f in r.findings if f.code == code)
    assert f.evidence.frames == frames
    assert not r.withheld


# --- real tools: glibc getaddrinfo against dnsmasq (pcaps/realtool/) ----------------------

REALTOOL = ["dns_glibc_a_only.pcap", "dns_glibc_aaaa_refused.pcap", "dns_glibc_nxdomain.pcap"]


@pytest.mark.parametrize("pcap", REALTOOL)
def test_realtool_capture_holds_a_then_aaaa_for_the_config_name(pcap: str) -> None:
    # the config downloaded over TFTP names the host: no --cucm needed
    r = analysed(f"realtool/{pcap}")
    (phone,) = r.phones
    assert phone.device == "SEP001B54DD5E21"
    lines = [e.what.split(" -> ")[0] for e in phone.timeline if e.stage == "dns"]
    assert lines == ["DNS A pub.cucm.example", "DNS AAAA pub.cucm.example"]


@pytest.mark.parametrize("pcap, aaaa", [("dns_glibc_a_only.pcap", "NOERROR"),
                                        ("dns_glibc_aaaa_refused.pcap", "REFUSED")])
def test_realtool_a_resolves_failed_aaaa_is_no_finding(pcap: str, aaaa: str) -> None:
    r = analysed(f"realtool/{pcap}")
    assert dns_findings(r) == []
    (phone,) = r.phones
    outcomes = {e.what: e.outcome for e in phone.timeline if e.stage == "dns"}
    assert outcomes == {"DNS A pub.cucm.example -> 203.0.113.10": "ok",
                        f"DNS AAAA pub.cucm.example -> {aaaa}": "info"}


def test_truncated_answer_without_records_is_withheld_not_nodata() -> None:
    """TC set (RFC 1035 §4.1.1): the records did not fit in UDP; NOERROR proves nothing."""
    t = DnsTransaction(PHONE, RESOLVER, 40000, 53, "udp", 0x4242, NAME, A, (5,), (5 * S,), 6,
                       6 * S, 0, (), 0, truncated=True)
    c = Correlator(cucm=[NAME])
    c.add(tftp(PHONE, "ITLFile.tlv", "complete", (1, 2)))
    c.add(t)
    r = c.report()
    assert dns_findings(r) == []
    (w,) = [w for w in r.withheld if w["code"] == "DNS_NODATA"]
    assert "truncated" in str(w["reason"])
