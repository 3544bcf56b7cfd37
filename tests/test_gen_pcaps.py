"""tools/gen_pcaps.py: determinism, committed files, tshark as the oracle, EXPECTED vs analyzer."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

from capfcap.cli import main
from capfcap.sources.inputs import InputSet, frames
from tests.helpers import tool_module
from tests.tshark_cache import Run, tshark

REPO = Path(__file__).resolve().parent.parent
TOOL = REPO / "tools" / "gen_pcaps.py"
SYNTH = REPO / "pcaps" / "synthetic"
TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark not on PATH")



gen = tool_module("gen_pcaps")
EXPECTED: dict = gen.EXPECTED
NAMES = sorted(EXPECTED)
# Files built from scratch by the generator (the rest are cut from realpeer captures).
SCRATCH = [n for n in NAMES if not n.endswith(("_S01.pcap", "_S01.pcapng", "_S05.pcap"))]


def _run_tool(out: Path, hashseed: str) -> None:
    env = dict(os.environ, PYTHONHASHSEED=hashseed)
    subprocess.run([sys.executable, str(TOOL), "--out", str(out)], check=True, env=env,
                   capture_output=True, timeout=300)


def _tshark(path: Path, *args: str) -> Run:
    """Once per session for the same file and arguments (tests/tshark_cache.py)."""
    assert TSHARK is not None
    return tshark(path, ["-d", "tcp.port==3804,tls", *args])


# one tshark reading per file serves the frame count and the address checks
FRAMES_AND_ADDRESSES = ("frame.number", "ip.addr", "ipv6.addr")


def _fields(path: Path, *fields: str, flt: str | None = None) -> list[list[str]]:
    args = ["-T", "fields"] + [a for f in fields for a in ("-e", f)]
    if flt:
        args += ["-Y", flt]
    out = _tshark(path, *args).stdout
    return [ln.split("\t") for ln in out.splitlines() if ln.strip()]


# --- the generator -----------------------------------------------------------------------


# the tests of one generation run on one pytest-xdist worker: the tool runs twice per session
GENERATION = pytest.mark.xdist_group("gen_pcaps generation")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two fresh runs of the tool, under different hash seeds."""
    base = tmp_path_factory.mktemp("gen_pcaps")
    a, b = base / "a", base / "b"
    _run_tool(a, "1")
    _run_tool(b, "4242")
    return a, b


@GENERATION
def test_two_runs_are_byte_identical(generated: tuple[Path, Path]) -> None:
    a, b = generated
    names = sorted(os.listdir(a))
    assert names == sorted(os.listdir(b)) == NAMES
    for n in names:
        assert (a / n).read_bytes() == (b / n).read_bytes(), n


@GENERATION
def test_committed_files_equal_a_fresh_generation(generated: tuple[Path, Path]) -> None:
    fresh, _ = generated
    assert sorted(os.listdir(fresh)) == sorted(os.listdir(SYNTH))
    for name in sorted(os.listdir(fresh)):
        assert (SYNTH / name).read_bytes() == (fresh / name).read_bytes(), \
            f"{name} is stale: rerun tools/gen_pcaps.py"


def test_only_documentation_addresses_in_scratch_files() -> None:
    """Every IPv4/IPv6 address tshark sees is in a documentation range."""
    if TSHARK is None:
        pytest.skip("tshark not on PATH")
    for name in SCRATCH:
        rows = _fields(SYNTH / name, *FRAMES_AND_ADDRESSES)
        for row in rows:
            for cell in row[1:]:
                for addr in filter(None, cell.split(",")):
                    ok = addr.startswith(("192.0.2.", "198.51.100.", "203.0.113.", "2001:db8:"))
                    assert ok, f"{name}: {addr}"


def test_pcap_writer_headers() -> None:
    rec = gen.Rec(1_000_000_123, b"\x00" * 20)
    be = gen.pcap_bytes(101, [rec], nsec=True, big_endian=True)
    assert be[:4] == bytes.fromhex("a1b23c4d")
    assert struct.unpack(">IIII", be[24:40]) == (1, 123, 20, 20)
    le = gen.pcap_bytes(1, [rec])
    assert le[:4] == bytes.fromhex("d4c3b2a1")
    assert struct.unpack("<IIII", le[24:40]) == (1, 0, 20, 20)  # 123 ns rounds down to 0 us


