"""A newcomer's first hour (issue 17): --phone notations, text on a pipe and on a
terminal, help and usage, stdin. CLI tests run the real command in a subprocess; terminal
tests give it a pseudo-terminal (`os.openpty`) of a known size."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from capfcap import exitcodes
from tests.conftest import REALPEER

ROOT = Path(__file__).resolve().parent.parent
S05 = str(REALPEER / "S05_capf_filtered.pcap")  # one phone, 192.0.2.21, SEP0023AB12CD34
ESC = "\x1b["


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR", "LINES")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def cap(*args: str, env: dict[str, str] | None = None,
        stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([sys.executable, "-m", "capfcap", *args], capture_output=True,
                       input=stdin, env=env or _env(), timeout=120, cwd=ROOT)
    return subprocess.CompletedProcess(p.args, p.returncode, p.stdout.decode(),
                                       p.stderr.decode())


def on_tty(*args: str, cols: int = 80, tty_stdout: bool = True, tty_stderr: bool = False,
           **env: str) -> tuple[str, str, int]:
    """Run capfcap with stdout and/or stderr on a pseudo-terminal `cols` wide; returns
    (what the terminal got, what the pipe got, exit status)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, cols, 0, 0))
    p = subprocess.Popen([sys.executable, "-m", "capfcap", *args], cwd=ROOT, env=_env(**env),
                         stdin=subprocess.DEVNULL,
                         stdout=slave if tty_stdout else subprocess.PIPE,
                         stderr=slave if tty_stderr else subprocess.PIPE)
    os.close(slave)
    got = b""
    while True:
        r, _, _ = select.select([master], [], [], 60)
        if not r:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        got += chunk
    pipe = (p.stderr if tty_stdout else p.stdout)
    assert pipe is not None
    other = pipe.read().decode()
    rc = p.wait(60)
    os.close(master)
    return got.decode().replace("\r\n", "\n"), other, rc


# -- --phone ------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["00:23:ab:12:cd:34", "0023.ab12.cd34", "0023AB12CD34",
                                   "00-23-AB-12-CD-34", "SEP0023AB12CD34", "sep0023ab12cd34",
                                   "192.0.2.21"])
def test_phone_accepts_every_mac_notation_and_the_ip(value: str) -> None:
    p = cap("analyze", S05, "--phone", value)
    assert p.returncode == exitcodes.ERRORS, p.stderr  # S05's CAPF_UNIDIRECTIONAL is kept
    assert "Phone 192.0.2.21" in p.stdout
    assert "CAPF_UNIDIRECTIONAL" in p.stdout


@pytest.mark.parametrize("value", ["0023.ab12.cd35", "192.0.2.99", "SEPnothing"])
def test_unmatched_phone_is_a_usage_error_naming_the_phones_seen(value: str) -> None:
    p = cap("analyze", S05, "--phone", value, "--format", "json")
    assert p.returncode == exitcodes.USAGE
    assert p.stdout == ""  # never a clean report
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith(f"capfcap: --phone {value}")
    assert "192.0.2.21" in lines[0] and "SEP0023AB12CD34" in lines[0]


def test_one_unmatched_phone_among_matched_ones_is_still_an_error() -> None:
    p = cap("analyze", S05, "--phone", "192.0.2.21", "--phone", "0023.ab12.cd99")
    assert p.returncode == exitcodes.USAGE
    assert "0023.ab12.cd99" in p.stderr and "192.0.2.21" not in p.stderr.split("seen")[0]


# -- text output: pipe and terminal --------------------------------------------------------

def test_piped_text_is_unwrapped_without_trailing_spaces_or_escapes() -> None:
    p = cap("analyze", S05, env=_env())
    assert p.returncode == exitcodes.ERRORS
    lines = p.stdout.splitlines()
    assert all(x == x.rstrip() for x in lines)
    assert ESC not in p.stdout
    assert max(len(x) for x in lines) > 100  # the Fix: line is whole, not wrapped at 80
    header = lines[0]
    assert header.startswith(S05 + ": 65 frames, pcap, Ethernet, 2026-")  # one line
    filt = [x for x in lines if x.strip().startswith("Filter:")]
    assert filt == ["  Filter: ip.addr==192.0.2.21 && ip.addr==198.51.100.11 && tcp.port==3804"]


