"""`capfcap live` on real traffic between network namespaces.

Topology (documentation addresses only): a Linux bridge in the root namespace joins
- phone  ns: 192.0.2.10/24 (MAC of the sample config's device), on-link routes to the
  other two /24s; tcp_syn_retries=2 so an unanswered connect gives up after 3 SYNs;
- server ns: 198.51.100.11 (real TFTP server serving ITL_good.tlv and the config, TLS
  server on 3804) and 203.0.113.53 (dnsmasq: cucm.example is local, so pub.cucm.example
  is NXDOMAIN);
- fw ns: 198.51.100.12, whose route back to the phone is a blackhole, so SYNs to its 3804
  are never answered (an unanswered SYN, as behind a dropping firewall).
`capfcap live` and tcpdump capture the bridge side by side; the live findings must equal
`capfcap analyze` on tcpdump's file, and the ring files must re-analyse to the same
report, frame numbers included.

These tests need root (namespaces, packet sockets); they are skipped otherwise. Every wait
is bounded, and the namespaces and the bridge are removed afterwards.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "pcaps" / "realpeer" / "data"
PEERS = Path(__file__).with_name("netns_peers.py")
PHONE_MAC = "00:23:ab:12:cd:34"


def _why_skip() -> str | None:
    if not sys.platform.startswith("linux"):
        return "live capture is Linux only"
    if os.geteuid() != 0:
        return "needs root (network namespaces, packet sockets); CI runs as root"
    for tool in ("ip", "tcpdump", "dnsmasq"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} is not installed (.ci/run installs it)"
    name = "capfcapprobe" + secrets.token_hex(3)
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, check=False)
    if r.returncode != 0:
        return f"ip netns is unavailable: {r.stderr.decode().strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    return None


SKIP = _why_skip()
pytestmark = [pytest.mark.root, pytest.mark.skipif(SKIP is not None, reason=SKIP or "")]


def sh(*args: str, ns: str | None = None, check: bool = True) -> str:
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    return r.stdout


def capfcap_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "capfcap", *args]


ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


class Lab:
    def __init__(self, tmp: Path) -> None:
        sfx = secrets.token_hex(3)
        self.tmp = tmp
        self.br = f"cbr{sfx}"
        self.ns = {"phone": f"cph{sfx}", "server": f"csv{sfx}", "fw": f"cfw{sfx}"}
        self.veth = {k: f"cv{k[0]}{sfx}" for k in self.ns}
        self.procs: list[subprocess.Popen[str]] = []

    def up(self) -> None:
        sh("ip", "link", "add", self.br, "type", "bridge")
        sh("sysctl", "-qw", f"net.ipv6.conf.{self.br}.disable_ipv6=1", check=False)
        sh("ip", "link", "set", self.br, "up")
        addrs = {"phone": ["192.0.2.10/24"],
                 "server": ["198.51.100.11/24", "203.0.113.53/24"],
                 "fw": ["198.51.100.12/24"]}
        for role, ns in self.ns.items():
            sh("ip", "netns", "add", ns)
            sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=ns, check=False)
            sh("ip", "link", "add", self.veth[role], "type", "veth", "peer", "name", "eth0",
               "netns", ns)
            sh("sysctl", "-qw", f"net.ipv6.conf.{self.veth[role]}.disable_ipv6=1", check=False)
            sh("ip", "link", "set", self.veth[role], "master", self.br, "up")
            if role == "phone":
                sh("ip", "link", "set", "eth0", "address", PHONE_MAC, ns=ns)
            for a in addrs[role]:
                sh("ip", "addr", "add", a, "dev", "eth0", ns=ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
            sh("ip", "link", "set", "eth0", "up", ns=ns)
            for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"):
                if not any(a.startswith(net.split("0/")[0]) for a in addrs[role]):
                    route = ["blackhole", net] if role == "fw" and net.startswith("192.") \
                        else [net, "dev", "eth0"]
                    sh("ip", "route", "add", *route, ns=ns)
        sh("sysctl", "-qw", "net.ipv4.tcp_syn_retries=2", ns=self.ns["phone"])

    def start(self, *args: str, ns: str | None = None) -> subprocess.Popen[str]:
        cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=ENV)
        self.procs.append(p)
        return p

    def down(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            with contextlib.suppress(subprocess.TimeoutExpired, ValueError):
                p.communicate(timeout=10)
        for ns in self.ns.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", self.br], capture_output=True, check=False)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(tmp_path)
    try:
        lab.up()
        yield lab
    finally:
        lab.down()
    assert lab.br not in sh("ip", "-o", "link", "show")
    assert not set(lab.ns.values()) & set(sh("ip", "netns", "list").split())


def self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CAPF-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    c, k = tmp / "capf.pem", tmp / "capf.key"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption()))
    return c, k


class Lines:
    """Lines of a pipe, read by a thread, waited for with a deadline."""

    def __init__(self, pipe: object) -> None:
        self.q: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(pipe,), daemon=True).start()

    def _pump(self, pipe: object) -> None:
        for line in iter(pipe.readline, ""):  # type: ignore[attr-defined]
            self.q.put(line)

    def wait_for(self, text: str, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        for s in self.seen:
            if text in s:
                return s
        while time.monotonic() < deadline:
            try:
                line = self.q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                return None
            self.seen.append(line)
            if text in line:
                return line
        return None

    def rest(self) -> str:
        while True:
            try:
                self.seen.append(self.q.get(timeout=0.5))
            except queue.Empty:
                return "".join(self.seen)


def comparable(report: dict[str, object]) -> list[tuple[object, ...]]:
    """Findings without frame numbers (tcpdump's file holds every frame, ARP included)."""
    out = []
    for f in report["findings"]:  # type: ignore[union-attr]
        out.append((f["code"], f["severity"], json.dumps(f["phone"], sort_keys=True),
                    json.dumps(f["server"], sort_keys=True), f["summary"],
                    f["evidence"].get("conn_state"), f["evidence"].get("history")))
    return sorted(out)


@pytest.mark.slow
def test_live_matches_offline_and_stops_on_sigint(lab: Lab, tmp_path: Path) -> None:
    files = tmp_path / "tftp"
    files.mkdir()
    shutil.copy(DATA / "itl" / "ITL_good.tlv", files / "ITLFile.tlv")
    shutil.copy(DATA / "config" / "SEP0023AB12CD34.cnf.xml", files / "SEP0023AB12CD34.cnf.xml")
    cert, key = self_signed(tmp_path)
    srv, ph = lab.ns["server"], lab.ns["phone"]
    dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    lab.start(dnsmasq, "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
              "--port=53", "--listen-address=203.0.113.53", "--bind-interfaces",
              "--local=/cucm.example/", "--host-record=tftp.cucm.example,198.51.100.11",
              f"--pid-file={tmp_path / 'dnsmasq.pid'}", ns=srv)
    server = lab.start(sys.executable, str(PEERS), "server", "198.51.100.11", str(files),
                       str(cert), str(key), "203.0.113.53", "90", ns=srv)
    assert Lines(server.stdout).wait_for("ready", 20), server.stderr.read() if \
        server.poll() is not None else "server not ready"

    pcap = tmp_path / "tcpdump.pcap"
    tcpdump = lab.start(shutil.which("tcpdump") or "/usr/sbin/tcpdump", "-i", lab.br, "-U",
                        "-w", str(pcap))
    td_err = Lines(tcpdump.stderr)
    ring = tmp_path / "ring"
    out_json = tmp_path / "live.json"
    bundle = tmp_path / "case.zip"
    live = lab.start(*capfcap_cmd("live", "-i", lab.br, "--format", "json", "-o",
                                  str(out_json), "--ring", str(ring), "--bundle", str(bundle)))
    live_err = Lines(live.stderr)
    assert td_err.wait_for("listening on", 15), "tcpdump did not start"
    assert live_err.wait_for("capturing on", 15), live_err.rest()

    phone = subprocess.run(["ip", "netns", "exec", ph, sys.executable, str(PEERS), "phone",
                            "198.51.100.11", "203.0.113.53", "198.51.100.12",
                            "198.51.100.11"], capture_output=True, text=True, timeout=60,
                           env=ENV, check=False)
    assert phone.returncode == 0, phone.stderr
    res = json.loads(phone.stdout)
    assert res["ITLSEP0023AB12CD34.tlv"] == "error"
    assert res["ITLFile.tlv"] == f"{(DATA / 'itl' / 'ITL_good.tlv').stat().st_size} bytes"
    assert res["dns_rcode"] == 3  # NXDOMAIN from the real dnsmasq
    assert res["filtered"] == "timeout"
    assert res["tls_data"] == "capf-hello", res

    # A timeout verdict appears while capturing: the SYN-only attempt ends 10 s after its
    # last SYN, then the finding is held 2 s. Streamed lines go to stderr (report: -o).
    line = live_err.wait_for("CAPF_UNIDIRECTIONAL", 40)
    assert line is not None, live_err.rest()
    assert "198.51.100.12:3804" in line
    assert live.poll() is None, "live stopped before the signal"
    assert live_err.wait_for("DNS_NXDOMAIN", 1) is not None

    live.send_signal(signal.SIGINT)
    live.wait(timeout=30)
    live_stderr = live_err.rest()
    assert live.returncode == 4, live_stderr  # error findings
    assert "Traceback" not in live_stderr
    tcpdump.send_signal(signal.SIGINT)
    tcpdump.wait(timeout=15)

    live_report = json.loads(out_json.read_text())
    assert any("interrupted (SIGINT)" in n for n in live_report["capture"]["notes"])
    codes = {f["code"] for f in live_report["findings"]}
    assert {"DNS_NXDOMAIN", "CAPF_UNIDIRECTIONAL"} <= codes, codes
    nx = next(f for f in live_report["findings"] if f["code"] == "DNS_NXDOMAIN")
    assert "pub.cucm.example" in nx["summary"]
    un = next(f for f in live_report["findings"] if f["code"] == "CAPF_UNIDIRECTIONAL")
    assert un["server"]["ip"] == "198.51.100.12"
    assert un["evidence"]["conn_state"] == "S0"
    assert re.search(r"never answered: [2-9] SYNs in 1 attempt, no SYN-ACK", un["summary"])
    phone_r = live_report["phones"][0]
    assert phone_r["ip"] == "192.0.2.10" and phone_r["mac"] == PHONE_MAC
    tls = [e for e in phone_r["timeline"] if e["stage"] == "capf" and
           "198.51.100.11" in e["what"]]
    assert tls and "SF" in tls[0]["what"] and "TLS 1.2" in tls[0]["what"], phone_r["timeline"]

    offline = subprocess.run(capfcap_cmd("analyze", str(pcap), "--format", "json"),
                             capture_output=True, text=True, timeout=60, env=ENV, check=False)
    assert offline.returncode == 4, offline.stderr
    off_report = json.loads(offline.stdout)
    assert comparable(live_report) == comparable(off_report)
    assert [p["verdict"] for p in live_report["phones"]] == \
        [p["verdict"] for p in off_report["phones"]]

    # the ring holds exactly the kept frames: analysing it gives the same report, frame
    # numbers included
    ring_files = sorted(ring.iterdir())
    assert ring_files and all(f.suffix == ".pcapng" for f in ring_files)
    assert [c["path"] for c in live_report["capture"]["files"]] == [str(f) for f in ring_files]
    again = subprocess.run(capfcap_cmd("analyze", str(ring), "--format", "json"),
                           capture_output=True, text=True, timeout=60, env=ENV, check=False)
    ring_report = json.loads(again.stdout)
    assert ring_report["findings"] == live_report["findings"]
    assert ring_report["capture"]["files"][0]["sha256"] == \
        live_report["capture"]["files"][0]["sha256"]
    # Ctrl-C also wrote the ticket bundle, its evidence re-read from the ring files
    with zipfile.ZipFile(bundle) as z:
        assert json.loads(z.read("findings.json"))["findings"] == live_report["findings"]
        ev_path = tmp_path / "evidence.pcapng"
        ev_path.write_bytes(z.read("evidence.pcapng"))
    from capfcap.sources.files import read_capture

    ring_frames = {fr.number: fr.data for fr in read_capture(str(ring_files[0]))}
    cited = sorted({n for f in live_report["findings"] for n in f["evidence"]["frames"]})
    evidence = list(read_capture(str(ev_path)))
    assert [fr.data for fr in evidence] == [ring_frames[n] for n in cited]
    tshark = shutil.which("tshark")
    if tshark:
        cmt = subprocess.run([tshark, "-r", str(ring_files[0]), "-c", "2", "-T", "fields",
                              "-e", "frame.number", "-e", "frame.comment"],
                             capture_output=True, text=True, timeout=60, check=False)
        assert cmt.stdout.split("\n")[:2] == ["1\tcapfcap frame 1", "2\tcapfcap frame 2"]


@pytest.mark.slow
def test_jsonl_stream_and_count(lab: Lab, tmp_path: Path) -> None:
    """--count stops the run; --format jsonl streams one finding object per line."""
    srv, ph = lab.ns["server"], lab.ns["phone"]
    dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    lab.start(dnsmasq, "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
              "--port=53", "--listen-address=203.0.113.53", "--bind-interfaces",
              "--local=/cucm.example/", ns=srv)
    ask = ("import socket,sys\n"
           "from netns_peers import dns_query\n"
           "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(0.2)\n"
           "for i in range(int(sys.argv[1])):\n"
           "    s.sendto(dns_query('pub.cucm.example',1,i),('203.0.113.53',53))\n"
           "    try: print(s.recvfrom(512)[0][3] & 15); break\n"
           "    except TimeoutError: pass\n")
    env = {**ENV, "PYTHONPATH": str(PEERS.parent)}
    # dnsmasq is up when it answers inside its own namespace (nothing crosses the bridge)
    up = subprocess.run(["ip", "netns", "exec", srv, sys.executable, "-c", ask, "100"],
                        capture_output=True, text=True, timeout=60, env=env, check=False)
    assert up.stdout.strip() == "3", up.stderr
    # "not arp": the four frames counted are the RRQ, the ICMP error, the query and its
    # answer, whatever ARP replies (kept by capfcap's filter as receive-direction proof)
    # the namespaces exchange first
    live = lab.start(*capfcap_cmd("live", "-i", lab.br, "--format", "jsonl", "--count", "4",
                                  "--duration", "30", "--cucm", "pub.cucm.example",
                                  "--bpf", "not arp"))
    assert Lines(live.stderr).wait_for("capturing on", 15)
    # a phone (spotted by its TFTP read request, answered by ICMP port unreachable) asks
    # for the CAPF name once
    rrq = ("import socket\n"
           "u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
           "u.sendto(b'\\x00\\x01ITLFile.tlv\\x00octet\\x00',('198.51.100.11',69))\n")
    subprocess.run(["ip", "netns", "exec", ph, sys.executable, "-c", rrq],
                   capture_output=True, timeout=60, check=True)
    r = subprocess.run(["ip", "netns", "exec", ph, sys.executable, "-c", ask, "1"],
                       capture_output=True, text=True, timeout=60, env=env, check=False)
    assert r.stdout.strip() == "3", r.stderr
    out, err = live.communicate(timeout=40)
    assert "Traceback" not in err
    lines = [json.loads(x) for x in out.splitlines()]
    assert "DNS_NXDOMAIN" in [x["code"] for x in lines], out
    nx = next(x for x in lines if x["code"] == "DNS_NXDOMAIN")
    assert nx["phone"]["ip"] == "192.0.2.10"
    assert nx["server"]["ip"] == "203.0.113.53"
    assert "pub.cucm.example" in nx["summary"]
    assert live.returncode == 4


def _unprivileged_prefixes() -> list[list[str]]:
    out = [["setpriv", "--bounding-set=-net_raw", "--"]]  # root without CAP_NET_RAW
    probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            sys.executable, "-c", "import capfcap.cli"], env=ENV,
                           capture_output=True, timeout=30, check=False)
    if probe.returncode == 0:  # the interpreter is reachable for nobody (not under /root)
        out.append(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
    return out


@pytest.mark.parametrize("prefix", _unprivileged_prefixes() if SKIP is None else [[]])
def test_missing_privilege(prefix: list[str]) -> None:
    r = subprocess.run([*prefix, *capfcap_cmd("live", "-i", "lo", "--duration", "1")],
                       capture_output=True, text=True, timeout=30, env=ENV, check=False)
    assert r.returncode == 5, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("capfcap: capturing on lo needs root or the CAP_NET_RAW")
    assert "setcap cap_net_raw,cap_net_admin=eip" in lines[0]