def test_pcapng_blocks_are_well_formed() -> None:
    blob = (SYNTH / "multi_iface.pcapng").read_bytes()
    off, kinds = 0, []
    while off < len(blob):
        btype, blen = struct.unpack_from("<II", blob, off)
        assert blen % 4 == 0 and blen >= 12
        assert struct.unpack_from("<I", blob, off + blen - 4)[0] == blen
        kinds.append(btype)
        off += blen
    assert off == len(blob)
    assert kinds[0] == 0x0A0D0D0A and kinds[1:3] == [1, 1]
    assert kinds.count(6) == EXPECTED["multi_iface.pcapng"]["frames"]
    assert kinds[-2:] == [5, 5]  # interface statistics for both interfaces


def test_derived_files_keep_real_frames_verbatim() -> None:
    s01 = gen.read_pcap(str(REPO / "pcaps" / "realpeer" / "S01_happy.pcap"))
    frames_s01 = {d for _h, d in s01.records}
    for name in ("loss5_S01.pcap", "serverside_S01.pcap", "phoneside_S01.pcap"):
        derived = gen.read_pcap(str(SYNTH / name))
        assert derived.header == s01.header
        assert all(d in frames_s01 for _h, d in derived.records), name
    side = gen.read_pcap(str(SYNTH / "phoneside_S01.pcap"))
    assert all(gen.from_phone(d) is True for _h, d in side.records)
    side = gen.read_pcap(str(SYNTH / "serverside_S01.pcap"))
    assert all(gen.from_phone(d) is False for _h, d in side.records)
    dup = gen.read_pcap(str(SYNTH / "dup_S01.pcap"))
    assert len(dup.records) == 2 * len(s01.records)
    for (h1, d1), (h2, d2) in zip(dup.records[::2], dup.records[1::2], strict=True):
        s1, u1 = struct.unpack("<II", h1[:8])
        s2, u2 = struct.unpack("<II", h2[:8])
        assert d1 == d2 and (s2 * 1_000_000 + u2) - (s1 * 1_000_000 + u1) == 5


# --- capfcap's reader against the files ---------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_reader_frame_count_and_linktypes(name: str) -> None:
    inputs = InputSet()
    got = list(frames([str(SYNTH / name)], inputs))
    exp = EXPECTED[name]
    assert len(got) == exp["frames"]
    assert [f.number for f in got] == list(range(1, exp["frames"] + 1))
    assert sorted({f.linktype for f in got}) == sorted(exp["linktypes"])
    assert inputs.damaged == bool(exp.get("truncated"))


# --- tshark as the oracle -----------------------------------------------------------------


@pytest.mark.tshark
@needs_tshark
@pytest.mark.parametrize("name", NAMES)
def test_tshark_frame_count(name: str) -> None:
    rows = _fields(SYNTH / name, *FRAMES_AND_ADDRESSES)
    assert [int(r[0]) for r in rows] == list(range(1, EXPECTED[name]["frames"] + 1))


@pytest.mark.tshark
@needs_tshark
@pytest.mark.parametrize("name", SCRATCH)
def test_tshark_finds_no_bad_checksum_or_malformed_frame(name: str) -> None:
    flt = ("ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0"
           " || icmp.checksum.status == 0 || _ws.malformed || _ws.expert.severity == error")
    opts = ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
            "-o", "udp.check_checksum:TRUE"]
    res = _tshark(SYNTH / name, *opts, "-Y", flt)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""


@pytest.mark.tshark
@needs_tshark
def test_checksum_filter_can_fail(tmp_path: Path) -> None:
    """Control for the test above: one flipped IPv4 checksum byte is caught."""
    blob = bytearray((SYNTH / "icmp_unreachable.pcap").read_bytes())
    blob[24 + 16 + 14 + 10] ^= 0xFF  # pcap hdr + record hdr + Ethernet + IPv4 checksum
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(bytes(blob))
    res = _tshark(bad, "-o", "ip.check_checksum:TRUE", "-Y", "ip.checksum.status == 0")
    assert len(res.stdout.splitlines()) == 1


@pytest.mark.tshark
@needs_tshark
@pytest.mark.parametrize("name", ["multi_iface.pcapng", "nsec_bigendian.pcap",
                                  "sll2_dns_nxdomain.pcapng", "vlan_qinq_capf_filtered.pcap"])
def test_frames_and_timestamps_equal_tshark(name: str) -> None:
    rows = _fields(SYNTH / name, "frame.number", "frame.time_epoch", "frame.interface_id",
                   "frame.comment", "frame.len")
    ours = list(frames([str(SYNTH / name)], InputSet()))
    assert len(ours) == len(rows)
    for fr, (num, epoch, _iface, comment, flen) in zip(ours, rows, strict=True):
        assert fr.number == int(num)
        assert fr.ts == int(Decimal(epoch) * 1_000_000_000)
        assert fr.wirelen == int(flen)
        assert fr.comment == comment


