"""One capture of `analyze --each`: analysed, rendered and summarised in whichever process
runs it (the command's own, or a pool worker). Only picklable values go in and out."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from capfcap import exitcodes
from capfcap.fleet import CaptureSummary, failed, summarise
from capfcap.pipeline import Options, analyze
from capfcap.sources.files import CaptureError


@dataclass(frozen=True)
class Job:
    index: int  # position in the input order
    path: str
    opts: Options
    fmt: str  # text, markdown, json, jsonl
    color: str  # --color, resolved against standard output by analyze.render
    to_stdout: bool
    fail_on: str
    crosscheck: bool = False


@dataclass
class Result:
    index: int
    path: str
    output: str  # the rendered report ("" when there is none)
    summary: CaptureSummary
    messages: list[str] = field(default_factory=list)  # stderr lines, without "capfcap: "

    @property
    def status(self) -> int:
        return self.summary.status


def run(job: Job) -> Result:
    """Never raises for a capture's own problem: unreadable input, a failed crosscheck
    or a bug become this capture's status and one line; the other captures go on."""
    try:
        return _run(job)
    except CaptureError as e:
        return _failed(job.index, job.path, exitcodes.BAD_INPUT, [str(e)])
    except Exception as e:  # a bug: one line for this capture (CAPFCAP_DEBUG=1 raises)
        if os.environ.get("CAPFCAP_DEBUG"):
            raise
        return _failed(job.index, job.path, exitcodes.INTERNAL, [
            f"{job.path}: internal error: {type(e).__name__}: {e} (set CAPFCAP_DEBUG=1 "
            f"for details)"])


def missing(index: int, path: str, why: str) -> Result:
    """A capture that is not there to analyse (a missing file, an empty directory)."""
    return _failed(index, path, exitcodes.BAD_INPUT, [f"{path}: {why}"])


def died(job: Job) -> Result:
    """A capture whose analysis process was killed, or that was still waiting for the
    pool when another was."""
    return _failed(job.index, job.path, exitcodes.INTERNAL, [
        f"{job.path}: not analysed: an analysis process was killed (out of memory?)"])


def _failed(index: int, path: str, status: int, lines: list[str]) -> Result:
    """`lines`: one per problem, each naming the file (the summary keeps them without)."""
    why = "; ".join(ln.removeprefix(f"{path}: ") for ln in lines)
    return Result(index, path, "", failed(path, status, why), lines)


def _run(job: Job) -> Result:
    from capfcap.commands.common import render, status, unrecognised, warnings

    report, inputs = analyze([job.path], job.opts)
    if unrecognised(inputs):
        return _failed(job.index, job.path, exitcodes.BAD_INPUT, list(inputs.errors))
    if job.crosscheck:
        from capfcap.crosscheck import CrosscheckError, crosscheck

        try:
            crosscheck(report, [job.path])
        except CrosscheckError as e:
            return _failed(job.index, job.path, e.status, [f"{job.path}: {e}"])
    title = f"capfcap report: {job.path}"
    out = render(report, job.fmt, job.color, job.to_stdout, title=title)
    st = status(report, inputs, job.fail_on)
    return Result(job.index, job.path, out, summarise(job.path, report, st),
                  warnings(report, inputs))


def quiet_interrupts() -> None:
    """Pool workers leave Ctrl-C to the command, which stops them (no traceback each)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
