"""Fuzz targets shared by tests/test_fuzz.py (short, in CI) and tools/fuzz_long.py (long).

Each target takes one `bytes` input and raises only on a bug: anything escaping other
than the parser's own documented error, or a broken bound. Inputs are either parsed as
they are, or read as a mutation program applied to a real capture from pcaps/realpeer
(so the fuzzer starts from valid structure and damages it), see `mutate`.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import tempfile
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "pcaps" / "realpeer"
# the client opens with an SSLv2-compatible ClientHello (tools/gen_pcaps.py)
SSLV2_CAPTURE = ROOT / "pcaps" / "synthetic" / "sslv2_hello_capf.pcap"

# seeds: (capture, key log or None)
SEEDS = [
    ("S01_happy.pcap", "S01_happy.keylog"),
    ("S01_happy.pcapng", "S01_happy.keylog"),
    ("S09_http6970.pcap", "S09_http6970.keylog"),
    ("S11_two_tftp_itl_mismatch.pcap", None),
    ("S13_ipv6_relay.pcap", "S13_ipv6_relay.keylog"),
    ("S07_capf_cert_mismatch.pcap", None),
]
INTERESTING_U32 = (0, 1, 0x7F, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFF0)


@cache
def seed_bytes(i: int) -> bytes:
    return (REAL / SEEDS[i % len(SEEDS)][0]).read_bytes()


@cache
def keylog(i: int) -> object | None:
    name = SEEDS[i % len(SEEDS)][1]
    if name is None:
        return None
    from capfcap.extractors.tlsdecrypt import load_keylog

    return load_keylog(str(REAL / "keylogs" / name))


def mutate(seed: bytes, prog: bytes) -> bytes:
    """Apply a mutation program: 6-byte instructions (op, position u32, value).

    op % 5: 0 xor a byte, 1 write an interesting u32 (both byte orders), 2 truncate,
    3 delete 1-64 bytes, 4 duplicate 1-64 bytes. At most 32 instructions.
    """
    b = bytearray(seed)
    for k in range(0, min(len(prog), 32 * 6) - 5, 6):
        op, val = prog[k], prog[k + 5]
        if not b:
            break
        pos = struct.unpack_from("<I", prog, k + 1)[0] % len(b)
        kind = op % 5
        if kind == 0:
            b[pos] ^= val or 0x80
        elif kind == 1:
            v = INTERESTING_U32[val % len(INTERESTING_U32)]
            b[pos : pos + 4] = struct.pack("<I" if val & 0x80 else ">I", v)
        elif kind == 2:
            del b[pos:]
        elif kind == 3:
            del b[pos : pos + 1 + val % 64]
        else:
            b[pos:pos] = b[pos : pos + 1 + val % 64]
    return bytes(b)


def _tmpfile(data: bytes, suffix: str) -> str:
    fd, path = tempfile.mkstemp(prefix="capfcap-fuzz-", suffix=suffix)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


# -- targets --------------------------------------------------------------------------
def reader(data: bytes) -> None:
    """pcap/pcapng/.gz reader on a mutated real capture: only CaptureError escapes, frame
    count and sizes are bounded by the file."""
    from capfcap.sources.files import MAX_FRAME, CaptureError, FileInfo, read_capture

    if not data:
        return
    sel, prog = data[0], data[1:]
    raw = mutate(seed_bytes(sel), prog)
    gz = sel & 0x80
    if gz:
        raw = gzip.compress(raw, mtime=0)[: None if sel & 0x40 else max(10, len(raw) // 3)]
    path = _tmpfile(raw, ".pcap.gz" if gz else ".pcap")
    try:
        info = FileInfo(path)
        n = 0
        try:
            for fr in read_capture(path, info):
                n += 1
                assert fr.number == n
                assert len(fr.data) <= MAX_FRAME
        except CaptureError as e:
            assert str(e).startswith(path), str(e)
        assert info.packets == n
        if not gz:  # every record costs at least its 16-byte header (pcapng: 32 bytes)
            assert n * 16 <= len(raw)
    finally:
        os.unlink(path)


def pipeline(data: bytes) -> None:
    """The whole analysis on a mutated real capture (with its key log): never raises."""
    from capfcap.bundle.archive import build as build_bundle
    from capfcap.pipeline import Options, analyze
    from capfcap.reporters.json import render as rj
    from capfcap.reporters.markdown import render as rm
    from capfcap.reporters.text import render as rt

    if not data:
        return
    sel, prog = data[0], data[1:]
    raw = mutate(seed_bytes(sel), prog)
    path = _tmpfile(raw, ".pcap")
    try:
        opts = Options(keylog=None, keylog_data=keylog(sel) if sel & 0x40 else None)
        report, inputs = analyze([path], opts)
        build_bundle(report, inputs, bool(sel & 0x20))  # evidence pcapng, carved objects
        rj(report)
        rm(report)
        rt(report, io.StringIO(), color=False, width=80)
    finally:
        os.unlink(path)


@cache
def tls_streams() -> list[tuple[bytes, bytes]]:
    """(client bytes, server bytes) of the TLS connections in the seed captures (real
    ones, and the synthetic one whose client starts with an SSLv2-compatible hello)."""
    from capfcap.decode import TCP, decode
    from capfcap.sources.files import read_capture

    out: list[tuple[bytes, bytes]] = []
    for path in (REAL / "S01_happy.pcap", REAL / "S07_capf_cert_mismatch.pcap",
                 REAL / "S14_tls_version_mismatch.pcap", SSLV2_CAPTURE):
        c = bytearray()
        s = bytearray()
        for fr in read_capture(str(path)):
            p = decode(fr)
            if p is None or p.proto != TCP or not p.payload:
                continue
            if p.dport == 3804:
                c += p.payload
            elif p.sport == 3804:
                s += p.payload
        out.append((bytes(c), bytes(s)))
    return out


def tls_handler(data: bytes) -> None:
    """TlsHandler fed random chunks (mutated real handshakes, or raw bytes) in both
    directions, then closed: never raises, keeps bounded state."""
    from capfcap.events import Direction, FlowKey, TcpConnection
    from capfcap.extractors.tls import MAX_KEEP, TlsHandler

    if len(data) < 2:
        return
    sel, rest = data[0], data[1:]
    streams = tls_streams()
    if sel & 1:
        c, s = streams[(sel >> 1) % len(streams)]
        c, s = mutate(c, rest[:96]), mutate(s, rest[96:192])
        cuts = rest[192:]
    else:
        half = len(rest) // 2
        c, s, cuts = rest[:half], rest[half:], rest
    key = FlowKey("tcp", "192.0.2.21", 50000, "198.51.100.11", 3804)
    h = TlsHandler(key, keylog(0) if sel & 2 else None, capf=True)
    pos: dict[Direction, int] = {"c2s": 0, "s2c": 0}
    src: dict[Direction, bytes] = {"c2s": c, "s2c": s}
    frame = 0
    for k in range(0, max(len(cuts), 1)):
        d: Direction = "c2s" if (cuts[k] if cuts else 0) & 1 else "s2c"
        step = 1 + ((cuts[k] if cuts else 255) >> 1) * 23
        chunk = src[d][pos[d] : pos[d] + step]
        pos[d] += len(chunk)
        if chunk:
            frame += 1
            h.data(d, frame, frame * 1000, chunk)
    rest_dirs: tuple[Direction, ...] = ("c2s", "s2c")
    for d in rest_dirs:  # the rest, in one piece
        if pos[d] < len(src[d]):
            frame += 1
            h.data(d, frame, frame * 1000, src[d][pos[d] :])
    assert all(len(v) <= MAX_KEEP for v in h.encrypted.values())
    conn = TcpConnection(key, 0, frame * 1000, tuple(range(1, frame + 1)), (1,), (), (), None,
                         (), "SF", "ShADadfF", 31, frame, frame, len(c), len(s))
    h.close(conn)


# SSLv2-compatible ClientHello (RFC 5246 Appendix E.2): 2-byte header, msg_type 1,
# version 0x0301, the three lengths, V2CipherSpecs (one SSL 2.0-only, two TLS), challenge.
V2_HELLO = (b"\x80\x32\x01\x03\x01\x00\x09\x00\x00\x00\x20"
            + bytes.fromhex("010080" "00002f" "000035") + bytes(range(32)))
TLS_AFTER_V2 = b"\x16\x03\x01\x00\x06\x10\x00\x00\x02\xab\xcd" + b"\x14\x03\x01\x00\x01\x01"


def v2_expected(stream: bytes) -> tuple[int, tuple[int, ...], bytes] | str | None:
    """What a correct parser makes of an SSLv2-compatible ClientHello at the start of
    `stream`, judged from the RFC alone: (version, TLS suites, random) when valid and
    complete, "bad" when its (partial) 11-byte header breaks a rule, None when still
    incomplete."""
    if (len(stream) >= 4 and stream[3] != 3) or (len(stream) >= 5 and stream[4] > 3):
        return "bad"
    if len(stream) < 11:
        return None
    length = ((stream[0] & 0x7F) << 8) | stream[1]
    version = int.from_bytes(stream[3:5], "big")
    cs, sid, chal = (int.from_bytes(stream[i:i + 2], "big") for i in (5, 7, 9))
    if (cs == 0 or cs % 3 or sid not in (0, 16)
            or not 16 <= chal <= 32 or length != 9 + cs + sid + chal):
        return "bad"
    if len(stream) < 2 + length:
        return None
    specs = stream[11:11 + cs]
    suites = tuple(int.from_bytes(specs[i + 1:i + 3], "big")
                   for i in range(0, cs, 3) if specs[i] == 0)
    challenge = stream[11 + cs + sid:2 + length]
    return version, suites, bytes(32 - chal) + challenge


def sslv2_hello(data: bytes) -> None:
    """A client-direction TlsDirectionParser on an SSLv2-compatible ClientHello (mutated,
    or random bytes behind a v2 header) in random chunks: never raises, accepts the hello
    exactly when the RFC rules hold, rejects it with NotTls otherwise, keeps bounded
    state, and reads the TLS records that follow a valid one."""
    from capfcap.extractors import tlsitems as ti
    from capfcap.extractors import tlsparse as tp

    if len(data) < 2:
        return
    sel, rest = data[0], data[1:]
    if sel & 1:
        stream = mutate(V2_HELLO, rest[:48]) + TLS_AFTER_V2
        cuts = rest[48:]
    else:  # raw bytes behind a plausible start: high bit, msg_type 1
        stream = bytes([0x80 | (rest[0] & 0x7F)]) + rest[1:2] + b"\x01" + rest[2:]
        cuts = rest
    if not stream[0] & 0x80 or len(stream) < 3 or stream[2] != 1:
        return  # mutated out of the SSLv2 branch: the record fuzzers cover the rest
    p = tp.TlsDirectionParser(sslv2_hello=True)
    items: list[ti.TlsItem] = []
    pos = 0
    for k, cut in enumerate(cuts or b"\xff"):
        chunk = stream[pos:pos + 1 + cut % 29]
        pos += len(chunk)
        items += p.feed(k + 1, k, chunk)
        assert p.buffered <= ti.HEADER_LEN + ti.MAX_RECORD + 4 + ti.MAX_HANDSHAKE
        if pos >= len(stream):
            break
    if pos < len(stream):
        items += p.feed(len(cuts) + 1, 0, stream[pos:])
    want = v2_expected(stream)
    hellos = [i for i in items if isinstance(i, ti.ClientHello) and i.sslv2]
    if want == "bad":
        assert not hellos and len(items) == 1 and isinstance(items[0], ti.NotTls), items
    elif want is None:
        assert items == [] and not p.dead
    else:
        assert items and items[0] is (hellos or [None])[0], items
        assert (hellos[0].legacy_version, hellos[0].ciphers, hellos[0].random) == want
    terminal = [i for i in items if isinstance(i, ti.NotTls | ti.Anomaly) and
                (isinstance(i, ti.NotTls) or i.fatal)]
    assert len(terminal) <= 1 and (not terminal or items[-1] is terminal[0])


def capf_stream(data: bytes) -> None:
    """CAPF messages (DOMAIN §3.2) from random chunks of mutated valid messages or raw
    bytes: only CapfError escapes, at most once per direction, buffer bounded."""
    from capfcap.dissectors.capf import HEADER_LEN, CapfError, CapfStream

    if not data:
        return
    sel, rest = data[0], data[1:]
    if sel & 1:
        # AUTH_RESPONSE-like message: header 55 cmd u32 session u16 length, TLV elements
        els = b"\x0b\x00\x06secret" + b"\x01\x00\x01\x03" + b"\x0c\x00\x02\x07\xd0"
        msg = bytes([0x55, 3]) + b"\0\0\0\x2a" + struct.pack(">H", len(els)) + els
        body = mutate(msg * 3, rest[:60])
        cuts = rest[60:]
    else:
        body, cuts = rest, rest
    st = CapfStream("c2s", show_secrets=bool(sel & 2))
    pos = 0
    raised = 0
    for k, cut in enumerate(cuts or b"\xff"):
        chunk = body[pos : pos + 1 + cut % 97]
        pos += len(chunk)
        try:
            msgs = st.feed(k, k, chunk)
        except CapfError:
            raised += 1
            continue
        assert st.buffered < HEADER_LEN + 65536
        if not sel & 2:
            assert all(v == "****" for m in msgs for n, v in m.elements if n == "PASSWORD")
        if pos >= len(body):
            break
    assert raised <= 1


TARGETS = {
    "reader": reader,
    "pipeline": pipeline,
    "tls_handler": tls_handler,
    "sslv2_hello": sslv2_hello,
    "capf_stream": capf_stream,
}
