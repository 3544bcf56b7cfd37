"""TLS wire vocabulary: record and handshake type numbers, size bounds, the typed items
`tlsparse.TlsDirectionParser` returns, and names for alerts, versions and cipher suites.

Record (RFC 5246 §6.2.1, RFC 8446 §5.1), handshake (RFC 5246 §7.4, RFC 8446 §4) and alert
(RFC 5246 §7.2) numbers; cipher suite names from the IANA TLS registry.
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
class _Item:
    """What every item has first: the frame whose bytes completed it, and its time."""

    frame: int
    ts: int


@dataclass(frozen=True)
class ClientHello(_Item):
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
class ServerHello(_Item):
    legacy_version: int
    version: int  # selected: supported_versions ext when present, else legacy_version
    cipher: int
    random: bytes
    hello_retry: bool = False

    @property
    def tls13(self) -> bool:
        return self.version == TLS13


@dataclass(frozen=True)
class Certificate(_Item):
    """TLS <= 1.2 Certificate (RFC 5246 §7.4.2): DER certificates, sender's first."""

    certs: tuple[bytes, ...] = field(repr=False)


@dataclass(frozen=True)
class HandshakeMessage(_Item):
    """A plaintext handshake message whose body is not read: CertificateRequest (RFC 5246
    §7.4.4, the server asks for the client's certificate), ServerHelloDone (§7.4.5),
    ClientKeyExchange (§7.4.7), ServerKeyExchange, NewSessionTicket, ..."""

    msg_type: int
    length: int


@dataclass(frozen=True)
class ChangeCipherSpec(_Item):
    """A ChangeCipherSpec record (RFC 5246 §7.1)."""


@dataclass(frozen=True)
class _Record(_Item):
    """A whole record kept for decryption: its header fields and its fragment."""

    content_type: int
    version: int
    length: int
    fragment: bytes = field(repr=False)


@dataclass(frozen=True)
class EncryptedHandshake(_Record):
    """A handshake record after this direction's ChangeCipherSpec (Finished, TLS <= 1.2)."""


@dataclass(frozen=True)
class Alert(_Item):
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
class AppData(_Record):
    """An application_data record (TLS 1.3: also the encrypted handshake)."""


@dataclass(frozen=True)
class NotTls(_Item):
    """The direction's first bytes are not a TLS record."""

    reason: str
    head: bytes = b""  # up to 16 first bytes


@dataclass(frozen=True)
class Anomaly(_Item):
    """Something malformed after a valid start; `fatal`: parsing of the direction stopped."""

    reason: str
    fatal: bool = True


@dataclass(frozen=True)
class Hole(_Item):
    """The parser crossed a capture hole (`frame`, `ts`: where parsing went on, or the
    last data when no record boundary could be proven). The records it broke are lost:
    at least `records_lost`; `skipped` captured bytes after the hole were passed over to
    reach a boundary; `dialogue`: application records may be among the lost ones."""

    after_frame: int  # the first frame after the hole
    missing: int
    skipped: int
    records_lost: int
    resynced: bool
    dialogue: bool


TlsItem = (
    ClientHello
    | ServerHello
    | Certificate
    | HandshakeMessage
    | ChangeCipherSpec
    | EncryptedHandshake
    | Alert
    | AppData
    | NotTls
    | Anomaly
    | Hole
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
