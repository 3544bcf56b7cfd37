"""The progress bar of `capfcap analyze` on stderr (loaded only when one is drawn)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable

from rich.console import Console, RenderableType
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from capfcap.sources.inputs import InputSet


class _PolledProgress(Progress):
    """Reads the position at each redraw: the frames the prefilter skips call nothing."""

    poll: Callable[[], None] | None = None

    def get_renderables(self) -> Iterable[RenderableType]:
        if self.poll is not None:
            self.poll()
        yield from super().get_renderables()


class ProgressBar:
    """A progress bar on stderr (percent of the bytes, frames, time left), drawn only when
    stderr is a terminal, whatever stdout is."""

    def __init__(self, total: int) -> None:
        self.p = _PolledProgress(TextColumn("[dim]capfcap"), BarColumn(), TaskProgressColumn(),
                          TextColumn("{task.fields[frames]:,} frames"),
                          TimeRemainingColumn(), transient=True,
                          console=Console(file=sys.stderr, force_terminal=True))
        self.task = self.p.add_task("read", total=total, frames=0)
        self.p.poll = self._poll
        self.inputs: InputSet | None = None
        self.p.start()

    def __call__(self, inputs: InputSet) -> None:
        self.inputs = inputs
        self._poll()

    def _poll(self) -> None:
        if self.inputs is not None:
            self.p.update(self.task, completed=self.inputs.bytes_read(),
                          frames=self.inputs.frames_read())

    def close(self) -> None:
        self.p.refresh()  # the last state is drawn at least once, however fast the read
        self.p.stop()
