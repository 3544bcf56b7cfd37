#!/usr/bin/env python3
"""Deterministic synthetic ITL / signed-config generator for capfcap tests.

Writes into pcaps/itl/ (see pcaps/itl/README.md). Keys are TEST-ONLY RSA keys kept in
tools/keys/*.pem (generated once with --make-keys and committed); certificates, files
and signatures (RSA PKCS#1 v1.5 is deterministic) are rebuilt byte-identically from them.
Files are built with the capfcap scapy layers (capfcap.dissectors.itl).

    python tools/gen_itl.py [--make-keys] [--out pcaps/itl]
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from capfcap.dissectors import itl as d  # noqa: E402
from capfcap.dissectors import itltags as tg  # noqa: E402

KEY_DIR = Path(__file__).resolve().parent / "keys"
KEY_NAMES = ("sast", "sast2", "ccm", "capf", "tvs")
NOT_BEFORE = datetime(2024, 1, 1, tzinfo=timezone.utc)
NOT_AFTER = datetime(2034, 1, 1, tzinfo=timezone.utc)
FILE_TIME = int(datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc).timestamp())
HASHES: dict[int, type[hashes.SHA1 | hashes.SHA256 | hashes.SHA512]] = {
    1: hashes.SHA1,
    2: hashes.SHA256,
    3: hashes.SHA512,
}


def make_keys() -> None:
    KEY_DIR.mkdir(parents=True, exist_ok=True)
    for name in KEY_NAMES:
        path = KEY_DIR / f"{name}.key.pem"
        if path.exists():
            continue
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.write_bytes(pem)
        print(f"wrote {path}")


def load_key(name: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key((KEY_DIR / f"{name}.key.pem").read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@dataclass(frozen=True)
class Ident:
    """A certificate owner: key, DER certificate and its names in both spellings."""

    key: rsa.RSAPrivateKey
    der: bytes
    serial: int
    rfc4514: str
    cucm: str  # CUCM `show itl` style: CN=..;OU=..;O=..;L=..;ST=..;C=..


def make_ident(keyname: str, cn: str, ou: str, serial: int, ca: bool = False,
               not_after: datetime | None = None) -> Ident:
    key = load_key(keyname)
    attrs = [
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Org"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Testville"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "TS"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "NZ"),
    ]
    name = x509.Name(attrs)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(not_after or NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
    )
    cert = builder.sign(key, hashes.SHA256())
    der = cert.public_bytes(serialization.Encoding.DER)
    cucm = f"CN={cn};OU={ou};O=Example Org;L=Testville;ST=TS;C=NZ"
    return Ident(key, der, serial, name.rfc4514_string(), cucm)


def serial_bytes(serial: int) -> bytes:
    return serial.to_bytes((serial.bit_length() + 8) // 8, "big")


def pkcs1_public(ident: Ident) -> bytes:
    return ident.key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1
    )


def el(tag: int, value: bytes) -> d.Packet:
    return d.RecordElement(tag=tag, value=value)


def cucm_record(ident: Ident, role: int, dns: str, ip: str) -> d.Packet:
    """CUCM order 1,2,3,4,5,6,7,9,10; no tag 8 (DOMAIN.md §1.5 variation 1)."""
    return d.ItlRecord(
        elements=[
            el(tg.REC_DNS_NAME, d.cstring(dns)),
            el(tg.REC_SUBJECT_NAME, d.cstring(ident.cucm)),
            el(tg.REC_ROLE, role.to_bytes(2, "big")),
            el(tg.REC_ISSUER_NAME, d.cstring(ident.cucm)),
            el(tg.REC_SERIAL_NUMBER, serial_bytes(ident.serial)),
            el(tg.REC_PUBLIC_KEY, pkcs1_public(ident)),
            el(tg.REC_CERTIFICATE, ident.der),
            el(tg.REC_IP_ADDRESS, ipaddress.ip_address(ip).packed),
        ]
    )


def tlvfile_record(ident: Ident, role: int) -> d.Packet:
    """tlvfile order 1,3,5,6,4,7,8,9 with the certificate's own signature in tag 8."""
    cert = x509.load_der_x509_certificate(ident.der)
    return d.ItlRecord(
        elements=[
            el(tg.REC_SUBJECT_NAME, d.cstring(ident.rfc4514)),
            el(tg.REC_ISSUER_NAME, d.cstring(ident.rfc4514)),
            el(tg.REC_SERIAL_NUMBER, serial_bytes(ident.serial)),
            el(tg.REC_ROLE, role.to_bytes(2, "big")),
            el(tg.REC_PUBLIC_KEY, pkcs1_public(ident)),
            el(tg.REC_SIGNATURE, cert.signature),
            el(tg.REC_CERTIFICATE, ident.der),
        ]
    )


