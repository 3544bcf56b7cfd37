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
    frames_filter,
    ipf,
    label,
    latest_itl,
    make,
    server_ident,
    version_name,
)
from capfcap.correlator.evidence import TLS_WAIT, judge, withhold
from capfcap.correlator.ports import service
from capfcap.correlator.rules_distrust import (
    CTL_FIX,
    capf_mismatch,
    ctl_note,
    stale_ctl,
    tvs_mismatch,
)
from capfcap.correlator.state import PhoneState
from capfcap.events import TcpConnection, TlsAlert, TlsSession, TrustListSeen
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
            ctl = (stale_ctl(phone, s) if a.sender == "client"
                   and a.description in TLS_TRUST_ALERTS else None)
            why = _explain(s, a, prefix, itl_note)
            if ctl is not None:
                t = ctl.transfer
                why = (f"The phone rejected the {prefix} certificate. Its ITL holds it, but "
                       f"the CTL it holds ({basename(t.filename)}, frames {t.frames[0]}-"
                       f"{t.frames[-1]}) does not: in mixed mode the phone trusts CAPF "
                       "through the CTL, which predates the CAPF certificate.")
            out.append(make(
                ctx, prefix + "_TLS_FAILED", phone, srv,
                f"TLS to {prefix} {label(ctx, s.key.server)} failed: {_alert_text(a)}",
                why + f"\nClientHello frame {s.client_hello_frame}"
                f", offered {', '.join(version_name(v) for v in s.offered_versions) or '-'}; "
                f"negotiated {version_name(s.version)}.",
                s.frames, _filter(s), times=(s.first_ts, s.last_ts),
                remediation=CTL_FIX if ctl is not None else None,
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
    captured; otherwise a stall, which is a verdict of silence (evidence.judge). Handshake
    data the server retransmitted and the phone never acknowledged did not reach the
    phone; a close by the server before its certificate is not the phone's trust list."""
    after = "server certificate" if s.cert_frame else "ClientHello"
    conn = conn_of(phone, s)
    if conn is not None and conn.resp_unacked and "t" in conn.history:
        return [_undelivered(ctx, phone, s, prefix, srv, conn)]
    remediation = None
    if conn is not None and (conn.fin_frames or conn.rst_frames):
        how = "RST" if conn.rst_frames and (
            not conn.fin_frames or conn.rst_frames[0] < conn.fin_frames[0]) else "FIN"
        if conn.close_from == "server" and not s.cert_frame and not conn.resp_bytes:
            summary = (f"TLS to {prefix} {label(ctx, s.key.server)} failed: {prefix} closed "
                       f"the connection ({how}) after the ClientHello, without an alert and "
                       f"before presenting its certificate")
            offered = ", ".join(version_name(v) for v in s.offered_versions) or \
                version_name(s.client_version)
            detail = (f"The phone offered {offered} (ClientHello frame "
                      f"{s.client_hello_frame}); the server's {how} came before any "
                      f"handshake message, so the phone never saw a certificate to reject.")
            remediation = (
                f"The server closed the connection before presenting a certificate, so the "
                f"phone's trust list is not involved. A reset right after the ClientHello is "
                f"how CUCM refuses a TLS version or cipher suite it does not accept: align "
                f"the CUCM TLS minimum version ('set tls min-version') with the phone's "
                f"firmware (the phone offered {offered}), or upgrade the firmware. Check "
                f"also that the {prefix} service is running on {label(ctx, s.key.server)} "
                f"and that no firewall or IPS between them resets TLS on port "
                f"{s.key.server_port}.")
        else:
            summary = (f"TLS to {prefix} {label(ctx, s.key.server)} aborted before the "
                       f"handshake finished (no alert)")
            detail = f"The connection closed after the {after} without an alert. {itl_note}"
    else:
        named = s.cert_frame or s.client_hello_frame
        last = s.frames[-1]
        what = (f"the {after} (frame {last})" if named in (None, last) else
                f"the last packet after the {after} (frame {last})")
        j = judge(ctx, phone, what=what, last_ts=s.last_ts,
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
                 _filter(s), times=(s.first_ts, s.last_ts), remediation=remediation,
                 _facts=[facts.tls(s)])]


def _undelivered(ctx: Context, phone: PhoneState, s: TlsSession, prefix: str,
                 srv: dict[str, object], conn: TcpConnection) -> Finding:
    """The server sent (and retransmitted) handshake data the phone never acknowledged:
    its answer did not reach the phone, which therefore never judged the certificate.
    ICMP 'fragmentation needed' / 'packet too big' quoting the server's packets names a
    path MTU the server does not honour (RFC 1191, RFC 8201)."""
    too_big = [i for i in ctx.state.icmp
               if i.quoted.client == s.key.server and i.quoted.server == s.key.client
               and i.quoted.client_port == s.key.server_port
               and i.quoted.server_port == s.key.client_port
               and ((i.version == 4 and (i.icmp_type, i.icmp_code) == (3, 4))
                    or (i.version == 6 and i.icmp_type == 2))]
    icmp_note = ""
    frames = list(s.frames)
    if too_big:
        kind = "fragmentation needed" if too_big[0].version == 4 else "packet too big"
        icmp_note = (f" The capture holds {len(too_big)} ICMP '{kind}' message"
                     f"{'s' if len(too_big) > 1 else ''} from {too_big[0].reporter} quoting "
                     f"the server's packets (frame "
                     f"{', '.join(str(i.frame) for i in too_big)}): a link on the path has "
                     f"a smaller MTU and the server keeps sending full-size segments.")
        frames += [i.frame for i in too_big]
    summary = (f"TLS to {prefix} {label(ctx, s.key.server)} stalled: the server's handshake "
               f"data ({conn.resp_unacked} bytes, retransmitted) was never acknowledged by "
               f"the phone")
    detail = (f"The server answered the ClientHello (frame {s.client_hello_frame}) and "
              f"retransmitted its answer; the phone acknowledged none of it, so the answer "
              f"did not reach the phone and the phone never saw the server's certificate "
              f"(conn_state {conn.conn_state}, history {conn.history}).{icmp_note}")
    remediation = (
        "The server's full-size packets do not reach the phone while the small ones of the "
        "TCP handshake do: look for a link with a smaller MTU on the path (a tunnel, VPN or "
        "WAN link) where ICMP 'fragmentation needed' (ICMPv6 'packet too big') is blocked "
        "or ignored, a path-MTU black hole. Let those ICMP messages reach the CUCM node, or "
        "clamp the TCP MSS on the router of that link; then check for a filter that drops "
        "the server's larger packets.")
    return make(ctx, prefix + "_TLS_FAILED", phone, srv, summary, detail, sorted(set(frames)),
                _filter(s) if not too_big else
                f"({_filter(s)}) || {frames_filter(i.frame for i in too_big)}",
                times=(s.first_ts, s.last_ts), remediation=remediation,
                _facts=[facts.tls(s)] + [facts.icmp(i) for i in too_big])


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
    elif prefix == "TVS":
        out += tvs_mismatch(ctx, phone, s, leaf, srv)
    return out
