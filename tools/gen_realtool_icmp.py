#!/usr/bin/env python3
"""Record ``pcaps/realtool/icmp_reject.pcap``: real Linux ICMP answers to a phone's CAPF
and TFTP attempts, made by iptables REJECT rules and the kernel, between network namespaces.

Run as root: ``python3 tools/gen_realtool_icmp.py [--out FILE]`` (needs ip, iptables,
tcpdump; on Debian ``apt-get install iptables tcpdump``). Timestamps and ports differ from
run to run; what each packet is does not.

Topology (documentation addresses only; namespaces ``cc-s2-*``, deleted afterwards):

    phone 192.0.2.21 --- 192.0.2.1 router 198.51.100.1 --- server 198.51.100.11/.12/.13

* server: ``iptables -A INPUT -p tcp -d 198.51.100.11 --dport 3804 -j REJECT
  --reject-with icmp-port-unreachable``; nothing listens on UDP 69, so the kernel answers a
  TFTP read request with port unreachable itself (RFC 1122 §4.1.3.1).
* router: ``iptables -A FORWARD -p tcp -d 198.51.100.12 --dport 3804 -j REJECT
  --reject-with icmp-port-unreachable`` and the same for 198.51.100.13 with
  ``icmp-host-unreachable``.
* phone (tcpdump on its interface): two TFTP read requests for ITLFile.tlv to
  198.51.100.11, then two connections to 3804 on each of .11, .12 and .13, 1.2 s apart
  (Linux rate-limits ICMP errors). Each connect fails at once: Linux aborts a SYN_SENT
  socket on any destination unreachable.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "pcaps", "realtool", "icmp_reject.pcap")
NS = {"phone": "cc-s2-ph", "router": "cc-s2-rt", "server": "cc-s2-sv"}

PHONE_PROGRAM = r"""
import socket, time
SERVER, FILTERED, UNREACH = "198.51.100.11", "198.51.100.12", "198.51.100.13"
rrq = b"\x00\x01ITLFile.tlv\x00octet\x00"  # RFC 1350 RRQ
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.connect((SERVER, 69))  # connected, so the ICMP error is reported to this socket
for _ in range(2):
    u.send(rrq)
    try:
        u.recv(600)
    except OSError as e:
        print("tftp", e.errno)
    time.sleep(1.2)
for host in (SERVER, FILTERED, UNREACH):
    for _ in range(2):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(3)
        try:
            s.connect((host, 3804))
        except OSError as e:
            print(host, e.errno)
        s.close()
        time.sleep(1.2)
"""


def sh(*args: str, ns: str | None = None) -> None:
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    subprocess.run(cmd, check=True, capture_output=True, timeout=30)


def link(a: str, a_if: str, b: str, b_if: str) -> None:
    tmp_a, tmp_b = f"cc-s2-{a_if}", f"cc-s2-{b_if}x"
    sh("ip", "link", "add", tmp_a, "type", "veth", "peer", "name", tmp_b)
    sh("ip", "link", "set", tmp_a, "netns", NS[a])
    sh("ip", "link", "set", tmp_b, "netns", NS[b])
    sh("ip", "link", "set", tmp_a, "name", a_if, ns=NS[a])
    sh("ip", "link", "set", tmp_b, "name", b_if, ns=NS[b])


def up() -> None:
    for ns in NS.values():
        sh("ip", "netns", "add", ns)
        sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=ns)
        sh("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1", ns=ns)
        sh("ip", "link", "set", "lo", "up", ns=ns)
    link("phone", "eth0", "router", "eth0")
    link("server", "eth0", "router", "eth1")
    ph, rt, sv = NS["phone"], NS["router"], NS["server"]
    sh("ip", "link", "set", "eth0", "address", "00:1b:54:aa:cc:21", ns=ph)
    sh("ip", "link", "set", "eth0", "address", "00:00:0c:9f:f0:01", ns=rt)
    sh("ip", "link", "set", "eth1", "address", "00:00:0c:9f:f0:02", ns=rt)
    sh("ip", "link", "set", "eth0", "address", "00:50:56:aa:cc:11", ns=sv)
    for ns, ifs in ((ph, ["eth0"]), (rt, ["eth0", "eth1"]), (sv, ["eth0"])):
        for i in ifs:
            sh("ip", "link", "set", i, "up", ns=ns)
    sh("ip", "addr", "add", "192.0.2.21/24", "dev", "eth0", ns=ph)
    sh("ip", "route", "add", "default", "via", "192.0.2.1", ns=ph)
    sh("ip", "addr", "add", "192.0.2.1/24", "dev", "eth0", ns=rt)
    sh("ip", "addr", "add", "198.51.100.1/24", "dev", "eth1", ns=rt)
    sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=rt)
    for a in ("198.51.100.11/24", "198.51.100.12/24", "198.51.100.13/24"):
        sh("ip", "addr", "add", a, "dev", "eth0", ns=sv)
    sh("ip", "route", "add", "default", "via", "198.51.100.1", ns=sv)
    sh("iptables", "-A", "INPUT", "-p", "tcp", "-d", "198.51.100.11", "--dport", "3804",
       "-j", "REJECT", "--reject-with", "icmp-port-unreachable", ns=sv)
    for host, kind in (("198.51.100.12", "icmp-port-unreachable"),
                       ("198.51.100.13", "icmp-host-unreachable")):
        sh("iptables", "-A", "FORWARD", "-p", "tcp", "-d", host, "--dport", "3804",
           "-j", "REJECT", "--reject-with", kind, ns=rt)


def down() -> None:
    for ns in NS.values():
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def record(out: str) -> None:
    up()
    fd, tmp = tempfile.mkstemp(suffix=".pcap")
    os.close(fd)
    dump = subprocess.Popen(["ip", "netns", "exec", NS["phone"], "tcpdump", "-i", "eth0",
                             "-n", "-U", "-s", "0", "-w", tmp],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.5)  # tcpdump has opened the interface
        res = subprocess.run(["ip", "netns", "exec", NS["phone"], sys.executable, "-c",
                              PHONE_PROGRAM], capture_output=True, text=True, timeout=60,
                             check=True)
        print(res.stdout, end="", file=sys.stderr)
        time.sleep(0.5)
    finally:
        dump.send_signal(signal.SIGINT)
        try:
            dump.wait(timeout=10)
        except subprocess.TimeoutExpired:
            dump.kill()
    os.makedirs(os.path.dirname(out), exist_ok=True)
    shutil.move(tmp, out)
    os.chmod(out, 0o644)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    for tool in ("ip", "iptables", "tcpdump"):
        if shutil.which(tool) is None:
            print(f"{tool} not found", file=sys.stderr)
            return 2
    down()  # leftovers of an interrupted run
    try:
        record(args.out)
    finally:
        down()
    print(args.out, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
