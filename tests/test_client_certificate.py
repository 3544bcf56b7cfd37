"""The phone's TLS client certificate: in clear up to TLS 1.2, encrypted in TLS 1.3
(RFC 8446 §4.4.2), where only a key log shows it (issue 16)."""

from __future__ import annotations

import random
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from capfcap.correlator.engine import Correlator
from capfcap.events import FileTransfer, FlowKey, TcpConnection, TlsSession
from capfcap.extractors.tls import TlsHandler
from capfcap.extractors.tlsdecrypt import parse_keylog
from tests.gen_module import gen_pcaps

KEY = FlowKey("tcp", "198.51.100.60", 50600, "203.0.113.60", 5061)


gen = gen_pcaps()


def _expand_label(secret: bytes, label: bytes, n: int) -> bytes:
    """HKDF-Expand-Label (RFC 8446 §7.1) with SHA-384, empty context."""
    full = b"tls13 " + label
    info = struct.pack("!HB", n, len(full)) + full + b"\x00"
    return HKDFExpand(hashes.SHA384(), n, info).derive(secret)


def _protect(secret: bytes, seq: int, inner: bytes, ctype: int) -> bytes:
    """TLSCiphertext of TLS_AES_256_GCM_SHA384 (RFC 8446 §5.2-5.3)."""
    key, iv = _expand_label(secret, b"key", 32), _expand_label(secret, b"iv", 12)
    nonce = bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big"), strict=True))
    plain = inner + bytes([ctype])
    header = struct.pack("!BHH", 23, 0x0303, len(plain) + 16)
    return header + AESGCM(key).encrypt(nonce, plain, header)


def _conn(frames: tuple[int, ...]) -> TcpConnection:
    return TcpConnection(
        key=KEY, first_ts=1, last_ts=9, frames=frames, syn_frames=(frames[0],),
        synack_frames=(frames[1],), rst_frames=(), rst_from=None, fin_frames=(),
        conn_state="SF", history="ShADadFf", completeness=31, orig_pkts=3, resp_pkts=2,
        orig_bytes=100, resp_bytes=100)


def _tls13_session(with_keylog: bool) -> TlsSession:
    rng = random.Random(7)
    ch = gen.client_hello(rng, tls13=True)
    client_random = ch[11:43]
    sh = gen.tls_record(22, gen.server_hello(rng, b"\x00" * 32, tls13=True))
    c_hs, s_hs = rng.randbytes(48), rng.randbytes(48)
    mic = gen.mic_cert(100)
    # TLS 1.3 Certificate: empty context, then (cert, no extensions)
    entry = len(mic).to_bytes(3, "big") + mic + b"\x00\x00"
    cert = gen.hs(11, b"\x00" + len(entry).to_bytes(3, "big") + entry)
    server_flight = _protect(s_hs, 0, gen.hs(8, b"\x00\x00") + gen.hs(20, rng.randbytes(48)),
                             22)
    client_flight = _protect(c_hs, 0, cert + gen.hs(20, rng.randbytes(48)), 22)
    keylog = parse_keylog([
        f"CLIENT_HANDSHAKE_TRAFFIC_SECRET {client_random.hex()} {c_hs.hex()}",
        f"SERVER_HANDSHAKE_TRAFFIC_SECRET {client_random.hex()} {s_hs.hex()}",
        f"CLIENT_TRAFFIC_SECRET_0 {client_random.hex()} {rng.randbytes(48).hex()}",
        f"SERVER_TRAFFIC_SECRET_0 {client_random.hex()} {rng.randbytes(48).hex()}",
    ]) if with_keylog else None
    h = TlsHandler(KEY, keylog)
    h.data("c2s", 4, 4, ch)
    h.data("s2c", 5, 5, sh + server_flight)
    h.data("c2s", 6, 6, client_flight)
    [s] = h.close(_conn((1, 2, 3, 4, 5, 6)))
    assert isinstance(s, TlsSession)
    return s


def test_tls13_client_certificate_only_with_the_key_log() -> None:
    hidden = _tls13_session(with_keylog=False)
    assert hidden.version == 0x0304 and hidden.client_certs == ()
    shown = _tls13_session(with_keylog=True)
    assert len(shown.client_certs) == 1 and shown.client_cert_frame == 6
    assert "Cisco Manufacturing CA SHA2" in shown.client_certs[0].issuer


def _timeline(s: TlsSession) -> list[str]:
    cfg = FileTransfer("tftp", KEY.client, KEY.server, 69, "SEP001B54AABB60.cnf.xml",
                       "error", (1,), (1,), 0, 1, error_code=1)
    c = Correlator()
    c.add_all([cfg, _conn(s.frames), s])
    rep = c.report()
    return [e.what for e in rep.phones[0].timeline if "client certificate" in e.what]


def test_timeline_says_not_visible_for_tls13_without_keys() -> None:
    [line] = _timeline(_tls13_session(with_keylog=False))
    assert "not visible (TLS 1.3" in line and "SIP-TLS 5061" in line


def test_timeline_names_the_decrypted_tls13_certificate() -> None:
    [line] = _timeline(_tls13_session(with_keylog=True))
    assert "MIC CP-8845-SEP001B54AABB55 issued by Cisco Manufacturing CA SHA2" in line
