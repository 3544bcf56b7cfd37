"""One TFTP read request and the server transfer IDs that answered it (RFC 1350 §4): what
each TID sent, which one the client followed, and the transfer's status and notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from capfcap.extractors.tftpwire import _U16, DEFAULT_BLKSIZE, BlockCounter

MAX_FRAMES = 200_000  # frame numbers kept per transfer
MAX_TIDS = 8  # server transfer IDs followed per request (duplicate answers)
MAX_UNSEEN = 4096  # unseen block numbers listed per TID

Status = Literal["complete", "complete_gaps", "error", "incomplete", "no_response"]


@dataclass(slots=True)
class Tid:
    """What one server transfer ID (UDP source port, RFC 1350 §4) sent, and the client's
    answers to it. A retransmitted request can be answered from several TIDs; the client
    follows one (it ACKs it) and rejects the others with ERROR 5."""

    port: int
    order: int  # 0 for the first TID captured
    options: tuple[tuple[str, str], ...] = ()
    oacks: int = 0
    blksize: int = DEFAULT_BLKSIZE
    tsize: int | None = None
    counter: BlockCounter = field(default_factory=BlockCounter)
    buf: bytearray = field(default_factory=bytearray)
    contig: int = 0  # absolute index of the last block of the in-order prefix
    ooo: dict[int, bytes] = field(default_factory=dict)  # absolute index -> bytes
    size: int = 0  # bytes of distinct blocks seen (stored or not)
    capped: bool = False
    final_block: int | None = None  # absolute index of the short block
    data_blocks: int = 0
    duplicates: int = 0
    acks: int = 0
    ack_high: int = 0  # highest absolute block the client acknowledged
    ack_repeats: int = 0  # the client sent ACK ack_high again: it waits for the next block
    unseen: dict[int, int] = field(default_factory=dict)  # block ACKed, not captured -> ACK
    unseen_over: int = 0  # unseen blocks beyond MAX_UNSEEN (counted, not listed)
    cut: set[int] = field(default_factory=set)  # blocks captured cut short (snap length)
    ooo_dropped: int = 0
    oack_unseen: bool = False
    error_code: int | None = None
    error_message: str = ""
    error_from_client: bool = False
    server_error: tuple[int, str] | None = None  # an ERROR that ended only this TID
    rejected: int = 0  # ERROR packets the client sent to this TID (code 5: not its transfer)
    bad_packets: int = 0
    damaged: int = 0  # DATA cut short by the snap length or IP fragmentation
    blksize_inferred: bool = False

    @property
    def complete(self) -> bool:
        return self.final_block is not None and self.contig >= self.final_block

    @property
    def acked_unseen(self) -> int:
        return len(self.unseen) + self.unseen_over

    @property
    def live(self) -> bool:
        return self.server_error is None and not self.rejected

    def rank(self) -> tuple[int, int, int, int, int]:
        """Which TID the transfer is when the client's ACKs do not say: the one that got
        furthest, then the first to answer."""
        return (self.ack_high, self.contig, self.data_blocks, int(self.live), -self.order)

    def phone_done(self, moved_on: bool) -> bool:
        """The client acknowledged every block although the capture lacks some: the final
        block was captured and ACKed, or the last ACK names a block the capture lost and
        the client was not waiting after it: it sent that ACK once (a waiting client repeats
        it, RFC 1350 §2), nothing followed, and tsize agrees (RFC 2349) or the client moved
        on (`moved_on`: a new request, or silence past the timeout)."""
        if not (self.acked_unseen or self.cut) or self.error_code is not None:
            return False
        if self.final_block is not None:
            return self.ack_high >= self.final_block
        if self.ack_high not in self.unseen and self.ack_high not in self.cut:
            return False
        if self.ack_repeats:
            return False
        if self.counter.high > self.ack_high:
            return False  # DATA beyond the last ACK was captured: the client stopped early
        if self.tsize:  # the file has tsize // blksize + 1 blocks
            return self.ack_high == self.tsize // self.blksize + 1
        return moved_on


@dataclass(slots=True)
class Transfer:
    client: str
    client_port: int
    server: str
    filename: str
    mode: str
    requested: tuple[tuple[str, str], ...]
    first_ts: int
    last_ts: int
    request_frames: list[int] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)
    tids: dict[int, Tid] = field(default_factory=dict)  # server port -> its packets
    followed: int | None = None  # the TID the client ACKs (RFC 1350 §4: its transfer)
    replied: bool = False  # any packet from the server side captured
    moved_on: bool = False  # the client sent a new request, or fell silent past the timeout
    foreign_tid: int = 0  # packets from TIDs beyond MAX_TIDS
    frames_capped: bool = False

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.client, self.client_port, self.server)

    def add_frame(self, frame: int, ts: int) -> None:
        if len(self.frames) < MAX_FRAMES:
            self.frames.append(frame)
        else:
            self.frames_capped = True
        if ts > self.last_ts:
            self.last_ts = ts

    def tid(self, port: int) -> Tid | None:
        s = self.tids.get(port)
        if s is None and len(self.tids) < MAX_TIDS:
            s = self.tids[port] = Tid(port, len(self.tids))
        return s

    def primary(self) -> Tid | None:
        """The TID that is the transfer: the one the client follows, else the best one."""
        if self.followed is not None:
            return self.tids[self.followed]
        live = [s for s in self.tids.values() if not s.rejected] or list(self.tids.values())
        return max(live, key=Tid.rank, default=None)

    def ends_with(self, s: Tid) -> bool:
        """An ERROR to or from `s` ends the transfer: the client follows `s`, or follows
        nothing yet and `s` is the only TID still answering (RFC 1350 §4)."""
        if self.followed is not None:
            return self.followed == s.port
        return not any(o.live for o in self.tids.values() if o is not s)


def status_of(t: Transfer, s: Tid | None) -> Status:
    if s is None:
        return "no_response"
    if s.error_code is not None:
        return "error"
    if s.complete:
        return "complete"
    if s.phone_done(t.moved_on):
        return "complete_gaps"
    if not t.replied and not s.acked_unseen and not s.oack_unseen:
        return "no_response"
    return "incomplete"


def tid_notes(s: Tid, status: Status) -> list[str]:
    """Notes on the TID that is the transfer, in a fixed order."""
    wrap = "0" if s.counter.period == _U16 else "1"
    unseen = ", ".join(map(str, sorted(s.unseen)[:20])) + (
        ", ..." if s.acked_unseen > 20 else "")
    last = "" if s.final_block is not None else f"; ACK {s.ack_high} taken as the last"
    table: list[tuple[object, str]] = [
        (s.duplicates, f"duplicate blocks {s.duplicates}"),
        (s.counter.wrapped, f"block wrap past 65535 (to {wrap})"),
        (s.acked_unseen, f"client acknowledged blocks never captured: {s.acked_unseen} "
                         f"({unseen})"),
        (status == "complete_gaps", f"complete for the client, which ACKed every block{last}: "
                                    "the bytes captured are not the whole file"),
        (s.ack_repeats, f"client repeated ACK {s.ack_high} {s.ack_repeats} times"),
        (s.oack_unseen, "client acknowledged an OACK never captured"),
        (s.error_from_client, "error sent by the client"),
        (s.capped, f"data capped at {len(s.buf)} bytes"),
        (s.ooo_dropped, f"out-of-order blocks dropped {s.ooo_dropped}"),
        (s.ooo and not s.complete, f"blocks missing before block {min(s.ooo, default=0)}"),
        (s.damaged, f"DATA cut short by snap length or fragmentation {s.damaged}"),
        (s.blksize_inferred, f"blksize {s.blksize} inferred from DATA"),
        (s.bad_packets, f"malformed packets {s.bad_packets}"),
        (s.tsize is not None and s.complete and s.tsize not in (0, s.size),
         f"tsize {s.tsize} differs from size {s.size}"),
    ]
    return [text for cond, text in table if cond]


def other_tid_note(o: Tid) -> str:
    """A TID the client did not follow: a duplicate answer to a retransmitted request."""
    sent = []
    if o.oacks:
        sent.append(f"OACK x{o.oacks}")
    if o.data_blocks:
        sent.append(f"DATA x{o.data_blocks}")
    if o.server_error is not None:
        sent.append(f"ERROR {o.server_error[0]} \"{o.server_error[1]}\"")
    what = ", ".join(sent) or "no packet captured"
    client = []
    if o.acks:
        client.append(f"ACK x{o.acks}")
    if o.rejected:
        client.append(f"ERROR x{o.rejected} (unknown transfer ID)")
    reply = f"; client sent {', '.join(client)}" if client else ""
    return f"duplicate answer from TID {o.port} not followed by the client ({what}{reply})"


def transfer_notes(t: Transfer, s: Tid | None, status: Status, evicted: bool) -> list[str]:
    """The notes of a finished transfer: its followed TID's, then the request's own."""
    notes = tid_notes(s, status) if s is not None else []
    if len(t.request_frames) > 1:
        notes.append(f"request retransmissions {len(t.request_frames) - 1}")
    notes += [other_tid_note(o) for o in t.tids.values() if o is not s]
    if s is not None and s.rejected:
        notes.append("the client rejected every captured TID: the one it follows is "
                     "not in the capture")
    if t.foreign_tid:
        notes.append(f"packets from further TIDs {t.foreign_tid}")
    if t.requested and s is not None and not s.options and t.replied:
        notes.append("requested options not acknowledged")
    if t.frames_capped:
        notes.append(f"frame list capped at {MAX_FRAMES}")
    if t.mode != "octet":
        notes.append(f"mode {t.mode}")
    if evicted:
        notes.append("evicted: too many concurrent transfers")
    return notes
