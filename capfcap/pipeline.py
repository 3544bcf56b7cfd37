"""sources -> prefilter -> decode -> extractors -> events -> correlator -> Report.

The same `Analysis` object serves offline files and live capture: frames go in one at a
time, the clock is packet time, and `report()` can be asked for at any moment.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from capfcap import __version__
from capfcap.arp import arp
from capfcap.checksum import checksum_ok
from capfcap.correlator.engine import Correlator
from capfcap.decode import (
    ICMP,
    ICMPV6,
    TCP,
    UDP,
    Packet,
    Prefilter,
    decode,
    ip_packed,
)
from capfcap.events import (
    ORDER_MIN_FRAMES,
    ORDER_NOTE,
    ORDER_SLACK_NS,
    CaptureNote,
    ConfigSeen,
    Event,
    FlowKey,
)
from capfcap.extractors.arp import ArpExtractor
from capfcap.extractors.base import Extractor, StreamHandler
from capfcap.extractors.dns import DnsExtractor, DnsTcpHandler
from capfcap.extractors.downloads import ObjectStage
from capfcap.extractors.http import HttpHandler
from capfcap.extractors.icmp import HostExtractor, IcmpExtractor
from capfcap.extractors.tcp import TcpTracker
from capfcap.extractors.tftp import TftpExtractor
from capfcap.extractors.udp import UdpTracker
from capfcap.headers import inner_frame
from capfcap.learn import phones_shown
from capfcap.parallel import ReaderProcess, wanted
from capfcap.protocol import CAPF_PORT, DNS_PORT, HTTP_CONFIG_PORT, TLS_READ_PORTS, TVS_PORT
from capfcap.report import CaptureInfo, Report
from capfcap.sources.files import FileInfo
from capfcap.sources.frame import LINKTYPE_NAMES, Frame
from capfcap.sources.inputs import InputSet, frames
from capfcap.sources.linklayer import NOT_DECODED
from capfcap.sources.scan import Skipper

EXPIRE_EVERY = 1_000_000_000  # call expire() once per second of capture time
DUP_WINDOW = 16  # relevant frames compared for SPAN duplicates
DUP_NS = 50_000_000  # ... within 50 ms
GC_BATCH = 1_000_000  # young objects per collection during an analysis (default 700)
KEYLOG_UNUSED = "--keylog:"  # start of the note for a key log that decrypted nothing


@dataclass
class Options:
    cucm: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    keylog: str | None = None
    keylog_data: object | None = None  # a loaded tlsdecrypt.KeyLog
    fast: bool = True  # the byte-level prefilter (off only to prove it changes nothing)
    scan: bool = True  # with fast: skip dropped records inside the reader (sources/scan.py)
    show_secrets: bool = False
    jobs: int | None = None  # processes: 1, or 2 (a reader process); None: by input size
    capf_ports: list[int] = field(default_factory=list)  # --capf-port (correlator/ports.py)
    tvs_ports: list[int] = field(default_factory=list)  # --tvs-port
    ladder: bool = True  # the HTML ladder's finer steps (PhoneReport.wire): off for
    #                      text/JSON/Markdown, where nothing draws them (about 1.6 kB a phone)
    keep_files: bool = True  # downloads' bytes to the report (Report.objects, the SHA-256
    #                          facts): for --bundle and --crosscheck only


class Analysis:
    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.pf = Prefilter(enabled=opts.fast,
                            service_ports=(*opts.capf_ports, *opts.tvs_ports))
        self.correlator = Correlator(opts.cucm, opts.phones, opts.capf_ports, opts.tvs_ports,
                                     ladder=opts.ladder, carve=opts.keep_files)
        # TCP ports read as TLS: CAPF (with CAPF message decoding) and TVS, the defaults,
        # the given ones, and those of every config seen so far
        self.capf_ports: set[int] = {CAPF_PORT, *opts.capf_ports}
        self.tvs_ports: set[int] = {TVS_PORT, *opts.tvs_ports}
        self.dns = DnsExtractor()
        self.tcp = TcpTracker(handler_for=self._handler_for)
        self.tcp.service_ports.update(opts.capf_ports, opts.tvs_ports)
        self.objects = ObjectStage(keep_bytes=opts.keep_files)
        self.arp = ArpExtractor()
        self.last_ts: int | None = None  # newest frame time fed (the end of a live capture)
        self.phone_hosts: set[str] = set()
        host, icmp = HostExtractor(), IcmpExtractor()
        tftp, udp = TftpExtractor(self.pf), UdpTracker(self._phone_packet)
        self.extractors: list[Extractor] = [host, self.dns, self.tcp, icmp, tftp, udp]
        # the extractors whose feed() can use a packet of each IP protocol, in the order of
        # self.extractors (the others return nothing for it); any protocol: host addresses
        self.feeders: dict[int, tuple[Callable[[Packet], Iterable[Event]], ...]] = {
            TCP: (host.feed, self.tcp.feed),
            UDP: (host.feed, self.dns.feed, tftp.feed, udp.feed),
            ICMP: (host.feed, icmp.feed),
            ICMPV6: (host.feed, icmp.feed),
        }
        self.other_feeders = (host.feed,)
        self.last_expire = 0
        # the last DUP_WINDOW relevant frames that were not duplicates, oldest first, and
        # their times by frame bytes (oldest first), so a frame is looked up, not compared
        self.recent: deque[tuple[int, bytes]] = deque()
        self.recent_ts: dict[bytes, list[int]] = {}
        self.dup_frames: list[int] = []
        self.dup_ts: list[int] = []
        self.bad_checksums: list[int] = []
        self.undecoded_tunnels: list[int] = []  # tunnel packets whose frame was not read
        self.relevant = 0
        self.newest_ts: int | None = None  # the newest analysed frame's time
        self.late_frames: list[int] = []  # frames older than it by over ORDER_SLACK_NS
        self.late_count = 0
        self.late_max = 0  # the largest step back in time (ns)
        self.late_ts: list[int] = []  # first and last late frame's time
        self.listeners: list[Callable[[list[Event]], None]] = []

    def _handler_for(self, key: FlowKey) -> StreamHandler | None:
        port = key.server_port
        capf = port in self.capf_ports
        if capf or port in TLS_READ_PORTS or port in self.tvs_ports:
            from capfcap.extractors.tls import TlsHandler  # cryptography: only when TLS is seen

            return TlsHandler(key, self.opts.keylog_data, self.opts.show_secrets, capf=capf)
        if key.server_port == HTTP_CONFIG_PORT:
            return HttpHandler(key)
        if key.server_port == DNS_PORT:
            return DnsTcpHandler(key, self.dns)
        return None

    # -- per frame ------------------------------------------------------------------------
    def feed(self, fr: Frame) -> None:
        if self.last_ts is None or fr.ts > self.last_ts:
            self.last_ts = fr.ts
        if self.pf.enabled:
            pkt = decode(fr, self.pf)
        else:
            pkt = decode(fr, None)
            if pkt is not None and not self.pf.relevant(pkt):
                return
        if pkt is not None:
            self.feed_packet(pkt)
        else:
            a = arp(fr)
            if a is not None:
                evs = self.arp.feed_arp(a)
                if evs:
                    self._emit(evs)
            elif inner_frame(fr.linktype, fr.data)[0] == NOT_DECODED:
                self.undecoded_tunnels.append(fr.number)

    def feed_packet(self, pkt: Packet) -> None:
        """A decoded packet that passed the prefilter."""
        if self._duplicate(pkt):
            return
        self.relevant += 1
        newest = self.newest_ts
        if newest is None or pkt.ts > newest:
            self.newest_ts = pkt.ts
        elif newest - pkt.ts > ORDER_SLACK_NS:
            self._late(pkt, newest - pkt.ts)
        self.correlator.frame_ts.add(pkt.frame, pkt.ts)
        # offload check on what findings rest on: phones' packets (not DNS noise of others)
        if (pkt.src in self.phone_hosts or pkt.dst in self.phone_hosts) and (
                checksum_ok(pkt) is False):
            self.bad_checksums.append(pkt.frame)
        self._spot_phone(pkt)
        evs: list[Event] = []
        for feed in self.feeders.get(pkt.proto, self.other_feeders):
            evs += feed(pkt)
        if pkt.ts - self.last_expire >= EXPIRE_EVERY:
            self.last_expire = pkt.ts
            for ex in self.extractors:
                evs += ex.expire(pkt.ts)
        if evs:
            self._emit(evs)

    def tick(self, now: int) -> None:
        """Advance the clock without a frame (live capture on a quiet link): the same
        once-per-second expiry a frame at time `now` would trigger."""
        if now - self.last_expire >= EXPIRE_EVERY:
            self.last_expire = now
            evs: list[Event] = []
            for ex in self.extractors:
                evs += ex.expire(now)
            if evs:
                self._emit(evs)

    def _duplicate(self, pkt: Packet) -> bool:
        """A byte-identical copy of one of the last DUP_WINDOW relevant frames that were not
        duplicates themselves, at most DUP_NS after it (SPAN mirroring rx and tx)."""
        data = pkt.data
        ts = pkt.ts
        seen = self.recent_ts.get(data)
        if seen is not None:
            for t in seen:
                if 0 <= ts - t <= DUP_NS:
                    self.dup_frames.append(pkt.frame)
                    if len(self.dup_ts) < 2:
                        self.dup_ts.append(ts)
                    else:
                        self.dup_ts[1] = ts
                    return True
        recent = self.recent
        if len(recent) == DUP_WINDOW:
            _t, old = recent.popleft()
            olds = self.recent_ts[old]
            if len(olds) == 1:
                del self.recent_ts[old]
            else:
                del olds[0]
        recent.append((ts, data))
        seen = self.recent_ts.get(data)
        if seen is None:
            self.recent_ts[data] = [ts]
        else:
            seen.append(ts)
        return False

    def _late(self, pkt: Packet, back: int) -> None:
        """An analysed frame out of time order, `back` ns older than the newest before it."""
        self.late_count += 1
        self.late_max = max(self.late_max, back)
        if len(self.late_frames) < 1000:
            self.late_frames.append(pkt.frame)
        if len(self.late_ts) < 2:
            self.late_ts.append(pkt.ts)
        else:
            self.late_ts[1] = pkt.ts

    def order_note(self) -> CaptureNote | None:
        """The note of a capture out of time order (ORDER_MIN_FRAMES late frames or more)."""
        n = self.late_count
        if n < ORDER_MIN_FRAMES:
            return None
        shown = self.late_frames[:20]
        return CaptureNote(
            ORDER_NOTE,
            f"capture out of time order: {n} analysed frames are older than a frame before "
            f"them by more than {ORDER_SLACK_NS // 1_000_000} ms (up to "
            f"{_span(self.late_max)}; frames " + ", ".join(map(str, shown))
            + (" ..." if n > len(shown) else "") + "). capfcap reads frames in file order, "
            "as Wireshark does, so answers and ACKs may come before what they answer: for "
            "each phone whose own frames go back in time, the verdicts that rest on the order "
            "(silences, CAPTURE_GAPS, the CAPF outcome) are withheld. Likely causes: two "
            "captures concatenated (`mergecap -a`), interfaces written in runs rather than "
            "merged, or the capturing host's clock stepped back "
            "(then the file order is right and the times are not). Rewrite the capture in "
            "time order with `reordercap in.pcapng out.pcapng` and analyse that; two vantage "
            "points merged with duplicates or clock skew need more than that",
            tuple(self.late_frames), n, self.late_ts[0], self.late_ts[-1])

    def _spot_phone(self, pkt: Packet) -> None:
        """Phones' other traffic matters too (capture-quality checks): learn them early."""
        for ip in phones_shown(pkt, self.pf.phone_ports):
            if ip not in self.phone_hosts:
                self.phone_hosts.add(ip)
                self.pf.add_host(ip_packed(ip))

    def _phone_packet(self, pkt: Packet) -> bool:
        return pkt.src in self.phone_hosts or pkt.dst in self.phone_hosts

    def _emit(self, evs: list[Event]) -> None:
        evs = self.objects.take(evs)
        for ev in evs:
            if isinstance(ev, ConfigSeen) and ev.config is not None:
                self.capf_ports.update(p for _h, p in ev.config.capf_servers)
                self.tvs_ports.update(p for _h, p in ev.config.tvs_servers)
                self.tcp.service_ports.update(self.capf_ports, self.tvs_ports)
        self.correlator.add_all(evs)
        for cb in self.listeners:
            cb(evs)

    def finish(self) -> None:
        evs: list[Event] = []
        for ex in self.extractors:
            evs += ex.finish()
        order = self.order_note()
        if order is not None:
            evs.append(order)
        if self.dup_frames:
            evs.append(CaptureNote(
                "duplicates",
                f"{len(self.dup_frames)} analysed frames were byte-identical copies of a frame "
                f"seen less than {DUP_NS // 1_000_000} ms earlier (SPAN mirroring both rx and tx); "
                f"they were removed before retransmissions were counted. Duplicate frames: "
                + ", ".join(map(str, self.dup_frames[:50]))
                + (" ..." if len(self.dup_frames) > 50 else ""),
                tuple(self.dup_frames[:1000]), len(self.dup_frames),
                self.dup_ts[0], self.dup_ts[-1],
            ))
        if self.bad_checksums:
            n = len(self.bad_checksums)
            evs.append(_listed(
                "bad_checksums", self.bad_checksums,
                f"{n} analysed frame{'s' if n > 1 else ''} carry a wrong TCP/UDP checksum, most "
                "likely NIC checksum offload on the capturing host; they were analysed anyway"))
        if self.undecoded_tunnels:
            n = len(self.undecoded_tunnels)
            evs.append(_listed(
                "undecoded_tunnels", self.undecoded_tunnels,
                f"{n} GRE/ERSPAN or VXLAN packet{'s' if n > 1 else ''} (remote SPAN) carried "
                "a frame capfcap could not read (fragmented, cut short, damaged, of a kind "
                "not read, or a tunnel inside the tunnel); "
                + ("they were" if n > 1 else "it was") + " not analysed"))
        self._emit(evs)

    def release(self) -> None:
        """After `finish` on a file analysis: drop the flow tables and caches the report
        does not read (a dict keeps its size after its entries go), so the report of many
        phones is built in the room they took."""
        from capfcap import checksum, headers

        self.extractors, self.feeders = [], {}
        self.other_feeders = ()  # type: ignore[assignment]
        self.dns = self.tcp = self.objects = self.arp = None  # type: ignore[assignment]
        self.recent.clear()
        self.recent_ts = {}
        headers.clear_cache()
        checksum.clear_cache()

    def report(self, files: list[FileInfo], notes: Iterable[str] = (),
               final: bool = False) -> Report:
        """`final`: the analysis is over and this is its only report, so the correlator
        may let go of each phone's events once its report is built."""
        ends = [f.last for f in files if f.last is not None]
        if self.last_ts is not None:
            ends.append(self.last_ts)
        unused = self.keylog_unused()
        r = self.correlator.report([capture_info(f) for f in files],
                                   end_ts=max(ends) if ends else None, final=final)
        r.version = __version__
        r.notes = list(notes) + r.notes
        if unused:
            r.notes.append(unused)
        return r

    def keylog_unused(self) -> str:
        """The note for a --keylog that decrypted no record of the capture, else ""."""
        if self.opts.keylog_data is None or any(s.decrypted for s in self.correlator.state.tls):
            return ""
        name = self.opts.keylog or "the key log"
        recs = [r.frame for s in self.correlator.state.tls for r in s.records]
        what = (f"none of the {len(recs)} TLS application records of this capture (first "
                f"at frame {min(recs)})" if recs else "nothing: the capture holds no TLS "
                "application record")
        return (f"{KEYLOG_UNUSED} {name} decrypted {what}; its secrets belong to other "
                f"sessions (or their handshakes were not captured), so CAPF verdicts come "
                f"from record sizes")


