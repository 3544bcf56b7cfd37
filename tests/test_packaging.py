"""The package carries its data files: every file in capfcap/ that is not Python is
declared as package data, and the installed `capfcap` command (CI installs with `pip
install .`, as the README's quick start does) reads the phone-message table."""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_every_data_file_of_the_package_is_declared() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]
    tracked = subprocess.run(["git", "ls-files", "capfcap"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    data = [Path(f) for f in tracked if not f.endswith(".py")]
    assert Path("capfcap/messages.toml") in data
    for f in data:
        pkg, rel = f.parent, f.name
        while not any(fnmatch.fnmatch(rel, g)
                      for g in declared.get(".".join(pkg.parts), [])):
            assert len(pkg.parts) > 1, f"{f} is in no [tool.setuptools.package-data] glob"
            pkg, rel = pkg.parent, f"{pkg.name}/{rel}"


def test_the_installed_command_reads_the_message_table() -> None:
    exe = shutil.which("capfcap")
    if exe is None:
        pytest.skip("no capfcap command on PATH")
    out = subprocess.run([exe, "explain", "LSC: Connection Failed"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "CAPF_UNIDIRECTIONAL" in out.stdout
