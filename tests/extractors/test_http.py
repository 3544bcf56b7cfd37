"""HttpHandler on the real S09 capture (HTTP 6970) and on synthetic byte streams."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from capfcap.decode import SYN, Prefilter, decode
from capfcap.events import FileTransfer, FlowKey, TcpConnection
from capfcap.extractors import httpmsg
from capfcap.extractors.http import HttpHandler, filename_of
from capfcap.extractors.tcpstream import Reassembler
from capfcap.sources.inputs import InputSet, frames

ROOT = Path(__file__).resolve().parents[2]
REALPEER = ROOT / "pcaps" / "realpeer"
ITL_GOOD = REALPEER / "data" / "itl" / "ITL_good.tlv"
CONFIG = REALPEER / "data" / "config" / "SEP0023AB12CD34.cnf.xml"
KEY = FlowKey("tcp", "192.0.2.60", 40000, "198.51.100.6", 6970)


def conn_record(
    key: FlowKey, fin: tuple[int, ...] = (1,), rst: tuple[int, ...] = ()
) -> TcpConnection:
    return TcpConnection(
        key=key,
        first_ts=0,
        last_ts=0,
        frames=(),
        syn_frames=(),
        synack_frames=(),
        rst_frames=rst,
        rst_from=None,
        fin_frames=fin,
        conn_state="SF",
        history="ShADadFf",
        completeness=31,
        orig_pkts=0,
        resp_pkts=0,
        orig_bytes=0,
        resp_bytes=0,
    )


@dataclass
class _Conn:
    handler: HttpHandler
    c2s: Reassembler = field(default_factory=Reassembler)
    s2c: Reassembler = field(default_factory=Reassembler)
    fins: list[int] = field(default_factory=list)
    rsts: list[int] = field(default_factory=list)


def run_http(path: Path, port: int = 6970) -> list[FileTransfer]:
    """Minimal TCP feeding: one Reassembler per direction, connections keyed by 4-tuple."""
    pf = Prefilter()
    conns: dict[tuple[str, int, str], _Conn] = {}
    order: list[_Conn] = []
    for fr in frames([str(path)], InputSet()):
        p = decode(fr, pf)
        if p is None or p.proto != 6 or port not in (p.sport, p.dport):
            continue
        c2s = p.dport == port
        ck = (p.src, p.sport, p.dst) if c2s else (p.dst, p.dport, p.src)
        if ck not in conns or (c2s and p.flags & SYN and not p.flags & 0x10):
            conn = _Conn(HttpHandler(FlowKey("tcp", ck[0], ck[1], ck[2], port)))
            conns[ck] = conn
            order.append(conn)
        conn = conns[ck]
        r = conn.c2s if c2s else conn.s2c
        if p.flags & SYN:
            r.syn(p.seq)
        if p.flags & 0x01:
            conn.fins.append(p.frame)
        if p.flags & 0x04:
            conn.rsts.append(p.frame)
        for ch in r.add(p.seq, p.payload, p.frame, p.ts):
            conn.handler.data("c2s" if c2s else "s2c", ch.frame, ch.ts, ch.data)
    out: list[FileTransfer] = []
    for conn in order:
        for d, r in (("c2s", conn.c2s), ("s2c", conn.s2c)):
            for ch in r.flush():
                conn.handler.data(d, ch.frame, ch.ts, ch.data)  # type: ignore[arg-type]
        rec = conn_record(conn.handler.key, tuple(conn.fins), tuple(conn.rsts))
        out += [e for e in conn.handler.close(rec) if isinstance(e, FileTransfer)]
    return out


def run_bytes(
    parts: list[tuple[str, bytes]], fin: tuple[int, ...] = (99,), rst: tuple[int, ...] = ()
) -> list[FileTransfer]:
    h = HttpHandler(KEY)
    for i, (d, b) in enumerate(parts, start=1):
        h.data(d, i, i * 1000, b)  # type: ignore[arg-type]
    evs = h.close(conn_record(KEY, fin, rst))
    assert all(isinstance(e, FileTransfer) for e in evs)
    return [e for e in evs if isinstance(e, FileTransfer)]


# ---- real capture ------------------------------------------------------------------------


def test_s09_http_downloads() -> None:
    ev = {e.filename: e for e in run_http(REALPEER / "S09_http6970.pcap")}
    assert set(ev) == {
        "CTLSEP0023AB12CD34.tlv",
        "ITLSEP0023AB12CD34.tlv",
        "ITLFile.tlv",
        "SEP0023AB12CD34.cnf.xml",
    }
    for name, req, resp in (("CTLSEP0023AB12CD34.tlv", 6, 10), ("ITLSEP0023AB12CD34.tlv", 20, 24)):
        t = ev[name]
        assert t.status == "error" and t.http_status == 404 and t.data is None
        assert t.request_frames == (req,) and resp in t.frames and t.size == 335
    itl = ev["ITLFile.tlv"]
    assert itl.protocol == "http" and itl.status == "complete" and itl.http_status == 200
    assert itl.size == 9054 and itl.data == ITL_GOOD.read_bytes()
    assert hashlib.sha256(itl.data).hexdigest().startswith("13c44f80ca0cd5dc")
    assert itl.request_frames == (34,) and itl.frames == (34, 36, 38, 39, 40, 41, 42, 48, 49)
    assert itl.server_port == 6970 and itl.client == "192.0.2.21"
    cfg = ev["SEP0023AB12CD34.cnf.xml"]
    assert cfg.status == "complete" and cfg.size == 2672 and cfg.data == CONFIG.read_bytes()
    assert cfg.request_frames == (58,) and 63 in cfg.frames


# ---- synthetic streams -------------------------------------------------------------------

GET = b"GET /dir/%s HTTP/1.1\r\nHost: h:6970\r\n\r\n"


def _get(name: bytes) -> bytes:
    return GET % name


def _resp(code: int, body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n%s\r\n" % (code, len(body), extra) + body


def test_chunked_body() -> None:
    body = b"<xml>" + b"y" * 300 + b"</xml>"
    chunked = b"5;ext=1\r\n" + body[:5] + b"\r\n" + b"%x\r\n" % (len(body) - 5) + body[5:]
    chunked += b"\r\n0\r\nX-Trailer: 1\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    (t,) = run_bytes([("c2s", _get(b"SEP1.cnf.xml")), ("s2c", head + chunked)])
    assert t.status == "complete" and t.data == body and t.size == len(body)
    assert t.filename == "SEP1.cnf.xml" and "chunked" in t.note


def test_keep_alive_two_requests_and_pipelining() -> None:
    a, b = b"A" * 100, b"B" * 7000
    seq = [
        ("c2s", _get(b"ITLFile.tlv")),
        ("s2c", _resp(200, a)),
        ("c2s", _get(b"CTLFile.tlv") + _get(b"x.cnf.xml")),  # two pipelined requests
        ("s2c", _resp(404, b"nope") + _resp(200, b)[:-4000]),
        ("s2c", b[-4000:]),
    ]
    t1, t2, t3 = run_bytes(seq)
    assert (t1.filename, t1.status, t1.data, t1.http_status) == ("ITLFile.tlv", "complete", a, 200)
    assert (t1.request_frames, t1.frames) == ((1,), (1, 2))
    assert (t2.filename, t2.status, t2.http_status) == ("CTLFile.tlv", "error", 404)
    assert (t3.filename, t3.status, t3.data) == ("x.cnf.xml", "complete", b)
    assert t2.request_frames == t3.request_frames == (3,) and t3.frames == (3, 4, 5)


def test_503_and_no_response() -> None:
    t1, t2 = run_bytes([("c2s", _get(b"a") + _get(b"b")), ("s2c", _resp(503, b""))])
    assert t1.status == "error" and t1.http_status == 503
    assert t2.status == "no_response" and t2.http_status is None and t2.frames == (1,)


def test_short_body_is_incomplete() -> None:
    (t,) = run_bytes([("c2s", _get(b"ITLFile.tlv")), ("s2c", _resp(200, b"x" * 50)[:-10])])
    assert t.status == "incomplete" and t.data == b"x" * 40 and "body 40 of 50" in t.note


def test_lying_chunk_sizes() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    # claims 0x100 bytes, sends 10 and ends: the chunk never completes
    (big,) = run_bytes(
        [("c2s", _get(b"f")), ("s2c", head + b"100\r\n" + b"z" * 10 + b"\r\n0\r\n\r\n")]
    )
    assert big.status == "incomplete" and big.size == 17
    # claims 4 bytes, sends 10: framing breaks
    (small,) = run_bytes(
        [("c2s", _get(b"f")), ("s2c", head + b"4\r\n" + b"z" * 10 + b"\r\n0\r\n\r\n")]
    )
    assert small.status == "incomplete" and "longer than its size" in small.note
    # an absurd size is refused without allocating
    (huge,) = run_bytes([("c2s", _get(b"f")), ("s2c", head + b"ffffffffffffffff\r\nzz")])
    assert huge.status == "incomplete" and "out of bounds" in huge.note


def test_http10_body_until_close() -> None:
    resp = b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\n" + b"q" * 1234
    (ok,) = run_bytes([("c2s", _get(b"f")), ("s2c", resp)], fin=(9,))
    assert ok.status == "complete" and ok.size == 1234 and "connection close" in ok.note
    (cut,) = run_bytes([("c2s", _get(b"f")), ("s2c", resp)], fin=(), rst=(9,))
    assert cut.status == "incomplete"


def test_one_sided_request_notes_unseen_server_data() -> None:
    h = HttpHandler(KEY)
    h.data("c2s", 1, 1000, _get(b"ITLFile.tlv"))
    rec = dataclasses.replace(conn_record(KEY), orig_acked_unseen=3)
    (t,) = h.close(rec)
    assert isinstance(t, FileTransfer) and t.status == "no_response"
    assert "server data never captured (3)" in t.note


def test_response_without_captured_request() -> None:
    (t,) = run_bytes([("s2c", _resp(200, b"abc"))])
    assert t.filename == "" and t.request_frames == () and t.http_status == 200
    assert "request never captured" in t.note


def test_interim_100_and_head_and_header_bound(monkeypatch: object) -> None:
    seq = [
        ("c2s", b"HEAD /a HTTP/1.1\r\n\r\n" + _get(b"b")),
        ("s2c", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"),
        ("s2c", _resp(200, b"body")),
    ]
    t1, t2 = run_bytes(seq)
    assert t1.status == "complete" and t1.size == 0 and "method HEAD" in t1.note
    assert t2.status == "complete" and t2.data == b"body"
    (t,) = run_bytes([("c2s", b"GET /x HTTP/1.1\r\n" + b"X: y\r\n" * 20000)])
    assert t.status == "no_response" and "header larger" in t.note


def test_body_cap() -> None:
    old = httpmsg.MAX_BODY
    httpmsg.MAX_BODY = 100
    try:
        (t,) = run_bytes([("c2s", _get(b"f")), ("s2c", _resp(200, b"w" * 500))])
    finally:
        httpmsg.MAX_BODY = old
    assert t.size == 500 and len(t.data or b"") == 100 and t.status == "incomplete"
    assert "capped" in t.note


def test_filename_of() -> None:
    assert filename_of("/a/b/ITLFile.tlv?x=1#f") == "ITLFile.tlv"
    assert filename_of("http://h:6970/SEP%41B.cnf.xml") == "SEPAB.cnf.xml"
    assert filename_of("CTLFile.tlv") == "CTLFile.tlv"


def test_not_http_is_ignored() -> None:
    (t,) = run_bytes([("c2s", _get(b"f")), ("s2c", b"\x16\x03\x01\x00\x10garbage")])
    assert t.status == "no_response" and "not an HTTP response" in t.note
    assert run_bytes([("c2s", b"\x16\x03\x01 tls client hello")]) == []


# ---- properties --------------------------------------------------------------------------

CONVERSATION = [
    ("c2s", _get(b"ITLFile.tlv") + _get(b"b")),
    ("s2c", _resp(200, bytes(range(256)) * 3)),
    (
        "s2c",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ),
]


def _summary(evs: list[FileTransfer]) -> list[tuple[object, ...]]:
    return [(e.filename, e.status, e.data, e.size, e.http_status) for e in evs]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_segmentation_gives_the_same_result(data: st.DataObject) -> None:
    parts: list[tuple[str, bytes]] = []
    for d, b in CONVERSATION:
        cuts = sorted(data.draw(st.lists(st.integers(0, len(b)), max_size=6)))
        prev = 0
        for c in [*cuts, len(b)]:
            if c > prev:
                parts.append((d, b[prev:c]))
            prev = c
    assert _summary(run_bytes(parts)) == _summary(run_bytes(CONVERSATION))
    assert [e.status for e in run_bytes(parts)] == ["complete", "complete"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["c2s", "s2c"]),
            st.one_of(
                st.binary(max_size=200),
                st.sampled_from([_get(b"f"), _resp(200, b"xy"), b"0\r\n\r\n", b"\r\n"]),
            ),
        ),
        max_size=20,
    ),
    st.booleans(),
)
def test_fuzz_never_raises(parts: list[tuple[str, bytes]], fin: bool) -> None:
    for t in run_bytes(parts, fin=(1,) if fin else ()):
        assert t.data is None or len(t.data) <= t.size
        assert t.status in ("complete", "error", "incomplete", "no_response")


def test_a_closed_handler_is_freed_without_the_cycle_collector() -> None:
    """The parsers point back at their handler; once the connection is closed nothing
    may keep that cycle, or every HTTP connection of a bulk capture waits for a full
    collection (tens of MB at 10,000 phones)."""
    import gc
    import weakref

    h = HttpHandler(KEY)
    h.data("c2s", 1, 1000, b"GET /SEP0023AB12CD34.cnf.xml HTTP/1.1\r\nHost: x\r\n\r\n")
    h.data("s2c", 2, 2000, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
    was = gc.isenabled()
    gc.disable()
    try:
        (t,) = h.close(conn_record(KEY, (99,), ()))
        assert t.status == "complete" and t.data == b"abc"
        ref = weakref.ref(h)
        del h
        assert ref() is None
    finally:
        if was:
            gc.enable()
