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
Buffers are bounded by one record (`MAX_RECORD`) plus one handshake message
(`MAX_HANDSHAKE`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from capfcap.protocol import TLS_ALERTS, TLS_VERSIONS

CT_CHANGE_CIPHER_SPEC = 20
CT_ALERT = 21
CT_HANDSHAKE = 22
CT_APPLICATION_DATA = 23
CT_HEARTBEAT = 24
CONTENT_TYPES = frozenset({20, 21, 22, 23, 24})

HS_HELLO_REQUEST = 0
HS_CLIENT_HELLO = 1
HS_SERVER_HELLO = 2
HS_NEW_SESSION_TICKET = 4
HS_CERTIFICATE = 11
HS_SERVER_KEY_EXCHANGE = 12
HS_CERTIFICATE_REQUEST = 13
HS_SERVER_HELLO_DONE = 14
HS_CERTIFICATE_VERIFY = 15
HS_CLIENT_KEY_EXCHANGE = 16
HS_FINISHED = 20

EXT_SERVER_NAME = 0
EXT_SUPPORTED_VERSIONS = 43

TLS13 = 0x0304
V2_HEADER_LEN = 11  # SSLv2 record header (2) + the ClientHello's fixed fields (9)
V2_CHALLENGE_MIN, V2_CHALLENGE_MAX = 16, 32  # RFC 5246 E.2 challenge_length
V2_SESSION_ID_LENGTHS = (0, 16)  # RFC 6101 E.1 session_id_length
MAX_RECORD = (1 << 14) + 2048  # RFC 5246 §6.2.3 TLSCiphertext.length bound
MAX_HANDSHAKE = 256 * 1024  # largest handshake message accepted (cert chains are < 64 KiB)
HEADER_LEN = 5

# RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest
HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()


# --------------------------------------------------------------------------- items


@dataclass(frozen=True)
class ClientHello:
    frame: int
    ts: int
    legacy_version: int
    versions: tuple[int, ...]  # supported_versions ext (RFC 8446 §4.2.1), () when absent
    sni: str
    ciphers: tuple[int, ...]
    random: bytes
    sslv2: bool = False  # sent in the SSLv2-compatible format (RFC 5246 Appendix E.2)

    @property
    def offered_versions(self) -> tuple[int, ...]:
        return self.versions or (self.legacy_version,)


@dataclass(frozen=True)
class ServerHello:
    frame: int
    ts: int
    legacy_version: int
    version: int  # selected: supported_versions ext when present, else legacy_version
    cipher: int
    random: bytes
    hello_retry: bool = False

    @property
    def tls13(self) -> bool:
        return self.version == TLS13


@dataclass(frozen=True)
class Certificate:
    """TLS <= 1.2 Certificate (RFC 5246 §7.4.2): DER certificates, sender's first."""

    frame: int
    ts: int
    certs: tuple[bytes, ...] = field(repr=False)


@dataclass(frozen=True)
class CertificateRequest:
    frame: int
    ts: int


@dataclass(frozen=True)
class ServerHelloDone:
    frame: int
    ts: int


@dataclass(frozen=True)
class ClientKeyExchange:
    frame: int
    ts: int


@dataclass(frozen=True)
class HandshakeMessage:
    """Any other plaintext handshake message (ServerKeyExchange, NewSessionTicket, ...)."""

    frame: int
    ts: int
    msg_type: int
    length: int


@dataclass(frozen=True)
class ChangeCipherSpec:
    frame: int
    ts: int


@dataclass(frozen=True)
class EncryptedHandshake:
    """A handshake record after this direction's ChangeCipherSpec (Finished, TLS <= 1.2)."""

    frame: int
    ts: int
    content_type: int
    version: int
    length: int
    fragment: bytes = field(repr=False)


@dataclass(frozen=True)
class Alert:
    frame: int
    ts: int
    level: int  # 1 warning, 2 fatal; 0 when encrypted
    description: int  # -1 when encrypted
    encrypted: bool = False
    content_type: int = CT_ALERT
    version: int = 0
    fragment: bytes = field(default=b"", repr=False)

    @property
    def name(self) -> str:
        return "encrypted" if self.encrypted else alert_name(self.description)


@dataclass(frozen=True)
class AppData:
    """An application_data record (TLS 1.3: also the encrypted handshake)."""

    frame: int
    ts: int
    content_type: int
    version: int
    length: int
    fragment: bytes = field(repr=False)


@dataclass(frozen=True)
class NotTls:
    """The direction's first bytes are not a TLS record."""

    frame: int
    ts: int
    reason: str
    head: bytes = b""  # up to 16 first bytes


@dataclass(frozen=True)
class Anomaly:
    """Something malformed after a valid start; `fatal`: parsing of the direction stopped."""

    frame: int
    ts: int
    reason: str
    fatal: bool = True


TlsItem = (
    ClientHello
    | ServerHello
    | Certificate
    | CertificateRequest
    | ServerHelloDone
    | ClientKeyExchange
    | HandshakeMessage
    | ChangeCipherSpec
    | EncryptedHandshake
    | Alert
    | AppData
    | NotTls
    | Anomaly
)
EncryptedItem = EncryptedHandshake | Alert | AppData

# --------------------------------------------------------------------------- names


def alert_name(code: int) -> str:
    """RFC 5246 §7.2 / RFC 8446 §6 alert description name."""
    if code < 0:
        return "encrypted"
    return TLS_ALERTS.get(code, f"unknown_alert({code})")


def version_name(v: int) -> str:
    name = TLS_VERSIONS.get(v)
    if name is not None:
        return name
    if v & 0x0F0F == 0x0A0A and (v >> 8) == (v & 0xFF):  # RFC 8701 GREASE
        return f"GREASE(0x{v:04x})"
    if v >> 8 == 0x7F:  # draft TLS 1.3
        return f"TLS 1.3 draft {v & 0xFF}"
    return f"0x{v:04x}"


_CIPHERS = {
    0x0000: "TLS_NULL_WITH_NULL_NULL",
    0x000A: "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA",
    0x0033: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
    0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
    0x0039: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
    0x003C: "TLS_RSA_WITH_AES_128_CBC_SHA256",
    0x003D: "TLS_RSA_WITH_AES_256_CBC_SHA256",
    0x0067: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
    0x006B: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
    0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256",
    0x009D: "TLS_RSA_WITH_AES_256_GCM_SHA384",
    0x009E: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    0x009F: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    0x00FF: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
    0x1301: "TLS_AES_128_GCM_SHA256",
    0x1302: "TLS_AES_256_GCM_SHA384",
    0x1303: "TLS_CHACHA20_POLY1305_SHA256",
    0x1304: "TLS_AES_128_CCM_SHA256",
    0x1305: "TLS_AES_128_CCM_8_SHA256",
    0x5600: "TLS_FALLBACK_SCSV",
    0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    0xC023: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    0xC024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    0xC027: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    0xC028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCAA: "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}


def cipher_name(code: int) -> str:
    name = _CIPHERS.get(code)
    if name is not None:
        return name
    if code & 0x0F0F == 0x0A0A and (code >> 8) == (code & 0xFF):
        return f"GREASE(0x{code:04x})"
    return f"0x{code:04x}"


# --------------------------------------------------------------------------- body parsing


class _Short(Exception):
    """A length inside a handshake body points past its end."""


class _Reader:
    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def left(self) -> int:
        return self.end - self.pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise _Short
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u24(self) -> int:
        return int.from_bytes(self.take(3), "big")

    def sub(self, n: int) -> _Reader:
        """A reader over the next n bytes (a length-prefixed vector), consumed here."""
        if n < 0 or self.pos + n > self.end:
            raise _Short
        r = _Reader(self.data, self.pos, self.pos + n)
        self.pos += n
        return r


def _extensions(r: _Reader) -> list[tuple[int, _Reader]]:
    """RFC 5246 §7.4.1.4: optional u16-prefixed list of (u16 type, u16-prefixed data)."""
    if r.left() == 0:
        return []
    ext = r.sub(r.u16())
    out: list[tuple[int, _Reader]] = []
    while ext.left() > 0:
        etype = ext.u16()
        out.append((etype, ext.sub(ext.u16())))
    return out


def _client_hello(frame: int, ts: int, body: bytes) -> ClientHello:
    # RFC 5246 §7.4.1.2 / RFC 8446 §4.1.2
    r = _Reader(body)
    legacy = r.u16()
    rnd = r.take(32)
    r.take(r.u8())  # legacy_session_id
    cs = r.sub(r.u16())
    ciphers = tuple(cs.u16() for _ in range(cs.left() // 2))
    r.take(r.u8())  # compression methods
    sni = ""
    versions: tuple[int, ...] = ()
    for etype, e in _extensions(r):
        if etype == EXT_SERVER_NAME and e.left() >= 2:
            names = e.sub(e.u16())
            while names.left() > 0:  # RFC 6066 §3: u8 name_type | u16-prefixed name
                ntype = names.u8()
                name = names.take(names.u16())
                if ntype == 0 and not sni:
                    sni = name.decode("ascii", "replace")
        elif etype == EXT_SUPPORTED_VERSIONS and e.left() >= 1:
            vl = e.sub(e.u8())
            versions = tuple(vl.u16() for _ in range(vl.left() // 2))
    return ClientHello(frame, ts, legacy, versions, sni, ciphers, rnd)


def _server_hello(frame: int, ts: int, body: bytes) -> ServerHello:
    # RFC 5246 §7.4.1.3 / RFC 8446 §4.1.3
    r = _Reader(body)
    legacy = r.u16()
    rnd = r.take(32)
    r.take(r.u8())  # legacy_session_id_echo
    cipher = r.u16()
    r.u8()  # compression method
    version = legacy
    for etype, e in _extensions(r):
        if etype == EXT_SUPPORTED_VERSIONS and e.left() >= 2:
            version = e.u16()
    return ServerHello(frame, ts, legacy, version, cipher, rnd, rnd == HRR_RANDOM)


def _certificate(frame: int, ts: int, body: bytes) -> Certificate:
    # RFC 5246 §7.4.2: u24-prefixed list of u24-prefixed ASN.1Cert
    r = _Reader(body)
    lst = r.sub(r.u24())
    certs: list[bytes] = []
    while lst.left() > 0:
        certs.append(lst.take(lst.u24()))
    return Certificate(frame, ts, tuple(certs))


def _certificate13(frame: int, ts: int, body: bytes) -> Certificate:
    # RFC 8446 §4.4.2: u8-prefixed context, u24 list of (u24 cert, u16 extensions)
    r = _Reader(body)
    r.take(r.u8())
    lst = r.sub(r.u24())
    certs: list[bytes] = []
    while lst.left() > 0:
        certs.append(lst.take(lst.u24()))
        lst.take(lst.u16())
    return Certificate(frame, ts, tuple(certs))


def _v2_problem(head: bytes) -> str:
    """'' when the (up to V2_HEADER_LEN) bytes can start an SSLv2-compatible ClientHello,
    else the reason they cannot (RFC 5246 Appendix E.2, RFC 6101 Appendix E.1)."""
    if len(head) >= 4 and head[3] != 3:
        return f"SSLv2 ClientHello version 0x{head[3]:02x}{head[4:5].hex()} is not SSL 3.0/TLS"
    if len(head) >= 5 and head[4] > 3:
        return f"SSLv2-compatible ClientHello version 0x03{head[4]:02x} unknown"
    if len(head) < V2_HEADER_LEN:
        return ""
    length = ((head[0] & 0x7F) << 8) | head[1]
    cs, sid, chal = (int.from_bytes(head[i : i + 2], "big") for i in (5, 7, 9))
    if cs == 0 or cs % 3:
        return f"SSLv2 ClientHello cipher_spec_length {cs} is not a non-zero multiple of 3"
    if sid not in V2_SESSION_ID_LENGTHS:
        return f"SSLv2 ClientHello session_id_length {sid} is not 0 or 16"
    if not V2_CHALLENGE_MIN <= chal <= V2_CHALLENGE_MAX:
        return f"SSLv2 ClientHello challenge_length {chal} is not 16-32"
    if length != V2_HEADER_LEN - 2 + cs + sid + chal:
        return f"SSLv2 ClientHello msg_length {length} does not match its fields"
    if length > MAX_RECORD:
        return f"SSLv2 ClientHello length {length} exceeds {MAX_RECORD}"
    return ""


def _v2_client_hello(frame: int, ts: int, msg: bytes) -> ClientHello:
    """A complete, checked SSLv2-compatible ClientHello (header included)."""
    cs, sid = (int.from_bytes(msg[i : i + 2], "big") for i in (5, 7))
    specs = msg[V2_HEADER_LEN : V2_HEADER_LEN + cs]
    # RFC 5246 E.2: a TLS suite is the V2CipherSpec {0x00, suite}; others are SSL 2.0 only
    ciphers = tuple(int.from_bytes(specs[i + 1 : i + 3], "big")
                    for i in range(0, cs, 3) if specs[i] == 0)
    challenge = msg[V2_HEADER_LEN + cs + sid :]
    # RFC 5246 E.2: the challenge, right-aligned with leading zeros, is ClientHello.random
    rnd = bytes(32 - len(challenge)) + challenge
    version = int.from_bytes(msg[3:5], "big")
    return ClientHello(frame, ts, version, (), "", ciphers, rnd, sslv2=True)
def certificate13(frame: int, ts: int, body: bytes) -> Certificate:
    """A TLS 1.3 Certificate body decrypted elsewhere; ValueError when it is short."""
    try:
        return _certificate13(frame, ts, body)
    except _Short as e:
        raise ValueError("truncated TLS 1.3 Certificate message") from e


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

    @property
    def buffered(self) -> int:
        return len(self._buf) + len(self._hs)

    def feed(self, frame: int, ts: int, data: bytes) -> list[TlsItem]:
        """Add the next contiguous bytes; return items completed by them."""
        self.bytes_in += len(data)
        if self.dead or not data:
            return []
        out: list[TlsItem] = []
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

    def _v2_hello(self, out: list[TlsItem], frame: int, ts: int) -> int:
        """Bytes consumed by an SSLv2-compatible ClientHello at the start of the buffer;
        `self._v2` stays set while it is incomplete."""
        buf = self._buf
        if not buf[0] & 0x80 or (len(buf) >= 3 and buf[2] != 1):
            self._v2 = False  # a TLS record (or not TLS: the record checks say why)
            return 0
        head = bytes(buf[:V2_HEADER_LEN])
        bad = _v2_problem(head)
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
        out.append(_v2_client_hello(frame, ts, bytes(buf[:end])))
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
        try:
            if mtype == HS_CLIENT_HELLO:
                return _client_hello(frame, ts, body)
            if mtype == HS_SERVER_HELLO:
                sh = _server_hello(frame, ts, body)
                if not sh.hello_retry:
                    self.version = sh.version
                return sh
            if mtype == HS_CERTIFICATE:
                if self.version == TLS13:
                    return _certificate13(frame, ts, body)
                return _certificate(frame, ts, body)
        except _Short:
            return Anomaly(frame, ts, f"malformed handshake message type {mtype}", fatal=False)
        if mtype == HS_CERTIFICATE_REQUEST:
            return CertificateRequest(frame, ts)
        if mtype == HS_SERVER_HELLO_DONE:
            return ServerHelloDone(frame, ts)
        if mtype == HS_CLIENT_KEY_EXCHANGE:
            return ClientKeyExchange(frame, ts)
        return HandshakeMessage(frame, ts, mtype, len(body))
