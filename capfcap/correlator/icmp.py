"""What an ICMP destination unreachable says about a CAPF, TVS or TFTP attempt.

ICMPv4 type 3 (RFC 792, codes 9-15 from RFC 1122 §3.2.2.1 and RFC 1812 §5.2.7.1) and
ICMPv6 type 1 (RFC 4443 §3.1). The code and the sender split the verdict three ways:

* filtered: "administratively prohibited" (v4 9, 10, 13; v6 1, and the policy codes
  v6 5 "source address failed ingress/egress policy", 6 "reject route to destination").
  A packet filter on the sender rejected the packet; the service was never reached.
  A port unreachable sent by a device other than the destination is the same: only the
  destination host generates port unreachable (RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1),
  so a router sending one is running a reject rule (Linux `REJECT` answers with it by
  default).
* not listening: port unreachable (v4 3, v6 4) from the destination itself.
* routing: net/host unreachable or unknown (v4 0, 1, 6, 7; v6 0 "no route",
  3 "address unreachable"): the path or the address is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from capfcap.events import IcmpError

Cause = Literal["filtered", "not_listening", "routing", "other"]

ICMP4_CODES = {
    0: "net unreachable", 1: "host unreachable", 2: "protocol unreachable",
    3: "port unreachable", 4: "fragmentation needed", 5: "source route failed",
    6: "destination network unknown", 7: "destination host unknown",
    8: "source host isolated", 9: "network administratively prohibited",
    10: "host administratively prohibited", 11: "network unreachable for TOS",
    12: "host unreachable for TOS", 13: "communication administratively prohibited",
    14: "host precedence violation", 15: "precedence cutoff in effect",
}
ICMP6_CODES = {
    0: "no route to destination", 1: "communication administratively prohibited",
    2: "beyond scope of source address", 3: "address unreachable", 4: "port unreachable",
    5: "source address failed ingress/egress policy", 6: "reject route to destination",
}
_PROHIBITED = {4: {9, 10, 13}, 6: {1, 5, 6}}
_PORT = {4: 3, 6: 4}
_ROUTE = {4: {0, 1, 6, 7}, 6: {0, 3}}
# Worst first: the cause a finding names when its ICMP messages disagree.
CAUSE_ORDER: tuple[Cause, ...] = ("filtered", "not_listening", "routing", "other")


def is_unreachable(i: IcmpError) -> bool:
    """ICMPv4 type 3 or ICMPv6 type 1 (destination unreachable)."""
    return (i.version, i.icmp_type) in ((4, 3), (6, 1))


def code_name(i: IcmpError) -> str:
    codes = ICMP4_CODES if i.version == 4 else ICMP6_CODES
    return codes.get(i.icmp_code, "unreachable")


def from_destination(i: IcmpError) -> bool:
    """The ICMP was sent by the host the quoted packet was addressed to."""
    return i.reporter == i.quoted.server


def cause(i: IcmpError) -> Cause:
    v, c = i.version, i.icmp_code
    if c in _PROHIBITED[v]:
        return "filtered"
    if c == _PORT[v]:
        return "not_listening" if from_destination(i) else "filtered"
    if c in _ROUTE[v]:
        return "routing"
    return "other"


def sender_text(i: IcmpError, name: str) -> str:
    """`name` is the reporter as the report labels it (address, with its DNS name)."""
    return f"{i.reporter} (the server itself)" if from_destination(i) else \
        f"{name} (a router on the path)"


def icmp_text(i: IcmpError, name: str | None = None) -> str:
    kind = "ICMP" if i.version == 4 else "ICMPv6"
    who = sender_text(i, name or i.reporter)
    return f"{kind} type {i.icmp_type} code {i.icmp_code} ({code_name(i)}) from {who}"


@dataclass(frozen=True)
class Service:
    """How the admin names and fixes one service (CAPF, TVS, TFTP)."""

    name: str
    transport: str  # "TCP" or "UDP"
    start: str  # the fix when nothing listens; {server} is the server's label
    address: str  # where the phone got the address it used


CAPF = Service(
    "CAPF", "TCP",
    "Activate and start the Cisco Certificate Authority Proxy Function service on the "
    "publisher (Serviceability > Tools > Service Activation), then restart the Cisco TFTP "
    "service on all TFTP nodes",
    "the CAPF processNodeName of the phone's config (capfList) and what it resolves to",
)
TVS = Service(
    "TVS", "TCP",
    "Start (or restart) the Cisco Trust Verification Service on {server} (Cisco Unified "
    "Serviceability > Tools > Control Center - Network Services)",
    "the TVS members of the phone's config (its CallManager group) and what they resolve to",
)
TFTP = Service(
    "TFTP", "UDP",
    "Start (or restart) the Cisco TFTP service on {server} (Cisco Unified Serviceability > "
    "Tools > Control Center - Feature Services) and check that it is activated",
    "the TFTP server the phone was given (DHCP option 150 or 66, or its alternate TFTP "
    "setting)",
)


def worst_cause(icmps: list[IcmpError]) -> Cause:
    found = {cause(i) for i in icmps}
    return next(c for c in CAUSE_ORDER if c in found)


def first_of(icmps: list[IcmpError], c: Cause) -> IcmpError:
    return next(i for i in icmps if cause(i) == c)


def remediation(svc: Service, port: int, c: Cause, i: IcmpError, phone: str, server: str,
                reporter: str) -> str:
    """The fix for one cause; `reporter` is the ICMP sender as the report labels it."""
    what = f"{svc.transport} {port}" + (
        " (and the ephemeral UDP ports of the replies)" if svc.transport == "UDP" else "")
    if c == "filtered":
        where = (f"the host firewall of {reporter}, the server itself" if from_destination(i)
                 else f"{reporter}, the router or firewall that sent the ICMP")
        why = (" (only the destination host sends port unreachable; a router that sends it "
               "is running a reject rule)" if cause(i) == "filtered" and i.icmp_code == _PORT[
                   i.version] else "")
        return (f"Fix the firewall/ACL on {where}: permit {what} from the phone ({phone}) "
                f"to {server}. The answer came from a packet filter ({code_name(i)}){why}, "
                f"not from the {svc.name} service, so the service itself need not be changed.")
    if c == "not_listening":
        extra = ("; if it runs, check the server's own packet filter (a TCP stack answers a "
                 "closed port with RST, so an ICMP port unreachable for TCP comes from a "
                 "reject rule)" if svc.transport == "TCP" else "")
        return f"{svc.start.format(server=server)}{extra}."
    if c == "routing":
        return (f"Check the route from the phone's network to {server} (the ICMP came from "
                f"{reporter}) and the address the phone used: {svc.address}. Correct the "
                f"address or the routing, then reset the phone.")
    return (f"{reporter} could not deliver the packet to {server} ({code_name(i)}); check "
            f"the path between the phone and {server} for {what}.")


def summary_tail(svc: Service, port: int, c: Cause, icmps: list[IcmpError], reporter: str,
                 sent: str = "SYN") -> str:
    """What the ICMP answer means, for the end of a finding's summary. `sent` names the
    quoted packets (a SYN, a read request)."""
    i = first_of(icmps, c)
    n = sum(1 for x in icmps if cause(x) == c)
    msg = (f"{n} {sent}{'s' if n > 1 else ''} answered with ICMP {code_name(i)} by "
           f"{sender_text(i, reporter)}")
    if c == "filtered":
        return f"filtered: {msg}, not by the server's {svc.name} service"
    if c == "not_listening":
        return f"{msg}: nothing listens on {svc.transport} {port} there"
    if c == "routing":
        return f"{msg}: the phone's packets do not reach the server"
    return msg