def test_conn_state_line_is_printed_once() -> None:
    out = cap("analyze", S05).stdout
    assert out.count("conn_state S0, history S") == 1


def test_terminal_text_follows_its_width_and_colours() -> None:
    out, _err, rc = on_tty("analyze", S05, cols=60)
    assert rc == exitcodes.ERRORS
    assert ESC in out  # colour on a terminal
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    lines = plain.splitlines()
    filt = [x for x in lines if x.strip().startswith("Filter:")]
    assert filt == ["  Filter: ip.addr==192.0.2.21 && ip.addr==198.51.100.11 && tcp.port==3804"]
    assert all(len(x) <= 60 for x in lines if "Filter:" not in x and "Ethernet" not in x)
    assert not any(x.rstrip().endswith("Ethernet,") for x in lines)  # header never breaks there
    assert lines[0].endswith(": 65 frames, pcap, Ethernet")


def test_no_color_and_columns_on_a_terminal() -> None:
    out, _err, _rc = on_tty("analyze", S05, cols=200, NO_COLOR="1", COLUMNS="70")
    assert ESC + "1m" not in out and ESC + "31m" not in out and "\x1b[0m" not in out
    assert all(len(x) <= 70 for x in out.splitlines() if "Filter:" not in x
               and "Ethernet" not in x)
    assert max(len(x) for x in out.splitlines()) > 60
    forced, _e, _r = on_tty("analyze", S05, "--color", "always", NO_COLOR="1")
    assert ESC in forced  # the flag overrides the environment


def test_columns_wraps_piped_text() -> None:
    out = cap("analyze", S05, env=_env(COLUMNS="72")).stdout
    assert all(len(x) <= 72 for x in out.splitlines() if "Filter:" not in x
               and "Ethernet" not in x)
    assert "Filter: ip.addr==192.0.2.21 && ip.addr==198.51.100.11 && tcp.port==3804" in out


# -- help and usage --------------------------------------------------------------------------

def test_every_option_has_help_text() -> None:
    from capfcap.cli import _parsers

    top, commands = _parsers()
    for name, sp in commands.items():
        for action in sp._actions:
            assert action.help, f"capfcap {name} {action.option_strings or action.dest}"


def test_help_ends_with_the_exit_statuses() -> None:
    for args in (["--help"], ["analyze", "--help"], ["itl", "--help"]):
        p = cap(*args)
        assert p.returncode == 0
        tail = p.stdout.rstrip().splitlines()[-7:]
        assert tail[0] == "exit status:"
        for n, line in zip((exitcodes.OK, exitcodes.INTERNAL, exitcodes.USAGE,
                            exitcodes.WARNINGS, exitcodes.ERRORS, exitcodes.BAD_INPUT),
                           tail[1:], strict=True):
            assert line.strip().startswith(f"{n} ")


def test_unknown_option_prints_the_commands_usage() -> None:
    p = cap("analyze", "--bogus", S05)
    assert p.returncode == exitcodes.USAGE
    assert p.stderr.startswith("usage: capfcap analyze")
    assert "capfcap analyze: error: unrecognized arguments: --bogus" in p.stderr


def test_readme_names_no_frame_command_and_lists_color_and_no_fast_path() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "(`capfcap frame N`" not in readme  # `frame` is not a command
    from capfcap.cli import _parsers

    _top, commands = _parsers()
    for word in re.findall(r"`capfcap (\w+)", readme):  # every command the README quotes
        assert word in commands, word
    usage = readme.split("## Usage", 1)[1].split("```")[1]
    for opt in ("--color", "--no-fast-path"):
        assert opt in usage


# -- stdin ---------------------------------------------------------------------------------

def _json_without_paths(text: str) -> dict[str, object]:
    import json

    doc = json.loads(text)
    for f in doc["capture"]["files"]:
        f.pop("path", None)
    return doc


