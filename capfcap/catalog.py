"""The finding catalog (DESIGN §4): each code's severity, meaning, causes, how to confirm it
in Wireshark and the fix, with the Cisco document each fix follows. `capfcap explain` and
the README's findings reference are rendered from it.

Most of this module is one data table (`CATALOG`), kept whole so that a code's texts read
in one place; its size is the table's.
"""

from __future__ import annotations

from dataclasses import dataclass

from capfcap.findings import Severity


@dataclass(frozen=True)
class CodeInfo:
    severity: Severity
    title: str
    meaning: str
    causes: tuple[str, ...]
    confirm: str
    fix: str
    source: str = ""  # the documents behind the meaning and the fix (Cisco title or number)


# Cisco documents behind the texts (title and document number; docs/FIELD.md §6 in the
# shared notes lists their addresses).
LSC_HOWTO = "Cisco TAC 213295 'Install a Locally Significant Certificate on a Cisco IP Phone'"
REGEN = "Cisco TAC 214231 'Regenerate Certificates in Unified Communications Manager'"
RENEWAL = "Cisco TAC 225746 'Troubleshoot Common Issues with Certificate Renewal in CUCM'"
CA_SIGNED = "Cisco TAC 212214 'CAPF Certificate Signed by CA for CUCM'"
LSC_QA = "Cisco TAC 200860 'Q&A for CUCM Phone Certificates (LSC/MIC)'"
MIGRATE = "Cisco TAC 213407 'Migrate Phones Between Secure Clusters'"
HOST_NOT_FOUND = "Cisco TAC 118699 'Troubleshoot Corporate Directory Host Not Found'"
ITL_RESET = "Cisco TAC 117598 'ITL Enhancements in 10.0(1)' (utils itl reset)"
ONLINE_CA = "Cisco TAC 214396 'Troubleshooting CAPF Online CA'"
SEC_GUIDE = ("CUCM Security Guide 12.5(1)SU4 and 14SU2, chapter 'Certificate Authority Proxy "
             "Function'")
CTL_GUIDE = "CUCM Security Guide 12.5(1)SU1, chapter 'Cisco CTL Client Setup'"
PHONE_STATUS = ("Cisco IP Phone 8800 Series Administration Guide, 'Monitoring Phone Systems' "
                "(status messages)")
PHONE_SECURITY = "Cisco IP Conference Phone 8832 Administration Guide, chapter 'Security'"
CAPTURE_DOCS = ("Wireshark User's Guide, TCP analysis (tcp.analysis.ack_lost_segment); Zeek "
                "capture_loss")

# Cisco's order after a CAPF certificate is regenerated (TAC 214231).
CAPF_REGEN_ORDER = (
    "in mixed mode first run 'utils ctl update CTLFile' and reset the secure phones; restart "
    "the Cisco Certificate Authority Proxy Function service; restart the Cisco Trust "
    "Verification Service on all nodes; restart the Cisco TFTP service on all nodes; reset "
    "the phones. Keep the old CAPF certificate in CAPF-trust and CallManager-trust until the "
    "phones hold new LSCs, and upload the new one to ISE/ASA where they validate LSCs")
