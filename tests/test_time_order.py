"""Captures out of time order (pipeline.ORDER_SLACK_NS, ORDER_MIN_FRAMES): capfcap reads in
file order, as Wireshark does. A file that goes back in time (two interfaces written in
runs, `mergecap -a`) is noted, its order-dependent verdicts are withheld and `reordercap`
is named; `reordercap` of it gives the original diagnosis; natural reordering (a few
frames by less than the slack) changes nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from capfcap.events import ORDER_NOTE
from capfcap.pipeline import ORDER_MIN_FRAMES, ORDER_SLACK_NS, Analysis, Options, analyze
from capfcap.reporters.json import render
from capfcap.sources.inputs import InputSet, frames
from tests.helpers import gen_pcaps

ROOT = Path(__file__).resolve().parent.parent
S01 = ROOT / "pcaps" / "realpeer" / "S01_happy.pcap"
SYNTH = ROOT / "pcaps" / "synthetic"
UNORDERED = ["runs_two_ifaces_S01.pcapng", "concat_S01.pcap"]
REALPEER = ROOT / "pcaps" / "realpeer"
REORDERCAP = shutil.which("reordercap")
# what the file order cannot prove (and S01 does not say)
ORDER_CLAIMS = {"CAPTURE_GAPS", "CAPTURE_ONE_SIDED", "CAPF_UNIDIRECTIONAL",
                "TFTP_NO_RESPONSE", "DNS_NO_RESPONSE", "TRANSFER_INCOMPLETE"}



@cache
def _report(path: str) -> dict[str, Any]:
    r, _inputs = analyze([path], Options(jobs=1))
    return json.loads(render(r))  # type: ignore[no-any-return]


def _diagnosis(rep: dict[str, Any]) -> dict[str, Any]:
    """Everything but the file's metadata; the timeline as a set of steps without frame
    numbers (a swapped pair renumbers its frames, and the timeline is in frame order)."""
    out = {k: v for k, v in _without_files(rep).items() if k != "phones"}
    out["phones"] = [
        {**{k: v for k, v in p.items() if k not in ("timeline", "flows")},
         "timeline": sorted((e["time"], e["what"], e["outcome"]) for e in p["timeline"])}
        for p in rep["phones"]]
    return out


def _notes(rep: dict[str, Any]) -> list[str]:
    return [str(n) for n in rep["capture"]["notes"]]


def _without_files(rep: dict[str, Any]) -> dict[str, Any]:
    """The report but the file's own metadata (path, hash, format, link types)."""
    return {**rep, "capture": {k: v for k, v in rep["capture"].items() if k != "files"}}


@pytest.mark.parametrize("name", UNORDERED)
def test_out_of_order_capture_is_noted_and_withheld(name: str) -> None:
    rep = _report(str(SYNTH / name))
    codes = {f["code"] for f in rep["findings"]}
    assert not codes & ORDER_CLAIMS, codes
    (note,) = [n for n in _notes(rep) if "out of time order" in n]
    assert "reordercap in.pcapng out.pcapng" in note
    assert "0.23" in note  # the largest step back (the S01 dialogue lasts 0.235 s)
    (phone,) = rep["phones"]
    assert phone["verdict"].startswith("Inconclusive: ")
    assert "out of time order" in phone["verdict"] and "reordercap" in phone["verdict"]
    for w in rep["withheld"]:
        assert "out of time order" in w["reason"] and "reordercap" in w["reason"]


def test_runs_withhold_gaps_and_the_capf_outcome() -> None:
    """The phone's ACKs come before the server data they acknowledge (CAPTURE_GAPS in file
    order), and the CAPF outcome rests on the records' order: both withheld."""
    rep = _report(str(SYNTH / "runs_two_ifaces_S01.pcapng"))
    assert {w["code"] for w in rep["withheld"]} == {"CAPTURE_GAPS", "CAPF_LSC_ISSUED"}
    assert not rep["findings"]


def test_concat_timeline_claims_no_failure() -> None:
    """The servers' answers precede the phone's requests: no step is a proven failure."""
    rep = _report(str(SYNTH / "concat_S01.pcap"))
    (phone,) = rep["phones"]
    assert not [e for e in phone["timeline"] if e["outcome"] == "failed"]
    unproven = [e["what"] for e in phone["timeline"] if e["outcome"] == "unproven"]
    assert unproven and all("out of time order" in w for w in unproven)


@pytest.mark.skipif(REORDERCAP is None, reason="reordercap (Wireshark) not on PATH")
@pytest.mark.parametrize("name", UNORDERED)
def test_reordercap_restores_the_diagnosis(name: str, tmp_path: Path) -> None:
    assert REORDERCAP is not None
    out = tmp_path / ("ordered-" + name)
    subprocess.run([REORDERCAP, str(SYNTH / name), str(out)], check=True,
                   capture_output=True, timeout=60)
    got, want = _report(str(out)), _report(str(S01))
    assert not _notes(got)
    assert _without_files(got) == _without_files(want)


def test_natural_reordering_changes_nothing() -> None:
    got, want = _report(str(SYNTH / "jitter_S01.pcap")), _report(str(S01))
    assert not _notes(got)
    assert _diagnosis(got) == _diagnosis(want)


def _late_count(steps: dict[int, int]) -> tuple[int, bool]:
    """Feed S01 with frame i's time moved `steps[i]` ns behind the newest frame before it:
    (frames counted late, note raised)."""
    a = Analysis(Options())
    newest = 0
    for fr in frames([str(S01)], InputSet()):
        if fr.number in steps:
            fr = replace(fr, ts=newest - steps[fr.number])
        newest = max(newest, fr.ts)
        a.feed(fr)
    a.finish()
    return a.late_count, any(n.kind == ORDER_NOTE for n in a.correlator.state.notes)


