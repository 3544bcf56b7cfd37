"""What `analyze`, `analyze --each` and `live` share: the options from the command line,
a report rendered in its format, and the exit status of one analysis."""

from __future__ import annotations

import argparse
import io
import os
import sys
from typing import TYPE_CHECKING

from capfcap import exitcodes
from capfcap.errors import InputError, UsageError
from capfcap.options import ports

if TYPE_CHECKING:  # the analysis modules load after the reader process has started
    from capfcap.pipeline import Options
    from capfcap.report import Report
    from capfcap.sources.inputs import InputSet


def cores() -> int:
    """The CPUs this process may run on (its affinity mask), for `--jobs 0`."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def options(args: argparse.Namespace) -> Options:
    """The analysis options from the command line (analyze, --each, live)."""
    from capfcap.pipeline import Options

    opts = Options(cucm=list(args.cucm), phones=list(args.phone),
                   keylog=args.keylog, fast=getattr(args, "fast", True),
                   show_secrets=args.show_secrets, jobs=getattr(args, "jobs", None),
                   capf_ports=ports(getattr(args, "capf_port", []), "--capf-port"),
                   tvs_ports=ports(getattr(args, "tvs_port", []), "--tvs-port"),
                   ladder=args.format == "html" or bool(getattr(args, "bundle", None)),
                   keep_files=bool(getattr(args, "bundle", None))
                   or bool(getattr(args, "crosscheck", False)))
    if args.keylog:
        from capfcap.extractors.tlsdecrypt import KeylogError, load_keylog

        try:
            opts.keylog_data = kl = load_keylog(args.keylog)
        except KeylogError as e:
            raise InputError(str(e)) from None
        if not len(kl):
            raise UsageError(not_a_keylog(args.keylog, kl.lines))
    return opts


def not_a_keylog(path: str, lines: int) -> str:
    """One line for a --keylog file without one NSS key log entry (LABEL <32-byte
    client random hex> <secret hex>, the SSLKEYLOGFILE format)."""
    return (f"--keylog {path}: not an NSS key log (no CLIENT_RANDOM or *_SECRET "
            f"line in {lines} line{'s' if lines != 1 else ''})")


def render(r: Report, fmt: str, color: str, to_stdout: bool, title: str = "") -> str:
    """The report as text; `to_stdout`: for standard output (its width and colour), else for
    a file (-o: unwrapped, no colour); `title`: the Markdown heading, when not the default."""
    if fmt == "json":
        from capfcap.reporters.json import render as rj

        return rj(r)
    if fmt == "jsonl":
        from capfcap.reporters.json import line

        return line(r)
    if fmt == "markdown":
        from capfcap.reporters.markdown import render as rm

        return rm(r, title=title) if title else rm(r)
    if fmt == "html":
        from capfcap.reporters.html import render as rh

        return rh(r)
    from capfcap import terminal
    from capfcap.reporters.text import render as rt

    buf = io.StringIO()
    rt(r, buf, color=to_stdout and terminal.use_color(color, sys.stdout),
       width=terminal.width(sys.stdout) if to_stdout else None)
    return buf.getvalue()


def unrecognised(inputs: InputSet) -> bool:
    """Not one file was recognised as a capture: its errors are the whole story."""
    return bool(inputs.files) and all(f.packets == 0 and f.error and not f.format
                                      for f in inputs.files)


def warnings(report: Report, inputs: InputSet) -> list[str]:
    """The warning lines that follow a report on stderr (without the "capfcap: ")."""
    from capfcap.capture_notes import file_warnings
    from capfcap.pipeline import KEYLOG_UNUSED

    out = [f"warning: {m}; the report covers the frames before it" for m in inputs.errors]
    out += [f"warning: {n}" for n in report.notes if n.startswith(KEYLOG_UNUSED)]
    return out + [f"warning: {w}" for w in file_warnings(inputs.files)]


def status(report: Report, inputs: InputSet, fail_on: str) -> int:
    """The exit status of one analysis: damaged input, or by its findings (--fail-on)."""
    from capfcap.capture_notes import nothing_decodable

    if inputs.errors or nothing_decodable(inputs.files):  # damaged, or no frame decodable
        return exitcodes.BAD_INPUT
    return exitcodes.from_findings(report.severities(), fail_on)
