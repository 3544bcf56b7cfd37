"""The fast paths never change a finding (DESIGN §7, issue 8).

Four ways to run the same analysis must give byte-identical JSON reports:
- `--no-fast-path` (Options.fast=False): every frame decoded, Prefilter.relevant() applied;
- the byte-level prefilter in decode() without the fused skip loop (Options.scan=False);
- the fused reader + prefilter (capfcap/sources/scan.py) in one process;
- the default for large captures: the same in a reader process whose prefilter learns
  ahead, and the analysis in this one (`--jobs 2`, capfcap/parallel.py).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capfcap.arp import arp
from capfcap.decode import Prefilter, decode, ip_packed
from capfcap.headers import inner_frame
from capfcap.pipeline import Options, analyze
from capfcap.reporters.json import render
from capfcap.sources.files import FileInfo, read_capture
from capfcap.sources.frame import Frame
from capfcap.sources.linklayer import NOT_DECODED
from capfcap.sources.relevance import skippable
from capfcap.sources.scan import Skipper
from tests.tunnels import write_pcap as write_tunnel_pcap

ROOT = Path(__file__).resolve().parent.parent
PCAPS = sorted(
    p for p in (ROOT / "pcaps").rglob("*")
    if p.is_file() and p.name.endswith((".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz"))
)
MODES = {
    "scan": Options(jobs=1),
    "no-scan": Options(scan=False, jobs=1),
    "no-fast-path": Options(fast=False, jobs=1),
    "reader-process": Options(jobs=2),
}


def _json(paths: list[str], opts: Options, capf_ports: tuple[int, ...] = ()) -> str:
    report, _inputs = analyze(paths, Options(fast=opts.fast, scan=opts.scan, jobs=opts.jobs,
                                             capf_ports=list(capf_ports)))
    return render(report)


def _assert_same(paths: list[str], capf_ports: tuple[int, ...] = ()) -> str:
    out = {name: _json(paths, o, capf_ports) for name, o in MODES.items()}
    assert out["scan"] == out["no-fast-path"], f"fused scan differs from --no-fast-path on {paths}"
    assert out["no-scan"] == out["no-fast-path"], f"prefilter differs on {paths}"
    assert out["reader-process"] == out["no-fast-path"], f"reader process differs on {paths}"
    return out["scan"]


def test_there_are_captures() -> None:
    assert len(PCAPS) >= 10


@pytest.mark.parametrize("path", PCAPS, ids=lambda p: str(p.relative_to(ROOT / "pcaps")))
def test_same_findings_on_every_capture(path: Path) -> None:
    _assert_same([str(path)])


@pytest.mark.parametrize("name", ["realpeer/S16_capf_port3806.pcap", "synthetic/notftp_S16.pcap"])
def test_same_findings_with_a_given_capf_port(name: str) -> None:
    """--capf-port 3806 reaches the prefilter, the reader process's learning prefilter and
    the correlator alike: with it every mode sees both phones' CAPF connections."""
    path = str(ROOT / "pcaps" / name)
    out = _assert_same([path], capf_ports=(3806,))
    assert '"CAPF_UNIDIRECTIONAL"' in out and '"CAPF_LSC_ISSUED"' in out
    assert '"port": 3804' not in out


def test_same_findings_on_merged_files() -> None:
    real = [str(p) for p in PCAPS if p.parent.name == "realpeer" and p.suffix == ".pcap"]
    _assert_same(real[:3])


# --- a generated SPAN capture: learned phones and TFTP ports, VLAN tags, IPv6 noise ---

def _bench():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import bench
    finally:
        sys.path.pop(0)
    return bench


# the tests of the generated capture run on one pytest-xdist worker: it is generated once
SPAN = pytest.mark.xdist_group("fastpath span")


