"""ICMP destination unreachable: the cause each code and sender mean, and the findings."""

from __future__ import annotations

import pytest

from capfcap.correlator import icmp
from capfcap.correlator.engine import Correlator
from capfcap.events import Event, FlowKey, IcmpError
from capfcap.findings import Finding
from tests.correlator.test_rules import CAPF, PHONE, S, conn, tftp

ROUTER = "198.51.100.1"


def err(version: int, code: int, reporter: str = ROUTER, port: int = 3804,
        transport: str = "tcp", frame: int = 30, cport: int = 40000) -> IcmpError:
    return IcmpError(frame, frame * S, reporter, version, 3 if version == 4 else 1, code,
                     FlowKey(transport, PHONE, cport, CAPF, port))


@pytest.mark.parametrize(("version", "code", "reporter", "cause"), [
    (4, 9, ROUTER, "filtered"), (4, 10, ROUTER, "filtered"), (4, 13, ROUTER, "filtered"),
    (4, 13, CAPF, "filtered"), (6, 1, ROUTER, "filtered"), (6, 5, ROUTER, "filtered"),
    (6, 6, ROUTER, "filtered"),
    (4, 3, CAPF, "not_listening"), (6, 4, CAPF, "not_listening"),
    # only the destination host sends port unreachable: from a router it is a reject rule
    (4, 3, ROUTER, "filtered"), (6, 4, ROUTER, "filtered"),
    (4, 0, ROUTER, "routing"), (4, 1, ROUTER, "routing"), (4, 6, ROUTER, "routing"),
    (4, 7, ROUTER, "routing"), (6, 0, ROUTER, "routing"), (6, 3, ROUTER, "routing"),
    (4, 4, ROUTER, "other"), (6, 2, ROUTER, "other"),
])
def test_cause_of_each_code(version: int, code: int, reporter: str, cause: str) -> None:
    assert icmp.cause(err(version, code, reporter)) == cause


def test_only_destination_unreachable_counts() -> None:
    time_exceeded = IcmpError(1, S, ROUTER, 4, 11, 0, FlowKey("tcp", PHONE, 1, CAPF, 3804))
    assert not icmp.is_unreachable(time_exceeded)
    assert icmp.is_unreachable(err(4, 13)) and icmp.is_unreachable(err(6, 1))


def _refused(*events: Event) -> tuple[Finding, str]:
    c = Correlator()
    c.add_all([tftp(PHONE, "ITLFile.tlv", "complete", (1, 2)), *events])
    r = c.report()
    (f,) = [f for f in r.findings if f.code == "CAPF_REFUSED"]
    return f, r.phones[0].verdict


def test_prohibited_from_a_router_is_a_filter_on_that_router() -> None:
    f, verdict = _refused(conn(3804, (29,), "S0", "S"), err(4, 10))
    assert (f.extra["cause"], f.extra["reported_by"]) == ("filtered", ROUTER)
    assert f"{ROUTER} (a router on the path)" in f.summary
    assert f"firewall/ACL on {ROUTER}" in f.remediation
    assert "Activate" not in f.remediation
    assert verdict.startswith(f"LSC install blocked: port 3804 filtered by {ROUTER}")


def test_prohibited_from_the_server_names_its_host_firewall() -> None:
    f, _v = _refused(conn(3804, (29,), "S0", "S"), err(6, 1, reporter=CAPF))
    assert "the server itself" in f.summary
    assert "host firewall" in f.remediation


def test_port_unreachable_from_the_server_means_start_capf() -> None:
    f, verdict = _refused(conn(3804, (29,), "S0", "S"), err(4, 3, reporter=CAPF))
    assert f.extra["cause"] == "not_listening"
    assert f.remediation.startswith("Activate and start")
    assert verdict.startswith("LSC install blocked: CAPF refused the connection")


def test_host_unreachable_is_routing_and_names_the_address() -> None:
    f, verdict = _refused(conn(3804, (29,), "S0", "S"), err(4, 1))
    assert f.extra["cause"] == "routing"
    assert "processNodeName" in f.remediation
    assert "Activate" not in f.remediation
    assert verdict.startswith(f"LSC install blocked: no route to CAPF {CAPF}")


def test_rst_from_the_server_and_a_filter_name_both_fixes() -> None:
    f, _v = _refused(conn(3804, (10, 11), "REJ", "Sr", rst=(11,), rst_from="server", resp=1),
                     conn(3804, (29,), "S0", "S", cport=40001), err(4, 13, cport=40001))
    assert f.extra["cause"] == "filtered"
    assert "answered with RST by the server" in f.summary
    assert "RSTs came from the server itself" in f.remediation


def test_rst_only_keeps_the_service_fix_and_no_cause() -> None:
    f, _v = _refused(conn(3804, (10, 11), "REJ", "Sr", rst=(11,), rst_from="server", resp=1))
    assert "cause" not in f.extra
    assert f.remediation.startswith("Activate and start")


def test_icmp_quoting_a_tftp_request_is_named_in_tftp_no_response() -> None:
    c = Correlator()
    rrq = tftp(PHONE, "ITLFile.tlv", "no_response", (1,))
    quote = err(4, 13, port=69, transport="udp", frame=2, cport=rrq.client_port)
    c.add_all([rrq, quote])
    r = c.report()
    (f,) = [f for f in r.findings if f.code == "TFTP_NO_RESPONSE"]
    assert r.phones[0].verdict.startswith(f"LSC install blocked: TFTP (UDP 69) filtered by "
                                          f"{ROUTER}")
    assert (f.extra["cause"], f.extra["reported_by"]) == ("filtered", ROUTER)
    assert 2 in f.evidence.frames and "prohibited" in f.summary
    assert "UDP 69" in f.remediation and f"firewall/ACL on {ROUTER}" in f.remediation


def test_icmp_for_another_tftp_client_port_is_not_this_request() -> None:
    c = Correlator()
    rrq = tftp(PHONE, "ITLFile.tlv", "no_response", (1,))
    other = err(4, 3, reporter=CAPF, port=69, transport="udp", frame=2,
                cport=rrq.client_port + 1)
    c.add_all([rrq, other])
    (f,) = [f for f in c.report().findings if f.code == "TFTP_NO_RESPONSE"]
    assert "cause" not in f.extra and 2 not in f.evidence.frames
