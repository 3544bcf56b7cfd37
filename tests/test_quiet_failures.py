"""Issue 17: inputs that used to be ignored or misread without a word."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from capfcap import exitcodes
from tests.conftest import ROOT
from tests.gen_module import gen_pcaps

REALPEER = ROOT / "pcaps" / "realpeer"
S05 = REALPEER / "S05_capf_filtered.pcap"


def capfcap(*args: str) -> subprocess.CompletedProcess[str]:
    # COLUMNS would wrap the piped text (the terminal convention); a test runner may set it
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    return subprocess.run([sys.executable, "-m", "capfcap", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120, env=env)


def test_keylog_that_is_not_a_key_log_is_a_usage_error() -> None:
    p = capfcap("analyze", str(S05), "--keylog", str(ROOT / "README.md"))
    assert p.returncode == exitcodes.USAGE and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "README.md: not an NSS key log" in lines[0]


def test_itl_on_a_text_file_says_not_a_trust_list() -> None:
    p = capfcap("itl", str(ROOT / "README.md"))
    assert p.returncode == exitcodes.BAD_INPUT
    assert p.stderr.strip().endswith("README.md: not a trust list (ITL/CTL .tlv file)")
    assert len(p.stderr.strip().splitlines()) == 1


def test_itl_on_a_damaged_trust_list_keeps_the_parse_detail(tmp_path: Path) -> None:
    good = (REALPEER / "data" / "itl" / "ITL_good.tlv").read_bytes()
    bad = tmp_path / "ITLFile.tlv"
    bad.write_bytes(good[:40])  # header cut short: still a trust list, so say why
    p = capfcap("itl", str(bad))
    assert p.returncode == exitcodes.BAD_INPUT
    assert "not a trust list" not in p.stderr and "byte offset" in p.stderr


def test_itl_on_a_capture_names_the_trust_list_that_failed(tmp_path: Path) -> None:
    g = gen_pcaps()
    phone = g.phone_host(0xD5, "198.51.100.45")
    tftp = g.server_host("203.0.113.15", 0x7200)
    cap = g.Cap(g.start(12), g.eth_wrap)
    good = (REALPEER / "data" / "itl" / "ITL_good.tlv").read_bytes()
    g.tftp_get(cap, phone, tftp, "ITLFile.tlv", good[:40], 50105, 42005)
    pcap = tmp_path / "bad_itl.pcap"
    pcap.write_bytes(g.pcap_bytes(g.LINKTYPE_ETHERNET, cap.recs))
    p = capfcap("itl", str(pcap))
    assert p.returncode == exitcodes.BAD_INPUT
    assert "No trust list" not in p.stdout
    assert "Trust list not parsed: TFTP ITLFile.tlv from 203.0.113.15" in p.stdout
    assert "byte offset" in p.stdout and "ITLFile.tlv" in p.stderr


def _damaged_before_first_frame(tmp_path: Path) -> Path:
    p = tmp_path / "cut.pcap"
    p.write_bytes(S05.read_bytes()[:30])  # global header, then 6 bytes of a record header
    return p


def test_damage_before_the_first_frame_still_gives_a_report(tmp_path: Path) -> None:
    import json

    p = capfcap("analyze", str(_damaged_before_first_frame(tmp_path)), "--format", "json")
    assert p.returncode == exitcodes.BAD_INPUT
    doc = json.loads(p.stdout)
    (f,) = doc["capture"]["files"]
    assert f["packets"] == 0 and "truncated record header at byte 24" in f["error"]
    assert "byte 24" in p.stderr
    text = capfcap("analyze", str(_damaged_before_first_frame(tmp_path)))
    assert "truncated record header at byte 24" in text.stdout


def test_not_a_capture_stays_one_line() -> None:
    p = capfcap("analyze", str(ROOT / "README.md"))
    assert p.returncode == exitcodes.BAD_INPUT and p.stdout == ""
    assert len(p.stderr.strip().splitlines()) == 1


def test_pcapng_section_of_unknown_major_version_stops_reading(tmp_path: Path) -> None:
    from capfcap.sources.inputs import InputSet, frames

    good = (ROOT / "pcaps" / "cuts" / "S01_cut_mid_itl.pcapng").read_bytes()
    n_good = sum(1 for _ in frames([str(ROOT / "pcaps" / "cuts" / "S01_cut_mid_itl.pcapng")],
                                   InputSet()))
    v2 = bytearray(good)
    v2[12:14] = (2).to_bytes(2, "little")  # SHB: type, length, byte-order magic, major
    p = tmp_path / "two_sections.pcapng"
    p.write_bytes(good + bytes(v2))  # a 1.0 section, then a 2.0 section
    inputs = InputSet()
    got = list(frames([str(p)], inputs))
    assert len(got) == n_good > 0
    (err,) = inputs.errors
    assert f"section header at byte {len(good)} has version 2.0" in err
    assert f"stopping after frame {n_good}" in err
