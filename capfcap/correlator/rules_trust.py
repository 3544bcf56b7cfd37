"""Trust-list and config findings (DOMAIN §1, §5, §7 F1/F3/F6)."""

from __future__ import annotations

from collections import defaultdict

from capfcap.correlator import facts, icmp
from capfcap.correlator.common import (
    AUTH_MODES,
    Context,
    cert_expiry,
    file_kind,
    ipf,
    label,
    latest_itl,
    make,
    server_ident,
    transfer_filter,
    transfer_text,
)
from capfcap.correlator.evidence import (
    CAPF_WAIT,
    TFTP_WAIT,
    Judgement,
    judge,
    waited,
    withhold,
)
from capfcap.correlator.ports import is_capf, is_tvs, tvs_ports_text
from capfcap.correlator.state import PhoneState
from capfcap.correlator.transfers import answered, refused
from capfcap.events import FileTransfer, IcmpError, TrustRecord
from capfcap.filenames import basename
from capfcap.findings import Finding
from capfcap.protocol import TFTP_PORT

# config findings (rules_config) that already say why the phone did not contact CAPF
EXPLAINED_BY_CONFIG = frozenset({"CAPF_NO_OPERATION", "CAPF_AWAITING_AUTH_STRING",
                                 "CONFIG_NO_CAPF_SERVER"})


def trust_findings(ctx: Context, phone: PhoneState) -> list[Finding]:
    """The phone's downloads (TFTP/HTTP) and the trust lists it holds, in this order:
    silent servers, downloads cut short, files not found, unreadable trust lists, and what
    the ITL the phone holds lacks or lets expire."""
    ts = sorted(phone.transfers, key=lambda t: t.request_frames[0] if t.request_frames else 0)
    return (_silent_servers(ctx, phone, ts) + _incomplete_downloads(ctx, phone, ts)
            + _files_not_found(ctx, phone, ts) + _unreadable_trust_lists(ctx, phone)
            + _held_itl(ctx, phone))


def _silent_servers(ctx: Context, phone: PhoneState, ts: list[FileTransfer]) -> list[Finding]:
    """TFTP_NO_RESPONSE: servers that answered none of the phone's read requests."""
    out: list[Finding] = []
    # TFTP requests never answered, per server
    silent: dict[str, list[FileTransfer]] = defaultdict(list)
    for t in ts:
        if not answered(t) and t.protocol == "tftp":
            silent[t.server].append(t)
    for server, lst in sorted(silent.items()):
        frames = [f for t in lst for f in t.frames]
        if any(t.server == server and answered(t) for t in ts):
            continue  # the server answered other requests: per-file silence is a retry
        ic = _tftp_icmp(phone, server, lst)
        if ic:  # an ICMP answer is no silence: the evidence rules of silence do not apply
            out.append(_tftp_unreachable(ctx, phone, server, lst, ic))
            continue
        if any(t.acked_unseen_blocks for t in lst) and phone.ip not in ctx.out_of_order:
            j = Judgement(False, "the phone acknowledged TFTP blocks the capture never saw")
        else:
            last = max(t.last_ts for t in lst)
            # the phone retransmitted, or moved on to another file: it waited and gave up
            moved_on = any(t.first_ts > last for t in ts)
            j = judge(ctx, phone, what=f"the read request to {server}", last_ts=last,
                      wait=TFTP_WAIT, server=server,
                      retried=moved_on or waited(min(t.first_ts for t in lst), last))
        if not j.stands:
            withhold(ctx, "TFTP_NO_RESPONSE", phone, j, frames, server=server)
            continue
        names = ", ".join(sorted({basename(t.filename) for t in lst}))
        out.append(make(
            ctx, "TFTP_NO_RESPONSE", phone, server_ident(ctx, server, TFTP_PORT),
            f"TFTP server {label(ctx, server)} never answered {len(lst)} read request"
            f"{'s' if len(lst) > 1 else ''} ({names})",
            "\n".join([transfer_text(t) + f" (frames {', '.join(map(str, t.request_frames))})"
                       for t in lst] + [f"The silence is the server's: {j.why}."]),
            frames, transfer_filter(lst),
            times=(min(t.first_ts for t in lst), max(t.last_ts for t in lst)),
            _facts=[facts.transfer(t) for t in lst],
        ))
    return out


