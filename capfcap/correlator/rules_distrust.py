"""Trust around enrolment (FIELD D1, D4): a phone locked to another trust list, the CTL's
CAPF record, and TVS vouching for a CAPF certificate the ITL lacks (DOMAIN §1, §3.5).

A phone holding an ITL/CTL of another cluster (or from before a signer change) cannot
verify the new ITL's signature nor the signed config: it keeps asking the TVS of its old
trust list, rejects this cluster's TVS, or downloads ITL and config again and again, and
never contacts CAPF. Restarting TFTP serves the same files, signed by the same signer the
phone distrusts; only an ITL reset (`utils itl reset`, signed by the ITLRecovery key the
phone does hold) or erasing the phone's trust list recovers it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from capfcap.correlator import facts
from capfcap.correlator.common import (
    Context,
    alert_name,
    frames_filter,
    label,
    make,
    server_ident,
    transfer_filter,
    transfer_text,
)
from capfcap.correlator.evidence import CAPF_WAIT, judge, withhold
from capfcap.correlator.ports import is_capf, is_tvs
from capfcap.correlator.state import PhoneState, is_ip
from capfcap.events import CertInfo, ConfigSeen, TlsSession, TrustListSeen
from capfcap.filenames import basename
from capfcap.findings import Finding

LOOP_MIN = 3  # config downloads, each after a trust-list download, that make a loop
TVS_ROLE = 21  # ITL record function code of a TVS certificate (DOMAIN §1.3)


# -- PHONE_DISTRUSTS_CLUSTER ---------------------------------------------------------------
def _configs(p: PhoneState) -> list[ConfigSeen]:
    return sorted((c for c in p.configs if c.config is not None and c.config.observable),
                  key=lambda c: c.transfer.frames[-1] if c.transfer.frames else 0)


def _itls(p: PhoneState) -> list[TrustListSeen]:
    return [t for t in p.trust_lists if t.trust_list is not None]


def _members(ctx: Context, p: PhoneState, cfg: ConfigSeen) -> tuple[set[str], list[str]]:
    """Addresses of the config's TVS members (DNS answers in the capture, literals, and the
    addresses in the TVS records of the ITL), and the members no address is known for."""
    assert cfg.config is not None
    addrs: set[str] = set()
    unknown: list[str] = []
    for host, _port in cfg.config.tvs_servers:
        h = host.strip().lower().rstrip(".")
        if is_ip(h):
            addrs.add(h)
        elif ctx.state.answers.get(h):
            addrs |= ctx.state.answers[h]
        else:
            unknown.append(h)
    for tl in _itls(p):
        assert tl.trust_list is not None
        for r in tl.trust_list.records:
            if r.role == TVS_ROLE and r.ip_address:
                addrs.add(r.ip_address)
    return addrs, unknown


@dataclass(frozen=True)
class _Signal:
    text: str
    frames: tuple[int, ...]
    absorbs: str = ""  # a TVS server whose connection findings this one explains
    facts: tuple[facts.Fact, ...] = ()


def _foreign_tvs(ctx: Context, p: PhoneState, cfg: ConfigSeen, after: int) -> _Signal | None:
    assert cfg.config is not None
    conns = [c for c in p.conns if c.key.client in p.addrs and is_tvs(p, c.key.server_port)
             and c.frames and c.frames[0] > after]
    if not conns or not cfg.config.tvs_servers:
        return None
    members, unknown = _members(ctx, p, cfg)
    if unknown:
        return None  # cannot tell a member from a stranger without its address
    foreign = [c for c in conns if c.key.server not in members]
    if not foreign:
        return None
    server = foreign[0].key.server
    mine = [c for c in foreign if c.key.server == server]
    served = ", ".join(f"{h}:{pt}" for h, pt in cfg.config.tvs_servers)
    return _Signal(
        f"After taking its config the phone asked TVS at {label(ctx, server)} "
        f"({len(mine)} connection{'s' if len(mine) > 1 else ''}, "
        f"{', '.join(f'{c.conn_state} frame {c.frames[0]}' for c in mine[:5])}), which is "
        f"not a TVS member of the config it was served ({served} = "
        f"{', '.join(sorted(members)) or 'no address'}): the address comes from the trust "
        f"list the phone already held.",
        tuple(f for c in mine for f in c.frames), absorbs=server,
        facts=tuple(facts.tcp(c) for c in mine))


def _tvs_alert(ctx: Context, p: PhoneState, after: int) -> _Signal | None:
    for s in sorted(p.tls, key=lambda s: s.frames[0] if s.frames else 0):
        if not is_tvs(p, s.key.server_port) or s.key.client not in p.addrs:
            continue
        if not s.frames or s.frames[0] <= after or s.handshake_done:
            continue
        if tvs_outside_itl(p, s) is not None:
            continue  # the ITL it took lacks that certificate too: TVS_CERT_MISMATCH
        a = next((a for a in s.alerts if a.sender == "client" and not a.encrypted
                  and a.level == 2 and a.description), None)
        if a is not None:
            return _Signal(
                f"The phone itself aborted TLS to TVS {label(ctx, s.key.server)} with fatal "
                f"{alert_name(a.description)} (frame {a.frame}): it does not trust this "
                f"cluster's TVS certificate.", tuple(s.frames), absorbs=s.key.server,
                facts=(facts.tls(s),))
    return None


def _loop(ctx: Context, p: PhoneState, cfgs: list[ConfigSeen]) -> _Signal | None:
    """Trust list and config downloaded again and again: rounds are config downloads that
    follow a trust-list download."""
    tls_frames = sorted(t.transfer.frames[-1] for t in _itls(p) if t.transfer.frames)
    rounds: list[ConfigSeen] = []
    prev = 0
    for c in cfgs:
        end = c.transfer.frames[-1]
        if any(prev < f < end for f in tls_frames):
            rounds.append(c)
        prev = end
    if len(rounds) < LOOP_MIN:
        return None
    # each round but the last is proven unanswered by the phone starting the next one; the
    # last only when the capture goes on for CAPF_WAIT after it (DESIGN §4 rule 1)
    last = rounds[-1].transfer
    j = judge(ctx, p, what=f"the last config download ({basename(last.filename)})",
              last_ts=last.last_ts, wait=CAPF_WAIT, retried=False, server=None,
              due="its connection to CAPF")
    if not j.stands:
        rounds = rounds[:-1]
        if len(rounds) < LOOP_MIN:
            withhold(ctx, "PHONE_DISTRUSTS_CLUSTER", p, j, list(last.frames))
            return None
    first, last = rounds[0].transfer, rounds[-1].transfer
    period = (last.first_ts - first.first_ts) / (len(rounds) - 1) / 1e9
    return _Signal(
        f"The phone downloaded its trust list and config {len(rounds)} times, about every "
        f"{period:.0f} s (frames {first.frames[0]}-{last.frames[-1]}), and never connected "
        f"to CAPF in between: it rejects what it downloads and starts over.",
        tuple(f for r in rounds for f in r.transfer.frames))


def _capf_contacted(p: PhoneState, cfg: ConfigSeen, after: int) -> bool:
    assert cfg.config is not None
    return any(c.key.client in p.addrs and is_capf(p, c.key.server_port) and c.frames
               and c.frames[-1] > after for c in p.conns)


def distrust_findings(ctx: Context, p: PhoneState, found: list[Finding]) -> list[Finding]:
    """PHONE_DISTRUSTS_CLUSTER, from positive evidence (a TVS outside the served config, a
    phone-side alert on TVS) or from a download loop judged over time (DESIGN §4)."""
    cfgs = _configs(p)
    if not cfgs or not _itls(p):
        return []
    cfg = cfgs[-1]
    after = cfg.transfer.frames[-1]
    if _capf_contacted(p, cfgs[0], cfgs[0].transfer.frames[-1]):
        return []
    assert cfg.config is not None
    pending = cfg.config.capf_auth_mode in (1, 2, 3, 4)
    sig = _foreign_tvs(ctx, p, cfg, after) or _tvs_alert(ctx, p, after)
    if sig is None and cfg.config.capf_auth_mode in (2, 3, 4):
        sig = _loop(ctx, p, cfgs)
    if sig is None:
        return []
    held = [t for t in _itls(p) if t.transfer.frames and t.transfer.frames[-1] < after]
    took = held[-1].transfer if held else cfg.transfer
    frames = sorted({*took.frames, *cfg.transfer.frames, *sig.frames})
    absorbed = [f for f in found if sig.absorbs and f.code.startswith("TVS_")
                and f.server.get("ip") == sig.absorbs]
    detail = [
        f"The phone took {transfer_text(took)} and {transfer_text(cfg.transfer)}.",
        sig.text,
        ("No connection to CAPF follows, although the config asks for an operation "
         f"(capfAuthMode {cfg.config.capf_auth_mode})." if pending else
         "No connection to CAPF follows."),
        "Restarting TFTP does not help: it serves the same files, signed by a signer the "
        "phone's old trust list does not hold. The phone accepts a new ITL only when it is "
        "signed by a key of the trust list it already has (the ITLRecovery key after an ITL "
        "reset), or after its trust list is erased.",
    ]
    if absorbed:
        detail.append("Explains: " + "; ".join(f"{f.code} ({f.summary})" for f in absorbed))
    for f in absorbed:
        found.remove(f)
    return [make(
        ctx, "PHONE_DISTRUSTS_CLUSTER", p, server_ident(ctx, took.server, took.server_port),
        "The phone holds another cluster's trust list: it took this cluster's ITL and config "
        "but acts on its old trust list" + (" and never contacts CAPF" if pending else ""),
        "\n".join(detail), frames, frames_filter(frames),
        times=(took.first_ts, max(ctx.frame_ts.get(frames[-1], cfg.transfer.last_ts),
                                  cfg.transfer.last_ts)),
        _facts=[facts.transfer(took), facts.transfer(cfg.transfer), *sig.facts, facts.unchecked(
            "the TVS members of the config and the phone's own trust list (Wireshark has no "
            "field for either)")],
    )]


# -- TVS_CERT_MISMATCH -----------------------------------------------------------------------
def tvs_outside_itl(p: PhoneState, s: TlsSession) -> TrustListSeen | None:
    """The ITL the phone took before TLS session `s` to TVS, when it has TVS (role 21)
    records with certificates and none is the certificate TVS presented; else None."""
    if not s.server_certs:
        return None
    itl = latest_list(p, "ITL", s.frames[0] if s.frames else None)
    if itl is None or itl.trust_list is None:
        return None
    tvs = {r.cert.der_sha256 for r in itl.trust_list.records if r.role == TVS_ROLE and r.cert}
    return itl if tvs and s.server_certs[0].der_sha256 not in tvs else None


def tvs_mismatch(ctx: Context, p: PhoneState, s: TlsSession, leaf: CertInfo,
                 srv: dict[str, object]) -> list[Finding]:
    """TVS_CERT_MISMATCH: the phone did not complete TLS with a TVS whose certificate is in
    none of the TVS records of the ITL it took (a TVS certificate regenerated and TFTP not
    restarted). A completed handshake shows the phone trusts it after all: no finding."""
    itl = tvs_outside_itl(p, s)
    if itl is None or s.handshake_done:
        return []
    assert itl.trust_list is not None
    t = itl.transfer
    recs = [r for r in itl.trust_list.records if r.role == TVS_ROLE and r.cert]
    lines = [f"Presented (frame {s.cert_frame}): {leaf.subject}, serial {leaf.serial}, "
             f"SHA-256 {leaf.der_sha256}.",
             f"ITL {transfer_text(t)} (frames {t.frames[0]}-{t.frames[-1]}) TVS records: "
             + "; ".join(f"{r.cert.subject}, serial {r.cert.serial}, SHA-256 "
                         f"{r.cert.der_sha256}" for r in recs if r.cert) + ".",
             "Compared by DER hash; the subject names may well be equal. A phone holding "
             "this ITL cannot verify that TVS, whatever trust list it held before."]
    frames = sorted({*t.frames, *([s.cert_frame] if s.cert_frame else s.frames)})
    return [make(
        ctx, "TVS_CERT_MISMATCH", p, srv,
        f"TVS on {label(ctx, s.key.server)} presents a certificate that is in none of the "
        f"TVS records of the phone's ITL ({basename(t.filename)})",
        "\n".join(lines), frames,
        f"({transfer_filter([t])}) || frame.number == {s.cert_frame}",
        cert_sha256=leaf.der_sha256,
        _facts=[facts.transfer(t), facts.cert(s.cert_frame, leaf.der_sha256),
                facts.unchecked("the ITL TVS records (Wireshark has no ITL dissector)")],
    )]


# -- CAPF_CERT_MISMATCH against the CTL and the ITL ------------------------------------------
def latest_list(p: PhoneState, kind: str, before: int | None) -> TrustListSeen | None:
    """The phone's last parsed trust list of this kind (ITL or CTL) before a frame."""
    best: TrustListSeen | None = None
    for tl in p.trust_lists:
        if tl.trust_list is None or tl.trust_list.kind != kind or not tl.transfer.frames:
            continue
        if before is not None and tl.transfer.frames[-1] > before:
            continue
        if best is None or tl.transfer.frames[-1] > best.transfer.frames[-1]:
            best = tl
    return best


