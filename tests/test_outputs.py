"""Files capfcap writes: never over an existing file without --force, atomically, and a
failed write leaves neither a partial file nor a temporary one (capfcap/outputs.py)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from capfcap import outputs
from capfcap.errors import UsageError
from tests.conftest import ROOT

S01 = str(ROOT / "pcaps" / "realpeer" / "S01_happy.pcap")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "capfcap", *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def _leftovers(d: Path) -> list[str]:
    return [p.name for p in d.iterdir() if p.name.startswith(".capfcap-")]


def test_new_file_has_umask_permissions(tmp_path: Path) -> None:
    p = tmp_path / "r.json"
    old = os.umask(0o022)
    try:
        outputs.write_atomic(str(p), "report\n")
    finally:
        os.umask(old)
    assert p.read_text() == "report\n"
    assert stat.S_IMODE(p.stat().st_mode) == 0o644
    assert _leftovers(tmp_path) == []


def test_existing_file_kept_without_force(tmp_path: Path) -> None:
    p = tmp_path / "r.json"
    p.write_text("old")
    with pytest.raises(UsageError, match="exists; use --force"):
        outputs.write_atomic(str(p), "new")
    assert p.read_text() == "old" and _leftovers(tmp_path) == []
    outputs.write_atomic(str(p), "new", force=True)
    assert p.read_text() == "new" and _leftovers(tmp_path) == []


def test_dangling_symlink_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    link = tmp_path / "r.json"
    link.symlink_to(target)
    with pytest.raises(UsageError, match="exists"):
        outputs.write_atomic(str(link), "x")
    outputs.write_atomic(str(link), "x", force=True)  # replaces the link, not its target
    assert not target.exists() and not link.is_symlink() and link.read_text() == "x"


@pytest.mark.parametrize("force", [False, True])
def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     force: bool) -> None:
    p = tmp_path / "r.json"
    if force:
        p.write_text("old")

    def full(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs.os, "fsync", full)
    with pytest.raises(UsageError, match="No space left"):
        outputs.write_atomic(str(p), "x" * 100_000, force=force)
    assert _leftovers(tmp_path) == []
    assert (p.read_text() == "old") if force else not p.exists()


def test_file_appearing_meanwhile_is_not_replaced(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer creates the file between the check and the rename: without --force
    the link(2) step refuses, and the other writer's file survives."""
    p = tmp_path / "r.json"
    real_fsync = os.fsync

    def race(fd: int) -> None:
        real_fsync(fd)
        p.write_text("theirs")

    monkeypatch.setattr(outputs.os, "fsync", race)
    with pytest.raises(UsageError, match="exists"):
        outputs.write_atomic(str(p), "mine")
    assert p.read_text() == "theirs" and _leftovers(tmp_path) == []


def test_cli_output_needs_force(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    r = _cli("analyze", S01, "--format", "json", "-o", str(out))
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    first = out.read_bytes()
    assert json.loads(first)["capture"]["files"][0]["packets"] == 82
    out.write_text("keep me")
    r = _cli("analyze", S01, "--format", "json", "-o", str(out))
    assert r.returncode == 2
    assert r.stderr == f"capfcap: {out} exists; use --force to overwrite it\n"
    assert out.read_text() == "keep me"
    r = _cli("analyze", S01, "--format", "json", "-o", str(out), "--force")
    assert r.returncode == 0 and out.read_bytes() == first
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("where", ["dir", "missing", "proc"])
def test_cli_unwritable_output_is_one_line(tmp_path: Path, where: str) -> None:
    """A directory, a missing directory, or one no file can be created in (/proc refuses
    even root): exit 2, one line, nothing left behind."""
    out = {"dir": str(tmp_path), "missing": str(tmp_path / "no" / "r.json"),
           "proc": "/proc/capfcap-test-output.json"}[where]
    r = _cli("analyze", S01, "--format", "json", "-o", out, "--force")
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("capfcap: ") and r.stderr.count("\n") == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert _leftovers(tmp_path) == []



# -- devices and pipes: written through, never replaced -------------------------------------
def _fifo_reader(fifo: Path) -> tuple[subprocess.Popen[bytes], Path]:
    got = fifo.with_suffix(".got")
    reader = subprocess.Popen(["sh", "-c", f"cat '{fifo}' > '{got}'"])
    return reader, got


@pytest.mark.parametrize("force", [False, True])
def test_a_named_pipe_is_written_through_and_stays_a_pipe(tmp_path: Path, force: bool) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    reader, got = _fifo_reader(fifo)
    try:
        outputs.write_atomic(str(fifo), b"report\n", force=force)
        reader.wait(timeout=30)
    finally:
        reader.kill()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # not renamed over by a file
    assert got.read_bytes() == b"report\n"
    assert _leftovers(tmp_path) == []


def test_cli_output_to_dev_null_needs_no_force_and_leaves_the_device() -> None:
    cap = ROOT / "pcaps" / "realpeer" / "S05_capf_filtered.pcap"
    r = _cli("analyze", str(cap), "--format", "json", "-o", os.devnull)
    assert r.returncode == 4, r.stderr  # the capture's error finding, nothing about -o
    assert r.stderr == ""
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_a_block_device_is_refused_without_force() -> None:
    disks = [p for p in sorted(Path("/dev").iterdir())
             if p.exists() and stat.S_ISBLK(os.stat(p).st_mode)]
    if not disks:
        pytest.skip("no block device here")
    with pytest.raises(UsageError, match="block device"):
        outputs.check_writable(str(disks[0]), force=False)  # only checked, never written