@pytest.fixture(scope="module")
def span(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("span") / "span.pcap"
    _bench().generate(p, 30_000, 0.05)
    return p


@SPAN
def test_same_findings_on_generated_span(span: Path) -> None:
    out = _assert_same([str(span)])
    assert '"CAPF_LSC_ISSUED"' in out  # the phone conversations were analysed
    assert '"packets": 30000' in out  # every record counted


@SPAN
def test_same_findings_on_generated_span_gz(span: Path, tmp_path: Path) -> None:
    gz = tmp_path / "span.pcap.gz"
    with open(span, "rb") as fi, gzip.open(gz, "wb", compresslevel=1) as fo:
        shutil.copyfileobj(fi, fo)
    assert '"packets": 30000' in _assert_same([str(gz)])


@SPAN
@pytest.mark.skipif(shutil.which("editcap") is None, reason="editcap not installed")
def test_same_findings_on_generated_span_pcapng(span: Path, tmp_path: Path) -> None:
    ng = tmp_path / "span.pcapng"
    subprocess.run(["editcap", "-F", "pcapng", str(span), str(ng)], check=True)
    _assert_same([str(ng)])


@SPAN
@pytest.mark.parametrize("kind", ["erspan2", "vxlan"])  # the GRE and the UDP path
def test_same_findings_on_generated_span_in_a_tunnel(span: Path, tmp_path: Path,
                                                    kind: str) -> None:
    """The same capture sent by a remote SPAN (tests/tunnels.py): every mode, the reader
    process too, finds what it finds in the capture itself, and the fused reader still
    skips the noise inside the tunnel packets."""
    tun = tmp_path / f"span.{kind}.pcap"
    write_tunnel_pcap(tun, kind, read_capture(str(span)))
    got = json.loads(_assert_same([str(tun)]))
    want = json.loads(_json([str(span)], MODES["scan"]))
    assert len(want["phones"]) > 5 and want["findings"]
    for key in ("findings", "withheld", "phones"):
        assert got[key] == want[key], key
    sk = Skipper(Prefilter())
    kept = sum(1 for _f in read_capture(str(tun), FileInfo(str(tun)), 0, sk))
    assert sk.skipped > 20_000 and kept + sk.skipped == 30_000


@SPAN
def test_skipper_counts_every_record(span: Path) -> None:
    pf = Prefilter()
    sk = Skipper(pf)
    info = FileInfo(str(span))
    yielded = [f.number for f in read_capture(str(span), info, 0, sk)]
    plain = FileInfo(str(span))
    every = [f for f in read_capture(str(span), plain, 0)]
    assert len(every) == 30_000 == info.packets == plain.packets
    for attr in ("first", "last", "cut", "first_cut", "linktype_frames", "sha256"):
        assert getattr(info, attr) == getattr(plain, attr), attr
    assert sk.skipped > 20_000 and len(yielded) + sk.skipped == 30_000
    kept = set(yielded)
    for fr in every:  # nothing decode() would keep was skipped
        if fr.number not in kept:
            assert decode(fr, pf) is None, fr.number


# --- property: the skip decision implies decode() drops the frame ---

PORTS = st.sampled_from([53, 69, 3804, 6970, 2445, 5060, 16384, 40000, 1024, 0, 65535])
HOSTS = [bytes((192, 0, 2, 7)), bytes((198, 51, 100, 9)),
         bytes.fromhex("20010db8000000000000000000000007")]


@st.composite
def frames(draw: st.DrawFn, lt: int | None = None) -> tuple[int, bytes]:
    if lt is None:
        lt = draw(st.sampled_from([1, 1, 1, 113, 276, 101, 12, 228, 229, 0, 147]))
    ver = draw(st.sampled_from([4, 4, 6, 0]))
    et = {4: 0x0800, 6: 0x86DD, 0: draw(st.sampled_from([0x0806, 0x8863, 0x88CC]))}[ver]
    if lt == 1:
        tags = draw(st.lists(st.sampled_from([0x8100, 0x88A8, 0x9100]), max_size=3))
        link = bytes(12) + b"".join(struct.pack("!HH", t, 100) for t in tags) + struct.pack(
            "!H", et)
    elif lt == 113:
        link = bytes(14) + struct.pack("!H", et)
    elif lt == 276:
        link = struct.pack("!H", et) + bytes(18)
    else:
        link = b""
    proto = draw(st.sampled_from([6, 17, 17, 1, 58, 47, 0, 43, 44, 60, 50]))
    src = draw(st.sampled_from(HOSTS[:2] + [bytes((203, 0, 113, 5))]))
    dst = draw(st.sampled_from(HOSTS[:2] + [bytes((203, 0, 113, 6))]))
    l4 = struct.pack("!HH", draw(PORTS), draw(PORTS)) + draw(st.binary(max_size=24))
    if ver == 6:
        if proto in (0, 43, 44, 60):  # an extension header (RFC 8200 §4) before TCP/UDP
            l4 = bytes((draw(st.sampled_from([6, 17, 58, 50])), 0)) + bytes(6) + l4
        s6 = draw(st.sampled_from([HOSTS[2], bytes(16)]))
        plen = draw(st.sampled_from([len(l4), 0, 2, 3000]))
        ip = struct.pack("!IHBB", 0x60000000, plen, proto, 64) + s6 + bytes(16)
    else:
        ihl = draw(st.sampled_from([5, 5, 5, 6, 4, 15]))
        total = draw(st.sampled_from([ihl * 4 + len(l4), 0, 20, 22, 23, 24, 9000]))
        vb = draw(st.sampled_from([0x40, 0x40, 0x60]))
        ip = struct.pack("!BBHHHBBH4s4s", vb | ihl, 0, total, 0, 0, 64, proto, 0, src, dst)
        ip += bytes(max(0, ihl * 4 - 20))
    data = link + ip + l4
    cut = draw(st.integers(min_value=0, max_value=len(data)))
    if draw(st.booleans()):
        data = data[:cut]
    return lt, data


# GRE flags (C 0x8000, R 0x4000, K 0x2000, S 0x1000, s 0x0800, Recur, version 1 = 0x0001)
GRE_FLAGS = st.sampled_from([0, 0x1000, 0x1000, 0x2000, 0x8000, 0xB000, 0x4000, 0x0800, 0x0001,
                             0x0400])
# ERSPAN headers: none (type I / TEB), version 1 (II), version 2 (III) without and with the
# platform subheader, version 2 with frame type 2, an unknown version 3
ERSPAN = st.sampled_from([b"", b"\x10" + bytes(7), b"\x20" + bytes(11),
                          b"\x20" + bytes(10) + b"\x01" + bytes(8),
                          b"\x20" + bytes(9) + b"\x08\x00", b"\x30" + bytes(7)])


@st.composite
def tunnelled(draw: st.DrawFn, lt: int | None = None) -> tuple[int, bytes]:
    """A frame of `frames(1)` inside a GRE (TEB, ERSPAN, other) or VXLAN packet, or a
    tunnel packet around garbage; outer IPv4 or IPv6, perhaps fragmented, perhaps cut."""
    if lt is None:
        lt = draw(st.sampled_from([1, 1, 113, 101]))
    _lt, inner = draw(frames(1))
    if draw(st.integers(0, 9)) == 0:  # a tunnel in the tunnel
        _lt2, inner2 = draw(tunnelled(1))
        inner = inner[:14] + inner2[14:]
    if draw(st.booleans()):
        flags = draw(GRE_FLAGS)
        ptype = draw(st.sampled_from([0x88BE, 0x88BE, 0x22EB, 0x6558, 0x0800]))
        opt = bytes(4 * ((flags >> 15 & 1) + (flags >> 13 & 1) + (flags >> 12 & 1)))
        payload = struct.pack("!HH", flags, ptype) + opt + draw(ERSPAN) + inner
        proto = 47
    else:
        vx = bytes((draw(st.sampled_from([0x08, 0x08, 0x00, 0x0C])),)) + bytes(7)
        ulen = draw(st.sampled_from([16 + len(inner), 0, 8, 20]))
        dport = draw(st.sampled_from([4789, 4789, 53, 40000]))
        payload = struct.pack("!HHHH", draw(PORTS), dport, ulen, 0) + vx + inner
        proto = 17
    payload = payload[:draw(st.integers(0, len(payload)))] if draw(st.booleans()) else payload
    if draw(st.booleans()):
        frag = draw(st.sampled_from([0, 0, 0x2000, 0x0001]))  # MF, or an offset
        src = draw(st.sampled_from(HOSTS[:2] + [bytes((203, 0, 113, 5))]))
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, frag, 64, proto, 0,
                         src, bytes((203, 0, 113, 6)))
        et = b"\x08\x00"
    else:
        ip = struct.pack("!IHBB", 0x60000000, len(payload), proto, 64) + HOSTS[2] + bytes(16)
        et = b"\x86\xdd"
    link = {1: bytes(12) + et, 113: bytes(14) + et}.get(lt, b"")
    data = link + ip + payload
    if draw(st.integers(0, 4)) == 0:
        data = data[:draw(st.integers(0, len(data)))]
    return lt, data


