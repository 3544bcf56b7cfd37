"""Per-phone timeline and one-line verdict: the first thing an engineer reads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from capfcap.catalog import severity_of
from capfcap.correlator.common import (
    AUTH_MODES,
    Context,
    alert_name,
    label,
    transfer_text,
    version_name,
)
from capfcap.correlator.evidence import (
    conn_unproven,
    dns_unproven,
    transfer_unproven,
    udp_unproven,
    unproven_note,
)
from capfcap.correlator.ports import capf_ports_text, is_capf, service
from capfcap.correlator.rows import row
from capfcap.correlator.rules_capf import judge_cut, outcome_of
from capfcap.correlator.rules_clientcert import timeline_entries as client_cert_entries
from capfcap.correlator.rules_conn import answer_lost
from capfcap.correlator.rules_dns import foreign_note, qtype_name, rcode_name
from capfcap.correlator.state import PhoneState
from capfcap.correlator.transfers import answer_captured, not_modified
from capfcap.events import ConfigSeen, FileTransfer, TcpConnection, TlsSession, TrustListSeen
from capfcap.filenames import basename, phone_file
from capfcap.findings import SEVERITY_ORDER, Finding
from capfcap.report import TimelineEntry

# CAPF and TVS ports are the phone's own (ports.py)
_SERVICE = {6970: "HTTP", 6971: "HTTPS config",
            6972: "HTTPS config", 5061: "SIP-TLS", 2443: "SCCP-TLS", 53: "DNS", 5060: "SIP",
            2000: "SCCP", 69: "TFTP"}
REGISTRATION = {5060: "SIP", 5061: "SIP-TLS", 2000: "SCCP", 2443: "SCCP-TLS"}


def _service(p: PhoneState, port: int) -> str:
    return service(p, port) or _SERVICE.get(port, "")


# the keys of each kind of flow, in the order JSON shows them (DESIGN §5 "flows")
_FLOW = ("proto", "first_frame", "client", "client_port", "server", "server_port", "service",
         "conn_state", "history")
_TCP_KEYS = (*_FLOW, "completeness", "orig_pkts", "resp_pkts", "orig_bytes", "resp_bytes",
             "retransmissions", "acked_unseen")
_TFTP_KEYS = (*_FLOW, "frames", "transfer_port", "file", "status")
_UDP_KEYS = (*_FLOW, "orig_pkts", "resp_pkts", "orig_bytes", "resp_bytes")


def flows(p: PhoneState) -> list[dict[str, object]]:
    """Per-flow facts of every TCP and UDP flow of the phone (Zeek/Wireshark vocabulary)."""
    out: list[dict[str, object]] = []
    for c in p.conns:
        k = c.key
        out.append(row(_TCP_KEYS, (
            "tcp", c.frames[0], k.client, k.client_port, k.server, k.server_port,
            _service(p, k.server_port), c.conn_state, c.history, c.completeness, c.orig_pkts,
            c.resp_pkts, c.orig_bytes, c.resp_bytes, c.retransmissions, c.acked_unseen)))
    tftp = {(t.client, t.client_port, t.server) for t in p.transfers if t.protocol == "tftp"}
    for t in p.transfers:
        if t.protocol != "tftp":
            continue
        answered = answer_captured(t)
        out.append(row(_TFTP_KEYS, (
            "udp", t.frames[0], t.client, t.client_port, t.server, t.server_port, "TFTP",
            "SF" if answered else "S0", "Dd" if answered else "D", len(t.frames),
            t.data_port, basename(t.filename), t.status)))
    for u in p.udp:
        k = u.key
        if (k.client, k.client_port, k.server) in tftp or (
            k.server, k.server_port, k.client) in tftp:
            continue  # reported above as one TFTP transfer (RRQ to 69 + transfer ID flow)
        out.append(row(_UDP_KEYS, (
            "udp", u.first_frame, k.client, k.client_port, k.server, k.server_port,
            _service(p, k.server_port), u.conn_state, u.history, u.orig_pkts, u.resp_pkts,
            u.orig_bytes, u.resp_bytes)))
    out.sort(key=lambda d: (int(str(d["first_frame"])), str(d["proto"])))
    return out


def timeline(ctx: Context, p: PhoneState, findings: Sequence[Finding] = ()
             ) -> list[TimelineEntry]:
    """The phone's story in frame order: transfers, trust lists and configs, DNS,
    registration, the TLS services (TVS, CAPF) and the decrypted CAPF dialogue.
    `findings`: the phone's, which a service connection's line follows."""
    out = (_transfer_entries(ctx, p) + _trust_list_entries(p) + _config_entries(p)
           + _dns_entries(ctx, p) + _registration_entries(ctx, p)
           + _service_entries(ctx, p, findings)
           + _tls_entries(ctx, p) + client_cert_entries(ctx, p))
    out.sort(key=lambda e: (e.frame, e.stage))
    return out



class _Parsed(Protocol):
    @property
    def transfer(self) -> FileTransfer: ...


_S = TypeVar("_S", bound=_Parsed)


def _transfer_entries(ctx: Context, p: PhoneState) -> list[TimelineEntry]:
    out: list[TimelineEntry] = []
    for t in p.transfers:
        pf = phone_file(t.filename)
        stage = "config" if pf and pf[0] == "CONFIG" else "trust" if pf else "other"
        outcome = "ok" if t.status in ("complete", "complete_gaps") else "failed"
        if t.status == "error" and pf and pf[0] in ("CTL", "ITL") or not_modified(t):
            outcome = "info"  # CTL outside mixed mode, ITLSEP when ITLFile serves: normal
        text = transfer_text(t)
        why = transfer_unproven(ctx, p, t) if outcome == "failed" else ""
        if why:
            outcome, text = "unproven", text + unproven_note(why)
        out.append(TimelineEntry(t.request_frames[0] if t.request_frames else t.frames[0],
                                 t.first_ts, text, outcome, stage))
    return out


def _parsed_entries(seen: Sequence[_S], stage: str,
                    outcome: Callable[[_S], tuple[str, str]]) -> list[TimelineEntry]:
    """One entry per downloaded file that was parsed, at the download's last frame:
    `outcome` gives its text and outcome."""
    return [TimelineEntry(s.transfer.frames[-1], s.transfer.last_ts, *outcome(s), stage)
            for s in seen]


def _trust_list_outcome(tl: TrustListSeen) -> tuple[str, str]:
    name = basename(tl.transfer.filename)
    x = tl.trust_list
    if x is None:
        return f"{name}: does not parse ({tl.error})", "failed"
    roles = "+".join(r.role_name for r in x.records)
    return (f"{x.kind} {name}: {len(x.records)} records ({roles}), "
            f"signature {x.signature_status} ({x.hash_algorithm}), SHA-1 {x.sha1[:12]}",
            "ok" if x.capf_records() and x.signature_status == "valid" else "failed")


def _config_outcome(cf: ConfigSeen) -> tuple[str, str]:
    name = basename(cf.transfer.filename)
    g = cf.config
    if g is None:
        return f"config {name}: unreadable ({cf.error})", "failed"
    if not g.observable:
        return f"config {name}: encrypted, not observable", "info"
    capf = ", ".join(f"{h or '(empty)'}:{pt}" for h, pt in g.capf_servers) or "none"
    mode = g.capf_auth_mode
    return (f"config {name}: capfAuthMode {mode} ({AUTH_MODES.get(mode or 0, '?')}), "
            f"CAPF {capf}", "ok")


def _trust_list_entries(p: PhoneState) -> list[TimelineEntry]:
    return _parsed_entries(p.trust_lists, "trust", _trust_list_outcome)


def _config_entries(p: PhoneState) -> list[TimelineEntry]:
    return _parsed_entries(p.configs, "config", _config_outcome)


def _dns_entries(ctx: Context, p: PhoneState) -> list[TimelineEntry]:
    out: list[TimelineEntry] = []
    resolved = {d.qname for d in p.dns if d.addresses}
    for d in p.dns:
        res = ", ".join(d.addresses) if d.addresses else rcode_name(d.rcode)
        tries = f" ({len(d.query_frames)} tries)" if len(d.query_frames) > 1 else ""
        # an empty AAAA next to an answered A (or the reverse) is no failure of the name
        failed = d.qname in ctx.cucm_names and d.qname not in resolved
        oc = "ok" if d.addresses else ("failed" if failed else "info")
        text = f"DNS {qtype_name(d.qtype)} {d.qname} -> {res}{tries}"
        if d.foreign_responses and d.rcode is None:
            text += foreign_note(list(d.foreign_responses))
        why = dns_unproven(ctx, p, d) if oc == "failed" else ""
        if why:
            oc, text = "unproven", text + unproven_note(why)
        out.append(TimelineEntry(d.query_frames[0], d.first_ts, text, oc, "dns"))
    return out


def _registration_entries(ctx: Context, p: PhoneState) -> list[TimelineEntry]:
    out: list[TimelineEntry] = []
    for c in p.conns:
        reg = REGISTRATION.get(c.key.server_port)
        if reg and c.key.client in p.addrs:
            text = (f"registration: {reg} TCP {c.key.client_port} -> "
                    f"{label(ctx, c.key.server)}:{c.key.server_port}: {c.conn_state} "
                    f"({c.history})")
            oc, text = _conn_outcome(ctx, p, c, text)
            out.append(TimelineEntry(c.frames[0], c.first_ts, text, oc, "register"))
    for u in p.udp:
        reg = REGISTRATION.get(u.key.server_port)
        if reg and u.key.client in p.addrs:
            text = (f"registration: {reg} UDP {u.key.client_port} -> "
                    f"{label(ctx, u.key.server)}:{u.key.server_port}: {u.conn_state} "
                    f"({u.orig_pkts}/{u.resp_pkts} packets)")
            why = udp_unproven(ctx, p, u) if not u.resp_pkts else ""
            oc = "ok" if u.resp_pkts else "unproven" if why else "failed"
            out.append(TimelineEntry(u.first_frame, u.first_ts,
                                     text + unproven_note(why) if why else text, oc,
                                     "register"))
    return out


def _service_entries(ctx: Context, p: PhoneState, findings: Sequence[Finding] = ()
                     ) -> list[TimelineEntry]:
    """One line per TVS or CAPF connection: TCP, then what its TLS session showed."""
    out: list[TimelineEntry] = []
    tls_by_conn = {(s.key, s.frames[:1]): s for s in p.tls}
    for c in p.conns:
        port = c.key.server_port
        svc = service(p, port)
        if c.key.client not in p.addrs or svc is None:
            continue
        s = tls_by_conn.get((c.key, c.frames[:1]))
        desc = f"{svc} TCP {c.key.client_port} -> {label(ctx, c.key.server)}:{port}: " \
               f"{c.conn_state} ({c.history})"
        oc, desc = _conn_outcome(ctx, p, c, desc)
        if s is not None:
            more, oc = _tls_text(ctx, p, s, svc, oc)
            desc += more
        if oc == "ok":
            oc, desc = _judged_elsewhere(ctx, p, c, findings, desc)
        out.append(TimelineEntry(c.frames[0], c.first_ts, desc, oc,
                                 "capf" if svc == "CAPF" else "tvs"))
    return out


def _judged_elsewhere(ctx: Context, p: PhoneState, c: TcpConnection,
                      findings: Sequence[Finding], text: str) -> tuple[str, str]:
    """A connection the line would call ok (it was answered) whose session an error
    finding rests on (a handshake aborted, reset after the ClientHello, stalled) fails
    with it; one a withheld verdict is about is unproven, as that verdict."""
    mine = set(c.frames)
    for f in findings:
        if f.severity == "error" and not mine.isdisjoint(f.evidence.frames):
            return "failed", text + f"; see {f.code}"
    for w in ctx.withheld_of(p.ip):
        frames = w.get("frames")
        if isinstance(frames, list) and not mine.isdisjoint(frames):
            return "unproven", text + f"; verdict withheld ({w.get('code')})"
    return "ok", text


def _conn_outcome(ctx: Context, p: PhoneState, c: TcpConnection, text: str
                  ) -> tuple[str, str]:
    """A connection line's outcome: ok with a SYN-ACK, failed without one when the capture
    proves the silence (or the server reset it), else unproven with the reason."""
    if c.synack_frames:  # unless the phone never took it (rules_conn.answer_lost)
        return ("failed" if answer_lost(ctx, c) else "ok"), text
    why = conn_unproven(ctx, p, c)
    return ("unproven", text + unproven_note(why)) if why else ("failed", text)


def _tls_text(ctx: Context, p: PhoneState, s: TlsSession, svc: str, oc: str
              ) -> tuple[str, str]:
    """What a service connection's TLS session adds to its line, and the line's outcome
    (an alert other than close_notify fails it; a CAPF session's outcome decides, and a
    cut the capture cannot prove is unproven, as its withheld verdict)."""
    desc = ""
    if s.client_hello_sslv2:
        desc += (f"; SSLv2-compatible ClientHello offering "
                 f"{version_name(s.client_version)} (frame {s.client_hello_frame})")
    if s.alerts:
        a = s.alerts[0]
        desc += f"; {version_name(s.version)} alert " + (
            "encrypted" if a.encrypted else alert_name(a.description)) + \
            f" from {'phone' if a.sender == 'client' else 'server'}"
        if not a.encrypted and a.description != 0:
            oc = "failed"
    elif s.version:
        desc += f"; {version_name(s.version)}"
    if s.server_certs:
        leaf = s.server_certs[0]
        desc += (f"; server certificate {leaf.subject} ({leaf.key_type} {leaf.key_bits}, "
                 f"SHA-256 {leaf.der_sha256[:16]}, frame {s.cert_frame})")
    elif s.version == 0x0304:
        desc += "; certificate hidden by TLS 1.3 (cannot be compared with the ITL)"
    o = outcome_of(p, s) if svc == "CAPF" else None
    if o and o.lost:
        oc, desc = "unproven", desc + "; outcome unknown (CAPF records lost in a capture hole)"
    elif o:
        desc += "; " + _OUTCOME_TEXT.get(o.kind, "no certificate delivered")
        oc = "ok" if o.kind == "issued" else "info" if o.code is None else "failed"
        if o.code == "CAPF_SESSION_CUT":
            j = judge_cut(ctx, p, s, o)
            if not j.stands:
                oc, desc = "unproven", desc + unproven_note(j.brief or j.why)
    return desc, oc


def _tls_entries(ctx: Context, p: PhoneState) -> list[TimelineEntry]:
    """Configs fetched over HTTPS (never readable) and the decrypted CAPF messages."""
    out: list[TimelineEntry] = []
    for s in p.tls:
        if s.key.server_port in (6971, 6972):
            out.append(TimelineEntry(
                s.frames[0], s.first_ts, f"config over HTTPS {s.key.server_port} from "
                f"{label(ctx, s.key.server)}: encrypted, not observable (not missing)", "info",
                "config"))
        for m in s.capf_messages:
            arrow = "phone -> CAPF" if m.direction == "c2s" else "CAPF -> phone"
            els = ", ".join(f"{k}={v}" for k, v in m.elements if k not in ("certificate",
                                                                           "public_key"))
            big = [k for k, _v in m.elements if k in ("certificate", "public_key")]
            extra = (f" [{', '.join(big)}]" if big else "")
            out.append(TimelineEntry(m.frame, m.ts, f"  {arrow}: {m.command_name}"
                                     + (f" ({els})" if els else "") + extra, "info", "capf"))
    return out


_OUTCOME_TEXT = {
    "issued": "certificate delivered",
    "delete": "certificate deleted (Delete operation, not a fault)",
    "fetch": "certificate fetched (Troubleshoot operation, not a fault)",
    "auth_string": "authentication string rejected",
    "auth_certificate": "phone's certificate rejected",
    "cut": "session cut before END_SESSION",
    "silent": "no END_SESSION (went silent)",
}

# Verdict heads, most decisive first: a phone blocked at CAPF reads "blocked" even when
# its ITL also puts the install at risk.
_VERDICT = {
    "CAPTURE_ONE_SIDED": "Capture is one-sided: fix the SPAN before judging",
    "TFTP_NO_RESPONSE": "LSC install blocked: the TFTP server does not answer",
    "DNS_NXDOMAIN": "LSC install blocked: CUCM name does not resolve",
    "DNS_NO_RESPONSE": "LSC install blocked: DNS does not answer",
    "CAPF_UNIDIRECTIONAL": "LSC install blocked: port {port} filtered",
    "CAPF_REFUSED": "LSC install blocked: CAPF refused the connection",
    "CAPF_CERT_MISMATCH": "LSC install blocked: CAPF certificate not in the phone's ITL",
    "CAPF_TLS_FAILED": "LSC install blocked: TLS to CAPF failed",
    "PHONE_DISTRUSTS_CLUSTER": "LSC install blocked: the phone distrusts this cluster (ITL "
                               "reset needed)",
    "LSC_REJECTED": "Registration blocked: CUCM rejects the phone's certificate",
    "ITL_NO_CAPF": "LSC install at risk: ITL has no CAPF record",
    "CONFIG_NO_CAPF_SERVER": "LSC install blocked: the config names no CAPF server",
    "CAPF_SESSION_CUT": "LSC install failed: the CAPF session was cut",
    "CAPF_AUTH_FAILED": "LSC install failed: CAPF rejected the phone's authentication",
    "CAPF_NO_CERTIFICATE": "CAPF session completed without a certificate",
    "CAPF_LSC_ISSUED": "LSC installed",
}
_RANK = {code: i for i, code in enumerate(_VERDICT)}


def _issued(f: Finding) -> str:
    """Verdict of a CAPF session outcome, saying how it was judged."""
    how = ("decrypted CAPF dialogue" if f.extra.get("confidence") == "certain"
           else "TLS record sizes")
    return f"{_VERDICT[f.code]} (from the {how})"


def verdict(ctx: Context, p: PhoneState, findings: list[Finding],
            steps: list[TimelineEntry]) -> str:
    """One line: the most decisive finding; "inconclusive" (with the reason) when a
    verdict of silence was withheld and nothing else decides; never "no fault seen"
    over a failed step; "LSC installed" for a phone that got its LSC, whatever else."""
    serious = [f for f in findings if f.severity != "info"]
    withheld = ctx.withheld_of(p.ip)
    issued = [f for f in findings if f.code == "CAPF_LSC_ISSUED"]
    if not serious and withheld and not issued:
        w = withheld[0]
        more = f" (and {len(withheld) - 1} more)" if len(withheld) > 1 else ""
        return f"Inconclusive: {w['code']} cannot be judged{more}: {w['reason']}"
    if not findings:
        if p.ip in ctx.out_of_order:  # no fault seen in frames whose order proves nothing
            return f"Inconclusive: {ctx.out_of_order[p.ip]}"
        failed = [e for e in steps if e.outcome == "failed"]
        if failed:
            return (f"No fault proven, but {len(failed)} step{'s' if len(failed) > 1 else ''} "
                    f"failed without a finding (first: frame {failed[0].frame}): see the "
                    f"timeline")
        if any(is_capf(p, c.key.server_port) for c in p.conns):
            return "No CAPF problem seen"
        return "No CAPF session in the capture; no fault seen"
    if issued:
        # The phone got its LSC: no other finding overrides that, they are named after it.
        also = sorted({f.code for f in serious},
                      key=lambda c: (SEVERITY_ORDER[severity_of(c)], c))
        line = _issued(issued[-1]) + (f"; also {', '.join(also)}" if also else "")
    else:
        line = _worst(ctx, p, findings)
    if withheld:  # every withheld verdict is named in the phone's verdict line
        line += "; withheld: " + ", ".join(sorted({str(w["code"]) for w in withheld}))
    return line


def _worst(ctx: Context, p: PhoneState, findings: list[Finding]) -> str:
    # an ITL_NO_CAPF that TVS vouched for does not decide: the CAPF outcome does
    decisive = [f for f in findings if not f.extra.get("tvs_vouched")] or findings
    worst = min(decisive, key=lambda f: (SEVERITY_ORDER[f.severity],
                                         _RANK.get(f.code, len(_RANK))))
    head = _VERDICT.get(worst.code, worst.summary)
    lists = worst.extra.get("lists")
    if worst.code == "CAPF_CERT_MISMATCH" and isinstance(lists, list):
        head = head.replace("ITL", " and ".join(map(str, lists)))  # the CTL's CAPF record
    srv = worst.server.get("ip") if worst.server else None
    by = worst.extra.get("reported_by")
    if worst.code == "CAPF_UNIDIRECTIONAL":
        head = head.format(port=(worst.server or {}).get("port") or capf_ports_text(p))
        return f"{head} between {p.ip} and {srv}" if srv else head
    if worst.code in ("CAPF_NO_CERTIFICATE", "CAPF_AUTH_FAILED"):
        return _issued(worst)
    if worst.code in ("CAPF_REFUSED", "TFTP_NO_RESPONSE") and by:
        head = _icmp_head(ctx, worst, head)
    return head if head == worst.summary else f"{head} ({worst.summary})"


def _icmp_head(ctx: Context, f: Finding, head: str) -> str:
    """The verdict head of a refusal an ICMP explains (capfcap.correlator.icmp causes)."""
    cause = f.extra.get("cause")
    by = label(ctx, str(f.extra.get("reported_by")))
    port = f.server.get("port")
    what = "CAPF" if f.code == "CAPF_REFUSED" else "TFTP"
    if cause == "filtered":
        return f"LSC install blocked: port {port} filtered by {by}" if what == "CAPF" \
            else f"LSC install blocked: TFTP (UDP {port}) filtered by {by}"
    if cause == "routing":
        return f"LSC install blocked: no route to {what} {f.server.get('ip')}, reported by {by}"
    if cause == "not_listening" and what == "TFTP":
        return f"LSC install blocked: no TFTP service on {label(ctx, str(f.server.get('ip')))}"
    return head
