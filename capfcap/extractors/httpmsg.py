"""HTTP/1.x message framing: one direction's byte stream -> requests or responses.

Message framing (RFC 9112): start line and header fields end with an empty line (CRLF CRLF;
a bare LF is tolerated, §2.2). A response body is delimited (§6.3), in order of precedence,
by: no body for HEAD and 1xx/204/304; `Transfer-Encoding` whose last coding is `chunked`
(chunk = hex size [; ext] CRLF data CRLF, ended by a zero-size chunk and optional trailer
fields, §7.1); `Content-Length`; else the close of the connection. Requests have a body only
with Content-Length or chunked. Several requests may share a connection (keep-alive,
pipelining); responses come back in request order (§9.3.2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

MAX_HEADER = 64 << 10
MAX_BODY = 16 << 20  # bytes kept per response
MAX_KEPT = 64 << 20  # bytes kept per connection
MAX_MESSAGES = 1024  # messages per direction per connection
MAX_HEADERS = 200
MAX_CHUNK = 1 << 32  # a chunk size above this is not a file download
MAX_CHUNK_LINE = 1024
MAX_FRAMES = 100_000

_HEAD, _LEN, _CSIZE, _CDATA, _CCRLF, _TRAILER, _CLOSE, _DEAD = range(8)


class HttpParseError(ValueError):
    """Bytes on the connection do not follow HTTP/1.x message framing."""


@dataclass
class Message:
    first_ts: int
    last_ts: int
    frames: list[int] = field(default_factory=list)
    method: str = ""
    target: str = ""
    version: str = ""
    status: int = 0
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)
    body_size: int = 0
    content_length: int | None = None
    chunked: bool = False
    until_close: bool = False
    ended: bool = False  # framing says the message is complete
    capped: bool = False
    error: str = ""

    @property
    def first_frame(self) -> int:
        return self.frames[0] if self.frames else 0

    def touch(self, frame: int, ts: int) -> None:
        if (not self.frames or self.frames[-1] != frame) and len(self.frames) < MAX_FRAMES:
            self.frames.append(frame)
        if ts > self.last_ts:
            self.last_ts = ts


def _split_header(block: bytes) -> tuple[str, dict[str, str], list[str]]:
    """Header block (without the empty line) -> (start line, fields, problems)."""
    lines = block.replace(b"\r\n", b"\n").split(b"\n")
    start = lines[0].decode("latin-1").strip()
    headers: dict[str, str] = {}
    problems: list[str] = []
    for raw in lines[1 : MAX_HEADERS + 1]:
        name, sep, value = raw.partition(b":")
        if not sep or not name or name != name.strip():
            problems.append("malformed header line")
            continue
        key = name.decode("latin-1").lower()
        val = value.decode("latin-1").strip()
        if key in headers and key == "content-length" and headers[key] != val:
            raise HttpParseError("conflicting Content-Length")
        if key in headers and key != "content-length":
            val = f"{headers[key]}, {val}"  # repeated field = comma-joined list (RFC 9110 §5.3)
        headers[key] = val
    if len(lines) > MAX_HEADERS + 1:
        problems.append(f"more than {MAX_HEADERS} header lines")
    return start, headers, problems


def _content_length(headers: dict[str, str]) -> int | None:
    v = headers.get("content-length")
    if v is None:
        return None
    v = v.strip()
    if not v.isdigit() or len(v) > 15:
        raise HttpParseError(f"bad Content-Length {v[:32]!r}")
    return int(v)


def _is_chunked(headers: dict[str, str]) -> bool:
    te = headers.get("transfer-encoding", "")
    codings = [c.strip().lower() for c in te.split(",") if c.strip()]
    return bool(codings) and codings[-1] == "chunked"


class Connection(Protocol):
    """What a parser asks of its connection: the request method a response answers
    (HEAD has no body), and the body bytes kept so far (bounded per connection)."""

    kept: int

    def method_for(self, index: int) -> str: ...


class Parser:
    """One direction's byte stream -> a list of HTTP messages."""

    def __init__(self, responses: bool, owner: Connection) -> None:
        self.responses = responses
        self.owner = owner
        self.state = _HEAD
        self.buf = bytearray()
        self.remaining = 0
        self.cur: Message | None = None
        self.messages: list[Message] = []
        self.error = ""
        self.trailing = 0  # bytes after the parser gave up

    def feed(self, frame: int, ts: int, data: bytes) -> None:
        try:
            self._feed(frame, ts, memoryview(data))
        except HttpParseError as e:
            self._die(str(e))

    def _die(self, why: str) -> None:
        m = self.cur
        if m is not None:
            m.error = why
            if self.state == _HEAD and self.buf and len(self.messages) < MAX_MESSAGES:
                # keep a message whose start line is good even if its header block is not
                line = bytes(self.buf[:MAX_CHUNK_LINE]).split(b"\n", 1)[0].rstrip(b"\r")
                if self._start_line(m, line.decode("latin-1")):
                    self.messages.append(m)
        self.state = _DEAD
        self.error = why
        self.buf.clear()

    def _feed(self, frame: int, ts: int, data: memoryview) -> None:
        pos, n = 0, len(data)
        for _ in range(4 * n + 8):  # every pass consumes bytes or ends a message
            if pos >= n or self.state == _DEAD:
                break
            st = self.state
            if st == _HEAD:
                pos = self._head(frame, ts, data, pos)
            elif st in (_LEN, _CDATA, _CLOSE):
                pos = self._body(frame, ts, data, pos)
            elif st in (_CSIZE, _CCRLF, _TRAILER):
                pos = self._line(frame, ts, data, pos)
        if self.state == _DEAD and pos < n:
            self.trailing += n - pos

    # -- header -----------------------------------------------------------------------------

    def _head(self, frame: int, ts: int, data: memoryview, pos: int) -> int:
        if not self.buf:  # empty lines before a start line are ignored (RFC 9112 §2.2)
            while pos < len(data) and data[pos] in (0x0D, 0x0A):
                pos += 1
            if pos >= len(data):
                return pos
            if self.cur is None:
                self.cur = Message(first_ts=ts, last_ts=ts)
        assert self.cur is not None
        self.cur.touch(frame, ts)
        old = len(self.buf)
        take = min(len(data) - pos, MAX_HEADER + 4 - old)
        self.buf += data[pos : pos + take]
        if old < 5:
            self._check_start()
        search_from = max(0, old - 3)
        end = self.buf.find(b"\r\n\r\n", search_from)
        lf = self.buf.find(b"\n\n", max(0, old - 1))
        if end < 0 and lf < 0:
            if len(self.buf) > MAX_HEADER:
                raise HttpParseError(f"header larger than {MAX_HEADER} bytes")
            return pos + take
        if end < 0 or (0 <= lf < end):
            hdr_end, sep = lf, 2
        else:
            hdr_end, sep = end, 4
        consumed = hdr_end + sep - old  # bytes of this segment that belong to the header
        block = bytes(self.buf[:hdr_end])
        self.buf.clear()
        self._headers_done(block)
        return pos + consumed

    def _check_start(self) -> None:
        """The first bytes decide early whether this is HTTP at all (no 64 KiB wait)."""
        head = bytes(self.buf[:5])
        if self.responses:
            if not b"HTTP/".startswith(head):
                raise HttpParseError("server bytes are not an HTTP response")
            return
        method = head.split(b" ", 1)[0]
        if not method or not all(0x41 <= c <= 0x5A or c in (0x2D, 0x5F) for c in method):
            raise HttpParseError("client bytes are not an HTTP request")

    def _headers_done(self, block: bytes) -> None:
        m = self.cur
        assert m is not None
        start, m.headers, problems = _split_header(block)
        if problems:
            m.error = problems[0]
        if not self._start_line(m, start):
            kind = "status" if self.responses else "request"
            raise HttpParseError(f"bad {kind} line {start[:64]!r}")
        if self.responses:
            if 100 <= m.status < 200 and m.status != 101:
                self.cur = None  # interim response: the final one follows (RFC 9110 §15.2)
                self.state = _HEAD
                return
            method = self.owner.method_for(len(self.messages))
            no_body = method == "HEAD" or m.status in (101, 204, 304)
        else:
            no_body = False
        m.chunked = _is_chunked(m.headers)
        m.content_length = None if m.chunked else _content_length(m.headers)
        if len(self.messages) >= MAX_MESSAGES:
            raise HttpParseError(f"more than {MAX_MESSAGES} messages on one connection")
        self.messages.append(m)
        if no_body:
            self._end()
        elif m.chunked:
            self.state = _CSIZE
        elif m.content_length is not None:
            self.remaining = m.content_length
            self.state = _LEN
            if self.remaining == 0:
                self._end()
        elif self.responses:
            m.until_close = True
            self.state = _CLOSE
        else:
            self._end()

    def _start_line(self, m: Message, start: str) -> bool:
        """status-line = HTTP-version SP 3DIGIT SP [reason]; request-line = method SP
        request-target SP HTTP-version (RFC 9112 §3, §4)."""
        parts = start.split(" ", 2)
        if self.responses:
            if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
                return False
            m.version, m.status = parts[0], int(parts[1][:3])
            m.reason = parts[2] if len(parts) > 2 else ""
            return True
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return False
        m.method, m.target, m.version = parts
        return True

    def _end(self) -> None:
        if self.cur is not None:
            self.cur.ended = True
        self.cur = None
        self.state = _HEAD

    # -- body ------------------------------------------------------------------------------

    def _body(self, frame: int, ts: int, data: memoryview, pos: int) -> int:
        m = self.cur
        assert m is not None
        m.touch(frame, ts)
        avail = len(data) - pos
        take = avail if self.state == _CLOSE else min(avail, self.remaining)
        self._keep(m, data[pos : pos + take])
        pos += take
        if self.state == _CLOSE:
            return pos
        self.remaining -= take
        if self.remaining == 0:
            if self.state == _LEN:
                self._end()
            else:
                self.state = _CCRLF
        return pos

    def _keep(self, m: Message, chunk: memoryview) -> None:
        m.body_size += len(chunk)
        if not self.responses:
            return
        room = min(MAX_BODY - len(m.body), MAX_KEPT - self.owner.kept)
        if len(chunk) > room:
            chunk = chunk[: max(0, room)]
            m.capped = True
        m.body += chunk
        self.owner.kept += len(chunk)

    def _line(self, frame: int, ts: int, data: memoryview, pos: int) -> int:
        m = self.cur
        assert m is not None
        m.touch(frame, ts)
        nl = bytes(data[pos : pos + MAX_CHUNK_LINE + 2]).find(b"\n")
        if nl < 0:
            take = len(data) - pos
            self.buf += data[pos:]
            if len(self.buf) > MAX_CHUNK_LINE:
                raise HttpParseError("chunk framing line too long")
            return pos + take
        self.buf += data[pos : pos + nl]
        line = bytes(self.buf).rstrip(b"\r")
        self.buf.clear()
        if len(line) > MAX_CHUNK_LINE:
            raise HttpParseError("chunk framing line too long")
        pos += nl + 1
        if self.state == _CCRLF:
            if line:
                raise HttpParseError("chunk data longer than its size line says")
            self.state = _CSIZE
        elif self.state == _CSIZE:
            size_txt = line.split(b";", 1)[0].strip()
            if not size_txt or len(size_txt) > 16:
                raise HttpParseError(f"bad chunk size line {line[:32]!r}")
            try:
                size = int(size_txt, 16)
            except ValueError:
                raise HttpParseError(f"bad chunk size line {line[:32]!r}") from None
            if size > MAX_CHUNK:
                raise HttpParseError(f"chunk size {size} out of bounds")
            if size == 0:
                self.state = _TRAILER
            else:
                self.remaining = size
                self.state = _CDATA
        elif not line:  # _TRAILER: the empty line ends the message
            self._end()
        return pos
