"""CAPF message framing (DOMAIN.md §3.2), carried inside TLS on TCP 3804.

    header (8 bytes, big-endian): u8 protocol_id = 0x55 | u8 command | u32 session_id |
                                  u16 payload_length
    payload: elements             u8 tag | u16 length | value

CERTIFICATE (tag 4) values are nested: u8 01 | u16 n | u8 00 | u8 certificate type | DER,
where n counts the two bytes before the DER.

`CAPF` / `CapfElement` are the scapy layers; `decode_capf` is a scapy-free parser that
never raises anything but `CapfError` and renders elements for reports.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from scapy.fields import (
    ByteEnumField,
    FieldLenField,
    PacketListField,
    XByteField,
    XIntField,
)
from scapy.packet import Packet

from capfcap.dissectors.tlv import tlv_element
from capfcap.events import CapfMessage, Direction
from capfcap.protocol import CAPF_PORT

PROTOCOL_ID = 0x55
HEADER_LEN = 8
MAX_MESSAGES = 4096  # per decode_capf call

COMMANDS = {
    1: "AUTH_REQUEST",
    2: "AUTH_RESPONSE",
    3: "KEY_GENERATE_REQUEST",
    4: "KEY_GENERATE_RESPONSE",
    5: "ENCRYPT_RESPONSE",
    6: "ENCRYPT_REQUEST",
    7: "DECRYPT_REQUEST",
    8: "DECRYPT_RESPONSE",
    9: "STORE_CERTIFICATE_REQUEST",
    10: "STORE_CERTIFICATE_RESPONSE",
    11: "FETCH_CERTIFICATE_REQUEST",
    12: "FETCH_CERTIFICATE_RESPONSE",
    13: "DELETE_CERTIFICATE_REQUEST",
    14: "DELETE_CERTIFICATE_RESPONSE",
    15: "END_SESSION",
    16: "RETRY_LATER",
    17: "REQUEST_IN_PROGRESS",
    18: "STATUS_REQUEST",
    19: "STATUS_RESPONSE",
    20: "ABORT_REQUEST",
    21: "ABORT_RESPONSE",
    22: "SIGN_CERTIFICATE_REQUEST",
    23: "SIGN_CERTIFICATE_RESPONSE",
}

EL_REASON = 1
EL_REASON_INFO = 2
EL_CERTIFICATE_TYPE = 3
EL_CERTIFICATE = 4
EL_CERTIFICATE_ID = 5
EL_SIGNED_DATA = 6
EL_VERSION = 7
EL_AUTH_TYPE = 8
EL_PUBLIC_KEY = 9
EL_KEY_SIZE = 10
EL_PASSWORD = 11
EL_RETRY_DELAY = 12
EL_DEVICE_NAME = 13
EL_SUDI_DATA = 16
EL_KEY_TYPE = 17
EL_CURVE = 18
EL_DIGEST_TYPE = 19
EL_SHA2_SIGNED_DATA = 20

ELEMENTS = {
    EL_REASON: "REASON",
    EL_REASON_INFO: "REASON_INFO",
    EL_CERTIFICATE_TYPE: "CERTIFICATE_TYPE",
    EL_CERTIFICATE: "CERTIFICATE",
    EL_CERTIFICATE_ID: "CERTIFICATE_ID",
    EL_SIGNED_DATA: "SIGNED_DATA",
    EL_VERSION: "VERSION",
    EL_AUTH_TYPE: "AUTH_TYPE",
    EL_PUBLIC_KEY: "PUBLIC_KEY",
    EL_KEY_SIZE: "KEY_SIZE",
    EL_PASSWORD: "PASSWORD",
    EL_RETRY_DELAY: "RETRY_DELAY",
    EL_DEVICE_NAME: "DEVICE_NAME",
    EL_SUDI_DATA: "SUDI_DATA",
    EL_KEY_TYPE: "KEY_TYPE",
    EL_CURVE: "CURVE",
    EL_DIGEST_TYPE: "DIGEST_TYPE",
    EL_SHA2_SIGNED_DATA: "SHA2_SIGNED_DATA",
}

REASONS = {0: "NO_ACTION", 1: "UPDATE_CERTIFICATE", 7: "INVALID_ELEMENT", 9: "UNKNOWN_DEVICE"}
AUTH_TYPES = {
    0: "none",
    1: "authentication string",
    2: "null string",
    3: "existing certificate (precedence to LSC)",
    4: "existing certificate (precedence to MIC)",
}
CERT_TYPES = {1: "LSC", 2: "MIC"}
KEY_TYPES = {0: "RSA", 1: "EC"}
CURVES = {0: "secp256r1", 1: "secp384r1", 2: "secp521r1"}


class CapfError(ValueError):
    """Bytes that are not (a whole sequence of) CAPF messages."""


# --------------------------------------------------------------------------- scapy layers


CapfElement = tlv_element(__name__, "CapfElement", "CAPF element", ELEMENTS)


class CAPF(Packet):
    name = "CAPF"
    fields_desc = [
        XByteField("protocol", PROTOCOL_ID),
        ByteEnumField("cmd", 1, COMMANDS),  # not "command": Packet.command() exists
        XIntField("session_id", 0),
        FieldLenField("length", None, length_of="elements", fmt="!H"),
        PacketListField("elements", [], CapfElement, length_from=lambda p: p.length),
    ]

    def guess_payload_class(self, payload: bytes) -> type[Packet]:
        # one TLS record may carry several CAPF messages back to back
        if payload[:1] == bytes([PROTOCOL_ID]) and len(payload) >= HEADER_LEN:
            return CAPF
        return Packet.guess_payload_class(self, payload)


def bind_tls(port: int = CAPF_PORT) -> None:
    """Make scapy dissect TCP `port` (CAPF: 3804) as TLS, the way scapy binds 443;
    with `conf.tls_session_enable = True` and `conf.tls_nss_filename` set to an NSS key
    log, scapy decrypts the records, and `capf_messages` reads CAPF from them."""
    from scapy.layers.inet import TCP
    from scapy.layers.tls.record import TLS
    from scapy.packet import bind_layers

    bind_layers(TCP, TLS, sport=port)
    bind_layers(TCP, TLS, dport=port)


def capf_messages(pkt: Packet) -> list[CAPF]:
    """The CAPF messages in the (decrypted) TLS application data records of a scapy
    packet. scapy's TLSApplicationData keeps its plaintext as one opaque `data` field,
    so CAPF is read from there rather than bound as its payload."""
    from scapy.layers.tls.record import TLSApplicationData

    out: list[CAPF] = []
    nb = 1
    while (layer := pkt.getlayer(TLSApplicationData, nb=nb)) is not None:
        nb += 1
        data = bytes(layer.data)
        if data[:1] != bytes([PROTOCOL_ID]) or len(data) < HEADER_LEN:
            continue
        msg: Packet = CAPF(data)
        while isinstance(msg, CAPF):
            out.append(msg)
            msg = msg.payload
    return out


# --------------------------------------------------------------------------- pure parser


@dataclass(frozen=True)
class RawCapf:
    command: int
    session_id: int
    length: int  # payload_length field
    elements: tuple[tuple[int, bytes], ...]  # (tag, value) in wire order

    @property
    def size(self) -> int:
        return HEADER_LEN + self.length


def split_capf(data: bytes, partial_ok: bool = False) -> tuple[list[RawCapf], int]:
    """Parse consecutive messages; return them and the bytes consumed.

    With `partial_ok`, an incomplete last message is left unconsumed (streaming use);
    otherwise it is an error. Raises CapfError on anything that is not CAPF.
    """
    out: list[RawCapf] = []
    pos = 0
    n = len(data)
    while pos < n:
        if len(out) >= MAX_MESSAGES:
            raise CapfError(f"more than {MAX_MESSAGES} messages")
        if data[pos] != PROTOCOL_ID:
            raise CapfError(f"offset {pos}: protocol id 0x{data[pos]:02x}, expected 0x55")
        if n - pos < HEADER_LEN:
            if partial_ok:
                break
            raise CapfError(f"offset {pos}: truncated header ({n - pos} bytes)")
        cmd = data[pos + 1]
        sid = int.from_bytes(data[pos + 2 : pos + 6], "big")
        plen = int.from_bytes(data[pos + 6 : pos + 8], "big")
        end = pos + HEADER_LEN + plen
        if end > n:
            if partial_ok:
                break
            raise CapfError(f"offset {pos}: payload length {plen} exceeds the {n - pos} bytes left")
        els: list[tuple[int, bytes]] = []
        p = pos + HEADER_LEN
        while p < end:
            if end - p < 3:
                raise CapfError(f"offset {p}: truncated element header")
            tag = data[p]
            elen = int.from_bytes(data[p + 1 : p + 3], "big")
            if p + 3 + elen > end:
                raise CapfError(f"offset {p}: element {tag} length {elen} exceeds the message")
            els.append((tag, bytes(data[p + 3 : p + 3 + elen])))
            p += 3 + elen
        out.append(RawCapf(cmd, sid, plen, tuple(els)))
        pos = end
    return out, pos


def certificate_der(value: bytes) -> tuple[int | None, bytes]:
    """(certificate type, DER) from a CERTIFICATE element value (nested or bare DER)."""
    if len(value) >= 5 and value[0] == 0x01 and value[3] == 0x00:
        n = int.from_bytes(value[1:3], "big")
        if 2 <= n <= len(value) - 3:
            return value[4], value[5 : 3 + n]
    return None, value


def _int(value: bytes) -> int | None:
    return int.from_bytes(value, "big") if 1 <= len(value) <= 8 else None


def _named(value: bytes, names: dict[int, str]) -> str:
    v = _int(value)
    if v is None:
        return f"<{len(value)} bytes>"
    name = names.get(v)
    return f"{v} {name}" if name else str(v)


def _text(value: bytes) -> str:
    return value.split(b"\x00", 1)[0].decode("ascii", "replace")


def _utc(t: _dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def render_certificate(der: bytes) -> str:
    try:
        cert = x509.load_der_x509_certificate(der)
        return (
            f"subject={cert.subject.rfc4514_string()}; issuer={cert.issuer.rfc4514_string()}; "
            f"not_before={_utc(cert.not_valid_before_utc)}; "
            f"not_after={_utc(cert.not_valid_after_utc)}; serial={cert.serial_number:x}; "
            f"sha256={cert.fingerprint(hashes.SHA256()).hex()}"
        )
    except Exception:  # third-party ASN.1 parser on untrusted bytes: any failure = unparsable
        return f"<{len(der)} bytes, not a certificate>"


def render_public_key(spki: bytes) -> str:
    try:
        key = serialization.load_der_public_key(spki)
    except Exception:  # see render_certificate
        return f"<{len(spki)} bytes, not a SubjectPublicKeyInfo>"
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}-bit ({len(spki)} B SPKI)"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name} ({len(spki)} B SPKI)"
    return f"{type(key).__name__} ({len(spki)} B SPKI)"


def render_element(tag: int, value: bytes, show_secrets: bool = False) -> tuple[str, str]:
    """(element name, human-readable value)."""
    name = ELEMENTS.get(tag, f"TAG_{tag}")
    if tag == EL_REASON:
        return name, _named(value, REASONS)
    if tag == EL_AUTH_TYPE:
        return name, _named(value, AUTH_TYPES)
    if tag == EL_CERTIFICATE_TYPE:
        return name, _named(value, CERT_TYPES)
    if tag == EL_KEY_TYPE:
        return name, _named(value, KEY_TYPES)
    if tag == EL_CURVE:
        return name, _named(value, CURVES)
    if tag in (EL_VERSION, EL_KEY_SIZE, EL_RETRY_DELAY, EL_DIGEST_TYPE):
        v = _int(value)
        return name, str(v) if v is not None else f"<{len(value)} bytes>"
    if tag == EL_PASSWORD:
        return name, _text(value) if show_secrets else "****"
    if tag == EL_DEVICE_NAME:
        return name, _text(value)
    if tag == EL_REASON_INFO:
        txt = _text(value)
        return name, txt if txt.isprintable() else value.hex()
    if tag == EL_CERTIFICATE:
        ctype, der = certificate_der(value)
        prefix = f"{CERT_TYPES.get(ctype, str(ctype))} " if ctype is not None else ""
        return name, prefix + render_certificate(der)
    if tag == EL_PUBLIC_KEY:
        return name, render_public_key(value)
    return name, f"<{len(value)} bytes>"


def decode_capf(
    data: bytes, frame: int, ts: int, direction: Direction, show_secrets: bool = False
) -> list[CapfMessage]:
    """Every CAPF message in `data` (one or more whole messages); CapfError otherwise."""
    if not data:
        raise CapfError("no data")
    raws, _ = split_capf(data)
    return [to_message(r, frame, ts, direction, show_secrets) for r in raws]


def to_message(
    r: RawCapf, frame: int, ts: int, direction: Direction, show_secrets: bool = False
) -> CapfMessage:
    return CapfMessage(
        frame=frame,
        ts=ts,
        direction=direction,
        command=r.command,
        command_name=COMMANDS.get(r.command, f"COMMAND_{r.command}"),
        session_id=r.session_id,
        length=r.size,
        elements=tuple(render_element(t, v, show_secrets) for t, v in r.elements),
    )


class CapfStream:
    """CAPF messages from one direction's decrypted application data, in order.

    A message may span TLS records (capfd writes one message per record, others may
    not); each message is stamped with the frame of the record that completed it.
    Raises CapfError once on bytes that are not CAPF, then ignores the direction.
    """

    def __init__(self, direction: Direction, show_secrets: bool = False) -> None:
        self.direction: Direction = direction
        self.show_secrets = show_secrets
        self._buf = bytearray()  # < HEADER_LEN + 65535: at most one incomplete message
        self.dead = False

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, frame: int, ts: int, data: bytes) -> list[CapfMessage]:
        if self.dead or not data:
            return []
        self._buf += data
        try:
            raws, used = split_capf(bytes(self._buf), partial_ok=True)
        except CapfError:
            self.dead = True
            self._buf = bytearray()
            raise
        del self._buf[:used]
        return [to_message(r, frame, ts, self.direction, self.show_secrets) for r in raws]