def _hashes(tl: TrustListSeen) -> set[str]:
    assert tl.trust_list is not None
    caps = tl.trust_list.capf_records()
    return {r.cert.der_sha256 for r in caps if r.cert} | {
        r.cert_hash.lower() for r in caps if r.cert_hash}


def _hash_text(h: str) -> str:
    """A certificate hash named by its algorithm (a CERTHASH may be SHA-1: 40 hex digits)."""
    return f"SHA-1 {h}" if len(h) == 40 else f"SHA-256 {h}"


def ctl_note(p: PhoneState, s: TlsSession) -> str:
    """For a TLS failure on the CAPF port: the CTL the phone holds (mixed mode), through
    which it trusts CAPF (FIELD D4; DOMAIN §1.9: CTLFile.tlv only in mixed mode)."""
    if not is_capf(p, s.key.server_port):
        return ""
    ctl = latest_list(p, "CTL", s.frames[0] if s.frames else None)
    if ctl is None or ctl.trust_list is None:
        return ""
    t = ctl.transfer
    n = len(ctl.trust_list.capf_records())
    return (f" The phone also holds a CTL ({basename(t.filename)}, frames {t.frames[0]}-"
            f"{t.frames[-1]}) with {n} CAPF record(s): in mixed mode it trusts CAPF through "
            "the CTL.")


