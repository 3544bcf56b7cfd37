"""Connection verdicts for CAPF and TVS (TCP 3804 and 2445 unless the phone's config names
other ports: `ports.py`): DOMAIN §3.5, §7 F2/F10.

Each attempt is classified: unanswered (Zeek S0, completeness 1), refused (RST from the
server: REJ, or an ICMP unreachable quoting it), or answered. A port is judged only when
no attempt to that server and port was answered. An ICMP answer is judged by its code and
sender (capfcap.correlator.icmp): filtered, not listening, or not routed.
"""

from __future__ import annotations

from collections import defaultdict

from capfcap.catalog import CATALOG, port_text
from capfcap.correlator import facts, icmp
from capfcap.correlator.common import Context, conns_filter, ipf, label, make, server_ident
from capfcap.correlator.evidence import RETRY_MIN, TCP_WAIT, Judgement, judge, waited, withhold
from capfcap.correlator.ports import service
from capfcap.correlator.state import PhoneState
from capfcap.events import IcmpError, TcpConnection
from capfcap.findings import Finding


def _answered(c: TcpConnection) -> bool:
    return bool(c.synack_frames) or (c.resp_pkts > 0 and c.rst_from != "server")


def _refused(c: TcpConnection) -> bool:
    return c.rst_from == "server" and not c.synack_frames


def _unanswered(c: TcpConnection) -> bool:
    return c.resp_pkts == 0 and bool(c.syn_frames)


def answer_lost(ctx: Context, c: TcpConnection) -> bool:
    """The server's SYN-ACK is in the capture, but the phone sent nothing but SYNs and
    retransmitted its SYN a retransmission timeout after the SYN-ACK: the answer never
    reached it (the capture point is between the server and where the answer is lost).
    A SYN sent while the SYN-ACK was on its way crosses it (the phone's ACK follows, or the
    capture ends on it, which proves nothing): RETRY_MIN apart, it is a timeout."""
    if not (c.synack_frames and len(c.syn_frames) > 1 and c.rst_from is None
            and c.orig_pkts == len(c.syn_frames)):
        return False
    first = c.synack_frames[0]
    answered_at = ctx.frame_ts.get(first)
    if answered_at is None:
        return False
    return any(f > first and ctx.frame_ts.get(f, answered_at) - answered_at >= RETRY_MIN
               for f in c.syn_frames)


def conn_findings(ctx: Context, phone: PhoneState) -> list[Finding]:
    out: list[Finding] = []
    groups: dict[tuple[str, int], list[TcpConnection]] = defaultdict(list)
    for c in phone.conns:
        if c.key.client in phone.addrs and service(phone, c.key.server_port):
            groups[(c.key.server, c.key.server_port)].append(c)
    icmps: dict[tuple[str, int], list[IcmpError]] = defaultdict(list)
    for i in phone.icmp:
        q = i.quoted
        if q.transport == "tcp" and service(phone, q.server_port) and \
                icmp.is_unreachable(i):
            icmps[(q.server, q.server_port)].append(i)
    for key in sorted(set(groups) | set(icmps)):
        server, port = key
        conns = sorted(groups.get(key, []), key=lambda c: c.frames[0])
        prefix = svc = service(phone, port) or "TVS"
        if any(_answered(c) and not answer_lost(ctx, c) for c in conns):
            continue
        srv = server_ident(ctx, server, port)
        refused = [c for c in conns if _refused(c)]
        ic = icmps.get(key, [])
        if refused or ic:
            out.append(_refused_finding(ctx, phone, prefix, srv, conns, refused, ic))
            continue
        lost = [c for c in conns if answer_lost(ctx, c)]
        if lost:
            out.append(_lost_finding(ctx, phone, prefix, srv, conns, lost))
            continue
        silent = [c for c in conns if _unanswered(c)]
        if not silent:
            continue
        frames = [f for c in silent for f in c.frames]
        syns = sum(len(c.syn_frames) for c in silent)
        evidence_unseen = [c for c in silent if c.orig_acked_unseen]
        if evidence_unseen and phone.ip not in ctx.out_of_order:  # else judge() names the disorder
            j = Judgement(False, "the phone acknowledged server data the capture never saw")
        else:
            j = judge(ctx, phone, what=f"the SYN to {svc} port {port}",
                      last_ts=max(c.last_ts for c in silent), wait=TCP_WAIT,
                      retried=waited(min(c.first_ts for c in silent),
                                     max(c.last_ts for c in silent)), server=server)
        if not j.stands:
            withhold(ctx, prefix + "_UNIDIRECTIONAL", phone, j, frames, server=server)
            continue
        summary = (f"{svc} port {port} on {label(ctx, server)} never answered: "
                   f"{syns} SYN{'s' if syns > 1 else ''} in {len(silent)} attempt"
                   f"{'s' if len(silent) > 1 else ''}, no SYN-ACK")
        lines = []
        for c in silent:
            lines.append(
                f"port {c.key.client_port}: SYN frames {', '.join(map(str, c.syn_frames))} "
                f"(conn_state {c.conn_state}, history {c.history}, completeness {c.completeness})"
            )
        lines.append(f"The silence is the network's, not the capture's: {j.why}.")
        remediation = None
        if prefix == "CAPF" and ":" in server:  # FIELD A3: CAPF may ignore IPv6
            remediation = (port_text(CATALOG[prefix + "_UNIDIRECTIONAL"].fix, port)
                           + " Over IPv6 (as "
                           "here): CAPF ignores IPv6 connections while the enterprise "
                           "parameter 'Enable IPv6' is False; enable it, or let the phone "
                           "reach CAPF over IPv4.")
        out.append(make(
            ctx, prefix + "_UNIDIRECTIONAL", phone, srv, summary, "\n".join(lines), frames,
            conns_filter(silent[0].key.client, server, port, silent, conns), conn=silent[0],
            remediation=remediation,
            times=(min(c.first_ts for c in silent), max(c.last_ts for c in silent)),
            _facts=[facts.tcp(c) for c in silent],
        ))
    return out