def _incomplete_downloads(ctx: Context, phone: PhoneState, ts: list[FileTransfer]) -> list[Finding]:
    """TRANSFER_INCOMPLETE: trust-list and config downloads that stopped part-way."""
    out: list[Finding] = []
    for t in ts:
        # DESIGN §4 rule 4: blocks the phone ACKed but the capture lacks are the capture's
        if (t.status == "incomplete" and file_kind(t) and not t.acked_unseen_blocks
                and not t.acked_cut_blocks):
            # the phone moving on to another file shows that it gave up on this one
            j = judge(ctx, phone, what=f"the last packet of {basename(t.filename)}",
                      last_ts=t.last_ts, wait=TFTP_WAIT, server=t.server, due="the next block",
                      retried=any(x.first_ts > t.last_ts for x in ts))
            if not j.stands:
                withhold(ctx, "TRANSFER_INCOMPLETE", phone, j, list(t.frames),
                         server=t.server, file=basename(t.filename))
                continue
            out.append(make(
                ctx, "TRANSFER_INCOMPLETE", phone, server_ident(ctx, t.server, t.server_port),
                f"Download of {basename(t.filename)} from {label(ctx, t.server)} stopped after "
                f"{t.size} bytes",
                transfer_text(t) + (f"; {t.note}" if t.note else ""),
                t.frames, transfer_filter([t]), times=(t.first_ts, t.last_ts),
                _facts=[facts.transfer(t)],
            ))
    return out


def _files_not_found(ctx: Context, phone: PhoneState, ts: list[FileTransfer]) -> list[Finding]:
    """ITL_NOT_FOUND, CONFIG_NOT_FOUND: every request for the file failed."""
    out: list[Finding] = []
    itl_reqs = [t for t in ts if file_kind(t) == "ITL"]
    # The phone falls back from ITLSEP<MAC>.tlv to ITLFile.tlv (DOMAIN §1.9): only a failed
    # ITLFile.tlv request proves there is no ITL to be had.
    if (itl_reqs and all(refused(t) for t in itl_reqs)
            and any(basename(t.filename).lower() == "itlfile.tlv" for t in itl_reqs)):
        out.append(make(
            ctx, "ITL_NOT_FOUND", phone, server_ident(ctx, itl_reqs[0].server,
                                                      itl_reqs[0].server_port),
            f"Every ITL request failed ({len(itl_reqs)}): the phone has no trust list from "
            f"this boot",
            "\n".join(transfer_text(t) for t in itl_reqs),
            [f for t in itl_reqs for f in t.frames], transfer_filter(itl_reqs),
            times=(itl_reqs[0].first_ts, itl_reqs[-1].last_ts),
            _facts=[facts.transfer(t) for t in itl_reqs],
        ))
    cfg_reqs = [t for t in ts if file_kind(t) == "CONFIG"]
    if cfg_reqs and all(refused(t) for t in cfg_reqs):
        out.append(make(
            ctx, "CONFIG_NOT_FOUND", phone, server_ident(ctx, cfg_reqs[0].server,
                                                         cfg_reqs[0].server_port),
            "The phone's config file request failed ("
            + ", ".join(sorted({basename(t.filename) for t in cfg_reqs})) + ")",
            "\n".join(transfer_text(t) for t in cfg_reqs),
            [f for t in cfg_reqs for f in t.frames], transfer_filter(cfg_reqs),
            times=(cfg_reqs[0].first_ts, cfg_reqs[-1].last_ts),
            _facts=[facts.transfer(t) for t in cfg_reqs],
        ))
    return out


def _unreadable_trust_lists(ctx: Context, phone: PhoneState) -> list[Finding]:
    """ITL_PARSE_ERROR, ITL_SIGNATURE_INVALID: trust lists that do not parse or verify."""
    out: list[Finding] = []
    for tl in phone.trust_lists:
        t = tl.transfer
        if tl.trust_list is None:
            out.append(make(
                ctx, "ITL_PARSE_ERROR", phone, server_ident(ctx, t.server, t.server_port),
                f"{basename(t.filename)} from {label(ctx, t.server)} does not parse: {tl.error}",
                transfer_text(t) + f"; parse error at byte {tl.error_offset}: {tl.error}",
                t.frames, transfer_filter([t]), times=(t.first_ts, t.last_ts),
                _facts=[facts.transfer(t), facts.itl_content()],
            ))
        elif tl.trust_list.signature_status == "invalid":
            out.append(make(
                ctx, "ITL_SIGNATURE_INVALID", phone, server_ident(ctx, t.server, t.server_port),
                f"Signature of {basename(t.filename)} from {label(ctx, t.server)} does not verify",
                f"{tl.trust_list.signature_note}; signer {tl.trust_list.signer}",
                t.frames, transfer_filter([t]), times=(t.first_ts, t.last_ts),
                _facts=[facts.transfer(t), facts.itl_content()],
            ))
    return out


