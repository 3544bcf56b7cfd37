"""Connection verdicts for CAPF and TVS (TCP 3804 and 2445 unless the phone's config names
other ports: `ports.py`): DOMAIN §3.5, §7 F2/F10.

Each attempt is classified: unanswered (Zeek S0, completeness 1), refused (RST from the
server: REJ, or an ICMP unreachable quoting it), or answered. A port is judged only when
no attempt to that server and port was answered.
"""

from __future__ import annotations

from collections import defaultdict

from capfcap.correlator import facts
from capfcap.correlator.common import Context, conns_filter, ipf, label, make, server_ident
from capfcap.correlator.evidence import TCP_WAIT, Judgement, judge, withhold
from capfcap.correlator.ports import service
from capfcap.correlator.state import PhoneState
from capfcap.events import IcmpError, TcpConnection
from capfcap.findings import Finding

ICMP_UNREACH = {
    (4, 3): "destination unreachable",
    (6, 1): "destination unreachable",
}
ICMP4_CODES = {0: "net unreachable", 1: "host unreachable", 3: "port unreachable",
               9: "net prohibited", 10: "host prohibited", 13: "administratively prohibited"}
ICMP6_CODES = {0: "no route", 1: "administratively prohibited", 3: "address unreachable",
               4: "port unreachable", 5: "source address failed policy", 6: "reject route"}


def icmp_text(i: IcmpError) -> str:
    codes = ICMP4_CODES if i.version == 4 else ICMP6_CODES
    kind = "ICMP" if i.version == 4 else "ICMPv6"
    what = codes.get(i.icmp_code, "unreachable")
    return f"{kind} type {i.icmp_type} code {i.icmp_code} ({what}) from {i.reporter}"


def _answered(c: TcpConnection) -> bool:
    return bool(c.synack_frames) or (c.resp_pkts > 0 and c.rst_from != "server")


def _refused(c: TcpConnection) -> bool:
    return c.rst_from == "server" and not c.synack_frames


def _unanswered(c: TcpConnection) -> bool:
    return c.resp_pkts == 0 and bool(c.syn_frames)


def conn_findings(ctx: Context, phone: PhoneState) -> list[Finding]:
    out: list[Finding] = []
    groups: dict[tuple[str, int], list[TcpConnection]] = defaultdict(list)
    for c in phone.conns:
        if c.key.client in phone.addrs and service(phone, c.key.server_port):
            groups[(c.key.server, c.key.server_port)].append(c)
    icmps: dict[tuple[str, int], list[IcmpError]] = defaultdict(list)
    for i in phone.icmp:
        q = i.quoted
        if q.transport == "tcp" and service(phone, q.server_port) and (
            (i.version == 4 and i.icmp_type == 3) or (i.version == 6 and i.icmp_type == 1)
        ):
            icmps[(q.server, q.server_port)].append(i)
    for key in sorted(set(groups) | set(icmps)):
        server, port = key
        conns = sorted(groups.get(key, []), key=lambda c: c.frames[0])
        prefix = svc = service(phone, port) or "TVS"
        if any(_answered(c) for c in conns):
            continue
        srv = server_ident(ctx, server, port)
        refused = [c for c in conns if _refused(c)]
        ic = icmps.get(key, [])
        if refused or ic:
            frames = [f for c in refused for f in c.frames] + [i.frame for i in ic]
            parts = []
            if refused:
                parts.append(f"{len(refused)} connection attempt{'s' if len(refused) > 1 else ''} "
                             f"answered with RST")
            if ic:
                parts.append(f"{len(ic)} ICMP unreachable")
            summary = f"{svc} port {port} on {label(ctx, server)} refused the phone: " + \
                " and ".join(parts)
            detail_lines = [
                f"SYN frame {c.syn_frames[0] if c.syn_frames else c.frames[0]} from port "
                f"{c.key.client_port} -> RST frame {c.rst_frames[0]} "
                f"(conn_state {c.conn_state}, history {c.history}, completeness {c.completeness})"
                for c in refused
            ] + [f"frame {i.frame}: {icmp_text(i)}" for i in ic]
            client = refused[0].key.client if refused else ic[0].quoted.client
            f = ipf(client)
            filt = conns_filter(client, server, port, refused, conns) if refused else ""
            if ic:
                icf = "icmp" if f == "ip" else "icmpv6"
                ifl = f"({icf} && {f}.addr=={client} && tcp.port=={port})"
                filt = f"({filt}) || {ifl}" if filt else ifl
            times = [t for c in refused for t in (c.first_ts, c.last_ts)] + [i.ts for i in ic]
            out.append(make(
                ctx, prefix + "_REFUSED", phone, srv, summary, "\n".join(detail_lines),
                frames, filt, conn=refused[0] if refused else None,
                times=(min(times), max(times)),
                _facts=[facts.tcp(c) for c in refused] + [facts.icmp(i) for i in ic],
            ))
            continue
        silent = [c for c in conns if _unanswered(c)]
        if not silent:
            continue
        frames = [f for c in silent for f in c.frames]
        syns = sum(len(c.syn_frames) for c in silent)
        evidence_unseen = [c for c in silent if c.orig_acked_unseen]
        if evidence_unseen:
            j = Judgement(False, "the phone acknowledged server data the capture never saw")
        else:
            j = judge(ctx, phone, what=f"the SYN to {svc} port {port}",
                      last_ts=max(c.last_ts for c in silent), wait=TCP_WAIT,
                      retried=syns > 1 or len(silent) > 1, server=server)
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
        out.append(make(
            ctx, prefix + "_UNIDIRECTIONAL", phone, srv, summary, "\n".join(lines), frames,
            conns_filter(silent[0].key.client, server, port, silent, conns), conn=silent[0],
            times=(min(c.first_ts for c in silent), max(c.last_ts for c in silent)),
            _facts=[facts.tcp(c) for c in silent],
        ))
    return out
