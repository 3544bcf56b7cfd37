"""`--keylog`: decrypt TLS 1.2 / 1.3 AEAD records with secrets from an NSS key log.

Key log format (NSS "SSLKEYLOGFILE"): one `LABEL <client_random hex> <secret hex>` per
line; `#` comments. Labels used: CLIENT_RANDOM (TLS <= 1.2 master secret),
CLIENT_/SERVER_HANDSHAKE_TRAFFIC_SECRET and CLIENT_/SERVER_TRAFFIC_SECRET_0 (TLS 1.3).

TLS 1.2 (RFC 5246 §5, §6.3; RFC 5288; RFC 7905):
  key_block = PRF(master, "key expansion", server_random || client_random) split into
  client_key | server_key | client_iv | server_iv (AEAD suites have no MAC keys).
  AES-GCM: nonce = iv(4) || explicit(8, first bytes of the fragment).
  ChaCha20-Poly1305: nonce = iv(12) XOR u64 seq (left-padded).
  AAD = u64 seq || type || version || plaintext length.
TLS 1.3 (RFC 8446 §5.2, §5.3, §7.1, §7.3):
  key = HKDF-Expand-Label(secret, "key", "", key_len), iv = ...("iv", "", 12);
  nonce = iv XOR u64 seq; AAD = the 5-byte record header; plaintext = content ||
  inner type || zero padding. Records before a direction's Finished use its handshake
  traffic secret, later ones its application traffic secret; seq restarts at 0 on switch.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from capfcap.events import Direction
from capfcap.extractors.tlsitems import (
    CT_APPLICATION_DATA,
    CT_HANDSHAKE,
    HS_FINISHED,
    TLS13,
    EncryptedItem,
    cipher_name,
    version_name,
)

TLS12 = 0x0303
MAX_KEYLOG_LINE = 1024
MAX_KEYLOG_BYTES = 256 * 1024 * 1024
_HS_BUF_CAP = 256 * 1024  # decrypted handshake bytes kept to find Finished

LABELS = frozenset(
    {
        "CLIENT_RANDOM",
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "EXPORTER_SECRET",
        "EARLY_EXPORTER_SECRET",
        "CLIENT_EARLY_TRAFFIC_SECRET",
    }
)

Aead = Literal["aes-gcm", "chacha20"]


class KeylogError(ValueError):
    """The key log file cannot be read."""


class DecryptError(ValueError):
    """This session cannot be decrypted (unsupported suite/version, or no keys)."""


# --------------------------------------------------------------------------- key log


@dataclass
class KeyLog:
    """Secrets by client_random (32 bytes) then label."""

    entries: dict[bytes, dict[str, bytes]] = field(default_factory=dict)
    lines: int = 0
    ignored: int = 0  # comment-less lines that were not a valid entry

    def secrets(self, client_random: bytes) -> dict[str, bytes]:
        return self.entries.get(client_random, {})

    def __len__(self) -> int:
        return len(self.entries)


def parse_keylog(lines: Iterable[str]) -> KeyLog:
    kl = KeyLog()
    for raw in lines:
        kl.lines += 1
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(line) > MAX_KEYLOG_LINE or len(parts) != 3 or parts[0] not in LABELS:
            kl.ignored += 1
            continue
        try:
            cr = bytes.fromhex(parts[1])
            secret = bytes.fromhex(parts[2])
        except ValueError:
            kl.ignored += 1
            continue
        if len(cr) != 32 or not 16 <= len(secret) <= 64:
            kl.ignored += 1
            continue
        kl.entries.setdefault(cr, {})[parts[0]] = secret
    return kl


def load_keylog(path: str | os.PathLike[str]) -> KeyLog:
    """Read an NSS key log; raise KeylogError with a one-line message when unreadable."""
    try:
        size = os.path.getsize(path)
        if size > MAX_KEYLOG_BYTES:
            raise KeylogError(f"key log {os.fspath(path)}: {size} bytes is too large")
        with open(path, encoding="utf-8", errors="replace") as fh:
            return parse_keylog(fh)
    except OSError as e:
        raise KeylogError(f"cannot read key log {os.fspath(path)}: {e.strerror or e}") from None


# --------------------------------------------------------------------------- suites


@dataclass(frozen=True)
class Suite:
    aead: Aead
    key_len: int
    iv_len: int  # TLS 1.2 fixed IV (salt) length; 12 for TLS 1.3
    hash_name: Literal["sha256", "sha384"]


_SUITES12 = {
    0x009C: Suite("aes-gcm", 16, 4, "sha256"),
    0x009D: Suite("aes-gcm", 32, 4, "sha384"),
    0x009E: Suite("aes-gcm", 16, 4, "sha256"),
    0x009F: Suite("aes-gcm", 32, 4, "sha384"),
    0xC02B: Suite("aes-gcm", 16, 4, "sha256"),
    0xC02C: Suite("aes-gcm", 32, 4, "sha384"),
    0xC02F: Suite("aes-gcm", 16, 4, "sha256"),
    0xC030: Suite("aes-gcm", 32, 4, "sha384"),
    0xCCA8: Suite("chacha20", 32, 12, "sha256"),
    0xCCA9: Suite("chacha20", 32, 12, "sha256"),
    0xCCAA: Suite("chacha20", 32, 12, "sha256"),
}
_SUITES13 = {
    0x1301: Suite("aes-gcm", 16, 12, "sha256"),
    0x1302: Suite("aes-gcm", 32, 12, "sha384"),
    0x1303: Suite("chacha20", 32, 12, "sha256"),
}


def unsupported_reason(version: int, cipher: int) -> str:
    """'' when (version, cipher) can be decrypted, else why not."""
    if version == TLS13:
        if cipher in _SUITES13:
            return ""
        return f"cipher suite {cipher_name(cipher)} is not supported for TLS 1.3 decryption"
    if version == TLS12:
        if cipher in _SUITES12:
            return ""
        return (
            f"cipher suite {cipher_name(cipher)} is not supported "
            "(only AES-GCM and ChaCha20-Poly1305 suites are decrypted)"
        )
    return f"{version_name(version)} sessions are not decrypted (TLS 1.2 and 1.3 only)"


def _prf(hash_name: str, secret: bytes, label: bytes, seed: bytes, n: int) -> bytes:
    # RFC 5246 §5: P_hash(secret, label || seed)
    s = label + seed
    out = b""
    a = s
    while len(out) < n:
        a = hmac.new(secret, a, hash_name).digest()
        out += hmac.new(secret, a + s, hash_name).digest()
    return out[:n]


def _hkdf_expand_label(hash_name: str, secret: bytes, label: bytes, n: int) -> bytes:
    # RFC 8446 §7.1: HkdfLabel = u16 length | u8-prefixed "tls13 "+label | u8-prefixed ""
    full = b"tls13 " + label
    info = n.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    algo: hashes.HashAlgorithm = hashes.SHA256() if hash_name == "sha256" else hashes.SHA384()
    return HKDFExpand(algo, n, info).derive(secret)


def _cipher(aead: Aead, key: bytes) -> AESGCM | ChaCha20Poly1305:
    return AESGCM(key) if aead == "aes-gcm" else ChaCha20Poly1305(key)


def _xor_seq(iv: bytes, seq: int) -> bytes:
    return (int.from_bytes(iv, "big") ^ seq).to_bytes(len(iv), "big")


# --------------------------------------------------------------------------- decryption


@dataclass(frozen=True)
class Decrypted:
    frame: int
    ts: int
    direction: Direction
    content_type: int  # TLS 1.3: inner content type; TLS 1.2: record type
    data: bytes = field(repr=False)
    error: str = ""  # non-empty when the record did not decrypt (data is b"")

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class _Keys:
    cipher: AESGCM | ChaCha20Poly1305
    iv: bytes
    seq: int = 0


@dataclass
class _Dir13:
    hs: _Keys | None
    app: _Keys | None
    stage: Literal["handshake", "application"] = "handshake"
    hsbuf: bytearray = field(default_factory=bytearray)


class Tls12Decryptor:
    def __init__(self, suite: Suite, master: bytes, client_random: bytes, server_random: bytes):
        kl, il = suite.key_len, suite.iv_len
        kb = _prf(
            suite.hash_name, master, b"key expansion", server_random + client_random, 2 * (kl + il)
        )
        self.suite = suite
        self._keys: dict[str, _Keys] = {
            "c2s": _Keys(_cipher(suite.aead, kb[:kl]), kb[2 * kl : 2 * kl + il]),
            "s2c": _Keys(_cipher(suite.aead, kb[kl : 2 * kl]), kb[2 * kl + il : 2 * kl + 2 * il]),
        }

    def decrypt_record(
        self, direction: Direction, frame: int, ts: int, ctype: int, version: int, frag: bytes
    ) -> Decrypted:
        k = self._keys[direction]
        seq = k.seq
        k.seq += 1  # every protected record consumes a sequence number
        if self.suite.aead == "aes-gcm":
            if len(frag) < 8 + 16:
                return Decrypted(frame, ts, direction, ctype, b"", "record too short")
            nonce, ct = k.iv + frag[:8], frag[8:]
        else:
            if len(frag) < 16:
                return Decrypted(frame, ts, direction, ctype, b"", "record too short")
            nonce, ct = _xor_seq(k.iv, seq), frag
        aad = seq.to_bytes(8, "big") + bytes([ctype]) + version.to_bytes(2, "big")
        aad += (len(ct) - 16).to_bytes(2, "big")
        try:
            pt = k.cipher.decrypt(nonce, ct, aad)
        except InvalidTag:
            return Decrypted(frame, ts, direction, ctype, b"", "authentication failed (wrong key?)")
        return Decrypted(frame, ts, direction, ctype, pt)


class Tls13Decryptor:
    def __init__(self, suite: Suite, secrets: dict[str, bytes]):
        self.suite = suite
        h = suite.hash_name

        def keys(label: str) -> _Keys | None:
            s = secrets.get(label)
            if s is None:
                return None
            key = _hkdf_expand_label(h, s, b"key", suite.key_len)
            return _Keys(_cipher(suite.aead, key), _hkdf_expand_label(h, s, b"iv", 12))

        self._dirs: dict[str, _Dir13] = {
            "c2s": _Dir13(keys("CLIENT_HANDSHAKE_TRAFFIC_SECRET"), keys("CLIENT_TRAFFIC_SECRET_0")),
            "s2c": _Dir13(keys("SERVER_HANDSHAKE_TRAFFIC_SECRET"), keys("SERVER_TRAFFIC_SECRET_0")),
        }

    @staticmethod
    def _open(k: _Keys, header: bytes, frag: bytes) -> bytes | None:
        try:
            pt = k.cipher.decrypt(_xor_seq(k.iv, k.seq), frag, header)
        except InvalidTag:
            return None
        k.seq += 1
        return pt

    def decrypt_record(
        self, direction: Direction, frame: int, ts: int, ctype: int, version: int, frag: bytes
    ) -> Decrypted:
        d = self._dirs[direction]
        header = bytes([ctype]) + version.to_bytes(2, "big") + len(frag).to_bytes(2, "big")
        pt: bytes | None = None
        if d.stage == "handshake" and d.hs is not None:
            pt = self._open(d.hs, header, frag)
        if pt is None and d.app is not None:
            # handshake keys missing/failed: the record may be the first application one
            pt = self._open(d.app, header, frag)
            if pt is not None:
                d.stage = "application"
        if pt is None:
            # keep the sequence aligned past a damaged record
            if d.stage == "application" and d.app is not None:
                d.app.seq += 1
            elif d.hs is not None:
                d.hs.seq += 1
            return Decrypted(frame, ts, direction, ctype, b"", "authentication failed")
        # RFC 8446 §5.2 TLSInnerPlaintext: content || type || zeros
        body = pt.rstrip(b"\x00")
        if not body:
            return Decrypted(frame, ts, direction, 0, b"", "no inner content type")
        inner, content = body[-1], body[:-1]
        if inner == CT_HANDSHAKE and d.stage == "handshake":
            self._handshake(d, content)
        return Decrypted(frame, ts, direction, inner, content)

    @staticmethod
    def _handshake(d: _Dir13, content: bytes) -> None:
        """Switch to application keys after this direction's Finished (RFC 8446 §4.4.4)."""
        d.hsbuf += content
        pos = 0
        buf = d.hsbuf
        while len(buf) - pos >= 4:
            mlen = int.from_bytes(buf[pos + 1 : pos + 4], "big")
            if len(buf) - pos < 4 + mlen:
                break
            if buf[pos] == HS_FINISHED:
                d.stage = "application"
                d.hsbuf = bytearray()
                return
            pos += 4 + mlen
        del buf[:pos]
        if len(buf) > _HS_BUF_CAP:
            d.hsbuf = bytearray()


