"""Findings (DESIGN §4): the codes are stable API.

`CATALOG` is the single source of each code's severity, meaning, causes, how to confirm it
in Wireshark and the fix. `capfcap explain` and the README's findings reference are
rendered from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Evidence:
    frames: tuple[int, ...]
    first: int | None  # ns
    last: int | None
    filter: str
    conn_state: str | None = None
    history: str | None = None


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    phone: dict[str, str]
    server: dict[str, object]
    summary: str
    detail: str
    remediation: str
    evidence: Evidence
    extra: dict[str, object] = field(default_factory=dict)  # e.g. confidence, crosscheck

    def sort_key(self) -> tuple[object, ...]:
        first_frame = self.evidence.frames[0] if self.evidence.frames else 0
        return (
            SEVERITY_ORDER[self.severity],
            self.phone.get("ip", ""),
            first_frame,
            self.code,
            self.summary,
        )


@dataclass(frozen=True)
class CodeInfo:
    severity: Severity
    title: str
    meaning: str
    causes: tuple[str, ...]
    confirm: str
    fix: str


# Catalog texts name the port through these phrases; a finding that knows its port gets
# "TCP <port>" instead (`port_text`). DOMAIN §3.1, §4.1, §5: the config names the ports.
CAPF_PORT = "the CAPF port (TCP 3804 unless the config's capfList phonePort names another)"
TVS_PORT = "the TVS port (TCP 2445 unless the config's TVS member port names another)"
CAPF_PORT_SHORT = "the CAPF port"  # in a filter or a short phrase after CAPF_PORT was named
TVS_PORT_SHORT = "the TVS port"


def port_text(text: str, port: object) -> str:
    """A catalog text with the port phrases replaced by the port a finding is about."""
    if not port:
        return text
    for long, short in ((CAPF_PORT, CAPF_PORT_SHORT), (TVS_PORT, TVS_PORT_SHORT)):
        text = text.replace(long, f"TCP {port}").replace(short, f"TCP {port}")
    return text


def port_note(code: str) -> str | None:
    """How capfcap decides the port of a CAPF_/TVS_ code (`capfcap explain`)."""
    if code.startswith("CAPF_"):
        return ("capfcap judges CAPF on the port the phone's config names "
                "(capfList/capf/phonePort; 3804 when the config names none). For a capture "
                "without the config, give the port with --capf-port N (repeatable).")
    if code.startswith("TVS_"):
        return ("capfcap judges TVS on the ports of the TVS members of the phone's config "
                "(2445 when the config names none). For a capture without the config, give "
                "the port with --tvs-port N (repeatable).")
    return None


def _tvs(info: CodeInfo) -> CodeInfo:
    """The TVS twin of a CAPF connection code."""
    def t(s: str) -> str:
        return (s.replace(CAPF_PORT, TVS_PORT).replace(CAPF_PORT_SHORT, TVS_PORT_SHORT)
                .replace("phonePort", "TVS member port").replace("3804", "2445")
                .replace("CAPF", "TVS"))

    return CodeInfo(
        severity=info.severity,
        title=t(info.title),
        meaning=t(info.meaning),
        causes=tuple(t(c) for c in info.causes),
        confirm=t(info.confirm),
        fix=t(info.fix.replace(
            "the Cisco Certificate Authority Proxy Function service on the publisher",
            "the Cisco Trust Verification Service on every TVS node of the phone's config",
        )),
    )


SILENCE = (
    " Judged only when the capture could have shown an answer (DESIGN §4): it goes on past "
    "the protocol's patience after the last request (or the phone retried), and frames "
    "towards the phone are captured; otherwise the verdict is withheld and the phone reads "
    "'Inconclusive'.")

CATALOG: dict[str, CodeInfo] = {
    "CAPTURE_ONE_SIDED": CodeInfo(
        "warning",
        "The capture holds only one direction of the conversation",
        "Packets of only one direction were captured, yet the side that was captured behaves "
        "as if it was answered (it ACKs data that is not in the file). The network worked; the "
        "capture did not see it. 'No reply' verdicts for these flows are withheld. Raised "
        "only on such positive evidence: silence alone never makes a capture one-sided.",
        (
            "SPAN session configured rx-only or tx-only",
            "VLAN-based SPAN source (only ingress is mirrored)",
            "asymmetric routing: the return path bypasses the capture point",
        ),
        "Statistics > Conversations shows packets in one direction only; expert info shows "
        "'ACKed segment that wasn't captured' (tcp.analysis.ack_lost_segment).",
        "Mirror both directions: 'monitor session N source interface X both', or capture at "
        "the phone's access port, then capture again.",
    ),
    "CAPTURE_GAPS": CodeInfo(
        "info",
        "Packets are missing from the capture",
        "Some TCP segments (Zeek capture_loss) or TFTP DATA blocks were acknowledged but "
        "never captured, so the capture dropped packets the network delivered. A TFTP file "
        "the phone acknowledged to the end is complete for the phone, not a failed transfer.",
        ("oversubscribed SPAN destination port", "capture host too slow (kernel drops)"),
        "tcp.analysis.ack_lost_segment || tcp.analysis.lost_segment",
        "Capture closer to the phone, filter the SPAN source, or use a faster capture host.",
    ),
    "CAPTURE_DUPLICATES": CodeInfo(
        "info",
        "Frames appear twice in the capture",
        "Identical frames were captured twice within a short window; they were removed before "
        "retransmissions were counted.",
        ("SPAN with rx on one port and tx on another, so each frame is mirrored twice",),
        "tcp.analysis.duplicate_ack || frame.time_delta_displayed < 0.001 with identical bytes",
        "Mirror each frame once (one source port, 'both'), or de-duplicate with 'editcap -d'.",
    ),
    "TFTP_NO_RESPONSE": CodeInfo(
        "error",
        "TFTP read requests were never answered",
        "The phone sent TFTP read requests (UDP 69) and no DATA, OACK or ERROR came back. "
        "When an ICMP destination unreachable quotes a request, the finding names it (an "
        "answer, not silence): port unreachable from the server means no TFTP service "
        "listens; administratively prohibited (or port unreachable from a router) means a "
        "filter on the sender; net or host unreachable means a routing or address problem."
        + SILENCE,
        (
            "Cisco TFTP service stopped on that node",
            "UDP 69 (or the ephemeral data ports) blocked by a firewall or ACL",
            "wrong TFTP server address in DHCP option 150/66",
        ),
        "tftp.opcode == 1 without a following tftp.opcode in {3,5,6}; icmp quoting udp.port "
        "== 69",
        "Check DHCP option 150, that the Cisco TFTP service runs on that node, and that UDP 69 "
        "plus the ephemeral reply ports are allowed from the TFTP server to the voice VLAN.",
    ),
    "TRANSFER_INCOMPLETE": CodeInfo(
        "error",
        "A trust list or config download did not finish",
        "The download started but the final block (or the full HTTP body) never arrived. "
        "Blocks the phone acknowledges but the file lacks are capture loss (CAPTURE_GAPS), "
        "not a failed download." + SILENCE,
        ("packet loss or a firewall dropping the data flow", "TFTP server aborted the transfer"),
        "tftp (the transfer's ports), look for the last DATA block shorter than the block size",
        "Check the path between the phone and the TFTP server for drops; restart the Cisco TFTP "
        "service if it aborts transfers.",
    ),
    "ITL_NOT_FOUND": CodeInfo(
        "error",
        "The phone could not download any ITL",
        "Every ITL request (ITLSEP<MAC>.tlv, ITLFile.tlv) failed with TFTP ERROR or HTTP 404: "
        "the phone shows 'No Trust List installed'.",
        ("the TFTP server has no ITL (Cisco TFTP service not restarted)", "wrong TFTP server"),
        "tftp.error.code == 1 || http.response.code == 404",
        "Restart the Cisco TFTP service on every TFTP node so the ITL is rebuilt; confirm with "
        "'show itl' on the node in DHCP option 150.",
    ),
    "ITL_PARSE_ERROR": CodeInfo(
        "error",
        "A downloaded trust list does not parse",
        "The ITL/CTL bytes do not follow the .tlv format; the phone would reject it.",
        ("corrupt file on the TFTP server", "truncated transfer", "not a trust list at all"),
        "File > Export Objects > TFTP, then 'capfcap itl FILE'",
        "Regenerate the ITL (restart the Cisco TFTP service) and compare 'show itl' checksums.",
    ),
    "ITL_SIGNATURE_INVALID": CodeInfo(
        "error",
        "The trust list signature does not verify",
        "The ITL signature does not verify with the SAST record named by its own header.",
        ("file altered or corrupted", "signer certificate replaced without re-signing"),
        "capfcap itl on the carved file shows the signature verdict",
        "Regenerate the ITL (restart Cisco TFTP on all nodes) and reset the phones.",
    ),
    "ITL_NO_CAPF": CodeInfo(
        "error",
        "The ITL has no CAPF record",
        "The ITL served to the phone has no record with the CAPF role (4), so the phone can "
        "only trust the CAPF certificate if TVS vouches for it: 'No valid CAPF server'.",
        (
            "the Cisco Certificate Authority Proxy Function service is not activated on the "
            "publisher",
            "the Cisco TFTP service was not restarted after CAPF was activated or its "
            "certificate regenerated",
        ),
        "capfcap itl on the carved ITL lists no CAPF role",
        "Activate the Cisco Certificate Authority Proxy Function service on the publisher, then "
        "restart the Cisco TFTP service on all TFTP nodes and reset the phone.",
    ),
    "ITL_MISMATCH": CodeInfo(
        "warning",
        "Phones received ITLs that differ in signer or CAPF certificate",
        "The phones in the capture received different ITLs (compared by SHA-256) that differ "
        "in signer or CAPF certificate. The ITL most phones received is taken as the "
        "cluster's: each phone that received another one is warned once, and a phone that "
        "received the majority ITL is not. When no ITL reached a majority (two phones and two "
        "ITLs, or a tie), one capture-level finding lists the groups.",
        (
            "a TFTP node was not restarted after a certificate regeneration, so it serves a "
            "stale ITL",
            "phones point at a TFTP server of another cluster (DHCP option 150)",
            "the ITL changed during the capture (certificate regeneration, planned ITL reset)",
        ),
        "Export the ITLs (File > Export Objects > TFTP), compare 'capfcap itl' output, and "
        "'show itl' on each TFTP node",
        "Make the TFTP servers of one cluster serve the same ITL: on the node serving the odd "
        "one out, check its signer and CAPF record ('show itl') and restart the Cisco TFTP "
        "service, then reset the affected phones. Phones pointed at another cluster's TFTP "
        "server: correct DHCP option 150; to move phones between clusters use Bulk "
        "Certificate Management export/consolidate (or 'Prepare Cluster for Rollback to "
        "pre-8.0') before changing option 150, not a bulk ITL reset. A phone that already "
        "rejects this cluster's ITL: 'utils itl reset localkey' (or 'remote') on the "
        "publisher, or erase the trust list on the phone.",
    ),
    "CONFIG_NOT_FOUND": CodeInfo(
        "error",
        "The phone's config file request failed",
        "The phone's SEP<MAC>.cnf.xml(.sgn) request got TFTP ERROR or HTTP 404.",
        ("phone not added in CUCM (or auto-registration off)", "wrong TFTP server"),
        "tftp.error.code == 1 for SEP*.cnf.xml",
        "Add the device in CUCM (or check its MAC), then reset it; confirm the TFTP server.",
    ),
    "CAPF_NOT_ATTEMPTED": CodeInfo(
        "warning",
        "A CAPF operation is pending but the phone never contacted CAPF",
        "The config says a certificate operation is pending (capfAuthMode) but no connection "
        "to the CAPF port appears in the capture. Judged only when the capture goes on "
        "for 30 s after the config, and not when another error of the phone (DNS, trust "
        "list) already explains why it stopped.",
        (
            "authentication-string mode: the user must enter the string on the phone",
            "the phone rejected its config (trust-list problem)",
            "the CAPF name did not resolve",
        ),
        "No packets to the config's CAPF port (tcp.port == phonePort, 3804 by default) from "
        "the phone after its config download",
        "For 'By Authentication String', enter the string on the phone; otherwise check the "
        "trust-list and DNS findings for this phone, then reset it.",
    ),
    "DNS_NXDOMAIN": CodeInfo(
        "error",
        "A CUCM name does not exist in DNS",
        "The phone looked up a CUCM-related name (CAPF, TFTP, TVS or CallManager node) and the "
        "DNS server answered NXDOMAIN: the phone shows 'DNS unknown host'.",
        ("missing A/AAAA record", "typo in the node name (System > Server)", "wrong DNS domain"),
        "dns.flags.rcode == 3",
        "Add the missing DNS A record for the name (or use the node's IP address in "
        "System > Server), then reset the phone.",
    ),
    "DNS_NODATA": CodeInfo(
        "error",
        "A CUCM name has no address record",
        "The DNS server answered NOERROR without any A/AAAA record for a CUCM-related name.",
        ("only an AAAA (or only an A) record exists", "record of another type only"),
        "dns.flags.rcode == 0 && dns.count.answers == 0",
        "Add the missing A (or AAAA) record for the name.",
    ),
    "DNS_SERVER_ERROR": CodeInfo(
        "error",
        "The DNS server failed to resolve a CUCM name",
        "The DNS server answered SERVFAIL, REFUSED or another error code.",
        ("DNS server cannot reach the authoritative server", "recursion refused to the phone"),
        "dns.flags.rcode != 0 && dns.flags.rcode != 3",
        "Fix the DNS server (forwarders, ACL allowing the voice VLAN).",
    ),
    "DNS_NO_RESPONSE": CodeInfo(
        "error",
        "DNS queries for a CUCM name were never answered",
        "The phone sent DNS queries (retries included) and no response came back: 'DNS "
        "timeout'." + SILENCE,
        ("DNS server down or unreachable", "UDP/TCP 53 blocked between the voice VLAN and DNS"),
        "dns.flags.response == 0 && !dns.response_in",
        "Check the DNS servers handed out by DHCP (option 6) and that UDP/TCP 53 is allowed "
        "from the voice VLAN.",
    ),
    "CAPF_UNIDIRECTIONAL": CodeInfo(
        "error",
        "The phone's connections to CAPF are never answered",
        f"The phone sent SYNs to {CAPF_PORT} and nothing came back, while the capture does "
        "show traffic in the other direction for the phone's other conversations.",
        (
            f"firewall or ACL silently dropping {CAPF_PORT_SHORT} between the voice VLAN and "
            "the publisher",
            "wrong CAPF address (processNodeName) or routing problem",
            "publisher down",
        ),
        "tcp.port == <phonePort, 3804 by default> && tcp.completeness <= 1",
        f"Check the firewall between the voice VLAN and the publisher for {CAPF_PORT}, and "
        "that the CAPF processNodeName resolves to the publisher.",
    ),
    "CAPF_REFUSED": CodeInfo(
        "error",
        "The CAPF port refused the phone's connection",
        f"The phone's SYN to {CAPF_PORT} was answered with a RST from the server, or with an "
        "ICMP destination unreachable. Who sent the answer and the ICMP code say why: a RST "
        "(or an ICMP port unreachable) from the server itself means nothing accepts the "
        "connection there; ICMP 'administratively prohibited' (ICMPv4 type 3 code 9, 10 or 13; "
        "ICMPv6 type 1 code 1, 5 or 6), or a port unreachable sent by a router, means a packet "
        "filter on the device that sent it rejected the SYN, and CAPF was never reached; ICMP "
        "net or host unreachable (ICMPv4 3/0, 3/1, 3/6, 3/7; ICMPv6 1/0, 1/3) means the "
        "phone's packets cannot be routed to that address.",
        (
            "RST or port unreachable from the server: the Cisco Certificate Authority Proxy "
            "Function service is not activated or not running on the publisher",
            "RST from the server: the phone's config names a phonePort CAPF does not listen on",
            "administratively prohibited (or port unreachable) from a router or firewall: an "
            f"ACL or firewall rule on that device rejects {CAPF_PORT_SHORT}",
            "net/host unreachable: no route to the address, or the CAPF processNodeName "
            "resolves to a wrong address",
            "IPv6 connection while IPv6 is disabled for CAPF",
        ),
        "tcp.port == <phonePort, 3804 by default> && tcp.flags.reset == 1, or icmp.type == 3 "
        "/ icmpv6.type == 1 (icmp.code, and ip.src of the ICMP: the server or a router)",
        "RST or port unreachable from the server: activate and start the Cisco Certificate "
        "Authority Proxy Function service on the publisher (Serviceability > Tools > Service "
        "Activation), then restart the Cisco TFTP service on all TFTP nodes. Administratively "
        "prohibited, or port unreachable from a router: fix the firewall/ACL on the device "
        f"that sent the ICMP so it permits {CAPF_PORT_SHORT} from the voice VLAN to the "
        "publisher; the CAPF service need not change. Net/host unreachable: fix the route, and "
        "check that the CAPF processNodeName resolves to the publisher's address.",
    ),
    "CAPF_TLS_FAILED": CodeInfo(
        "error",
        "The TLS handshake with CAPF failed",
        f"The TLS handshake on {CAPF_PORT} ended with an alert or was aborted before the "
        "CAPF dialogue started.",
        (
            "the phone does not trust the CAPF certificate (ITL without CAPF record, stale ITL, "
            "TVS unreachable): unknown_ca / bad_certificate",
            "TLS version mismatch (old phone, raised CUCM TLS minimum): protocol_version",
            "expired CAPF certificate: certificate_expired",
        ),
        "tls.alert_message (decode the port as TLS: -d tcp.port==3804,tls, or the config's "
        "phonePort)",
        "Make the phone's ITL carry the current CAPF certificate (restart Cisco TFTP, reset the "
        "phone) or make TVS reachable; for protocol_version align the TLS minimum version.",
    ),
    "CAPF_CERT_MISMATCH": CodeInfo(
        "error",
        "CAPF presents a certificate that is not in the phone's ITL",
        f"The certificate the server presented on {CAPF_PORT_SHORT} differs (by DER hash) "
        "from every CAPF record of the ITL the phone downloaded.",
        ("CAPF certificate regenerated, but TFTP not restarted or phones not reset",),
        "tls.handshake.certificate on the CAPF port (3804, or the config's phonePort) vs the "
        "ITL CAPF record",
        "Restart the Cisco TFTP service on all TFTP nodes so the ITL carries the current CAPF "
        "certificate, then reset the phones.",
    ),
    "CAPF_CERT_EXPIRED": CodeInfo(
        "error",
        "The CAPF certificate is expired",
        "The CAPF certificate (on the wire or in the ITL CAPF record) was expired at capture "
        "time.",
        ("CAPF.pem not renewed",),
        "x509af.validity of the certificate on the CAPF port (3804, or the config's "
        "phonePort)",
        "Regenerate the CAPF certificate on the publisher, restart the CAPF and TFTP services, "
        "and reset the phones.",
    ),
    "CAPF_CERT_EXPIRING": CodeInfo(
        "warning",
        "The CAPF certificate expires within 30 days",
        "The CAPF certificate expires within 30 days of the capture time.",
        ("CAPF.pem due for renewal",),
        "x509af.validity of the certificate on the CAPF port (3804, or the config's "
        "phonePort)",
        "Plan the CAPF certificate regeneration, followed by a TFTP restart and phone reset.",
    ),
    "CAPF_CERT_NOT_CA": CodeInfo(
        "warning",
        "The CAPF certificate lacks CA:TRUE / keyCertSign",
        "CUCM 14SU2 and later require the CAPF certificate to carry BasicConstraints CA:TRUE "
        "and KeyUsage keyCertSign; without them TLS to CAPF fails.",
        ("CAPF certificate signed by a CA with a template lacking these extensions",),
        "x509ce.cA and x509ce.keyCertSign in the certificate on the CAPF port (3804, or the "
        "config's phonePort)",
        "Reissue the CAPF certificate with BasicConstraints CA:TRUE, pathlen:0 and KeyUsage "
        "Digital Signature, Certificate Sign.",
    ),
    "CAPF_NO_CERTIFICATE": CodeInfo(
        "warning",
        "The CAPF session ended without issuing a certificate",
        f"TLS to {CAPF_PORT_SHORT} completed but only small CAPF messages were exchanged: no "
        "certificate was delivered.",
        (
            "no certificate operation scheduled for the device",
            "device unknown to CAPF",
            "'Operation Completes By' deadline passed",
            "wrong authentication string or failed existing-certificate authentication",
        ),
        "tls.record.content_type == 23 on the CAPF port (3804, or the config's phonePort): "
        "no ~1 kB server record",
        "In CUCM set Certificate Operation 'Install/Upgrade' with a future 'Operation Completes "
        "By' on the phone page, save, Apply Config, and reset the phone.",
    ),
    "CAPF_LSC_ISSUED": CodeInfo(
        "info",
        "CAPF delivered a certificate",
        "The CAPF session delivered a certificate to the phone (success).",
        ("certificate operation completed",),
        "tls.record.content_type == 23 on the CAPF port (3804, or the config's phonePort): a "
        "~1 kB server record after the phone's key",
        "Nothing to fix.",
    ),
}

for _code in (
    "CAPF_UNIDIRECTIONAL",
    "CAPF_REFUSED",
    "CAPF_TLS_FAILED",
    "CAPF_CERT_MISMATCH",
    "CAPF_CERT_EXPIRED",
    "CAPF_CERT_EXPIRING",
    "CAPF_CERT_NOT_CA",
):
    CATALOG["TVS" + _code[4:]] = _tvs(CATALOG[_code])

# TVS is a network service on each node of the phone's CallManager group (the TVS members
# of its config), not a feature service on the publisher: its refusal needs its own words.
CATALOG["TVS_REFUSED"] = CodeInfo(
    "error",
    "The TVS port refused the phone's connection",
    f"The phone's SYN to {TVS_PORT} was answered with a RST from the server, or with an ICMP "
    "destination unreachable. A RST (or an ICMP port unreachable) from the server itself "
    "means nothing accepts the connection there; ICMP 'administratively prohibited' (ICMPv4 type 3 "
    "code 9, 10 or 13; ICMPv6 type 1 code 1, 5 or 6), or a port unreachable sent by a router, "
    "means a packet filter on the device that sent it rejected the SYN; ICMP net or host "
    "unreachable (ICMPv4 3/0, 3/1, 3/6, 3/7; ICMPv6 1/0, 1/3) means the phone's packets "
    "cannot be routed to that address.",
    (
        "RST or port unreachable from the server: the Cisco Trust Verification Service is "
        "stopped on that node",
        "administratively prohibited (or port unreachable) from a router or firewall: an ACL "
        f"or firewall rule on that device rejects {TVS_PORT_SHORT}",
        "net/host unreachable: no route to the address, or a TVS member of the phone's config "
        "resolves to a wrong address",
    ),
    "tcp.port == <TVS member port, 2445 by default> && tcp.flags.reset == 1, or icmp.type == "
    "3 / icmpv6.type == 1 "
    "(icmp.code, and ip.src of the ICMP: the server or a router)",
    "RST or port unreachable from the server: start (or restart) the Cisco Trust "
    "Verification Service on that node (Cisco Unified Serviceability > Tools > Control "
    "Center - Network Services). Administratively prohibited, or port unreachable from a "
    f"router: fix the firewall/ACL on the device that sent the ICMP so it permits "
    f"{TVS_PORT_SHORT} from the voice VLAN to the TVS members of the phone's config. "
    "Net/host unreachable: fix the route, and check what the TVS members of the config "
    "resolve to.",
)


def severity_of(code: str) -> Severity:
    return CATALOG[code].severity
