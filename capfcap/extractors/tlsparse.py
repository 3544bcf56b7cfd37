"""TLS record and handshake parsing for one TCP direction (no scapy: hot path).

Wire formats:
- record (RFC 5246 §6.2.1, RFC 8446 §5.1): u8 content_type | u16 version | u16 length |
  fragment; length <= 2^14 + 2048 (the TLSCiphertext bound of RFC 5246 §6.2.3).
- handshake (RFC 5246 §7.4, RFC 8446 §4): u8 msg_type | u24 length | body; a message may
  span several records and a record may hold several messages.
- alert (RFC 5246 §7.2): u8 level | u8 description.
- SSLv2-compatible ClientHello (RFC 5246 Appendix E.2, RFC 6101 Appendix E.1), accepted
  as the first message of a client direction only: u16 msg_length with the high bit set |
  u8 msg_type (1) | u16 version | u16 cipher_spec_length | u16 session_id_length |
  u16 challenge_length | V2CipherSpec (3 bytes each) | session_id | challenge.

`TlsDirectionParser.feed` takes contiguous, in-order bytes of one direction and returns
typed items, each stamped with the frame in which its last byte arrived. It never raises
on any input: bytes that are not TLS give a `NotTls` item and a broken record or
handshake framing later on gives an `Anomaly(fatal=True)`; in both cases the parser stops
and ignores the rest of the direction. A handshake body that does not parse gives an
`Anomaly(fatal=False)` and parsing goes on with the next message.
`gap` says that bytes the capture lacks come next (a hole the TCP reassembler skipped): the
records it breaks are lost, and parsing goes on at the first record boundary that can be
proven: the end of the broken record when its header was captured and the hole ends
inside it, else the first offset after the hole where a record header is valid (content
type 20-24, version 0x0300-0x0304, length <= MAX_RECORD) and so is the header after that
record (or, at the end of the stream, the records chain exactly to the last byte). The
crossing is reported as a `Hole` item; nothing is guessed silently.
Buffers are bounded by one record (`MAX_RECORD`) plus one handshake message
(`MAX_HANDSHAKE`). The items and type numbers are in `tlsitems.py`, the handshake bodies
are parsed by `tlshandshake.py`.
"""

from __future__ import annotations

from capfcap.extractors.tlshandshake import message, v2_client_hello, v2_problem
from capfcap.extractors.tlsitems import (
    CONTENT_TYPES,
    CT_ALERT,
    CT_APPLICATION_DATA,
    CT_CHANGE_CIPHER_SPEC,
    CT_HANDSHAKE,
    HEADER_LEN,
    MAX_HANDSHAKE,
    MAX_RECORD,
    TLS13,
    V2_HEADER_LEN,
    Alert,
    Anomaly,
    AppData,
    ChangeCipherSpec,
    EncryptedHandshake,
    Hole,
    NotTls,
    ServerHello,
    TlsItem,
)

# --------------------------------------------------------------------------- parser


def _plausible_header(head: bytes) -> str:
    """'' when the (up to 5) bytes can start a TLS record, else the reason they cannot."""
    if len(head) >= 1 and head[0] not in CONTENT_TYPES:
        return f"content type {head[0]} is not a TLS record type"
    if len(head) >= 2 and head[1] != 3:
        return f"record version major {head[1]} is not 3"
    if len(head) >= 3 and head[2] > 4:
        return f"record version 0x03{head[2]:02x} unknown"
    if len(head) >= 5:
        length = (head[3] << 8) | head[4]
        if length > MAX_RECORD:
            return f"record length {length} exceeds {MAX_RECORD}"
    return ""


def _record_len(buf: bytearray, p: int) -> int:
    """The length of the record whose header (5 bytes, present) starts at `p`, or -1 when
    those bytes cannot be a record header (RFC 5246 §6.2.1, §6.2.3; RFC 8446 §5.1)."""
    if buf[p] not in CONTENT_TYPES or buf[p + 1] != 3 or buf[p + 2] > 4:
        return -1
    length = (buf[p + 3] << 8) | buf[p + 4]
    return length if length <= MAX_RECORD else -1


