"""TLS verdicts on CAPF and TVS (3804 and 2445 unless the phone's config names other ports:
`ports.py`): DOMAIN §3.3, §3.5, §7 F4/F5/F9/F13.

Without keys, the CAPF outcome is read from application-data record sizes: each CAPF
message is one TLS record, and an issued LSC is a ~1 kB server->phone record that follows
the phone's public key (a few hundred bytes).
"""

from __future__ import annotations

from capfcap.correlator import facts
from capfcap.correlator.common import (
    Context,
    alert_name,
    cert_expiry,
    conn_of,
    ipf,
    label,
    latest_itl,
    make,
    server_ident,
    version_name,
)
from capfcap.correlator.evidence import TLS_WAIT, judge, withhold
from capfcap.correlator.ports import service
from capfcap.correlator.rules_distrust import capf_mismatch, ctl_note
from capfcap.correlator.state import PhoneState
from capfcap.events import TlsAlert, TlsSession, TrustListSeen
from capfcap.filenames import basename
from capfcap.findings import Finding
from capfcap.protocol import TLS_TRUST_ALERTS


def _filter(s: TlsSession) -> str:
    f = ipf(s.key.client)
    return (f"{f}.addr=={s.key.client} && {f}.addr=={s.key.server} && "
            f"tcp.port=={s.key.server_port} && tcp.port=={s.key.client_port}")


def _alert_text(a: TlsAlert) -> str:
    level = {1: "warning", 2: "fatal"}.get(a.level, "encrypted")
    name = "encrypted alert" if a.encrypted else alert_name(a.description)
    return f"{level} {name} from the {'phone' if a.sender == 'client' else 'server'} " \
           f"(frame {a.frame})"


def _explain(s: TlsSession, a: TlsAlert, service: str, itl_note: str) -> str:
    d = a.description
    if d in TLS_TRUST_ALERTS and a.sender == "client":
        return (f"The phone rejected the {service} certificate: its ITL does not vouch for it "
                f"and no TVS could. {itl_note}")
    if d == 70:
        offered = ", ".join(version_name(v) for v in s.offered_versions) or \
            version_name(s.client_version)
        return (f"The TLS versions did not match: the phone offered {offered}, which the "
                f"server refused. Raise the phone firmware or lower the CUCM TLS minimum "
                f"('set tls min-version').")
    if d == 40:
        return "No common cipher suite or version: align the TLS settings of phone and CUCM."
    if d in TLS_TRUST_ALERTS:
        return f"The server rejected the phone's certificate ({alert_name(d)})."
    return f"The handshake ended with {alert_name(d)}."


def tls_findings(ctx: Context, phone: PhoneState) -> list[Finding]:
    out: list[Finding] = []
    for s in sorted(phone.tls, key=lambda x: x.frames[0] if x.frames else 0):
        port = s.key.server_port
        prefix = service(phone, port)
        if prefix is None or s.key.client not in phone.addrs:
            continue
        srv = server_ident(ctx, s.key.server, port)
        itl = latest_itl(phone, s.frames[0] if s.frames else None)
        itl_note = ""
        if itl is not None and itl.trust_list is not None:
            caps = itl.trust_list.capf_records()
            itl_note = (f"The phone's ITL ({basename(itl.transfer.filename)}, frames "
                        f"{itl.transfer.frames[0]}-{itl.transfer.frames[-1]}) has "
                        + (f"{len(caps)} CAPF record(s)." if caps else "no CAPF record."))
        itl_note += ctl_note(phone, s)
        fatal = [a for a in s.alerts if not a.encrypted and a.description != 0]
        if s.not_tls:
            out.append(make(
                ctx, prefix + "_TLS_FAILED", phone, srv,
                f"{prefix} connection to {label(ctx, s.key.server)} is not TLS",
                "The first bytes on the connection are not a TLS record; every CAPF/TVS "
                "session starts with a TLS handshake.",
                s.frames, _filter(s), times=(s.first_ts, s.last_ts),
                _facts=[facts.unchecked("no Wireshark field states that bytes are not TLS")],
            ))
        elif fatal and not s.handshake_done:
            a = fatal[0]
            out.append(make(
                ctx, prefix + "_TLS_FAILED", phone, srv,
                f"TLS to {prefix} {label(ctx, s.key.server)} failed: {_alert_text(a)}",
                _explain(s, a, prefix, itl_note) + f"\nClientHello frame {s.client_hello_frame}"
                f", offered {', '.join(version_name(v) for v in s.offered_versions) or '-'}; "
                f"negotiated {version_name(s.version)}.",
                s.frames, _filter(s), times=(s.first_ts, s.last_ts),
                alert=alert_name(a.description), alert_sender=a.sender,
                _facts=[facts.tls(s)],
            ))
        elif s.client_hello_frame and not s.handshake_done and not s.records:
            out += _aborted(ctx, phone, s, prefix, srv, itl_note)
        out += _cert_checks(ctx, phone, s, prefix, srv, itl)
    return out