def stale_ctl(p: PhoneState, s: TlsSession) -> TrustListSeen | None:
    """The CTL the phone holds when it, and not the ITL, lacks the certificate presented on
    the CAPF port: the ITL's CAPF records hold it, the CTL's (mixed mode) do not."""
    if not s.server_certs or not is_capf(p, s.key.server_port):
        return None
    before = s.frames[0] if s.frames else None
    ctl, itl = latest_list(p, "CTL", before), latest_list(p, "ITL", before)
    if ctl is None or itl is None or ctl.trust_list is None or itl.trust_list is None:
        return None
    if not ctl.trust_list.capf_records():
        return None
    leaf = s.server_certs[0]
    mine = {leaf.der_sha256, leaf.der_sha1}
    return ctl if mine & _hashes(itl) and not mine & _hashes(ctl) else None


CTL_FIX = ("Update the CTL after the CAPF certificate change (`utils ctl update CTLFile` in "
           "mixed mode), restart the Cisco CAPF, TVS and TFTP services, then reset the phones.")


def capf_mismatch(ctx: Context, p: PhoneState, s: TlsSession, leaf: CertInfo,
                  srv: dict[str, object], itl: TrustListSeen | None) -> list[Finding]:
    """CAPF_CERT_MISMATCH: the certificate on the CAPF port is not the CAPF record of the
    CTL and/or the ITL the phone downloaded (compared by DER hash)."""
    ctl = latest_list(p, "CTL", s.frames[0] if s.frames else None)
    lists = [(n, tl) for n, tl in (("CTL", ctl), ("ITL", itl))
             if tl is not None and tl.trust_list is not None and tl.trust_list.capf_records()]
    differ = [(n, tl) for n, tl in lists
              if leaf.der_sha256 not in _hashes(tl) and leaf.der_sha1 not in _hashes(tl)]
    if not differ:
        return []
    which = " and ".join(n for n, _tl in differ)
    lines = [f"Presented (frame {s.cert_frame}): {leaf.subject}, serial {leaf.serial}, "
             f"SHA-256 {leaf.der_sha256}."]
    for n, tl in lists:
        t = tl.transfer
        ours = ", ".join(_hash_text(h) for h in sorted(_hashes(tl)))  # whole, as presented
        state = "" if ctl is None else (": differs" if (n, tl) in differ else ": matches")
        lines.append(f"{n} {transfer_text(t)} (frames {t.frames[0]}-{t.frames[-1]}) CAPF "
                     f"record {ours}{state}.")
    lines.append("Compared by DER hash; the subject names may well be equal.")
    if ctl is not None:
        lines.append("Differs from: " + ("both lists (CTL and ITL)" if len(differ) == 2
                                         else f"the {which} only") + ".")
    frames = [f for _n, tl in differ for f in tl.transfer.frames]
    frames += [s.cert_frame] if s.cert_frame else list(s.frames)
    fix = CTL_FIX if which == "CTL" else None
    if len(differ) == 2:
        fix = CTL_FIX + " Also restart the Cisco TFTP service on all nodes so the ITL carries " \
                        "the current CAPF certificate."
    f = make(
        ctx, "CAPF_CERT_MISMATCH", p, srv,
        f"CAPF on {label(ctx, s.key.server)} presents a certificate that is not the CAPF "
        f"record of the phone's {which}",
        "\n".join(lines), frames,
        " || ".join(f"({transfer_filter([tl.transfer])})" for _n, tl in differ)
        + f" || frame.number == {s.cert_frame}",
        remediation=fix, cert_sha256=leaf.der_sha256,
        _facts=[*(facts.transfer(tl.transfer) for _n, tl in differ),
                facts.cert(s.cert_frame, leaf.der_sha256),
                facts.unchecked(f"the {which} CAPF record (Wireshark has no ITL dissector)")],
    )
    if ctl is not None:
        f.extra["lists"] = [n for n, _tl in differ]
    return [f]


