"""DNS findings (DOMAIN §7 F8): failed lookups of CUCM-related names by phones."""

from __future__ import annotations

from collections import defaultdict

from capfcap.correlator import facts
from capfcap.correlator.common import Context, frames_filter, ipf, make, server_ident
from capfcap.correlator.evidence import DNS_WAIT, Judgement, judge, waited, withhold
from capfcap.correlator.state import PhoneState
from capfcap.events import DnsTransaction
from capfcap.findings import Finding

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
QTYPES = {1: "A", 28: "AAAA", 33: "SRV", 5: "CNAME", 12: "PTR", 35: "NAPTR"}


def rcode_name(rc: int | None) -> str:
    return "no response" if rc is None else RCODES.get(rc, f"rcode {rc}")


def qtype_name(qt: int) -> str:
    return QTYPES.get(qt, f"type {qt}")


def _filter(phone: str, name: str, txs: list[DnsTransaction], all_txs: list[DnsTransaction]
            ) -> str:
    f = ipf(phone)
    base = f'dns.qry.name == "{name}" && {f}.addr=={phone} && !icmp && !icmpv6'
    if len(txs) == len(all_txs) and all(t.client == phone for t in all_txs):
        return base
    return frames_filter(fr for t in txs for fr in t.frames)


A, AAAA = 1, 28  # QTYPE (RFC 1035 §3.2.2, RFC 3596 §2.1)


TRUNCATED = "truncated"  # not a code: NOERROR with TC set and no address (RFC 1035 §4.1.1)


def _outcome(txs: list[DnsTransaction]) -> tuple[str, list[DnsTransaction]]:
    """The code a name's failed lookups of one type earn and the transactions it rests on:
    NXDOMAIN (the name does not exist) over NODATA over other rcodes over silence. An
    answer truncated (TC) without records proves neither NODATA nor silence: the records
    did not fit in UDP (TRUNCATED when nothing else is left)."""
    for code, test in (("DNS_NXDOMAIN", lambda t: t.rcode == 3),
                       ("DNS_NODATA", lambda t: t.rcode == 0 and not t.truncated),
                       ("DNS_SERVER_ERROR", lambda t: t.rcode not in (None, 0, 3))):
        hit = [t for t in txs if test(t)]
        if hit:
            return code, hit
    silent = [t for t in txs if t.rcode is None]
    if silent:
        return "DNS_NO_RESPONSE", silent
    return TRUNCATED, txs


_PHRASE = {"DNS_NXDOMAIN": "NXDOMAIN", "DNS_NODATA": "NOERROR, no address",
           "DNS_NO_RESPONSE": "never answered", TRUNCATED: "truncated, no address"}


def _judged(txs: list[DnsTransaction]) -> tuple[str, list[DnsTransaction],
                                                list[DnsTransaction]]:
    """(type named, its transactions, the other types' transactions) of a name that did not
    resolve. A is the type phones need and is judged when asked; AAAA when it is the only
    address type asked (an IPv6-only phone); other types together otherwise."""
    for qt in (A, AAAA):
        mine = [t for t in txs if t.qtype == qt]
        if mine:
            return qtype_name(qt), mine, [t for t in txs if t.qtype != qt]
    return "/".join(sorted({qtype_name(t.qtype) for t in txs})), txs, []


def _others(txs: list[DnsTransaction]) -> tuple[str, list[DnsTransaction]]:
    """"; AAAA: NOERROR, no address" for the types not judged, and the transactions named."""
    parts, used = [], []
    for qt in sorted({t.qtype for t in txs}):
        code, use = _outcome([t for t in txs if t.qtype == qt])
        phrase = _PHRASE.get(code) or ", ".join(sorted({rcode_name(t.rcode) for t in use}))
        parts.append(f"; {qtype_name(qt)}: {phrase}")
        used += use
    return "".join(parts), used


