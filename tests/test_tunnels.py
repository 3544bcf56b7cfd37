"""Remote SPAN captures (tests/tunnels.py): Wireshark reads the tunnel packets written here
as the frames they were made from, and so does capfcap.

tshark must show, for every frame of a real-peer capture (and of the same capture
802.1Q-tagged) sent as ERSPAN I, II, III, GRE-TEB or VXLAN, the original frame's fields
after the outer ones: the same protocols, MACs, VLAN, addresses and ports, under the same
frame number. capfcap's decoder must give the same packet as for the original frame.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from capfcap.decode import decode
from capfcap.sources.files import read_capture
from capfcap.sources.frame import Frame
from tests import tshark_cache
from tests.conftest import REALPEER
from tests.tshark_cache import tshark
from tests.tunnels import KINDS, wrap, write_pcap

FIELDS = ("frame.protocols", "eth.src", "eth.dst", "vlan.id", "ip.src", "ip.dst",
          "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
          "tcp.len", "udp.length", "_ws.malformed")
# what the tunnel packet shows before the frame's own fields (tests/tunnels.py)
OUTER = {"eth.src": ["02:00:00:00:00:01"], "eth.dst": ["02:00:00:00:00:02"],
         "ip.src": ["203.0.113.10"], "ip.dst": ["203.0.113.20"]}
PROTOCOLS = {"erspan1": "eth:ethertype:ip:gre:erspan:", "erspan2": "eth:ethertype:ip:gre:erspan:",
             "erspan3": "eth:ethertype:ip:gre:erspan:", "gre_teb": "eth:ethertype:ip:gre:",
             "vxlan": "eth:ethertype:ip:udp:vxlan:"}
CAPTURES = ["S01_happy.pcap", "S13_ipv6_relay.pcap", "S17_icmp_admin_prohibited.pcap",
            "S26_capture_stopped_early.pcap"]

pytestmark = pytest.mark.skipif(not tshark_cache.available(), reason="tshark not installed")


def _fields(path: Path) -> list[list[list[str]]]:
    """Per frame, per field of FIELDS: every occurrence, in the order tshark dissects."""
    args = ["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"]
    for f in ("frame.number", *FIELDS):
        args += ["-e", f]
    run = tshark(path, args)
    assert run.returncode == 0, run.stderr
    rows = [line.split("\t") for line in run.stdout.splitlines()]
    assert [int(r[0]) for r in rows] == list(range(1, len(rows) + 1))
    return [[v.split("|") if v else [] for v in r[1:]] for r in rows]


def _vlan(f: bytes) -> bytes:
    return f[:12] + b"\x81\x00" + struct.pack("!H", 110) + f[12:]


@pytest.mark.parametrize("name", CAPTURES)
@pytest.mark.parametrize("tagged", [False, True], ids=["untagged", "802.1Q"])
def test_tshark_reads_the_frames_inside(name: str, tagged: bool, tmp_path: Path) -> None:
    frames = list(read_capture(str(REALPEER / name)))
    if tagged:
        frames = [Frame(f.number, f.ts, f.linktype, _vlan(f.data), f.wirelen + 4)
                  for f in frames]
    orig = tmp_path / "orig.pcap"
    write_pcap(orig, "", frames)
    want = _fields(orig)
    assert len(want) == len(frames)
    for kind in KINDS:
        path = tmp_path / f"{kind}.pcap"
        write_pcap(path, kind, frames)
        got = _fields(path)
        assert len(got) == len(want), kind
        for n, (g, w) in enumerate(zip(got, want, strict=True), 1):
            row = dict(zip(FIELDS, g, strict=True))
            base = dict(zip(FIELDS, w, strict=True))
            protocols = PROTOCOLS[kind] + base.pop("frame.protocols")[0]
            assert row.pop("frame.protocols") == [protocols], (kind, n)
            if kind == "vxlan":  # the outer UDP header comes first
                assert row["udp.dstport"][0] == "4789" and row["udp.length"][0]
                for f in ("udp.srcport", "udp.dstport", "udp.length"):
                    row[f] = row[f][1:]
            for f, outer in OUTER.items():
                assert row[f][:1] == outer, (kind, n, f)
                row[f] = row[f][1:]
            assert row == base, (kind, n)
        # capfcap's decoder: the same packet as the frame's own
        for fr, tf in zip(frames, read_capture(str(path)), strict=True):
            assert decode(tf) == decode(fr), (kind, fr.number)


@pytest.mark.parametrize("jobs", [1, 2])
def test_garbage_tunnel_packets_are_counted_not_raised(tmp_path: Path, jobs: int) -> None:
    """Tunnel packets whose frame cannot be read (a GRE header cut short, an unknown
    ERSPAN version, a fragment, a tunnel inside the tunnel) between the frames of a
    real-peer capture: the diagnosis is unchanged, and the report says which frames were
    not read (the reader process passes them on too)."""
    frames = list(read_capture(str(REALPEER / "S01_happy.pcap")))
    good = tmp_path / "good.pcap"
    write_pcap(good, "gre_teb", frames)
    outer = read_capture(str(good))
    wrapped = [f.data for f in outer]
    teb = wrapped[0]
    ip = teb[14:34]
    bad = [
        teb[:34] + teb[34:36],  # 2 of the 4 GRE octets
        teb[:34] + b"\x10\x00\x88\xbe" + bytes(4) + b"\x30" + bytes(7) + teb[38:],  # version 3
        teb[:20] + b"\x20\x00" + teb[22:],  # more fragments (the checksum is not checked)
        teb[:46] + teb,  # a tunnel inside the tunnel (GRE with checksum and key: 12 octets)
    ]
    for i, b in enumerate(bad):  # the outer IPv4 total length, as long as the packet
        bad[i] = b[:14] + ip[:2] + struct.pack("!H", len(b) - 14) + b[18:]
    mixed = wrapped[:3] + bad + wrapped[3:]
    path = tmp_path / "mixed.pcap"
    out = [struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 1)]
    for n, data in enumerate(mixed):
        out.append(struct.pack("<IIII", 1_700_000_000, n, len(data), len(data)) + data)
    path.write_bytes(b"".join(out))
    from capfcap.pipeline import Options, analyze
    from capfcap.reporters.json import to_dict

    want = to_dict(analyze([str(good)], Options(jobs=jobs))[0])
    report, inputs = analyze([str(path)], Options(jobs=jobs))
    got = to_dict(report)
    assert not inputs.errors
    assert [f["code"] for f in got["findings"]] == [f["code"] for f in want["findings"]]
    assert [p["mac"] for p in got["phones"]] == [p["mac"] for p in want["phones"]]
    note = [n for n in report.notes if "could not read" in n]
    assert note == ["4 GRE/ERSPAN or VXLAN packets (remote SPAN) carried a frame capfcap "
                    "could not read (fragmented, cut short, damaged, of a kind not read, or "
                    "a tunnel inside the tunnel); they were not analysed (first: 4, 5, 6, 7)"]
    assert not [n for n in analyze([str(good)], Options(jobs=jobs))[0].notes
                if "could not read" in n]


@pytest.mark.parametrize("kind", ["erspan2", "vxlan"])
def test_redacted_bundle_of_a_tunnel_hides_the_phones_macs(tmp_path: Path, kind: str) -> None:
    """--redact reads the MACs of the frame inside (the phone's), and cuts the payload of
    that frame: each evidence frame keeps the tunnel headers and what it keeps of the
    same frame captured by itself."""
    import zipfile

    from capfcap.bundle.archive import write_bundle
    from capfcap.bundle.redact import link_macs
    from capfcap.pipeline import Options, analyze

    name = "S11_two_tftp_itl_mismatch"
    frames = list(read_capture(str(REALPEER / f"{name}.pcap")))
    macs = {m for fr in frames for m in link_macs(fr.linktype, fr.data) if not m[0] & 1}
    assert len(macs) >= 2
    path = tmp_path / f"{kind}.pcap"
    write_pcap(path, kind, frames)
    evidence = {}
    for src in (REALPEER / f"{name}.pcap", path):
        report, inputs = analyze([str(src)], Options())
        out = tmp_path / f"{src.stem}.zip"
        write_bundle(str(out), report, inputs, None, redact=True)
        z = zipfile.ZipFile(out)
        blob = out.read_bytes() + b"".join(z.read(n) for n in z.namelist())
        for mac in macs:
            h = mac.hex()
            for form in (mac, h.encode(), ":".join(h[i:i + 2] for i in range(0, 12, 2)).encode()):
                assert form not in blob, (src.name, form)
        assert json.loads(z.read("findings.json"))["phones"][0]["mac"].startswith("02:ca:fe:")
        ev = tmp_path / f"{src.stem}.pcapng"
        ev.write_bytes(z.read("evidence.pcapng"))
        evidence[src] = {f.number: f for f in read_capture(str(ev))}
    orig, tun = evidence.values()
    head = len(wrap(kind, b"", 0, 0)[0])  # the outer headers
    assert orig.keys() == tun.keys() and any(f.wirelen > len(f.data) for f in orig.values())
    for n, f in orig.items():
        assert (len(tun[n].data), tun[n].wirelen) == (head + len(f.data), head + f.wirelen), n


REALPEER_ALL = sorted(p.name for p in REALPEER.glob("*.pcap"))


@pytest.mark.slow
@pytest.mark.parametrize("name", REALPEER_ALL)
def test_crosscheck_of_a_tunnel_says_what_it_says_of_the_capture(name: str,
                                                                  tmp_path: Path) -> None:
    """--crosscheck reads Wireshark's fields of the frame inside (not the tunnel's outer
    addresses): each finding's verdict is the original capture's (ERSPAN III and VXLAN
    in turn, to halve the tshark runs)."""
    from capfcap.crosscheck import verdict, wireshark_view
    from capfcap.pipeline import Options, analyze

    kind = ("erspan3", "vxlan")[REALPEER_ALL.index(name) % 2]
    path = tmp_path / f"{kind}.pcap"
    write_pcap(path, kind, read_capture(str(REALPEER / name)))
    said = []
    for p in (REALPEER / name, path):
        r, _inputs = analyze([str(p)], Options())
        pkts, objects = wireshark_view(r, [str(p)])
        said.append([(f.code, verdict(f, pkts, objects)) for f in r.findings])
    assert said[0] == said[1]
