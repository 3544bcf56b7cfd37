"""Files capfcap writes: atomic, and never over an existing file without --force."""

from __future__ import annotations

import os
import tempfile

from capfcap.cli import UsageError


def check_writable(path: str, force: bool) -> None:
    if os.path.lexists(path) and not force:
        raise UsageError(f"{path} exists; use --force to overwrite it")
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise UsageError(f"{path}: directory {d} does not exist")


def write_atomic(path: str, data: bytes | str, force: bool = False) -> None:
    """Write to a temporary file beside `path`, then rename it into place."""
    check_writable(path, force)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".capfcap-", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        if not force and os.path.lexists(path):
            raise UsageError(f"{path} exists; use --force to overwrite it")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