@pytest.mark.parametrize("name", ["S05_capf_filtered.pcap", "S01_happy.pcapng"])
def test_stdin_from_cat_matches_the_file(name: str) -> None:
    path = REALPEER / name
    from_file = cap("analyze", str(path), "--format", "json")
    piped = cap("analyze", "-", "--format", "json", stdin=path.read_bytes())
    assert piped.returncode == from_file.returncode, piped.stderr
    doc = _json_without_paths(piped.stdout)
    assert doc == _json_without_paths(from_file.stdout)
    files = __import__("json").loads(piped.stdout)["capture"]["files"]
    assert [f["path"] for f in files] == ["-"]


def test_stdin_from_a_real_tcpdump_pipe() -> None:
    import shutil

    tcpdump = shutil.which("tcpdump")
    if tcpdump is None:
        pytest.skip("tcpdump is not installed")
    producer = subprocess.Popen([tcpdump, "-r", S05, "-w", "-"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
    p = subprocess.run([sys.executable, "-m", "capfcap", "analyze", "-"], stdin=producer.stdout,
                       capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=120)
    assert producer.stdout is not None
    producer.stdout.close()
    producer.wait(30)
    assert p.returncode == exitcodes.ERRORS, p.stderr
    assert p.stdout.startswith("-: 65 frames, pcap, Ethernet")
    assert "CAPF_UNIDIRECTIONAL" in p.stdout


@pytest.mark.parametrize("extra", [["--bundle", "out.zip"], ["--crosscheck"], [S05]])
def test_stdin_with_what_rereads_the_input_is_a_usage_error(extra: list[str]) -> None:
    p = cap("analyze", "-", *extra, stdin=Path(S05).read_bytes())
    assert p.returncode == exitcodes.USAGE
    assert len(p.stderr.splitlines()) == 1 and p.stderr.startswith("capfcap: ")


def test_stdin_not_a_capture_is_bad_input() -> None:
    p = cap("analyze", "-", stdin=b"hello, this is not a capture\n")
    assert p.returncode == exitcodes.BAD_INPUT
    assert p.stderr.startswith("capfcap: -: not a pcap or pcapng capture")


# -- progress bar ----------------------------------------------------------------------------

def _big_capture(path: Path, size: int) -> None:
    """A pcap of UDP frames between documentation addresses, `size` bytes or more."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + 1400, 0, 0, 64, 17, 0,
                     bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))
    frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + struct.pack(
        "!HHHH", 40000, 40001, 1408, 0) + b"\x00" * 1400
    rec = struct.pack("<IIII", 1_700_000_000, 0, len(frame), len(frame)) + frame
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        f.write(rec * (size // len(rec) + 1))


def test_progress_bar_on_a_terminal_stderr_whatever_stdout_is(tmp_path: Path) -> None:
    big = tmp_path / "big.pcap"
    _big_capture(big, 9 << 20)
    err, out, rc = on_tty("analyze", str(big), tty_stdout=False, tty_stderr=True)
    assert rc == exitcodes.OK
    assert "No phone traffic found" in out and ESC not in out  # stdout is a pipe
    plain = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", err)
    assert "100%" in plain
    assert re.search(r"[\d,]+ frames", plain)
    assert re.search(r"\d+:\d\d:\d\d|-:--:--", plain)  # time left


def test_no_progress_escapes_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    big = tmp_path / "big.pcap"
    _big_capture(big, 9 << 20)
    out, err, rc = on_tty("analyze", str(big))  # stdout a terminal, stderr a pipe
    assert rc == exitcodes.OK
    assert err == ""
    assert "No phone traffic found" in out


# -- capfcap itl ----------------------------------------------------------------------------

S01 = str(REALPEER / "S01_happy.pcap")


def _itl_json(path: str) -> dict[str, object]:
    import json

    doc = json.loads(cap("itl", path, "--format", "json").stdout)
    assert isinstance(doc, dict)
    return doc


def _check_itl_text(out: str, width: int | None) -> None:
    doc = _itl_json(S01)
    records = doc["trust_lists"][0]["records"]  # type: ignore[index]
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", x) for x in out.splitlines()]
    assert all(x == x.rstrip() for x in lines)
    flat = "\n".join(lines)
    for r in records:
        cert = r["certificate"]
        assert f"SHA-256    {cert['sha256']}" in flat  # whole, on one line
        assert f"serial     {r['serial']}" in flat
        # the subject, joined back from its lines, is whole; each line ends between RDNs
        idx = next(i for i, x in enumerate(lines) if x.startswith(f"  record {r['index']}:"))
        subj = [lines[idx + 1][15:]]
        for x in lines[idx + 2:]:
            if not x.startswith(" " * 15):
                break
            subj.append(x[15:])
        assert "".join(subj) == r["subject"]
        assert all(s.endswith(",") for s in subj[:-1])
    if width is not None:
        assert all(len(x) <= width for x in lines)
    assert re.search(r"checksum: [0-9a-f]{32} \(MD5\)\n {16}[0-9a-f]{40} \(SHA1\)\n", flat)
    assert re.search(r"SHA-256: [0-9a-f]{64}\n", flat)


def test_itl_text_piped_is_unwrapped_and_whole() -> None:
    p = cap("itl", S01)
    assert p.returncode == exitcodes.OK, p.stderr
    _check_itl_text(p.stdout, None)
    assert max(len(x) for x in p.stdout.splitlines()) < 120  # no 120-column padding
    assert ESC not in p.stdout


def test_itl_text_on_an_80_column_terminal() -> None:
    out, _err, rc = on_tty("itl", S01, cols=80)
    assert rc == exitcodes.OK
    _check_itl_text(out, 80)


def test_itl_text_on_a_narrow_terminal_breaks_names_between_rdns() -> None:
    out, _err, _rc = on_tty("itl", S01, cols=50)
    _check_itl_text(out, None)
    assert "    subject    CN=ITLRECOVERY_pub.cucm.example,\n" in re.sub(r"\x1b\[[0-9;]*m", "", out)


# -- one report, one vocabulary ----------------------------------------------------------------

S07 = str(REALPEER / "S07_capf_cert_mismatch.pcap")  # CAPF_CERT_MISMATCH + CAPF_TLS_FAILED


def _steps(text: str) -> list[tuple[str, str]]:
    """(frame, outcome label) of each timeline line."""
    return re.findall(r"^ +(\d+)  \d\d:\d\d:\d\d\.\d{3}  (\S+) ", text, re.M)


def test_markdown_timeline_uses_the_text_outcome_labels() -> None:
    text = cap("analyze", S07).stdout
    md = cap("analyze", S07, "--format", "markdown").stdout
    t, m = _steps(text), _steps(md)
    assert t and t == m
    assert {label for _f, label in m} == {"ok", "FAIL", "--"}


def test_cert_mismatch_shows_whole_hashes_for_both_certificates() -> None:
    import json

    doc = json.loads(cap("analyze", S07, "--format", "json").stdout)
    f = next(x for x in doc["findings"] if x["code"] == "CAPF_CERT_MISMATCH")
    hashes = re.findall(r"SHA-256 ([0-9a-f]+)", f["detail"])
    assert len(hashes) >= 2
    assert all(len(h) == 64 for h in hashes), hashes


def test_every_finding_with_frames_has_a_time_in_the_summary(tmp_path: Path) -> None:
    import zipfile

    out = tmp_path / "b.zip"
    p = cap("analyze", S07, "--bundle", str(out), "--format", "json")
    assert p.returncode == exitcodes.ERRORS, p.stderr
    with zipfile.ZipFile(out) as z:
        name = next(n for n in z.namelist() if n.endswith("summary.md"))
        summary = z.read(name).decode()
    blocks = re.split(r"^#### ", summary, flags=re.M)[1:]
    assert len(blocks) == 2
    for b in blocks:
        if "- Frames:" in b:
            assert re.search(r"^- Time: 2026-\S+ to 2026-\S+$", b, re.M), b