def _boundary(buf: bytearray, at_end: bool) -> tuple[int | None, int]:
    """(the first offset proven to start a record, the first offset that may still start
    one once more bytes come). Proof: a valid header whose record is followed by another
    valid header; `at_end` (no more bytes will come): records chaining to the last byte."""
    n = len(buf)
    p = 0
    while p + HEADER_LEN <= n:
        i = buf.find(3, p + 1)  # a header's second byte is the version major, 3
        if i < 0:
            return None, max(p, n - 1)  # only the last byte may still start one
        p = i - 1
        if p + HEADER_LEN > n:
            break
        length = _record_len(buf, p)
        if length >= 0:
            q = p + HEADER_LEN + length
            if at_end:
                while q + HEADER_LEN <= n and (nxt := _record_len(buf, q)) >= 0:
                    q += HEADER_LEN + nxt
                if q == n:
                    return p, p
            elif q + HEADER_LEN <= n:
                if _record_len(buf, q) >= 0:
                    return p, p
            else:
                return None, p  # the next header decides
        p += 1
    return None, min(p, n)


class _Crossing:
    """A hole being crossed: `skip` >= 0 bytes still to pass before a proven boundary
    (the end of the record the hole broke), or -1 while a boundary is searched for."""

    __slots__ = ("after_frame", "missing", "skipped", "lost", "skip", "dialogue", "parts")

    def __init__(self, after_frame: int, missing: int, lost: int, skip: int,
                 dialogue: bool) -> None:
        self.after_frame = after_frame
        self.missing = missing
        self.skipped = 0
        self.lost = lost
        self.skip = skip
        self.dialogue = dialogue
        self.parts: list[tuple[int, int, int]] = []  # (frame, ts, bytes) held in the buffer