@pytest.mark.tshark
@needs_tshark
def test_multi_iface_linktypes_per_interface() -> None:
    rows = _fields(SYNTH / "multi_iface.pcapng", "frame.interface_id")
    ours = list(frames([str(SYNTH / "multi_iface.pcapng")], InputSet()))
    by_iface = {0: 1, 1: 101}  # Ethernet, raw IPv4
    assert {int(r[0]) for r in rows} == {0, 1}
    assert [fr.linktype for fr in ours] == [by_iface[int(r[0])] for r in rows]
    ns_frames = [fr for fr in ours if fr.linktype == 101]
    assert ns_frames and all(fr.ts % 1000 for fr in ns_frames)  # nanosecond parts kept


@pytest.mark.tshark
@needs_tshark
def test_tls_split_certificate_spans_three_segments() -> None:
    rows = _fields(SYNTH / "tls_split_cert.pcap", "tcp.segment", "tls.handshake.type",
                   flt="tls.handshake.type == 11")
    assert len(rows) == 1
    segments = rows[0][0].split(",")
    assert len(segments) == 3
    alerts = _fields(SYNTH / "tls_split_cert.pcap", "ip.src", "tls.alert_message.desc",
                     flt="tls.alert_message")
    assert alerts == [["198.51.100.130", "48"]]
    der = gen.pem_to_der(str(REPO / "pcaps/realpeer/data/certs/capf-old.crt.pem"))
    cert = _fields(SYNTH / "tls_split_cert.pcap", "tls.handshake.certificate",
                   flt="tls.handshake.type == 11")
    assert bytes.fromhex(cert[0][0].replace(":", "")) == der


@pytest.mark.tshark
@needs_tshark
def test_tls13_record_pattern() -> None:
    path = SYNTH / "tls13_capf.pcap"
    sv = _fields(path, "tls.handshake.extensions.supported_version", flt="tls.handshake.type == 2")
    assert sv == [["0x0304"]]
    # Encrypted TLS 1.3 records carry opaque_type 23; the length list ends with them.
    rows = _fields(path, "ip.src", "tls.record.opaque_type", "tls.record.length",
                   flt="tls.record.opaque_type == 23")
    seq = [(src, int(n)) for src, types, lens in rows
           for n in lens.split(",")[-len(types.split(",")):]]
    phone_key = next(i for i, (s, n) in enumerate(seq) if s == "198.51.100.140" and n > 300)
    assert any(s != "198.51.100.140" and 900 < n < 1100 for s, n in seq[phone_key + 1:])


@pytest.mark.tshark
@needs_tshark
def test_sslv2_hello_is_what_wireshark_calls_one() -> None:
    """Frame 4 is an SSLv2-format record (tls.record.version 0x0002) holding a ClientHello
    for TLS 1.0, and the server answers with TLS 1.0 records."""
    path = SYNTH / "sslv2_hello_capf.pcap"
    rows = _fields(path, "frame.number", "tls.record.version", "tls.handshake.version",
                   "tls.handshake.challenge_length", flt="tls.handshake.type == 1")
    assert rows == [["4", "0x0002", "0x0301", "32"]]
    rows = _fields(path, "frame.number", "tls.handshake.version", "tls.handshake.ciphersuite",
                   flt="tls.handshake.type == 2")
    assert rows == [["6", "0x0301", "0x002f"]]


def test_sslv2_hello_capture_is_read_as_tls() -> None:
    """The analyzer reads the SSLv2-compatible ClientHello as the session's ClientHello:
    no "is not TLS" failure, and the JSON timeline names it with its version and frame."""
    res = subprocess.run([sys.executable, "-m", "capfcap", "analyze", "--format", "json",
                          str(SYNTH / "sslv2_hello_capf.pcap")], capture_output=True,
                         text=True, cwd=REPO, timeout=120)
    report = json.loads(res.stdout)
    assert not [f for f in report["findings"] if f["code"] == "CAPF_TLS_FAILED"]
    assert "not TLS" not in res.stdout
    (phone,) = report["phones"]
    capf = [e["what"] for e in phone["timeline"] if e["stage"] == "capf"]
    assert len(capf) == 1
    assert "SSLv2-compatible ClientHello offering TLS 1.0 (frame 4)" in capf[0]
    assert "CN=CAPF-1a2b3c4d" in capf[0]  # the server's TLS records were read after it


