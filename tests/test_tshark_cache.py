"""The session's shared tshark runs (tests/tshark_cache.py): one run per capture and
arguments, a rewritten capture read again, exported objects handed to every caller."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from capfcap.tshark import run as tshark_run
from tests import tshark_cache
from tests.conftest import REALPEER
from tests.tshark_cache import STATS, cached_tshark_ek, tshark

pytestmark = pytest.mark.tshark


def test_same_question_runs_tshark_once_and_a_rewritten_capture_again(tmp_path: Path) -> None:
    cap = tmp_path / "c.pcap"
    shutil.copy(REALPEER / "S03_dns_nxdomain.pcap", cap)
    args = ["-T", "fields", "-e", "frame.number"]
    runs = STATS.runs
    first = tshark(cap, args)
    assert STATS.runs == runs + 1 and first.returncode == 0 and first.stdout
    hits = STATS.hits
    assert tshark(cap, args) == first
    assert STATS.runs == runs + 1 and STATS.hits == hits + 1
    cap.write_bytes(cap.read_bytes()[:24])  # header only: no frame
    st = cap.stat()
    os.utime(cap, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    again = tshark(cap, args)
    assert STATS.runs == runs + 2 and again.stdout == ""


def test_exported_objects_reach_every_caller(tmp_path: Path) -> None:
    path = str(REALPEER / "S01_happy.pcap")
    ek = cached_tshark_ek(tshark_run.tshark_ek)
    exe = shutil.which("tshark")
    assert exe is not None
    dirs = [tmp_path / "a", tmp_path / "b"]
    outs = []
    for d in dirs:
        d.mkdir()
        outs.append(ek(path, [1, 2, 3], str(d), exe))
    assert outs[0] == outs[1]
    names = [sorted(p.name for p in d.iterdir()) for d in dirs]
    assert names[0] == names[1] and names[0]  # S01 carries TFTP files
    outs[0].clear()  # a caller's list is its own
    assert ek(path, [1, 2, 3], None, exe) == outs[1]


def test_an_answer_on_disk_serves_another_worker(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker whose memory lacks the answer reads the one another worker stored."""
    cap = tmp_path / "c.pcap"
    shutil.copy(REALPEER / "S03_dns_nxdomain.pcap", cap)
    monkeypatch.setattr(tshark_cache, "SHARED", None)
    tshark_cache.share(tmp_path / "shared")
    args = ("-T", "fields", "-e", "frame.number")
    ask = tshark_cache._tshark.__wrapped__  # the process's memory left out, as in a new worker
    runs = STATS.runs
    first = ask(tshark_cache._stamp(cap), args, None)
    assert STATS.runs == runs + 1 and first.stdout
    assert ask(tshark_cache._stamp(cap), args, None) == first
    assert STATS.runs == runs + 1
    assert len(list((tmp_path / "shared").glob("*.pickle"))) == 1
