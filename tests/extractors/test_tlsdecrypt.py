"""--keylog decryption against the real captures and their key logs."""

from __future__ import annotations

import hashlib
import hmac
from functools import cache
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from hypothesis import given, settings
from hypothesis import strategies as st

from capfcap.dissectors.capf import CapfStream
from capfcap.events import CapfMessage, Direction
from capfcap.extractors.tlsdecrypt import (
    Decrypted,
    DecryptError,
    KeylogError,
    SessionDecryptor,
    load_keylog,
    parse_keylog,
    unsupported_reason,
)
from capfcap.extractors.tlsitems import (
    Alert,
    AppData,
    ClientHello,
    EncryptedHandshake,
    ServerHello,
    TlsItem,
)
from tests.tlshelpers import REALPEER, Conn, ground_truth, parse_conn, tcp_streams, truth_capf

KEYLOGGED = [s for s in ground_truth() if s.get("keylog") and truth_capf(s)]


def protected(items: list[TlsItem]) -> list[AppData | EncryptedHandshake | Alert]:
    return [
        i
        for i in items
        if isinstance(i, (AppData, EncryptedHandshake)) or (isinstance(i, Alert) and i.encrypted)
    ]


def hellos(ci: list[TlsItem], si: list[TlsItem]) -> tuple[ClientHello, ServerHello]:
    ch = next(i for i in ci if isinstance(i, ClientHello))
    sh = next(i for i in si if isinstance(i, ServerHello))
    return ch, sh


def decrypt_conn(conn: Conn, keylog_path: Path) -> tuple[list[Decrypted], list[CapfMessage]]:
    ci, si = parse_conn(conn)
    if not any(isinstance(i, ClientHello) for i in ci):
        return [], []  # SYNs never answered (S16's phone2): no TLS at all
    ch, sh = hellos(ci, si)
    try:
        dec = SessionDecryptor(
            load_keylog(keylog_path), ch.random, sh.random, sh.version, sh.cipher
        )
    except DecryptError:
        # no keys: only acceptable for a session that never protected anything
        assert not protected(ci) and not protected(si)
        return [], []
    records: list[Decrypted] = []
    msgs: list[CapfMessage] = []
    sides: tuple[tuple[Direction, list[TlsItem]], ...] = (("c2s", ci), ("s2c", si))
    for direction, items in sides:
        stream = CapfStream(direction)
        for it in protected(items):
            r = dec.decrypt(direction, it)
            records.append(r)
            if r.ok and r.content_type == 23:
                msgs += stream.feed(r.frame, r.ts, r.data)
    return records, sorted(msgs, key=lambda m: m.frame)


@cache
def session(file: str, keylog: str, port: int = 3804
            ) -> list[tuple[list[Decrypted], list[CapfMessage]]]:
    """The CAPF sessions on `port` (the scenario's CAPF port: S16 listens on 3806)."""
    return [decrypt_conn(c, REALPEER / keylog) for c in tcp_streams(REALPEER / file, port)]


@pytest.mark.parametrize("scn", KEYLOGGED, ids=lambda s: s["id"])
def test_decrypted_dialogue_matches_ground_truth(scn: dict) -> None:
    """Frame, command and size of every CAPF message listed in GROUND_TRUTH.json."""
    msgs = [m for _, ms in session(scn["file"], scn["keylog"], scn.get("port", 3804)) for m in ms]
    got = sorted((m.frame, m.command_name, m.length) for m in msgs)
    want = [(f, cmd, size) for f, cmd, _args, size in truth_capf(scn)]
    assert got == want
    for m in msgs:
        assert m.direction == ("s2c" if m.command in (1, 3, 9, 15) else "c2s")
    # every protected record decrypted (Finished included)
    for records, _ in session(scn["file"], scn["keylog"], scn.get("port", 3804)):
        assert all(r.ok for r in records), [r.error for r in records]


@pytest.mark.parametrize("scn", KEYLOGGED, ids=lambda s: s["id"])
def test_decrypted_element_values_match_ground_truth(scn: dict) -> None:
    port = scn.get("port", 3804)
    msgs = {m.frame: m for _, ms in session(scn["file"], scn["keylog"], port) for m in ms}
    for frame, cmd, args, _size in truth_capf(scn):
        assert msgs[frame].command_name == cmd
        el = dict(msgs[frame].elements)
        if "device=" in args:
            assert el["DEVICE_NAME"] == args.split("device=")[1].split(",")[0]
        if "key_size=" in args:
            assert el["KEY_SIZE"] == args.split("key_size=")[1].split(")")[0].split(",")[0]
        if "reason=" in args:
            assert el["REASON"].split()[0] == args.split("reason=")[1].split()[0]
        if "auth_type=" in args:
            assert el["AUTH_TYPE"].split()[0] == args.split("auth_type=")[1].split(",")[0]
        if "LSC subject=" in args:
            subject = args.split("LSC subject=")[1].split(" issuer ")[0]
            issuer_cn = args.split(" issuer ")[1]
            assert f"subject={subject};" in el["CERTIFICATE"]
            assert issuer_cn in el["CERTIFICATE"].split("issuer=")[1]


