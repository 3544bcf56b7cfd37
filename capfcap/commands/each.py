"""`capfcap analyze --each CAPTURE...`: every capture analysed on its own, in parallel
processes with --jobs, reports written in input order, then a fleet summary.

Exit status: the most pressing over the captures (exitcodes.worst): a --phone that
matches no phone in any capture (2), a bug (1), unreadable or damaged input (5), error
findings (4), warnings (3). --fail-on applies to every capture, hence to the run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import os
import sys
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import TextIO

from capfcap import __version__, exitcodes
from capfcap.commands.common import cores, options
from capfcap.commands.eachjob import Job, Result, died, missing, quiet_interrupts
from capfcap.commands.eachjob import run as run_job
from capfcap.errors import UsageError
from capfcap.fleet import CaptureSummary, unmatched_everywhere
from capfcap.outputs import atomic_file, check_writable
from capfcap.reporters import fleet
from capfcap.reporters.summary import esc
from capfcap.sources.files import STDIN, CaptureError
from capfcap.sources.inputs import expand

FORMATS = ("text", "markdown", "json", "jsonl")


def run(args: argparse.Namespace) -> int:
    _refuse(args)
    if args.output:
        check_writable(args.output, args.force)
    opts = options(args)
    workers = cores() if args.jobs == 0 else args.jobs or 1
    if args.jobs is not None:  # each capture read in one process: the pool is the parallelism
        opts.jobs = 1
    items = plan(args.captures, lambda i, p: Job(
        i, p, opts, args.format, args.color, not args.output, args.fail_on, args.crosscheck))
    results: list[CaptureSummary] = []
    in_order = _in_order(items, workers, _progress(len(items)))
    with contextlib.closing(in_order), _sink(args) as out:  # closing stops the pool
        _WRITERS[args.format](out, in_order, results)
    status = exitcodes.worst([c.status for c in results])
    nowhere = unmatched_everywhere(results)
    if nowhere:
        print(f"capfcap: --phone {', '.join(nowhere)}: matches no phone in any capture",
              file=sys.stderr)
        status = exitcodes.USAGE
    return status


def _refuse(args: argparse.Namespace) -> None:
    """What --each cannot do: one line each (exit 2)."""
    if args.format not in FORMATS:
        raise UsageError(f"--format {args.format} is not supported with --each (one page "
                         f"per capture: run analyze on each); use text, markdown, json or jsonl")
    if args.bundle:
        raise UsageError("--bundle is not supported with --each: a ticket bundle covers "
                         "one analysis; bundle a capture on its own (analyze FILE --bundle "
                         "OUT.zip)")
    if args.redact:
        raise UsageError("--redact applies to the ticket bundle, which --each does not write")
    if STDIN in args.captures:
        raise UsageError("- (standard input) is one stream: --each takes files and "
                         "directories")


def plan(paths: list[str], job: Callable[[int, str], Job]) -> list[Job | Result]:
    """Each capture file in input order (a directory: its captures, sorted by name); a
    path that is missing, or a directory without captures, is an already failed result."""
    items: list[Job | Result] = []
    for p in paths:
        if not os.path.exists(p):
            items.append(missing(len(items), p, "no such file or directory"))
            continue
        try:
            files = expand([p])
        except (CaptureError, OSError) as e:
            msg = str(e) if isinstance(e, CaptureError) else f"{p}: {e.strerror or e}"
            items.append(missing(len(items), p, msg.removeprefix(f"{p}: ")))
            continue
        items += [job(len(items) + k, f) for k, f in enumerate(files)]
    return items


def _in_order(items: list[Job | Result], workers: int,
              done: Callable[[Result], None]) -> Generator[Result, None, None]:
    """Results in input order, whatever order the workers finish in; each capture's
    stderr lines go out with its report."""
    ready = {x.index: x for x in items if isinstance(x, Result)}
    jobs = [x for x in items if isinstance(x, Job)]
    nxt = 0
    with contextlib.closing(_completed(jobs, workers)) as finished:
        for r in itertools.chain(list(ready.values()), finished):
            done(r)
            ready[r.index] = r
            while nxt in ready:
                out = ready.pop(nxt)
                for m in out.messages:
                    print(f"capfcap: {m}", file=sys.stderr)
                yield out
                nxt += 1


def _completed(jobs: list[Job], workers: int) -> Generator[Result, None, None]:
    """Results as they finish: in this process, or in a pool of `workers` processes that
    is stopped (not waited for) when the command stops early (Ctrl-C, a closed pipe)."""
    if workers <= 1 or len(jobs) <= 1:
        yield from map(run_job, jobs)
        return
    pool = ProcessPoolExecutor(min(workers, len(jobs)), initializer=quiet_interrupts)
    finished = False
    try:
        futures = {pool.submit(run_job, j): j for j in jobs}
        for fut in as_completed(futures):
            yield _outcome(fut, futures[fut])
        finished = True
    finally:
        if not finished:  # the analyses still running are killed, not waited for
            procs = getattr(pool, "_processes", None) or {}  # no public way before 3.14
            for proc in list(procs.values()):
                proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


def _outcome(fut: Future[Result], job: Job) -> Result:
    try:
        return fut.result()
    except BrokenProcessPool:  # a worker was killed (out of memory?): the pool is gone
        return died(job)


def _progress(total: int) -> Callable[[Result], None]:
    """One line per finished capture on stderr, when it is a terminal."""
    count = [0]

    def done(r: Result) -> None:
        count[0] += 1
        if sys.stderr.isatty():
            print(f"capfcap: [{count[0]}/{total}] {r.path}: {fleet.status_word(r.summary)}",
                  file=sys.stderr)
    return done


@contextlib.contextmanager
def _sink(args: argparse.Namespace) -> Iterator[TextIO]:
    if not args.output:
        yield sys.stdout
        sys.stdout.flush()
        return
    with atomic_file(args.output, args.force) as f:
        t = io.TextIOWrapper(f, encoding="utf-8", write_through=True)
        yield t
        t.flush()
        t.detach()  # atomic_file closes the binary file


def _text(out: TextIO, results: Iterator[Result], kept: list[CaptureSummary]) -> None:
    for r in results:
        kept.append(r.summary)
        out.write(f"=== {r.path} ===\n")
        out.write(r.output or f"not analysed: {r.summary.error}\n")
        out.write("\n")
    out.write(fleet.render_text(kept))


def _markdown(out: TextIO, results: Iterator[Result], kept: list[CaptureSummary]) -> None:
    for r in results:
        kept.append(r.summary)
        out.write(r.output or f"# capfcap report: {esc(r.path)}\n\nNot analysed: "
                              f"{esc(r.summary.error)}\n")
        out.write("\n")
    out.write(fleet.render_markdown(kept))


def _json(out: TextIO, results: Iterator[Result], kept: list[CaptureSummary]) -> None:
    """{"schema", "capfcap_version", "reports": [each capture's report, the normal
    schema], "summary": the fleet summary}; unreadable captures are in the summary only."""
    out.write(f'{{\n  "schema": "{fleet.SCHEMA}",\n  "capfcap_version": '
              f'{json.dumps(__version__)},\n  "reports": [')
    sep = "\n"
    for r in results:
        kept.append(r.summary)
        if r.output:
            out.write(sep + _indent(r.output.rstrip("\n"), 4))
            sep = ",\n"
    summary = json.dumps(fleet.to_dict(kept), indent=2,
                         ensure_ascii=False)
    out.write(("]" if sep == "\n" else "\n  ]") + ',\n  "summary": '
              + _indent(summary, 2).lstrip() + "\n}\n")


def _jsonl(out: TextIO, results: Iterator[Result], kept: list[CaptureSummary]) -> None:
    """One report per line (the normal schema), then {"type": "fleet_summary", ...}."""
    for r in results:
        kept.append(r.summary)
        out.write(r.output)
    last = {"type": "fleet_summary", "schema": fleet.SCHEMA, "capfcap_version": __version__,
            **fleet.to_dict(kept)}
    out.write(json.dumps(last, ensure_ascii=False, separators=(",", ":")) + "\n")


def _indent(text: str, n: int) -> str:
    pad = " " * n
    return "\n".join(pad + ln if ln else ln for ln in text.split("\n"))


# Each writer streams the reports in input order and keeps only their summaries (`kept`,
# for the fleet summary and the exit status), never the reports themselves.
_WRITERS: dict[str, Callable[[TextIO, Iterator[Result], list[CaptureSummary]], None]] = {
    "text": _text, "markdown": _markdown, "json": _json, "jsonl": _jsonl}
