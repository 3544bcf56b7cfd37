"""One outcome per CAPF session that completed TLS (DOMAIN §3.2, §3.3, §3.5; FIELD F1-F6, A4).

The server speaks first and has the last word: AUTH_REQUEST opens the dialogue, each
request is answered by the phone (REQUEST_IN_PROGRESS may precede a slow answer), and
END_SESSION closes it. Each CAPF message is one TLS record, so without keys the dialogue
is read from the application-data records: their direction, order and size.

  issued          a ~1 kB server record after the phone's public key (STORE_CERTIFICATE)
  no certificate  S P S: no operation, deadline passed, unknown device (END_SESSION 0/9)
  auth rejected   the phone's AUTH_RESPONSE carries a certificate (> SMALL_MAX) or, in
                  'By Authentication String' mode, the string; CAPF's next record is the end
  delete / fetch  a request shorter than END_SESSION (8-byte DELETE/FETCH request): the
                  phone answers with a small record (delete) or a certificate (fetch)
  session cut     the phone's record is the last one (CAPF owes an answer), or the
                  connection idles after CAPF's last record, then RST/FIN or silence

With a key log the decoded commands and the END_SESSION reason decide instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from capfcap.correlator import facts
from capfcap.correlator.common import AUTH_MODES, Context, frames_filter, ipf, make, server_ident
from capfcap.correlator.evidence import (
    CAPF_ANSWER_WAIT,
    Judgement,
    duration,
    judge,
    withhold,
)
from capfcap.correlator.ports import is_capf
from capfcap.correlator.state import PhoneState
from capfcap.events import CapfMessage, TcpConnection, TlsRecordInfo, TlsSession
from capfcap.findings import Finding

NS = 1_000_000_000
LSC_MIN = 600  # smallest record that can carry STORE_CERTIFICATE_REQUEST (DER LSC)
KEY_MIN = 100  # KEY_GENERATE_RESPONSE: SPKI of an EC P-256 key is ~91 B + headers
SMALL_MAX = 200  # larger than any AUTH_RESPONSE without a certificate (~35 B + string)
TLS13 = 0x0304
TLS13_MIN_CAPF = 8 + 17  # CAPF header + inner type + AEAD tag; shorter: an alert
END_CLOSE_MAX = 5 * NS  # after END_SESSION both sides close at once (capfd, Jabber4Linux)
MAX_PHONE_RUN = 2  # REQUEST_IN_PROGRESS + the answer: more proves lost server records
# The phone generates its key at low priority and may first send REQUEST_IN_PROGRESS
# (DOMAIN §3.4); meanwhile CAPF's keepalive (default 15 min, `utils capf set keep_alive`)
# is the first thing an idle but living session must show.
KEYGEN_WAIT = 15 * 60 * NS
KEYGEN_DUE = "the phone's key or CAPF's keepalive"
OUTCOME_CODES = ("CAPF_LSC_ISSUED", "CAPF_NO_CERTIFICATE", "CAPF_AUTH_FAILED",
                 "CAPF_SESSION_CUT")
_FRAME = re.compile(r" \(frame \d+\)")  # summaries name no frame: live and offline agree
REASON_NO_ACTION = 0
REASON_OK = 1
REASON_UNKNOWN_DEVICE = 9

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


@dataclass(frozen=True)
class Outcome:
    """The verdict on one CAPF session. `code` None: a legitimate Delete or Fetch, which is
    not a fault and gives no finding (the timeline names it)."""

    code: str | None
    kind: str  # issued, no_operation, unknown_device, no_certificate, after_key,
    #            auth_string, auth_certificate, delete, fetch, cut, silent
    summary: str
    confidence: str  # certain (decrypted), high, medium (record sizes)
    detail: str = ""
    close_frame: int | None = None
    waited_since: int | None = None  # "silent": time of the record left unanswered
    waiting_for: str = ""  # "silent": what the capture should have shown
    patience: int = CAPF_ANSWER_WAIT  # "silent": how long the capture must go on
    due: str = "the next CAPF message"  # "silent": what that time is for
    unreliable: str = ""  # why the capture cannot support a cut verdict


def capf_records(s: TlsSession) -> list[TlsRecordInfo]:
    """Application records that can be CAPF messages, in frame order (a capture that lost
    frames hands a direction's records over late)."""
    recs = sorted(s.records, key=lambda r: (r.frame, r.ts))
    if s.version == TLS13:  # 1.3 alerts (close_notify: 2 + 1 + 16) are type-23 records
        recs = [r for r in recs if r.length >= TLS13_MIN_CAPF]
    return recs


def _sizes(recs: list[TlsRecordInfo]) -> str:
    return ", ".join(f"{'S' if r.direction == 's2c' else 'P'}{r.length}" for r in recs)


def _close(conn: TcpConnection | None) -> tuple[int | None, str, str]:
    """(frame, "RST"/"FIN", "CAPF"/"the phone") of the connection's first FIN or RST."""
    if conn is None or not (conn.fin_frames or conn.rst_frames):
        return None, "", ""
    fin = conn.fin_frames[0] if conn.fin_frames else None
    rst = conn.rst_frames[0] if conn.rst_frames else None
    first = min(f for f in (fin, rst) if f is not None)
    how = "RST" if first == rst else "FIN"
    who = {"server": "the CAPF side", "client": "the phone"}.get(conn.close_from or "", "")
    return first, how, who


def _reason(end: CapfMessage) -> int | None:
    v = dict(end.elements).get("REASON", "")
    head = v.split(" ", 1)[0]
    return int(head) if head.isdigit() else None


def _chain(msgs: list[CapfMessage]) -> str:
    return " -> ".join(m.command_name for m in msgs)


def classify(s: TlsSession, conn: TcpConnection | None, auth_mode: int | None
             ) -> Outcome | None:
    """Exactly one outcome for a CAPF session whose TLS handshake completed, else None."""
    if not s.handshake_done:
        return None
    if s.capf_messages:
        return _decrypted(s, conn, auth_mode)
    return _from_sizes(s, conn, auth_mode)


def _decrypted(s: TlsSession, conn: TcpConnection | None, auth_mode: int | None) -> Outcome:
    msgs = sorted(s.capf_messages, key=lambda m: (m.frame, m.direction))
    cmds = [m.command_name for m in msgs]
    chain = _chain(msgs)
    if "STORE_CERTIFICATE_REQUEST" in cmds:
        return Outcome("CAPF_LSC_ISSUED", "issued",
                       f"CAPF delivered a certificate (decrypted dialogue: {chain})", "certain")
    ends = [m for m in msgs if m.command_name == "END_SESSION" and m.direction == "s2c"]
    if not ends:
        last = msgs[-1]
        who = "phone's" if last.direction == "c2s" else "CAPF's"
        oc = _cut(s, conn, last.ts, f"{who} {last.command_name} (frame {last.frame})",
                  f"decrypted: {chain}; no END_SESSION", "certain")
        if last.direction == "c2s" and last.command_name == "REQUEST_IN_PROGRESS":
            return replace(oc, patience=KEYGEN_WAIT, due=KEYGEN_DUE)
        return oc
    end = ends[-1]
    reason = _reason(end)
    why = dict(end.elements).get("REASON", "no reason element")
    head = f"(decrypted: {chain}; END_SESSION reason {why})"
    auth = next((m for m in msgs if m.command_name == "AUTH_RESPONSE"), None)
    auth_els = {k for k, _v in auth.elements} if auth is not None else set()
    right_after_auth = auth is not None and msgs.index(end) == msgs.index(auth) + 1
    if "DELETE_CERTIFICATE_REQUEST" in cmds:
        return Outcome(None, "delete", f"CAPF deleted the phone's certificate (Delete "
                       f"operation, not a fault) {head}", "certain")
    if "FETCH_CERTIFICATE_REQUEST" in cmds:
        return Outcome(None, "fetch", f"CAPF fetched the phone's certificate (Troubleshoot "
                       f"operation, not a fault) {head}", "certain")
    if reason == REASON_UNKNOWN_DEVICE:
        return Outcome("CAPF_NO_CERTIFICATE", "unknown_device", "CAPF does not know the "
                       f"device and ended the session without a certificate {head}", "certain")
    if reason == REASON_NO_ACTION:
        return Outcome("CAPF_NO_CERTIFICATE", "no_operation", "CAPF has no operation for the "
                       "phone (none set, or its deadline passed) and ended the session "
                       f"without a certificate {head}", "certain")
    if "KEY_GENERATE_RESPONSE" in cmds:
        return Outcome("CAPF_NO_CERTIFICATE", "after_key", "CAPF ended the session after the "
                       f"phone's key without a certificate {head}", "certain")
    if right_after_auth and reason != REASON_OK:
        if auth_els & {"CERTIFICATE", "SIGNED_DATA", "SHA2_SIGNED_DATA"}:
            return Outcome("CAPF_AUTH_FAILED", "auth_certificate", "CAPF rejected the "
                           f"certificate the phone authenticated with {head}", "certain")
        if "PASSWORD" in auth_els and auth_mode not in (2, 3, 4):
            return Outcome("CAPF_AUTH_FAILED", "auth_string", "CAPF rejected the phone's "
                           f"authentication string {head}", "certain")
    return Outcome("CAPF_NO_CERTIFICATE", "no_certificate",
                   f"CAPF ended the session without a certificate {head}", "certain")


def _from_sizes(s: TlsSession, conn: TcpConnection | None, auth_mode: int | None) -> Outcome:
    recs = capf_records(s)
    sizes = _sizes(recs)
    key_seen = False
    for r in recs:
        if r.direction == "c2s" and r.length >= KEY_MIN:
            key_seen = True
        elif r.direction == "s2c" and r.length >= LSC_MIN and key_seen:
            return Outcome("CAPF_LSC_ISSUED", "issued",
                           f"CAPF delivered a certificate: {r.length}-byte server record "
                           f"(frame {r.frame}) after the phone sent its public key (verdict "
                           f"from record sizes)", "high")
    if not recs:
        return _cut(s, conn, s.last_ts, "the end of the TLS handshake",
                    "no CAPF record at all", "high")
    last = recs[-1]
    first_phone = next((i for i, r in enumerate(recs) if r.direction == "c2s"), None)
    if last.direction == "c2s" or first_phone is None:
        what = (f"the phone's {last.length}-byte record (frame {last.frame})"
                if last.direction == "c2s" else
                f"CAPF's first record (frame {last.frame}), which the phone never answered")
        oc = _cut(s, conn, last.ts, what, f"records {sizes}", "high")
        if _maybe_keygen(recs, first_phone):
            return replace(oc, patience=KEYGEN_WAIT, due=KEYGEN_DUE,
                           waiting_for=f"{oc.waiting_for}, which may be REQUEST_IN_PROGRESS "
                           "while the phone generates its key")
        return oc
    close_frame, how, who = _close(conn)
    if close_frame is not None and conn is not None and conn.close_ts is not None \
            and conn.close_ts - last.ts > END_CLOSE_MAX:
        return _cut(s, conn, last.ts, f"CAPF's {last.length}-byte record (frame {last.frame})",
                    f"records {sizes}", "high")
    return _ended(recs, first_phone, auth_mode, sizes)


def _maybe_keygen(recs: list[TlsRecordInfo], first_phone: int | None) -> bool:
    """The last record is the phone's small answer to a later CAPF request: with sizes
    alone, REQUEST_IN_PROGRESS before a slow key (the phone owes the next message) cannot
    be told from a delete answer (CAPF owes END_SESSION), so the longer wait applies."""
    last = recs[-1]
    return (first_phone is not None and len(recs) - 1 > first_phone + 1
            and last.direction == "c2s" and last.length < KEY_MIN
            and recs[-2].direction == "s2c")


def _ended(recs: list[TlsRecordInfo], first_phone: int, auth_mode: int | None,
           sizes: str) -> Outcome:
    """CAPF's record was the last: END_SESSION without a certificate. Which request, if
    any, came between the phone's AUTH_RESPONSE and the end?"""
    auth, end = recs[first_phone], recs[-1]
    rest = recs[first_phone + 1:]
    src = f"(records {sizes}; verdict from record sizes)"
    if rest == [end]:  # AUTH_REQUEST, AUTH_RESPONSE, END_SESSION
        if auth.length > SMALL_MAX:
            return Outcome("CAPF_AUTH_FAILED", "auth_certificate",
                           f"CAPF ended the session right after the phone authenticated with "
                           f"a certificate ({auth.length}-byte record) {src}", "high")
        if auth_mode == 1:
            return Outcome("CAPF_AUTH_FAILED", "auth_string",
                           "CAPF ended the session right after the phone sent its "
                           f"authentication string (mode '{AUTH_MODES[1]}' in its config) "
                           f"{src}", "medium")
        return Outcome("CAPF_NO_CERTIFICATE", "no_certificate",
                       f"CAPF session ended after {len(recs)} small records ({sizes}): no "
                       f"certificate was delivered (verdict from record sizes)", "medium")
    request = next((r for r in rest if r.direction == "s2c"), end)
    answers = [r for r in rest if r.direction == "c2s" and r.frame > request.frame]
    if request is not end and request.length < end.length:  # 8-byte DELETE/FETCH request
        if answers and max(a.length for a in answers) >= LSC_MIN:
            return Outcome(None, "fetch", "CAPF fetched the phone's certificate (Troubleshoot "
                           f"operation, not a fault) {src}", "medium")
        if answers and max(a.length for a in answers) < KEY_MIN:
            return Outcome(None, "delete", "CAPF deleted the phone's certificate (Delete "
                           f"operation, not a fault) {src}", "medium")
    if any(a.length >= KEY_MIN for a in answers):
        return Outcome("CAPF_NO_CERTIFICATE", "after_key",
                       "CAPF ended the session after the phone sent its key, without a "
                       f"certificate {src}", "medium")
    return Outcome("CAPF_NO_CERTIFICATE", "no_certificate",
                   f"CAPF session ended without a certificate {src}", "medium")


def _cut(s: TlsSession, conn: TcpConnection | None, last_ts: int, last: str, seen: str,
         confidence: str) -> Outcome:
    """The dialogue stopped before END_SESSION: cut by RST/FIN, or silent."""
    unreliable = ""
    recs = capf_records(s)
    run = longest = 0
    for r in recs:
        run = run + 1 if r.direction == "c2s" else 0
        longest = max(longest, run)
    if longest > MAX_PHONE_RUN:
        unreliable = (f"the phone sent {longest} records in a row, answers to CAPF messages "
                      f"the capture does not hold ({_sizes(recs)})")
    elif conn is not None and conn.acked_unseen:
        unreliable = (f"the capture lost {conn.acked_unseen} segment(s) of this connection "
                      f"that the peers acknowledged")
    elif s.note and "frame " in s.note:
        unreliable = f"the TLS stream is damaged ({s.note})"
    close_frame, how, who = _close(conn)
    if close_frame is None or conn is None or conn.close_ts is None:
        return Outcome("CAPF_SESSION_CUT", "silent",
                       f"CAPF session went silent after {_FRAME.sub('', last)} before "
                       f"END_SESSION ({seen})",
                       confidence, waited_since=last_ts, waiting_for=last,
                       unreliable=unreliable)
    before = [r for r in recs if r.frame < close_frame]
    # the longest stretch without a CAPF record, up to the close
    marks = [(r.ts, f"{'the phone' if r.direction == 'c2s' else 'CAPF'}'s {r.length}-byte "
                    f"record (frame {r.frame})") for r in before]
    marks = marks or [(last_ts, last)]
    marks.append((conn.close_ts, f"the {how} (frame {close_frame})"))
    gap, a, b = max((t2 - t1, w1, w2) for (t1, w1), (t2, w2) in zip(marks, marks[1:], strict=False))
    by = f" from {who}" if who else ""
    later = [r for r in recs if r.frame > close_frame]
    return Outcome(
        "CAPF_SESSION_CUT", "cut",
        f"CAPF session cut: {how}{by} after an idle gap of "
        f"{duration(gap) if gap >= NS else 'under a second'}, before END_SESSION and before "
        f"any certificate ({seen})",
        confidence,
        detail=(f"The connection ended with a {how}{by} (frame {close_frame}). Longest idle "
                f"gap before it: {duration(gap)}, from {a} to {b}."
                + (f" Sent after the close: {_sizes(later)} (frame "
                   f"{', '.join(str(r.frame) for r in later)})." if later else "")),
        close_frame=close_frame, unreliable=unreliable)


# -- findings ------------------------------------------------------------------------------


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
    conn = next((c for c in phone.conns if c.key == s.key), None)
    return classify(s, conn, session_config_mode(phone, s))


def _filter(s: TlsSession, close: bool) -> str:
    f = ipf(s.key.client)
    base = (f"{f}.addr=={s.key.client} && {f}.addr=={s.key.server} && "
            f"tcp.port=={s.key.server_port} && tcp.port=={s.key.client_port}")
    if close:
        return base + (" && (tls.record.content_type == 23 || tcp.flags.reset == 1 || "
                       "tcp.flags.fin == 1)")
    return base + " && tls.record.content_type == 23"


def _judge_cut(ctx: Context, phone: PhoneState, s: TlsSession, oc: Outcome) -> Judgement:
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
        conn = next((c for c in phone.conns if c.key == s.key), None)
        oc = classify(s, conn, session_config_mode(phone, s))
        if oc is None or oc.code is None:
            continue
        recs = capf_records(s)
        frames = [r.frame for r in recs] or list(s.frames)
        if oc.close_frame is not None and conn is not None:
            frames += list(conn.fin_frames) + list(conn.rst_frames)
        extra = ""
        if oc.code == "CAPF_SESSION_CUT":
            j = _judge_cut(ctx, phone, s, oc)
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
