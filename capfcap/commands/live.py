"""`capfcap live -i IFACE`: the analyze pipeline on frames sniffed from an interface.

Frames go one at a time into the same `pipeline.Analysis` as offline files; the clock is
packet time (the kernel's receive timestamps), so a verdict reached live is the verdict
`capfcap analyze` reaches on a capture of the same packets. When the link is quiet the
clock follows the kernel's clock, so timeout verdicts (a DNS query with no answer, SYNs
with no SYN-ACK once the phone gave up) appear when their time has passed.

Frame numbers: the Nth frame capfcap kept (it passed the kernel filter and the
prefilter) is frame N. With `--ring DIR` the ring files hold exactly those frames in that
order, each with the packet comment "capfcap frame N"; `capfcap analyze DIR` numbers them
the same way as long as no file has been rotated away.

A finding is printed once it has stayed in the report for HOLD_NS of packet time (a
transient state, e.g. ITLSEP<MAC>.tlv failing a few ms before ITLFile.tlv succeeds, is
not printed); verdicts about something that did not happen (CAPF_NOT_ATTEMPTED,
CAPTURE_ONE_SIDED) wait ABSENCE_HOLD_NS. The final report, written when the run ends
(--duration, --count, Ctrl-C or SIGTERM), is authoritative.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from types import FrameType
from typing import IO, Any

from capfcap import exitcodes
from capfcap.commands.analyze import options, render
from capfcap.decode import Prefilter, decode
from capfcap.errors import UsageError
from capfcap.findings import Finding
from capfcap.outputs import check_writable, write_atomic
from capfcap.pipeline import Analysis, Options
from capfcap.report import PhoneReport, Report, iso
from capfcap.sources.files import FileInfo
from capfcap.sources.frame import Frame
from capfcap.sources.live import LiveCapture, LiveError
from capfcap.sources.ring import DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, Ring

REPORT_EVERY_NS = 1_000_000_000  # re-evaluate the rules once per second of packet time
HOLD_NS = 2_000_000_000
ABSENCE_HOLD_NS = 60_000_000_000
ABSENCE_CODES = frozenset({"CAPF_NOT_ATTEMPTED", "TVS_NOT_ATTEMPTED", "CAPTURE_ONE_SIDED"})
POLL_S = 0.25  # longest wait for a frame before the display and the clock move on
TICK_MARGIN_NS = 100_000_000  # a quiet-link tick stays this far behind the kernel clock
DONE_CODES = frozenset({"CAPF_LSC_ISSUED", "CAPF_NO_CERTIFICATE"})
STAGES = (("trust", "trust list"), ("config", "config"), ("dns", "DNS"), ("capf", "CAPF"))
_STAGE_INDEX = {k: i for i, (k, _n) in enumerate(STAGES)}


def finding_key(f: Finding) -> tuple[object, ...]:
    first = f.evidence.frames[0] if f.evidence.frames else f.summary
    return (f.code, f.phone.get("ip", ""), json.dumps(f.server, sort_keys=True), first)


def stage_of(p: PhoneReport, findings: list[Finding]) -> str:
    """How far the phone got: trust list, config, DNS, CAPF, done."""
    if any(f.code in DONE_CODES and f.phone.get("ip") == p.ip for f in findings):
        return "done"
    best = max((_STAGE_INDEX[e.stage] for e in p.timeline if e.stage in _STAGE_INDEX),
               default=-1)
    return STAGES[best][1] if best >= 0 else "-"


def finding_line(f: Finding) -> str:
    srv = ""
    if f.server.get("ip"):
        srv = f" -> {f.server['ip']}" + (f":{f.server['port']}" if f.server.get("port") else "")
    frames = ", ".join(map(str, f.evidence.frames[:10])) + (
        " ..." if len(f.evidence.frames) > 10 else "")
    who = f.phone.get("ip", "capture")
    return f"{f.severity.upper():7} {f.code}  {who}{srv}  {f.summary}" + (
        f"  [frames {frames}]" if frames else "")


def finding_json(f: Finding) -> str:
    from capfcap.reporters.json import finding_dict

    return json.dumps(finding_dict(f), ensure_ascii=False, sort_keys=False)


# -- display ---------------------------------------------------------------------------------
class LineView:
    """One line per finding (text), or one JSON object per line (jsonl)."""

    def __init__(self, out: IO[str], jsonl: bool) -> None:
        self.out = out
        self.jsonl = jsonl

    def finding(self, f: Finding) -> None:
        self.out.write((finding_json(f) if self.jsonl else finding_line(f)) + "\n")
        self.out.flush()

    def message(self, text: str) -> None:
        print(f"capfcap: {text}", file=sys.stderr, flush=True)

    def update(self, r: Report, status: str) -> None:
        pass

    def close(self) -> None:
        pass


class RichView:
    """A terminal view: one row per phone (stage, worst finding), findings above it."""

    def __init__(self, out: IO[str], color: str) -> None:
        from rich.console import Console
        from rich.live import Live

        force = {"always": True, "never": False}.get(color)
        self.console = Console(file=out, force_terminal=force if force else None,
                               no_color=color == "never")
        self.live = Live(console=self.console, auto_refresh=False, transient=True,
                         redirect_stdout=False, redirect_stderr=False)
        self.live.start()

    def finding(self, f: Finding) -> None:
        from rich.text import Text

        style = {"error": "bold red", "warning": "yellow", "info": "cyan"}[f.severity]
        t = Text()
        t.append(f"{f.severity.upper():7} {f.code}", style=style)
        t.append(finding_line(f)[8 + len(f.code):])
        self.live.console.print(t)

    def message(self, text: str) -> None:
        self.live.console.print(f"[yellow]capfcap: {text}[/]")

    def update(self, r: Report, status: str) -> None:
        from rich.table import Table

        tab = Table(title=status, title_justify="left", expand=False)
        for col in ("phone", "device", "stage", "worst finding"):
            tab.add_column(col, overflow="fold")
        for p in r.phones:
            w = r.worst_for(p.ip)
            worst = f"{w.severity.upper()} {w.code}: {w.summary}" if w else "-"
            tab.add_row(p.ip, p.device or p.mac, stage_of(p, r.findings), worst)
        self.live.update(tab, refresh=True)

    def close(self) -> None:
        self.live.stop()


# -- stopping --------------------------------------------------------------------------------
class Stopper:
    """SIGINT and SIGTERM end the run gracefully; a second one acts as usual."""

    def __init__(self) -> None:
        self.reason = ""
        self.prev: dict[int, Any] = {}

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.prev[sig] = signal.signal(sig, self._handler)

    def _handler(self, signum: int, _frame: FrameType | None) -> None:
        self.reason = "interrupted (SIGINT)" if signum == signal.SIGINT else "SIGTERM"
        signal.signal(signum, self.prev.get(signum) or signal.SIG_DFL)

    def restore(self) -> None:
        for sig, h in self.prev.items():
            signal.signal(sig, h if h is not None else signal.SIG_DFL)


# -- the run ---------------------------------------------------------------------------------
class Session:
    def __init__(self, opts: Options, cap: LiveCapture, ring: Ring | None,
                 view: LineView | RichView) -> None:
        self.a = Analysis(opts)
        self.cap = cap
        self.ring = ring
        self.view = view
        self.kept = 0
        self.now = 0
        self.first: int | None = None
        self.last: int | None = None
        self.last_report = 0
        self.first_seen: dict[tuple[object, ...], int] = {}
        self.printed: set[tuple[object, ...]] = set()
        self.hosts_known = 0
        self.drops_told = 0

    def frame(self, fr: Frame) -> None:
        if fr.ts > self.now:
            self.now = fr.ts
        fr.number = self.kept + 1
        if decode(fr, self.a.pf) is None:
            return
        self.kept += 1
        if self.first is None:
            self.first = fr.ts
        self.last = fr.ts
        if self.ring is not None:
            self.ring.write(fr)
        self.a.feed(fr)
        if len(self.a.phone_hosts) != self.hosts_known:
            self.hosts_known = len(self.a.phone_hosts)
            self.cap.add_hosts(self.a.phone_hosts)

    def quiet(self) -> None:
        t = time.time_ns() - TICK_MARGIN_NS
        if t > self.now:
            self.now = t
            self.a.tick(t)

    def due(self) -> bool:
        return self.now - self.last_report >= REPORT_EVERY_NS

    def evaluate(self, status: str) -> None:
        self.last_report = self.now
        r = self.a.report([])
        for f in r.findings:
            k = finding_key(f)
            if k in self.printed:
                continue
            seen = self.first_seen.setdefault(k, self.now)
            hold = ABSENCE_HOLD_NS if f.code in ABSENCE_CODES else HOLD_NS
            if self.now - seen >= hold:
                self.printed.add(k)
                self.view.finding(f)
        _pk, drops = self.cap.stats()
        if drops > self.drops_told:
            self.drops_told = drops
            self.view.message(f"warning: the kernel dropped {drops} frames so far (the "
                              "socket buffer overflowed; narrow the capture with --bpf)")
        self.view.update(r, status)

    def unprinted(self, r: Report) -> list[Finding]:
        return [f for f in r.findings if finding_key(f) not in self.printed]


def _files(s: Session, cap: LiveCapture) -> list[FileInfo]:
    if s.ring is not None:
        return s.ring.infos()
    return [FileInfo(f"live:{cap.iface}", format="live", packets=s.kept, first=s.first,
                     last=s.last, linktypes=[cap.linktype])]


def _notes(s: Session, cap: LiveCapture, reason: str) -> list[str]:
    pk, drops = cap.stats()
    notes = [
        f"live capture on {cap.iface} ({reason}): {cap.captured} frames matched the kernel "
        f"filter, {s.kept} were kept for analysis; frame N is the Nth kept frame",
    ]
    if cap.extra:
        notes.append(f"--bpf {cap.extra} (ANDed with capfcap's kernel filter)")
    if drops:
        notes.append(f"the kernel dropped {drops} of {pk} frames that matched the filter; "
                     "verdicts about missing packets may be wrong")
    if s.ring is not None and s.ring.deleted:
        first = s.ring.files[0].first_frame if s.ring.files else s.kept + 1
        notes.append(f"the ring rotated {s.ring.deleted} older files away: frames 1 to "
                     f"{first - 1} are no longer on disk")
    return notes


def _make_view(args: argparse.Namespace) -> LineView | RichView:
    to_stdout = args.format in ("text", "jsonl")
    out = sys.stdout if to_stdout else sys.stderr
    tty = out.isatty()
    if args.format != "jsonl" and (tty or args.color == "always"):
        return RichView(out, args.color)
    return LineView(out, args.format == "jsonl")


def _emit_final(r: Report, s: Session, args: argparse.Namespace) -> None:
    if args.format == "jsonl":
        if args.output:
            text = "".join(finding_json(f) + "\n" for f in r.findings)
            write_atomic(args.output, text, args.force)
        else:
            for f in s.unprinted(r):
                sys.stdout.write(finding_json(f) + "\n")
            sys.stdout.flush()
        return
    if args.output:
        write_atomic(args.output, render(r, args.format, "never", False), args.force)
    else:
        sys.stdout.write(render(r, args.format, args.color, True))
        sys.stdout.flush()


def _bundle_writer() -> Callable[..., object]:
    try:
        from capfcap.bundle.archive import write_bundle
    except ImportError:
        raise UsageError("--bundle: the ticket bundle writer is not part of this build") from None
    return write_bundle


def run(args: argparse.Namespace) -> int:
    if args.duration is not None and not args.duration > 0:
        raise UsageError("--duration must be a positive number of seconds")
    if args.count is not None and args.count <= 0:
        raise UsageError("--count must be a positive number of frames")
    if args.crosscheck:
        raise UsageError("--crosscheck needs capture files: run capfcap analyze on the "
                         "--ring files")
    if args.ring and os.path.exists(args.ring) and not os.path.isdir(args.ring):
        raise UsageError(f"--ring {args.ring}: not a directory")
    if args.output:
        check_writable(args.output, args.force)
    write_bundle = None
    if args.bundle:
        check_writable(args.bundle, args.force)
        write_bundle = _bundle_writer()
    opts = options(args)
    pf = Prefilter(service_ports=(*opts.capf_ports, *opts.tvs_ports))
    cap = LiveCapture(args.interface, args.bpf, pf.tcp_ports, pf.udp_ports)
    try:
        cap.open()
    except LiveError as e:
        print(f"capfcap: {e}", file=sys.stderr)
        return exitcodes.USAGE if e.kind in ("filter", "tool") else exitcodes.BAD_INPUT
    tmp_ring = None
    ring = None
    if args.ring or write_bundle is not None:
        ring_dir = args.ring or tempfile.mkdtemp(prefix="capfcap-live-")
        tmp_ring = None if args.ring else ring_dir
        try:
            ring = Ring(ring_dir, cap.linktype, cap.iface, cap.expr,
                        DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, time.time_ns())
        except OSError as e:
            cap.close()
            raise UsageError(f"--ring {ring_dir}: {e.strerror or e}") from None
    stopper = Stopper()
    stopper.install()
    stop_how = (f"for {args.duration:g} s" if args.duration else
                f"for {args.count} frames" if args.count else "until Ctrl-C")
    print(f"capfcap: capturing on {cap.iface} {stop_how}"
          + (f", ring files in {args.ring}" if args.ring else ""), file=sys.stderr, flush=True)
    view = _make_view(args)
    s = Session(opts, cap, ring, view)
    status = 0
    reason = ""
    start = time.monotonic()
    try:
        reason, status = _loop(s, cap, args, stopper, start)
    finally:
        view.close()
        stopper.restore()
        cap.close()
        if ring is not None:
            ring.close()
    s.a.finish()
    r = s.a.report(_files(s, cap), _notes(s, cap, reason))
    _emit_final(r, s, args)
    if write_bundle is not None and ring is not None:
        # the bundle re-reads the ring files and cites frames by their merged position,
        # which equals the live numbering only while no file has been rotated away
        paths = ring.paths if not ring.deleted else []
        if ring.deleted:
            print("capfcap: warning: the ring rotated older files away, so the bundle "
                  "carries no evidence frames (the ring files hold the latest ones)",
                  file=sys.stderr)
        write_bundle(args.bundle, r, paths, opts, redact=args.redact, force=args.force)
    if tmp_ring is not None:
        shutil.rmtree(tmp_ring, ignore_errors=True)
    _pk, drops = cap.stats()
    if drops:
        print(f"capfcap: warning: the kernel dropped {drops} frames; verdicts about missing "
              "packets may be wrong", file=sys.stderr)
    if status:
        return status
    return exitcodes.from_findings(r.severities(), args.fail_on)


def _loop(s: Session, cap: LiveCapture, args: argparse.Namespace, stopper: Stopper,
          start: float) -> tuple[str, int]:
    """Capture until --duration, --count, a signal, or a capture error."""
    deadline = start + args.duration if args.duration else None
    last_view = 0.0
    while True:
        if stopper.reason:
            return stopper.reason, 0
        mono = time.monotonic()
        if deadline is not None and mono >= deadline:
            return f"--duration {args.duration:g} s reached", 0
        wait = POLL_S if deadline is None else max(0.0, min(POLL_S, deadline - mono))
        try:
            fr = cap.recv(wait)
        except LiveError as e:
            s.view.message(str(e))
            return str(e), exitcodes.BAD_INPUT
        if fr is None:
            s.quiet()
        else:
            s.frame(fr)
        if s.due() or time.monotonic() - last_view >= 1.0:
            last_view = time.monotonic()
            s.evaluate(_status(s, cap, start))
        if args.count is not None and cap.captured >= args.count:
            return f"--count {args.count} reached", 0


def _status(s: Session, cap: LiveCapture, start: float) -> str:
    return (f"capfcap live on {cap.iface}: {time.monotonic() - start:.0f} s, "
            f"{cap.captured} frames, {s.kept} kept, {len(s.printed)} findings"
            + (f", last packet {iso(s.last)}" if s.last else ""))