def dns_findings(ctx: Context, phone: PhoneState) -> list[Finding]:
    by_name: dict[str, list[DnsTransaction]] = defaultdict(list)
    for t in phone.dns:
        by_name[t.qname].append(t)
    out: list[Finding] = []
    for name in sorted(by_name):
        txs = by_name[name]
        if name not in ctx.cucm_names:
            continue
        if any(t.addresses for t in txs):
            continue  # the name resolved (some type, some server)
        qt, judged, rest = _judged(txs)
        code, use = _outcome(judged)
        also, also_use = _others(rest)
        servers = sorted({t.server for t in use})
        srv = server_ident(ctx, servers[0], 53) if len(servers) == 1 else {
            "ip": ", ".join(servers), "port": 53}
        why = _why(ctx, name)
        remediation = None
        if code == TRUNCATED:
            withhold(ctx, "DNS_NODATA", phone, Judgement(False, _truncated_why(phone, use)),
                     [f for t in use for f in t.frames], name=name)
            continue
        if code == "DNS_NXDOMAIN":
            summary = (f"{name} does not exist in DNS ({qt} NXDOMAIN from "
                       f"{', '.join(servers)}{also})" if also else
                       f"{name} does not exist in DNS (NXDOMAIN from {', '.join(servers)})")
        elif code == "DNS_NODATA":
            summary = f"{name} has no {qt} record (NOERROR, no address{also})"
            remediation = f"Add the missing DNS {qt} record for {name}."
        elif code == "DNS_SERVER_ERROR":
            rcs = ", ".join(sorted({rcode_name(t.rcode) for t in use}))
            summary = f"DNS server failed to resolve {name} ({qt} {rcs}{also})" if also else \
                f"DNS server failed to resolve {name} ({rcs})"
        else:
            n = sum(len(t.query_frames) for t in use)
            asked = sorted({t.server for t in use})
            j = judge(ctx, phone, what=f"the DNS query for {name}",
                      last_ts=max(t.query_times[-1] for t in use), wait=DNS_WAIT,
                      retried=waited(min(t.query_times[0] for t in use),
                                     max(t.query_times[-1] for t in use)),
                      server=asked[0] if len(asked) == 1 else None)
            if not j.stands:
                withhold(ctx, code, phone, j, [f for t in use for f in t.frames],
                         name=name)
                continue
            summary = (f"{n} DNS {qt} quer{'y' if n == 1 else 'ies'} for {name} never "
                       f"answered by {', '.join(servers)}"
                       + (f" ({also[2:]})" if also else ""))
            foreign = [fr for t in use for fr in t.foreign_responses]
            if foreign:
                summary += foreign_note(foreign)
                remediation = (
                    f"The answers come from another address than the one the phone asks "
                    f"({', '.join(servers)}), and a resolver drops an answer from an "
                    f"unexpected source: make the DNS server answer from the address it is "
                    f"asked on (a multi-homed server: bind it to that address), fix the NAT "
                    f"or load balancer that does not translate its replies back, or give "
                    f"the phones (DHCP option 6) the address that answers.")
        shown = use + also_use
        detail = f"{why}\n" + "\n".join(_line(name, t) for t in shown)
        frames = [f for t in shown for f in t.frames] + [
            fr for t in shown for fr, _src in t.foreign_responses]
        out.append(make(
            ctx, code, phone, srv, summary, detail, frames,
            _filter(use[0].client, name, shown, txs), remediation=remediation,
            times=(min(t.first_ts for t in shown), max(t.last_ts for t in shown)),
            name=name, _facts=[facts.dns(t) for t in shown],
        ))
    return out


def _line(name: str, t: DnsTransaction) -> str:
    """One transaction of the detail: type, id, server, transport, answer and frames."""
    return (f"{qtype_name(t.qtype)} {name} id 0x{t.txid:04x} to {t.server} over "
            f"{t.transport.upper()}: "
            f"{rcode_name(t.rcode)} (query frame{'s' if len(t.query_frames) > 1 else ''} "
            f"{', '.join(map(str, t.query_frames))}"
            + (f", response frame {t.response_frame})" if t.response_frame else ")"))


def foreign_note(foreign: list[tuple[int, str]]) -> str:
    """"; answers with its ID came from X instead (frames ...)": responses to the query
    from another address than the one asked, which the phone drops."""
    srcs = sorted({src for _fr, src in foreign})
    return (f"; answers with its ID and question came from {', '.join(srcs)} instead "
            f"(frame{'s' if len(foreign) > 1 else ''} "
            f"{', '.join(str(fr) for fr, _src in foreign)}), which the phone drops")


def _truncated_why(phone: PhoneState, txs: list[DnsTransaction]) -> str:
    """Why a truncated answer proves no missing record, and what the TCP retry showed."""
    t = txs[0]
    after = t.response_frame or t.query_frames[-1]
    retry = [c for c in phone.conns if c.key.server == t.server and c.key.server_port == 53
             and c.key.client in phone.addrs and c.frames and c.frames[0] > after]
    head = (f"the answer to {qtype_name(t.qtype)} {t.qname} was truncated (TC set, frame "
            f"{t.response_frame}): its records did not fit in UDP and must be asked over "
            f"TCP")
    if not retry:
        return head + ", and the capture holds no TCP query to " + t.server
    c = retry[0]
    if not c.synack_frames:
        return (head + f"; the phone's TCP connection to {t.server}:53 (frames "
                f"{', '.join(map(str, c.syn_frames))}) was never answered: check that the firewall "
                f"lets DNS over TCP through")
    return head + f"; the TCP query to {t.server}:53 (frame {c.frames[0]}) was not read"


def _why(ctx: Context, name: str) -> str:
    return f"{name} is CUCM-related: {ctx.cucm_names[name]}."
