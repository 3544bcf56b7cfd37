"""The certificate a phone presents as a TLS client (DOMAIN §7 F12, FIELD G1).

A phone authenticates to CUCM's secure ports with its LSC, or its MIC when it has no LSC
(TAC 200860): the client Certificate message (RFC 5246 §7.4.6) is in clear up to TLS 1.2
and encrypted in TLS 1.3 (RFC 8446 §4.4.2), where only a key log shows it. An LSC is
issued by the cluster's CAPF (issuer CN `CAPF-<id>`, or the CA of a CA-signed CAPF); a MIC
by a Cisco Manufacturing CA.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from capfcap.correlator import facts
from capfcap.correlator.common import Context, alert_name, frames_filter, label, make, server_ident
from capfcap.correlator.ports import is_capf, service
from capfcap.correlator.state import PhoneState
from capfcap.events import CertInfo, TlsAlert, TlsSession
from capfcap.findings import Finding
from capfcap.report import TimelineEntry, iso
from capfcap.trust.certs import signed_by

EXPIRING_NS = 30 * 86400 * 1_000_000_000
# CUCM node ports where a phone sends a client certificate, verified against
# CallManager-trust (DOMAIN §7 step 7); CAPF and TVS (§3.5) on the phone's own ports
SECURE_NAMES = {5061: "SIP-TLS", 2443: "SCCP-TLS", 8443: "HTTPS", 6971: "HTTPS config",
                6972: "HTTPS config"}
SECURE_PORTS = frozenset(SECURE_NAMES)
_STAGE = {5061: "register", 2443: "register", 6971: "config", 6972: "config",
          "CAPF": "capf", "TVS": "tvs"}


def _role(p: PhoneState, port: int) -> str | None:
    """"CAPF", "TVS" (the phone's learned ports), "SIP-TLS", ...; None: no client
    certificate is expected there."""
    return service(p, port) or SECURE_NAMES.get(port)
_CN = re.compile(r"(?:^|,)\s*CN=([^,]+)")
_MIC_ISSUERS = ("cisco manufacturing ca", "cap-rtp-", "act2 sudi ca", "high assurance sudi ca")


def cn(name: str) -> str:
    m = _CN.search(name)
    return m.group(1).strip() if m else name


def cert_kind(c: CertInfo) -> str:
    """LSC when a CAPF issued it, MIC when a Cisco manufacturing CA did, else ''."""
    issuer = cn(c.issuer).lower()
    if issuer.startswith("capf-"):
        return "LSC"
    if issuer.startswith(_MIC_ISSUERS):
        return "MIC"
    return ""


def _day(ns: int) -> str:
    return (iso(ns) or "")[:10]


def describe(c: CertInfo) -> str:
    kind = cert_kind(c) or "certificate"
    return (f"{kind} {cn(c.subject)} issued by {cn(c.issuer)}, serial {c.serial}, valid "
            f"{_day(c.not_before)} to {_day(c.not_after)}, SHA-256 {c.der_sha256[:16]}")


def _mine(p: PhoneState) -> list[TlsSession]:
    return sorted((s for s in p.tls if s.key.client in p.addrs
                   and _role(p, s.key.server_port) is not None),
                  key=lambda s: s.frames[0] if s.frames else 0)


def _rejection(s: TlsSession) -> TlsAlert | None:
    """The server's fatal alert after the phone's Certificate, before the handshake ended."""
    if s.client_cert_frame is None or not s.client_certs or s.handshake_done:
        return None
    for a in s.alerts:
        if (a.sender == "server" and not a.encrypted and a.level == 2 and a.description
                and a.frame >= s.client_cert_frame):
            return a
    return None


def timeline_entries(ctx: Context, p: PhoneState) -> list[TimelineEntry]:
    """Which certificate the phone presented on each TLS connection that carries one."""
    out: list[TimelineEntry] = []
    for s in _mine(p):
        port = s.key.server_port
        role = _role(p, port)
        where = f"{role} {port} to {label(ctx, s.key.server)}"
        stage = _STAGE.get(port) or _STAGE.get(role or "", "other")
        frame = s.client_cert_frame or s.frames[0]
        if s.client_certs:
            c = s.client_certs[0]
            rej = _rejection(s)
            what = f"client certificate on {where}: {describe(c)}"
            if rej is not None:
                what += f"; rejected by the server ({alert_name(rej.description)}, frame " \
                        f"{rej.frame})"
            out.append(TimelineEntry(frame, ctx.frame_ts.get(frame, s.first_ts), what,
                                     "failed" if rej else "ok", stage))
        elif s.client_cert_frame is not None:
            out.append(TimelineEntry(frame, s.first_ts, f"client certificate on {where}: none "
                                     "sent (empty Certificate message)", "info", stage))
        elif s.version == 0x0304 and not s.decrypted and not is_capf(p, port):
            out.append(TimelineEntry(frame, s.first_ts, f"client certificate on {where}: not "
                                     "visible (TLS 1.3; --keylog shows it)", "info", stage))
    return out


@dataclass(frozen=True)
class _Cause:
    text: str
    fix: str


def _capf_certs(p: PhoneState) -> list[tuple[str, CertInfo]]:
    """Every CAPF certificate the capture shows for this phone: trust-list CAPF records
    and the certificate presented on the CAPF port."""
    out: list[tuple[str, CertInfo]] = []
    for tl in p.trust_lists:
        if tl.trust_list is None:
            continue
        for r in tl.trust_list.capf_records():
            if r.cert is not None:
                out.append((f"the CAPF record of {tl.trust_list.kind} "
                            f"{tl.trust_list.filename or tl.transfer.filename}", r.cert))
    for s in p.tls:
        if is_capf(p, s.key.server_port) and s.server_certs:
            out.append((f"the certificate on the CAPF port (frame {s.cert_frame})",
                        s.server_certs[0]))
    return out


def _cause(p: PhoneState, c: CertInfo, a: TlsAlert, at: int) -> _Cause:
    kind = cert_kind(c)
    if c.not_after < at or a.description == 45:
        return _Cause(
            f"The {kind or 'certificate'} expired on {iso(c.not_after)}.",
            "Issue a new LSC: Certificate Operation 'Install/Upgrade' on the phone page, "
            "Save, Apply Config, and let the phone contact CAPF.")
    if kind == "MIC":
        return _Cause(
            "The node does not trust the phone's manufacturing certificate.",
            "Make sure the Cisco Manufacturing CA certificates are in CallManager-trust, or "
            "install an LSC on the phone (Certificate Operation 'Install/Upgrade').")
    same_name = [(w, x) for w, x in _capf_certs(p) if x.subject == c.issuer]
    verdicts = {x.der_sha256: (w, signed_by(c.der, x.der)) for w, x in same_name}
    signer = [w for w, ok in verdicts.values() if ok]
    if signer:
        return _Cause(
            f"The certificate was issued by this cluster's CAPF ({signer[0]}), but the node "
            "does not trust that CAPF certificate.",
            "Add the current CAPF certificate (or, for a CA-signed CAPF, its root and "
            "intermediate CAs) to CallManager-trust on every node, then restart the Cisco "
            "CallManager service.")
    if verdicts:
        w, _ok = next(iter(verdicts.values()))
        return _Cause(
            f"The certificate names {cn(c.issuer)} as issuer, but its signature does not "
            f"verify with {w}: it was issued by an older CAPF certificate with the same name "
            "(CAPF regenerated, old CAPF certificate removed from CallManager-trust).",
            "Reissue the LSC from the current CAPF (Certificate Operation 'Install/Upgrade', "
            "authentication 'By Null String' or 'By Existing Certificate (precedence to "
            "MIC)'), or restore the old CAPF certificate to CallManager-trust and CAPF-trust.")
    return _Cause(
        f"The capture shows no CAPF certificate named {cn(c.issuer)}: the certificate comes "
        "from another cluster's CAPF, or from a CA whose root is missing in "
        "CallManager-trust.",
        "If the phone moved from another cluster, reissue its LSC here (Certificate "
        "Operation 'Install/Upgrade'); for a CA-signed CAPF, upload the issuing root and "
        "intermediate CAs to CallManager-trust and restart Cisco CallManager.")


def client_cert_findings(ctx: Context, p: PhoneState) -> list[Finding]:
    """LSC_REJECTED per rejected handshake; PHONE_MIC_EXPIRED/EXPIRING per MIC."""
    out: list[Finding] = []
    mics: dict[str, tuple[TlsSession, CertInfo]] = {}
    for s in _mine(p):
        if not s.client_certs:
            continue
        c = s.client_certs[0]
        if cert_kind(c) == "MIC":
            mics.setdefault(c.der_sha256, (s, c))
        a = _rejection(s)
        if a is None or s.key.server_port not in SECURE_PORTS:
            continue
        cause = _cause(p, c, a, s.first_ts)
        port = s.key.server_port
        kind = cert_kind(c) or "client certificate"
        assert s.client_cert_frame is not None
        frames = [s.client_cert_frame, a.frame]
        out.append(make(
            ctx, "LSC_REJECTED", p, server_ident(ctx, s.key.server, port),
            f"{label(ctx, s.key.server)} rejected the phone's {kind} on "
            f"{SECURE_NAMES[port]} {port}: fatal {alert_name(a.description)} (frame "
            f"{a.frame})",
            f"The phone presented (frame {s.client_cert_frame}): subject {c.subject}, issuer "
            f"{c.issuer}, serial {c.serial}, valid {iso(c.not_before)} to {iso(c.not_after)}, "
            f"SHA-256 {c.der_sha256}.\nThe server answered with fatal alert "
            f"{a.description} {alert_name(a.description)} from {label(ctx, s.key.server)} "
            f"(frame {a.frame}) before the handshake finished.\n{cause.text}",
            frames, frames_filter(frames),
            remediation=cause.fix, times=(s.first_ts, a.ts), cert_sha256=c.der_sha256,
            cert_kind=kind, alert=alert_name(a.description),
            _facts=[facts.tls(s), facts.cert(s.client_cert_frame, c.der_sha256)],
        ))
    for s, c in mics.values():
        at = s.first_ts
        if c.not_after < at:
            code, what = "PHONE_MIC_EXPIRED", "expired"
        elif c.not_after - at < EXPIRING_NS:
            code, what = "PHONE_MIC_EXPIRING", "expires within 30 days"
        else:
            continue
        frame = s.client_cert_frame or s.frames[0]
        out.append(make(
            ctx, code, p, server_ident(ctx, s.key.server, s.key.server_port),
            f"The phone's MIC {what} (notAfter {iso(c.not_after)})",
            f"Presented on {s.key.server_port} (frame {frame}): {describe(c)}; capture time "
            f"{iso(at)}. CAPF authentication 'By Existing Certificate' with this MIC "
            f"{'fails' if code == 'PHONE_MIC_EXPIRED' else 'will fail once it expires'}.",
            [frame], f"frame.number == {frame}", cert_sha256=c.der_sha256,
            _facts=[facts.cert(frame, c.der_sha256)],
        ))
    return out
