"""The command line as a user runs it: exit statuses, one-line errors, outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from capfcap import exitcodes
from tests.conftest import REALPEER


def cap(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "capfcap", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def one_line_error(p: subprocess.CompletedProcess[str]) -> str:
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert lines, "expected an error message"
    assert "Traceback" not in p.stderr
    assert all(x.startswith("capfcap: ") for x in lines)
    return lines[0]


def test_success_exits_zero_or_info_only() -> None:
    p = cap("analyze", str(REALPEER / "S01_happy.pcap"), "--format", "json")
    assert p.returncode == exitcodes.OK, p.stderr
    doc = json.loads(p.stdout)
    assert doc["schema"] == "capfcap.report/1"
    assert all(f["severity"] == "info" for f in doc["findings"])


def test_error_finding_exits_4_and_fail_on_moves_it() -> None:
    f = str(REALPEER / "S05_capf_filtered.pcap")
    assert cap("analyze", f, "--format", "json").returncode == exitcodes.ERRORS
    assert cap("analyze", f, "--fail-on", "never").returncode == exitcodes.OK
    assert cap("analyze", f, "--fail-on", "error").returncode == exitcodes.ERRORS


def test_warning_only_exits_3_unless_fail_on_error() -> None:
    f = str(REALPEER / "S10_capf_no_operation.pcap")
    p = cap("analyze", f, "--format", "json")
    sev = {x["severity"] for x in json.loads(p.stdout)["findings"]}
    assert "error" not in sev and "warning" in sev
    assert p.returncode == exitcodes.WARNINGS
    assert cap("analyze", f, "--fail-on", "error").returncode == exitcodes.OK


def test_missing_file_and_not_a_capture(tmp_path: Path) -> None:
    p = cap("analyze", str(tmp_path / "nope.pcap"))
    assert p.returncode == exitcodes.BAD_INPUT
    assert "no such file" in one_line_error(p)
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"\x00garbage" * 100)
    p = cap("analyze", str(junk))
    assert p.returncode == exitcodes.BAD_INPUT
    assert "not a pcap or pcapng" in one_line_error(p)


def test_truncated_capture_is_still_analysed(tmp_path: Path) -> None:
    raw = (REALPEER / "S05_capf_filtered.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(raw[:-20])
    p = cap("analyze", str(cut), "--format", "json")
    assert p.returncode == exitcodes.BAD_INPUT
    assert "truncated" in one_line_error(p)
    doc = json.loads(p.stdout)
    assert doc["capture"]["files"][0]["packets"] == 64
    assert "truncated" in doc["capture"]["files"][0]["error"]
    assert [f["code"] for f in doc["findings"]] == ["CAPF_UNIDIRECTIONAL"]


def test_usage_errors_exit_2() -> None:
    assert cap().returncode == exitcodes.USAGE
    assert cap("analyze").returncode == exitcodes.USAGE
    assert cap("analyze", "x.pcap", "--format", "yaml").returncode == exitcodes.USAGE
    p = cap("explain", "NOT_A_CODE")
    assert p.returncode == exitcodes.USAGE and "unknown finding code" in one_line_error(p)


def test_output_file_never_overwritten_without_force(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    out.write_text("keep")
    f = str(REALPEER / "S01_happy.pcap")
    p = cap("analyze", f, "--format", "json", "-o", str(out))
    assert p.returncode == exitcodes.USAGE and "--force" in one_line_error(p)
    assert out.read_text() == "keep"
    assert cap("analyze", f, "--format", "json", "-o", str(out), "--force").returncode == 0
    assert json.loads(out.read_text())["schema"] == "capfcap.report/1"


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_formats_are_deterministic(fmt: str) -> None:
    f = str(REALPEER / "S06_capf_refused.pcap")
    a = cap("analyze", f, "--format", fmt).stdout
    b = cap("analyze", f, "--format", fmt).stdout
    assert a == b and "CAPF_REFUSED" in a


def test_text_without_a_tty_is_unwrapped_and_plain() -> None:
    """Piped text is whole lines (issue 17), no trailing blanks, no escapes."""
    p = cap("analyze", str(REALPEER / "S07_capf_cert_mismatch.pcap"))
    lines = p.stdout.splitlines()
    assert max(len(x) for x in lines) > 80
    assert all(x == x.rstrip() for x in lines)
    assert "\x1b[" not in p.stdout


def test_explain_prints_the_catalog_entry() -> None:
    p = cap("explain", "capf_unidirectional")
    assert p.returncode == 0
    assert "TCP 3804" in p.stdout and "Fix:" in p.stdout


def test_internal_error_is_one_line_and_exit_1(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import capfcap.commands.analyze as an
    from capfcap.cli import main

    def boom(_args: object) -> int:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(an, "run", boom)
    monkeypatch.delenv("CAPFCAP_DEBUG", raising=False)
    assert main(["analyze", str(REALPEER / "S01_happy.pcap")]) == exitcodes.INTERNAL
    err = capsys.readouterr().err
    assert err.strip() == ("capfcap: internal error: RuntimeError: simulated bug "
                           "(set CAPFCAP_DEBUG=1 for details)")