def _held_itl(ctx: Context, phone: PhoneState) -> list[Finding]:
    """ITL_NO_CAPF and CAPF certificate expiry, of the ITL the phone holds."""
    out: list[Finding] = []
    held = latest_itl(phone)
    if held is not None and held.trust_list is not None:
        tl_ = held.trust_list
        t = held.transfer
        caps = tl_.capf_records()
        if not caps:
            roles = "+".join(r.role_name for r in tl_.records)
            tvs = any(is_tvs(phone, c.key.server_port) for c in phone.conns)
            tvs_port = tvs_ports_text(phone)
            out.append(make(
                ctx, "ITL_NO_CAPF", phone, server_ident(ctx, t.server, t.server_port),
                f"{basename(t.filename)} from {label(ctx, t.server)} has no CAPF record "
                f"({roles})",
                f"Records: {roles}. Signer {tl_.signer}; SHA-1 {tl_.sha1}, MD5 {tl_.md5}. "
                + (f"The phone also contacted TVS ({tvs_port}), which could vouch for CAPF."
                   if tvs else "The phone also holds a CTL with a CAPF record (mixed mode), "
                   "through which it can trust CAPF." if _ctl_with_capf(phone)
                   else f"No TVS ({tvs_port}) connection from the phone was captured "
                   "either, so nothing can vouch for the CAPF certificate."),
                t.frames, transfer_filter([t]), times=(t.first_ts, t.last_ts),
                _facts=[facts.transfer(t), facts.itl_content()],
            ))
        for r in caps:
            if r.cert is not None:
                found = cert_expiry(
                    ctx, phone, r.cert, t.last_ts, f"CAPF record {r.index} of "
                    f"{basename(t.filename)}", list(t.frames), transfer_filter([t]),
                    server=server_ident(ctx, t.server, t.server_port),
                    facts_=[facts.transfer(t), facts.itl_content()],
                )
                why = _another_capf_record(phone, caps, r, t.last_ts) if found else None
                if why:
                    j = Judgement(False, why, "another CAPF record")
                    withhold(ctx, found[0].code, phone, j, list(t.frames),
                             file=basename(t.filename),
                             cert_sha256=r.cert.der_sha256)
                    continue
                out += found
    return out


def _ctl_with_capf(phone: PhoneState) -> bool:
    return any(tl.trust_list is not None and tl.trust_list.kind == "CTL"
               and tl.trust_list.capf_records() for tl in phone.trust_lists)


def _another_capf_record(phone: PhoneState, caps: tuple[TrustRecord, ...], r: TrustRecord,
                         at: int) -> str | None:
    """Why the expiry of CAPF record `r` is no proven failure, or None. CAPF presents
    another certificate, valid at capture time: `r` is another node's CAPF certificate
    (before CUCM 14 every node had its own) or a stale one, not CAPF's current one (when the
    ITL lacks the presented one, CAPF_CERT_MISMATCH says so and what to restart; "regenerate
    the CAPF certificate" would be wrong). Or the ITL holds another valid CAPF record and the
    capture shows no CAPF certificate that would tell which record CAPF uses."""
    assert r.cert is not None
    state = "expired" if r.cert.not_after < at else "expiring"
    valid = {c.cert.der_sha256: c for c in caps
             if c is not r and c.cert is not None and c.cert.not_after >= at}
    shown = [s for s in phone.tls if is_capf(phone, s.key.server_port) and s.server_certs]
    if any(s.server_certs[0].der_sha256 == r.cert.der_sha256 for s in shown):
        return None  # CAPF presents the expired certificate itself
    for s in shown:
        leaf = s.server_certs[0]
        if leaf.not_after < at:
            continue
        rec = valid.get(leaf.der_sha256)
        where = (f"the ITL's CAPF record {rec.index}" if rec is not None
                 else "a certificate this ITL does not hold (see CAPF_CERT_MISMATCH)")
        return (f"CAPF presents {leaf.subject} (frame {s.cert_frame}), {where}, valid at "
                f"capture time; the {state} record {r.index} ({r.cert.subject}) is another "
                "node's or a stale certificate, not the one CAPF uses")
    if shown or not valid:
        return None  # CAPF presents only expired certificates, or no record is valid
    return (f"the ITL holds {len(caps)} CAPF records, {len(valid)} of them valid at capture "
            f"time; no CAPF certificate was captured, so the capture does not show which "
            f"record CAPF uses (record {r.index}, {r.cert.subject}, is {state}): capture the "
            "phone's CAPF connection")


def _tftp_icmp(phone: PhoneState, server: str, lst: list[FileTransfer]) -> list[IcmpError]:
    """ICMP destination unreachables quoting the phone's read requests (UDP to port 69 of
    `server`, from the client port of one of the requests)."""
    ports = {t.client_port for t in lst}
    return [i for i in phone.icmp if icmp.is_unreachable(i) and i.quoted.transport == "udp"
            and i.quoted.server == server and i.quoted.server_port == TFTP_PORT
            and i.quoted.client_port in ports]