def test_s01_tls12_details() -> None:
    ((records, msgs),) = session("S01_happy.pcap", "keylogs/S01_happy.keylog")
    finished = [r for r in records if r.content_type == 22]
    assert len(finished) == 2
    assert all(r.data[0] == 20 and len(r.data) == 16 for r in finished)  # Finished, 12-byte verify
    names = [m.command_name for m in msgs]
    assert names == [
        "AUTH_REQUEST",
        "AUTH_RESPONSE",
        "KEY_GENERATE_REQUEST",
        "REQUEST_IN_PROGRESS",
        "KEY_GENERATE_RESPONSE",
        "STORE_CERTIFICATE_REQUEST",
        "STORE_CERTIFICATE_RESPONSE",
        "END_SESSION",
    ]
    by = {m.command_name: dict(m.elements) for m in msgs}
    assert by["AUTH_RESPONSE"]["DEVICE_NAME"] == "SEP0023AB12CD34"
    assert by["KEY_GENERATE_REQUEST"]["KEY_SIZE"] == "2048"
    assert "CN=SEP0023AB12CD34;" in by["STORE_CERTIFICATE_REQUEST"]["CERTIFICATE"]
    assert by["END_SESSION"]["REASON"] == "1 UPDATE_CERTIFICATE"
    assert by["KEY_GENERATE_RESPONSE"]["PUBLIC_KEY"].startswith("RSA 2048-bit")


def test_s01b_tls13_handshake_then_application_keys() -> None:
    ((records, msgs),) = session("S01b_happy_tls13.pcap", "keylogs/S01b_happy_tls13.keylog")
    server = [r for r in records if r.direction == "s2c"]
    # encrypted handshake: EncryptedExtensions, Certificate, CertificateVerify, Finished
    hs_types = [r.data[0] for r in server if r.content_type == 22]
    assert hs_types[:4] == [8, 11, 15, 20]
    assert 4 in hs_types[4:]  # NewSessionTicket under application keys
    client = [r for r in records if r.direction == "c2s"]
    assert client[0].content_type == 22 and client[0].data[0] == 20
    assert len(msgs) == 8 and msgs[-1].command_name == "END_SESSION"


def test_wrong_keys_fail_per_record_not_raise() -> None:
    (conn,) = tcp_streams(REALPEER / "S01_happy.pcap")
    ci, si = parse_conn(conn)
    if not any(isinstance(i, ClientHello) for i in ci):
        return [], []  # SYNs never answered (S16's phone2): no TLS at all
    ch, sh = hellos(ci, si)
    kl = parse_keylog([f"CLIENT_RANDOM {ch.random.hex()} {'00' * 48}"])
    dec = SessionDecryptor(kl, ch.random, sh.random, sh.version, sh.cipher)
    out = [dec.decrypt("s2c", i) for i in protected(si)]
    assert out and all(not r.ok and r.data == b"" for r in out)


def test_missing_session_keys() -> None:
    (conn,) = tcp_streams(REALPEER / "S01_happy.pcap")
    ci, si = parse_conn(conn)
    if not any(isinstance(i, ClientHello) for i in ci):
        return [], []  # SYNs never answered (S16's phone2): no TLS at all
    ch, sh = hellos(ci, si)
    other = load_keylog(REALPEER / "keylogs" / "S01b_happy_tls13.keylog")
    with pytest.raises(DecryptError, match="CLIENT_RANDOM"):
        SessionDecryptor(other, ch.random, sh.random, sh.version, sh.cipher)


@pytest.mark.parametrize(
    ("version", "cipher", "text"),
    [
        (0x0303, 0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
        (0x0301, 0xC014, "TLS 1.0"),
        (0x0304, 0x1304, "TLS_AES_128_CCM_SHA256"),
    ],
)
def test_unsupported_suites_have_a_reason(version: int, cipher: int, text: str) -> None:
    assert text in unsupported_reason(version, cipher)
    with pytest.raises(DecryptError, match=text):
        SessionDecryptor(parse_keylog([]), b"\x00" * 32, b"\x00" * 32, version, cipher)


def test_keylog_parsing(tmp_path: Path) -> None:
    cr = "ab" * 32
    p = tmp_path / "k.log"
    p.write_text(
        "# comment\n\n"
        f"CLIENT_RANDOM {cr} {'11' * 48}\n"
        f"SERVER_TRAFFIC_SECRET_0 {cr} {'22' * 32}\n"
        "garbage line\n"
        f"CLIENT_RANDOM {cr[:-2]} {'11' * 48}\n"  # short random
        f"CLIENT_RANDOM {cr} zz\n"
        f"UNKNOWN_LABEL {cr} {'11' * 48}\n"
    )
    kl = load_keylog(p)
    assert len(kl) == 1 and kl.ignored == 4
    assert kl.secrets(bytes.fromhex(cr)) == {
        "CLIENT_RANDOM": b"\x11" * 48,
        "SERVER_TRAFFIC_SECRET_0": b"\x22" * 32,
    }
    assert kl.secrets(b"\x00" * 32) == {}


def test_unreadable_keylog(tmp_path: Path) -> None:
    with pytest.raises(KeylogError) as e:
        load_keylog(tmp_path / "missing.log")
    assert "\n" not in str(e.value) and "missing.log" in str(e.value)
    with pytest.raises(KeylogError):
        load_keylog(tmp_path)  # a directory


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=200), max_size=20))
def test_fuzz_keylog_lines(lines: list[str]) -> None:
    kl = parse_keylog(lines)
    assert kl.lines == len(lines)
    for secrets in kl.entries.values():
        assert all(16 <= len(v) <= 64 for v in secrets.values())


