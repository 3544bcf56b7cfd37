"""Capture quality, judged before the network (PEERS §2.4-2.5, DOMAIN §7 F11).

A phone whose captured traffic is all one-directional cannot prove a silent server: the
"no reply" verdicts for it are withheld. Positive evidence that the unseen side spoke
(ACKs past an unseen SYN-ACK or data, TFTP ACKs for DATA never captured) names the
capture as the culprit.
"""

from __future__ import annotations

from typing import Any

from capfcap.correlator import facts
from capfcap.correlator.common import Context, frames_filter, make
from capfcap.correlator.evidence import disordered, withhold
from capfcap.correlator.state import PhoneState, State
from capfcap.correlator.transfers import answer_captured
from capfcap.events import FileTransfer, TcpConnection, TcpHole, UdpFlow
from capfcap.filenames import basename
from capfcap.findings import Finding


def heard_and_spoke(state: State) -> tuple[set[str], set[str]]:
    """(hosts the capture shows receiving packets, hosts it shows sending packets): the
    hosts that were heard *to* (`Context.reverse_seen` of a phone) and the hosts that
    spoke (`Context.heard_from`), in that order."""
    receivers: set[str] = set(state.dns_heard)
    senders: set[str] = set(state.dns_spoke)
    for t in state.transfers:
        if t.request_frames:
            senders.add(t.client)
        if answer_captured(t):
            receivers.add(t.client)
            senders.add(t.server)
    flows: list[TcpConnection | UdpFlow] = [*state.conns, *state.udp]
    for c in flows:
        if c.resp_pkts:
            receivers.add(c.key.client)
            senders.add(c.key.server)
        if c.orig_pkts:
            receivers.add(c.key.server)
            senders.add(c.key.client)
    for i in state.icmp:
        receivers.add(i.quoted.client)
    return receivers, senders


MISSING_RX = "network -> phone"
MISSING_TX = "phone -> network"


def judge_phone(ctx: Context, phone: PhoneState, spoke: set[str]) -> None:
    """Fill ctx.one_sided when the capture proves one whole direction of the phone's
    traffic missing (DESIGN §4 rule 3: positive evidence only). Answers to requests the
    file does not hold prove the phone's own direction missing; the phone acknowledging
    SYN-ACKs, data or TFTP blocks the file does not hold proves the other. Silence alone
    proves neither: it is judged per verdict (`evidence.judge`). A capture out of time
    order changes neither: both rest on a whole direction absent from the file, which no
    order of its frames can hide or fake."""
    heard = ctx.reverse_seen.get(phone.ip, False)
    said = not spoke.isdisjoint(phone.addrs)
    if heard and not said:
        ctx.one_sided[phone.ip] = (
            f"missing direction {MISSING_TX}: only packets sent to the phone were captured")
    elif said and not heard and _acked_unseen(phone):
        ctx.one_sided[phone.ip] = (
            f"missing direction {MISSING_RX}: only packets sent by the phone were captured, "
            f"and the phone acknowledges answers that are not in the file")


def _acked_unseen(phone: PhoneState) -> bool:
    return any(c.orig_acked_unseen for c in phone.conns if c.key.client in phone.addrs) or any(
        t.acked_unseen_blocks for t in phone.transfers)


