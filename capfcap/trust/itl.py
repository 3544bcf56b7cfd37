"""ITL/CTL trust lists and `.sgn` headers -> `events.TrustList` (DOMAIN.md §1).

Parsing goes through the scapy layers of `capfcap.dissectors.itl`; `itl_elements.py`
checks the structure (every declared length against the bytes present) and decodes the
values; this module assembles the list and verifies the file signature (DOMAIN.md §1.8). Only
`TrustListError` ever leaves `parse_trust_list` / `parse_signed_header`.
"""

from __future__ import annotations

import hashlib
import os
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from capfcap.dissectors import itl as d
from capfcap.events import TrustList, TrustRecord
from capfcap.trust.certs import load_cert
from capfcap.trust.itl_elements import (
    Header,
    RecordParts,
    TrustListError,
    parse_header,
    parse_record,
    uint,
)

MAX_FILE_SIZE = 4 * 1024 * 1024  # real ITL/CTL files are tens of kB

# Header tag 8 (DOMAIN.md §1.7).
HASH_NAMES: dict[int, str] = {1: "SHA-1", 2: "SHA-256", 3: "SHA-512"}
_VERIFY_HASHES: dict[int, type[hashes.HashAlgorithm]] = {1: hashes.SHA1, 3: hashes.SHA512}

SignatureStatus = Literal["valid", "invalid", "unverifiable", "unsupported"]


def _same_serial(a: bytes, b: bytes) -> bool:
    return bool(a) and bool(b) and uint(a) == uint(b)


def _signer_key(part: RecordParts) -> rsa.RSAPublicKey | str:
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


def _verify(data: bytes, hdr: Header, parts: list[RecordParts]) -> tuple[SignatureStatus, str]:
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
    hdr = parse_header(pkt.header, len(data))
    parts: list[RecordParts] = []
    unknown = list(hdr.unknown)
    for index, (offset, rec) in enumerate(d.walk_records(pkt.records, hdr.length), start=1):
        part = parse_record(index, offset, rec, len(data))
        unknown.extend(part.unknown)
        parts.append(part)
    status, note = _verify(data, hdr, parts)
    return _trust_list(_kind(hdr.filename, name), hdr, data, status, note,
                       tuple(p.record for p in parts), tuple(unknown))


def _trust_list(kind: Literal["ITL", "CTL", "SGN"], hdr: Header, data: bytes,
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
    hdr = parse_header(pkt.header, len(data))
    if hdr.sig_offset is None:
        status: SignatureStatus = "invalid"
        note = "the file carries no SIGNATURE element (tag 12)"
    else:
        status = "unverifiable"
        note = "signer certificate is not part of a signed file (check it against the ITL)"
    tl = _trust_list("SGN", hdr, data, status, note, (), tuple(hdr.unknown))
    return tl, hdr.length
