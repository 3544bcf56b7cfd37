"""What silence proves (DESIGN §4): the one judgement behind every verdict of no answer.

A verdict of silence (`*_NO_RESPONSE`, `*_UNIDIRECTIONAL`, `TRANSFER_INCOMPLETE`, a TLS
abort, `CAPF_NOT_ATTEMPTED`) claims that something did not happen. It stands only when the
capture could have shown it:

1. time: the capture goes on for the protocol's own patience after the last unanswered
   packet, or the phone's retransmissions show that it waited and heard nothing;
2. the direction towards the phone is captured: an answer on another of its
   conversations, an ARP reply to its MAC, or the server sending to other hosts;
3. the capture is not proven one-sided (`rules_capture` decides that from positive
   evidence only: the phone acknowledging what the file does not hold).

Otherwise the verdict is withheld, listed with its reason, and the phone's verdict line
says "inconclusive".
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from capfcap.correlator.common import Context
from capfcap.correlator.rows import compact
from capfcap.correlator.state import PhoneState
from capfcap.correlator.transfers import ended_unanswered
from capfcap.events import DnsTransaction, FileTransfer, FlowKey, TcpConnection, UdpFlow

NS = 1_000_000_000
# How long a client waits for an answer before it retries or gives up.
DNS_WAIT = 5 * NS  # resolv.conf(5): RES_TIMEOUT, 5 s per try
TCP_WAIT = 3 * NS  # RFC 1122 §4.2.3.1: initial retransmission timeout 3 s (RFC 6298: 1 s)
TFTP_WAIT = 5 * NS  # RFC 1350 §2 leaves it to the client; RFC 2349 timeouts are whole seconds
TLS_WAIT = 10 * NS  # the server's next handshake flight (TCP retransmits included)
CAPF_WAIT = 30 * NS  # a phone told of a pending operation contacts CAPF right after its config
# A retransmission comes a timeout after the first try (RFC 6298 §2.4: RTO at least 1 s;
# resolvers and TFTP clients likewise wait a second or more): repeats closer together than
# this are parallel sends (A to two servers, two sockets), not a phone that waited.
RETRY_MIN = NS // 2
# a CAPF message waits for its answer: after a communication failure the phone retries the
# operation in 30-second intervals (DOMAIN §3.4)
CAPF_ANSWER_WAIT = 30 * NS


@dataclass(frozen=True)
class Judgement:
    stands: bool
    why: str  # what proves the silence, or why it cannot be judged
    brief: str = ""  # why it cannot, in a few words (a timeline line's note)


def duration(ns: int) -> str:
    """A time span for people: 0.4 ms, 120 ms, 3.2 s."""
    ns = max(ns, 0)
    if ns < NS // 1000:
        return f"{ns / 1_000_000:.3f} ms" if ns else "0 ms"
    if ns < NS // 10:
        return f"{ns / 1_000_000:.1f} ms"
    if ns < NS:
        return f"{ns // 1_000_000} ms"
    return f"{ns / NS:.1f} s"


def waited(first_ts: int, last_ts: int) -> bool:
    """The phone's repeats of a request span a retransmission timeout: it waited for an
    answer and heard none (DESIGN §4 rule 1, "the phone's own behaviour")."""
    return last_ts - first_ts >= RETRY_MIN


def rx_proof(ctx: Context, phone: PhoneState, server: str | None) -> str:
    """How the capture shows the direction towards the phone, or "" when nothing does."""
    if ctx.reverse_seen.get(phone.ip):
        return "the capture holds packets sent to this phone on its other conversations"
    link = ctx.state.link_reached.get(phone.mac) if phone.mac else None
    if link is not None:
        return (f"the capture holds an ARP reply to the phone's MAC {phone.mac} (frame "
                f"{link.frame}, from {link.sender_ip}), so frames towards the phone are "
                f"captured")
    if server and server in ctx.heard_from:
        return (f"the capture shows {server} answering other hosts, so its answers on this "
                f"path would have been captured")
    return ""


def disordered(ctx: Context, phone: PhoneState) -> Judgement | None:
    """The phone's own frames are out of time order (the pipeline's note, narrowed by the
    engine): their file order proves no silence, no answer before its question, no ACK
    of data the file lacks."""
    why = ctx.out_of_order.get(phone.ip)
    if why:
        return Judgement(False, why, DISORDER)
    return None


def judge(ctx: Context, phone: PhoneState, *, what: str, last_ts: int, wait: int,
          retried: bool, server: str | None, due: str = "an answer") -> Judgement:
    """May "no answer to `what`" be claimed? `last_ts`: the last unanswered packet;
    `wait`: the protocol's patience; `retried`: the phone retransmitted or tried again;
    `due`: what the capture ended too early to show."""
    unordered = disordered(ctx, phone)
    if unordered is not None:
        return unordered
    one_sided = ctx.one_sided.get(phone.ip)
    if one_sided:
        return Judgement(False, one_sided, "the capture is one-sided")
    if not retried and ctx.end_ts is not None and ctx.end_ts - last_ts < wait:
        after = duration(ctx.end_ts - last_ts)
        return Judgement(False, (
            f"the capture ends {after} after {what}, before {due} "
            f"was due (allow about {duration(wait)}): capture longer"),
            f"the capture ends {after} later")
    proof = rx_proof(ctx, phone, server)
    if not proof:
        from_server = f" and none from {server}" if server else ""
        return Judgement(False, (
            f"the capture holds no packet sent to this phone (no answer on any of its "
            f"conversations, no ARP reply to its MAC){from_server}, so it cannot show "
            f"whether anything answered: capture both directions at the phone's port"),
            "no packet to the phone is captured")
    return Judgement(True, proof)


# What a timeline or ladder line calls a failure only when the capture proves it: a
# request without an answer is a failure of the network once the rules above say the
# silence stands; before that it is a fact of the capture ("no answer captured").

DISORDER = "the capture is out of time order"


def _silence(ctx: Context, phone: PhoneState, first_ts: int, last_ts: int, wait: int,
             server: str, moved_on: bool = False) -> str:
    """judge()'s brief reason for a request first sent at `first_ts` and last at `last_ts`
    (its repeats span a retransmission timeout, or the phone `moved_on`), or ""."""
    return judge(ctx, phone, what="it", last_ts=last_ts, wait=wait,
                 retried=moved_on or waited(first_ts, last_ts), server=server).brief


def _icmp_answered(phone: PhoneState, key: FlowKey) -> bool:
    """An ICMP error quoting the flow's packet answered it (RFC 792, RFC 4443 §2.4): the
    network's answer, no silence."""
    return any(i.quoted == key for i in phone.icmp)


