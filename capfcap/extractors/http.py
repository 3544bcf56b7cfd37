"""HTTP/1.x file downloads on one TCP connection (phones fetch trust lists/config on 6970).

Requests and responses are framed by `httpmsg.py` (RFC 9112); responses come back in
request order (§9.3.2), so the n-th response answers the n-th request, and each pair
becomes one `FileTransfer`.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import unquote

from capfcap.events import Direction, Event, FileTransfer, FlowKey, TcpConnection
from capfcap.extractors.httpmsg import Message, Parser

Status = Literal["complete", "error", "incomplete", "no_response"]


def filename_of(target: str) -> str:
    """Request target -> last path segment, URL-decoded (query and fragment stripped)."""
    path = target.split("#", 1)[0].split("?", 1)[0]
    if "://" in path:  # absolute-form (RFC 9112 §3.2.2): drop scheme and authority
        path = path.split("://", 1)[1]
        path = path[path.find("/") :] if "/" in path else "/"
    return unquote(path.rsplit("/", 1)[-1], errors="replace")


class HttpHandler:
    """StreamHandler (capfcap.extractors.base) for HTTP/1.x downloads on one connection."""

    def __init__(self, key: FlowKey) -> None:
        self.key = key
        self.kept = 0  # body bytes stored over all responses
        self._req = Parser(False, self)
        self._resp = Parser(True, self)

    def method_for(self, index: int) -> str:
        """Method of the index-th request (responses follow request order)."""
        msgs = self._req.messages
        return msgs[index].method if index < len(msgs) else "GET"

    def data(self, direction: Direction, frame: int, ts: int, data: bytes) -> None:
        if not data:
            return
        (self._req if direction == "c2s" else self._resp).feed(frame, ts, data)

    def gap(self, direction: Direction, frame: int, ts: int, missing: int) -> None:
        """A capture hole: ignored (the bytes after it are read on as before)."""

    def close(self, conn: TcpConnection) -> list[Event]:
        resp_open = self._resp.cur
        if resp_open is not None and resp_open.until_close and not resp_open.error:
            # body delimited by the close: complete only if the connection was closed by FIN
            resp_open.ended = bool(conn.fin_frames) and not conn.rst_frames
        out: list[Event] = []
        reqs = self._req.messages
        i = 0
        for r in self._resp.messages:
            if i < len(reqs) and reqs[i].first_frame <= r.first_frame:
                out.append(self._transfer(reqs[i], r, conn))
                i += 1
            else:
                out.append(self._transfer(None, r, conn))
        out.extend(self._transfer(q, None, conn) for q in reqs[i:])
        # each parser points back at this handler (method_for, kept): let go of them, so
        # the connection's messages are freed as it ends, not at a full collection
        del self._req, self._resp
        return out

    def _transfer(
        self, req: Message | None, resp: Message | None, conn: TcpConnection
    ) -> FileTransfer:
        notes: list[str] = []
        status: Status
        data: bytes | None = None
        size = 0
        code: int | None = None
        if resp is None:
            status = "no_response"
            if conn.orig_acked_unseen:
                notes.append(
                    f"client acknowledged server data never captured ({conn.orig_acked_unseen})"
                )
            if self._resp.error:
                notes.append(f"server bytes not parsed: {self._resp.error}")
        else:
            code = resp.status
            size = resp.body_size
            if 200 <= code < 300:
                status = "complete" if resp.ended and not resp.capped else "incomplete"
                data = bytes(resp.body)
            else:
                status = "error"
            notes += _response_notes(resp)
            if req is None:
                notes.append("response to a request never captured")
        if req is not None and req.error:
            notes.append(f"request: {req.error}")
        frames = sorted(set((req.frames if req else []) + (resp.frames if resp else [])))
        first = min(m.first_ts for m in (req, resp) if m is not None)
        last = max(m.last_ts for m in (req, resp) if m is not None)
        if req is not None and req.method not in ("GET", ""):
            notes.append(f"method {req.method}")
        return FileTransfer(
            protocol="http",
            client=self.key.client,
            server=self.key.server,
            server_port=self.key.server_port,
            filename=filename_of(req.target) if req is not None else "",
            status=status,
            request_frames=tuple(req.frames) if req is not None else (),
            frames=tuple(frames),
            first_ts=first,
            last_ts=last,
            data=data,
            size=size,
            http_status=code,
            client_port=self.key.client_port,
            note="; ".join(notes),
        )


def _response_notes(resp: Message) -> list[str]:
    """How the response's body was framed (RFC 9112 §6: length, chunked, close) and where
    it fell short."""
    notes: list[str] = []
    if not resp.ended:
        if resp.content_length is not None:
            notes.append(f"body {resp.body_size} of {resp.content_length} bytes")
        else:
            notes.append("response ended before its body did")
    if resp.chunked:
        notes.append("chunked")
    if resp.until_close:
        notes.append("body delimited by connection close")
    if resp.capped:
        notes.append(f"body capped at {len(resp.body)} bytes")
    if resp.error:
        notes.append(resp.error)
    return notes