def _aborted(ctx: Context, phone: PhoneState, s: TlsSession, prefix: str,
             srv: dict[str, object], itl_note: str) -> list[Finding]:
    """A handshake that stopped without an alert: an abort when the close (FIN/RST) is
    captured; otherwise a stall, which is a verdict of silence (evidence.judge)."""
    after = "server certificate" if s.cert_frame else "ClientHello"
    conn = conn_of(phone, s)
    if conn is not None and (conn.fin_frames or conn.rst_frames):
        summary = (f"TLS to {prefix} {label(ctx, s.key.server)} aborted before the handshake "
                   f"finished (no alert)")
        detail = f"The connection closed after the {after} without an alert. {itl_note}"
    else:
        j = judge(ctx, phone, what=f"the {after} (frame {s.frames[-1]})", last_ts=s.last_ts,
                  wait=TLS_WAIT, retried=False, server=s.key.server,
                  due="the next handshake message")
        if not j.stands:
            withhold(ctx, prefix + "_TLS_FAILED", phone, j, list(s.frames),
                     server=s.key.server)
            return []
        summary = (f"TLS to {prefix} {label(ctx, s.key.server)} stalled after the {after}: "
                   f"no further handshake message and no close")
        detail = f"{j.why[0].upper()}{j.why[1:]}. {itl_note}"
    return [make(ctx, prefix + "_TLS_FAILED", phone, srv, summary, detail, s.frames,
                 _filter(s), times=(s.first_ts, s.last_ts), _facts=[facts.tls(s)])]


def _cert_checks(ctx: Context, phone: PhoneState, s: TlsSession, prefix: str,
                 srv: dict[str, object], itl: TrustListSeen | None) -> list[Finding]:
    out: list[Finding] = []
    if not s.server_certs:
        return out
    leaf = s.server_certs[0]
    cert_frames = [s.cert_frame] if s.cert_frame else list(s.frames)
    filt_cert = f"frame.number == {s.cert_frame}" if s.cert_frame else _filter(s)
    out += cert_expiry(ctx, phone, leaf, s.first_ts, f"presented on {s.key.server_port} by "
                       f"{label(ctx, s.key.server)}", cert_frames, filt_cert,
                       prefix=prefix, server=srv,
                       facts_=[facts.cert(s.cert_frame, leaf.der_sha256)])
    # The CA:TRUE / keyCertSign rule is Cisco's for CAPF certificates only (CUCM Security
    # Guide, CAPF chapter); TVS certificates are self-signed per node and carry no such rule.
    if prefix == "CAPF" and (leaf.is_ca is not True or leaf.key_cert_sign is not True):
        missing = []
        if leaf.is_ca is not True:
            missing.append("BasicConstraints CA:TRUE")
        if leaf.key_cert_sign is not True:
            missing.append("KeyUsage keyCertSign")
        out.append(make(
            ctx, prefix + "_CERT_NOT_CA", phone, srv,
            f"{prefix} certificate {leaf.subject} lacks {' and '.join(missing)}",
            f"Cisco requires both on a CAPF certificate (documented for CUCM 14SU2 and "
            f"later); without them TLS can fail, on port {s.key.server_port} or on the "
            f"connections that validate LSCs it issued. SHA-256 {leaf.der_sha256}.",
            cert_frames, filt_cert, cert_sha256=leaf.der_sha256,
            _facts=[facts.cert(s.cert_frame, leaf.der_sha256)],
        ))
    if prefix == "CAPF":
        out += capf_mismatch(ctx, phone, s, leaf, srv, itl)
    return out