def transfer_unproven(ctx: Context, phone: PhoneState, t: FileTransfer) -> str:
    """Why a download's missing answer or missing blocks is not a proven failure, or ""
    (an ERROR, a finished download, or a silence that stands)."""
    if not ended_unanswered(t):
        return ""
    if phone.ip in ctx.out_of_order:
        return DISORDER
    if t.acked_unseen_blocks or t.acked_cut_blocks:
        return "the phone acknowledged blocks the capture lacks"
    tcp = t.protocol != "tftp"
    if _icmp_answered(phone, FlowKey("tcp" if tcp else "udp", t.client, t.client_port,
                                     t.server, t.server_port)):
        return ""
    moved_on = any(x.first_ts > t.last_ts for x in phone.transfers)
    return _silence(ctx, phone, t.first_ts, t.last_ts, TCP_WAIT if tcp else TFTP_WAIT,
                    t.server, moved_on)


def conn_unproven(ctx: Context, phone: PhoneState, c: TcpConnection) -> str:
    """Why a connection without a SYN-ACK is not a proven failure, or "" (answered, reset
    by the server, or a silence that stands)."""
    if c.synack_frames or c.rst_from == "server" or _icmp_answered(phone, c.key):
        return ""
    if c.resp_pkts:
        return "the server's packets are captured, its SYN-ACK is not"
    if phone.ip in ctx.out_of_order:
        return DISORDER
    if c.orig_acked_unseen:
        return "the phone acknowledged server data the capture lacks"
    return _silence(ctx, phone, c.first_ts, c.last_ts, TCP_WAIT, c.key.server)


def udp_unproven(ctx: Context, phone: PhoneState, u: UdpFlow) -> str:
    """Why a UDP flow without a captured reply (SIP REGISTER over UDP) is not a proven
    failure, or "". SIP retransmits a request after T1 = 0.5 s (RFC 3261 §17.1.2.2), so
    TCP's 3 s covers several tries."""
    if u.resp_pkts or _icmp_answered(phone, u.key):
        return ""
    return _silence(ctx, phone, u.first_ts, u.last_ts, TCP_WAIT, u.key.server)


def dns_unproven(ctx: Context, phone: PhoneState, d: DnsTransaction) -> str:
    """Why a DNS query without a captured response, or with a truncated one, is not a
    proven failure, or ""."""
    if d.truncated and not d.addresses:  # RFC 1035 §4.1.1 TC: the records need TCP
        return "the answer was truncated (TC): its records need TCP"
    if d.rcode is not None or _icmp_answered(phone, FlowKey(
            d.transport, d.client, d.client_port, d.server, d.server_port)):
        return ""
    return _silence(ctx, phone, d.query_times[0], d.query_times[-1], DNS_WAIT, d.server)


def unproven_note(why: str) -> str:
    """What a line that would say FAIL says instead when the silence is not proven."""
    return f"; not a proven failure ({why})"


def withhold(ctx: Context, code: str, phone: PhoneState, j: Judgement, frames: list[int],
             **about: object) -> None:
    """List a verdict that the capture cannot support, with the true reason."""
    entry: dict[str, object] = {"code": code, "phone": phone.ip}
    entry.update(about)
    entry["frames"] = sorted(set(frames))
    entry["reason"] = sys.intern(j.why)  # one text shared by every phone it fits
    ctx.withheld.append(compact(entry))
