#!/usr/bin/env python3
"""Rebuild ``pcaps/realtool/dns_glibc_*.pcap``: glibc's resolver against dnsmasq, recorded
with tcpdump between two network namespaces (run as root).

Topology (documentation addresses only): namespace ``cc-dns-ph`` (the phone,
192.0.2.61, MAC 00:1b:54:dd:5e:21) and ``cc-dns-rs`` (dnsmasq, DNS and TFTP, 203.0.113.53)
joined by one veth pair, each subnet routed on-link; IPv6 disabled in both. In each run
the phone downloads its config ``SEP001B54DD5E21.cnf.xml`` from dnsmasq's TFTP server with
``curl --tftp-no-options`` (the config names ``pub.cucm.example`` as CAPF and TVS node,
``capfAuthMode 0``), then resolves that name with glibc ``getaddrinfo`` (AF_UNSPEC, no
AI_ADDRCONFIG: an A and an AAAA query). tcpdump records the resolver's end of the pair.

- ``dns_glibc_a_only.pcap``: dnsmasq holds ``--host-record=pub.cucm.example,203.0.113.10``
  (an A record, no AAAA) in the local zone ``--local=/cucm.example/``: A answered, AAAA
  NOERROR without an answer (NODATA).
- ``dns_glibc_aaaa_refused.pcap``: the same record without ``--local``: A answered, AAAA
  REFUSED (dnsmasq has no upstream server for the question it cannot answer).
- ``dns_glibc_nxdomain.pcap``: dnsmasq holds nothing for the name in the local zone
  ``cucm.example``: NXDOMAIN for both.

The namespaces and ``/etc/netns/cc-dns-ph`` (the phone's resolv.conf, bind-mounted by
``ip netns exec``) are removed afterwards, also on failure. The files differ from run to
run only in times, IDs, ports and IP IDs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "pcaps" / "realtool"
PHONE_NS, RESOLVER_NS = "cc-dns-ph", "cc-dns-rs"
PHONE_IF, RESOLVER_IF = "cc-dns-vp", "cc-dns-vr"
PHONE_IP, RESOLVER_IP = "192.0.2.61", "203.0.113.53"
PHONE_MAC = "00:1b:54:dd:5e:21"
DEVICE = "SEP" + PHONE_MAC.replace(":", "").upper()
NAME, ADDRESS = "pub.cucm.example", "203.0.113.10"
RESOLV_DIR = Path("/etc/netns") / PHONE_NS
# glibc: 2 s per try, 2 tries; each getaddrinfo call sends A and AAAA (RFC 3596)
RESOLV_CONF = f"nameserver {RESOLVER_IP}\noptions timeout:2 attempts:2\n"
RESOLVE = ("import socket, sys\n"
           "try:\n"
           "    r = socket.getaddrinfo(sys.argv[1], None, socket.AF_UNSPEC, socket.SOCK_STREAM)\n"
           "    print(' '.join(sorted({a[4][0] for a in r})))\n"
           "except socket.gaierror as e:\n"
           "    print('gaierror', e.errno)\n")
VARIANTS = {
    "dns_glibc_a_only.pcap": ["--local=/cucm.example/", f"--host-record={NAME},{ADDRESS}"],
    "dns_glibc_aaaa_refused.pcap": [f"--host-record={NAME},{ADDRESS}"],
    "dns_glibc_nxdomain.pcap": ["--local=/cucm.example/"],
}


def sh(*args: str, ns: str | None = None, check: bool = True) -> str:
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=60).stdout


def config() -> bytes:
    """The phone's config, from the synthetic generator's template (DOMAIN.md §5)."""
    sys.path.insert(0, str(REPO / "tools"))
    import gen_pcaps

    xml: bytes = gen_pcaps.config_xml(DEVICE, NAME, [NAME], 0)
    return xml


def down() -> None:
    for ns in (PHONE_NS, RESOLVER_NS):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
    shutil.rmtree(RESOLV_DIR, ignore_errors=True)


@contextlib.contextmanager
def lab() -> Iterator[None]:
    down()
    try:
        for ns in (PHONE_NS, RESOLVER_NS):
            sh("ip", "netns", "add", ns)
            for conf in ("all", "default"):
                sh("sysctl", "-qw", f"net.ipv6.conf.{conf}.disable_ipv6=1", ns=ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        sh("ip", "link", "add", PHONE_IF, "netns", PHONE_NS, "address", PHONE_MAC,
           "type", "veth", "peer", "name", RESOLVER_IF, "netns", RESOLVER_NS)
        for ns, dev, addr, other in ((PHONE_NS, PHONE_IF, PHONE_IP, "203.0.113.0/24"),
                                     (RESOLVER_NS, RESOLVER_IF, RESOLVER_IP, "192.0.2.0/24")):
            sh("ip", "addr", "add", f"{addr}/24", "dev", dev, ns=ns)
            sh("ip", "link", "set", dev, "up", ns=ns)
            sh("ip", "route", "add", other, "dev", dev, ns=ns)
        RESOLV_DIR.mkdir(parents=True, exist_ok=True)
        (RESOLV_DIR / "resolv.conf").write_text(RESOLV_CONF)
        yield
    finally:
        down()


def wait_line(p: subprocess.Popen[str], text: str, seconds: float) -> bool:
    assert p.stderr is not None
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        line = p.stderr.readline()
        if not line:
            return False
        if text in line:
            return True
    return False


def record(name: str, extra: list[str], out: Path, tmp: Path) -> str:
    """One run: dnsmasq up, tcpdump on, TFTP config download, getaddrinfo; the result."""
    root = tmp / "tftp"
    root.mkdir(exist_ok=True)
    (root / f"{DEVICE}.cnf.xml").write_bytes(config())
    dnsmasq = subprocess.Popen(
        ["ip", "netns", "exec", RESOLVER_NS, shutil.which("dnsmasq") or "/usr/sbin/dnsmasq",
         "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--port=53",
         f"--listen-address={RESOLVER_IP}", "--bind-interfaces", "--enable-tftp",
         f"--tftp-root={root}", "--user=root", f"--pid-file={tmp / 'dnsmasq.pid'}", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    tcpdump = subprocess.Popen(
        ["ip", "netns", "exec", RESOLVER_NS, shutil.which("tcpdump") or "/usr/sbin/tcpdump",
         "-i", RESOLVER_IF, "-n", "-U", "--immediate-mode", "-w", str(tmp / name)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        if not wait_line(tcpdump, "listening on", 15):
            raise SystemExit("tcpdump did not start")
        time.sleep(1.0)  # dnsmasq binds within this
        url = f"tftp://{RESOLVER_IP}/{DEVICE}.cnf.xml"
        sh("curl", "-sS", "--tftp-no-options", "-o", str(tmp / "got.xml"), url, ns=PHONE_NS)
        if (tmp / "got.xml").read_bytes() != (root / f"{DEVICE}.cnf.xml").read_bytes():
            raise SystemExit("the TFTP download differs from the served file")
        time.sleep(0.3)
        result = sh(sys.executable, "-c", RESOLVE, NAME, ns=PHONE_NS).strip()
        time.sleep(0.5)
    finally:
        tcpdump.terminate()
        tcpdump.wait(timeout=15)
        dnsmasq.terminate()
        dnsmasq.wait(timeout=15)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp / name, out / name)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("run as root (network namespaces)", file=sys.stderr)
        return 2
    for name, extra in VARIANTS.items():
        with tempfile.TemporaryDirectory(prefix="cc-dns-") as tmp, lab():
            os.chmod(tmp, 0o755)
            result = record(name, extra, args.out, Path(tmp))
        print(f"{args.out / name}: getaddrinfo -> {result}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
