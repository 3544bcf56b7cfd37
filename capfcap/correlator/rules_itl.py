"""ITL_MISMATCH: the phones of one capture received different ITLs (DOMAIN §1, FIELD D6).

Phones are grouped by the ITL they received (the file's SHA-256), across every TFTP/HTTP
server. When one ITL was received by more phones than any other, each phone that received
another one, differing in signer or CAPF certificate, is warned once; a phone that received
only the majority ITL is not. Without such a majority (two phones and two ITLs, or a tie)
the capture cannot tell which ITL is the cluster's current one: one capture-level finding
lists the groups. When a single server served them all, its ITL changed during the capture
(a signer or CAPF change), and the finding says so instead of looking for an odd server.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from capfcap.correlator import facts
from capfcap.correlator.common import Context, frames_filter, label, make, server_ident
from capfcap.correlator.ports import is_capf
from capfcap.correlator.state import PhoneState
from capfcap.events import TrustList, TrustListSeen
from capfcap.findings import Finding


@dataclass(frozen=True)
class ItlGroup:
    """One distinct ITL and the phones that received it: `seen[i]` is `phones[i]`'s first
    download of it."""

    sha256: str
    itl: TrustList
    seen: tuple[TrustListSeen, ...]
    phones: tuple[PhoneState, ...]

    def servers(self) -> list[str]:
        return sorted({s.transfer.server for s in self.seen})

    def first_frame(self) -> int:
        return min(s.transfer.frames[0] if s.transfer.frames else 0 for s in self.seen)


def itl_groups(phones: dict[str, PhoneState]) -> list[ItlGroup]:
    """Distinct parsed ITLs, in the order of their first download."""
    itls: dict[str, TrustList] = {}
    first: dict[str, dict[str, TrustListSeen]] = {}  # SHA-256 -> phone -> first download
    for ip in sorted(phones):
        for tl in phones[ip].trust_lists:
            itl = tl.trust_list
            if itl is not None and itl.kind == "ITL":
                itls.setdefault(itl.sha256, itl)
                first.setdefault(itl.sha256, {}).setdefault(ip, tl)
    groups = [ItlGroup(sha, itls[sha], tuple(by_ip.values()), tuple(phones[ip] for ip in by_ip))
              for sha, by_ip in first.items()]
    return sorted(groups, key=ItlGroup.first_frame)


def majority(groups: list[ItlGroup]) -> ItlGroup | None:
    """The ITL more phones received than any other; None on a tie."""
    top = max(len(g.phones) for g in groups)
    leaders = [g for g in groups if len(g.phones) == top]
    return leaders[0] if len(leaders) == 1 else None


def _capf_set(tl: TrustList) -> frozenset[str]:
    return frozenset(r.cert.der_sha256 if r.cert else r.cert_hash for r in tl.capf_records())


def differences(a: TrustList, b: TrustList) -> list[str]:
    """What sets two ITLs apart for a phone: the signer (SAST) and the CAPF certificates."""
    out = []
    if a.signer_serial != b.signer_serial or a.signer != b.signer:
        out.append(f"signer {a.signer} (serial {a.signer_serial}) vs {b.signer} "
                   f"(serial {b.signer_serial})")
    if _capf_set(a) != _capf_set(b):
        ca = ", ".join(sorted(x[:16] for x in _capf_set(a))) or "none"
        cb = ", ".join(sorted(x[:16] for x in _capf_set(b))) or "none"
        out.append(f"CAPF certificate SHA-256 {ca} vs {cb}")
    return out


def _servers_text(ctx: Context, g: ItlGroup) -> str:
    return ", ".join(label(ctx, s) for s in g.servers())


def _count(n: int) -> str:
    return f"{n} phone{'s' if n != 1 else ''}"


def _group_line(ctx: Context, g: ItlGroup) -> str:
    capf = ", ".join(sorted(x[:16] for x in _capf_set(g.itl))) or "none"
    return (f"ITL {g.sha256[:16]} (signer {g.itl.signer}, serial {g.itl.signer_serial}; "
            f"CAPF {capf}) from {_servers_text(ctx, g)}: {_count(len(g.phones))} ("
            + ", ".join(p.ip for p in g.phones) + ")")


def presented_capf(phones: dict[str, PhoneState]) -> dict[str, int]:
    """DER SHA-256 of each leaf certificate a CAPF server presented (-> its frame)."""
    out: dict[str, int] = {}
    for p in phones.values():
        for s in p.tls:
            if is_capf(p, s.key.server_port) and s.server_certs:
                out.setdefault(s.server_certs[0].der_sha256, s.cert_frame or 0)
    return out


def mismatch_findings(ctx: Context, phones: dict[str, PhoneState]) -> list[Finding]:
    groups = itl_groups(phones)
    if len(groups) < 2:
        return []
    major = majority(groups)
    if major is None:
        if not any(differences(a.itl, b.itl) for a, b in combinations(groups, 2)):
            return []
        return [_no_majority(ctx, groups, presented_capf(phones))]
    out: list[Finding] = []
    warned: set[str] = set()
    for g in groups:
        diffs = [] if g is major else differences(g.itl, major.itl)
        if not diffs:
            continue
        for p, seen in zip(g.phones, g.seen, strict=True):
            if p.ip not in warned:
                warned.add(p.ip)
                out.append(_minority(ctx, p, seen, g, major, groups, diffs))
    return out


def _changed_fix(srv: str, n: int, who: str = "this phone so it downloads") -> str:
    """The fix when one server served `n` different ITLs over the capture."""
    return (f"{srv} served {'two' if n == 2 else n} different ITLs during the capture. If its "
            f"certificates were changed meanwhile, reset {who} the current ITL; if the phone "
            "then rejects it (its installed ITL predates a signer change), run 'utils itl "
            "reset localkey' (or 'remote') on the publisher, or erase the trust list on the "
            "phone.")


def _minority(ctx: Context, phone: PhoneState, seen: TrustListSeen, g: ItlGroup,
              major: ItlGroup, groups: list[ItlGroup], diffs: list[str]) -> Finding:
    ta, tb = seen.transfer, major.seen[0].transfer
    total = len({p.ip for x in groups for p in x.phones})
    srv = label(ctx, ta.server)
    lines = ["; ".join(diffs) + ".", "ITLs received in this capture:"]
    lines += ["  " + _group_line(ctx, x) for x in groups]
    if any(q is phone for q in major.phones):
        lines.append("This phone received the majority ITL as well.")
    same = ta.server in major.servers()
    if same:
        lines.append(f"{srv} served both ITLs: its ITL changed during the capture.")
        fix = _changed_fix(srv, 2)
    else:
        fix = (f"Make the TFTP servers of one cluster serve the same ITL: {srv} serves a "
               f"different ITL from {_servers_text(ctx, major)}. If it belongs to this "
               "cluster, check its signer and CAPF record ('show itl' on it), restart the "
               "Cisco TFTP service on it, then reset this phone. If it belongs to another "
               "cluster, the phone's TFTP server (DHCP option 150) is wrong; to move phones "
               "between clusters use Bulk Certificate Management export/consolidate (or "
               "'Prepare Cluster for Rollback to pre-8.0') before changing option 150, not "
               "a bulk ITL reset. A phone that already rejects this cluster's ITL needs "
               "'utils itl reset localkey' (or 'remote') on the publisher, or its trust "
               "list erased.")
    frames = list(ta.frames) + list(tb.frames)
    return make(
        ctx, "ITL_MISMATCH", phone, server_ident(ctx, ta.server, ta.server_port),
        f"ITL from {srv} (SHA-256 {g.sha256[:16]}) differs from the ITL "
        f"{len(major.phones)} of {total} phones received ({major.sha256[:16]} from "
        f"{_servers_text(ctx, major)})",
        "\n".join(lines), frames, frames_filter(frames), remediation=fix,
        times=(min(ta.first_ts, tb.first_ts), max(ta.last_ts, tb.last_ts)),
        itl_sha256=g.sha256, majority_itl_sha256=major.sha256,
        _facts=[facts.transfer(ta), facts.transfer(tb), facts.itl_content()],
    )


def _no_majority(ctx: Context, groups: list[ItlGroup], live: dict[str, int]) -> Finding:
    """`live`: the CAPF certificates presented on the wire, which tell a stale CAPF record
    from the current one even without a majority."""
    total = len({p.ip for g in groups for p in g.phones})
    first = groups[0]
    lines = ["ITLs received in this capture:"]
    lines += ["  " + _group_line(ctx, g) for g in groups]
    lines += [f"{first.sha256[:16]} vs {g.sha256[:16]}: " + "; ".join(d)
              for g in groups[1:] if (d := differences(first.itl, g.itl))]
    servers = sorted({s for g in groups for s in g.servers()})
    one = label(ctx, servers[0]) if len(servers) == 1 else ""
    if one:  # a single server: the ITL changed over time, no server is the odd one out
        lines.append(f"{one} served every one of them: its ITL changed during the capture.")
    else:
        lines.append("No ITL was received by more phones than the others, so the counts "
                     "cannot tell which one is the cluster's current ITL.")
    current = [g for g in groups if _capf_set(g.itl) & set(live)]
    stale = [g for g in groups if g not in current]
    fix = _changed_fix(one, len(groups), "the phones so they download") if one else None
    ts = [g.seen[0].transfer for g in groups]
    frames = [f for t in ts for f in t.frames]
    if current and stale and not one:
        cert = sorted(_capf_set(current[0].itl) & set(live))[0]
        frames.append(live[cert])
        lines.append(f"The CAPF server presents certificate {cert[:16]} (frame {live[cert]}), "
                     f"the CAPF record of ITL {current[0].sha256[:16]}: the CAPF record of "
                     + ", ".join(f"ITL {g.sha256[:16]} (from {_servers_text(ctx, g)})"
                                 for g in stale) + " is stale.")
        fix = ("Make the TFTP servers of one cluster serve the same ITL: the ITL from "
               + ", ".join(_servers_text(ctx, g) for g in stale) + " carries a CAPF "
               "certificate the CAPF server no longer presents. Check that node's signer and "
               "CAPF record ('show itl'), restart the Cisco TFTP service on it, then reset the "
               "phones it serves. If it belongs to another cluster, correct the phones' TFTP "
               "server (DHCP option 150) instead; to move phones between clusters use Bulk "
               "Certificate Management export/consolidate, not a bulk ITL reset.")
    anon = PhoneState(ip="", first_frame=0)
    return make(
        ctx, "ITL_MISMATCH", anon, {},
        (f"{one} served {len(groups)} different ITLs during the capture, to "
         f"{_count(total)}: " if one else
         f"{len(groups)} different ITLs reached {_count(total)}, none a majority: ")
        + "; ".join(f"{g.sha256[:16]} from {_servers_text(ctx, g)} to "
                    + ", ".join(p.ip for p in g.phones) for g in groups),
        "\n".join(lines), frames, frames_filter(frames), remediation=fix,
        times=(min(t.first_ts for t in ts), max(t.last_ts for t in ts)),
        itl_sha256=[g.sha256 for g in groups],
        _facts=[facts.transfer(t) for t in ts] + [facts.itl_content()],
    )