# -- TVS vouching -----------------------------------------------------------------------------
def _tvs_done(s: TlsSession) -> bool:
    """A TVS session that completed: application data both ways (TVS query and answer)."""
    dirs = {r.direction for r in s.records}
    return s.handshake_done and dirs == {"c2s", "s2c"}


def tvs_vouched(p: PhoneState, after: int) -> tuple[TlsSession, TlsSession] | None:
    """(TVS session, CAPF session) when TVS vouched for the CAPF certificate: a completed
    TVS session, then a completed TLS handshake with CAPF."""
    tvs = [s for s in p.tls if is_tvs(p, s.key.server_port) and s.key.client in p.addrs
           and s.frames and s.frames[0] > after and _tvs_done(s)]
    if not tvs:
        return None
    first = min(tvs, key=lambda s: s.frames[0])
    capf = [s for s in p.tls if is_capf(p, s.key.server_port) and s.key.client in p.addrs
            and s.frames and s.frames[0] > first.frames[0] and s.handshake_done]
    if not capf:
        return None
    return first, min(capf, key=lambda s: s.frames[0])


def ctl_vouched(p: PhoneState, after: int) -> tuple[TrustListSeen, TlsSession] | None:
    """(CTL, CAPF session) when the CTL the phone holds (mixed mode) carries the certificate
    CAPF presented on a completed TLS handshake after frame `after`."""
    for s in sorted(p.tls, key=lambda s: s.frames[0] if s.frames else 0):
        if not (is_capf(p, s.key.server_port) and s.key.client in p.addrs and s.frames
                and s.frames[0] > after and s.handshake_done and s.server_certs):
            continue
        ctl = latest_list(p, "CTL", s.frames[0])
        leaf = s.server_certs[0]
        if ctl is not None and {leaf.der_sha256, leaf.der_sha1} & _hashes(ctl):
            return ctl, s
    return None


