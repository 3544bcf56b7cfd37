"""tshark runs shared by the whole test session: one run per capture and arguments.

The oracle, the crosscheck and the extractor tests ask tshark the same questions of the
same captures; its start-up and two-pass dissection dominate their time. A run is keyed
by the capture's path, modification time and size and by the exact arguments, so a
capture rewritten during the session (tools/gen_pcaps.py) is read again. Exported
objects are kept as bytes and written into each caller's directory.

Under pytest-xdist each worker is its own process: answers are also kept on disk, in a
directory shared by the session's workers (`share`, set by tests/conftest.py), one pickle
per question, written by atomic rename under a per-question lock, so a question is put
to tshark once per session, whichever worker asks first.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

TSHARK = "tshark"


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    objects: tuple[tuple[str, bytes], ...] = ()  # exported objects: (file name, content)

    def write_objects(self, into: str | Path) -> None:
        for name, data in self.objects:
            Path(into, name).write_bytes(data)


@dataclass
class Stats:
    runs: int = 0  # tshark processes started
    hits: int = 0  # answers served from the cache


STATS = Stats()

try:
    import fcntl
except ImportError:  # not POSIX: two workers may ask the same question; both answers agree
    fcntl = None  # type: ignore[assignment]

SHARED: Path | None = None  # the session's directory shared by workers; None: memory only
_HELD: set[str] = set()  # questions this process holds the lock of (a wrapped wrapper)


def share(directory: Path | None) -> None:
    """Keep answers in `directory` too (None: this process's memory only)."""
    global SHARED
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
    SHARED = directory


@contextmanager
def _locked(key: tuple[Any, ...]) -> Iterator[Path | None]:
    """The answer file of `key` in the shared directory, under an exclusive lock on it
    (None: no shared directory)."""
    name = hashlib.sha256(repr(key).encode()).hexdigest()
    if SHARED is None or name in _HELD:
        yield None
        return
    with open(SHARED / f"{name}.lock", "wb") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        _HELD.add(name)
        try:
            yield SHARED / f"{name}.pickle"
        finally:
            _HELD.discard(name)


def _shared(key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
    """compute(), or the answer a worker of this session already stored for `key`."""
    with _locked(key) as path:
        if path is not None and path.exists():
            return pickle.loads(path.read_bytes())
        value = compute()
        if path is not None:
            try:
                blob = pickle.dumps(value)
            except Exception:  # noqa: BLE001 - an unpicklable answer stays in memory
                return value
            part = path.with_suffix(f".{os.getpid()}.part")
            part.write_bytes(blob)
            os.replace(part, path)
        return value


def _stamp(path: str | Path) -> tuple[str, int, int]:
    st = os.stat(path)
    return str(Path(path).resolve()), st.st_mtime_ns, st.st_size


def tshark(path: str | Path, args: Sequence[str], export: str | None = None) -> Run:
    """`tshark -n -r PATH ARGS` (and `--export-objects EXPORT,DIR` when given), once per
    session for the same capture and arguments."""
    before = STATS.runs
    out = _tshark(_stamp(path), tuple(args), export)
    if STATS.runs == before:
        STATS.hits += 1
    return out


@cache
def _tshark(stamp: tuple[str, int, int], args: tuple[str, ...], export: str | None) -> Run:
    return _shared(("tshark", stamp, args, export), lambda: _run(stamp, args, export))


def _run(stamp: tuple[str, int, int], args: tuple[str, ...], export: str | None) -> Run:
    STATS.runs += 1
    cmd = [TSHARK, "-n", "-r", stamp[0], *args]
    with tempfile.TemporaryDirectory(prefix="capfcap-tshark-") as tmp:
        if export is not None:
            cmd += ["--export-objects", f"{export},{tmp}"]
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                           timeout=300, check=False)
        objects = tuple((n, Path(tmp, n).read_bytes()) for n in sorted(os.listdir(tmp)))
    return Run(p.returncode, p.stdout, p.stderr, objects)


def cached_tshark_ek(original: Callable[..., list[str]]) -> Callable[..., list[str]]:
    """`capfcap.tshark.run.tshark_ek`, its answers shared across the session (a rejected
    capture raises the same CrosscheckError each time)."""
    memo: dict[tuple[Any, ...], tuple[list[str] | None, Exception | None,
                                      tuple[tuple[str, bytes], ...]]] = {}

    def ek(path: str, frames: list[int], objdir: str | None, exe: str,
           extra: tuple[int, ...]) -> tuple[list[str] | None, Exception | None,
                                           tuple[tuple[str, bytes], ...]]:
        STATS.runs += 1
        with tempfile.TemporaryDirectory(prefix="capfcap-ek-") as tmp:
            try:
                lines: list[str] | None = original(
                    path, frames, tmp if objdir is not None else None, exe, extra)
                err: Exception | None = None
            except Exception as e:  # noqa: BLE001 - replayed to every caller
                lines, err = None, e
            objects = tuple((n, Path(tmp, n).read_bytes()) for n in sorted(os.listdir(tmp)))
        return lines, err, objects

    def run(path: str, frames: list[int], objdir: str | None, exe: str,
            extra_tls: Iterable[int] = ()) -> list[str]:
        extra = tuple(extra_tls)
        key = (_stamp(path), tuple(frames), objdir is not None, exe, extra)
        if key in memo:
            STATS.hits += 1
        else:
            before = STATS.runs
            memo[key] = _shared(("ek", *key), lambda: ek(path, frames, objdir, exe, extra))
            if STATS.runs == before:
                STATS.hits += 1
        lines, err, objects = memo[key]
        if err is not None:
            raise err
        if objdir is not None:
            for name, data in objects:
                Path(objdir, name).write_bytes(data)
        assert lines is not None
        return list(lines)

    return run


def available() -> bool:
    return shutil.which(TSHARK) is not None
