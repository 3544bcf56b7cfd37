"""ITL/CTL trust lists and `.sgn` headers -> `events.TrustList` (DOMAIN.md §1).

Parsing goes through the scapy layers of `capfcap.dissectors.itl`; this module checks
the structure (every declared length against the bytes present), decodes the values,
summarises certificates and verifies the file signature (DOMAIN.md §1.8). Only
`TrustListError` ever leaves `parse_trust_list` / `parse_signed_header`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from dataclasses import dataclass, field
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from capfcap.dissectors import itl as d
from capfcap.events import CertInfo, TrustList, TrustRecord
from capfcap.trust.certs import CertError, cert_info, load_cert

MAX_FILE_SIZE = 4 * 1024 * 1024  # real ITL/CTL files are tens of kB
_NS = 1_000_000_000

# Header tag 8 (DOMAIN.md §1.7).
HASH_NAMES: dict[int, str] = {1: "SHA-1", 2: "SHA-256", 3: "SHA-512"}
_VERIFY_HASHES: dict[int, type[hashes.HashAlgorithm]] = {1: hashes.SHA1, 3: hashes.SHA512}

SignatureStatus = Literal["valid", "invalid", "unverifiable", "unsupported"]


class TrustListError(ValueError):
    """A trust list (or signed-file header) that does not parse; `.offset` is the byte."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} (at byte offset {offset})")
        self.message = message
        self.offset = offset


@dataclass
class _Header:
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


def _uint(value: bytes) -> int:
    return int.from_bytes(value, "big")


def _check_leaf(el: d.Packet, offset: int, names: dict[int, str]) -> None:
    if len(el.value) != el.length:
        raise TrustListError(
            f"{names.get(el.tag, 'tag')} element (tag {el.tag}) declares {el.length} bytes "
            f"but only {len(el.value)} are present",
            offset,
        )


def _parse_header(elements: list[d.Packet], size: int) -> _Header:
    """Validate and decode header elements (any order, any nesting of known tags)."""
    hdr = _Header()
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
                    f"{d.HEADER_TAGS[tag]} container (tag {tag}) declares {el.length} bytes "
                    f"but holds {inner}",
                    offset,
                )
            continue
        _check_leaf(el, offset, d.HEADER_TAGS)
        if tag not in d.HEADER_TAGS:
            hdr.unknown.append((tag, offset))
            continue
        if tag in seen:
            continue  # first occurrence wins
        seen.add(tag)
        value: bytes = el.value
        if tag == d.TAG_HEADER_LENGTH:
            if len(value) != 2:
                raise TrustListError(f"HEADER_LENGTH has a {len(value)}-byte value", offset)
            hdr.length = _uint(value)
            if hdr.length > size:
                raise TrustListError(
                    f"HEADER_LENGTH {hdr.length} is beyond the end of the {size}-byte file",
                    offset,
                )
        elif tag == d.TAG_VERSION:
            hdr.version = _version(value)
        elif tag == d.TAG_SIGNER_VERSION:
            hdr.signer_version = _version(value)
        elif tag == d.TAG_SIGNER_NAME:
            hdr.signer = _cstr(value)
        elif tag == d.TAG_ISSUER_NAME:
            hdr.issuer = _cstr(value)
        elif tag == d.TAG_SERIAL_NUMBER:
            hdr.serial = value
        elif tag == d.TAG_HASH_ALGORITHM and value:
            hdr.hash_code = _uint(value[:4])
        elif tag == d.TAG_FILENAME:
            hdr.filename = _cstr(value)
        elif tag == d.TAG_TIMESTAMP and len(value) == 4:
            hdr.timestamp = _uint(value) * _NS
        elif tag == d.TAG_SIGNATURE:
            hdr.sig_offset = offset
            hdr.sig_size = d.wire_len(el)
            hdr.signature = value
    if d.TAG_HEADER_LENGTH not in seen:
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
class _RecordParts:
    record: TrustRecord
    serial: bytes
    public_key: bytes
    unknown: list[tuple[int, int]]


