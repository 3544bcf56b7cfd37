"""TlsDirectionParser on the real CAPF captures and on synthetic edge cases."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import subprocess
import typing
from functools import cache
from itertools import pairwise

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from capfcap.extractors.tlsitems import (
    HEADER_LEN,
    HRR_RANDOM,
    MAX_HANDSHAKE,
    MAX_RECORD,
    Alert,
    Anomaly,
    AppData,
    Certificate,
    ChangeCipherSpec,
    ClientHello,
    EncryptedHandshake,
    HandshakeMessage,
    NotTls,
    ServerHello,
    TlsItem,
    alert_name,
    cipher_name,
    version_name,
)
from capfcap.extractors.tlsparse import TlsDirectionParser
from tests.tlshelpers import REALPEER, Conn, ground_truth, parse_conn, tcp_streams, truth_alerts

ITEM_TYPES = typing.get_args(TlsItem)  # every item the parser may return
BUFFER_BOUND = HEADER_LEN + MAX_RECORD + 4 + MAX_HANDSHAKE


@cache
def conns(name: str, port: int = 3804) -> list[Conn]:
    return tcp_streams(REALPEER / name, port)


def of(items: list[TlsItem], cls: type) -> list:
    return [i for i in items if isinstance(i, cls)]


def msgs(items: list[TlsItem], msg_type: int) -> list[HandshakeMessage]:
    """The handshake messages of one type whose body is not read (RFC 5246 §7.4)."""
    return [i for i in items if isinstance(i, HandshakeMessage) and i.msg_type == msg_type]


# --------------------------------------------------------------------------- real captures


def test_s01_tls12_handshake_and_certificate() -> None:
    (conn,) = conns("S01_happy.pcap")
    ci, si = parse_conn(conn)
    (ch,) = of(ci, ClientHello)
    assert ch.legacy_version == 0x0303
    assert ch.versions == (0x0304, 0x0303)
    assert len(ch.random) == 32 and len(ch.ciphers) > 1
    (sh,) = of(si, ServerHello)
    assert sh.version == 0x0303 and not sh.tls13 and not sh.hello_retry
    assert sh.cipher in ch.ciphers
    assert cipher_name(sh.cipher).startswith("TLS_")
    (cert,) = of(si, Certificate)
    leaf = x509.load_der_x509_certificate(cert.certs[0])
    cn = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "CAPF-1a2b3c4d"
    assert hashlib.sha256(cert.certs[0]).hexdigest().startswith("ef8e709922886b04")
    (done,) = msgs(si, 14)  # ServerHelloDone
    assert cert.frame == done.frame == sh.frame
    assert msgs(ci, 16)  # ClientKeyExchange
    # both directions switch to encryption: Finished is an encrypted handshake record
    assert len(of(ci, ChangeCipherSpec)) == len(of(si, ChangeCipherSpec)) == 1
    assert len(of(ci, EncryptedHandshake)) == len(of(si, EncryptedHandshake)) == 1
    assert not msgs(ci + si, 13)  # CertificateRequest
    assert not of(ci + si, Alert)


def test_s01_app_records_match_manifest() -> None:
    """Sizes listed per frame in GROUND_TRUTH key_frames ('application_data record(s) N B')."""
    (conn,) = conns("S01_happy.pcap")
    ci, si = parse_conn(conn)
    scn = next(s for s in ground_truth() if s["id"] == "S01")
    expected = {}
    for line in scn["key_frames"]:
        if "application_data record(s)" in line:
            frame = int(line.split()[0][1:])
            expected[frame] = [int(x) for x in line.split()[-2].split(",")]
    got: dict[int, list[int]] = {}
    for a in of(ci + si, AppData):
        got.setdefault(a.frame, []).append(a.length)
    assert got == expected


@pytest.mark.parametrize(
    "scn", [s for s in ground_truth() if truth_alerts(s)], ids=lambda s: s["id"]
)
def test_alerts_match_ground_truth(scn: dict) -> None:
    found = []
    for conn in conns(scn["file"], scn.get("port", 3804)):  # S24: TLS on 5061
        ci, si = parse_conn(conn)
        found += [("client", a) for a in of(ci, Alert)] + [("server", a) for a in of(si, Alert)]
    for frame, who, level, desc, name in truth_alerts(scn):
        sender = "server" if who.startswith("cucm") else "client"
        match = [a for s, a in found if a.frame == frame and s == sender]
        assert match, (frame, found)
        assert (match[0].level, match[0].description, match[0].encrypted) == (level, desc, False)
        assert alert_name(match[0].description) == name


def test_s14_tls10_client_gets_protocol_version() -> None:
    (conn,) = conns("S14_tls_version_mismatch.pcap")
    ci, si = parse_conn(conn)
    (ch,) = of(ci, ClientHello)
    assert ch.legacy_version == 0x0301 and ch.versions == ()
    assert ch.offered_versions == (0x0301,)
    assert version_name(ch.legacy_version) == "TLS 1.0"
    assert not of(si, ServerHello)
    (al,) = of(si, Alert)
    assert (al.level, al.name) == (2, "protocol_version")


def test_s01b_tls13_hides_certificate() -> None:
    (conn,) = conns("S01b_happy_tls13.pcap")
    ci, si = parse_conn(conn)
    (sh,) = of(si, ServerHello)
    assert sh.tls13 and sh.legacy_version == 0x0303
    assert version_name(sh.version) == "TLS 1.3"
    assert not of(ci + si, Certificate)
    assert not of(ci + si, EncryptedHandshake)  # 1.3 protects everything as type 23
    assert of(si, AppData) and of(ci, AppData)


@pytest.mark.tshark
@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize(
    "name", ["S01_happy.pcap", "S01b_happy_tls13.pcap", "S02_itl_no_capf.pcap"]
)
def test_record_lengths_match_tshark(name: str) -> None:
    """Per frame: number of type-23 records (TLS 1.3: opaque_type), and their lengths when
    every record of the frame is type 23 (tshark lists types and lengths separately)."""
    out = subprocess.run(
        [
            "tshark",
            "-r",
            str(REALPEER / name),
            "-d",
            "tcp.port==3804,tls",
            "-Y",
            "tls",
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "tls.record.content_type",
            "-e",
            "tls.record.opaque_type",
            "-e",
            "tls.record.length",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    want_count: dict[int, int] = {}
    want_lengths: dict[int, list[int]] = {}
    for line in out.splitlines():
        frame, ctypes, otypes, lengths = line.split("\t")
        types = [t for t in ctypes.split(",") + otypes.split(",") if t]
        n23 = types.count("23")
        if n23:
            want_count[int(frame)] = n23
        if n23 == len(types):
            want_lengths[int(frame)] = [int(x) for x in lengths.split(",")]
    (conn,) = conns(name)
    ci, si = parse_conn(conn)
    got: dict[int, list[int]] = {}
    for a in of(ci + si, AppData):
        got.setdefault(a.frame, []).append(a.length)
    assert {f: len(v) for f, v in got.items()} == want_count
    for f, lengths in want_lengths.items():
        assert got[f] == lengths


def test_chunking_invariance_on_real_stream() -> None:
    """Feeding the server stream byte by byte gives the same items as whole segments."""
    (conn,) = conns("S01_happy.pcap")
    _, whole = parse_conn(conn)
    p = TlsDirectionParser()
    bytewise: list[TlsItem] = []
    for ch in conn.s2c:
        for i in range(len(ch.data)):
            bytewise += p.feed(ch.frame, ch.ts, ch.data[i : i + 1])
    assert bytewise == whole


# --------------------------------------------------------------------------- synthetic


def rec(ct: int, body: bytes, ver: int = 0x0303) -> bytes:
    return bytes([ct]) + ver.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


def hs(t: int, body: bytes) -> bytes:
    return bytes([t]) + len(body).to_bytes(3, "big") + body


def server_hello(random: bytes = b"\x11" * 32, cipher: int = 0xC02F, ext: bytes = b"") -> bytes:
    body = b"\x03\x03" + random + b"\x00" + cipher.to_bytes(2, "big") + b"\x00"
    if ext:
        body += len(ext).to_bytes(2, "big") + ext
    return hs(2, body)


def client_hello(sni: str = "", versions: tuple[int, ...] = ()) -> bytes:
    ext = b""
    if sni:
        name = sni.encode()
        entry = b"\x00" + len(name).to_bytes(2, "big") + name
        sn = len(entry).to_bytes(2, "big") + entry
        ext += b"\x00\x00" + len(sn).to_bytes(2, "big") + sn
    if versions:
        vl = b"".join(v.to_bytes(2, "big") for v in versions)
        sv = bytes([len(vl)]) + vl
        ext += b"\x00\x2b" + len(sv).to_bytes(2, "big") + sv
    body = b"\x03\x03" + b"\x22" * 32 + b"\x00" + b"\x00\x04\xc0\x2f\x13\x01" + b"\x01\x00"
    body += len(ext).to_bytes(2, "big") + ext
    return hs(1, body)


def cert_msg(ders: list[bytes]) -> bytes:
    lst = b"".join(len(d).to_bytes(3, "big") + d for d in ders)
    return hs(11, len(lst).to_bytes(3, "big") + lst)


@cache
def make_cert(cn: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)


def feed_all(p: TlsDirectionParser, chunks: list[tuple[int, bytes]]) -> list[TlsItem]:
    out: list[TlsItem] = []
    for frame, data in chunks:
        out += p.feed(frame, frame * 1000, data)
        assert p.buffered <= BUFFER_BOUND
    return out


def three(data: bytes, first: int = 10) -> list[tuple[int, bytes]]:
    a, b = len(data) // 3, 2 * len(data) // 3
    return [(first, data[:a]), (first + 1, data[a:b]), (first + 2, data[b:])]


def test_certificate_split_over_three_segments() -> None:
    ders = [make_cert("leaf"), make_cert("intermediate"), make_cert("root")]
    first = rec(22, server_hello())
    stream = first + rec(22, cert_msg(ders) + hs(14, b""))
    chunks = three(stream)
    assert len(chunks[0][1]) > len(first)
    items = feed_all(TlsDirectionParser(), chunks)
    (sh,) = of(items, ServerHello)
    (cert,) = of(items, Certificate)
    (done,) = msgs(items, 14)
    assert list(cert.certs) == ders
    assert sh.frame == 10  # its record is complete in the first chunk
    # like Wireshark: reported in the frame that completes the record
    assert cert.frame == done.frame == 12


def test_certificate_split_over_records_and_segments() -> None:
    """A handshake message fragmented over records (RFC 5246 §6.2.1) and TCP segments."""
    ders = [make_cert("leaf" + "x" * 40), make_cert("ca")]
    msg = cert_msg(ders)
    records = b"".join(rec(22, msg[i : i + 100]) for i in range(0, len(msg), 100))
    items = feed_all(TlsDirectionParser(), three(records, 5))
    (cert,) = of(items, Certificate)
    assert list(cert.certs) == ders and cert.frame == 7


def test_alert_after_server_hello_done() -> None:
    server = TlsDirectionParser()
    client = TlsDirectionParser()
    s_items = feed_all(server, [(3, rec(22, server_hello() + cert_msg([make_cert("s")])))])
    s_items += feed_all(server, [(4, rec(22, hs(14, b"")))])
    c_items = feed_all(client, [(1, rec(22, client_hello(sni="capf.example", versions=(0x0303,))))])
    c_items += feed_all(client, [(5, rec(21, b"\x02\x2a"))])
    assert msgs(s_items, 14)[0].frame == 4
    (ch,) = of(c_items, ClientHello)
    assert ch.sni == "capf.example" and ch.versions == (0x0303,)
    assert ch.ciphers == (0xC02F, 0x1301)
    (al,) = of(c_items, Alert)
    assert (al.frame, al.level, al.description, al.name) == (5, 2, 42, "bad_certificate")


def test_alert_after_ccs_is_encrypted() -> None:
    p = TlsDirectionParser()
    items = feed_all(p, [(1, rec(20, b"\x01") + rec(22, b"\xaa" * 40) + rec(21, b"\xbb" * 26))])
    assert [type(i) for i in items] == [ChangeCipherSpec, EncryptedHandshake, Alert]
    al = items[2]
    assert isinstance(al, Alert)
    assert al.encrypted and al.level == 0 and al.description == -1 and al.name == "encrypted"


def test_hello_retry_request_and_tls13_selection() -> None:
    sv = b"\x00\x2b\x00\x02\x03\x04"
    items = feed_all(TlsDirectionParser(), [(1, rec(22, server_hello(HRR_RANDOM, 0x1301, sv)))])
    (sh,) = of(items, ServerHello)
    assert sh.hello_retry and sh.tls13
    p = TlsDirectionParser()
    feed_all(p, [(1, rec(22, server_hello(b"\x01" * 32, 0x1301, sv)))])
    assert p.version == 0x0304
    # TLS 1.3: a type-21 record after the ServerHello is protected
    (al,) = feed_all(p, [(2, rec(21, b"\x02\x28"))])
    assert isinstance(al, Alert) and al.encrypted


def test_lying_record_length_is_capped() -> None:
    p = TlsDirectionParser()
    (v,) = feed_all(p, [(1, b"\x16\x03\x01\xff\xff" + b"\x00" * 100)])
    assert isinstance(v, NotTls) and "length" in v.reason
    assert p.dead and p.buffered == 0
    assert feed_all(p, [(2, b"\x16\x03\x03\x00\x01\x00")]) == []


def test_length_within_cap_waits_then_fails_bounded() -> None:
    p = TlsDirectionParser()
    items = feed_all(p, [(1, rec(22, client_hello()))])
    assert of(items, ClientHello)
    # a header announcing a maximal record, then junk: buffered but bounded
    items = feed_all(p, [(2, b"\x17\x03\x03" + MAX_RECORD.to_bytes(2, "big"))])
    for f in range(3, 40):
        items += feed_all(p, [(f, b"\xee" * 1000)])
    assert p.buffered <= HEADER_LEN + MAX_RECORD
    (an,) = of(items, Anomaly)
    assert an.fatal and p.dead
    assert of(items, AppData)  # the maximal record itself was delivered


def test_oversized_handshake_message() -> None:
    p = TlsDirectionParser()
    items = feed_all(p, [(1, rec(22, b"\x0b" + (MAX_HANDSHAKE + 1).to_bytes(3, "big")))])
    (an,) = items
    assert isinstance(an, Anomaly) and an.fatal


def test_malformed_hello_is_not_fatal() -> None:
    p = TlsDirectionParser()
    items = feed_all(p, [(1, rec(22, hs(1, b"\x03\x03\x00")) + rec(21, b"\x01\x00"))])
    assert isinstance(items[0], Anomaly) and not items[0].fatal
    assert isinstance(items[1], Alert) and items[1].name == "close_notify"


@pytest.mark.parametrize(
    "data",
    [b"GET / HTTP/1.1\r\n", b"\x16\x02\x01", b"\x16\x03\x09", b"SSH-2.0-x", b"\x80\x2e\x01"],
)
def test_not_tls(data: bytes) -> None:
    p = TlsDirectionParser()
    (v,) = feed_all(p, [(4, data)])
    assert isinstance(v, NotTls) and v.frame == 4 and v.head == data[:16]


def test_verdict_waits_for_enough_bytes() -> None:
    p = TlsDirectionParser()
    assert feed_all(p, [(1, b"\x16")]) == []
    assert feed_all(p, [(2, b"\x03")]) == []
    (v,) = feed_all(p, [(3, b"\x07")])
    assert isinstance(v, NotTls) and v.frame == 3


# --------------------------------------------------------------------------- SSLv2 hello

# RFC 5246 Appendix E.2 V2CipherSpecs: SSL2_RC4_128_WITH_MD5 (SSL 2.0 only), then the TLS
# suites TLS_RSA_WITH_AES_128_CBC_SHA, TLS_RSA_WITH_AES_256_CBC_SHA as {0x00, suite}, and
# TLS_EMPTY_RENEGOTIATION_INFO_SCSV.
V2_SPECS = bytes.fromhex("010080" "00002f" "000035" "0000ff")
CHALLENGE = bytes(range(0x40, 0x60))


def v2_hello(version: int = 0x0301, specs: bytes = V2_SPECS, session_id: bytes = b"",
             challenge: bytes = CHALLENGE, fix: dict[int, int] | None = None) -> bytes:
    """An SSLv2-compatible ClientHello: u16 msg_length | 0x80, msg_type 1, version,
    cipher_spec_length, session_id_length, challenge_length, specs, session_id, challenge.
    `fix` overwrites single bytes (offsets into the result) to break it."""
    body = (b"\x01" + version.to_bytes(2, "big") + len(specs).to_bytes(2, "big")
            + len(session_id).to_bytes(2, "big") + len(challenge).to_bytes(2, "big")
            + specs + session_id + challenge)
    msg = bytearray((0x8000 | len(body)).to_bytes(2, "big") + body)
    for off, val in (fix or {}).items():
        msg[off] = val
    return bytes(msg)


def test_sslv2_compatible_client_hello_then_tls_records() -> None:
    hello = v2_hello()
    assert hello[:3] == b"\x80\x35\x01" and len(hello) == 2 + 9 + 12 + 32
    cke = rec(22, hs(16, b"\x00\x02\xab\xcd"), 0x0301)
    p = TlsDirectionParser(sslv2_hello=True)
    items = feed_all(p, [(3, hello[:20]), (4, hello[20:] + cke), (5, rec(20, b"\x01", 0x0301))])
    assert [type(i) for i in items] == [ClientHello, HandshakeMessage, ChangeCipherSpec]
    assert msgs(items, 16)[0].length == 4  # ClientKeyExchange
    ch = items[0]
    assert isinstance(ch, ClientHello)
    assert (ch.frame, ch.sslv2, ch.legacy_version) == (4, True, 0x0301)
    assert ch.offered_versions == (0x0301,) and ch.versions == () and ch.sni == ""
    assert ch.ciphers == (0x002F, 0x0035, 0x00FF)  # the SSL 2.0-only spec is not a TLS suite
    assert ch.random == CHALLENGE
    assert p.started and not p.dead and p.records == 3


def test_sslv2_hello_byte_by_byte_and_short_challenge() -> None:
    """RFC 5246 E.2: a challenge shorter than 32 bytes becomes ClientHello.random with
    leading zeros; a 16-byte session_id is skipped."""
    hello = v2_hello(0x0303, session_id=b"\x5a" * 16, challenge=CHALLENGE[:16])
    p = TlsDirectionParser(sslv2_hello=True)
    items = feed_all(p, [(i + 1, hello[i : i + 1]) for i in range(len(hello))])
    (ch,) = items
    assert isinstance(ch, ClientHello) and ch.frame == len(hello)
    assert ch.random == bytes(16) + CHALLENGE[:16] and ch.legacy_version == 0x0303


def test_sslv2_hello_only_in_a_client_direction_and_only_first() -> None:
    (v,) = feed_all(TlsDirectionParser(), [(1, v2_hello())])  # a server direction
    assert isinstance(v, NotTls) and "content type 128" in v.reason
    p = TlsDirectionParser(sslv2_hello=True)
    items = feed_all(p, [(1, rec(22, client_hello())), (2, v2_hello())])
    assert isinstance(items[0], ClientHello) and not items[0].sslv2
    assert isinstance(items[1], Anomaly) and items[1].fatal and len(items) == 2


@pytest.mark.parametrize(("fix", "why"), [
    ({3: 0x00, 4: 0x02}, "version 0x0002"),  # an SSL 2.0-only client
    ({4: 0x07}, "version 0x0307"),
    ({5: 0x00, 6: 0x0B}, "cipher_spec_length 11"),
    ({5: 0x00, 6: 0x00}, "cipher_spec_length 0"),
    ({8: 0x05}, "session_id_length 5"),
    ({10: 0x08}, "challenge_length 8"),
    ({10: 0x21}, "challenge_length 33"),
    ({1: 0x2F}, "msg_length 47"),
    ({0: 0xFF, 1: 0xFF}, "msg_length 32767"),
])
def test_malformed_sslv2_hello_is_not_tls(fix: dict[int, int], why: str) -> None:
    p = TlsDirectionParser(sslv2_hello=True)
    items = feed_all(p, [(7, v2_hello(fix=fix))])
    (v,) = items
    assert isinstance(v, NotTls) and why in v.reason and v.frame == 7
    assert p.dead and p.buffered == 0
    assert feed_all(p, [(8, rec(22, client_hello()))]) == []


def test_sslv2_header_is_judged_before_its_body_arrives() -> None:
    """A bad header is reported from its 11 bytes, not after buffering msg_length bytes;
    a good header waits for the rest."""
    bad = v2_hello(fix={0: 0xFF, 1: 0xFF, 10: 0x40})
    (v,) = feed_all(TlsDirectionParser(sslv2_hello=True), [(1, bad[:11])])
    assert isinstance(v, NotTls) and "challenge_length 64" in v.reason
    p = TlsDirectionParser(sslv2_hello=True)
    assert feed_all(p, [(1, v2_hello()[:11])]) == [] and not p.dead


@pytest.mark.parametrize("data", [b"\x80\x2e\x02\x03\x01", b"\xff\xfe\x00", b"\x90"])
def test_high_bit_junk_is_not_tls(data: bytes) -> None:
    p = TlsDirectionParser(sslv2_hello=True)
    items = feed_all(p, [(2, data)])
    if len(data) < 3:  # cannot tell yet: an SSLv2 header needs its msg_type byte
        assert items == [] and not p.dead
        return
    (v,) = items
    assert isinstance(v, NotTls) and "content type" in v.reason


def test_names() -> None:
    assert alert_name(0) == "close_notify"
    assert alert_name(48) == "unknown_ca"
    assert alert_name(70) == "protocol_version"
    assert alert_name(116) == "certificate_required"
    assert alert_name(200).startswith("unknown")
    assert version_name(0x0303) == "TLS 1.2"
    assert version_name(0x1A1A).startswith("GREASE")
    assert version_name(0x1234) == "0x1234"
    assert cipher_name(0x1301) == "TLS_AES_128_GCM_SHA256"
    assert cipher_name(0xFFFE) == "0xfffe"


# --------------------------------------------------------------------------- fuzz


@cache
def real_server_stream() -> bytes:
    (conn,) = conns("S01_happy.pcap")
    return b"".join(c.data for c in conn.s2c)


def chunked(data: bytes, cuts: list[int]) -> list[tuple[int, bytes]]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [(i + 1, data[a:b]) for i, (a, b) in enumerate(pairwise(points))]


def check_items(items: list[TlsItem]) -> None:
    for it in items:
        assert isinstance(it, ITEM_TYPES)
    terminal = [i for i in items if isinstance(i, NotTls) or (isinstance(i, Anomaly) and i.fatal)]
    assert len(terminal) <= 1
    if terminal:
        assert items[-1] is terminal[0]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.lists(st.integers(0, 4000), max_size=12))
def test_fuzz_random_bytes(data: bytes, cuts: list[int]) -> None:
    p = TlsDirectionParser()
    check_items(feed_all(p, chunked(data, cuts)))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
    st.lists(st.integers(0, 10_000), max_size=12),
)
def test_fuzz_mutated_real_stream(flips: list[tuple[int, int]], cuts: list[int]) -> None:
    data = bytearray(real_server_stream())
    for pos, val in flips:
        data[pos % len(data)] = val
    p = TlsDirectionParser()
    check_items(feed_all(p, chunked(bytes(data), cuts)))


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=300), st.lists(st.integers(0, 400), max_size=6))
def test_fuzz_handshake_bodies(body: bytes, cuts: list[int]) -> None:
    """Random handshake bodies behind valid framing: hellos and certificates never raise."""
    stream = b"".join(rec(22, hs(t, body)) for t in (1, 2, 11, 13, 14, 16))
    p = TlsDirectionParser()
    check_items(feed_all(p, chunked(stream, cuts)))


@pytest.mark.tshark
@pytest.mark.parametrize("name", ["S24_lsc_rejected_5061.pcap", "S01_happy.pcap"])
def test_sessions_asking_for_a_client_certificate_are_those_wireshark_sees(name: str) -> None:
    """TlsSession.cert_request (a CertificateRequest, RFC 5246 §7.4.4, read as a
    HandshakeMessage of type 13) on exactly the connections where tshark decodes one."""
    import subprocess

    from capfcap.events import TlsSession
    from capfcap.pipeline import Analysis, Options
    from capfcap.sources.inputs import InputSet, frames

    a = Analysis(Options())
    for fr in frames([str(REALPEER / name)], InputSet()):
        a.feed(fr)
    a.finish()
    ours = {(s.key.client_port, s.key.server_port)
            for s in a.correlator.state.tls if isinstance(s, TlsSession) and s.cert_request}
    out = subprocess.run(
        ["tshark", "-r", str(REALPEER / name), "-Y", "tls.handshake.type == 13", "-T",
         "fields", "-e", "tcp.dstport", "-e", "tcp.srcport"],
        capture_output=True, text=True, check=True).stdout.split()
    theirs = {(int(out[i]), int(out[i + 1])) for i in range(0, len(out), 2)}
    assert ours == theirs
    assert bool(theirs) == name.startswith("S24")