# ------------------------------------------------ ChaCha20-Poly1305 (no capture has it)
# Records are built here from the RFC formulas, written independently of the module.


def p_sha256(secret: bytes, seed: bytes, n: int) -> bytes:
    out, a = b"", seed
    while len(out) < n:
        a = hmac.digest(secret, a, "sha256")
        out += hmac.digest(secret, a + seed, "sha256")
    return out[:n]


def test_tls12_chacha20_poly1305() -> None:
    cr, sr, master = b"\x01" * 32, b"\x02" * 32, bytes(range(48))
    kb = p_sha256(master, b"key expansion" + sr + cr, 2 * (32 + 12))
    s_key, s_iv = kb[32:64], kb[64 + 12 : 64 + 24]
    kl = parse_keylog([f"CLIENT_RANDOM {cr.hex()} {master.hex()}"])
    dec = SessionDecryptor(kl, cr, sr, 0x0303, 0xCCA8)
    for seq, text in enumerate([b"finished....", b"\x55\x0f\x00\x00\x00\x01\x00\x00"]):
        ctype = 22 if seq == 0 else 23
        nonce = (int.from_bytes(s_iv, "big") ^ seq).to_bytes(12, "big")
        aad = seq.to_bytes(8, "big") + bytes([ctype, 3, 3]) + len(text).to_bytes(2, "big")
        frag = ChaCha20Poly1305(s_key).encrypt(nonce, text, aad)
        r = dec.decrypt_record("s2c", 7 + seq, 0, ctype, 0x0303, frag)
        assert r.ok and r.data == text and r.content_type == ctype


def expand_label(secret: bytes, label: bytes, n: int) -> bytes:
    info = n.to_bytes(2, "big") + bytes([6 + len(label)]) + b"tls13 " + label + b"\x00"
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.digest(secret, t + info + bytes([i]), "sha256")
        out, i = out + t, i + 1
    return out[:n]


@pytest.mark.parametrize("cipher", [0x1301, 0x1303])
def test_tls13_key_switch_after_finished(cipher: int) -> None:
    cr = b"\x05" * 32
    hs_secret, app_secret = hashlib.sha256(b"hs").digest(), hashlib.sha256(b"app").digest()
    kl = parse_keylog(
        [
            f"CLIENT_HANDSHAKE_TRAFFIC_SECRET {cr.hex()} {hs_secret.hex()}",
            f"CLIENT_TRAFFIC_SECRET_0 {cr.hex()} {app_secret.hex()}",
        ]
    )
    dec = SessionDecryptor(kl, cr, b"\x06" * 32, 0x0304, cipher)
    klen = 16 if cipher == 0x1301 else 32

    def seal(secret: bytes, seq: int, inner: bytes) -> bytes:
        key, iv = expand_label(secret, b"key", klen), expand_label(secret, b"iv", 12)
        nonce = (int.from_bytes(iv, "big") ^ seq).to_bytes(12, "big")
        header = b"\x17\x03\x03" + (len(inner) + 16).to_bytes(2, "big")
        aead = AESGCM(key) if cipher == 0x1301 else ChaCha20Poly1305(key)
        return aead.encrypt(nonce, inner, header)

    finished = b"\x14\x00\x00\x20" + b"\xaa" * 32
    plan = [
        (hs_secret, 0, finished[:10] + b"\x16"),  # Finished split over two records
        (hs_secret, 1, finished[10:] + b"\x16" + b"\x00" * 5),  # with padding
        (app_secret, 0, b"\x55\x02payload\x17"),
        (app_secret, 1, b"\x01\x00\x15"),  # alert inside
    ]
    out = [dec.decrypt_record("c2s", n, 0, 23, 0x0303, seal(*p)) for n, p in enumerate(plan)]
    assert [r.ok for r in out] == [True] * 4
    assert [r.content_type for r in out] == [22, 22, 23, 21]
    assert out[0].data + out[1].data == finished
    assert out[2].data == b"\x55\x02payload"
