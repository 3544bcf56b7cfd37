"""The reader process (`--jobs 2`, capfcap/parallel.py).

Its findings equal a single-process run on every capture (tests/test_fastpath.py). Here:
the invariant that makes that true (the learning prefilter is a superset of the
analysis's at every frame), the quick port look against decode(), and the failure paths.
"""

from __future__ import annotations

import gzip
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings

from capfcap import exitcodes, parallel
from capfcap.decode import TCP, UDP, Prefilter, decode
from capfcap.learn import learn_ahead
from capfcap.pipeline import Analysis, Options, analyze
from capfcap.sources.files import CaptureError, FileInfo, read_capture
from capfcap.sources.frame import Frame
from capfcap.sources.inputs import InputSet
from capfcap.sources.relevance import transport
from tests.conftest import REALPEER
from tests.test_fastpath import frames as frame_bytes

ROOT = Path(__file__).resolve().parents[2]
# one pytest-xdist worker runs the module: the capture (`span`) is generated once
pytestmark = pytest.mark.xdist_group("parallel span")


@pytest.fixture(scope="module")
def span(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import bench
    finally:
        sys.path.pop(0)
    p = tmp_path_factory.mktemp("par") / "span.pcap"
    bench.generate(p, 20_000, 0.05)
    return p


def test_learning_prefilter_is_a_superset_at_every_frame(span: Path) -> None:
    """What the reader passes includes, frame by frame, what the analysis would keep."""
    a = Analysis(Options(jobs=1))
    ahead = Prefilter()
    grew = 0
    for fr in read_capture(str(span), FileInfo(str(span))):
        pkt = decode(fr, ahead)
        if pkt is not None:
            learn_ahead(ahead, pkt)
        kept = decode(fr, a.pf)
        if kept is not None:
            assert pkt is not None, f"frame {fr.number}: kept by the analysis, not the reader"
        before = len(a.pf.hosts) + len(a.pf.tftp_ports)
        a.feed(fr)
        grew += len(a.pf.hosts) + len(a.pf.tftp_ports) > before
        assert a.pf.hosts <= ahead.hosts, fr.number
        assert a.pf.tftp_ports <= ahead.tftp_ports, fr.number
    assert a.pf.hosts and grew > 10  # the capture did teach the analysis something


@settings(max_examples=2000, deadline=None)
@given(frame_bytes())
def test_transport_reads_the_ports_decode_reads(fr: tuple[int, bytes]) -> None:
    lt, data = fr
    pkt = decode(Frame(1, 0, lt, data, len(data)))
    t = transport(data, lt)
    if t is not None and pkt is not None:
        assert pkt.proto in (TCP, UDP)
        assert t == (pkt.proto, pkt.sport, pkt.dport)
    if pkt is not None and pkt.proto in (TCP, UDP) and not pkt.truncated and t is None:
        # only where it cannot tell at a glance: IPv6 extension headers, odd link types
        assert pkt.ip_version == 6 or lt not in (1, 113, 276, 101, 228, 229)


def test_reader_process_result_equals_one_process(span: Path) -> None:
    one, i1 = analyze([str(span)], Options(jobs=1))
    two, i2 = analyze([str(span)], Options(jobs=2))
    assert i1.files == i2.files and i1.errors == i2.errors
    assert [f.code for f in one.findings] == [f.code for f in two.findings]
    assert i2.progress == i2.files[0].packets == 20_000


def test_wanted_follows_jobs_and_size(span: Path, tmp_path: Path) -> None:
    small = str(REALPEER / "S05_capf_filtered.pcap")
    assert not parallel.wanted([small], None)  # too small to repay a process
    assert parallel.wanted([small], 2)
    assert not parallel.wanted([str(span)], 1)
    assert not parallel.wanted([small], 2, fast=False)  # --no-fast-path stays in one


def test_wanted_counts_gzip_uncompressed(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    monkeypatch.setattr(parallel, "MIN_BYTES", 10_000)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1})
    plain = tmp_path / "a.pcap"
    plain.write_bytes(bytes(20_000))
    gz = tmp_path / "a.pcap.gz"
    gz.write_bytes(gzip.compress(bytes(20_000)))
    small = tmp_path / "b.pcap.gz"
    small.write_bytes(gzip.compress(bytes(5_000)))
    assert gz.stat().st_size < 10_000
    assert parallel.wanted([str(plain)], None)
    assert parallel.wanted([str(gz)], None)  # 20,000 bytes once decompressed
    assert not parallel.wanted([str(small)], None)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0})
    assert not parallel.wanted([str(gz)], None)  # one CPU: nothing to gain


def test_reader_failure_is_one_line(monkeypatch: pytest.MonkeyPatch, span: Path) -> None:
    def broken(*_a: object, **_k: object) -> object:
        raise ValueError("boom")

    monkeypatch.setattr(parallel, "frames", broken)  # the forked reader inherits it
    with pytest.raises(parallel.ReaderFailed, match=r"^in the reader process: ValueError: boom$"):
        analyze([str(span)], Options(jobs=2))


def test_reader_killed(monkeypatch: pytest.MonkeyPatch, span: Path) -> None:
    def die(*_a: object, **_k: object) -> object:
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")

    monkeypatch.setattr(parallel, "frames", die)
    with pytest.raises(parallel.ReaderFailed, match="ended without reporting"):
        list(parallel.ReaderProcess([str(span)]).frames(InputSet()))


def test_reader_stops_when_the_analysis_goes_away(monkeypatch: pytest.MonkeyPatch,
                                                 span: Path) -> None:
    """Ctrl-C in the analysis closes its end of the pipe: the reader's next write must
    fail at once (it holds no copy of that end), not block on a full pipe."""
    monkeypatch.setattr(parallel, "BATCH", 100_000)  # one message, larger than a pipe
    r = parallel.ReaderProcess([str(span)])
    time.sleep(0.5)  # let it block writing
    r._recv.close()
    r._proc.join(timeout=10)
    assert r._proc.exitcode == 0  # ended by itself (BrokenPipeError), not killed
    r.close()


def test_capture_errors_cross_the_process(tmp_path: Path) -> None:
    empty = tmp_path / "nothing"
    empty.mkdir()
    with pytest.raises(CaptureError, match="holds no"):
        list(parallel.ReaderProcess([str(empty)]).frames(InputSet()))
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + b"\x01" * 9)
    inputs = InputSet()
    assert list(parallel.ReaderProcess([str(bad)]).frames(inputs)) == []
    assert inputs.errors and "truncated" in inputs.errors[0]


def test_cli_jobs(tmp_path: Path) -> None:
    path = str(REALPEER / "S05_capf_filtered.pcap")
    outs = []
    for jobs in ("1", "2"):
        p = subprocess.run([sys.executable, "-m", "capfcap", "analyze", path, "--format",
                            "json", "--jobs", jobs], capture_output=True, text=True)
        assert p.returncode == exitcodes.ERRORS, p.stderr
        outs.append(p.stdout)
    assert outs[0] == outs[1]
    for bad in ("-1", "x"):
        p = subprocess.run([sys.executable, "-m", "capfcap", "analyze", path, "--jobs", bad],
                           capture_output=True, text=True)
        assert p.returncode == exitcodes.USAGE and "--jobs" in p.stderr
