"""docs/scapy.md: its interactive examples run as written (doctest), in a fresh process
(they change scapy's global configuration and TCP 3804 bindings)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
RUN = """
import doctest, sys
r = doctest.testfile("docs/scapy.md", module_relative=False)
print(r.attempted, r.failed)
sys.exit(1 if r.failed or r.attempted < 10 else 0)
"""


def test_docs_scapy_examples_run() -> None:
    p = subprocess.run([sys.executable, "-c", RUN], capture_output=True, text=True,
                       cwd=ROOT, timeout=300, env=ENV)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]


def test_capf_messages_needs_the_key_log() -> None:
    code = """
from scapy.all import conf, load_layer, sniff
from scapy.sessions import TCPSession
from capfcap.dissectors.capf import bind_tls, capf_messages
load_layer("tls"); bind_tls(); conf.tls_session_enable = True
pkts = sniff(offline="pcaps/realpeer/S01_happy.pcap", session=TCPSession, quiet=True)
from scapy.layers.tls.record import TLS
print(sum(1 for p in pkts if p.haslayer(TLS)), sum(len(capf_messages(p)) for p in pkts))
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=ROOT, timeout=300, env=ENV)
    tls, capf = map(int, p.stdout.split())
    assert tls > 0 and capf == 0  # bound as TLS, but encrypted without the key log
