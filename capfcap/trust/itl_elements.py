"""The elements of an ITL/CTL header and records (DOMAIN.md §1.2-§1.7): every declared
length checked against the bytes present, and the known values decoded (the first
occurrence of a tag wins; unknown tags are listed with their offsets)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from capfcap.dissectors import itl as d
from capfcap.dissectors import itltags as tg
from capfcap.events import CertInfo, TrustRecord
from capfcap.trust.certs import CertError, cert_info

_NS = 1_000_000_000


class TrustListError(ValueError):
    """A trust list (or signed-file header) that does not parse; `.offset` is the byte."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} (at byte offset {offset})")
        self.message = message
        self.offset = offset


@dataclass
class Header:
    """Decoded header values plus where the signature element sits."""

    length: int = 0
    version: str = ""
    signer_version: str = ""
    signer: str = ""
    issuer: str = ""
    serial: bytes = b""
    hash_code: int | None = None
    filename: str = ""
    timestamp: int | None = None
    sig_offset: int | None = None
    sig_size: int = 0  # whole tag-12 element (tag, length, value)
    signature: bytes = b""
    unknown: list[tuple[int, int]] = field(default_factory=list)


def _cstr(value: bytes) -> str:
    """NUL-terminated string value (DOMAIN.md §1.2); bytes after the first NUL are ignored."""
    return value.split(b"\x00", 1)[0].decode("utf-8", errors="replace")


def _version(value: bytes) -> str:
    return f"{value[0]}.{value[1]}" if len(value) == 2 else value.hex()


def uint(value: bytes) -> int:
    """A big-endian unsigned value."""
    return int.from_bytes(value, "big")


def _check_leaf(el: d.Packet, offset: int, names: dict[int, str]) -> None:
    if len(el.value) != el.length:
        raise TrustListError(
            f"{names.get(el.tag, 'tag')} element (tag {el.tag}) declares {el.length} bytes "
            f"but only {len(el.value)} are present",
            offset,
        )


def _apply_header(hdr: Header, el: d.Packet, offset: int, size: int) -> None:
    """Decode the first occurrence of one known header leaf into `hdr`."""
    tag, value = el.tag, el.value
    if tag == tg.TAG_HEADER_LENGTH:
        if len(value) != 2:
            raise TrustListError(f"HEADER_LENGTH has a {len(value)}-byte value", offset)
        hdr.length = uint(value)
        if hdr.length > size:
            raise TrustListError(
                f"HEADER_LENGTH {hdr.length} is beyond the end of the {size}-byte file",
                offset,
            )
    elif tag == tg.TAG_VERSION:
        hdr.version = _version(value)
    elif tag == tg.TAG_SIGNER_VERSION:
        hdr.signer_version = _version(value)
    elif tag == tg.TAG_SIGNER_NAME:
        hdr.signer = _cstr(value)
    elif tag == tg.TAG_ISSUER_NAME:
        hdr.issuer = _cstr(value)
    elif tag == tg.TAG_SERIAL_NUMBER:
        hdr.serial = value
    elif tag == tg.TAG_HASH_ALGORITHM and value:
        hdr.hash_code = uint(value[:4])
    elif tag == tg.TAG_FILENAME:
        hdr.filename = _cstr(value)
    elif tag == tg.TAG_TIMESTAMP and len(value) == 4:
        hdr.timestamp = uint(value) * _NS
    elif tag == tg.TAG_SIGNATURE:
        hdr.sig_offset = offset
        hdr.sig_size = d.wire_len(el)
        hdr.signature = value


def parse_header(elements: list[d.Packet], size: int) -> Header:
    """Validate and decode header elements (any order, any nesting of known tags)."""
    hdr = Header()
    seen: set[int] = set()
    if len(elements) > d.MAX_HEADER_ITEMS:
        offset = sum(d.wire_len(el) for el in elements[: d.MAX_HEADER_ITEMS])
        raise TrustListError(f"header has more than {d.MAX_HEADER_ITEMS} elements", offset)
    for offset, _depth, el in d.walk_header(elements):
        if isinstance(el, d.Raw) or not isinstance(el, d.HeaderElement):
            raise TrustListError("header element truncated or unreadable", offset)
        if isinstance(el, d.HeaderPadding):
            continue
        tag = el.tag
        if isinstance(el, d.HeaderContainer):
            inner = sum(d.wire_len(c) for c in el.children)
            if inner != el.length:
                raise TrustListError(
                    f"{tg.HEADER_TAGS[tag]} container (tag {tag}) declares {el.length} bytes "
                    f"but holds {inner}",
                    offset,
                )
            continue
        _check_leaf(el, offset, tg.HEADER_TAGS)
        if tag not in tg.HEADER_TAGS:
            hdr.unknown.append((tag, offset))
            continue
        if tag in seen:
            continue  # first occurrence wins
        seen.add(tag)
        _apply_header(hdr, el, offset, size)
    if tg.TAG_HEADER_LENGTH not in seen:
        raise TrustListError("no HEADER_LENGTH element (tag 2) in the header", 0)
    consumed = sum(d.wire_len(el) for el in elements)
    if consumed != hdr.length:
        raise TrustListError(
            f"header elements end at byte {consumed} but HEADER_LENGTH says {hdr.length}",
            min(consumed, hdr.length),
        )
    return hdr


