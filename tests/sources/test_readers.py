"""pcap/pcapng/gzip readers: byte orders, resolutions, damage, merge, tshark numbering."""

from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import pytest

from capfcap.sources.files import CaptureError, FileInfo, read_capture
from capfcap.sources.inputs import InputSet, frames
from tests.conftest import PCAPS, REALPEER
from tests.helpers import tshark_fields, write_pcap

S01 = REALPEER / "S01_happy.pcap"


def _all(path: Path) -> list[tuple[int, int, bytes]]:
    return [(f.number, f.ts, f.data) for f in read_capture(str(path))]


def test_pcap_and_pcapng_of_same_capture_agree() -> None:
    a = _all(S01)
    b = _all(REALPEER / "S01_happy.pcapng")
    assert len(a) == 82
    assert a == b


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_byte_orders_and_resolutions(tmp_path: Path, endian: str, nano: bool) -> None:
    ts = [1_700_000_000_123_456_789, 1_700_000_001_000_000_001]
    p = tmp_path / "x.pcap"
    write_pcap(p, [(t, bytes([i]) * 60) for i, t in enumerate(ts)], endian=endian, nano=nano)
    got = [(f.ts, f.data[:1]) for f in read_capture(str(p))]
    want = [t if nano else t - t % 1000 for t in ts]
    assert [g[0] for g in got] == want
    assert [g[1] for g in got] == [b"\x00", b"\x01"]


def test_gzip_and_sha256_of_stored_file(tmp_path: Path) -> None:
    gz = tmp_path / "s01.pcap.gz"
    gz.write_bytes(gzip.compress(S01.read_bytes(), mtime=0))
    info = FileInfo(str(gz))
    got = [(f.number, f.data) for f in read_capture(str(gz), info)]
    assert got == [(n, d) for n, _t, d in _all(S01)]
    import hashlib

    assert info.sha256 == hashlib.sha256(gz.read_bytes()).hexdigest()
    assert info.format == "pcap+gzip"


def test_truncated_mid_record_keeps_good_frames(tmp_path: Path) -> None:
    raw = S01.read_bytes()
    p = tmp_path / "cut.pcap"
    p.write_bytes(raw[: len(raw) - 30])
    got: list[int] = []
    with pytest.raises(CaptureError) as ei:
        for f in read_capture(str(p)):
            got.append(f.number)
    assert got == list(range(1, 82))
    assert "frame 82 truncated at byte" in str(ei.value)
    assert not ei.value.fatal


def test_not_a_capture_and_missing(tmp_path: Path) -> None:
    p = tmp_path / "x.pcap"
    p.write_bytes(b"hello world, not a pcap at all")
    with pytest.raises(CaptureError, match="not a pcap or pcapng"):
        list(read_capture(str(p)))
    with pytest.raises(CaptureError, match="no such file"):
        list(read_capture(str(tmp_path / "nope.pcap")))


def test_record_claiming_gigabytes_stops_cleanly(tmp_path: Path) -> None:
    raw = bytearray(S01.read_bytes())
    # frame 3's record header starts after the file header and two records
    off = 24
    for _ in range(2):
        incl = struct.unpack_from("<I", raw, off + 8)[0]
        off += 16 + incl
    struct.pack_into("<I", raw, off + 8, 0xF0000000)
    p = tmp_path / "big.pcap"
    p.write_bytes(bytes(raw))
    got = []
    with pytest.raises(CaptureError, match="claims 4026531840 bytes"):
        for f in read_capture(str(p)):
            got.append(f.number)
    assert got == [1, 2]


def test_pcapng_bad_trailer_and_unknown_block(tmp_path: Path) -> None:
    raw = (REALPEER / "S01_happy.pcapng").read_bytes()
    # insert an unknown block type after the SHB+IDB: it must be skipped
    shb_len = struct.unpack_from("<I", raw, 4)[0]
    idb_len = struct.unpack_from("<I", raw, shb_len + 4)[0]
    cut = shb_len + idb_len
    unknown = struct.pack("<II", 0x0BADB10C, 16) + b"\0" * 4 + struct.pack("<I", 16)
    p = tmp_path / "u.pcapng"
    p.write_bytes(raw[:cut] + unknown + raw[cut:])
    assert len(list(read_capture(str(p)))) == 82
    bad = bytearray(raw)
    blen = struct.unpack_from("<I", bad, cut + 4)[0]
    struct.pack_into("<I", bad, cut + blen - 4, blen + 4)
    p2 = tmp_path / "t.pcapng"
    p2.write_bytes(bytes(bad))
    with pytest.raises(CaptureError, match="trailing length"):
        list(read_capture(str(p2)))


def test_directory_and_several_files_merge_in_time_order(tmp_path: Path) -> None:
    d = tmp_path / "dir"
    d.mkdir()
    shutil.copy(REALPEER / "S03_dns_nxdomain.pcap", d / "b.pcap")
    shutil.copy(REALPEER / "S01_happy.pcap", d / "a.pcap")
    inputs = InputSet()
    got = list(frames([str(d)], inputs))
    assert [f.number for f in got] == list(range(1, len(got) + 1))
    assert len(got) == 82 + 58
    assert all(a.ts <= b.ts for a, b in zip(got, got[1:], strict=False))
    assert len(inputs.files) == 2 and not inputs.errors


@pytest.mark.tshark
@pytest.mark.parametrize("pcap", sorted(p.name for p in REALPEER.glob("*.pcap*")))
def test_frame_numbers_and_times_equal_tshark(pcap: str) -> None:
    path = REALPEER / pcap
    ours = [(f.number, f.ts // 1000, len(f.data)) for f in read_capture(str(path))]
    rows = tshark_fields(path, ["frame.number", "frame.time_epoch", "frame.cap_len"])
    theirs = [(int(n), round(float(t) * 1e6), int(c)) for n, t, c in rows]
    assert len(ours) == len(theirs)
    assert [o[0] for o in ours] == [t[0] for t in theirs]
    assert [o[2] for o in ours] == [t[2] for t in theirs]
    assert all(abs(o[1] - t[1]) <= 1 for o, t in zip(ours, theirs, strict=True))


del PCAPS
