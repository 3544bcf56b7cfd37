"""CAPF framing: scapy layer and decode_capf (DOMAIN.md §3.2, §3.3)."""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import cache

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from capfcap.dissectors.capf import (
    CAPF,
    COMMANDS,
    CapfElement,
    CapfError,
    certificate_der,
    decode_capf,
    split_capf,
)


def el(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + len(value).to_bytes(2, "big") + value


def msg(cmd: int, sid: int, *elements: bytes) -> bytes:
    body = b"".join(elements)
    return bytes([0x55, cmd]) + sid.to_bytes(4, "big") + len(body).to_bytes(2, "big") + body


@cache
def lsc() -> tuple[bytes, bytes]:
    """(DER certificate, DER SPKI) of a throw-away EC key."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SEP001122334455")])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CAPF-00000000")])
    nb = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(0xABC)
        .not_valid_before(nb)
        .not_valid_after(nb + dt.timedelta(days=730))
        .sign(key, hashes.SHA256())
    )
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return cert.public_bytes(serialization.Encoding.DER), spki


def test_jabber4linux_null_string_install_bytes() -> None:
    """The byte values of the DOMAIN §3.3 sequence (observed against a real CUCM)."""
    auth_req = bytes.fromhex("55 01 00000007 0004 07 0001 03".replace(" ", ""))
    auth_resp = msg(2, 7, el(7, b"\x02"), el(13, b"CSF123\x00"), el(1, b"\x01"))
    keygen = bytes.fromhex("5503000000070005 0a 0002 0800".replace(" ", ""))
    end = bytes.fromhex("550f000000070004 01 0001 01".replace(" ", ""))
    out = decode_capf(auth_req + auth_resp + keygen + end, 9, 99, "s2c")
    assert [m.command_name for m in out] == [
        "AUTH_REQUEST",
        "AUTH_RESPONSE",
        "KEY_GENERATE_REQUEST",
        "END_SESSION",
    ]
    assert all(m.session_id == 7 and m.frame == 9 and m.ts == 99 for m in out)
    assert [m.length for m in out] == [12, 26, 13, 12]
    assert out[0].elements == (("VERSION", "3"),)
    assert dict(out[1].elements)["DEVICE_NAME"] == "CSF123"
    assert dict(out[1].elements)["REASON"] == "1 UPDATE_CERTIFICATE"
    assert out[2].elements == (("KEY_SIZE", "2048"),)
    assert out[3].elements == (("REASON", "1 UPDATE_CERTIFICATE"),)


@pytest.mark.parametrize(
    ("tag", "value", "rendered"),
    [
        (1, b"\x09", "9 UNKNOWN_DEVICE"),
        (1, b"\x00", "0 NO_ACTION"),
        (1, b"\x05", "5"),
        (8, b"\x02", "2 null string"),
        (8, b"\x01", "1 authentication string"),
        (3, b"\x02", "2 MIC"),
        (17, b"\x01", "1 EC"),
        (18, b"\x01", "1 secp384r1"),
        (12, b"\x00\x3c", "60"),
        (2, b"busy\x00", "busy"),
        (5, b"\x01\x02", "<2 bytes>"),
    ],
)
def test_element_rendering(tag: int, value: bytes, rendered: str) -> None:
    (m,) = decode_capf(msg(1, 1, el(tag, value)), 1, 0, "s2c")
    assert m.elements[0][1] == rendered


def test_password_masked_unless_show_secrets() -> None:
    data = msg(2, 3, el(11, b"12345\x00"), el(13, b"SEP001122334455\x00"))
    (m,) = decode_capf(data, 1, 0, "c2s")
    assert dict(m.elements)["PASSWORD"] == "****"
    assert "12345" not in repr(m)
    (m,) = decode_capf(data, 1, 0, "c2s", show_secrets=True)
    assert dict(m.elements)["PASSWORD"] == "12345"


def test_store_certificate_request_renders_lsc() -> None:
    der, _ = lsc()
    nested = b"\x01" + (len(der) + 2).to_bytes(2, "big") + b"\x00\x01" + der
    assert certificate_der(nested) == (1, der)
    (m,) = decode_capf(msg(9, 5, el(3, b"\x01"), el(4, nested)), 1, 0, "s2c")
    assert m.command_name == "STORE_CERTIFICATE_REQUEST"
    text = dict(m.elements)["CERTIFICATE"]
    assert text.startswith("LSC ")
    assert "subject=CN=SEP001122334455" in text
    assert "issuer=CN=CAPF-00000000" in text
    assert "not_before=2030-01-02T03:04:05Z" in text and "not_after=2032-01-02" in text
    assert hashlib.sha256(der).hexdigest() in text
    # a CERTIFICATE element that is no certificate is rendered, not raised
    (m,) = decode_capf(msg(9, 5, el(4, b"\x01\x00\x03\x00\x01\x30")), 1, 0, "s2c")
    assert "not a certificate" in dict(m.elements)["CERTIFICATE"]


def test_public_key_rendering() -> None:
    _, spki = lsc()
    (m,) = decode_capf(msg(4, 1, el(9, spki)), 1, 0, "c2s")
    assert dict(m.elements)["PUBLIC_KEY"] == f"EC secp256r1 ({len(spki)} B SPKI)"
    (m,) = decode_capf(msg(4, 1, el(9, b"\x30\x00")), 1, 0, "c2s")
    assert "not a SubjectPublicKeyInfo" in dict(m.elements)["PUBLIC_KEY"]


def test_scapy_layer_roundtrip() -> None:
    der, _ = lsc()
    pkt = CAPF(
        cmd=9,
        session_id=0x01020304,
        elements=[CapfElement(tag=3, value=b"\x01"), CapfElement(tag=4, value=der)],
    )
    raw = bytes(pkt)
    assert raw[:2] == b"\x55\x09" and raw[2:6] == b"\x01\x02\x03\x04"
    assert int.from_bytes(raw[6:8], "big") == len(raw) - 8
    (r,), used = split_capf(raw)
    assert used == len(raw) and r.elements == ((3, b"\x01"), (4, der))
    back = CAPF(raw)
    assert back.cmd == 9 and back.length == len(raw) - 8
    assert [(e.tag, e.value) for e in back.elements] == [(3, b"\x01"), (4, der)]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x16\x03\x03\x00\x10",
        b"\x55\x01\x00",  # truncated header
        msg(1, 1, el(7, b"\x03"))[:-1],  # truncated payload
        bytes.fromhex("5501000000010002") + b"\x07\x00",  # truncated element header
        bytes.fromhex("5501000000010004") + b"\x07\x00\x05\x03",  # element overruns message
        msg(1, 1) + b"\x00",  # trailing garbage
    ],
)
def test_garbage_raises_capf_error(data: bytes) -> None:
    with pytest.raises(CapfError):
        decode_capf(data, 1, 0, "s2c")


def test_split_partial_for_streaming() -> None:
    a, b = msg(1, 1, el(7, b"\x03")), msg(15, 1, el(1, b"\x01"))
    raws, used = split_capf(a + b[:5], partial_ok=True)
    assert len(raws) == 1 and used == len(a)
    raws, used = split_capf(a + b, partial_ok=True)
    assert [r.command for r in raws] == [1, 15] and used == len(a + b)


def test_unknown_command_and_tag() -> None:
    (m,) = decode_capf(msg(99, 1, el(200, b"xy")), 1, 0, "s2c")
    assert m.command_name == "COMMAND_99"
    assert m.elements == (("TAG_200", "<2 bytes>"),)
    assert set(COMMANDS) == set(range(1, 24))


element = st.tuples(st.integers(0, 255), st.binary(max_size=40))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 255), st.integers(0, 2**32 - 1), st.lists(element))))
def test_fuzz_valid_messages_roundtrip(
    msgs: list[tuple[int, int, list[tuple[int, bytes]]]],
) -> None:
    data = b"".join(msg(c, s, *(el(t, v) for t, v in els)) for c, s, els in msgs)
    if not data:
        return
    raws, used = split_capf(data)
    assert used == len(data)
    assert [(r.command, r.session_id, list(r.elements)) for r in raws] == msgs
    out = decode_capf(data, 1, 0, "c2s")
    assert [m.session_id for m in out] == [s for _, s, _ in msgs]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_garbage(data: bytes) -> None:
    try:
        out = decode_capf(data, 1, 0, "s2c")
    except CapfError:
        return
    assert sum(m.length for m in out) == len(data)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 300), st.integers(0, 255)), max_size=6))
def test_fuzz_mutated_store_request(flips: list[tuple[int, int]]) -> None:
    der, _ = lsc()
    nested = b"\x01" + (len(der) + 2).to_bytes(2, "big") + b"\x00\x01" + der
    data = bytearray(msg(9, 5, el(3, b"\x01"), el(4, nested), el(11, b"pw\x00")))
    for pos, val in flips:
        data[pos % len(data)] = val
    try:
        out = decode_capf(bytes(data), 1, 0, "s2c")
    except CapfError:
        return
    assert all("pw" not in v for m in out for _, v in m.elements)


def test_stream_message_split_over_records() -> None:
    from capfcap.dissectors.capf import CapfStream

    a = msg(1, 2, el(7, b"\x03"), el(8, b"\x02"))
    b = msg(15, 2, el(1, b"\x00"))
    s = CapfStream("s2c")
    assert s.feed(1, 10, a[:5]) == []
    (m1,) = s.feed(2, 20, a[5:] + b[:3])
    assert (m1.frame, m1.command_name, dict(m1.elements)["AUTH_TYPE"]) == (
        2,
        "AUTH_REQUEST",
        "2 null string",
    )
    (m2,) = s.feed(3, 30, b[3:])
    assert (m2.frame, m2.ts, m2.elements) == (3, 30, (("REASON", "0 NO_ACTION"),))
    assert s.buffered == 0
    with pytest.raises(CapfError):
        s.feed(4, 40, b"\x17garbage")
    assert s.dead and s.feed(5, 50, a) == []