def _parse_record(index: int, offset: int, rec: d.Packet, size: int) -> _RecordParts:
    if index > d.MAX_RECORDS:
        raise TrustListError(f"more than {d.MAX_RECORDS} records", offset)
    if isinstance(rec, d.Raw) or not isinstance(rec, d.ItlRecord):
        raise TrustListError(
            f"record {index} truncated or unreadable ({size - offset} bytes left)", offset
        )
    if rec.length_tag != d.REC_LENGTH or rec.length_size != 2:
        raise TrustListError(f"record {index} does not start with RECORD_LENGTH (01 00 02)", offset)
    if rec.record_length < d.RECORD_PREFIX_LEN:
        raise TrustListError(f"record {index} length {rec.record_length} is too small", offset)
    if rec.record_length > size - offset:
        raise TrustListError(
            f"record {index} declares {rec.record_length} bytes but only {size - offset} remain",
            offset,
        )
    dns = subject = issuer = ip = cert_hash = note = ""
    role = -1
    serial = public_key = b""
    cert: CertInfo | None = None
    unknown: list[tuple[int, int]] = []
    seen: set[int] = set()
    for el_off, el in d.walk_record_elements(rec, offset):
        if isinstance(el, d.Raw) or not isinstance(el, d.RecordElement):
            raise TrustListError(f"record {index}: element truncated", el_off)
        _check_leaf(el, el_off, d.RECORD_TAGS)
        tag, value = el.tag, el.value
        if tag not in d.RECORD_TAGS or tag == d.REC_LENGTH:
            unknown.append((tag, el_off))
            continue
        if tag in seen:
            continue
        seen.add(tag)
        if tag == d.REC_DNS_NAME:
            dns = _cstr(value)
        elif tag == d.REC_SUBJECT_NAME:
            subject = _cstr(value)
        elif tag == d.REC_ROLE and 0 < len(value) <= 4:
            role = _uint(value)
        elif tag == d.REC_ISSUER_NAME:
            issuer = _cstr(value)
        elif tag == d.REC_SERIAL_NUMBER:
            serial = value
        elif tag == d.REC_PUBLIC_KEY:
            public_key = value
        elif tag == d.REC_CERTIFICATE:
            try:
                cert = cert_info(value)
            except CertError as exc:
                note = f"certificate at byte {el_off} unreadable: {exc}"
        elif tag == d.REC_IP_ADDRESS:
            ip = _ip_text(value)
        elif tag == d.REC_CERTIFICATE_HASH:
            cert_hash = value.hex()
    record = TrustRecord(
        index=index,
        role=role,
        role_name=d.role_name(role) if role >= 0 else "(none)",
        subject=subject,
        issuer=issuer,
        serial=serial.hex(),
        dns_name=dns,
        ip_address=ip,
        cert=cert,
        cert_hash=cert_hash,
        offset=offset,
        note=note,
    )
    return _RecordParts(record, serial, public_key, unknown)


def _same_serial(a: bytes, b: bytes) -> bool:
    return bool(a) and bool(b) and _uint(a) == _uint(b)


def _signer_key(part: _RecordParts) -> rsa.RSAPublicKey | str:
    """RSA key of a SAST record (its certificate, else its PUBLIC_KEY tag), or a reason."""
    key: object = None
    if part.record.cert is not None:
        try:
            key = load_cert(part.record.cert.der).public_key()
        except Exception:
            key = None
    if key is None and part.public_key:
        try:
            key = serialization.load_der_public_key(part.public_key)
        except Exception:
            key = None
    if key is None:
        return "the SAST record carries no readable key"
    if not isinstance(key, rsa.RSAPublicKey):
        return f"the SAST key is {type(key).__name__}, only RSA signatures are verified"
    return key


def _verify(data: bytes, hdr: _Header, parts: list[_RecordParts]) -> tuple[SignatureStatus, str]:
    """DOMAIN.md §1.8: PKCS#1 v1.5 over the file without the tag-12 element."""
    if hdr.sig_offset is None:
        return "invalid", "the file carries no SIGNATURE element (tag 12)"
    if hdr.hash_code is None:
        return "unsupported", "no hash algorithm element (tag 8)"
    if hdr.hash_code == 2:
        return "unsupported", "SHA-256 (hash code 2) signatures are recognised but not verified"
    algorithm = _VERIFY_HASHES.get(hdr.hash_code)
    if algorithm is None:
        return "unsupported", f"unknown hash algorithm code {hdr.hash_code}"
    signers = [p for p in parts if p.record.role == 0 and _same_serial(p.serial, hdr.serial)]
    if not signers:
        return (
            "unverifiable",
            f"no SAST record whose serial equals the header serial {hdr.serial.hex() or '-'}",
        )
    signed = data[: hdr.sig_offset] + data[hdr.sig_offset + hdr.sig_size :]
    reasons: list[str] = []
    for part in signers:
        key = _signer_key(part)
        if isinstance(key, str):
            reasons.append(f"record {part.record.index}: {key}")
            continue
        try:
            key.verify(hdr.signature, signed, padding.PKCS1v15(), algorithm())
        except InvalidSignature:
            reasons.append(f"does not verify with SAST record {part.record.index}")
            continue
        except Exception as exc:  # malformed signature length etc.
            reasons.append(f"record {part.record.index}: {exc}")
            continue
        name = HASH_NAMES[hdr.hash_code]
        return "valid", f"{name} signature verified with SAST record {part.record.index}"
    if all("no readable key" in r or "only RSA" in r for r in reasons):
        return "unverifiable", "; ".join(reasons)
    return "invalid", "signature " + "; ".join(reasons)