LOCKED_PHONE = (
    "If the phone's installed trust list predates a signer change (cluster move, regenerated "
    "certificates), a TFTP restart cannot help: run 'utils itl reset localkey' (or 'remote') "
    "on the publisher, or erase the trust list on the phone (its 'Reset security "
    "settings' menu entry, or a factory reset)")

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
        CAPTURE_DOCS,
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
        CAPTURE_DOCS,
    ),
    "CAPTURE_DUPLICATES": CodeInfo(
        "info",
        "Frames appear twice in the capture",
        "Identical frames were captured twice within a short window; they were removed before "
        "retransmissions were counted.",
        ("SPAN with rx on one port and tx on another, so each frame is mirrored twice",),
        "tcp.analysis.duplicate_ack || frame.time_delta_displayed < 0.001 with identical bytes",
        "Mirror each frame once (one source port, 'both'), or de-duplicate with 'editcap -d'.",
        "Wireshark editcap manual (-d, duplicate removal)",
    ),
    "TFTP_NO_RESPONSE": CodeInfo(
        "error",
        "TFTP read requests were never answered",
        "The phone sent TFTP read requests (UDP 69) and no DATA, OACK or ERROR came back: the "
        "phone shows 'TFTP timeout'. "
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
        PHONE_STATUS,
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
        PHONE_STATUS,
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
        f"{PHONE_STATUS}; {REGEN}",
    ),
    "ITL_PARSE_ERROR": CodeInfo(
        "error",
        "A downloaded trust list does not parse",
        "The ITL/CTL bytes do not follow the .tlv format; the phone would reject it ('Trust "
        "List Update Failed').",
        ("corrupt file on the TFTP server", "truncated transfer", "not a trust list at all"),
        "File > Export Objects > TFTP, then 'capfcap itl FILE'",
        "Regenerate the ITL (restart the Cisco TFTP service) and compare 'show itl' checksums.",
        f"{PHONE_STATUS}; {REGEN}",
    ),
    "ITL_SIGNATURE_INVALID": CodeInfo(
        "error",
        "The trust list signature does not verify",
        "The ITL signature does not verify with the SAST record named by its own header; the "
        "phone would reject it ('Trust List Update Failed').",
        ("file altered or corrupted", "signer certificate replaced without re-signing"),
        "capfcap itl on the carved file shows the signature verdict",
        "Regenerate the ITL (restart Cisco TFTP on all nodes) and reset the phones.",
        f"{PHONE_STATUS}; {REGEN}",
    ),
    "ITL_NO_CAPF": CodeInfo(
        "error",
        "The ITL has no CAPF record",
        "The ITL served to the phone has no record with the CAPF role (4), so the phone can "
        "only trust the CAPF certificate if TVS vouches for it: 'No valid CAPF server'.",
        (
            "the Cisco Certificate Authority Proxy Function service is not activated on the "
            "publisher (the ITL holds the CAPF certificate only while the service runs)",
            "the Cisco TFTP service was not restarted after CAPF was activated or its "
            "certificate regenerated",
        ),
        "capfcap itl on the carved ITL lists no CAPF role",
        "Activate the Cisco Certificate Authority Proxy Function service on the publisher, then "
        "restart the Cisco TFTP service on all TFTP nodes and reset the phone. In mixed mode a "
        "CAPF activated after the CTL was built also needs 'utils ctl update CTLFile'.",
        f"{REGEN}; {CTL_GUIDE}",
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
        f"{ITL_RESET}; {MIGRATE}",
    ),
    "CONFIG_NOT_FOUND": CodeInfo(
        "error",
        "The phone's config file request failed",
        "The phone's SEP<MAC>.cnf.xml(.sgn) request got TFTP ERROR or HTTP 404: the phone "
        "shows 'File not found' with its config file name.",
        ("phone not added in CUCM (or auto-registration off)", "wrong TFTP server"),
        "tftp.error.code == 1 for SEP*.cnf.xml",
        "Add the device in CUCM (or check its MAC), then reset it; confirm the TFTP server.",
        PHONE_STATUS,
    ),
    "CAPF_NOT_ATTEMPTED": CodeInfo(
        "warning",
        "A CAPF operation is pending but the phone never contacted CAPF",
        "The config says a certificate operation is pending in an automatic mode (Null String, "
        "By Existing Certificate) but no connection to the CAPF port appears in the capture. "
        "Judged only when the capture goes on for 30 s after the config, and not when another "
        "error of the phone (DNS, trust list) already explains why it stopped. A pending 'By "
        "Authentication String' operation waits for someone to enter the string on the phone: "
        "that is CAPF_AWAITING_AUTH_STRING, not this finding.",
        (
            "the phone rejected its config (its trust list belongs to another cluster)",
            "the CAPF name did not resolve, or the phone has no DNS server",
        ),
        "No packets to the config's CAPF port (tcp.port == phonePort, 3804 by default) from "
        "the phone after its config download",
        "Check the trust-list and DNS findings for this phone, then reset it. " + LOCKED_PHONE
        + ".",
        f"{SEC_GUIDE}; {ITL_RESET}",
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
        f"{LSC_HOWTO}; {PHONE_STATUS}",
    ),
    "DNS_NODATA": CodeInfo(
        "error",
        "A CUCM name has no address record",
        "The DNS server answered NOERROR without any A/AAAA record for a CUCM-related name.",
        ("only an AAAA (or only an A) record exists", "record of another type only"),
        "dns.flags.rcode == 0 && dns.count.answers == 0",
        "Add the missing A (or AAAA) record for the name.",
        f"{LSC_HOWTO}; {PHONE_STATUS}",
    ),
    "DNS_SERVER_ERROR": CodeInfo(
        "error",
        "The DNS server failed to resolve a CUCM name",
        "The DNS server answered SERVFAIL, REFUSED or another error code.",
        ("DNS server cannot reach the authoritative server", "recursion refused to the phone"),
        "dns.flags.rcode != 0 && dns.flags.rcode != 3",
        "Fix the DNS server (forwarders, ACL allowing the voice VLAN).",
        "RFC 1035 §4.1.1 (RCODE); " + LSC_HOWTO,
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
        PHONE_STATUS,
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
            "IPv6 connection while 'Enable IPv6' is off for CAPF (CAPF may ignore it)",
            "publisher down",
        ),
        "tcp.port == <phonePort, 3804 by default> && tcp.completeness <= 1",
        f"Check the firewall between the voice VLAN and the publisher for {CAPF_PORT} in both "
        "directions, and that the CAPF processNodeName resolves to the publisher.",
        f"{LSC_HOWTO}; {SEC_GUIDE}",
    ),
    "CAPF_REFUSED": CodeInfo(
        "error",
        "The CAPF port refused the phone's connection",
        f"The phone's SYN to {CAPF_PORT} was answered with a RST from the server, or with an "
        "ICMP destination unreachable. Who sent the answer and the ICMP code say why: a RST "
        "(or an ICMP port unreachable) from the server itself means nothing accepts the "
        "connection there; a RST whose TTL (hop limit) shows another hop count than the "
        "server's own packets was sent in its name by a firewall on the path; ICMP "
        "'administratively prohibited' (ICMPv4 type 3 code 9, 10 or 13; "
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
        "check that the CAPF processNodeName resolves to the publisher's address. In mixed mode a "
        "CAPF activated after the CTL was built also needs 'utils ctl update CTLFile'.",
        f"{SEC_GUIDE}; {CTL_GUIDE}",
    ),
    "CAPF_TLS_FAILED": CodeInfo(
        "error",
        "The TLS handshake with CAPF failed",
        f"The TLS handshake on {CAPF_PORT} ended with an alert or was aborted before the "
        "CAPF dialogue started.",
        (
            "the phone does not trust the CAPF certificate (ITL without CAPF record, stale ITL, "
            "TVS unreachable): unknown_ca / bad_certificate",
            "the phone's installed trust list belongs to another cluster or predates a signer "
            "change, so it rejects this cluster's ITL",
            "TLS version mismatch (old phone, raised CUCM TLS minimum): protocol_version",
            "expired CAPF certificate: certificate_expired",
        ),
        "tls.alert_message (decode the port as TLS: -d tcp.port==3804,tls, or the config's "
        "phonePort)",
        "Make the phone's ITL carry the current CAPF certificate (restart Cisco TFTP on all "
        "nodes, reset the phone) or make TVS reachable. " + LOCKED_PHONE + ". For "
        "protocol_version align the TLS minimum version.",
        f"{ITL_RESET}; {RENEWAL}",
    ),
    "CAPF_CERT_MISMATCH": CodeInfo(
        "error",
        "CAPF presents a certificate that is not in the phone's ITL",
        f"The certificate the server presented on {CAPF_PORT_SHORT} differs (by DER hash) "
        "from every CAPF record of the ITL the phone downloaded.",
        (
            "CAPF certificate regenerated, but TVS and TFTP not restarted or phones not reset",
            "mixed mode: the CTL was not updated after the CAPF regeneration",
        ),
        "tls.handshake.certificate on the CAPF port (3804, or the config's phonePort) vs the "
        "ITL CAPF record",
        "Follow Cisco's order after a CAPF regeneration: " + CAPF_REGEN_ORDER + ".",
        f"{REGEN}; {RENEWAL}",
    ),
    "CAPF_CERT_EXPIRED": CodeInfo(
        "error",
        "The CAPF certificate is expired",
        "The CAPF certificate (on the wire or in the ITL CAPF record) was expired at capture "
        "time. Phones pin the CAPF certificate through their ITL/CTL record; whether they also "
        f"refuse an expired one on {CAPF_PORT_SHORT} is not documented, so installs may fail. "
        "CUCM and ISE validating LSCs issued by it do fail.",
        ("CAPF.pem not renewed",),
        "x509af.validity of the certificate on the CAPF port (3804, or the config's "
        "phonePort)",
        "Regenerate the CAPF certificate on the publisher, then " + CAPF_REGEN_ORDER + ".",
        f"{REGEN}; {RENEWAL}",
    ),
    "CAPF_CERT_EXPIRING": CodeInfo(
        "warning",
        "The CAPF certificate expires within 30 days",
        "The CAPF certificate expires within 30 days of the capture time.",
        ("CAPF.pem due for renewal",),
        "x509af.validity of the certificate on the CAPF port (3804, or the config's "
        "phonePort)",
        "Plan the CAPF certificate regeneration on the publisher, followed by Cisco's order: "
        + CAPF_REGEN_ORDER + ".",
        f"{REGEN}; {RENEWAL}",
    ),
    "CAPF_CERT_NOT_CA": CodeInfo(
        "warning",
        "The CAPF certificate lacks CA:TRUE / keyCertSign",
        "Cisco requires BasicConstraints CA:TRUE (pathlen:0) and KeyUsage Digital Signature + "
        "Certificate Sign on any CAPF certificate (documented for CUCM 14SU2 and later, and "
        "also in the 12.5(1)SU4 guide). Without them TLS connections fail: on the CAPF port, "
        "or on the connections that validate LSCs issued by this CAPF (SIP/SCCP over TLS, 802.1X). "
        "capfcap cannot read the CUCM version from the wire, so whether this cluster enforces "
        "it is not known here.",
        ("CA-signed CAPF certificate issued with a leaf (web server) template lacking these "
         "extensions",),
        "x509ce.cA and x509ce.keyCertSign in the certificate on the CAPF port (3804, or the "
        "config's phonePort)",
        "Reissue the CAPF certificate with BasicConstraints CA:TRUE, pathlen:0 and KeyUsage "
        "Digital Signature, Certificate Sign: for a CA-signed CAPF, sign its CSR with the "
        "Subordinate Certification Authority template. Then " + CAPF_REGEN_ORDER + "; LSCs "
        "issued under the old certificate must be issued again.",
        f"{SEC_GUIDE}; {CA_SIGNED}",
    ),
    "CAPF_NO_CERTIFICATE": CodeInfo(
        "warning",
        "The CAPF session ended without issuing a certificate",
        f"TLS to {CAPF_PORT_SHORT} completed but only small CAPF messages were exchanged: no "
        "certificate was delivered.",
        (
            "no certificate operation scheduled for the device",
            "'Operation Completes By' deadline passed",
            "wrong authentication string or failed existing-certificate authentication",
            "device unknown to CAPF (device name mismatch)",
            "Online CA back-end failure",
            "a Delete operation (then nothing is missing)",
        ),
        "tls.record.content_type == 23 on the CAPF port (3804, or the config's phonePort): "
        "no ~1 kB server record",
        "Depends on the cause (a --keylog shows the END_SESSION reason). No operation or "
        "deadline passed: in CUCM set Certificate Operation 'Install/Upgrade' with a future "
        "'Operation Completes By' on the phone page, save, Apply Config, and reset the phone. "
        "By Authentication String: enter the string of the phone page again on the phone. By "
        "Existing Certificate: check that the issuer of the phone's LSC is still in "
        "CAPF-trust and that its MIC has not expired (else use Null String or an "
        "authentication string). Unknown device: check the device name (SEP<MAC>) in CUCM. "
        "Online CA: check the CA connection. A Delete operation needs no fix.",
        f"{LSC_HOWTO}; {PHONE_SECURITY}; {LSC_QA}; {ONLINE_CA}",
    ),
    "CAPF_LSC_ISSUED": CodeInfo(
        "info",
        "CAPF delivered a certificate",
        "The CAPF session delivered a certificate to the phone (success).",
        ("certificate operation completed",),
        "tls.record.content_type == 23 on the CAPF port (3804, or the config's phonePort): a "
        "~1 kB server record after the phone's key",
        "Nothing to fix.",
        LSC_HOWTO,
    ),
    # TVS (2445 unless the config names another port): the TVS servers are the TVS members of
    # the phone's config, i.e. the nodes of its CallManager group; every such node runs TVS
    # with its own certificate.
    "TVS_UNIDIRECTIONAL": CodeInfo(
        "error",
        "The phone's connections to TVS are never answered",
        f"The phone sent SYNs to {TVS_PORT} and nothing came back, while the capture does "
        "show traffic in the other direction for the phone's other conversations.",
        (
            f"firewall or ACL silently dropping {TVS_PORT_SHORT} between the voice VLAN and "
            "the TVS "
            "members of the phone's config (the nodes of its CallManager group)",
            "an address that is not a TVS member of the config (the phone uses another "
            "cluster's trust list) or a routing problem",
            "that node down",
        ),
        "tcp.port == <TVS member port, 2445 by default> && tcp.completeness <= 1",
        "Check the firewall between the voice VLAN and every TVS member of the phone's config "
        f"(the nodes of its CallManager group) for {TVS_PORT} in both directions.",
        f"{MIGRATE}; {HOST_NOT_FOUND}",
    ),
    "TVS_REFUSED": CodeInfo(
        "error",
        "The TVS port refused the phone's connection",
        f"The phone's SYN to {TVS_PORT} was answered with a RST from the server, or with an "
        "ICMP destination unreachable. A RST (or an ICMP port unreachable) from the server "
        "itself means nothing accepts the connection there; a RST whose TTL (hop limit) shows "
        "another hop count than the server's own packets was sent in its name by a firewall "
        "on the path; ICMP 'administratively "
        "prohibited' (ICMPv4 type 3 code 9, 10 or 13; ICMPv6 type 1 code 1, 5 or 6), or a port "
        "unreachable sent by a router, means a packet filter on the device that sent it "
        "rejected the SYN; ICMP net or host unreachable (ICMPv4 3/0, 3/1, 3/6, 3/7; ICMPv6 1/0, "
        "1/3) means the phone's packets cannot be routed to that address.",
        (
            "RST or port unreachable from the server: the Cisco Trust Verification Service is "
            "stopped on that node",
            "administratively prohibited (or port unreachable) from a router or firewall: an "
            f"ACL or firewall rule on that device rejects {TVS_PORT_SHORT}",
            "the phone's config names a TVS member port TVS does not listen on",
            "net/host unreachable: no route to the address, or a TVS member of the phone's "
            "config resolves to a wrong address",
        ),
        "tcp.port == <TVS member port, 2445 by default> && tcp.flags.reset == 1, or icmp.type "
        "== 3 / icmpv6.type == 1 (icmp.code, and ip.src of the ICMP: the server or a router)",
        "RST or port unreachable from the server: start (or restart) the Cisco Trust "
        "Verification Service on that node (Cisco Unified Serviceability > Tools > Control "
        "Center - Network Services); TVS runs on every node of the phone's CallManager group, "
        "so check each one the phone tries. Administratively prohibited, or port unreachable "
        "from a router: fix the firewall/ACL on the device that sent the ICMP so it permits "
        f"{TVS_PORT_SHORT} from the voice VLAN to the TVS members of the phone's config. "
        "Net/host unreachable: fix the route, and check what the TVS members of the config "
        "resolve to.",
        f"{REGEN}; {RENEWAL}",
    ),
    "TVS_TLS_FAILED": CodeInfo(
        "error",
        "The TLS handshake with TVS failed",
        f"The TLS handshake on {TVS_PORT} ended with an alert or was aborted before the "
        "TVS dialogue started.",
        (
            "the phone does not trust that node's TVS certificate (the ITL's TVS record is "
            "stale: TVS regenerated, TFTP not restarted): unknown_ca / bad_certificate",
            "the phone's installed trust list belongs to another cluster or predates a signer "
            "change",
            "TLS version mismatch (old phone, raised CUCM TLS minimum): protocol_version",
            "TVS answering the ClientHello with handshake_failure (a server-side fault)",
        ),
        "tls.alert_message (decode the port as TLS: -d tcp.port==2445,tls, or the config's "
        "TVS member port)",
        "Make the phone's ITL carry that node's current TVS certificate (restart Cisco TFTP on "
        "all nodes, reset the phone). " + LOCKED_PHONE + ". For protocol_version align the TLS "
        "minimum version; for a handshake_failure from TVS restart the Cisco Trust "
        "Verification Service on that node (Control Center - Network Services).",
        f"{ITL_RESET}; {HOST_NOT_FOUND}; {RENEWAL}",
    ),
    "TVS_CERT_MISMATCH": CodeInfo(
        "error",
        "TVS presents a certificate that is not in the phone's ITL",
        f"The certificate the server presented on {TVS_PORT_SHORT} differs (by DER hash) from "
        "every TVS record of the ITL the phone downloaded.",
        ("that node's TVS certificate regenerated, but TFTP not restarted or phones not reset",),
        "tls.handshake.certificate on the TVS port (2445, or the config's TVS member port) "
        "vs the ITL's TVS (role 21) records",
        "TVS certificates are per node: restart the Cisco Trust Verification Service on the "
        "node whose certificate changed, then the Cisco TFTP service on all nodes so the ITL "
        "carries it, then reset the phones.",
        f"{REGEN}; {MIGRATE}",
    ),
    "TVS_CERT_EXPIRED": CodeInfo(
        "error",
        "The TVS certificate is expired",
        f"The TVS certificate that node presented on {TVS_PORT_SHORT} (or its ITL TVS record) "
        "was expired at capture time.",
        ("TVS.pem of that node not renewed",),
        "x509af.validity of the certificate on the TVS port (2445, or the config's TVS "
        "member port)",
        "TVS certificates are per node: regenerate the TVS certificate on the node that "
        "presented it, restart the Cisco Trust Verification Service there and the Cisco TFTP "
        "service on all nodes, then reset the phones. On CUCM 8.x to 11.5 do not regenerate "
        "the CallManager and TVS certificates together: phones lose trust in both.",
        f"{REGEN}; {RENEWAL}",
    ),
    "TVS_CERT_EXPIRING": CodeInfo(
        "warning",
        "The TVS certificate expires within 30 days",
        "The TVS certificate that node presented expires within 30 days of the capture time.",
        ("TVS.pem of that node due for renewal",),
        "x509af.validity of the certificate on the TVS port (2445, or the config's TVS "
        "member port)",
        "Plan the TVS certificate regeneration on that node (TVS certificates are per node), "
        "followed by a TVS restart there, a TFTP restart on all nodes and a phone reset; not "
        "together with the CallManager certificate on CUCM 8.x to 11.5.",
        f"{REGEN}; {RENEWAL}",
    ),
    "PHONE_DISTRUSTS_CLUSTER": CodeInfo(
        "error",
        "The phone holds another cluster's trust list",
        "The phone took this cluster's ITL and config, then acted on another trust list: it "
        "asked a TVS that is not a member of the config it was served, aborted TLS to TVS "
        "itself, or downloaded trust list and config again and again without contacting "
        "CAPF. It rejects the new ITL and the signed config, never learns of the pending "
        "operation, and CUCM shows 'Operation Pending'. A loop counts only the rounds the "
        "capture proves: each followed by the next, the last by 30 s of capture (DESIGN "
        "§4); otherwise the verdict is withheld.",
        (
            "phone moved from another cluster, or staged on another cluster",
            "CallManager and TVS certificates regenerated together (CUCM 11.5 and earlier)",
            "ITLRecovery certificate changed",
        ),
        "tcp.port == 2445 to an address that is not a TVS member of the config; "
        "tls.alert_message from the phone on 2445; repeated tftp.source_file ITLFile.tlv",
        "Reset the phone's trust list: on the publisher run 'utils itl reset localkey' (or "
        "'utils itl reset remote <node>'), restart Cisco TFTP and reset the phones; or on the "
        "phone use Settings > Security > Reset security settings (erase the trust list, or "
        "factory-reset). Restarting TFTP alone does not help: it serves the same files, "
        "signed by a signer the phone does not trust.",
        f"{ITL_RESET}; {MIGRATE}; {RENEWAL} (scenario 1)",
    ),
    "LSC_REJECTED": CodeInfo(
        "error",
        "CUCM rejects the certificate the phone presents",
        "On TLS to a CUCM node's secure port (SIP 5061, SCCP 2443, HTTPS 8443, 6971/6972) the "
        "phone presented its client certificate (LSC: issuer CN CAPF-...; MIC: a Cisco "
        "Manufacturing CA) and the server answered with a fatal alert: the phone stays "
        "'Registering'.",
        (
            "CAPF regenerated and the old CAPF certificate removed from CallManager-trust "
            "(LSC issued by the old CAPF)",
            "root of a CA-signed CAPF missing from CallManager-trust",
            "phone moved from another cluster with that cluster's LSC",
        ),
        "tls.handshake.type == 11 from the phone, then tls.alert_message.level == 2 from "
        "the server (decode 2443 as TLS)",
        "Reissue the LSC from the current CAPF (Certificate Operation 'Install/Upgrade'), or "
        "restore the issuing CAPF certificate (or the CA root) to CallManager-trust and "
        "restart Cisco CallManager.",
        f"{LSC_QA}; {RENEWAL} (scenario 4.2); {CA_SIGNED}",
    ),
    "PHONE_MIC_EXPIRED": CodeInfo(
        "warning",
        "The phone's MIC has expired",
        "The manufacturing certificate the phone presented as TLS client was expired at "
        "capture time: CAPF authentication 'By Existing Certificate' with the MIC fails.",
        ("MICs of older phones expire (typically 10 years after manufacture)",),
        "x509af.validity of the phone's client certificate (tls.handshake.type == 11)",
        "Use authentication 'By Null String' or 'By Authentication String' for the LSC "
        "install, and install an LSC before relying on the MIC.",
        f"{LSC_QA}; {PHONE_SECURITY}",
    ),
    "PHONE_MIC_EXPIRING": CodeInfo(
        "info",
        "The phone's MIC expires within 30 days",
        "The manufacturing certificate the phone presented as TLS client expires within 30 "
        "days of the capture time.",
        ("MIC close to the end of its validity",),
        "x509af.validity of the phone's client certificate (tls.handshake.type == 11)",
        "Install an LSC while the MIC still authenticates the phone.",
        f"{LSC_QA}; {PHONE_SECURITY}",
    ),
    "CAPF_NO_OPERATION": CodeInfo(
        "info",
        "The phone's config has no pending certificate operation",
        "The config the phone downloaded says capfAuthMode 0: no certificate operation is "
        "pending, so the phone does not contact CAPF. Normal for a phone that already holds "
        "its LSC; the usual answer to CUCM showing 'Operation Pending' when the operation was "
        "set but never saved and applied. Reported only when the phone makes no CAPF "
        "connection after that config; encrypted (.enc.sgn) or HTTPS (6971/6972) configs "
        "cannot be read and give no verdict.",
        (
            "Certificate Operation left at 'No Pending Operation' on the phone page",
            "the operation was set but Save / Apply Config not done, so the phone's config "
            "was not rebuilt",
            "the operation already completed (the phone has its LSC)",
            "the operation was set on another device than this phone",
        ),
        "Export the config (File > Export Objects > TFTP or HTTP) and read capfAuthMode; no "
        "tcp.port == 3804 from the phone after it",
        "If the phone should get an LSC: in Cisco Unified CM Administration > Device > Phone, "
        "open this phone, under Certificate Authority Proxy Function (CAPF) Information set "
        "Certificate Operation to Install/Upgrade, choose the Authentication Mode, set "
        "Operation Completes By in the future, Save, then Apply Config and reset the phone. "
        "If it already holds its LSC, nothing to fix.",
        f"{LSC_HOWTO}; {SEC_GUIDE}",
    ),
    "CAPF_AWAITING_AUTH_STRING": CodeInfo(
        "info",
        "The CAPF operation waits for the authentication string on the phone",
        "The pending operation uses 'By Authentication String' (capfAuthMode 1). In this mode "
        "the phone does not contact CAPF by itself: someone must enter the string on the "
        "phone, and the capture holds no CAPF connection after the config. The verdict rests "
        "on the config, so a short capture does not weaken it.",
        (
            "nobody entered the authentication string on the phone yet",
            "Authentication Mode 'By Authentication String' chosen where an automatic mode "
            "(Null String, Existing Certificate) was meant",
        ),
        "Export the config and read capfAuthMode 1; no tcp.port == 3804 from the phone after it",
        "On the phone open Settings > Admin Settings > Security Setup > LSC (Security > LSC on "
        "some models), choose Update and enter the Authentication String shown on the phone's "
        "page in Cisco Unified CM Administration (Device > Phone, CAPF Information), before "
        "Operation Completes By. Or set Authentication Mode to By Null String or By Existing "
        "Certificate, Save and Apply Config, so the phone contacts CAPF itself.",
        f"{PHONE_SECURITY}; {LSC_HOWTO}",
    ),
    "CONFIG_NO_CAPF_SERVER": CodeInfo(
        "error",
        "An operation is pending but the config names no CAPF server",
        "The config says a certificate operation is pending (capfAuthMode 1-4) but carries no "
        "usable CAPF entry: no capfList, no capf entry in it, or an empty processNodeName. "
        "The phone has no address to contact CAPF at; a candidate cause of 'No valid CAPF "
        "server'.",
        (
            "the Cisco Certificate Authority Proxy Function service is not activated on the "
            "publisher, so CUCM writes no CAPF server into the config",
            "the config was built before CAPF was activated and Cisco TFTP not restarted since",
        ),
        "Export the config: capfAuthMode is 1-4 but capfList/capf/processNodeName is missing "
        "or empty",
        "Activate the Cisco Certificate Authority Proxy Function service on the publisher "
        "(Cisco Unified Serviceability > Tools > Service Activation), restart the Cisco TFTP "
        "service on all TFTP nodes so the configs are rebuilt, then Apply Config on the phone "
        "and reset it; check that the new config carries capfList/capf/processNodeName.",
        f"{SEC_GUIDE}; {LSC_HOWTO}",
    ),
    "CAPF_AUTH_FAILED": CodeInfo(
        "error",
        "CAPF rejected the phone's authentication",
        "CAPF ended the session without a certificate right after the phone authenticated: "
        "a wrong authentication string, or an existing certificate (MIC or LSC) CAPF does not "
        "trust or that has expired. Judged from the records (the phone sends an "
        "authentication string or a certificate-sized record, CAPF answers with an end) or, "
        "with --keylog, from the decrypted END_SESSION reason.",
        (
            "wrong authentication string entered on the phone",
            "'By Existing Certificate': the CAPF that issued the phone's LSC is no longer in "
            "CAPF-trust (CAPF certificate regenerated)",
            "'By Existing Certificate': the phone's MIC has expired, or the Cisco "
            "Manufacturing CA certificates are missing from CAPF-trust",
        ),
        "tls.record.content_type == 23 on 3804: the phone's first record carries the string "
        "or a ~1 kB certificate, and CAPF's next record is the small last one (with "
        "-o tls.keylog_file: END_SESSION)",
        "Authentication string: enter it again on the phone exactly as shown in CUCM "
        "(Device > Phone, CAPF Information), or generate a new string, Save and Apply Config. "
        "Existing certificate: re-import the certificate of the CAPF that issued the phone's "
        "LSC into CAPF-trust (Cisco Unified OS Administration > Security > Certificate "
        "Management); for a phone whose MIC has expired use By Null String or By "
        "Authentication String instead.",
        f"{PHONE_SECURITY}; {LSC_QA}; {SEC_GUIDE}",
    ),
    "CAPF_SESSION_CUT": CodeInfo(
        "error",
        "The CAPF session was cut before it ended",
        "The CAPF dialogue started (application data both ways) and then the connection "
        "ended by RST or FIN, or went silent, before CAPF's END_SESSION and before any "
        "certificate: neither side finished the operation. The idle gap before the cut is "
        "measured: a gap of minutes points at a firewall idle timeout (the phone may take "
        "long to generate its key), a short one at the CAPF service stopping. A session "
        "that goes silent without a close is judged only when the capture could have shown "
        "the answer (DESIGN §4).",
        (
            "a firewall or NAT idle timeout shorter than the key generation on the phone",
            "the Cisco Certificate Authority Proxy Function service crashed or was restarted "
            "during the session",
            "packet loss on the path cutting the session",
        ),
        "tcp.port == 3804 (the CAPF port) && (tcp.flags.reset == 1 || tcp.flags.fin == 1) "
        "after application data both ways; frame.time_delta_displayed shows the idle gap",
        "For a cut after a long idle gap, raise the idle timeout for the CAPF port (TCP 3804 "
        "unless the config's phonePort says otherwise) on the firewall between the voice "
        "VLAN and the publisher above the CAPF keepalive, or lower the "
        "keepalive ('utils capf set keep_alive', 5-60 min, default 15). For a short gap, "
        "check that the Cisco Certificate Authority Proxy Function service on the publisher "
        "is running and stable (Cisco Unified Serviceability > Tools > Control Center - "
        "Feature Services). The phone retries; reset it to start a new session.",
        f"{SEC_GUIDE} (CAPF keepalive); {ONLINE_CA}",
    ),
}


def severity_of(code: str) -> Severity:
    return CATALOG[code].severity
