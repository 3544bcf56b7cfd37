"""`capfcap analyze --each` (capfcap/commands/each.py): each capture on its own, in input
order whatever --jobs, then the fleet summary (capfcap/fleet.py, reporters/fleet.py)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from capfcap import exitcodes
from capfcap.fleet import CaptureSummary, PhoneLine, groups, verdict_head, worst_first
from tests.conftest import PCAPS, REALPEER

HAPPY, FILTERED, REFUSED, ASYM = ("S01_happy.pcap", "S05_capf_filtered.pcap",
                                  "S06_capf_refused.pcap", "S08_asymmetric_capture.pcap")


def cap(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "capfcap", "analyze", *args],
                          capture_output=True, text=True, timeout=300)


def fleet_dir(tmp_path: Path, *names: str, garbage: bool = True) -> Path:
    d = tmp_path / "fleet"
    d.mkdir()
    for n in names:
        shutil.copy(REALPEER / n, d / n)
    if garbage:  # sorts after the S* captures
        (d / "zz_garbage.pcap").write_bytes(b"this is not a capture at all\n" * 10)
    return d


def alone(path: Path, fmt: str = "text") -> str:
    p = cap(str(path), "--format", fmt)
    assert p.returncode in (exitcodes.OK, exitcodes.WARNINGS, exitcodes.ERRORS), p.stderr
    return p.stdout


def check_report(doc: dict[str, Any]) -> None:
    """The DESIGN §5 shape of one capture's report."""
    assert doc["schema"] == "capfcap.report/1"
    files = doc["capture"]["files"]
    assert len(files) == 1 and len(files[0]["sha256"]) == 64 and files[0]["packets"] > 0
    for p in doc["phones"]:
        assert p["ip"] and isinstance(p["timeline"], list) and p["verdict"]
    for f in doc["findings"]:
        assert f["severity"] in ("error", "warning", "info") and f["code"]
        assert {"frames", "first", "last", "filter"} <= set(f["evidence"])


def test_text_sections_in_input_order_then_fleet_summary(tmp_path: Path) -> None:
    d = fleet_dir(tmp_path, REFUSED, HAPPY, FILTERED)
    missing = tmp_path / "gone.pcap"
    p = cap("--each", str(d), str(missing))
    assert p.returncode == exitcodes.BAD_INPUT and "Traceback" not in p.stderr
    err = p.stderr.splitlines()
    assert err == [f"capfcap: {d / 'zz_garbage.pcap'}: not a pcap or pcapng capture "
                   f"(magic 74686973 at byte 0)",
                   f"capfcap: {missing}: no such file or directory"]
    sections, summary = p.stdout.split("Fleet summary: ")
    order = [ln[4:-4] for ln in sections.splitlines() if ln.startswith("=== ")]
    assert order == [str(d / HAPPY), str(d / FILTERED), str(d / REFUSED),
                     str(d / "zz_garbage.pcap"), str(missing)]
    for n in (HAPPY, FILTERED, REFUSED):  # each section is that capture's own report
        assert f"=== {d / n} ===\n{alone(d / n)}\n" in sections
    assert summary.startswith("5 captures (2 not analysed), 3 phones; exit status 5\n")
    rows = summary.split("Captures, worst first\n")[1].splitlines()[1:]
    assert [r.split()[0] for r in rows] == ["unreadable", "unreadable", "errors", "errors",
                                            "clean"]
    assert rows[-1].endswith(str(d / HAPPY))
    lsc = [ln for ln in summary.splitlines() if "CAPF_LSC_ISSUED" in ln]
    assert len(lsc) == 1 and lsc[0].split()[:3] == ["1", "1", "info"]


@pytest.mark.slow
def test_jobs_change_nothing_but_speed(tmp_path: Path) -> None:
    d = fleet_dir(tmp_path, HAPPY, FILTERED, REFUSED, ASYM)
    for fmt in ("text", "jsonl"):
        runs = [cap("--each", str(d), "--format", fmt, "--jobs", j) for j in ("1", "2", "0")]
        assert {r.returncode for r in runs} == {exitcodes.BAD_INPUT}
        assert runs[0].stdout and runs[0].stdout == runs[1].stdout == runs[2].stdout
        assert runs[0].stderr == runs[1].stderr == runs[2].stderr