def one_sided_findings(ctx: Context, phone: PhoneState) -> list[Finding]:
    reason = ctx.one_sided.get(phone.ip)
    if not reason:
        return []
    proof_frames: list[int] = []
    lines: list[str] = []
    for c in phone.conns:
        if c.key.client in phone.addrs and c.orig_acked_unseen:
            proof_frames += list(c.frames)
            lines.append(
                f"TCP {c.key.client_port} -> {c.key.server}:{c.key.server_port}: the phone "
                f"acknowledges a SYN-ACK/data never captured ({c.orig_acked_unseen} ACKs; "
                f"history {c.history}, conn_state {c.conn_state}, completeness {c.completeness})"
            )
    for t in phone.transfers:
        if t.acked_unseen_blocks:
            proof_frames += list(t.frames)
            lines.append(
                f"TFTP {t.filename} from {t.server}: the phone ACKs {t.acked_unseen_blocks} "
                f"DATA blocks never captured"
            )
    rx_missing = MISSING_RX in reason
    for c in phone.conns:
        if c.key.client in phone.addrs and c.flipped and not c.orig_pkts:
            proof_frames += list(c.frames)
            lines.append(
                f"TCP {c.key.client_port} -> {c.key.server}:{c.key.server_port}: only the "
                f"server's SYN-ACK/data were captured (history {c.history})")
    if proof_frames and rx_missing:
        summary = ("Capture holds only the phone's transmit direction: the phone acknowledges "
                   "replies that are not in the file")
    elif rx_missing:
        summary = "Capture holds only the phone's transmit direction; replies cannot be judged"
    else:
        summary = "Capture holds only packets sent to the phone; its own packets are missing"
    if not proof_frames:
        proof_frames = [f for d in phone.dns for f in d.frames][:20]
        proof_frames += [f for c in phone.conns for f in c.frames][:20]
        proof_frames += [f for t in phone.transfers for f in t.frames][:20]
        proof_frames += [f for u in phone.udp for f in u.frames][:20]
    withheld = ctx.withheld_of(phone.ip)
    lines.append(f"{reason[0].upper()}{reason[1:]} ({phone.ip}).")
    lines.append(
        "Likely cause: SPAN source mirrored in one direction only (rx or tx), a VLAN source "
        "(ingress only), or asymmetric routing around the capture point."
    )
    if withheld:
        lines.append("Withheld verdicts: " + ", ".join(
            sorted({str(w['code']) for w in withheld})))
    return [make(
        ctx, "CAPTURE_ONE_SIDED", phone, {}, summary, "\n".join(lines), proof_frames,
        frames_filter(proof_frames),
        times=None,
        _facts=[facts.sender(phone.addrs, proof_frames, received=not rx_missing),
                facts.unchecked(
            "that the other direction is missing (no Wireshark field describes packets "
            "absent from the file)")],
    )]


def gaps_findings(ctx: Context, phones: dict[str, PhoneState]) -> list[Finding]:
    """DESIGN §4 rule 4: ACKs for TCP data or TFTP blocks the file lacks prove capture loss."""
    out: list[Finding] = []
    for phone in phones.values():
        gap_conns = [c for c in phone.conns
                     if c.orig_pkts and c.resp_pkts and c.acked_unseen]
        # holes inside a stream that the receiver acknowledged past (ACKs of the bytes
        # after them are not past the last captured byte, so `acked_unseen` misses them)
        holed = [(c, h) for c in phone.conns if c.orig_pkts and c.resp_pkts
                 for h in acked_holes(c)]
        # two-sided only: a transfer with no DATA captured at all is a one-sided capture
        gap_tftp = [t for t in phone.transfers
                    if t.protocol == "tftp" and t.size and t.unseen_ack_frames]
        if not gap_conns and not gap_tftp and not holed:
            continue
        summary: list[str] = []
        lines: list[str] = []
        extra: dict[str, Any] = {}  # ratio: TCP only
        frames = [f for c in gap_conns for f in c.frames]
        if gap_conns:
            gaps = sum(c.acked_unseen for c in gap_conns)
            acks = sum(c.ack_events for c in phone.conns if c.orig_pkts and c.resp_pkts) or 1
            summary.append(f"{gaps} ACKs cover data never captured ({100.0 * gaps / acks:.1f} "
                           f"% of {acks} ACKs on this phone's two-sided TCP flows)")
            lines += [f"{c.key.client}:{c.key.client_port} -> {c.key.server}:"
                      f"{c.key.server_port}: {c.acked_unseen} gap ACKs, history {c.history}"
                      for c in gap_conns]
            extra["ratio"] = round(gaps / acks, 4)
        if holed:
            n, size = len(holed), sum(h.length for _c, h in holed)
            streams = "streams" if len({id(c) for c, _h in holed}) > 1 else "a stream"
            summary.append(f"{n} stretch{'es' if n > 1 else ''} of TCP data ({size} bytes) "
                           f"inside {streams} the receiver acknowledged "
                           f"{'are' if n > 1 else 'is'} missing from the capture")
            lines += [hole_line(c, h) for c, h in holed]
            frames += [f for _c, h in holed for f in (h.before_frame, h.after_frame,
                                                      h.ack_frame) if f is not None]
        if gap_tftp:
            blocks = sum(t.acked_unseen_blocks for t in gap_tftp)
            names = ", ".join(sorted({basename(t.filename) for t in gap_tftp}))
            summary.append(f"the phone ACKed {blocks} TFTP DATA block{'s' if blocks > 1 else ''}"
                           f" never captured ({names})")
            lines += [tftp_gap_line(t) for t in gap_tftp]
            frames += [f for t in gap_tftp for f in t.unseen_ack_frames]
        text = "; ".join(summary)
        unordered = disordered(ctx, phone)  # the ACKs may precede the data they acknowledge
        if unordered is not None:
            withhold(ctx, "CAPTURE_GAPS", phone, unordered, frames)
            continue
        out.append(make(
            ctx, "CAPTURE_GAPS", phone, {}, text[0].upper() + text[1:], "\n".join(lines),
            frames, frames_filter(frames), **extra,
            _facts=_gap_facts(phone, gap_conns, gap_tftp, bool(holed)),
        ))
    return out


