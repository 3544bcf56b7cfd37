"""What a reader learns of one capture file (`FileInfo`), and how it stops (`CaptureError`)."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_FRAME = 16 << 20  # no record may claim more (untrusted length)
MAX_BLOCK = 32 << 20  # nor any pcapng block


class CaptureError(Exception):
    """The input is not a capture, or is damaged at `offset`."""

    def __init__(self, message: str, offset: int | None = None, fatal: bool = True) -> None:
        super().__init__(message)
        self.offset = offset
        self.fatal = fatal  # False: frames before the damage were read


@dataclass
class FileInfo:
    path: str
    format: str = ""  # "pcap", "pcapng", with "+gzip"
    sha256: str = ""
    packets: int = 0
    first: int | None = None
    last: int | None = None
    linktypes: list[int] = field(default_factory=list)
    error: str = ""  # damage note (the reader stopped here)
    size: int = 0
    comments: list[str] = field(default_factory=list)
    linktype_frames: dict[int, int] = field(default_factory=dict)  # frames per link type
    cut: int = 0  # frames whose caplen < original length (snap length)
    first_cut: int = 0  # number of the first such frame
    read_bytes: int = 0  # bytes of the file read so far (the progress bar's measure)


def count_cut(info: FileInfo, number: int) -> None:
    """One more frame cut short by the snap length (caplen < original length)."""
    info.cut += 1
    if not info.first_cut:
        info.first_cut = number


def count_frame(info: FileInfo, ts: int) -> None:
    """One more frame, at `ts`: the file's count and time span."""
    info.packets += 1
    if info.first is None:
        info.first = ts
    info.last = ts


def open_error(path: str, e: OSError) -> str:
    """The one line for a file that cannot be opened (the same words for every command)."""
    if isinstance(e, FileNotFoundError):
        return f"{path}: no such file"
    if isinstance(e, IsADirectoryError):
        return f"{path}: is a directory"
    if isinstance(e, PermissionError):
        return f"{path}: permission denied"
    return f"{path}: {e.strerror or e}"
