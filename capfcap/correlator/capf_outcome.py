"""The outcome of one CAPF session that completed TLS (DOMAIN §3.2, §3.3, §3.5; FIELD F1-F6, A4).

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
After a capture hole that may have swallowed CAPF records (`TlsHole.dialogue`), only a
delivered certificate can still be claimed: any other outcome rests on records the
capture lost and is withheld with that reason (`Outcome.lost`).
The findings built from an outcome are `rules_capf.py`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from capfcap.correlator.common import AUTH_MODES
from capfcap.correlator.evidence import CAPF_ANSWER_WAIT, duration
from capfcap.events import CapfMessage, TcpConnection, TlsRecordInfo, TlsSession

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
    lost: str = ""  # why the outcome rests on records the capture lost (then withheld)


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
    oc = _decrypted(s, conn, auth_mode) if s.capf_messages else _from_sizes(s, conn, auth_mode)
    lost = lost_records(s)
    if lost and oc.kind != "issued":
        return replace(oc, lost=lost)
    return oc


def lost_records(s: TlsSession) -> str:
    """Why the session's CAPF records are incomplete: capture holes that may hold some of
    them (the TLS parser could not prove them inside the plaintext handshake); '' when
    there are none."""
    holes = [h for h in s.holes if h.dialogue]
    if not holes:
        return ""
    where = ", ".join(
        f"{h.missing} bytes {'from CAPF' if h.direction == 's2c' else 'from the phone'} "
        f"before frame {h.frame}" for h in holes)
    lost = sum(h.records_lost for h in holes)
    return (f"the capture lacks part of the CAPF dialogue ({where}; at least {lost} TLS "
            f"record{'s' if lost > 1 else ''} lost): the outcome cannot be read from the "
            f"records left")


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
    if not recs:  # from the end of the handshake: its last ChangeCipherSpec (+ Finished)
        end = max((ts for _d, _f, ts in s.ccs_frames), default=s.last_ts)
        return _cut(s, conn, end, "the end of the TLS handshake",
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
    if close_frame is None:
        # Both sides close at once after END_SESSION: without a close, CAPF's last record
        # may as well be a request the phone is still answering (its key, generated at
        # low priority), and the session has not been seen to end.
        oc = _cut(s, conn, last.ts, f"CAPF's {last.length}-byte record (frame "
                  f"{last.frame})", f"records {sizes}", "high")
        return replace(oc, patience=KEYGEN_WAIT, due=KEYGEN_DUE,
                       waiting_for=f"{oc.waiting_for}, which may be END_SESSION (then the "
                       "close) or a request the phone is still answering")
    if conn is not None and conn.close_ts is not None \
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
