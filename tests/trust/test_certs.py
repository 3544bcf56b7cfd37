"""Certificate summaries (cert_info, to_pem)."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from capfcap.trust.certs import CertError, cert_info, serial_hex, to_pem

ROOT = Path(__file__).resolve().parents[2]
CERTS = ROOT / "pcaps" / "realpeer" / "data" / "certs"


def _pem_to_der(text: str) -> bytes:
    body = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S)
    assert body is not None
    return base64.b64decode("".join(body.group(1).split()))


# pcaps/realpeer/MANIFEST.md certificate table
MANIFEST = {
    "capf.crt.pem": (
        "e8099d825c65c83ccb91bb8ecf14452e",
        "ef8e709922886b0496ca559529a9cba49445b3feec13bd0af8de81cb248e90bd",
    ),
    "capf-old.crt.pem": (
        "da93a2db46ebb5bf7229430e46f313ca",
        "adf404dd280c644a44f0db28432680f9d62596307762d9732bea1d08004594b0",
    ),
    "sast-pub.crt.pem": (
        "8c5d63641ca50e22e2ac209ed57e6548",
        "78b894f66abc794c47a25f5449a98fc88cd5f13b9f8e7a52acf17a432fdb53e0",
    ),
}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_realpeer_certs(name: str) -> None:
    der = _pem_to_der((CERTS / name).read_text())
    info = cert_info(der)
    serial, sha256 = MANIFEST[name]
    assert info.serial == serial
    assert info.der_sha256 == sha256 == hashlib.sha256(der).hexdigest()
    assert info.der_sha1 == hashlib.sha1(der).hexdigest()
    assert (info.key_type, info.key_bits) == ("RSA", 2048)
    assert info.der == der
    assert info.not_before < info.not_after
    # RFC 4514 renders the last RDN first (as the MANIFEST table does).
    assert info.subject.startswith("C=NZ,L=Wellington,")
    assert info.subject == info.issuer  # mkcert certificates are self-signed


def test_capf_subject_and_validity_from_cryptography() -> None:
    der = _pem_to_der((CERTS / "capf.crt.pem").read_text())
    cert = x509.load_der_x509_certificate(der)
    info = cert_info(der)
    assert info.subject == "C=NZ,L=Wellington,OU=CAPF,O=Example Health,CN=CAPF-1a2b3c4d"
    assert info.issuer == cert.issuer.rfc4514_string()
    assert info.not_before == int(cert.not_valid_before_utc.timestamp()) * 10**9
    assert info.not_after == int(cert.not_valid_after_utc.timestamp()) * 10**9


def test_ca_flags_present() -> None:
    info = cert_info((ROOT / "pcaps" / "itl" / "capf.crt.der").read_bytes())
    assert info.is_ca is True and info.key_cert_sign is True


def test_ca_flags_absent_and_ec_key() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "no-extensions")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x0102)
        .not_valid_before(datetime(2020, 1, 1, tzinfo=timezone.utc))
        .not_valid_after(datetime(2021, 1, 1, tzinfo=timezone.utc))
        .sign(key, hashes.SHA256())
    )
    info = cert_info(cert.public_bytes(Encoding.DER))
    assert info.is_ca is None and info.key_cert_sign is None
    assert (info.key_type, info.key_bits) == ("EC", 256)
    assert info.serial == "0102"
    assert info.not_before == 1577836800 * 10**9


def test_serial_hex() -> None:
    assert serial_hex(0x1) == "01"
    assert serial_hex(0xABC) == "0abc"
    assert serial_hex(-5) == "-05"


def test_to_pem_round_trip() -> None:
    text = (CERTS / "cm-pub.crt.pem").read_text()
    der = _pem_to_der(text)
    pem = to_pem(der)
    assert all(len(line) <= 64 for line in pem.splitlines())
    assert x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER) == der
    assert pem.split() == text.split()  # same layout as the PEM file


@pytest.mark.parametrize("data", [b"", b"\x30\x03\x02\x01\x01", b"not a cert"])
def test_bad_der(data: bytes) -> None:
    with pytest.raises(CertError):
        cert_info(data)
    assert issubclass(CertError, ValueError)


_CAPF = _pem_to_der((CERTS / "capf.crt.pem").read_text())


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(_CAPF) - 1), st.integers(1, 255), st.integers(0, len(_CAPF)))
def test_fuzz_mutated_cert(pos: int, xor: int, cut: int) -> None:
    buf = bytearray(_CAPF)
    buf[pos] ^= xor
    for data in (bytes(buf), _CAPF[:cut]):
        try:
            info = cert_info(data)
        except CertError:
            continue
        assert info.der == data