CTL_VOUCHED_FIX = ("CAPF runs: it presented the certificate of the phone's CTL. Restart the "
                   "Cisco TFTP service on all TFTP nodes so the ITL carries the CAPF "
                   "certificate too, then reset the phones.")


def vouch(f: Finding, p: PhoneState, itl_end: int) -> Finding:
    """ITL_NO_CAPF becomes info when TVS, or the CTL (mixed mode), vouched for the CAPF
    certificate."""
    v = tvs_vouched(p, itl_end)
    if v is None:
        c = ctl_vouched(p, itl_end)
        if c is None:
            return f
        ctl, capf = c
        t = ctl.transfer
        return replace(
            f, severity="info", remediation=CTL_VOUCHED_FIX,
            summary=f.summary + "; the CTL vouched for the CAPF certificate",
            detail=f.detail + f"\nThe CTL the phone holds ({basename(t.filename)}, frames "
            f"{t.frames[0]}-{t.frames[-1]}) carries the certificate CAPF presented, and TLS "
            f"to CAPF succeeded (frame {capf.frames[0]}): in mixed mode the phone trusts "
            "CAPF through the CTL, so the missing ITL record did not stop the enrolment; the "
            "CAPF outcome decides.",
            extra={**f.extra, "ctl_vouched": True})
    tvs, capf = v
    return replace(
        f, severity="info",
        summary=f.summary + "; TVS vouched for the CAPF certificate",
        detail=f.detail + f"\nThe phone's TVS session completed (TCP {tvs.key.client_port} -> "
        f"{tvs.key.server}:{tvs.key.server_port}, frames {tvs.frames[0]}-{tvs.frames[-1]}, "
        f"application data both ways) and TLS to CAPF then succeeded (frame "
        f"{capf.frames[0]}): TVS vouched for the CAPF certificate, so the missing record did "
        f"not stop the enrolment; the CAPF outcome decides.",
        extra={**f.extra, "tvs_vouched": True})