def test_jsonl_one_normal_report_per_line_then_the_summary(tmp_path: Path) -> None:
    d = fleet_dir(tmp_path, FILTERED, ASYM, HAPPY)
    p = cap("--each", str(d), "--format", "jsonl", "--jobs", "2")
    lines = p.stdout.splitlines()
    docs = [json.loads(ln) for ln in lines]
    assert len(docs) == 4  # three reports (the garbage file has none) and the summary
    for doc, n in zip(docs, (HAPPY, FILTERED, ASYM), strict=False):
        check_report(doc)
        assert doc == json.loads(alone(d / n, "json"))
    last = docs[-1]
    assert last["type"] == "fleet_summary" and "type" not in docs[0]
    assert last["captures"] == 4 and last["analysed"] == 3 and last["status"] == 5
    assert [f["result"] for f in last["files"]] == ["unreadable", "errors", "warnings",
                                                    "clean"]
    assert sum(g["phones"] for g in last["groups"]) == last["phones"] == \
        sum(len(doc["phones"]) for doc in docs[:-1])


def test_json_is_one_document_of_normal_reports(tmp_path: Path) -> None:
    d = fleet_dir(tmp_path, REFUSED, HAPPY, garbage=False)
    p = cap("--each", str(d), "--format", "json")
    assert p.returncode == exitcodes.ERRORS, p.stderr
    doc = json.loads(p.stdout)
    assert doc["schema"] == "capfcap.fleet/1"
    assert doc["reports"] == [json.loads(alone(d / HAPPY, "json")),
                              json.loads(alone(d / REFUSED, "json"))]
    groups_ = doc["summary"]["groups"]
    assert [(g["severity"], g["cause"], g["phones"]) for g in groups_] == [
        ("error", "CAPF_REFUSED", 1), ("info", "CAPF_LSC_ISSUED", 1)]


def test_markdown_sections_then_summary(tmp_path: Path) -> None:
    d = fleet_dir(tmp_path, HAPPY, ASYM)
    p = cap("--each", str(d), "--format", "markdown")
    heads = [ln for ln in p.stdout.splitlines() if ln.startswith("# ")]
    assert heads == [f"# capfcap report: {d / HAPPY}", f"# capfcap report: {d / ASYM}",
                     f"# capfcap report: {d / 'zz_garbage.pcap'}", "# Fleet summary"]
    assert "| warnings | 0 | 1 | 1 |" in p.stdout


@pytest.mark.parametrize(("names", "extra", "status"), [
    ((HAPPY,), [], exitcodes.OK),
    ((HAPPY, ASYM), [], exitcodes.WARNINGS),
    ((ASYM, FILTERED), [], exitcodes.ERRORS),
    ((ASYM, FILTERED), ["--fail-on", "error"], exitcodes.ERRORS),
    ((ASYM,), ["--fail-on", "error"], exitcodes.OK),
    ((FILTERED,), ["--fail-on", "never"], exitcodes.OK),
])
def test_exit_status_is_the_worst_over_captures(tmp_path: Path, names: tuple[str, ...],
                                                extra: list[str], status: int) -> None:
    d = fleet_dir(tmp_path, *names, garbage=False)
    p = cap("--each", str(d), "--format", "jsonl", *extra)
    assert p.returncode == status, p.stderr
    assert json.loads(p.stdout.splitlines()[-1])["status"] == status


def test_damaged_capture_keeps_its_report_and_exits_5(tmp_path: Path) -> None:
    trunc = PCAPS / "damaged" / "pcap_trunc_mid_record.pcap"
    p = cap("--each", str(trunc), str(REALPEER / HAPPY), "--format", "jsonl",
            "--fail-on", "never")
    docs = [json.loads(ln) for ln in p.stdout.splitlines()]
    assert p.returncode == exitcodes.BAD_INPUT
    assert docs[0]["capture"]["files"][0]["path"] == str(trunc) and docs[0]["phones"]
    assert docs[-1]["files"][0]["result"] == "damaged"
    assert "truncated" in p.stderr and "Traceback" not in p.stderr


def test_phone_filters_each_capture_and_must_match_somewhere(tmp_path: Path) -> None:
    d = fleet_dir(tmp_path, HAPPY, FILTERED, garbage=False)
    ip = json.loads(alone(d / FILTERED, "json"))["phones"][0]["ip"]
    p = cap("--each", str(d), "--phone", ip, "--format", "jsonl")
    assert p.returncode == exitcodes.ERRORS, p.stderr
    p = cap("--each", str(d), "--phone", "203.0.113.250")
    assert p.returncode == exitcodes.USAGE
    assert p.stderr == ("capfcap: --phone 203.0.113.250: matches no phone in any "
                        "capture\n")


@pytest.mark.parametrize("extra", [["--format", "html"], ["--bundle", "x.zip"], ["-"]])
def test_refused_combinations_are_one_line_usage_errors(tmp_path: Path,
                                                        extra: list[str]) -> None:
    p = cap("--each", str(REALPEER / HAPPY), *extra)
    assert p.returncode == exitcodes.USAGE and p.stdout == ""
    assert len(p.stderr.splitlines()) == 1 and "--each" in p.stderr


