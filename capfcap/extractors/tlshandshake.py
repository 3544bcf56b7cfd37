"""TLS handshake message bodies (no scapy: hot path): ClientHello, ServerHello and
Certificate, and the SSLv2-compatible ClientHello.

Wire formats:
- ClientHello (RFC 5246 §7.4.1.2, RFC 8446 §4.1.2), ServerHello (RFC 5246 §7.4.1.3,
  RFC 8446 §4.1.3), extensions (RFC 5246 §7.4.1.4), server_name (RFC 6066 §3),
  supported_versions (RFC 8446 §4.2.1).
- Certificate: TLS <= 1.2 (RFC 5246 §7.4.2), TLS 1.3 (RFC 8446 §4.4.2).
- SSLv2-compatible ClientHello (RFC 5246 Appendix E.2, RFC 6101 Appendix E.1): u16
  msg_length with the high bit set | u8 msg_type (1) | u16 version | u16
  cipher_spec_length | u16 session_id_length | u16 challenge_length | V2CipherSpec (3 bytes
  each) | session_id | challenge.
"""

from __future__ import annotations

from capfcap.extractors.tlsitems import (
    EXT_SERVER_NAME,
    EXT_SUPPORTED_VERSIONS,
    HRR_RANDOM,
    HS_CERTIFICATE,
    HS_CLIENT_HELLO,
    HS_SERVER_HELLO,
    MAX_RECORD,
    V2_CHALLENGE_MAX,
    V2_CHALLENGE_MIN,
    V2_HEADER_LEN,
    V2_SESSION_ID_LENGTHS,
    Anomaly,
    Certificate,
    ClientHello,
    HandshakeMessage,
    ServerHello,
    TlsItem,
)


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


def v2_problem(head: bytes) -> str:
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


def v2_client_hello(frame: int, ts: int, msg: bytes) -> ClientHello:
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


def message(frame: int, ts: int, mtype: int, body: bytes, tls13: bool) -> TlsItem:
    """One complete plaintext handshake message; a body that does not parse gives an
    `Anomaly(fatal=False)`. `tls13`: the direction negotiated TLS 1.3 (Certificate form)."""
    try:
        if mtype == HS_CLIENT_HELLO:
            return _client_hello(frame, ts, body)
        if mtype == HS_SERVER_HELLO:
            return _server_hello(frame, ts, body)
        if mtype == HS_CERTIFICATE:
            if tls13:
                return _certificate13(frame, ts, body)
            return _certificate(frame, ts, body)
    except _Short:
        return Anomaly(frame, ts, f"malformed handshake message type {mtype}", fatal=False)
    return HandshakeMessage(frame, ts, mtype, len(body))
