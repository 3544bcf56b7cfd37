"""Trust-list parsing and signature verification on real and synthetic ITLs."""

from __future__ import annotations

import contextlib
import hashlib
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capfcap.dissectors import itl as d
from capfcap.dissectors import itltags as tg
from capfcap.trust.itl import TrustListError, parse_signed_header, parse_trust_list

ROOT = Path(__file__).resolve().parents[2]
REAL_ITL = ROOT / "pcaps" / "real-itl" / "ITLFile.tlv"
PEER = ROOT / "pcaps" / "realpeer" / "data"
SYN = ROOT / "pcaps" / "itl"
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_real_itl() -> None:
    data = REAL_ITL.read_bytes()
    tl = parse_trust_list(data, "ITLFile.tlv")
    assert [r.role_name for r in tl.records] == ["SAST", "CCM", "CCM", "APP-SERVER", "APP-SERVER"]
    assert [r.role for r in tl.records] == [0, 1, 1, 7, 7]
    assert [r.offset for r in tl.records] == [388, 1872, 3547, 5239, 7824]
    assert tl.signature_status == "valid"
    assert tl.hash_algorithm == "SHA-1"
    assert tl.md5 == "dbf86422cbab7859f3b850c2375814f7"
    assert tl.sha1 == "01e2cb144975e4b33c9af6ad75712c07a3b19cc7"
    assert tl.sha256 == hashlib.sha256(data).hexdigest()
    assert tl.size == 10370
    assert (tl.kind, tl.filename, tl.version, tl.signer_version) == (
        "ITL",
        "ITLFile.tlv",
        "1.2",
        "1.0",
    )
    assert tl.signer == "CN=SAST,O=SAST,OU=SAST"
    assert tl.signer_serial == "6ba5de3a260b069337c75b38be3c2d74"
    assert (
        tl.timestamp
        == int(datetime(2025, 12, 30, 17, 25, 42, tzinfo=timezone.utc).timestamp()) * 10**9
    )
    assert tl.capf_records() == ()
    assert tl.unknown_tags == ()
    sast = tl.records[0]
    assert sast.serial == tl.signer_serial
    assert sast.cert is not None
    assert sast.cert.der_sha1 == "277b3621552a593456a63d595645f4f090a35d9c"  # PROVENANCE.md
    assert tl.records[3].cert is not None and tl.records[3].cert.key_bits == 4096
    assert "ISRG Root X1" in tl.records[3].subject


# pcaps/realpeer/MANIFEST.md "ITL files" table
PEER_ITLS = [
    (
        "ITL_capf_mismatch.tlv",
        "SHA-1",
        "SAST+TFTP+TVS+TVS+CAPF",
        "adf404dd280c644a",
        "311ccf3f27d9c692",
    ),
    ("ITL_good.tlv", "SHA-1", "SAST+TFTP+TVS+TVS+CAPF", "ef8e709922886b04", "13c44f80ca0cd5dc"),
    ("ITL_nocapf.tlv", "SHA-1", "SAST+TFTP+TVS+TVS", None, "06bcc1d4c34a4167"),
    ("ITL_sub.tlv", "SHA-512", "SAST+TFTP+TVS+TVS+CAPF", "adf404dd280c644a", "b8b7cd0f11929e8d"),
]


@pytest.mark.parametrize(("name", "alg", "roles", "capf", "sha"), PEER_ITLS)
def test_realpeer_itls(name: str, alg: str, roles: str, capf: str | None, sha: str) -> None:
    tl = parse_trust_list((PEER / "itl" / name).read_bytes(), name)
    assert tl.sha256.startswith(sha)
    assert tl.hash_algorithm == alg
    assert tl.signature_status == "valid"
    assert "+".join(r.role_name for r in tl.records) == roles
    capfs = tl.capf_records()
    if capf is None:
        assert capfs == ()
    else:
        assert len(capfs) == 1 and capfs[0].cert is not None
        assert capfs[0].cert.der_sha256.startswith(capf)
    assert "OU=ITLRecovery" in tl.signer


def test_realpeer_capf_record_matches_pem() -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    pem = (PEER / "certs" / "capf.crt.pem").read_bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
    tl = parse_trust_list((PEER / "itl" / "ITL_good.tlv").read_bytes())
    capf = tl.capf_records()[0]
    assert capf.cert is not None and capf.cert.der == der


def test_cucm_style_synthetic() -> None:
    tl = parse_trust_list((SYN / "itl_cucm_sha1.tlv").read_bytes())
    assert tl.signature_status == "valid"
    assert [r.role_name for r in tl.records] == ["SAST", "CCM+TFTP", "TVS", "CAPF"]
    for rec in tl.records:
        assert rec.dns_name == "cm-a.voice.example"
        assert rec.ip_address == "198.51.100.21"
        assert ";OU=" in rec.subject
    capf = tl.capf_records()[0]
    assert capf.cert is not None
    assert capf.cert.der == (SYN / "capf.crt.der").read_bytes()
    assert capf.cert.is_ca is True and capf.cert.key_cert_sign is True


def test_sha512_synthetic() -> None:
    tl = parse_trust_list((SYN / "itl_sha512.tlv").read_bytes())
    assert (tl.hash_algorithm, tl.signature_status, tl.signer_version) == (
        "SHA-512",
        "valid",
        "1.1",
    )


def test_sha256_is_recognised_but_unsupported() -> None:
    tl = parse_trust_list((SYN / "itl_sha256.tlv").read_bytes())
    assert tl.hash_algorithm == "SHA-256"
    assert tl.signature_status == "unsupported"
    assert "SHA-256" in tl.signature_note


