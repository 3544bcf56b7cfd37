"""Files capfcap writes: atomic, and never over an existing file without --force.

Every output (-o reports, bundles, rings, carved objects) goes through `write_atomic`: the
bytes go to a temporary file in the target's directory, are flushed to disk, and only then
take the target's name, so a reader sees the old file or the whole new one, never a part;
a failure leaves no temporary file behind. Problems are one-line `UsageError`s (exit 2).

A target that exists and is not a file (a device such as /dev/null or /dev/stdout, a named
pipe, bash's `>(...)`) is written through, with or without --force (a block device only
with it): renaming over it would replace the device or pipe itself with a file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

from capfcap.errors import UsageError


def check_writable(path: str, force: bool) -> bool:
    """Refuse a target capfcap must not write (UsageError); True when it is written
    through: an existing device, pipe or socket (through any symlinks), not a file."""
    try:
        mode: int | None = os.stat(path).st_mode
    except (OSError, ValueError):
        mode = None  # absent, or a dangling symlink (lexists below)
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        if stat.S_ISBLK(mode) and not force:
            raise UsageError(f"{path} is a block device (a disk); use --force to write to it")
        return True
    if mode is not None and stat.S_ISDIR(mode):
        raise UsageError(f"{path} is a directory")
    if os.path.lexists(path) and not force:
        raise UsageError(f"{path} exists; use --force to overwrite it")
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise UsageError(f"{path}: directory {d} does not exist")
    return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str, data: bytes | str, force: bool = False) -> None:
    """Write `data` to `path` atomically (see `atomic_file`)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_file(path, force) as f:
        f.write(raw)


@contextlib.contextmanager
def atomic_file(path: str, force: bool = False) -> Iterator[BinaryIO]:
    """A file to stream into; on success it takes the name `path` atomically.

    Without `force` the final step is link(2), which fails rather than replace a file
    that appeared meanwhile; with `force` it is rename(2), which replaces it atomically.
    """
    if check_writable(path, force):
        with _written_through(path) as f:
            yield f
        return
    d = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".capfcap-", dir=d)
    except OSError as e:
        raise UsageError(f"cannot write {path}: cannot create a file in {d}: "
                         f"{e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o666 & ~_umask())  # mkstemp creates 0600
            yield f
            f.flush()
            os.fsync(f.fileno())
        if force:
            os.replace(tmp, path)
        else:
            _link_no_clobber(tmp, path)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # gone after rename; the extra name after link


@contextlib.contextmanager
def _written_through(path: str) -> Iterator[BinaryIO]:
    try:
        with open(path, "wb") as f:
            yield f
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from None


def _link_no_clobber(tmp: str, path: str) -> None:
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise UsageError(f"{path} exists; use --force to overwrite it") from None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV,
                           errno.EMLINK):
            raise
        # no hard links here (some network and FAT file systems): check, then rename
        if os.path.lexists(path):
            raise UsageError(f"{path} exists; use --force to overwrite it") from None
        os.replace(tmp, path)

