"""evidence.pcapng: only the cited frames, original bytes and timestamps, commented."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from capfcap.bundle.frames import (
    EvidenceFrame,
    cited_frames,
    collect,
    frame_comment,
    write_evidence,
    write_pcapng,
)
from capfcap.pipeline import Options, analyze
from capfcap.sources.files import FileInfo, read_capture
from tests.conftest import REALPEER
from tests.helpers import write_pcap

SHARED = ["S05_capf_filtered", "S07_capf_cert_mismatch", "S08_asymmetric_capture",
          "S11_two_tftp_itl_mismatch"]


def _tshark(path: Path, *args: str) -> list[list[str]]:
    out = subprocess.run(["tshark", "-n", "-r", str(path), *args], capture_output=True,
                         text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def _original(path: Path) -> dict[int, tuple[int, bytes, int]]:
    return {f.number: (f.ts, f.data, f.wirelen) for f in read_capture(str(path))}


def test_writer_round_trip_exact_nanoseconds_two_link_types(tmp_path: Path) -> None:
    evs = [
        EvidenceFrame(3, 1_700_000_000_123_456_789, 1, b"\x02" * 14 + b"abc", 60, ("A_CODE",)),
        EvidenceFrame(9, 1_700_000_001_000_000_001, 101, b"\x45" + b"\0" * 22, 23,
                      ("B", "C"), note="x"),
        EvidenceFrame(12, 1_700_000_002_999_999_999, 1, b"\x01" * 61, 61, ("A_CODE",)),
    ]
    p = tmp_path / "e.pcapng"
    with open(p, "wb") as f:
        assert write_pcapng(f, evs, "verdict: odd length!", "capfcap test") == 3
    info = FileInfo(str(p))
    back = list(read_capture(str(p), info))
    assert info.format == "pcapng"
    assert info.comments == ["verdict: odd length!"]
    assert info.linktypes == [1, 101]
    assert [(b.ts, b.linktype, b.data, b.wirelen) for b in back] == [
        (e.ts, e.linktype, e.data, e.wirelen) for e in evs]
    assert [b.comment for b in back] == [
        "capfcap: A_CODE; original frame 3",
        "capfcap: B, C; original frame 9; x",
        "capfcap: A_CODE; original frame 12",
    ]


@pytest.mark.tshark
def test_writer_output_opens_in_tshark(tmp_path: Path) -> None:
    evs = [EvidenceFrame(5, 1_600_000_000_000_000_007, 1, bytes(range(60)), 1514, ("X",))]
    p = tmp_path / "e.pcapng"
    with open(p, "wb") as f:
        write_pcapng(f, evs, "section comment", "capfcap")
    rows = _tshark(p, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len",
                   "-e", "frame.cap_len", "-e", "frame.comment")
    assert rows == [["1600000000.000000007", "1514", "60", "capfcap: X; original frame 5"]]


@pytest.mark.tshark
@pytest.mark.parametrize("name", SHARED)
def test_shared_capture_evidence(tmp_path: Path, name: str) -> None:
    src = REALPEER / f"{name}.pcap"
    report, inputs = analyze([str(src)], Options())
    cited = cited_frames(report)
    assert cited, "these captures all have findings"
    out = tmp_path / "evidence.pcapng"
    with open(out, "wb") as f:
        n, problems = write_evidence(f, report, [x.path for x in inputs.files], "verdict")
    assert problems == []
    assert n == len(cited)
    # tshark: every frame carries a comment, and the count is the distinct cited frames
    rows = _tshark(out, "-Y", "frame.comment", "-T", "fields", "-e", "frame.number",
                   "-e", "frame.comment", "-e", "frame.time_epoch", "-e", "frame.len")
    assert len(rows) == len(cited)
    assert len(_tshark(out, "-T", "fields", "-e", "frame.number")) == len(cited)
    orig_rows = {int(r[0]): r for r in _tshark(src, "-T", "fields", "-e", "frame.number",
                                                "-e", "frame.time_epoch", "-e", "frame.len")}
    for row, (num, codes) in zip(rows, cited.items(), strict=True):
        assert row[1] == f"capfcap: {', '.join(codes)}; original frame {num}"
        assert row[2:] == orig_rows[num][1:]  # same timestamp and length as Wireshark shows
    # bytes and nanosecond timestamps equal the original frames
    orig = _original(src)
    back = list(read_capture(str(out)))
    assert [(b.ts, b.data, b.wirelen) for b in back] == [orig[k] for k in cited]
    # the section comment holds the verdict
    info = FileInfo(str(out))
    list(read_capture(str(out), info))
    assert info.comments == ["verdict"]


def test_collect_several_inputs_uses_merged_numbers(tmp_path: Path) -> None:
    a = tmp_path / "a.pcap"
    b = tmp_path / "b.pcap"
    write_pcap(a, [(1_000, b"A1" * 10), (3_000, b"A2" * 10)])
    write_pcap(b, [(2_000, b"B1" * 10), (4_000, b"B2" * 10)])
    from capfcap.findings import Evidence, Finding
    from capfcap.report import Report

    f = Finding("CAPTURE_GAPS", "info", {}, {}, "s", "d", "r", Evidence((2, 3), None, None, ""))
    r = Report([], [], [f])
    evs, problems = collect(r, [str(a), str(b)])
    assert problems == []
    # merged order: A1(1) B1(2) A2(3) B2(4)
    assert [(e.number, e.data[:2]) for e in evs] == [(2, b"B1"), (3, b"A2")]
    assert frame_comment(evs[0]) == "capfcap: CAPTURE_GAPS; original frame 2"


def test_missing_frames_are_reported(tmp_path: Path) -> None:
    a = tmp_path / "a.pcap"
    write_pcap(a, [(1_000, b"x" * 20)])
    from capfcap.findings import Evidence, Finding
    from capfcap.report import Report

    f = Finding("CAPTURE_GAPS", "info", {}, {}, "s", "d", "r", Evidence((1, 7), None, None, ""))
    buf = io.BytesIO()
    n, problems = write_evidence(buf, Report([], [], [f]), [str(a)], "v")
    assert n == 1
    assert problems == ["1 cited frame(s) could not be read again from the captures"]