def test_slack_and_minimum_count() -> None:
    """A frame is late when it goes back more than ORDER_SLACK_NS; the note needs
    ORDER_MIN_FRAMES of them."""
    within = dict.fromkeys((59, 64, 69), ORDER_SLACK_NS)  # TCP frames: relevant, analysed
    assert _late_count(within) == (0, False)
    beyond = dict.fromkeys((59, 64, 69), ORDER_SLACK_NS + 1)
    assert _late_count(beyond) == (ORDER_MIN_FRAMES, True)
    fewer = dict.fromkeys((59, 64, 69)[:ORDER_MIN_FRAMES - 1], ORDER_SLACK_NS + 1)
    assert _late_count(fewer) == (ORDER_MIN_FRAMES - 1, False)
    # natural reordering (multi-queue NICs, per-interface buffers: a few ms) never counts;
    # a step back of a tenth of a second always does
    assert _late_count(dict.fromkeys((59, 64, 69), 5_000_000)) == (0, False)
    assert _late_count(dict.fromkeys((59, 64, 69), 100_000_000)) == (3, True)


@pytest.mark.parametrize(("name", "code"), [("S04_dns_timeout", "DNS_NO_RESPONSE"),
                                            ("S05_capf_filtered", "CAPF_UNIDIRECTIONAL")])
def test_silence_written_in_runs_is_withheld(name: str, code: str, tmp_path: Path) -> None:
    """A silence that stands in S04/S05 is withheld once the two directions are written in
    runs: in file order an answer may come before its question (evidence.judge)."""
    gen = gen_pcaps()
    runs = tmp_path / f"runs_{name}.pcapng"
    runs.write_bytes(gen.gen_runs_two_ifaces(gen.read_pcap(str(REALPEER / f"{name}.pcap"))))
    want = _report(str(REALPEER / f"{name}.pcap"))
    assert code in {f["code"] for f in want["findings"]}
    got = _report(str(runs))
    assert code not in {f["code"] for f in got["findings"]}
    (w,) = [w for w in got["withheld"] if w["code"] == code]
    assert "out of time order" in w["reason"]
    if REORDERCAP is not None:
        ordered = tmp_path / f"ordered_{name}.pcapng"
        subprocess.run([REORDERCAP, str(runs), str(ordered)], check=True,
                       capture_output=True, timeout=60)
        assert _without_files(_report(str(ordered))) == _without_files(want)


def test_disorder_is_judged_per_phone(tmp_path: Path) -> None:
    """One phone's conversations concatenated out of order (`mergecap -a` of its two
    directions) beside another phone's capture in order: the note is raised, and only the
    disordered phone's verdicts are withheld; S05's silence still stands for its phone."""
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import Ether
    from scapy.utils import rdpcap

    from tests.helpers import write_pcap

    gen = gen_pcaps()
    s05 = [(int(p.time * 1_000_000_000), bytes(p))
           for p in rdpcap(str(REALPEER / "S05_capf_filtered.pcap"))]
    other_ip, other_mac = "192.0.2.99", "02:00:5e:00:00:99"
    phone_ip, phone_mac = "192.0.2.21", "00:23:ab:12:cd:34"
    moved = tmp_path / "S01_moved.pcap"
    shift = s05[-1][0] + 1_000_000_000 - int(rdpcap(str(S01))[0].time * 1_000_000_000)
    recs = []
    for orig in rdpcap(str(S01)):
        # its device name (TFTP file names, the config) is SEP<MAC> too
        p = Ether(bytes(orig).replace(b"0023AB12CD34", b"02005E000099"))
        e = p[Ether]
        e.src, e.dst = (other_mac if m == phone_mac else m for m in (e.src, e.dst))
        if IP in p:
            ip = p[IP]
            ip.src, ip.dst = (other_ip if a == phone_ip else a for a in (ip.src, ip.dst))
            del ip.chksum
            for layer in (TCP, UDP):
                if layer in p:
                    del p[layer].chksum
        recs.append((int(orig.time * 1_000_000_000) + shift, bytes(p)))
    write_pcap(moved, recs)
    concat = gen.gen_concat(gen.read_pcap(str(moved)))
    both = tmp_path / "s05_and_concat.pcap"
    write_pcap(both, s05 + [(ts, d) for ts, d in _records(concat)])
    got = _report(str(both))
    assert any(n.startswith("capture out of time order") for n in _notes(got))
    assert "CAPF_UNIDIRECTIONAL" in {f["code"] for f in got["findings"]
                                     if f["phone"]["ip"] == phone_ip}
    assert not [w for w in got["withheld"] if w["phone"] == phone_ip]
    other = [w for w in got["withheld"] if w["phone"] == other_ip]
    assert other and all("out of time order" in str(w["reason"]) for w in other)
    assert not {f["code"] for f in got["findings"] if f["phone"]["ip"] == other_ip} \
        & ORDER_CLAIMS


def _records(pcap: bytes) -> list[tuple[int, bytes]]:
    """(time in ns, frame) of a classic microsecond pcap, little-endian."""
    import struct

    out, pos = [], 24
    while pos + 16 <= len(pcap):
        sec, usec, incl, _orig = struct.unpack_from("<IIII", pcap, pos)
        out.append((sec * 1_000_000_000 + usec * 1000, pcap[pos + 16:pos + 16 + incl]))
        pos += 16 + incl
    return out
