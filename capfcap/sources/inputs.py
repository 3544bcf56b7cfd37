"""Several files, or a directory, merged in time order like `mergecap`."""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from capfcap.sources.files import CaptureError, FileInfo, read_capture
from capfcap.sources.frame import Frame
from capfcap.sources.scan import Skipper

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".ntar", ".pcap.gz", ".pcapng.gz", ".cap.gz")


@dataclass
class InputSet:
    files: list[FileInfo] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line each
    progress: int = 0  # frames read so far, when another process reads (parallel.py)
    progress_bytes: int = 0  # bytes read so far, likewise

    def frames_read(self) -> int:
        return self.progress or sum(f.packets for f in self.files)

    def bytes_read(self) -> int:
        return self.progress_bytes or sum(f.read_bytes for f in self.files)

    @property
    def damaged(self) -> bool:
        return bool(self.errors)


def expand(paths: list[str]) -> list[str]:
    """Directories become the capture files directly inside them, sorted by name."""
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            names = sorted(
                n for n in os.listdir(p) if n.lower().endswith(CAPTURE_SUFFIXES)
            )
            if not names:
                raise CaptureError(f"{p}: directory holds no .pcap/.pcapng/.cap(.gz) files")
            out.extend(os.path.join(p, n) for n in names)
        else:
            out.append(p)
    return out


def expand_quietly(paths: list[str]) -> list[str]:
    """`expand`, with a path it cannot expand left as it is (the reader reports it)."""
    try:
        return expand(paths)
    except (CaptureError, OSError):
        return list(paths)


def _guarded(
    path: str, info: FileInfo, idx: int, inputs: InputSet, skip: Skipper | None = None
) -> Iterator[Frame]:
    try:
        yield from read_capture(path, info, idx, skip)
    except CaptureError as e:
        info.error = str(e)
        inputs.errors.append(str(e))


def frames(paths: list[str], inputs: InputSet, skip: Skipper | None = None) -> Iterator[Frame]:
    """Yield frames of all inputs; one file keeps its own numbering, several are merged
    by timestamp (stable) and renumbered in merged order, as `mergecap -w` would.

    `skip` (one file only: merged numbering needs every frame's timestamp) leaves out
    frames its prefilter would drop; their numbers are still counted."""
    files = expand(paths)
    gens = []
    for i, p in enumerate(files):
        info = FileInfo(p)
        inputs.files.append(info)
        gens.append(_guarded(p, info, i, inputs, skip if len(files) == 1 else None))
    if len(gens) == 1:
        yield from gens[0]
        return
    for n, fr in enumerate(heapq.merge(*gens, key=lambda f: (f.ts, f.file_index)), 1):
        fr.number = n
        yield fr
