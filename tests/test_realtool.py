"""Captures of real tools (Linux kernel, iptables REJECT) between network namespaces.

pcaps/realtool/icmp_reject.pcap is recorded by tools/gen_realtool_icmp.py; the frame numbers
below are those of the committed file (see pcaps/README.md).
"""

from __future__ import annotations

from capfcap.findings import Finding
from capfcap.pipeline import Options, analyze
from tests.conftest import ROOT

PCAP = ROOT / "pcaps" / "realtool" / "icmp_reject.pcap"


def _findings() -> dict[str, Finding]:
    r, inputs = analyze([str(PCAP)], Options())
    assert not inputs.errors
    return {f"{f.code} {f.server.get('ip')}": f for f in r.findings}


def test_each_real_reject_gets_its_own_cause() -> None:
    fs = _findings()
    assert sorted(fs) == ["CAPF_REFUSED 198.51.100.11", "CAPF_REFUSED 198.51.100.12",
                          "CAPF_REFUSED 198.51.100.13", "TFTP_NO_RESPONSE 198.51.100.11"]
    # kernel: nothing on UDP 69; server INPUT REJECT icmp-port-unreachable on 3804
    tftp = fs["TFTP_NO_RESPONSE 198.51.100.11"]
    assert (tftp.extra["cause"], tftp.evidence.frames) == ("not_listening", (3, 4, 5, 6))
    assert "Cisco TFTP service on 198.51.100.11" in tftp.remediation
    own = fs["CAPF_REFUSED 198.51.100.11"]
    assert (own.extra["cause"], own.extra["reported_by"]) == ("not_listening", "198.51.100.11")
    assert "the server itself" in own.summary and own.evidence.frames == (8, 10)
    # router FORWARD REJECT icmp-port-unreachable: a router's port unreachable is a filter
    fwd = fs["CAPF_REFUSED 198.51.100.12"]
    assert (fwd.extra["cause"], fwd.extra["reported_by"]) == ("filtered", "192.0.2.1")
    assert "firewall/ACL on 192.0.2.1" in fwd.remediation and "Activate" not in fwd.remediation
    # router FORWARD REJECT icmp-host-unreachable: looks like routing on the wire
    host = fs["CAPF_REFUSED 198.51.100.13"]
    assert (host.extra["cause"], host.extra["reported_by"]) == ("routing", "192.0.2.1")
    assert host.evidence.frames == (18, 20) and "route" in host.remediation