class SessionDecryptor:
    """Decrypts the protected records of one TLS session, both directions."""

    def __init__(
        self,
        keylog: KeyLog,
        client_random: bytes,
        server_random: bytes,
        version: int,
        cipher: int,
    ) -> None:
        reason = unsupported_reason(version, cipher)
        if reason:
            raise DecryptError(reason)
        secrets = keylog.secrets(client_random)
        self.version = version
        self.cipher = cipher
        self._impl: Tls12Decryptor | Tls13Decryptor
        if version == TLS13:
            if not any(k.endswith("TRAFFIC_SECRET_0") for k in secrets):
                raise DecryptError("key log has no TLS 1.3 traffic secrets for this session")
            self._impl = Tls13Decryptor(_SUITES13[cipher], secrets)
        else:
            master = secrets.get("CLIENT_RANDOM")
            if master is None:
                raise DecryptError("key log has no CLIENT_RANDOM entry for this session")
            self._impl = Tls12Decryptor(_SUITES12[cipher], master, client_random, server_random)

    def decrypt(self, direction: Direction, item: EncryptedItem) -> Decrypted:
        """Decrypt a protected record reported by TlsDirectionParser, in stream order."""
        return self.decrypt_record(
            direction, item.frame, item.ts, item.content_type, item.version, item.fragment
        )

    def decrypt_record(
        self, direction: Direction, frame: int, ts: int, ctype: int, version: int, frag: bytes
    ) -> Decrypted:
        return self._impl.decrypt_record(direction, frame, ts, ctype, version, frag)


def application_data(records: Iterable[Decrypted]) -> bytes:
    """Concatenated application_data plaintext of decrypted records (one direction)."""
    return b"".join(r.data for r in records if r.ok and r.content_type == CT_APPLICATION_DATA)


__all__ = [
    "Decrypted",
    "DecryptError",
    "KeyLog",
    "KeylogError",
    "SessionDecryptor",
    "application_data",
    "load_keylog",
    "parse_keylog",
    "unsupported_reason",
]