def _refused_finding(ctx: Context, phone: PhoneState, prefix: str, srv: dict[str, object],
                     conns: list[TcpConnection], refused: list[TcpConnection],
                     ic: list[IcmpError]) -> Finding:
    """<prefix>_REFUSED: RSTs from the server and/or ICMP unreachables quoting the SYNs."""
    svc = icmp.CAPF if prefix == "CAPF" else icmp.TVS
    server, port = str(srv["ip"]), int(str(srv["port"]))
    srv_label = label(ctx, server)
    frames = [f for c in refused for f in c.frames] + [i.frame for i in ic]
    rst = (f"{len(refused)} connection attempt{'s' if len(refused) > 1 else ''} answered "
           f"with RST") if refused else ""
    client = refused[0].key.client if refused else ic[0].quoted.client
    extra: dict[str, object] = {}
    other = _other_sender(ctx, server, refused)
    if not ic and other:
        summary = f"{prefix} port {port} on {srv_label} refused the phone: {rst}, {other}"
        fix = (f"A firewall (or other device) between the phone and {srv_label} resets TCP "
               f"{port} in the server's name: permit TCP {port} from the voice VLAN to "
               f"{srv_label} there. If the server itself then refuses: "
               f"{svc.start.format(server=srv_label)}.")
    elif not ic:
        summary = f"{prefix} port {port} on {srv_label} refused the phone: {rst}"
        fix = svc.start.format(server=srv_label) + "."
    else:
        cause = icmp.worst_cause(ic)
        first = icmp.first_of(ic, cause)
        by = label(ctx, first.reporter)
        tail = icmp.summary_tail(svc, port, cause, ic, by)
        if cause == "filtered":
            summary = f"{prefix} port {port} on {srv_label} is {tail}"
        elif cause == "routing":
            summary = f"{prefix} server {srv_label} is unreachable: {tail}"
        else:
            summary = f"{prefix} port {port} on {srv_label} refused the phone: {tail}"
        if rst:
            summary += f"; {rst} by the server"
        fixes = [icmp.remediation(svc, port, c, icmp.first_of(ic, c), client, srv_label,
                                  label(ctx, icmp.first_of(ic, c).reporter))
                 for c in icmp.CAUSE_ORDER if any(icmp.cause(i) == c for i in ic)]
        if refused and cause != "not_listening":
            fixes.append("The RSTs came from the server itself: "
                         f"{svc.start.format(server=srv_label)}.")
        fix = " ".join(fixes)
        extra = {"cause": cause, "reported_by": first.reporter}
    detail_lines = [
        f"SYN frame {c.syn_frames[0] if c.syn_frames else c.frames[0]} from port "
        f"{c.key.client_port} -> RST frame {c.rst_frames[0]} "
        f"(conn_state {c.conn_state}, history {c.history}, completeness {c.completeness})"
        for c in refused
    ] + [f"frame {i.frame}: {icmp.icmp_text(i, label(ctx, i.reporter))}, quoting the SYN "
         f"from port {i.quoted.client_port}" for i in ic]
    f = ipf(client)
    filt = conns_filter(client, server, port, refused, conns) if refused else ""
    if ic:
        icf = "icmp" if f == "ip" else "icmpv6"
        ifl = f"({icf} && {f}.addr=={client} && {f}.addr=={server} && tcp.port=={port})"
        filt = f"({filt}) || {ifl}" if filt else ifl
    times = [t for c in refused for t in (c.first_ts, c.last_ts)] + [i.ts for i in ic]
    return make(
        ctx, prefix + "_REFUSED", phone, srv, summary,
        "\n".join(detail_lines), frames, filt, conn=refused[0] if refused else None,
        remediation=fix, times=(min(times), max(times)),
        _facts=[facts.tcp(c) for c in refused] + [facts.icmp(i) for i in ic], **extra,
    )


