"""tools/bulkgen.py: the bulk-rollout capture diagnoses each phone as its template."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# one pytest-xdist worker runs the module: the bulk capture (`bulk`) is made once
pytestmark = pytest.mark.xdist_group("bulkgen")
sys.path.insert(0, str(ROOT / "tools"))
try:
    import bulkgen
finally:
    sys.path.pop(0)

_EMBEDDED = re.compile(r"2001:db8:4::([0-9a-f]{1,4}):([0-9a-f]{1,4})")


def _analyze(path: Path, out: Path) -> dict:
    subprocess.run([sys.executable, "-m", "capfcap", "analyze", str(path), "--format", "json",
                    "-o", str(out), "--force", "--fail-on", "never"], check=True, cwd=ROOT,
                   capture_output=True)
    return json.loads(out.read_text())


def _norm(text: str, phone_ip: str) -> str:
    """The verdict with the phone's address, server addresses (IPv6 embedding back to the
    template's IPv4), the query type (the generator turns A into AAAA) and frame numbers
    made comparable."""
    def v4(m: re.Match[str]) -> str:
        n = (int(m.group(1), 16) << 16) | int(m.group(2), 16)
        return str(ipaddress.IPv4Address(n))
    text = _EMBEDDED.sub(v4, text.replace(phone_ip, "PHONE"))
    text = re.sub(r"\bAAAA\b", "A", text)
    return re.sub(r"frames? [\d, –-]+", "frame N", text)


@pytest.fixture(scope="module")
def bulk(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, Path]:
    d = tmp_path_factory.mktemp("bulk")
    cap = d / "bulk20.pcap"
    manifest = bulkgen.generate(cap, 20)
    return manifest, _analyze(cap, d / "bulk.json"), d


def test_every_phone_gets_its_templates_verdict(bulk: tuple[dict, dict, Path]) -> None:
    manifest, report, d = bulk
    plan = {p["ip"]: p for p in manifest["plan"]}
    assert {p["template"] for p in plan.values()} == {n for n, _w in bulkgen.BULK_TEMPLATES}
    expected: dict[str, tuple[str, list[str]]] = {}
    for name, t in manifest["templates"].items():
        r = _analyze(bulkgen.REALPEER / name, d / f"{name}.json")
        (phone,) = r["phones"]
        codes = sorted(f["code"] for f in r["findings"])
        expected[name] = (_norm(phone["verdict"], t["phone_ip"]), codes)
    assert len(report["phones"]) == 20
    codes_by_ip: dict[str, list[str]] = {}
    for f in report["findings"]:
        codes_by_ip.setdefault(f["phone"]["ip"], []).append(f["code"])
    for phone in report["phones"]:
        p = plan[phone["ip"]]
        assert phone["device"] == "SEP" + p["mac"]
        verdict, codes = expected[p["template"]]
        assert _norm(phone["verdict"], phone["ip"]) == verdict, p
        assert sorted(codes_by_ip.get(phone["ip"], [])) == codes, p
    failing = Counter(p["template"] for p in plan.values() if "happy" not in p["template"])
    assert sum(failing.values()) >= 5


@pytest.mark.tshark
def test_capture_is_sound(bulk: tuple[dict, dict, Path]) -> None:
    """tshark finds every TCP/UDP checksum right and nothing malformed; frames come in
    time order; every phone's MAC is in its own TFTP file names, never a template's."""
    manifest, _report, d = bulk
    cap = d / "bulk20.pcap"
    bad = subprocess.run(
        ["tshark", "-r", str(cap), "-n", "-o", "tcp.check_checksum:TRUE", "-o",
         "udp.check_checksum:TRUE", "-Y", "(tcp && tcp.checksum.status != 1) || "
         "(udp && udp.checksum.status != 1) || _ws.malformed"],
        capture_output=True, text=True, check=True).stdout
    assert bad == ""
    names = subprocess.run(["tshark", "-r", str(cap), "-n", "-Y", "tftp.opcode == 1", "-T",
                            "fields", "-e", "ipv6.src", "-e", "tftp.source_file"],
                           capture_output=True, text=True, check=True).stdout.split("\n")
    macs = {p["ip"]: p["mac"] for p in manifest["plan"]}
    seen = 0
    for line in filter(None, names):
        ip, name = line.split("\t")
        if "SEP" in name:
            assert name.split("SEP")[1][:12] == macs[ip]
            seen += 1
    assert seen >= 40
    times = [ts for ts, _f in bulkgen._read_pcap(cap)]
    assert times == sorted(times) and len(times) == manifest["frames"]


def test_generation_is_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a.pcap", tmp_path / "b.pcap"
    bulkgen.generate(a, 30)
    bulkgen.generate(b, 30)
    assert a.read_bytes() == b.read_bytes()
    bulkgen.generate(b, 30, seed=1)
    assert a.read_bytes() != b.read_bytes()