@st.composite
def prefilters(draw: st.DrawFn) -> Prefilter:
    pf = Prefilter()
    for h in draw(st.lists(st.sampled_from(HOSTS), max_size=3)):
        pf.add_host(h)
    for port in draw(st.lists(PORTS, max_size=3)):
        pf.add_tftp_port(port)
    return pf


@pytest.mark.slow
@settings(max_examples=3000, deadline=None)
@given(st.one_of(frames(), tunnelled()), prefilters())
def test_skippable_implies_decode_drops(fr: tuple[int, bytes], pf: Prefilter) -> None:
    """... and that the frame is not a tunnel packet whose frame the analysis counts as
    not read."""
    lt, data = fr
    buf = b"\xee" * 7 + data + b"\x00\x35\x00\x35" * 8  # neighbours must not be read
    if skippable(buf, 7, 7 + len(data), lt, pf):
        frame = Frame(1, 0, lt, data, len(data))
        assert decode(frame, pf) is None
        assert arp(frame) is None
        assert inner_frame(lt, data)[0] != NOT_DECODED


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), prefilters(), st.sampled_from(["<", ">"]),
       st.sampled_from([1, 1, 113, 276, 101, 228]), st.booleans())
def test_reader_skip_equals_decode(data: st.DataObject, pf: Prefilter, endian: str,
                                   lt: int, ng: bool) -> None:
    """Whole pcap / pcapng files through the fused loop (both byte orders): same
    numbering, and every frame decode() keeps is yielded."""
    recs = data.draw(st.lists(st.one_of(frames(lt), tunnelled(lt)), min_size=1, max_size=40))
    if ng:  # SHB, IDB, then one EPB per frame (draft-ietf-opsawg-pcapng §4)
        out = struct.pack(endian + "IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1)
        out += struct.pack(endian + "I", 28)
        out += struct.pack(endian + "IIHHII", 1, 20, lt, 0, 0, 20)
        for i, (_lt, d) in enumerate(recs):
            pad = d + bytes(-len(d) % 4)
            blen = 32 + len(pad)
            out += struct.pack(endian + "IIIIIII", 6, blen, 0, 0, i, len(d), len(d) + 4)
            out += pad + struct.pack(endian + "I", blen)
    else:
        out = struct.pack(endian + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, lt)
        for i, (_lt, d) in enumerate(recs):
            out += struct.pack(endian + "IIII", 1_700_000_000 + i, i, len(d), len(d) + 4) + d
    fd, path = tempfile.mkstemp(suffix=".pcap")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(out)
        plain = FileInfo(path)
        every = list(read_capture(path, plain))
        info = FileInfo(path)
        kept = {f.number: f for f in read_capture(path, info, 0, Skipper(pf))}
    finally:
        os.unlink(path)
    assert info.packets == len(recs) == len(every)
    for attr in ("first", "last", "cut", "first_cut", "linktype_frames", "sha256"):
        assert getattr(info, attr) == getattr(plain, attr), attr
    for fr in every:
        if decode(fr, pf) is not None or inner_frame(lt, fr.data)[0] == NOT_DECODED:
            assert fr.number in kept
            assert kept[fr.number].data == fr.data


def test_learned_state_is_honoured() -> None:
    """A port or host added while reading is seen by the next skip decision."""
    pf = Prefilter()
    f = bytes(12) + b"\x08\x00" + struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 64, 17, 0, bytes((203, 0, 113, 5)),
        bytes((192, 0, 2, 7))) + struct.pack("!HHHH", 40000, 40001, 8, 0)
    assert skippable(f, 0, len(f), 1, pf)
    pf.add_tftp_port(40001)
    assert not skippable(f, 0, len(f), 1, pf)
    pf.drop_tftp_port(40001)
    pf.add_host(ip_packed("192.0.2.7"))
    assert not skippable(f, 0, len(f), 1, pf)


def test_skipper_sees_ports_learned_between_frames(tmp_path: Path) -> None:
    """The inline loop (byte-swapped port sets of a little-endian file) is refreshed."""
    f = bytes(12) + b"\x08\x00" + struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 64, 17, 0, bytes((203, 0, 113, 5)),
        bytes((192, 0, 2, 7))) + struct.pack("!HHHH", 40000, 40001, 8, 0)
    dns = f[:34] + struct.pack("!HHHH", 40000, 53, 8, 0)
    p = tmp_path / "t.pcap"
    body = b"".join(struct.pack("<IIII", 1, i, len(x), len(x)) + x
                    for i, x in enumerate([f, dns, f, f, dns, f]))
    p.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + body)
    pf = Prefilter()
    got = []
    for fr in read_capture(str(p), None, 0, Skipper(pf)):
        got.append(fr.number)
        if fr.number == 2:
            pf.add_tftp_port(40001)
        if fr.number == 4:
            pf.drop_tftp_port(40001)
    assert got == [2, 3, 4, 5]
