"""X.509 certificates reduced to `events.CertInfo` (with `cryptography`)."""

from __future__ import annotations

import base64
import hashlib
import warnings
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519

from capfcap.events import CertInfo

_NS = 1_000_000_000


class CertError(ValueError):
    """The bytes are not a DER X.509 certificate that can be read."""


def serial_hex(serial: int) -> str:
    """Serial number as lower-case hex with an even number of digits (no separators)."""
    sign = "-" if serial < 0 else ""
    digits = f"{abs(serial):x}"
    if len(digits) % 2:
        digits = "0" + digits
    return sign + digits


def _epoch_ns(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(value.timestamp()) * _NS


def _key_info(cert: x509.Certificate) -> tuple[str, int]:
    try:
        key = cert.public_key()
    except Exception:  # unsupported or malformed SubjectPublicKeyInfo
        return "unknown", 0
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, x25519.X25519PublicKey):
        return "X25519", 256
    if isinstance(key, x448.X448PublicKey):
        return "X448", 448
    return type(key).__name__, 0


def _name(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except Exception:  # attribute values that cannot be rendered
        return "<unrenderable name>"


def _is_ca(cert: x509.Certificate) -> bool | None:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return None
    except Exception:  # duplicate or malformed extensions
        return None


def _key_cert_sign(cert: x509.Certificate) -> bool | None:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign)
    except x509.ExtensionNotFound:
        return None
    except Exception:
        return None


def load_cert(der: bytes) -> x509.Certificate:
    """Parse DER bytes; raises CertError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. negative-serial deprecation warnings
            return x509.load_der_x509_certificate(bytes(der))
    except Exception as exc:
        raise CertError(f"not a DER X.509 certificate: {exc}") from None


def cert_info(der: bytes) -> CertInfo:
    """Summarise a DER certificate; raises CertError when the bytes do not parse."""
    cert = load_cert(der)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            serial = cert.serial_number
            not_before = _epoch_ns(cert.not_valid_before_utc)
            not_after = _epoch_ns(cert.not_valid_after_utc)
            subject = _name(cert.subject)
            issuer = _name(cert.issuer)
    except Exception as exc:  # lazily-decoded fields that turn out malformed
        raise CertError(f"certificate fields unreadable: {exc}") from None
    key_type, key_bits = _key_info(cert)
    raw = bytes(der)
    return CertInfo(
        der_sha256=hashlib.sha256(raw).hexdigest(),
        der_sha1=hashlib.sha1(raw).hexdigest(),
        subject=subject,
        issuer=issuer,
        serial=serial_hex(serial),
        not_before=not_before,
        not_after=not_after,
        key_type=key_type,
        key_bits=key_bits,
        is_ca=_is_ca(cert),
        key_cert_sign=_key_cert_sign(cert),
        der=raw,
    )


def to_pem(der: bytes) -> str:
    """PEM text of DER certificate bytes (RFC 7468 layout, 64-column base64)."""
    b64 = base64.b64encode(bytes(der)).decode("ascii")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def signed_by(child_der: bytes, issuer_der: bytes) -> bool | None:
    """Whether `issuer_der`'s key verifies `child_der`'s signature (RFC 5280 §6.1.3 (a)(1)):
    True, False, or None when either does not parse or the algorithm is unsupported."""
    try:
        child, issuer = load_cert(child_der), load_cert(issuer_der)
    except CertError:
        return None
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError):
        return None if child.issuer != issuer.subject else False
    except Exception:  # InvalidSignature
        return False
    return True
