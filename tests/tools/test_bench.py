"""Smoke test of tools/bench.py on a tiny capture (the benchmark itself is never timed here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_prints_the_table(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "bench.py"), "--frames", "4000", "--all-frames",
         "600", "--runs", "1", "--scapy-slice", "300", "--cache", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("| capture | frames | MB | tool | wall s (median) |")
    for label in ("SPAN 2% relevant, pcap", "SPAN 2%, pcapng", "SPAN 2%, pcap.gz",
                  "all relevant, pcap"):
        assert re.search(rf"^\| {re.escape(label)} \| [\d,]+ \| [\d.]+ \| capfcap \|", out, re.M)
    assert "| scapy PcapReader (scaled) |" in out
    assert re.search(r"capfcap peak RSS \d+ MB", out)
    caps = [p for p in tmp_path.glob("span-4000-*.pcap") if ".head" not in p.name]
    assert len(caps) == 1 and caps[0].stat().st_size > 4000 * 60


def test_generation_is_deterministic(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import bench
    finally:
        sys.path.pop(0)
    a, b = tmp_path / "a.pcap", tmp_path / "b.pcap"
    bench.generate(a, 3000, 0.02)
    bench.generate(b, 3000, 0.02)
    assert a.read_bytes() == b.read_bytes()
    assert bench.count_frames(a) == 3000


@pytest.mark.slow
def test_bulk_rows_with_time_per_phone(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "bench.py"), "--frames", "0", "--all-frames", "0",
         "--bulk", "30", "--runs", "1", "--no-scapy", "--cache", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    rows = re.findall(r"^\| bulk rollout 30 phones, pcap \| ([\d,]+) \| [\d.]+ \| "
                      r"(capfcap|tshark -Y) \|", r.stdout, re.M)
    assert rows and rows[0][1] == "capfcap" and "SPAN" not in r.stdout
    frames = int(rows[0][0].replace(",", ""))
    assert frames > 30 * 50  # every phone's whole enrolment
    assert re.search(r"bulk rollout 30 phones, pcap: .*per phone: capfcap [\d.]+ ms", r.stdout)
    assert len(list(tmp_path.glob("bulk-30-*.pcap"))) == 1