def _ip_text(value: bytes) -> str:
    if len(value) in (4, 16):
        return str(ipaddress.ip_address(value))
    return value.hex()


@dataclass
class RecordParts:
    record: TrustRecord
    serial: bytes
    public_key: bytes
    unknown: list[tuple[int, int]]


def _check_record_prefix(index: int, offset: int, rec: d.Packet, size: int) -> None:
    """A record starts with RECORD_LENGTH (tag 1, size 2) and fits in the file."""
    if index > d.MAX_RECORDS:
        raise TrustListError(f"more than {d.MAX_RECORDS} records", offset)
    if isinstance(rec, d.Raw) or not isinstance(rec, d.ItlRecord):
        raise TrustListError(
            f"record {index} truncated or unreadable ({size - offset} bytes left)", offset
        )
    if rec.length_tag != tg.REC_LENGTH or rec.length_size != 2:
        raise TrustListError(f"record {index} does not start with RECORD_LENGTH (01 00 02)", offset)
    if rec.record_length < d.RECORD_PREFIX_LEN:
        raise TrustListError(f"record {index} length {rec.record_length} is too small", offset)
    if rec.record_length > size - offset:
        raise TrustListError(
            f"record {index} declares {rec.record_length} bytes but only {size - offset} remain",
            offset,
        )


@dataclass
class _RecordFields:
    """A record's known elements, decoded (the first occurrence of each tag)."""

    dns: str = ""
    subject: str = ""
    issuer: str = ""
    ip: str = ""
    cert_hash: str = ""
    note: str = ""
    role: int = -1
    serial: bytes = b""
    public_key: bytes = b""
    cert: CertInfo | None = None


def _apply_record(f: _RecordFields, tag: int, value: bytes, el_off: int) -> None:
    if tag == tg.REC_DNS_NAME:
        f.dns = _cstr(value)
    elif tag == tg.REC_SUBJECT_NAME:
        f.subject = _cstr(value)
    elif tag == tg.REC_ROLE and 0 < len(value) <= 4:
        f.role = uint(value)
    elif tag == tg.REC_ISSUER_NAME:
        f.issuer = _cstr(value)
    elif tag == tg.REC_SERIAL_NUMBER:
        f.serial = value
    elif tag == tg.REC_PUBLIC_KEY:
        f.public_key = value
    elif tag == tg.REC_CERTIFICATE:
        try:
            f.cert = cert_info(value)
        except CertError as exc:
            f.note = f"certificate at byte {el_off} unreadable: {exc}"
    elif tag == tg.REC_IP_ADDRESS:
        f.ip = _ip_text(value)
    elif tag == tg.REC_CERTIFICATE_HASH:
        f.cert_hash = value.hex()


def parse_record(index: int, offset: int, rec: d.Packet, size: int) -> RecordParts:
    _check_record_prefix(index, offset, rec, size)
    f = _RecordFields()
    unknown: list[tuple[int, int]] = []
    seen: set[int] = set()
    for el_off, el in d.walk_record_elements(rec, offset):
        if isinstance(el, d.Raw) or not isinstance(el, d.RecordElement):
            raise TrustListError(f"record {index}: element truncated", el_off)
        _check_leaf(el, el_off, tg.RECORD_TAGS)
        tag, value = el.tag, el.value
        if tag not in tg.RECORD_TAGS or tag == tg.REC_LENGTH:
            unknown.append((tag, el_off))
            continue
        if tag in seen:
            continue
        seen.add(tag)
        _apply_record(f, tag, value, el_off)
    record = TrustRecord(
        index=index,
        role=f.role,
        role_name=tg.role_name(f.role) if f.role >= 0 else "(none)",
        subject=f.subject,
        issuer=f.issuer,
        serial=f.serial.hex(),
        dns_name=f.dns,
        ip_address=f.ip,
        cert=f.cert,
        cert_hash=f.cert_hash,
        offset=offset,
        note=f.note,
    )
    return RecordParts(record, f.serial, f.public_key, unknown)
