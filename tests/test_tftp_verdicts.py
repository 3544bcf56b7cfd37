"""Verdicts on TFTP transfer IDs and capture loss (DESIGN §4 rules 4 and 5), end to end.

A transfer is the server TID the phone ACKs: a duplicate answer to a retransmitted RRQ and
the phone's ERROR 5 to it never make the ITL "not found". DATA blocks the phone ACKs but the
capture lacks are CAPTURE_GAPS (info), never TRANSFER_INCOMPLETE, and their partial bytes are
never parsed. A transfer the server really stopped stays TRANSFER_INCOMPLETE.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from capfcap.events import FileTransfer, TrustListSeen
from capfcap.filenames import basename
from capfcap.findings import Finding
from capfcap.pipeline import Analysis, Options
from capfcap.report import Report
from capfcap.sources.inputs import InputSet, frames
from tests.conftest import ROOT

SYNTH = ROOT / "pcaps" / "synthetic"
ITL_GOOD = ROOT / "pcaps" / "realpeer" / "data" / "itl" / "ITL_good.tlv"
SILENCE_OF_A_FAILED_ITL = {"ITL_NOT_FOUND", "TRANSFER_INCOMPLETE", "ITL_PARSE_ERROR"}


@cache
def run(name: str, folder: Path = SYNTH) -> tuple[Report, Analysis]:
    inputs = InputSet()
    a = Analysis(Options())
    for fr in frames([str(folder / name)], inputs):
        a.feed(fr)
    a.finish()
    return a.report(inputs.files), a


def codes(r: Report) -> set[str]:
    return {f.code for f in r.findings}


def only(r: Report, code: str) -> Finding:
    fs = [f for f in r.findings if f.code == code]
    assert len(fs) == 1, [f.code for f in r.findings]
    return fs[0]


def itl_transfer(a: Analysis) -> FileTransfer:
    (t,) = [t for t in a.correlator.state.transfers if basename(t.filename) == "ITLFile.tlv"]
    return t


def itls(a: Analysis) -> list[TrustListSeen]:
    return [tl for tl in a.correlator.state.trust_lists
            if basename(tl.transfer.filename) == "ITLFile.tlv"]


@pytest.mark.parametrize("name", ["tftp_two_tids_error5.pcap", "tftp_two_oacks.pcap"])
def test_duplicate_answer_is_not_a_missing_itl(name: str) -> None:
    r, a = run(name)
    assert not codes(r) & (SILENCE_OF_A_FAILED_ITL | {"CAPTURE_GAPS", "ITL_NO_CAPF"})
    assert not [f for f in r.findings if f.severity in ("error", "warning")]
    t = itl_transfer(a)
    assert t.status == "complete" and t.error_code is None
    (tl,) = itls(a)  # the whole ITL is parsed, and it is the good one
    assert tl.trust_list is not None and tl.transfer.data == ITL_GOOD.read_bytes()
    assert tl.trust_list.signature_status == "valid" and tl.trust_list.capf_records()
    (phone,) = r.phones
    assert any(e.what.startswith("TFTP ITLFile.tlv") and e.outcome == "ok"
               for e in phone.timeline)


def test_two_oacks_follow_the_tid_the_phone_acks() -> None:
    _r, a = run("tftp_two_oacks.pcap")
    t = itl_transfer(a)
    assert t.data_port == 43103 and dict(t.options)["blksize"] == "1024"


@pytest.mark.parametrize(("name", "blocks", "ack_frames"), [
    ("tftp_lost_middle.pcap", (5, 9), (14, 21)),
    ("tftp_lost_final.pcap", (18,), (40,)),
])
def test_acked_unseen_blocks_are_capture_gaps(name: str, blocks: tuple[int, ...],
                                              ack_frames: tuple[int, ...]) -> None:
    r, a = run(name)
    assert not codes(r) & (SILENCE_OF_A_FAILED_ITL | {"CAPTURE_ONE_SIDED", "TFTP_NO_RESPONSE"})
    f = only(r, "CAPTURE_GAPS")
    assert f.severity == "info"
    assert f.evidence.frames == ack_frames
    assert f.evidence.filter == ("frame.number == 40" if len(ack_frames) == 1
                                 else "frame.number in {14, 21}")
    n = len(blocks)
    assert f"ACKed {n} TFTP DATA block{'s' if n > 1 else ''} never captured (ITLFile.tlv)" \
        in f.summary
    listed = ", ".join(map(str, blocks))
    assert f"(block{'s' if n > 1 else ''} {listed}; ACK frames " \
           f"{', '.join(map(str, ack_frames))})" in f.detail
    assert "complete for the phone" in f.detail
    t = itl_transfer(a)
    assert t.status == "complete_gaps" and t.unseen_blocks == blocks
    assert itls(a) == []  # partial bytes are never parsed as an ITL
    assert t.data is not None and t.data != ITL_GOOD.read_bytes()


def test_a_stopped_transfer_is_still_incomplete() -> None:
    r, a = run("tftp_stopped.pcap")
    f = only(r, "TRANSFER_INCOMPLETE")
    t = itl_transfer(a)
    assert t.status == "incomplete" and t.acked_unseen_blocks == 0
    assert set(f.evidence.frames) == set(t.frames) and {20, 21, 22} <= set(t.frames)
    assert "stopped after 3584 bytes" in f.summary
    assert "CAPTURE_GAPS" not in codes(r) and "ITL_NOT_FOUND" not in codes(r)


def test_capture_gaps_name_tcp_and_tftp_together() -> None:
    """loss5_S01: one finding per phone covers the TCP gap ACKs and the lost config block."""
    r, a = run("loss5_S01.pcap")
    f = only(r, "CAPTURE_GAPS")
    (cfg,) = [t for t in a.correlator.state.transfers if t.filename.endswith(".cnf.xml")]
    assert cfg.status == "complete_gaps" and cfg.unseen_blocks == (3,)
    assert set(cfg.unseen_ack_frames) <= set(f.evidence.frames)
    assert "TCP flows" in f.summary and "cnf.xml" in f.summary and "ratio" in f.extra
    assert "TRANSFER_INCOMPLETE" not in codes(r) and "CONFIG_NOT_FOUND" not in codes(r)


def test_one_sided_capture_is_not_capture_gaps() -> None:
    """phoneside_S01: no DATA captured at all is CAPTURE_ONE_SIDED, not CAPTURE_GAPS."""
    r, a = run("phoneside_S01.pcap")
    assert "CAPTURE_ONE_SIDED" in codes(r) and "CAPTURE_GAPS" not in codes(r)
    assert any(t.acked_unseen_blocks for t in a.correlator.state.transfers)


def test_gap_frames_are_the_phones_acks(tmp_path: Path) -> None:
    """The cited frames are the phone's TFTP ACKs of exactly the lost blocks (tshark)."""
    import shutil
    import subprocess

    if shutil.which("tshark") is None:
        pytest.skip("tshark not on PATH")
    r, _a = run("tftp_lost_middle.pcap")
    f = only(r, "CAPTURE_GAPS")
    out = subprocess.run(
        ["tshark", "-n", "-r", str(SYNTH / "tftp_lost_middle.pcap"), "-Y", f.evidence.filter,
         "-T", "fields", "-e", "ip.src", "-e", "tftp.opcode", "-e", "tftp.block"],
        capture_output=True, text=True, timeout=120, check=True).stdout
    rows = [ln.split("\t") for ln in out.splitlines()]
    assert rows == [["198.51.100.63", "4", "5"], ["198.51.100.63", "4", "9"]]
    blocks = subprocess.run(
        ["tshark", "-n", "-r", str(SYNTH / "tftp_lost_middle.pcap"), "-Y",
         "tftp.opcode == 3 && udp.srcport == 43003", "-T", "fields", "-e", "tftp.block"],
        capture_output=True, text=True, timeout=120, check=True).stdout.split()
    assert "5" not in blocks and "9" not in blocks and len(blocks) == 16


def test_block_cut_by_the_snap_length_is_neither_gap_nor_failure() -> None:
    """damaged/snaplen_tftp_data: DATA 7 cut to 100 bytes; the input note says so."""
    r, a = run("snaplen_tftp_data.pcap", ROOT / "pcaps" / "damaged")
    assert not codes(r) & (SILENCE_OF_A_FAILED_ITL | {"CAPTURE_GAPS"})
    t = itl_transfer(a)
    assert t.acked_cut_blocks == 1 and t.acked_unseen_blocks == 0
    assert t.status == "complete_gaps" and itls(a) == []