def test_output_file_and_directory_without_each_is_one_analysis(tmp_path: Path) -> None:
    d = fleet_dir(tmp_path, HAPPY, FILTERED, garbage=False)
    out = tmp_path / "fleet.json"
    p = cap("--each", str(d), "--format", "json", "-o", str(out))
    assert p.returncode == exitcodes.ERRORS and p.stdout == ""
    assert len(json.loads(out.read_text())["reports"]) == 2
    merged = json.loads(cap(str(d), "--format", "json").stdout)
    assert len(merged["capture"]["files"]) == 2


def busy_fleet(tmp_path: Path, n: int) -> Path:
    d = tmp_path / "many"
    d.mkdir()
    for i in range(n):
        os.link(REALPEER / "S12_busy.pcap", d / f"busy{i:02}.pcap")
    return d


def _sigint_default() -> None:  # runs in the child before exec
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def started(d: Path, *extra: str) -> subprocess.Popen[str]:
    """The command in its own process group, once it has written its first report line
    (the pool is at work). Ctrl-C reaches it as in a terminal even when pytest itself was
    started in the background (`&` ignores SIGINT, and a child inherits that)."""
    p = subprocess.Popen([sys.executable, "-m", "capfcap", "analyze", "--each", str(d),
                          "--jobs", "2", *extra], preexec_fn=_sigint_default,
                         stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert p.stdout is not None and p.stdout.readline()
    return p


def test_ctrl_c_stops_the_pool_without_a_traceback(tmp_path: Path) -> None:
    p = started(busy_fleet(tmp_path, 40))
    os.killpg(p.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130 and err == "capfcap: interrupted\n"
    assert "Fleet summary" not in out


def test_a_killed_worker_fails_its_captures_not_the_run(tmp_path: Path) -> None:
    p = started(busy_fleet(tmp_path, 40), "--format", "jsonl")
    workers = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True,
                             text=True).stdout.split()
    os.kill(int(workers[0]), signal.SIGKILL)  # as the out-of-memory killer would
    out, err = p.communicate(timeout=60)
    assert p.returncode == exitcodes.INTERNAL and "Traceback" not in err
    summary = json.loads(out.splitlines()[-1])
    failed = [f for f in summary["files"] if f["result"] == "failed"]
    assert failed and all("killed" in f["error"] for f in failed)
    assert summary["captures"] == 40


def test_progress_lines_on_a_terminal(tmp_path: Path) -> None:
    import pty

    d = fleet_dir(tmp_path, HAPPY, FILTERED)
    master, slave = pty.openpty()
    p = subprocess.run([sys.executable, "-m", "capfcap", "analyze", "--each", str(d),
                        "--format", "jsonl"], stdout=subprocess.PIPE, stderr=slave,
                       timeout=120)
    os.close(slave)
    err = os.read(master, 65536).decode()
    os.close(master)
    assert p.returncode == exitcodes.BAD_INPUT
    assert f"[1/3] {d / HAPPY}: clean" in err and f"[2/3] {d / FILTERED}: errors" in err
    assert f"[3/3] {d / 'zz_garbage.pcap'}: unreadable" in err
    piped = cap("--each", str(d), "--format", "jsonl")
    assert "[1/3]" not in piped.stderr and piped.stdout == p.stdout.decode()


def test_fleet_grouping_and_order() -> None:
    assert verdict_head("LSC install blocked: port 3804 filtered between a and b") == \
        "LSC install blocked"
    assert verdict_head("LSC installed (from the TLS record sizes); also X") == "LSC installed"
    assert verdict_head("No fault proven, but 2 steps failed") == "No fault proven"
    blocked = PhoneLine("LSC install blocked", "CAPF_REFUSED", "error")
    ok = PhoneLine("LSC installed", "CAPF_LSC_ISSUED", "info")
    caps = [CaptureSummary("a", exitcodes.OK, phones=[ok, ok], findings={"info": 2}),
            CaptureSummary("b", exitcodes.ERRORS, phones=[blocked, ok],
                           findings={"error": 1, "info": 1}),
            CaptureSummary("c", exitcodes.ERRORS, phones=[blocked, blocked],
                           findings={"error": 2}),
            CaptureSummary("d", exitcodes.BAD_INPUT, error="not a capture")]
    gs = groups(caps)
    assert [(g.cause, g.phones, g.captures) for g in gs] == [
        ("CAPF_REFUSED", 3, ("b", "c")), ("CAPF_LSC_ISSUED", 3, ("a", "b"))]
    assert [c.path for c in worst_first(caps)] == ["d", "c", "b", "a"]
    assert exitcodes.worst([exitcodes.ERRORS, exitcodes.BAD_INPUT, exitcodes.OK]) == 5
    assert exitcodes.worst([exitcodes.WARNINGS, exitcodes.INTERNAL]) == exitcodes.INTERNAL
    assert exitcodes.worst([]) == exitcodes.OK