def h(tag: int, value: bytes) -> d.Packet:
    return d.HeaderElement(tag=tag, value=value)


def build_signed(
    signer: Ident,
    names: str,
    hash_code: int,
    body_records: list[d.Packet] | None = None,
    body: bytes | None = None,
    filename: str = "ITLFile.tlv",
    signer_version: bytes | None = None,
    extra_header: list[d.Packet] | None = None,
    pad: bool = True,
) -> bytes:
    """Header 1,2,[28],3{4,6,5},7{8,9{10,11}},12,14,15,[extra],[13...] + records or body.

    HEADER_LENGTH includes the signature element and padding (DOMAIN.md §1.3); the
    signature covers the file with the whole tag-12 element removed (§1.8).
    """
    name = signer.cucm if names == "cucm" else signer.rfc4514
    sig_len = signer.key.key_size // 8
    modulus_index = {512: 0, 1024: 1, 2048: 2, 4096: 3}[signer.key.key_size]

    def header(length: int, signature: bytes) -> list[d.Packet]:
        elements = [
            h(tg.TAG_VERSION, b"\x01\x02"),
            h(tg.TAG_HEADER_LENGTH, length.to_bytes(2, "big")),
        ]
        if signer_version is not None:
            elements.append(h(tg.TAG_SIGNER_VERSION, signer_version))
        elements += [
            d.HeaderContainer(
                tag=tg.TAG_SIGNER_INFO,
                children=[
                    h(tg.TAG_SIGNER_NAME, d.cstring(name)),
                    h(tg.TAG_ISSUER_NAME, d.cstring(name)),
                    h(tg.TAG_SERIAL_NUMBER, serial_bytes(signer.serial)),
                ],
            ),
            d.HeaderContainer(
                tag=tg.TAG_SIGNATURE_INFO,
                children=[
                    h(tg.TAG_HASH_ALGORITHM, bytes([hash_code])),
                    d.HeaderContainer(
                        tag=tg.TAG_SIGNATURE_ALGORITHM_INFO,
                        children=[
                            h(tg.TAG_SIGNATURE_ALGORITHM, b"\x00"),
                            h(tg.TAG_SIGNATURE_MODULUS, bytes([modulus_index])),
                        ],
                    ),
                ],
            ),
            h(tg.TAG_SIGNATURE, signature),
            h(tg.TAG_FILENAME, d.cstring(filename)),
            h(tg.TAG_TIMESTAMP, FILE_TIME.to_bytes(4, "big")),
        ]
        elements += list(extra_header or [])
        return elements

    draft = header(0, b"\x00" * sig_len)
    size = sum(len(bytes(x)) for x in draft)
    padding_count = (-size) % 4 if pad else 0
    draft += [d.HeaderPadding() for _ in range(padding_count)]
    length = size + padding_count

    def assemble(signature: bytes) -> bytes:
        hdr = header(length, signature) + [d.HeaderPadding() for _ in range(padding_count)]
        if body is not None:
            return bytes(d.SgnFile(header=hdr, body=body))
        return bytes(d.ItlFile(header=hdr, records=list(body_records or [])))

    unsigned = assemble(b"\x00" * sig_len)
    sig_off = _signature_offset(unsigned)
    signed_part = unsigned[:sig_off] + unsigned[sig_off + 3 + sig_len :]
    signature = signer.key.sign(signed_part, padding.PKCS1v15(), HASHES[hash_code]())
    out = assemble(signature)
    assert len(out) == len(unsigned)
    return out


def _signature_offset(data: bytes) -> int:
    pkt = d.SgnFile(data)
    for offset, _depth, item in d.walk_header(pkt.header):
        if isinstance(item, d.HeaderElement) and item.tag == tg.TAG_SIGNATURE:
            return offset
    raise AssertionError("no signature element")


