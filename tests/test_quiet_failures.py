"""Issue 17: inputs that used to be ignored or misread without a word."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from capfcap import exitcodes
from tests.conftest import ROOT
from tests.gen_module import gen_pcaps

REALPEER = ROOT / "pcaps" / "realpeer"
S05 = REALPEER / "S05_capf_filtered.pcap"


def capfcap(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "capfcap", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


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
