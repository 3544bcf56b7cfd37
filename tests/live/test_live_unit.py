"""Live capture pieces that need no root: the kernel filter (evaluated by libpcap through
tcpdump on crafted frames), the pcapng ring, the command on replayed frames, errors."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6DestUnreach, IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether

from capfcap.commands import live as live_cmd
from capfcap.commands import live_view
from capfcap.decode import Prefilter, decode
from capfcap.sources.files import read_capture
from capfcap.sources.frame import Frame
from capfcap.sources.live import capture_filter
from capfcap.sources.ring import Ring

ROOT = Path(__file__).resolve().parents[2]
REALPEER = ROOT / "pcaps" / "realpeer"
TCPDUMP = shutil.which("tcpdump") or ("/usr/sbin/tcpdump"
                                      if os.path.exists("/usr/sbin/tcpdump") else None)
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
PHONE, SERVER, DNS = "192.0.2.10", "198.51.100.11", "203.0.113.53"
E = Ether(src="02:00:00:00:00:10", dst="02:00:00:00:00:11")


def _frames() -> list[tuple[str, bytes, bool]]:
    """(what, bytes, must the kernel filter keep it without learned hosts)."""
    u = UDP
    cases = [
        ("tftp rrq", E / IP(src=PHONE, dst=SERVER) / u(sport=40000, dport=69)
         / b"\x00\x01ITLFile.tlv\x00octet\x00", True),
        ("tftp data, ephemeral ports", E / IP(src=SERVER, dst=PHONE) / u(sport=51000,
         dport=40000) / (b"\x00\x03\x00\x01" + b"x" * 512), True),
        ("tftp ack", E / IP(src=PHONE, dst=SERVER) / u(sport=40000, dport=51000)
         / b"\x00\x04\x00\x01", True),
        ("tftp oack", E / IP(src=SERVER, dst=PHONE) / u(sport=51000, dport=40000)
         / b"\x00\x06blksize\x001428\x00", True),
        ("rtp", E / IP(src=PHONE, dst=SERVER) / u(sport=24000, dport=24002)
         / (b"\x80\x00" + b"\x00" * 170), False),
        ("dns", E / IP(src=PHONE, dst=DNS) / u(sport=33000, dport=53) / (b"\x12\x34" * 8), True),
        ("capf syn", E / IP(src=PHONE, dst=SERVER) / TCP(sport=50000, dport=3804, flags="S"),
         True),
        ("tvs", E / IP(src=SERVER, dst=PHONE) / TCP(sport=2445, dport=50001, flags="SA"), True),
        ("http 6970", E / IP(src=PHONE, dst=SERVER) / TCP(sport=50002, dport=6970, flags="S"),
         True),
        ("dns over tcp", E / IP(src=PHONE, dst=DNS) / TCP(sport=50003, dport=53, flags="S"),
         True),
        ("sip", E / IP(src=PHONE, dst=SERVER) / TCP(sport=50004, dport=5060, flags="S"), False),
        ("other udp", E / IP(src=SERVER, dst=DNS) / u(sport=5000, dport=5001) / b"hello",
         False),
        ("icmp unreachable", E / IP(src=SERVER, dst=PHONE) / ICMP(type=3, code=13)
         / IP(src=PHONE, dst=SERVER) / TCP(sport=50000, dport=3804, flags="S"), True),
        ("icmp echo", E / IP(src=PHONE, dst=SERVER) / ICMP(type=8), False),
        ("ipv6 tftp data", E / IPv6(src="2001:db8::11", dst="2001:db8::10")
         / u(sport=51000, dport=40000) / b"\x00\x03\x00\x02data", True),
        ("icmpv6 unreachable", E / IPv6(src="2001:db8::11", dst="2001:db8::10")
         / ICMPv6DestUnreach(code=1) / IPv6(src="2001:db8::10", dst="2001:db8::11")
         / TCP(sport=50000, dport=3804, flags="S"), True),
        ("802.1q capf", Ether(src="02:00:00:00:00:10", dst="02:00:00:00:00:11") / Dot1Q(vlan=100)
         / IP(src=PHONE, dst=SERVER) / TCP(sport=50005, dport=3804, flags="S"), True),
        ("arp", E / ARP(psrc=PHONE, pdst=SERVER), False),
    ]
    return [(w, bytes(p), keep) for w, p, keep in cases]


def _pcap(path: Path, frames: list[bytes]) -> None:
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for i, d in enumerate(frames):
            f.write(struct.pack("<IIII", 1_800_000_000 + i, 0, len(d), len(d)) + d)


def _bpf_keeps(tmp: Path, frames: list[bytes], expr: str) -> list[bool]:
    assert TCPDUMP is not None
    src, dst = tmp / "in.pcap", tmp / "out.pcap"
    _pcap(src, frames)
    r = subprocess.run([TCPDUMP, "-r", str(src), "-w", str(dst), expr], capture_output=True,
                       text=True, timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    kept = {fr.data for fr in read_capture(str(dst))}
    return [d in kept for d in frames]


@pytest.mark.skipif(TCPDUMP is None, reason="tcpdump is not installed")
def test_kernel_filter_keeps_what_capfcap_needs(tmp_path: Path) -> None:
    pf = Prefilter()
    cases = _frames()
    expr = capture_filter(pf.tcp_ports, pf.udp_ports)
    got = _bpf_keeps(tmp_path, [d for _w, d, _k in cases], expr)
    assert {w: g for (w, _d, _k), g in zip(cases, got, strict=True)} == {w: k for w, _d, k in cases}


@pytest.mark.skipif(TCPDUMP is None, reason="tcpdump is not installed")
def test_kernel_filter_is_a_superset_of_the_prefilter(tmp_path: Path) -> None:
    """Whatever the prefilter keeps (with a learned phone), the kernel filter keeps, so a
    live run sees every frame an offline run analyses."""
    pf = Prefilter()
    pf.add_host(bytes([192, 0, 2, 10]))
    pf.add_tftp_port(40000)
    cases = _frames()
    expr = capture_filter(pf.tcp_ports, pf.udp_ports, [PHONE], extra=None)
    got = _bpf_keeps(tmp_path, [d for _w, d, _k in cases], expr)
    for (w, d, _k), g in zip(cases, got, strict=True):
        if decode(Frame(1, 0, 1, d, len(d)), pf) is not None:
            assert g, f"{w}: prefilter keeps it, the kernel filter drops it"
    assert got[[w for w, _d, _k in cases].index("sip")]  # the phone's other traffic
    assert not got[[w for w, _d, _k in cases].index("arp")]


@pytest.mark.skipif(TCPDUMP is None, reason="tcpdump is not installed")
def test_extra_bpf_is_anded(tmp_path: Path) -> None:
    pf = Prefilter()
    cases = _frames()
    expr = capture_filter(pf.tcp_ports, pf.udp_ports, extra="not host 203.0.113.53")
    got = _bpf_keeps(tmp_path, [d for _w, d, _k in cases], expr)
    names = [w for w, _d, _k in cases]
    assert not got[names.index("dns")] and got[names.index("capf syn")]


def test_ring_rotates_and_reads_back(tmp_path: Path) -> None:
    ring = Ring(str(tmp_path), 1, "eth9", "udp port 69", max_bytes=4096, max_files=3,
                start_ns=1_800_000_000_000_000_000)
    payload = bytes(range(256)) * 4  # 1 KiB: 3 frames per 4 KiB file
    for n in range(1, 31):
        ring.write(Frame(n, 1_800_000_000_123_456_789 + n, 1, payload + bytes([n]), 2000))
    ring.close()
    files = sorted(tmp_path.iterdir())
    assert [str(f) for f in files] == ring.paths and len(files) == 3
    assert ring.deleted == 7
    assert all(f.stat().st_size <= 4096 for f in files)
    numbers = []
    for info, f in zip(ring.infos(), files, strict=True):
        got = list(read_capture(str(f)))
        assert info.packets == len(got) and info.first == got[0].ts and info.last == got[-1].ts
        import hashlib

        assert info.sha256 == hashlib.sha256(f.read_bytes()).hexdigest()
        for fr in got:
            n = int(fr.comment.removeprefix("capfcap frame "))
            numbers.append(n)
            assert fr.data == payload + bytes([n]) and fr.wirelen == 2000
            assert fr.ts == 1_800_000_000_123_456_789 + n  # nanosecond resolution kept
    assert numbers == list(range(22, 31))
    assert files[0].name == "capfcap-20270115T080000Z-00008.pcapng"
    tshark = shutil.which("tshark")
    if tshark:
        r = subprocess.run([tshark, "-r", str(files[0]), "-T", "fields", "-e", "frame.comment",
                            "-e", "frame.len"], capture_output=True, text=True, timeout=60,
                           check=False)
        assert r.stdout.splitlines() == ["capfcap frame 22\t2000", "capfcap frame 23\t2000",
                                         "capfcap frame 24\t2000"]


class _Replay:
    """Stands in for LiveCapture: the frames of a capture file, then a quiet link."""

    frames: list[Frame] = []

    def __init__(self, iface: str, extra: str | None, tcp_ports: object, udp_ports: object):
        self.iface = iface
        self.linktype = 1
        self.expr = "replay"
        self.extra = extra
        self.captured = 0
        self.hosts: set[str] = set()
        self.it = iter(self.frames)

    def open(self) -> None:
        pass

    def recv(self, timeout: float) -> Frame | None:
        fr = next(self.it, None)
        if fr is not None:
            self.captured += 1
            return Frame(0, fr.ts, fr.linktype, fr.data, fr.wirelen)
        return None

    def add_hosts(self, hosts: object) -> bool:
        return True

    def stats(self) -> tuple[int, int]:
        return self.captured, 0

    def close(self) -> None:
        pass


def _args(**kw: object) -> argparse.Namespace:
    base = dict(interface="replay0", bpf=None, duration=None, count=None, ring=None,
                format="jsonl", output=None, bundle=None, cucm=[], phone=[], keylog=None,
                show_secrets=False, crosscheck=False, fail_on="warning", redact=False,
                force=False, color="never")
    base.update(kw)
    return argparse.Namespace(**base)


def test_command_on_replayed_frames_matches_analyze(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """S05 (CAPF filtered) replayed through the live command: the streamed JSON lines
    and the final report carry analyze's findings; frame numbers count kept frames,
    and the ring re-analyses to the same numbers."""
    src = REALPEER / "S05_capf_filtered.pcap"
    _Replay.frames = list(read_capture(str(src)))
    monkeypatch.setattr(live_cmd, "LiveCapture", _Replay)
    ring = tmp_path / "ring"
    rc = live_cmd.run(_args(count=len(_Replay.frames), ring=str(ring)))
    out = capsys.readouterr().out
    streamed = [json.loads(x) for x in out.splitlines()]
    off = subprocess.run([sys.executable, "-m", "capfcap", "analyze", str(src), "--format",
                          "json"], capture_output=True, text=True, env=ENV, timeout=120,
                         check=False)
    expect = json.loads(off.stdout)["findings"]

    def strip(fs: list[dict[str, object]]) -> list[tuple[object, ...]]:
        return sorted((f["code"], f["summary"], json.dumps(f["server"])) for f in fs)

    assert strip(streamed) == strip(expect)
    assert rc == 4
    again = subprocess.run([sys.executable, "-m", "capfcap", "analyze", str(ring), "--format",
                            "json"], capture_output=True, text=True, env=ENV, timeout=120,
                           check=False)
    ring_findings = json.loads(again.stdout)["findings"]
    assert sorted(json.dumps(f, sort_keys=True) for f in ring_findings) == \
        sorted(json.dumps(f, sort_keys=True) for f in streamed)


def test_timeout_verdict_streams_before_the_end(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """S05's unanswered SYNs are reported while capturing once the attempt is over,
    before the run ends (the frames run out, then quiet-link ticks move the clock)."""
    frames = list(read_capture(str(REALPEER / "S05_capf_filtered.pcap")))
    _Replay.frames = frames
    monkeypatch.setattr(live_cmd, "LiveCapture", _Replay)
    clock = [frames[-1].ts]

    def fake_time_ns() -> int:
        clock[0] += 500_000_000  # each quiet poll: half a second
        return clock[0]

    monkeypatch.setattr(live_cmd.time, "time_ns", fake_time_ns)
    seen_before_end: list[str] = []
    orig = live_cmd.Session.evaluate

    def spy(self: live_cmd.Session, status: str) -> None:
        orig(self, status)
        if "CAPF_UNIDIRECTIONAL" in [k[0] for k in self.printed] and not seen_before_end:
            seen_before_end.append(status)
            self.cap.captured = 10**9  # then end the run (--count)

    monkeypatch.setattr(live_cmd.Session, "evaluate", spy)
    rc = live_cmd.run(_args(count=10**8))
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert seen_before_end, "no timeout verdict while capturing"
    assert [x["code"] for x in lines].count("CAPF_UNIDIRECTIONAL") == 1
    assert rc == 4


def test_missing_interface() -> None:
    r = subprocess.run([sys.executable, "-m", "capfcap", "live", "-i", "nosuchif0"],
                       capture_output=True, text=True, env=ENV, timeout=60, check=False)
    assert r.returncode == 5
    assert r.stderr == "capfcap: interface nosuchif0 does not exist (ip link shows the names)\n"


@pytest.mark.skipif(TCPDUMP is None, reason="tcpdump is not installed")
def test_bad_bpf_is_a_usage_error() -> None:
    r = subprocess.run([sys.executable, "-m", "capfcap", "live", "-i", "lo", "--bpf",
                        "port banana"], capture_output=True, text=True, env=ENV, timeout=60,
                       check=False)
    assert r.returncode == 2
    assert r.stderr.startswith("capfcap: --bpf 'port banana': ") and r.stderr.count("\n") == 1


def test_usage_errors() -> None:
    for extra in (["--duration", "0"], ["--count", "-1"], ["--crosscheck"]):
        r = subprocess.run([sys.executable, "-m", "capfcap", "live", "-i", "lo", *extra],
                           capture_output=True, text=True, env=ENV, timeout=60, check=False)
        assert r.returncode == 2, (extra, r.stderr)
        assert r.stderr.startswith("capfcap: ") and r.stderr.count("\n") == 1


def test_stage_of() -> None:
    from capfcap.findings import Evidence, Finding
    from capfcap.report import PhoneReport, TimelineEntry

    p = PhoneReport(ip=PHONE, timeline=[TimelineEntry(1, 0, "t", "ok", "trust"),
                                        TimelineEntry(5, 0, "d", "failed", "dns")])
    assert live_view.stage_of(p, live_view.done_phones([])) == "DNS"
    done = Finding("CAPF_LSC_ISSUED", "info", {"ip": PHONE}, {}, "s", "", "",
                   Evidence((9,), None, None, ""))
    assert live_view.stage_of(p, live_view.done_phones([done])) == "done"
    assert live_view.stage_of(PhoneReport(ip=PHONE), set()) == "-"


def test_table_groups_phones_at_one_stage_with_one_cause() -> None:
    """The terminal table of `live` on six phones whose CAPF never answers and a seventh
    refused: one row for the six, one for the seventh (same stage, other cause)."""
    from capfcap.pipeline import Options, analyze

    src = Path(__file__).parents[2] / "pcaps" / "synthetic" / "capf_outage_six.pcap"
    report, _inputs = analyze([str(src)], Options())
    rows = live_view.table_rows(report)
    assert len(report.phones) == 7 and len(rows) == 2
    (six,) = [r for r in rows if r[0].startswith("6 phones: ")]
    silent = [f.phone["ip"] for f in report.findings if f.code == "CAPF_UNIDIRECTIONAL"]
    assert all(ip in six[0] for ip in silent)
    assert six[3].startswith("ERROR CAPF_UNIDIRECTIONAL: ") and six[1] == "-"
    (other,) = [r for r in rows if r is not six]
    assert other[3].startswith("ERROR CAPF_REFUSED: ") and other[2] == six[2]


def test_table_rows_are_per_phone_below_the_group_size() -> None:
    from capfcap.pipeline import Options, analyze

    src = Path(__file__).parents[2] / "pcaps" / "synthetic" / "silent_tftp_two_phones.pcap"
    report, _inputs = analyze([str(src)], Options())
    rows = live_view.table_rows(report)
    assert [r[0] for r in rows] == [p.ip for p in report.phones] and len(rows) == 2