CONFIG_XML = """<?xml version="1.0" encoding="UTF-8"?>
<device xsi:type="axl:XIPPhone" ctiid="7">
  <devicePool>
    <callManagerGroup>
      <members>
        <member priority="0">
          <callManager>
            <name>cm-a.voice.example</name>
            <processNodeName>cm-a.voice.example</processNodeName>
          </callManager>
        </member>
        <member priority="1">
          <callManager>
            <name>198.51.100.22</name>
            <processNodeName>198.51.100.22</processNodeName>
          </callManager>
        </member>
      </members>
    </callManagerGroup>
  </devicePool>
  <TVS><members><member priority="0">
    <port>2445</port><address>cm-a.voice.example</address>
  </member></members></TVS>
  <loadInformation>sip88xx.14-1-1-0001-1</loadInformation>
  <deviceSecurityMode>2</deviceSecurityMode>
  <capfAuthMode>1</capfAuthMode>
  <capfList><capf><phonePort>3804</phonePort><processNodeName>cm-a.voice.example</processNodeName></capf></capfList>
</device>
"""


def generate(out: Path) -> dict[str, bytes]:
    sast = make_ident("sast", "ITLRECOVERY_cm-a.voice.example", "ITLRecovery", 0x1A2B3C4D5E6F7081)
    sast2 = make_ident("sast2", "ITLRECOVERY_cm-b.voice.example", "ITLRecovery", 0x2B3C4D5E6F708192)
    ccm = make_ident("ccm", "cm-a.voice.example", "CallManager", 0x3C4D5E6F708192A3)
    capf = make_ident("capf", "CAPF-0badc0de", "CAPF", 0x4D5E6F708192A3B4, ca=True)
    tvs = make_ident("tvs", "cm-a.voice.example", "TVS", 0x5E6F708192A3B4C5)

    cucm_records = [
        cucm_record(sast, 0, "cm-a.voice.example", "198.51.100.21"),
        cucm_record(ccm, 2, "cm-a.voice.example", "198.51.100.21"),
        cucm_record(tvs, 21, "cm-a.voice.example", "198.51.100.21"),
        cucm_record(capf, 4, "cm-a.voice.example", "198.51.100.21"),
    ]
    files: dict[str, bytes] = {}
    files["itl_cucm_sha1.tlv"] = build_signed(sast, "cucm", 1, cucm_records)

    tlv_records = [tlvfile_record(sast2, 0), tlvfile_record(ccm, 3), tlvfile_record(capf, 4)]
    files["itl_sha512.tlv"] = build_signed(
        sast2, "rfc", 3, tlv_records, signer_version=b"\x01\x01", pad=False
    )
    files["itl_sha256.tlv"] = build_signed(sast2, "rfc", 2, tlv_records, pad=False)

    # Signed, then one byte of the CAPF record's DNS name changed: signature invalid.
    good = bytearray(files["itl_cucm_sha1.tlv"])
    pos = bytes(good).rindex(b"cm-a.voice.example")
    good[pos] = ord("x")
    files["itl_bad_signature.tlv"] = bytes(good)

    # Unknown header tag 0x30 and unknown record tag 0x40, both covered by the signature.
    odd_records = [tlvfile_record(sast2, 0), tlvfile_record(ccm, 3)]
    odd_records.append(
        d.ItlRecord(elements=[*tlvfile_record(capf, 4).elements, el(0x40, b"future")])
    )
    files["itl_unknown_tag.tlv"] = build_signed(
        sast2, "rfc", 1, odd_records, extra_header=[h(0x30, b"\x00\x01\x02")]
    )

    full = files["itl_cucm_sha1.tlv"]
    files["itl_truncated.tlv"] = full[: len(full) - 700]

    files["SEP00005E005301.cnf.xml.sgn"] = build_signed(
        ccm, "cucm", 1, body=CONFIG_XML.encode(), filename="SEP00005E005301.cnf.xml.sgn"
    )
    out.mkdir(parents=True, exist_ok=True)
    for fname, data in files.items():
        (out / fname).write_bytes(data)
    (out / "capf.crt.der").write_bytes(capf.der)
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--make-keys", action="store_true", help="create missing test keys")
    ap.add_argument("--out", type=Path, default=ROOT / "pcaps" / "itl")
    args = ap.parse_args(argv)
    if args.make_keys:
        make_keys()
    for name, data in generate(args.out).items():
        print(f"{name}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