def _kind(filename: str, name: str) -> Literal["ITL", "CTL"]:
    for candidate in (filename, os.path.basename(name)):
        upper = candidate.upper()
        if upper.startswith("CTL"):
            return "CTL"
        if upper.startswith(("ITL", "EXT_ITL")):
            return "ITL"
    return "ITL"


def _hash_name(code: int | None) -> str:
    if code is None:
        return "unknown(none)"
    return HASH_NAMES.get(code, f"unknown({code})")


def _check_size(data: bytes) -> None:
    if len(data) > MAX_FILE_SIZE:
        raise TrustListError(
            f"file of {len(data)} bytes exceeds the {MAX_FILE_SIZE}-byte limit", MAX_FILE_SIZE
        )
    if len(data) < 3:
        raise TrustListError(f"file of {len(data)} bytes is too short for a header", 0)


def _dissect(cls: type[d.Packet], data: bytes) -> d.Packet:
    try:
        return cls(data)
    except Exception as exc:  # scapy guard (e.g. list-size limits)
        raise TrustListError(f"cannot dissect: {exc}", 0) from None


def _digests(data: bytes) -> dict[str, str]:
    return {
        "md5": hashlib.md5(data).hexdigest(),
        "sha1": hashlib.sha1(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def parse_trust_list(data: bytes, name: str = "") -> TrustList:
    """Parse and verify an ITL/CTL `.tlv` file; raises TrustListError with the byte offset."""
    data = bytes(data)
    _check_size(data)
    pkt = _dissect(d.ItlFile, data)
    hdr = _parse_header(pkt.header, len(data))
    parts: list[_RecordParts] = []
    unknown = list(hdr.unknown)
    for index, (offset, rec) in enumerate(d.walk_records(pkt.records, hdr.length), start=1):
        part = _parse_record(index, offset, rec, len(data))
        unknown.extend(part.unknown)
        parts.append(part)
    status, note = _verify(data, hdr, parts)
    return _trust_list(_kind(hdr.filename, name), hdr, data, status, note,
                       tuple(p.record for p in parts), tuple(unknown))


def _trust_list(kind: Literal["ITL", "CTL", "SGN"], hdr: _Header, data: bytes,
                status: SignatureStatus, note: str, records: tuple[TrustRecord, ...],
                unknown: tuple[tuple[int, int], ...]) -> TrustList:
    return TrustList(
        kind=kind,
        filename=hdr.filename,
        version=hdr.version,
        signer_version=hdr.signer_version,
        signer=hdr.signer,
        signer_serial=hdr.serial.hex(),
        issuer=hdr.issuer,
        hash_algorithm=_hash_name(hdr.hash_code),
        signature_status=status,
        signature_note=note,
        timestamp=hdr.timestamp,
        records=records,
        size=len(data),
        unknown_tags=unknown,
        **_digests(data),
    )


def parse_signed_header(data: bytes) -> tuple[TrustList, int]:
    """Header of a signed file (`.sgn`, `.enc.sgn`): (signer info, offset of the body).

    The signature cannot be checked here: the signer's certificate (TFTP / CallManager)
    lives in the ITL, not in the signed file.
    """
    data = bytes(data)
    _check_size(data)
    pkt = _dissect(d.SgnFile, data)
    hdr = _parse_header(pkt.header, len(data))
    if hdr.sig_offset is None:
        status: SignatureStatus = "invalid"
        note = "the file carries no SIGNATURE element (tag 12)"
    else:
        status = "unverifiable"
        note = "signer certificate is not part of a signed file (check it against the ITL)"
    tl = _trust_list("SGN", hdr, data, status, note, (), tuple(hdr.unknown))
    return tl, hdr.length