class TlsDirectionParser:
    """Reassembles records and handshake messages of one direction of a TLS connection.

    `sslv2_hello`: this is a client direction, whose first message may be an
    SSLv2-compatible ClientHello instead of a TLS record."""

    def __init__(self, sslv2_hello: bool = False) -> None:
        self._v2 = sslv2_hello  # the next bytes may still start an SSLv2 ClientHello
        self._buf = bytearray()  # at most one incomplete record (header + <= MAX_RECORD)
        self._hs = bytearray()  # incomplete handshake message(s) (<= 4 + MAX_HANDSHAKE)
        self.started = False  # a valid record header was seen
        self.dead = False  # NotTls / Anomaly reported; input ignored from now on
        self.ccs = False  # ChangeCipherSpec sent in this direction
        # negotiated version: set by this direction's ServerHello; for the client direction
        # the caller may copy it from the server's ServerHello (TLS 1.3 => alerts protected)
        self.version: int | None = None
        self.records = 0
        self.bytes_in = 0
        self._crossing: _Crossing | None = None  # a capture hole not crossed yet
        self._at = (0, 0)  # (frame, ts) of the last data

    @property
    def buffered(self) -> int:
        return len(self._buf) + len(self._hs)

    def feed(self, frame: int, ts: int, data: bytes) -> list[TlsItem]:
        """Add the next contiguous bytes; return items completed by them."""
        self.bytes_in += len(data)
        if self.dead or not data:
            return []
        out: list[TlsItem] = []
        self._at = (frame, ts)
        if self._crossing is not None:
            pieces = self._cross(out, frame, ts, data, False)
            if self._crossing is not None or not pieces:
                return out
            for f, t, d in pieces[:-1]:  # bytes held while the boundary was proven
                self.bytes_in -= len(d)
                out += self.feed(f, t, d)
            frame, ts, data = pieces[-1]
            if self.dead:
                return out
        buf = self._buf
        buf += data
        pos = 0
        n = len(buf)
        if self._v2:
            pos = self._v2_hello(out, frame, ts)
            if self._v2 or self.dead:  # still incomplete, or rejected
                if self.dead:
                    self._buf = bytearray()
                return out
        while not self.dead:
            if n - pos < HEADER_LEN:
                bad = _plausible_header(bytes(buf[pos:n]))
                if bad:
                    self._stop(out, frame, ts, bad, bytes(buf[pos : pos + 16]))
                break
            head = bytes(buf[pos : pos + HEADER_LEN])
            bad = _plausible_header(head)
            if bad:
                self._stop(out, frame, ts, bad, bytes(buf[pos : pos + 16]))
                break
            length = (head[3] << 8) | head[4]
            if n - pos < HEADER_LEN + length:
                break
            self.started = True
            self.records += 1
            frag = bytes(buf[pos + HEADER_LEN : pos + HEADER_LEN + length])
            pos += HEADER_LEN + length
            self._record(out, frame, ts, head[0], (head[1] << 8) | head[2], frag)
        if self.dead:
            self._buf = bytearray()
            self._hs = bytearray()
        else:
            del buf[:pos]
        return out

    def gap(self, frame: int, ts: int, missing: int) -> list[TlsItem]:
        """`missing` bytes the capture lacks come before the next data (frame `frame`).
        The complete handshake messages of a plaintext handshake record the hole breaks
        are returned; the rest of that record is lost, and so is any partial message."""
        if self.dead or missing <= 0:
            return []
        out: list[TlsItem] = []
        self._v2 = False
        cr = self._crossing
        if cr is not None:  # another hole before the last one was crossed
            cr.missing += missing
            if cr.skip >= 0:
                cr.skip -= missing
                if cr.skip < 0:  # past the broken record's end: the next one starts inside
                    cr.skip, cr.lost = -1, cr.lost + 1
            else:
                cr.skipped += len(self._buf)
                self._buf = bytearray()
                cr.parts = []
            return out
        buf = self._buf
        lost, skip, dialogue = 1, -1, False
        if len(buf) >= HEADER_LEN:  # the broken record's header was captured: its end is known
            ctype = buf[0]
            owed = HEADER_LEN + ((buf[3] << 8) | buf[4]) - len(buf)
            tls13 = self.version == TLS13
            if ctype == CT_HANDSHAKE and not self.ccs and not tls13:
                frame0, ts0 = self._at
                self._handshake(out, frame0, ts0, bytes(buf[HEADER_LEN:]))
            elif ctype == CT_CHANGE_CIPHER_SPEC and not tls13:
                self.ccs = True
            dialogue = ctype == CT_APPLICATION_DATA
            if owed >= missing:
                skip = owed - missing
            else:
                lost = 2  # the next record starts inside the hole
        self._buf = bytearray()
        self._hs = bytearray()
        if not self.dead:
            self._crossing = _Crossing(frame, missing, lost, skip, dialogue)
        return out

    def finish(self) -> list[TlsItem]:
        """End of the direction: a hole still being crossed is reported, after the records
        that chain exactly to the last byte, if any."""
        if self._crossing is None or self.dead:
            return []
        out: list[TlsItem] = []
        frame, ts = self._at
        pieces = self._cross(out, frame, ts, b"", True)
        if self._crossing is None:
            for f, t, d in pieces:
                self.bytes_in -= len(d)
                out += self.feed(f, t, d)
            return out
        cr = self._crossing
        self._crossing = None
        cr.skipped += len(self._buf)
        self._buf = bytearray()
        out.append(Hole(frame, ts, cr.after_frame, cr.missing, cr.skipped, cr.lost, False,
                        cr.dialogue or cr.skip < 0))
        return out

    def _cross(self, out: list[TlsItem], frame: int, ts: int, data: bytes,
               at_end: bool) -> list[tuple[int, int, bytes]]:
        """Bytes after a hole: pass over them up to a proven record boundary; return the
        bytes from that boundary on, as (frame, ts, bytes) in arrival order (the crossing
        is then over), or [] meanwhile."""
        cr = self._crossing
        assert cr is not None
        if cr.skip >= 0:
            if len(data) < cr.skip or not data:
                cr.skip -= len(data)
                cr.skipped += len(data)
                return []
            cr.skipped += cr.skip
            data = data[cr.skip :]
            cr.skip = 0
            if not data:
                return []
            pieces = [(frame, ts, data)]
        else:
            buf = self._buf
            buf += data
            if data:
                cr.parts.append((frame, ts, len(data)))
            p, keep = _boundary(buf, at_end)
            cut = keep if p is None else p
            cr.skipped += cut
            del buf[:cut]
            while cut and cr.parts:  # the arrival of the bytes still held
                f, t, n = cr.parts[0]
                if n > cut:
                    cr.parts[0] = (f, t, n - cut)
                    break
                cut -= n
                del cr.parts[0]
            if p is None:
                return []
            pieces, pos = [], 0
            for f, t, n in cr.parts:
                pieces.append((f, t, bytes(buf[pos : pos + n])))
                pos += n
            self._buf = bytearray()
            first = pieces[0][2][0]
            cr.dialogue = cr.dialogue or not (
                first in (CT_CHANGE_CIPHER_SPEC, CT_HANDSHAKE) and not self.ccs
                and self.version != TLS13)
        self._crossing = None
        out.append(Hole(pieces[0][0], pieces[0][1], cr.after_frame, cr.missing, cr.skipped,
                        cr.lost, True, cr.dialogue))
        return pieces

    def _v2_hello(self, out: list[TlsItem], frame: int, ts: int) -> int:
        """Bytes consumed by an SSLv2-compatible ClientHello at the start of the buffer;
        `self._v2` stays set while it is incomplete."""
        buf = self._buf
        if not buf[0] & 0x80 or (len(buf) >= 3 and buf[2] != 1):
            self._v2 = False  # a TLS record (or not TLS: the record checks say why)
            return 0
        head = bytes(buf[:V2_HEADER_LEN])
        bad = v2_problem(head)
        if bad:
            self._stop(out, frame, ts, bad, bytes(buf[:16]))
            return 0
        if len(head) < V2_HEADER_LEN:
            return 0
        end = 2 + (((head[0] & 0x7F) << 8) | head[1])
        if len(buf) < end:
            return 0
        self._v2 = False
        self.started = True
        self.records += 1
        out.append(v2_client_hello(frame, ts, bytes(buf[:end])))
        return end

    def _stop(self, out: list[TlsItem], frame: int, ts: int, reason: str, head: bytes) -> None:
        self.dead = True
        if self.started:
            out.append(Anomaly(frame, ts, reason))
        else:
            out.append(NotTls(frame, ts, reason, head))

    def _record(
        self, out: list[TlsItem], frame: int, ts: int, ctype: int, version: int, frag: bytes
    ) -> None:
        tls13 = self.version == TLS13
        if ctype == CT_CHANGE_CIPHER_SPEC:
            if not tls13:  # RFC 8446 §5: a 1.3 CCS is middlebox compatibility only
                self.ccs = True
            out.append(ChangeCipherSpec(frame, ts))
        elif ctype == CT_ALERT:
            if self.ccs or tls13 or len(frag) != 2:
                out.append(Alert(frame, ts, 0, -1, True, ctype, version, frag))
            else:
                out.append(Alert(frame, ts, frag[0], frag[1], False, ctype, version, frag))
        elif ctype == CT_HANDSHAKE:
            if self.ccs:
                out.append(EncryptedHandshake(frame, ts, ctype, version, len(frag), frag))
            else:
                self._handshake(out, frame, ts, frag)
        elif ctype == CT_APPLICATION_DATA:
            out.append(AppData(frame, ts, ctype, version, len(frag), frag))
        # heartbeat (24): counted as a record, nothing to report

    def _handshake(self, out: list[TlsItem], frame: int, ts: int, frag: bytes) -> None:
        hs = self._hs
        hs += frag
        pos = 0
        while len(hs) - pos >= 4:
            mtype = hs[pos]
            mlen = int.from_bytes(hs[pos + 1 : pos + 4], "big")
            if mlen > MAX_HANDSHAKE:
                self._stop(out, frame, ts, f"handshake message length {mlen} exceeds cap", b"")
                return
            if len(hs) - pos < 4 + mlen:
                break
            body = bytes(hs[pos + 4 : pos + 4 + mlen])
            pos += 4 + mlen
            item = self._message(frame, ts, mtype, body)
            if item is not None:
                out.append(item)
        del hs[:pos]

    def _message(self, frame: int, ts: int, mtype: int, body: bytes) -> TlsItem | None:
        item = message(frame, ts, mtype, body, self.version == TLS13)
        if isinstance(item, ServerHello) and (not item.hello_retry or item.version == TLS13):
            # a HelloRetryRequest selects TLS 1.3 too (RFC 8446 §4.1.4): the CCS that may
            # follow it is middlebox compatibility (§D.4), not a TLS 1.2 cipher change
            self.version = item.version
        return item
