"""CAPF session outcomes as findings (DOMAIN §3.2, §3.3, §3.5; FIELD F1-F6, A4): one per
CAPF session that completed TLS, classified by `capf_outcome.classify`, with the fix that
follows its cause; a cut that went silent is judged as silence (DESIGN §4).
"""

from __future__ import annotations

from capfcap.correlator import facts
from capfcap.correlator.capf_outcome import TLS13, Outcome, capf_records, classify
from capfcap.correlator.common import (
    Context,
    conn_of,
    frames_filter,
    ipf,
    make,
    server_ident,
)
from capfcap.correlator.evidence import Judgement, disordered, duration, judge, withhold
from capfcap.correlator.ports import is_capf
from capfcap.correlator.state import PhoneState
from capfcap.events import TlsSession
from capfcap.findings import Finding

# The fix follows the cause (FIELD §c item 11); None: the catalog's fix.
FIXES: dict[str, str] = {
    "unknown_device": (
        "CAPF does not know this device name: check in Cisco Unified CM Administration > "
        "Device > Phone that the phone (SEP<MAC>) exists on this cluster with that exact "
        "name, that its Certificate Operation is saved, and that the phone is pointed at "
        "this cluster's publisher."),
    "no_operation": (
        "CAPF has no operation for the phone, or its deadline passed: in Cisco Unified CM "
        "Administration > Device > Phone set Certificate Operation to Install/Upgrade with "
        "an Operation Completes By date in the future, Save, Apply Config and reset the "
        "phone."),
    "auth_string": (
        "The authentication string was rejected: enter it again on the phone (Settings > "
        "Admin Settings > Security Setup > LSC > Update) exactly as shown on the phone's page "
        "in CUCM (Device > Phone, CAPF Information), or generate a new string, Save and Apply "
        "Config."),
    "auth_certificate": (
        "The phone's existing certificate was rejected: if its LSC was issued by a CAPF "
        "certificate that has since been regenerated, re-import that CAPF certificate into "
        "CAPF-trust (Cisco Unified OS Administration > Security > Certificate Management); if "
        "its MIC has expired, set Authentication Mode to By Null String or By Authentication "
        "String, Save and Apply Config."),
    "after_key": (
        "CAPF ended the session after the phone sent its key, without a certificate: with "
        "Online CA check the CAPF-to-CA enrolment (CA reachable, certificate template, "
        "credentials); otherwise check that the operation was not cancelled or expired "
        "while the phone generated its key."),
}


def session_config_mode(phone: PhoneState, s: TlsSession) -> int | None:
    """capfAuthMode of the last readable config the phone downloaded before the session."""
    start = s.frames[0] if s.frames else 0
    best = None
    for cs in phone.configs:
        cfg = cs.config
        if cfg is None or not cfg.observable or not cs.transfer.frames:
            continue
        if cs.transfer.frames[-1] < start and (
                best is None or cs.transfer.frames[-1] > best[0]):
            best = (cs.transfer.frames[-1], cfg.capf_auth_mode)
    return best[1] if best else None


def capf_sessions(phone: PhoneState) -> list[TlsSession]:
    return sorted((s for s in phone.tls if is_capf(phone, s.key.server_port)
                   and s.key.client in phone.addrs), key=lambda x: x.frames[0] if x.frames else 0)


def outcome_of(phone: PhoneState, s: TlsSession) -> Outcome | None:
    conn = conn_of(phone, s)
    return classify(s, conn, session_config_mode(phone, s))


def _filter(s: TlsSession, close: bool) -> str:
    f = ipf(s.key.client)
    base = (f"{f}.addr=={s.key.client} && {f}.addr=={s.key.server} && "
            f"tcp.port=={s.key.server_port} && tcp.port=={s.key.client_port}")
    if close:
        return base + (" && (tls.record.content_type == 23 || tcp.flags.reset == 1 || "
                       "tcp.flags.fin == 1)")
    return base + " && tls.record.content_type == 23"


def judge_cut(ctx: Context, phone: PhoneState, s: TlsSession, oc: Outcome) -> Judgement:
    """May the cut be claimed? Not on a capture that lost part of the session; a session
    that went silent is a verdict of silence (DESIGN §4): the phone's next CAPF connection
    shows it gave up, otherwise the capture must go on for CAPF_ANSWER_WAIT."""
    if oc.unreliable:
        return Judgement(False, oc.unreliable)
    if oc.kind != "silent" or oc.waited_since is None:
        return Judgement(True, "")
    later = any(c.key.server == s.key.server and c.key.client in phone.addrs
                and c.frames and s.frames and c.frames[0] > s.frames[-1]
                for c in phone.conns if c.key.server_port == s.key.server_port)
    j = judge(ctx, phone, what=oc.waiting_for, last_ts=oc.waited_since,
              wait=oc.patience, retried=later, server=s.key.server, due=oc.due)
    if not j.stands:
        return j
    idle = (ctx.end_ts or s.last_ts) - oc.waited_since
    return Judgement(True, f"Nothing followed for {duration(idle)} until the capture ended"
                     + (" and the phone then opened a new CAPF connection" if later else "")
                     + f": {j.why}.")


def outcome_findings(ctx: Context, phone: PhoneState) -> list[Finding]:
    out: list[Finding] = []
    for s in capf_sessions(phone):
        conn = conn_of(phone, s)
        oc = classify(s, conn, session_config_mode(phone, s))
        if oc is None or oc.code is None:
            continue
        recs = capf_records(s)
        frames = [r.frame for r in recs] or list(s.frames)
        if oc.close_frame is not None and conn is not None:
            frames += list(conn.fin_frames) + list(conn.rst_frames)
        if oc.lost:  # it rests on records the capture lost
            withhold(ctx, oc.code, phone, Judgement(False, oc.lost, "records lost"), frames,
                     server=s.key.server)
            continue
        unordered = disordered(ctx, phone)  # the outcome is read from the records' order
        if unordered is not None:
            withhold(ctx, oc.code, phone, unordered, frames, server=s.key.server)
            continue
        extra = ""
        if oc.code == "CAPF_SESSION_CUT":
            j = judge_cut(ctx, phone, s, oc)
            if not j.stands:
                withhold(ctx, "CAPF_SESSION_CUT", phone, j, frames, server=s.key.server)
                continue
            extra = j.why if oc.kind == "silent" else ""
        detail = "Application records: " + ", ".join(
            f"{'server' if r.direction == 's2c' else 'phone'} {r.length} B (frame {r.frame})"
            for r in recs)
        if s.capf_messages:
            detail += ". Decrypted CAPF messages:\n" + "\n".join(
                f"frame {m.frame} {m.command_name} " + ", ".join(
                    f"{k}={v}" for k, v in m.elements) for m in s.capf_messages)
        for more in (oc.detail, extra):
            if more:
                detail += "\n" + more
        v13 = s.version == TLS13
        filt = frames_filter(frames) if v13 or not s.records else _filter(
            s, oc.close_frame is not None)
        out.append(make(
            ctx, oc.code, phone, server_ident(ctx, s.key.server, s.key.server_port),
            oc.summary, detail, frames, filt, times=(s.first_ts, s.last_ts),
            remediation=FIXES.get(oc.kind), confidence=oc.confidence,
            _facts=[facts.records(s)] + ([facts.tcp(conn)] if conn and oc.close_frame else [])
            + [facts.unchecked(
                "the CAPF dialogue itself (Wireshark has no CAPF dissector)"
                if s.capf_messages else
                "the verdict from record sizes (Wireshark cannot see inside the encrypted "
                "CAPF records)")],
        ))
    return out
