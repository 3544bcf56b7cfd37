"""DNS findings (DOMAIN §7 F8): failed lookups of CUCM-related names by phones."""

from __future__ import annotations

from collections import defaultdict

from capfcap.correlator import facts
from capfcap.correlator.common import Context, frames_filter, ipf, make, server_ident
from capfcap.correlator.evidence import DNS_WAIT, judge, withhold
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
        nx = [t for t in txs if t.rcode == 3]
        nodata = [t for t in txs if t.rcode == 0]
        err = [t for t in txs if t.rcode not in (None, 0, 3)]
        silent = [t for t in txs if t.rcode is None]
        servers = sorted({t.server for t in txs})
        srv = server_ident(ctx, servers[0], 53) if len(servers) == 1 else {
            "ip": ", ".join(servers), "port": 53}
        qtypes = "/".join(sorted({qtype_name(t.qtype) for t in txs}))
        why = _why(ctx, name)
        if nx:
            use = nx
            code = "DNS_NXDOMAIN"
            by = ", ".join(sorted({t.server for t in nx}))
            summary = f"{name} does not exist in DNS (NXDOMAIN from {by})"
        elif nodata:
            use = nodata
            code = "DNS_NODATA"
            summary = f"{name} has no {qtypes} record (NOERROR, no address)"
        elif err:
            use = err
            code = "DNS_SERVER_ERROR"
            rcs = ", ".join(sorted({rcode_name(t.rcode) for t in err}))
            summary = f"DNS server failed to resolve {name} ({rcs})"
        else:
            use = silent
            code = "DNS_NO_RESPONSE"
            n = sum(len(t.query_frames) for t in silent)
            asked = sorted({t.server for t in silent})
            j = judge(ctx, phone, what=f"the DNS query for {name}",
                      last_ts=max(t.query_times[-1] for t in silent), wait=DNS_WAIT,
                      retried=n > 1, server=asked[0] if len(asked) == 1 else None)
            if not j.stands:
                withhold(ctx, code, phone, j, [f for t in silent for f in t.frames],
                         name=name)
                continue
            summary = (f"{n} DNS {qtypes} quer{'y' if n == 1 else 'ies'} for {name} never "
                       f"answered by {', '.join(servers)}")
        lines = [
            f"{qtype_name(t.qtype)} {name} id 0x{t.txid:04x} to {t.server} over "
            f"{t.transport.upper()}: "
            f"{rcode_name(t.rcode)} (query frame{'s' if len(t.query_frames) > 1 else ''} "
            f"{', '.join(map(str, t.query_frames))}"
            + (f", response frame {t.response_frame})" if t.response_frame else ")")
            for t in use
        ]
        detail = f"{why}\n" + "\n".join(lines)
        frames = [f for t in use for f in t.frames]
        out.append(make(
            ctx, code, phone, srv, summary, detail, frames,
            _filter(use[0].client, name, use, txs),
            times=(min(t.first_ts for t in use), max(t.last_ts for t in use)),
            name=name, _facts=[facts.dns(t) for t in use],
        ))
    return out


def _why(ctx: Context, name: str) -> str:
    return f"{name} is CUCM-related: {ctx.cucm_names[name]}."