def _tftp_unreachable(ctx: Context, phone: PhoneState, server: str,
                      lst: list[FileTransfer], ic: list[IcmpError]) -> Finding:
    """TFTP_NO_RESPONSE for read requests answered only by ICMP destination unreachable:
    names the ICMP, its sender and what its code means."""
    names = ", ".join(sorted({basename(t.filename) for t in lst}))
    cause = icmp.worst_cause(ic)
    first = icmp.first_of(ic, cause)
    n = sum(len(t.request_frames) or 1 for t in lst)
    summary = (f"TFTP server {label(ctx, server)} did not serve {n} read request"
               f"{'s' if n > 1 else ''} ({names}): " + icmp.summary_tail(
                   icmp.TFTP, TFTP_PORT, cause, ic, label(ctx, first.reporter),
                   sent="request"))
    lines = [transfer_text(t) + f" (frames {', '.join(map(str, t.request_frames))})"
             for t in lst]
    lines += [f"frame {i.frame}: {icmp.icmp_text(i, label(ctx, i.reporter))}, quoting "
              f"the read request from port {i.quoted.client_port}" for i in ic]
    frames = [f for t in lst for f in t.frames] + [i.frame for i in ic]
    client = ic[0].quoted.client
    f = ipf(client)
    filt = (f"({transfer_filter(lst)}) || ({'icmp' if f == 'ip' else 'icmpv6'} && "
            f"{f}.addr=={client} && {f}.addr=={server} && udp.port=={TFTP_PORT})")
    fix = " ".join(
        icmp.remediation(icmp.TFTP, TFTP_PORT, c, icmp.first_of(ic, c), client,
                         label(ctx, server), label(ctx, icmp.first_of(ic, c).reporter))
        for c in icmp.CAUSE_ORDER if any(icmp.cause(i) == c for i in ic))
    times = [t.first_ts for t in lst] + [t.last_ts for t in lst] + [i.ts for i in ic]
    return make(
        ctx, "TFTP_NO_RESPONSE", phone, server_ident(ctx, server, TFTP_PORT), summary,
        "\n".join(lines), frames, filt, conn=None, remediation=fix,
        times=(min(times), max(times)),
        _facts=[facts.transfer(t) for t in lst] + [facts.icmp(i) for i in ic],
        cause=cause, reported_by=first.reporter,
    )


def not_attempted(ctx: Context, phone: PhoneState, found: list[Finding]) -> list[Finding]:
    """CAPF_NOT_ATTEMPTED: an automatic operation is pending, enough capture follows the
    config, and no connection to CAPF. Not judged when an error already found for the
    phone (a name that does not resolve, a trust list it rejects) explains the silence."""
    cfgs = [c for c in phone.configs if c.config is not None and c.config.observable]
    if not cfgs or any(f.severity == "error" or f.code in EXPLAINED_BY_CONFIG for f in found):
        return []
    cs = max(cfgs, key=lambda c: c.transfer.frames[-1] if c.transfer.frames else 0)
    cfg = cs.config
    assert cfg is not None
    if cfg.capf_auth_mode not in (2, 3, 4):
        return []
    after = cs.transfer.frames[-1] if cs.transfer.frames else 0
    if any(is_capf(phone, c.key.server_port)
           and c.key.client in phone.addrs and c.frames[-1] > after for c in phone.conns):
        return []
    t = cs.transfer
    j = judge(ctx, phone, what=f"the config download ({basename(t.filename)})",
              last_ts=t.last_ts, wait=CAPF_WAIT, retried=False, server=None,
              due="its connection to CAPF")
    if not j.stands:
        withhold(ctx, "CAPF_NOT_ATTEMPTED", phone, j, list(t.frames))
        return []
    capf = ", ".join(f"{h or '(empty)'}:{p}" for h, p in cfg.capf_servers) or "(no capfList)"
    return [make(
        ctx, "CAPF_NOT_ATTEMPTED", phone, {},
        f"Config asks for a CAPF operation ({AUTH_MODES.get(cfg.capf_auth_mode or 0)}) but the "
        f"phone never connected to CAPF {capf}",
        f"{basename(t.filename)} (frames {t.frames[0]}-{t.frames[-1]}): capfAuthMode "
        f"{cfg.capf_auth_mode}, capfList {capf}. No TCP connection to the CAPF port follows. "
        "Check the DNS and trust-list findings for this phone: an unresolvable processNodeName "
        "or a rejected config stops the phone before it connects.",
        t.frames, transfer_filter([t]), times=(t.first_ts, t.last_ts),
        _facts=[facts.transfer(t), facts.unchecked(
            "capfAuthMode in the config file and the absence of a CAPF connection "
            "(Wireshark has no field for either)")],
    )]