def acked_holes(c: TcpConnection) -> list[TcpHole]:
    """The connection's stream holes the receiver acknowledged past: data delivered that
    the capture lost (DESIGN §4 rule 3), not a snap-length cut (a capture note of its own)."""
    return [h for h in c.holes if h.ack_frame is not None and not h.snap]


def hole_line(c: TcpConnection, h: TcpHole) -> str:
    sender, receiver = ((f"{c.key.client}:{c.key.client_port}", "the server")
                        if h.direction == "c2s" else
                        (f"{c.key.server}:{c.key.server_port}", "the client"))
    before = f"after frame {h.before_frame}, " if h.before_frame is not None else ""
    return (f"{sender} -> {c.key.client if h.direction == 's2c' else c.key.server}: "
            f"{h.length} bytes at stream offset {h.offset} are missing ({before}before "
            f"frame {h.after_frame}); {receiver} acknowledged past them in frame "
            f"{h.ack_frame}")


def tftp_gap_line(t: FileTransfer) -> str:
    n = t.acked_unseen_blocks
    listed = ", ".join(map(str, t.unseen_blocks))
    more = len(t.unseen_blocks) < n
    verdict = ("complete for the phone; the file bytes are not whole, so they are not parsed"
               if t.status == "complete_gaps" else f"transfer {t.status}")
    return (f"TFTP {basename(t.filename)} from {t.server} (udp {t.client_port} <-> "
            f"{t.data_port}): the phone ACKed {n} DATA block{'s' if n > 1 else ''} the "
            f"capture lacks (block{'s' if n > 1 else ''} {listed}"
            f"{', ...' if more else ''}; ACK frames "
            f"{', '.join(map(str, t.unseen_ack_frames))}): {verdict}")


def _gap_facts(phone: PhoneState, conns: list[TcpConnection],
               transfers: list[FileTransfer], holes: bool = False) -> list[facts.Fact]:
    out: list[facts.Fact] = []
    if holes:
        out.append(facts.unchecked("that the bytes between the named frames are absent from "
                                   "the file (Wireshark's tcp.analysis.lost_segment marks "
                                   "the frame after such a hole)"))
    if conns:
        out.append(facts.unchecked("the gap-ACK count (Zeek capture_loss; Wireshark's "
                                   "ack_lost_segment expert info counts differently)"))
    if transfers:
        out.append(facts.sender(phone.addrs, [f for t in transfers
                                              for f in t.unseen_ack_frames]))
        out.append(facts.unchecked("that the ACKed TFTP DATA blocks are absent from the file "
                                   "(no Wireshark field describes packets absent from it)"))
    return out


def note_findings(ctx: Context, phones: dict[str, PhoneState]) -> list[Finding]:
    """Capture notes the pipeline raised (duplicate frames) become info findings."""
    out: list[Finding] = []
    for n in ctx.state.notes:
        if n.kind != "duplicates" or not n.count:
            continue
        anon = PhoneState(ip="", first_frame=0)
        out.append(make(
            ctx, "CAPTURE_DUPLICATES", anon, {},
            f"{n.count} frames were captured twice (removed before analysis)",
            n.message, n.frames, frames_filter(n.frames), times=(n.first_ts, n.last_ts),
            _facts=[facts.unchecked("frame identity (no Wireshark field compares two "
                                    "frames' bytes)")],
        ))
    return out