@pytest.mark.tshark
@needs_tshark
def test_qinq_and_dot1q_tags() -> None:
    rows = _fields(SYNTH / "vlan_qinq_capf_filtered.pcap", "ip.src", "eth.type",
                   "ieee8021ad.id", "vlan.id")
    assert len(rows) == EXPECTED["vlan_qinq_capf_filtered.pcap"]["frames"]
    for src, etype, s_tag, c_tag in rows:
        if src == "198.51.100.37":  # access side: one 802.1Q tag
            assert (etype, s_tag, c_tag) == ("0x8100", "", "110")
        else:  # trunk side: 802.1ad S-tag outside the 802.1Q C-tag
            assert (etype, s_tag, c_tag) == ("0x88a8", "2001", "110")


# --- the analyzer against EXPECTED ----------------------------------------------------------

def _per_file(names: list[str]) -> list[object]:
    """One pytest-xdist worker runs every analyzer test of a file: _report runs once."""
    return [pytest.param(n, marks=pytest.mark.xdist_group(f"gen_pcaps {n}")) for n in names]


@cache
def _report(name: str) -> tuple[int, dict]:
    """The exit status and JSON report of `capfcap analyze --format json FILE [args]`:
    capfcap.cli.main, what `python -m capfcap` runs, called in this process (a new
    interpreter per file cost more than most analyses; tests/test_cli.py and
    tests/test_damaged.py run the command as a process)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["analyze", "--format", "json", str(SYNTH / name),
                   *EXPECTED[name].get("args", ())])
    return rc, json.loads(out.getvalue())


def _analyze(name: str) -> tuple[int, frozenset[str], str]:
    rc, report = _report(name)
    text = "\n".join(f"{f['code']} {f['summary']} {f['detail']}" for f in report["findings"])
    return rc, frozenset(f["code"] for f in report["findings"]), text


@pytest.mark.parametrize("name", _per_file(NAMES))
def test_analyzer_reports_no_absent_code(name: str) -> None:
    rc, codes, _text = _analyze(name)
    assert not codes & set(EXPECTED[name]["absent"])
    if "exit" in EXPECTED[name]:
        assert rc == EXPECTED[name]["exit"]


@pytest.mark.parametrize("name", _per_file(NAMES))
def test_analyzer_reports_expected_codes(name: str) -> None:
    _rc, codes, text = _analyze(name)
    assert set(EXPECTED[name]["codes"]) <= codes
    if "alert" in EXPECTED[name]:
        assert EXPECTED[name]["alert"] in text


@pytest.mark.parametrize("name", _per_file([n for n in NAMES if "cause" in EXPECTED[n]]))
def test_analyzer_names_the_icmp_cause(name: str) -> None:
    """The expected finding carries the cause its ICMP code and sender mean."""
    _rc, report = _report(name)
    code = EXPECTED[name]["codes"][0]
    (f,) = [f for f in report["findings"] if f["code"] == code]
    assert f["cause"] == EXPECTED[name]["cause"]
    assert f["reported_by"] in f["summary"] and "ICMP" in f["summary"]


# --- the catalogue -------------------------------------------------------------------------


def test_readme_describes_every_sample_file() -> None:
    readme = (REPO / "pcaps" / "README.md").read_text()
    assert "itl/README.md" in readme
    for folder in ("realpeer", "real-itl", "realtool", "synthetic"):
        for entry in sorted((REPO / "pcaps" / folder).iterdir()):
            if entry.is_file() and entry.suffix in (".pcap", ".pcapng", ".tlv"):
                assert f"{entry.name}" in readme, f"{folder}/{entry.name} not in pcaps/README.md"


def test_readme_table_matches_expected() -> None:
    rows = {}
    for line in (REPO / "pcaps" / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in EXPECTED:
            rows[cells[0]] = cells
    assert sorted(rows) == NAMES
    for name, (_n, nframes, _lt, codes, _absent) in rows.items():
        assert nframes.split()[0] == str(EXPECTED[name]["frames"]), name
        for code in EXPECTED[name]["codes"]:
            assert code in codes, (name, code)


@pytest.mark.parametrize("name", [n for n in NAMES if "retransmissions" in EXPECTED[n]])
def test_duplicates_are_not_counted_as_retransmissions(name: str) -> None:
    from capfcap.events import TcpConnection
    from capfcap.pipeline import Analysis, Options

    seen: list[TcpConnection] = []
    a = Analysis(Options())
    a.listeners.append(lambda evs: seen.extend(e for e in evs if isinstance(e, TcpConnection)))
    for fr in frames([str(SYNTH / name)], InputSet()):
        a.feed(fr)
    a.finish()
    assert seen
    assert all(c.retransmissions == EXPECTED[name]["retransmissions"] for c in seen)
    assert sum(c.duplicates for c in seen) + len(a.dup_frames) > 0
