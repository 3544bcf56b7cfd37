"""The robustness guarantees (docs/robustness.md), checked on every file of pcaps/damaged.

Each capture runs through the real command line in a subprocess with a timeout (no hang)
and an address-space limit (no allocation sized by a lying length field):
    python -m capfcap analyze FILE --format json
and must give: no traceback, an exit status in the documented set, one "capfcap: " line
per problem naming a frame or byte offset, every frame before the damage read, and the
findings of the undamaged prefix still reported.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from capfcap.pipeline import Options, analyze
from capfcap.sources.files import read_capture
from tests.conftest import ROOT
from tests.helpers import write_pcap

DAMAGED = ROOT / "pcaps" / "damaged"
MANIFEST: list[dict[str, Any]] = json.loads((DAMAGED / "manifest.json").read_text())
DOCUMENTED = {0, 3, 4, 5}
TIMEOUT_S = 60
MEMORY_LIMIT = 1 << 30  # RLIMIT_AS, bytes
NAMES_PLACE = re.compile(r"\b(byte|frame) \d+|\b\d+ (bytes|frames?)\b")
# one pytest-xdist worker runs the module: the corpus goes through the CLI once (`runs`)
pytestmark = pytest.mark.xdist_group("damaged")


def _limit() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_cli(path: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("CAPFCAP_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "capfcap", "analyze", str(path.relative_to(ROOT)),
         "--format", "json", *args],
        capture_output=True, text=True, timeout=TIMEOUT_S, preexec_fn=_limit, cwd=ROOT,
        env=env,
    )


@pytest.fixture(scope="module")
def runs() -> dict[str, subprocess.CompletedProcess[str] | str]:
    """Every corpus file through the CLI once (in parallel; each is its own process)."""

    def one(e: dict[str, Any]) -> subprocess.CompletedProcess[str] | str:
        try:
            return run_cli(DAMAGED / e["name"], e["args"])
        except subprocess.TimeoutExpired:
            return f"no result within {TIMEOUT_S} s (hang)"

    with ThreadPoolExecutor(max_workers=4) as ex:
        return dict(zip([e["name"] for e in MANIFEST], ex.map(one, MANIFEST), strict=True))


def _findings(report: dict[str, Any]) -> set[tuple[str, tuple[int, ...]]]:
    return {(f["code"], tuple(f["evidence"]["frames"])) for f in report["findings"]}


def _analyze(path: Path) -> set[tuple[str, tuple[int, ...]]]:
    from capfcap.reporters.json import to_dict

    report, _inputs = analyze([str(path)], Options())
    return _findings(to_dict(report))


def _prefix_findings(source: str, n: int, tmp: Path) -> set[tuple[str, tuple[int, ...]]]:
    """Findings of the first n frames of `source`, written as a clean pcap."""
    frames = []
    for fr in read_capture(str(ROOT / source)):
        if fr.number > n:
            break
        frames.append((fr.ts, fr.data))
    p = tmp / "prefix.pcap"
    write_pcap(p, frames)
    return _analyze(p)


def test_corpus_is_what_the_generator_writes() -> None:
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_damaged.py"), "--check"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_corpus_covers_the_issue() -> None:
    names = " ".join(e["name"] for e in MANIFEST)
    for what in ("trunc_file_header", "trunc_mid_record", "pcapng_trunc_block", "bad_magic",
                 "snaplen_tftp", "snaplen_tls", "4gib", "zero_length", "linktype_147",
                 "linktype_105", "unknown_block", "bad_trailer", "iface_out_of_range",
                 "non_monotonic", "flip_S01_dns", "flip_S01_tftp", "flip_S01_itl",
                 "flip_S09_http", "flip_S01_tls", "flip_S11_itl", "flip_S13_tls"):
        assert what in names, what


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["name"] for e in MANIFEST])
def test_damaged_capture(entry: dict[str, Any], runs: dict[str, Any],
                         tmp_path: Path) -> None:
    r = runs[entry["name"]]
    assert not isinstance(r, str), r
    err = r.stderr
    # no traceback, a documented exit status
    assert "Traceback" not in err and "internal error" not in err, err
    assert r.returncode in DOCUMENTED and r.returncode in entry["status"], (r.returncode, err)
    # one line per problem, each "capfcap: " and naming a frame or a byte offset
    lines = err.splitlines()
    for line in lines:
        assert line.startswith("capfcap: "), line
        assert NAMES_PLACE.search(line), line
    if entry["stderr"]:
        assert re.search(entry["stderr"], err), err
    else:
        assert err == ""
    if r.returncode == 5:
        assert lines, "exit 5 without a reason"
    # every frame before the damage read and reported
    if not r.stdout:
        assert r.returncode == 5 and entry["packets"] == 0, "no report although frames were read"
        return
    report = json.loads(r.stdout)
    packets = report["capture"]["files"][0]["packets"]
    if entry["packets"] is not None:
        assert packets == entry["packets"]
    # the findings of the undamaged prefix are still there
    if entry["source"] and entry["prefix"]:
        got = _findings(report)
        if entry["packets"] == entry["prefix"]:  # the reader stopped at the damage
            want = _prefix_findings(entry["source"], entry["prefix"], tmp_path)
        else:  # damage inside the frames: what the original proves before it
            want = {f for f in _analyze(ROOT / entry["source"]) if max(f[1]) <= entry["prefix"]}
        assert want <= got, (want - got)


def test_truncated_gzip_keeps_its_frames(runs: dict[str, Any]) -> None:
    """Regression: GzipFile.read(n) discarded what it had decompressed when the stream
    ended early, so a cut .gz lost every frame."""
    r = runs["gzip_truncated.pcap.gz"]
    assert json.loads(r.stdout)["capture"]["files"][0]["packets"] == 41


def test_unknown_link_type_is_told_once(runs: dict[str, Any]) -> None:
    r = runs["linktype_105_ieee80211.pcap"]
    assert r.returncode == 5
    assert r.stderr.count("\n") == 1
    assert r.stderr == (
        "capfcap: warning: pcaps/damaged/linktype_105_ieee80211.pcap: link type 105 "
        "(IEEE 802.11) is not supported; its 82 frames were skipped\n")
    notes = json.loads(r.stdout)["capture"]["notes"]
    assert any("link type 105" in n for n in notes)


def test_mixed_link_types_analyse_the_supported_interface(runs: dict[str, Any]) -> None:
    """The 3 USER0 frames are skipped with a warning; the Ethernet ones keep their
    findings (S01's LSC delivery, frames renumbered by the 3 inserted frames)."""
    r = runs["pcapng_mixed_linktypes.pcapng"]
    codes = [f["code"] for f in json.loads(r.stdout)["findings"]]
    assert codes == ["CAPF_LSC_ISSUED"]


def test_snaplen_cut_segments_are_not_capture_gaps(runs: dict[str, Any]) -> None:
    """Regression: a snap-length cut TCP segment advanced sequence tracking only by its
    captured bytes, so every ACK of it counted as a SPAN drop (CAPTURE_GAPS)."""
    r = runs["snaplen_96_all.pcap"]
    codes = [f["code"] for f in json.loads(r.stdout)["findings"]]
    assert "CAPTURE_GAPS" not in codes
