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
        "The phone sent TFTP read requests (UDP 69) and no DATA, OACK or ERROR came back."
        + SILENCE,
        (
            "Cisco TFTP service stopped on that node",
            "UDP 69 (or the ephemeral data ports) blocked by a firewall or ACL",
            "wrong TFTP server address in DHCP option 150/66",
        ),
        "tftp.opcode == 1 without a following tftp.opcode in {3,5,6}",
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
        "Two ITLs differ in signer or CAPF certificate",
        "ITLs seen from different TFTP servers (or over time) are signed by different signers "
        "or carry different CAPF certificates; phones moving between them fail to trust one.",
        (
            "a TFTP node was not restarted after a certificate regeneration",
            "phones point at TFTP servers of different clusters",
        ),
        "Export both ITLs and compare 'capfcap itl' output",
        "Restart the Cisco TFTP service on every node so all serve the current ITL; bulk-reset "
        "the ITL on phones that moved clusters.",
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
        f"The phone's SYN to {CAPF_PORT} was answered with a RST, or an ICMP unreachable "
        "came back.",
        (
            "the Cisco Certificate Authority Proxy Function service is not activated or not "
            "running on the publisher",
            f"a firewall rejecting {CAPF_PORT_SHORT}",
            "the phone's config names a phonePort CAPF does not listen on",
            "IPv6 connection while IPv6 is disabled for CAPF",
        ),
        "tcp.port == <phonePort, 3804 by default> && tcp.flags.reset == 1, or icmp.type == 3",
        "Activate and start the Cisco Certificate Authority Proxy Function service on the "
        "publisher (Serviceability > Tools > Service Activation), then restart the Cisco TFTP "
        "service on all TFTP nodes.",
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


def severity_of(code: str) -> Severity:
    return CATALOG[code].severity
