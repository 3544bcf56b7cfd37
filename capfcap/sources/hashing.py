"""SHA-256 of a capture computed beside the reader.

hashlib releases the GIL while it hashes a buffer larger than 2 kB, so a worker thread
hashes the chunks the reader has already consumed while the reader parses the next ones:
on a multi-core machine the file's digest costs no reader time. Chunks are hashed in the
order they were read; at most `DEPTH` chunks wait (memory stays bounded).
"""

from __future__ import annotations

import hashlib
import queue
import threading

DEPTH = 8
SMALL = 1 << 16  # chunks below this are hashed inline (a thread costs more)


class ThreadedSha256:
    """Drop-in for hashlib.sha256() with update()/hexdigest() only."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self._q: queue.Queue[bytes | None] | None = None
        self._t: threading.Thread | None = None
        self._digest: str | None = None

    def update(self, b: bytes) -> None:
        if self._digest is not None:
            raise ValueError("update() after hexdigest()")
        if self._q is None:
            if len(b) < SMALL:
                self._h.update(b)
                return
            self._q = queue.Queue(DEPTH)
            self._t = threading.Thread(target=self._run, name="capfcap-sha256", daemon=True)
            self._t.start()
        if b:
            self._q.put(b)

    def _run(self) -> None:
        q = self._q
        assert q is not None
        while True:
            b = q.get()
            if b is None:
                return
            self._h.update(b)

    def hexdigest(self) -> str:
        if self._digest is None:
            if self._q is not None and self._t is not None:
                self._q.put(None)
                self._t.join()
            self._digest = self._h.hexdigest()
        return self._digest
