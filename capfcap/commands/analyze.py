"""`capfcap analyze CAPTURE...`"""

from __future__ import annotations

import argparse
import io
import os
import sys
from typing import TYPE_CHECKING

from capfcap import exitcodes, parallel
from capfcap.commands.common import cores, options, render, status, unrecognised, warnings
from capfcap.errors import InputError, UsageError
from capfcap.options import ports
from capfcap.outputs import atomic_file, check_writable, write_atomic
from capfcap.sources.files import STDIN, CaptureError

if TYPE_CHECKING:  # the analysis modules load after the reader process has started
    from capfcap.progress import ProgressBar
    from capfcap.report import Report


def emit(r: Report, args: argparse.Namespace) -> None:
    if args.format == "json":  # streamed: a large report never sits in memory as one string
        from capfcap.reporters.json import write

        if args.output:
            with atomic_file(args.output, args.force) as f:
                t = io.TextIOWrapper(f, encoding="utf-8", write_through=True)
                write(r, t)
                t.flush()
                t.detach()  # atomic_file closes the binary file
        else:
            write(r, sys.stdout)
            sys.stdout.flush()
    elif args.output:
        write_atomic(args.output, render(r, args.format, "never", False), args.force)
    else:
        sys.stdout.write(render(r, args.format, args.color, True))
        sys.stdout.flush()


def _check_paths(args: argparse.Namespace) -> None:
    """Fail before reading anything: captures that do not exist, outputs that may not be
    written, --redact without --bundle."""
    _check_stdin(args)
    for p in args.captures:
        if p != STDIN and not os.path.exists(p):
            raise InputError(f"{p}: no such file or directory")
    if args.output:
        check_writable(args.output, args.force)
    if args.bundle:
        check_writable(args.bundle, args.force)
    elif args.redact:
        raise UsageError("--redact applies to the ticket bundle: add --bundle OUT.zip")


def run(args: argparse.Namespace) -> int:
    if getattr(args, "each", False):
        from capfcap.commands.each import run as run_each

        return run_each(args)
    if args.jobs is not None:  # one analysis uses two processes at most (sources/parallel.py)
        args.jobs = min(args.jobs or cores(), 2)
    _check_paths(args)
    service_ports = (*ports(args.capf_port, "--capf-port"), *ports(args.tvs_port, "--tvs-port"))
    reader = None
    if STDIN not in args.captures and parallel.wanted(args.captures, args.jobs, args.fast):
        # reads while the rest loads
        reader = parallel.ReaderProcess(args.captures, service_ports)
    progress = None
    try:
        from capfcap.pipeline import analyze

        opts = options(args)
        if reader is None:  # also for stdin: one stream, read once, in this process
            opts.jobs = 1  # decided above: the analysis need not look at the files again
        progress = _progress(args.captures)
        report, inputs = analyze(args.captures, opts, progress=progress, reader=reader)
    except CaptureError as e:
        raise InputError(str(e)) from None
    finally:
        if reader is not None:
            reader.close()
        if progress is not None:
            progress.close()
    if unrecognised(inputs):  # one line each; a capture damaged before its first frame
        for msg in inputs.errors:  # still gets a report that names the damage
            print(f"capfcap: {msg}", file=sys.stderr)
        return exitcodes.BAD_INPUT
    unmatched_phone(report)
    if args.crosscheck:
        from capfcap.crosscheck import CrosscheckError, crosscheck

        try:
            crosscheck(report, args.captures)
        except CrosscheckError as e:
            print(f"capfcap: {e}", file=sys.stderr)
            return e.status
    emit(report, args)
    if args.bundle:
        from capfcap.bundle.archive import write_bundle

        write_bundle(args.bundle, report, inputs, opts, redact=args.redact, force=args.force)
    for w in warnings(report, inputs):
        print(f"capfcap: {w}", file=sys.stderr)
    return status(report, inputs, args.fail_on)


def _check_stdin(args: argparse.Namespace) -> None:
    """`-` is a stream read once: alone, and not with what must read the input again."""
    if STDIN not in args.captures:
        return
    if len(args.captures) > 1:
        raise UsageError("- (standard input) cannot be combined with other captures")
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("- reads a capture from standard input, which is a terminal: "
                         "pipe one in (tcpdump -w - | capfcap analyze -)")
    for flag, used in (("--bundle", args.bundle), ("--crosscheck", args.crosscheck)):
        if used:
            raise UsageError(f"{flag} reads the capture again: save the stream to a file "
                             f"(tcpdump -w FILE) and analyse the file")


def unmatched_phone(r: Report) -> None:
    """An unmatched --phone is a usage error naming the phones seen (never a clean report)."""
    if not r.unmatched_phones:
        return
    given = ", ".join(r.unmatched_phones)
    seen = "; ".join(r.phones_seen) if r.phones_seen else "none"
    raise UsageError(f"--phone {given}: matches no phone in the capture (phones seen: {seen})")


PROGRESS_MIN_BYTES = 8 << 20  # smaller inputs are read in about a second: no bar


def _progress(paths: list[str]) -> ProgressBar | None:
    if not sys.stderr.isatty():
        return None
    from capfcap.sources.inputs import expand_quietly

    size = 0
    for p in expand_quietly(paths):
        try:
            size += os.path.getsize(p) if p != STDIN else 0
        except OSError:
            pass
    if size <= PROGRESS_MIN_BYTES:
        return None
    from capfcap.progress import ProgressBar

    return ProgressBar(size)
