"""What the phone (or CUCM) shows, and the findings to look for: `capfcap explain "TEXT"`.

The table is data. Each message lists the texts an admin copies (phone screen and Status
Messages, the LSC field, CUCM's Certificate Operation Status, phone console-log lines), where
it appears with the document that says so, what it means, and the findings to check in triage
order. A step without codes names a cause capfcap does not diagnose. Codes may name findings
of DESIGN §4 that a given build does not raise yet.

Matching is a substring match after folding case and punctuation: the text is lower-cased,
every run of characters other than letters and digits becomes one space, and a pattern is a
sequence of such fragments that must occur in that order, each starting at a word boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["problem", "benign", "context"]


@dataclass(frozen=True)
class Step:
    codes: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class Message:
    shows: tuple[str, ...]  # the texts as displayed
    patterns: tuple[tuple[str, ...], ...]  # folded fragments, in order
    where: str
    source: str
    meaning: str
    kind: Kind = "problem"
    steps: tuple[Step, ...] = ()


def fold(text: str) -> str:
    """Lower case; every run of non-alphanumerics becomes one space; padded with spaces."""
    return " " + re.sub(r"[^a-z0-9]+", " ", text.lower()).strip() + " "


def _s(codes: str, note: str) -> Step:
    return Step(tuple(codes.split()), note)


DNS = "DNS_NXDOMAIN DNS_NODATA DNS_NO_RESPONSE DNS_SERVER_ERROR"
TVS = "TVS_UNIDIRECTIONAL TVS_REFUSED TVS_TLS_FAILED TVS_CERT_MISMATCH TVS_CERT_EXPIRED"
S1 = "Cisco TAC 213295"
S3 = "Cisco TAC 225746"
S5 = "Cisco TAC 200860"
S6 = "Cisco TAC 213407"
S7 = "Cisco TAC 118699"
S14 = "Cisco IP Phone 8800 Administration Guide, status messages"
S15 = "Cisco IP Conference Phone 7832 Administration Guide, status messages"
S16 = "Cisco IP Conference Phone 8832 Administration Guide, Security"
ONE_SIDED = _s("CAPTURE_ONE_SIDED", "rule this out first: a one-sided capture withholds "
               "every 'no answer' verdict")
LOCKED = _s("PHONE_DISTRUSTS_CLUSTER", "the phone took the ITL and config but trusts another "
            "cluster's trust list (cluster move, regenerated certificates), so it rejects the "
            "config and never learns of the operation")

MESSAGES: tuple[Message, ...] = (
    # -- phone screen, Status Messages, CUCM Certificate Operation Status -----------------
    Message(
        ("LSC: Connection Failed",), (("lsc connection failed",),),
        "phone, LSC field (Settings > Admin Settings > Security Setup)", S1,
        "The phone tried to reach CAPF for its certificate operation and the connection or "
        "the TLS handshake on the CAPF port (3804 by default) failed.",
        steps=(
            ONE_SIDED,
            _s(DNS, "the CAPF name (processNodeName of the config's capfList) did not "
               "resolve"),
            _s("CAPF_UNIDIRECTIONAL CAPF_REFUSED", "the CAPF port (TCP 3804 by default) "
               "filtered, or the CAPF service not running on the publisher"),
            _s("CAPF_TLS_FAILED CAPF_CERT_MISMATCH CAPF_CERT_NOT_CA", "the phone rejected "
               "the CAPF certificate: not in its ITL, regenerated, or without CA:TRUE"),
            _s("CAPF_SESSION_CUT", "the dialogue started and a middlebox idle timeout or a "
               "CAPF crash cut it"),
        )),
    Message(
        ("LSC: Failed",), (("lsc failed",),),
        "phone, LSC field", S1,
        "The phone reached CAPF and the CAPF dialogue ended without a certificate.",
        steps=(
            _s("CAPF_NO_CERTIFICATE", "'Operation Completes By' in the past, no operation, "
               "unknown device name"),
            _s("CAPF_AUTH_FAILED PHONE_MIC_EXPIRED", "wrong authentication string, or an "
               "existing certificate (MIC or LSC) CAPF no longer trusts or that has expired"),
            _s("", "Online CA: CAPF could not get the certificate from the CA (Cisco TAC "
               "214396); capfcap sees it only as a long wait before the end"),
        )),
    Message(
        ("No valid CAPF server",), (("no valid capf server",),),
        "phone", S1,
        "The phone has no CAPF certificate it can trust, or no CAPF server to contact.",
        steps=(
            _s("ITL_NO_CAPF", "the ITL has no CAPF record (CAPF not running when it was "
               "built)"),
            _s("CAPF_CERT_MISMATCH", "the ITL's or, in mixed mode, the CTL's CAPF record is "
               "stale after a CAPF regeneration"),
            _s("CONFIG_NO_CAPF_SERVER", "the config names no usable CAPF server"),
        )),
    Message(
        ("Operation Pending",), (("operation pending",),),
        "CUCM phone page (Certificate Operation Status), CAPF report", S1,
        "CUCM has an operation scheduled and the phone has not completed it: usually it never "
        "contacted CAPF.",
        steps=(
            _s("CAPF_NO_OPERATION", "the config the phone downloaded has no pending operation: "
               "Save and Apply Config were not done, or another device was edited"),
            _s("CAPF_AWAITING_AUTH_STRING", "'By Authentication String': someone must enter "
               "the string on the phone"),
            LOCKED,
            _s("CAPF_NOT_ATTEMPTED", "automatic mode, yet no connection to CAPF"),
            _s(DNS, "the CAPF name did not resolve"),
            _s("CONFIG_NOT_FOUND TFTP_NO_RESPONSE", "the phone did not get its config at "
               "all"),
        )),
    Message(
        ("Operation completed", "Upgrade Success", "Troubleshoot Success", "Delete Success"),
        (("operation completed",), ("upgrade success",), ("troubleshoot success",),
         ("delete success",)),
        "CUCM phone page (Certificate Operation Status; UI wording, not quoted in a Cisco "
        "document)", f"{S3}; {S5}",
        "The certificate operation finished. Nothing to fix for the operation itself.",
        kind="benign",
        steps=(_s("CAPF_LSC_ISSUED", "the session that delivered the certificate"),)),
    Message(
        ("Upgrade Failed",), (("upgrade failed",),),
        "CUCM phone page (Certificate Operation Status; UI wording, not quoted in a Cisco "
        "document)", f"{S3}; {S5}",
        "The phone contacted CAPF and the install or upgrade did not deliver a certificate.",
        steps=(
            _s("CAPF_NO_CERTIFICATE", "deadline passed, unknown device, Online CA failure"),
            _s("CAPF_AUTH_FAILED", "authentication rejected"),
            _s("CAPF_SESSION_CUT", "the session was cut before its end"),
        )),
    Message(
        ("Installed",), (("installed",),),
        "phone, LSC field", S16,
        "The phone holds an LSC. Nothing to fix.",
        kind="benign",
        steps=(_s("CAPF_LSC_ISSUED", "if the capture holds the install"),)),
    Message(
        ("Not Installed",), (("not installed",),),
        "phone, LSC field", S16,
        "The phone holds no LSC: no operation was enabled, it has not run yet, or it failed "
        "(Cisco: the authentication string may be incorrect).",
        steps=(
            _s("CAPF_NO_OPERATION", "no Install/Upgrade operation in the phone's config"),
            _s("CAPF_AWAITING_AUTH_STRING", "the string has not been entered on the phone"),
            _s("CAPF_AUTH_FAILED", "the string or existing certificate was rejected"),
            _s("CAPF_NO_CERTIFICATE", "the session ended without a certificate"),
        )),
    Message(
        ("Trust List Update Failed", "Trust list update failed, verification failure",
         "CTL update failed"),
        (("trust list update failed",), ("ctl update failed",)),
        "phone, Status Messages", f"{S14}; {S15}",
        "The phone could not install the ITL or CTL it downloaded.",
        steps=(
            LOCKED,
            _s("ITL_SIGNATURE_INVALID ITL_PARSE_ERROR", "the file is damaged or badly "
               "signed"),
            _s("TRANSFER_INCOMPLETE TFTP_NO_RESPONSE", "the download did not finish"),
            _s(TVS, "TVS could not vouch for the new signer"),
            _s("ITL_MISMATCH", "TFTP servers serve different ITLs"),
        )),
    Message(
        ("invalid file SEP<MAC>.cnf.xml.sgn, authenticated fail. Reason:14",),
        (("invalid file", "authenticated fail"), ("cnf xml sgn", "authenticated fail")),
        "phone, Status Messages", "Cisco Community 'Phone Registration Problem'",
        "The phone rejected its signed config: the signer is not in the trust list it has "
        "installed.",
        steps=(LOCKED,)),
    Message(
        ("No Trust List installed",), (("no trust list installed",),),
        "phone, Status Messages", S14,
        "The phone has no ITL.",
        steps=(
            _s("ITL_NOT_FOUND", "every ITL request failed"),
            _s("", "an ITL without certificates (Prepare Cluster for Rollback to pre-8.0 left "
               "True); capfcap may show ITL_NO_CAPF"),
        )),
    Message(
        ("File Not Found <CTLFile.tlv>",),
        (("file not found", "ctlfile"), ("file not found", "ctlsep")),
        "phone, Status Messages", S14,
        "Normal outside mixed mode: only a cluster in mixed mode serves a CTL. capfcap shows it "
        "as information, not as a fault.",
        kind="benign"),
    Message(
        ("File not found <Cfg File>",),
        (("file not found", "cnf xml"), ("file not found", "cfg file")),
        "phone, Status Messages", S14,
        "The phone's config file was not found on the TFTP server.",
        steps=(_s("CONFIG_NOT_FOUND", "device not added, wrong TFTP server, MAC typo"),)),
    Message(
        ("DNS unknown host", "DNS unknown IPv4 Host", "DNS unknown IPv6 Host"),
        (("dns unknown", "host"),),
        "phone, Status Messages", f"{S14}; {S15}",
        "A name the phone needs does not exist in DNS.",
        steps=(
            _s("DNS_NXDOMAIN DNS_NODATA", "for the matching A (IPv4) or AAAA (IPv6) query"),
            _s("", "a short node name the phone completed with its DHCP domain: compare the "
               "queried name with System > Server"),
        )),
    Message(
        ("DNS timeout", "IPv4 DNS Timeout", "IPv6 DNS Timeout"), (("dns timeout",),),
        "phone, Status Messages", f"{S14}; {S15}",
        "The phone's DNS queries were not answered.",
        steps=(_s("DNS_NO_RESPONSE", "queries and retries without a response"),)),
    Message(
        ("No DNS server IP", "No IPv4 DNS Server", "No IPv6 DNS Server"),
        (("no dns server",), ("no ipv4 dns server",), ("no ipv6 dns server",)),
        "phone, Status Messages", f"{S14}; {S15}",
        "The phone has no DNS server (DHCP option 6 missing), so it cannot resolve names in "
        "its config.",
        steps=(_s("", "not diagnosed by capfcap: the config names a host and no DNS query "
                  "follows; check DHCP option 6"),)),
    Message(
        ("TFTP timeout",), (("tftp timeout",),),
        "phone, Status Messages", S14,
        "The TFTP server did not answer.",
        steps=(_s("TFTP_NO_RESPONSE", "read requests without an answer"),)),
    Message(
        ("TFTP access error", "TFTP error"), (("tftp access error",), ("tftp error",)),
        "phone, Status Messages", S14,
        "The TFTP server answered a request with an error.",
        steps=(_s("CONFIG_NOT_FOUND ITL_NOT_FOUND", "the finding shows the TFTP error "
                  "code"),)),
    Message(
        ("CFG TFTP Size Error", "TFTP Size Error"), (("tftp size error",),),
        "phone, Status Messages", f"{S14}; {S15}",
        "A file was too large for the phone; an ITL over 64 KB (more than 39 certificates) "
        "does not load.",
        steps=(_s("", "not diagnosed by capfcap: check the size of the ITL transfer in the "
                  "timeline"),)),
    Message(
        ("Phone failed to register. Cert key size is not FIPS compliant.",),
        (("not fips compliant",), ("cert key size",)),
        "phone, Status Messages", f"{S14}; {S16}",
        "A FIPS-mode phone refused a server certificate with an RSA key under 2048 bits.",
        steps=(_s("", "not diagnosed by capfcap: check the key size it prints for the "
                  "certificates on 3804, 2445 and 5061"),)),
    Message(
        ("Registering",), (("registering",),),
        "phone screen, persisting after a CAPF regeneration with a secure profile", S3,
        "The phone cannot finish a secure registration: CUCM usually does not trust its LSC.",
        steps=(_s("LSC_REJECTED", "CUCM answers the phone's certificate on 5061/2443 with a "
                  "fatal alert (old CAPF removed from CallManager-trust, cluster move, CA "
                  "root missing)"),)),
    Message(
        ("802.1x Authentication: Failed",), (("802 1x authentication failed",),),
        "phone, Status Messages", S3,
        "802.1X failed, for example because ISE/RADIUS lacks a regenerated CAPF certificate. "
        "Out of capfcap's scope: only an access-port capture shows EAPOL.",
        steps=(_s("", "not diagnosed by capfcap: upload the current CAPF certificate to "
                  "ISE"),)),
    Message(
        ("Host not found",), (("host not found",),),
        "phone, Directories or Services", S7,
        "The phone could not verify the HTTPS server's certificate; it asks TVS, and TVS "
        "failed.",
        steps=(_s(TVS, "the TVS members of the config (the phone's CallManager group)"),)),
    # -- phone console log (PRT) ----------------------------------------------------------
    Message(
        ("dgetfile(...)-GETXXTP [src=...][dest=...]", "XXTP complete - status = 100"),
        (("dgetfile",), ("getxxtp",), ("xxtp complete",)),
        "phone console log", S6,
        "A file request, and its success (status 100). Not an error: capfcap shows it as a "
        "TFTP or HTTP entry in the phone's timeline.",
        kind="benign"),
    Message(
        ("HTTP download error, try tftp download",),
        (("http download error",), ("try tftp download",)),
        "phone console log", "capfcap DOMAIN notes §2 (CP-8945 log)",
        "The normal fallback from HTTP to TFTP; a CTL that is missing on both is normal "
        "outside mixed mode.",
        kind="benign"),
    Message(
        ("SECUREAPP-Attempting connect to TVS server addr [x], mode [IPv4]",),
        (("attempting connect to tvs",),),
        "phone console log", S6,
        "The phone starts a TVS session with that address.",
        kind="context",
        steps=(
            _s(TVS, "the verdict for that address"),
            LOCKED,
        )),
    Message(
        ("SECUREAPP-SSL session setup - cert len=..., type=LSC",
         "Certificate issuer name = ...CN=CAPF-xxxxxxxx"),
        (("ssl session setup cert len",), ("certificate issuer name",)),
        "phone console log", S6,
        "The phone presents this certificate (here an LSC issued by that CAPF) as its client "
        "certificate.",
        kind="context",
        steps=(
            _s("LSC_REJECTED", "CUCM rejects that certificate on 5061/2443"),
            _s("CAPF_AUTH_FAILED", "CAPF rejects it for 'By Existing Certificate'"),
        )),
    Message(
        ("SECUREAPP-SSL session setup Cert Verification - Role is = 21",),
        (("cert verification", "role is"),),
        "phone console log", S6,
        "The phone checks the TVS server certificate against the ITL's TVS (role 21) "
        "records.",
        kind="context",
        steps=(_s("TVS_CERT_MISMATCH TVS_TLS_FAILED", "when that check fails"),)),
    Message(
        ("SECUREAPP-AUTH: hdr ver 1.2 (knows only upto 1.1)",),
        (("hdr ver", "knows only upto"),),
        "phone console log", S6,
        "A warning the phone logs about the trust list header version (a newer header "
        "than it knows); not an error, and no finding corresponds to it.",
        kind="benign"),
    Message(
        ("SECUREAPP-Hashes match... authentication successful", "TL file verified "
         "successfully", "TVS added cert to TVS cache - expires in 24 hours"),
        (("hashes match",), ("tl file verified successfully",), ("added cert to tvs cache",)),
        "phone console log", S6,
        "The trust list was accepted or TVS vouched for a certificate. No finding.",
        kind="benign"),
    Message(
        ("SECD: -HTTPS cert not in CTL, <ip:8443>", "SECD: -TVS service available, can "
         "attempt via TVS"),
        (("https cert not in ctl",), ("tvs service available",)),
        "phone console log", S7,
        "The certificate is not in the phone's trust list; the phone will ask TVS, so expect "
        "traffic on 2445.",
        kind="context",
        steps=(_s(TVS, "the TVS verdict"),)),
    Message(
        ("SECD: clpSetupSsl: Trying to connect to IPV4, IP: x, Port : 2445",
         "SSL3 alert read:fatal:handshake failure",
         "SSL_connect:failed in SSLv3 read server hello A"),
        (("clpsetupssl",), ("alert read fatal handshake failure",),
         ("ssl connect failed in sslv3 read server hello",)),
        "phone console log", f"{S7} (CSCua65618)",
        "TVS refused the phone's TLS handshake with a handshake_failure alert.",
        steps=(_s("TVS_TLS_FAILED", "the server-sent alert 40 on 2445"),)),
    Message(
        ("SECD: -PXY_NO_LSC: No LSC for [SCCP], will try MIC",),
        (("pxy no lsc",), ("no lsc for",)),
        "phone console log", S5,
        "No LSC is installed: the phone uses its MIC for TLS and for 'By Existing Certificate "
        "(precedence to LSC)' authentication.",
        kind="context",
        steps=(
            _s("PHONE_MIC_EXPIRED", "an expired MIC fails existing-certificate "
               "authentication"),
            _s("CAPF_NO_OPERATION CAPF_AWAITING_AUTH_STRING", "why no LSC was installed"),
        )),
    Message(
        ("SECD: -PXY_CERT_CIPHER: [SCCP], [TLSv1], cert [LSC], ...",),
        (("pxy cert cipher",),),
        "phone console log", S5,
        "Registration uses the certificate named (here the LSC). Not an error.",
        kind="benign"),
    Message(
        ("SECD: -STATE_SSL3_ALERT: SSL3 alert [read]:[fatal]:[unknown CA",),
        (("alert read fatal unknown ca",),),
        "phone console log", S5,
        "CUCM rejected the phone's certificate: it does not trust the CAPF (or CA) that "
        "issued the LSC.",
        steps=(_s("LSC_REJECTED", "the fatal alert on 5061/2443 names the certificate the "
                  "phone presented"),)),
    Message(
        ("PAE: -802.1X auth FAILED",
         "Secure Connection Handshake in progress - status SSL_ERROR_WANT_READ"),
        (("802 1x auth failed",), ("secure connection handshake in progress",)),
        "phone console log", S3,
        "802.1X (EAP-TLS) failed. Out of capfcap's scope: only an access-port capture shows "
        "EAPOL.",
        steps=(_s("", "not diagnosed by capfcap: check that ISE/RADIUS trusts the current "
                  "CAPF certificate"),)),
)


def _span(folded: str, pattern: tuple[str, ...]) -> tuple[int, int] | None:
    """(start, end) of the fragments found in order, each at a word boundary."""
    pos, start = 0, -1
    for frag in pattern:
        i = folded.find(" " + frag, pos)
        if i < 0:
            return None
        if start < 0:
            start = i
        pos = i + 1 + len(frag)
    return start, pos


def lookup(text: str) -> list[Message]:
    """The messages found in `text`, in order of appearance. A match inside a longer one
    (`Installed` inside `Not Installed`) is dropped."""
    folded = fold(text)
    found: list[tuple[tuple[int, int], Message]] = []
    for m in MESSAGES:
        spans = [sp for p in m.patterns if (sp := _span(folded, p)) is not None]
        if spans:
            found.append((min(spans, key=lambda sp: (sp[0], -sp[1])), m))

    def inside(a: tuple[int, int], b: tuple[int, int]) -> bool:
        return a != b and b[0] <= a[0] and a[1] <= b[1]

    kept = [(sp, m) for sp, m in found if not any(inside(sp, o) for o, _ in found)]
    return [m for _, m in sorted(kept, key=lambda x: x[0][0])]


def codes_named() -> set[str]:
    return {c for m in MESSAGES for s in m.steps for c in s.codes}
