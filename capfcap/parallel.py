"""Reading and prefiltering in a second process (`--jobs 2`).

The reader process runs the same readers and fused skip loop (`scan.py`) as a
single-process run, with a prefilter of its own that learns ahead
(`capfcap.learn.learn_ahead`): it adds every phone and TFTP client port the analysis
could learn from a packet, and never forgets one. Its sets are therefore supersets of the
analysis's at every frame, so it passes every frame the analysis would keep; the
analysis decodes what arrives with its own, exact prefilter, as a single-process run
does. The reader never has to hear back from the analysis, and the findings are
identical to a single-process run (`tests/test_fastpath.py`).

Only a UDP packet to 69 (TFTP) or a TCP packet to or from 2445/3804 (TVS, CAPF) or a
port given with --capf-port/--tvs-port can teach the prefilter anything: the reader reads
the ports and decodes only those (and whatever it cannot tell at a glance, such as the
frame inside a GRE/ERSPAN or VXLAN packet).

Frames travel as tuples of their fields, a few hundred per message, over a pipe whose
buffer bounds what is in flight. File information (frame counts, hashes, damage) comes
last, when the reader has finished.
"""

from __future__ import annotations

import multiprocessing
import operator
import os
import signal
import sys
import traceback
from collections.abc import Iterator
from dataclasses import fields
from multiprocessing.connection import Connection
from typing import Any

from capfcap.arp import arp
from capfcap.decode import UDP, Prefilter, decode
from capfcap.headers import inner_frame
from capfcap.learn import learn_ahead
from capfcap.protocol import TFTP_PORT
from capfcap.sources.files import CaptureError
from capfcap.sources.frame import Frame
from capfcap.sources.inputs import InputSet, expand_quietly, frames
from capfcap.sources.linklayer import NOT_DECODED
from capfcap.sources.relevance import transport
from capfcap.sources.scan import Skipper

BATCH = 512  # frames per message
MIN_BYTES = 32 << 20  # below this a reader process is not worth starting
_FIELDS = tuple(f.name for f in fields(Frame))
_as_tuple = operator.attrgetter(*_FIELDS)


class ReaderFailed(RuntimeError):
    """The reader process failed or died; the message says how."""


def available() -> bool:
    """True where a reader process can be started cheaply (fork: nothing is re-imported)."""
    return "fork" in multiprocessing.get_all_start_methods()


def wanted(paths: list[str], jobs: int | None, fast: bool = True) -> bool:
    """Whether to read in a reader process: asked for with jobs >= 2, or by default when
    two CPUs are free and the input is large enough to repay the start-up. Only with the
    fast path, which is what the reader runs."""
    if not fast or jobs == 1 or not available():
        return False
    if jobs is not None:
        return True
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    if cpus < 2:
        return False
    return sum(_data_size(p) for p in expand_quietly(paths)) >= MIN_BYTES


def _data_size(path: str) -> int:
    """Bytes the readers will go through: for gzip, the larger of the file and the
    uncompressed size its trailer records (ISIZE, modulo 2^32; RFC 1952 §2.3.1)."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            if f.read(2) != b"\x1f\x8b" or size < 18:
                return size
            f.seek(-4, os.SEEK_END)
            return max(size, int.from_bytes(f.read(4), "little"))
    except OSError:
        return 0


class ReaderProcess:
    """A reader process for `paths`, started at once (before the analysis modules load)."""

    def __init__(self, paths: list[str], service_ports: tuple[int, ...] = ()) -> None:
        """`service_ports`: the --capf-port/--tvs-port values (`decode.Prefilter`)."""
        ctx = multiprocessing.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_reader, args=(paths, send, self._recv, service_ports),
                                 name="capfcap-reader", daemon=True)
        self._done = False
        self._proc.start()
        send.close()

    def frames(self, inputs: InputSet) -> Iterator[Frame]:
        """The frames the reader's learning prefilter passes, in capture order.

        The caller decodes them with its own prefilter. When the iterator ends, `inputs`
        holds what a single-process read would have put there; `inputs.progress` counts
        the frames read so far while it runs."""
        try:
            while True:
                try:
                    kind, body = self._recv.recv()
                except EOFError:
                    raise ReaderFailed(
                        "the reader process ended without reporting "
                        f"(exit status {self._exitcode()})") from None
                if kind == "frames":
                    inputs.progress, inputs.progress_bytes, batch = body
                    for t in batch:
                        yield Frame(*t)
                elif kind == "done":
                    inputs.files[:], inputs.errors[:] = body
                    inputs.progress = sum(f.packets for f in inputs.files)
                    self._done = True
                    return
                elif kind == "capture_error":
                    message, offset, fatal = body
                    raise CaptureError(message, offset, fatal)
                else:
                    line, trace = body
                    if os.environ.get("CAPFCAP_DEBUG"):
                        sys.stderr.write(trace)
                    raise ReaderFailed(f"in the reader process: {line}")
        finally:
            self.close()

    def close(self) -> None:
        """Stop the reader (at once if it is still reading) and reap it."""
        self._recv.close()
        if not self._done:  # interrupted or failed: nobody wants the rest
            self._proc.kill()
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()

    def _exitcode(self) -> object:
        self._proc.join(timeout=5)
        return self._proc.exitcode


def _reader(paths: list[str], out: Connection, theirs: Connection,
            service_ports: tuple[int, ...] = ()) -> None:
    """The reader process: read, skip, learn ahead, send."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the analysis's to handle
    theirs.close()  # the fork's copy of the analysis's end: a write must fail when it goes
    try:
        inputs = InputSet()
        pf = Prefilter(service_ports=service_ports)
        phone_ports = pf.phone_ports
        batch: list[tuple[Any, ...]] = []
        for fr in frames(paths, inputs, Skipper(pf)):
            t = transport(fr.data, fr.linktype)
            if t is None or (t[2] == TFTP_PORT if t[0] == UDP else (
                    t[1] in phone_ports or t[2] in phone_ports)):
                pkt = decode(fr, pf)
                if pkt is not None:
                    learn_ahead(pf, pkt)
                elif arp(fr) is None and inner_frame(fr.linktype, fr.data)[0] != NOT_DECODED:
                    continue  # (a tunnel's frame not read: the analysis counts it)
            batch.append(_as_tuple(fr))
            if len(batch) >= BATCH:
                out.send(("frames", (inputs.frames_read(), inputs.bytes_read(), batch)))
                batch = []
        if batch:
            out.send(("frames", (inputs.frames_read(), inputs.bytes_read(), batch)))
        out.send(("done", (inputs.files, inputs.errors)))
    except CaptureError as e:
        out.send(("capture_error", (str(e), e.offset, e.fatal)))
    except BrokenPipeError:  # the analysis stopped listening (it failed or was interrupted)
        pass
    except BaseException as e:  # noqa: BLE001 - reported to the analysis, which exits 1
        out.send(("failed", (f"{type(e).__name__}: {e}", traceback.format_exc())))
    finally:
        out.close()