def _lost_finding(ctx: Context, phone: PhoneState, prefix: str, srv: dict[str, object],
                  conns: list[TcpConnection], lost: list[TcpConnection]) -> Finding:
    """<prefix>_UNIDIRECTIONAL where the server answered and the phone did not hear it."""
    server, port = str(srv["ip"]), int(str(srv["port"]))
    syns = sum(len(c.syn_frames) for c in lost)
    acks = sum(len(c.synack_frames) for c in lost)
    summary = (f"{prefix} port {port} on {label(ctx, server)} answered, but the answers "
               f"never reached the phone: {acks} SYN-ACK{'s' if acks > 1 else ''} captured, "
               f"and the phone kept retransmitting its SYN ({syns} SYNs) and never "
               f"acknowledged")
    lines = [f"port {c.key.client_port}: SYN frames {', '.join(map(str, c.syn_frames))}, "
             f"SYN-ACK frames {', '.join(map(str, c.synack_frames))} (conn_state "
             f"{c.conn_state}, history {c.history}, completeness {c.completeness})"
             for c in lost]
    lines.append("A SYN retransmitted after the server's SYN-ACK shows the phone did not "
                 "receive it: the answer is lost between this capture point and the phone "
                 "(a filter or asymmetric route on the return path).")
    frames = [f for c in lost for f in c.frames]
    return make(
        ctx, prefix + "_UNIDIRECTIONAL", phone, srv, summary, "\n".join(lines), frames,
        conns_filter(lost[0].key.client, server, port, lost, conns), conn=lost[0],
        times=(min(c.first_ts for c in lost), max(c.last_ts for c in lost)),
        _facts=[facts.tcp(c) for c in lost],
    )


def _hops(ttl: int) -> int:
    """Hops travelled by a packet that arrives with `ttl`, from the usual initial values
    (64 Linux/macOS, 128 Windows, 255 network devices; 32 old stacks)."""
    return next(i for i in (32, 64, 128, 255) if ttl <= i) - ttl


def _other_sender(ctx: Context, server: str, refused: list[TcpConnection]) -> str:
    """When every RST arrived with a hop count unlike the server's own first packet (an
    answer on another conversation), the words that say another device sent them; "" when
    the capture cannot tell."""
    seen = ctx.state.first_ttl.get(server)
    if seen is None or not refused:
        return ""
    ttl, frame = seen
    ttls = {c.rst_ttl for c in refused}
    if None in ttls or any(frame in c.rst_frames for c in refused):
        return ""
    if any(_hops(t) == _hops(ttl) for t in ttls if t is not None):
        return ""
    shown = ", ".join(str(t) for t in sorted(t for t in ttls if t is not None))
    return (f"but the RSTs arrive with TTL {shown} while {server}'s own packets arrive with "
            f"TTL {ttl} (frame {frame}): another device sent them, so they do not show "
            f"that nothing listens on the server")