def test_bad_signature_synthetic() -> None:
    tl = parse_trust_list((SYN / "itl_bad_signature.tlv").read_bytes())
    assert tl.signature_status == "invalid"
    assert len(tl.records) == 4
    assert tl.records[3].dns_name == "xm-a.voice.example"


def test_unknown_tags_are_reported_not_fatal() -> None:
    data = (SYN / "itl_unknown_tag.tlv").read_bytes()
    tl = parse_trust_list(data)
    assert tl.signature_status == "valid"
    assert [t for t, _ in tl.unknown_tags] == [0x30, 0x40]
    for tag, offset in tl.unknown_tags:
        assert data[offset] == tag
    assert [r.role_name for r in tl.records] == ["SAST", "TFTP", "CAPF"]


def test_truncated_synthetic_names_offset() -> None:
    data = (SYN / "itl_truncated.tlv").read_bytes()
    with pytest.raises(TrustListError) as err:
        parse_trust_list(data)
    full = parse_trust_list((SYN / "itl_cucm_sha1.tlv").read_bytes())
    assert err.value.offset == full.records[3].offset
    assert str(err.value.offset) in str(err.value)


def test_signer_serial_mismatch_is_unverifiable() -> None:
    data = bytearray(REAL_ITL.read_bytes())
    pkt = d.ItlFile(bytes(data))
    serial_off = next(
        off for off, _, el in d.walk_header(pkt.header) if el.tag == tg.TAG_SERIAL_NUMBER
    )
    data[serial_off + 3] ^= 0xFF
    tl = parse_trust_list(bytes(data))
    assert tl.signature_status == "unverifiable"


def test_flipped_signature_byte_is_invalid() -> None:
    data = bytearray(REAL_ITL.read_bytes())
    data[200] ^= 0x01  # inside the 256-byte tag-12 value (offset 107 + 3 ..)
    tl = parse_trust_list(bytes(data))
    assert tl.signature_status == "invalid"


def test_header_length_beyond_file() -> None:
    data = REAL_ITL.read_bytes()[:300]
    with pytest.raises(TrustListError) as err:
        parse_trust_list(data)
    assert err.value.offset == 5  # the HEADER_LENGTH element
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("data", [b"", b"\x01", b"\x01\x00", b"garbage" * 3, b"\x00" * 64])
def test_garbage_raises(data: bytes) -> None:
    with pytest.raises(TrustListError):
        parse_trust_list(data)


def test_kind_from_name_when_no_filename_tag() -> None:
    raw = bytes(
        d.ItlFile(
            header=[
                d.HeaderElement(tag=1, value=b"\x01\x02"),
                d.HeaderElement(tag=2, value=b"\x00\x0a"),
            ]
        )
    )
    assert parse_trust_list(raw, "CTLSEP00005E005301.tlv").kind == "CTL"
    assert parse_trust_list(raw, "ext_ITLSEP00005E005301.tlv").kind == "ITL"
    unsigned = parse_trust_list(raw)
    assert unsigned.signature_status == "invalid" and unsigned.records == ()


def test_signed_header_of_sgn_config() -> None:
    data = (SYN / "SEP00005E005301.cnf.xml.sgn").read_bytes()
    tl, body = parse_signed_header(data)
    assert tl.kind == "SGN"
    assert tl.signer.startswith("CN=cm-a.voice.example;OU=CallManager")
    assert tl.filename == "SEP00005E005301.cnf.xml.sgn"
    assert data[body:].startswith(b"<?xml")
    assert body % 4 == 0 and tl.signature_status == "unverifiable"
    with pytest.raises(TrustListError):
        parse_signed_header(data[:40])


def _mutate(data: bytes, kind: int, pos: int, arg: int, blob: bytes) -> bytes:
    pos %= len(data)
    if kind == 0:  # bit flip
        buf = bytearray(data)
        buf[pos] ^= 1 << (arg % 8)
        return bytes(buf)
    if kind == 1:  # truncation
        return data[:pos]
    return data[:pos] + (blob or b"\x00") + data[pos:]  # insertion


_REAL = REAL_ITL.read_bytes()
_GOOD = (PEER / "itl" / "ITL_good.tlv").read_bytes()


@FUZZ
@given(
    st.sampled_from([_REAL, _GOOD]),
    st.lists(
        st.tuples(
            st.integers(0, 2), st.integers(0, 1 << 20), st.integers(0, 7), st.binary(max_size=8)
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_fuzz_mutated_real_itls(original: bytes, ops: list[tuple[int, int, int, bytes]]) -> None:
    data = original
    for kind, pos, arg, blob in ops:
        if data:
            data = _mutate(data, kind, pos, arg, blob)
    try:
        tl = parse_trust_list(data, "ITLFile.tlv")
    except TrustListError as exc:
        assert 0 <= exc.offset <= max(len(data), 1)
        return
    # A changed signed file must never verify.
    if data != original:
        assert tl.signature_status != "valid"
    assert tl.size == len(data)


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_random_bytes(data: bytes) -> None:
    for parse in (parse_trust_list, lambda b: parse_signed_header(b)[0]):
        with contextlib.suppress(TrustListError):
            parse(data)


def test_hostile_sizes_fail_fast() -> None:
    with pytest.raises(TrustListError) as err:
        parse_trust_list(b"\x0d" * 70000)
    assert err.value.offset == d.MAX_HEADER_ITEMS
    with pytest.raises(TrustListError):
        parse_trust_list(bytes(5 * 1024 * 1024))  # over the size limit