def _listed(kind: str, frames: list[int], text: str) -> CaptureNote:
    """A capture note on `frames`: `text`, then the first twenty of them."""
    first = ", ".join(map(str, frames[:20])) + (" ..." if len(frames) > 20 else "")
    return CaptureNote(kind, f"{text} (first: {first})", tuple(frames[:1000]), len(frames))


def _span(ns: int) -> str:
    """A step back in time for people: 0.235 s, 3600.000 s, 498,809 h."""
    if ns < 86_400 * 1_000_000_000:
        return f"{ns / 1e9:.3f} s"
    return f"{ns // 3_600_000_000_000:,} h"


def capture_info(f: FileInfo) -> CaptureInfo:
    """A file as the report tells it: FileInfo's fields in CaptureInfo's order, its link
    types by name."""
    names = [LINKTYPE_NAMES.get(lt, f"linktype {lt}") for lt in f.linktypes]
    return CaptureInfo(f.path, f.sha256, f.packets, f.first, f.last, f.format, names, f.error)


def analyze(
    paths: list[str],
    opts: Options,
    progress: Callable[[InputSet], None] | None = None,
    reader: ReaderProcess | None = None,
) -> tuple[Report, InputSet]:
    """Analyse capture files. Damage is reported in InputSet.errors, never raised.

    `reader`: a reader process already started on `paths` (the command starts it before
    the analysis modules load); otherwise one is started when `parallel.wanted` says so."""
    threshold = gc.get_threshold()
    # The analysis keeps what it builds (flows, transfers, phones): with the default
    # threshold the collector walks that growing heap ever more often (a third of the CPU
    # time for 100,000 phones); young objects are collected in larger batches instead.
    # Its objects are freed by reference counting (no cycles: tests/test_gc_cycles.py),
    # so a batch of a million only delays what a cycle created by accident would hold.
    gc.set_threshold(max(threshold[0], GC_BATCH), *threshold[1:])
    try:
        return _analyze(paths, opts, progress, reader)
    finally:
        gc.set_threshold(*threshold)


def _analyze(
    paths: list[str],
    opts: Options,
    progress: Callable[[InputSet], None] | None,
    reader: ReaderProcess | None,
) -> tuple[Report, InputSet]:
    inputs = InputSet()
    a = Analysis(opts)
    n = 0
    if progress is not None:  # it may also poll `inputs` (frames the prefilter skips)
        progress(inputs)
    if reader is None and opts.scan and wanted(paths, opts.jobs, opts.fast):
        reader = ReaderProcess(paths, (*opts.capf_ports, *opts.tvs_ports))
    if reader is not None:
        for fr in reader.frames(inputs):
            a.feed(fr)
            if progress is not None and inputs.progress != n:
                n = inputs.progress
                progress(inputs)
    else:
        skip = Skipper(a.pf) if opts.fast and opts.scan else None
        for fr in frames(paths, inputs, skip):
            a.feed(fr)
            n += 1
            if progress is not None and n % 1024 == 0:
                progress(inputs)
    a.finish()
    a.release()
    from capfcap.capture_notes import file_warnings  # unsupported link types, snaplen cuts

    return a.report(inputs.files, inputs.errors + file_warnings(inputs.files),
                    final=True), inputs

