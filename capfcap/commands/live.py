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
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable

from capfcap import exitcodes
from capfcap.commands.common import options, render
from capfcap.commands.live_session import Session, Stopper
from capfcap.commands.live_view import LineView, RichView, finding_json
from capfcap.decode import Prefilter
from capfcap.errors import UsageError
from capfcap.outputs import check_writable, write_atomic
from capfcap.pipeline import Options
from capfcap.report import Report, iso
from capfcap.sources.files import FileInfo
from capfcap.sources.live import LiveCapture, LiveError
from capfcap.sources.ring import DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, Ring

POLL_S = 0.25  # longest wait for a frame before the display and the clock move on


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


def _check_args(args: argparse.Namespace) -> None:
    """The option values argparse cannot check, and the output paths (UsageError)."""
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
    if args.bundle:
        check_writable(args.bundle, args.force)


def _open_ring(args: argparse.Namespace, cap: LiveCapture, bundling: bool
               ) -> tuple[Ring | None, str | None]:
    """(the ring, its temporary directory when only the bundle needs one)."""
    if not (args.ring or bundling):
        return None, None
    ring_dir = args.ring or tempfile.mkdtemp(prefix="capfcap-live-")
    try:
        ring = Ring(ring_dir, cap.linktype, cap.iface, cap.expr,
                    DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, time.time_ns())
    except OSError as e:
        cap.close()
        raise UsageError(f"--ring {ring_dir}: {e.strerror or e}") from None
    return ring, None if args.ring else ring_dir


def _bundle_from_ring(write_bundle: Callable[..., object], args: argparse.Namespace,
                      r: Report, ring: Ring, opts: Options) -> None:
    # the bundle re-reads the ring files and cites frames by their merged position,
    # which equals the live numbering only while no file has been rotated away
    paths = ring.paths if not ring.deleted else []
    if ring.deleted:
        print("capfcap: warning: the ring rotated older files away, so the bundle "
              "carries no evidence frames (the ring files hold the latest ones)",
              file=sys.stderr)
    write_bundle(args.bundle, r, paths, opts, redact=args.redact, force=args.force)


def run(args: argparse.Namespace) -> int:
    _check_args(args)
    write_bundle = _bundle_writer() if args.bundle else None
    opts = options(args)
    pf = Prefilter(service_ports=(*opts.capf_ports, *opts.tvs_ports))
    cap = LiveCapture(args.interface, args.bpf, pf.tcp_ports, pf.udp_ports)
    try:
        cap.open()
    except LiveError as e:
        print(f"capfcap: {e}", file=sys.stderr)
        return exitcodes.USAGE if e.kind in ("filter", "tool") else exitcodes.BAD_INPUT
    ring, tmp_ring = _open_ring(args, cap, write_bundle is not None)
    stopper = Stopper()
    stopper.install()
    stop_how = (f"for {args.duration:g} s" if args.duration else
                f"for {args.count} frames" if args.count else "until Ctrl-C")
    print(f"capfcap: capturing on {cap.iface} {stop_how}"
          + (f", ring files in {args.ring}" if args.ring else ""), file=sys.stderr, flush=True)
    view = _make_view(args)
    s = Session(opts, cap, ring, view)
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
        _bundle_from_ring(write_bundle, args, r, ring, opts)
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

