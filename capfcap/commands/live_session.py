"""One `capfcap live` run's state: frames in, the rules re-evaluated once a second of
packet time, each finding shown once it has held (absences longer); and the signals that
end the run gracefully."""

from __future__ import annotations

import signal
import time
from types import FrameType
from typing import Any

from capfcap.commands.live_view import LineView, RichView, finding_key
from capfcap.decode import decode
from capfcap.findings import Finding
from capfcap.pipeline import Analysis, Options
from capfcap.report import Report
from capfcap.sources.frame import Frame
from capfcap.sources.live import LiveCapture
from capfcap.sources.ring import Ring

REPORT_EVERY_NS = 1_000_000_000  # re-evaluate the rules once per second of packet time
HOLD_NS = 2_000_000_000
ABSENCE_HOLD_NS = 60_000_000_000
ABSENCE_CODES = frozenset({"CAPF_NOT_ATTEMPTED", "TVS_NOT_ATTEMPTED", "CAPTURE_ONE_SIDED"})
TICK_MARGIN_NS = 100_000_000  # a quiet-link tick stays this far behind the kernel clock


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
