"""CAPF authentication strings are masked in every report unless --show-secrets.

S01's AUTH_RESPONSE carries an empty PASSWORD, so a synthetic dialogue with a real one
goes through the same path as decrypted traffic: CapfStream (the dissector that masks)
-> CapfMessage in a TlsSession -> correlator -> every reporter.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys

import pytest

from capfcap.correlator.engine import Correlator
from capfcap.dissectors.capf import CapfStream
from capfcap.events import CapfMessage, FlowKey, TcpConnection, TlsRecordInfo, TlsSession
from capfcap.report import Report
from capfcap.reporters.json import render as render_json
from capfcap.reporters.markdown import render as render_md
from capfcap.reporters.text import render as render_text
from tests.conftest import REALPEER, ROOT

SECRET = "Tr0ub4dor&3-1357"
PHONE, CAPF = "192.0.2.21", "198.51.100.11"
S = 1_000_000_000


def _msg(cmd: int, elements: list[tuple[int, bytes]]) -> bytes:
    """CAPF message (DOMAIN §3.2): 55 cmd u32 session u16 length, then tag u8 len u16 value."""
    body = b"".join(bytes([t]) + struct.pack(">H", len(v)) + v for t, v in elements)
    return bytes([0x55, cmd]) + struct.pack(">IH", 42, len(body)) + body


def _render_all(r: Report) -> str:
    buf = io.StringIO()
    render_text(r, buf, color=False, width=100)
    return render_json(r) + render_md(r) + buf.getvalue()


def _report(show_secrets: bool) -> Report:
    c2s = CapfStream("c2s", show_secrets)
    s2c = CapfStream("s2c", show_secrets)
    msgs: list[CapfMessage] = []
    msgs += s2c.feed(10, 10 * S, _msg(1, [(2, b"\x03"), (4, b"\x01")]))  # AUTH_REQUEST
    # AUTH_RESPONSE: REASON, VERSION, PASSWORD (tag 11), DEVICE_NAME
    msgs += c2s.feed(11, 11 * S, _msg(2, [(1, b"\x01"), (2, b"\x03"),
                                          (11, SECRET.encode()), (3, b"SEP0023AB12CD34")]))
    msgs += s2c.feed(12, 12 * S, _msg(9, [(1, b"\x0b")]))  # END_SESSION
    assert any(n == "PASSWORD" for m in msgs for n, _v in m.elements)
    key = FlowKey("tcp", PHONE, 50000, CAPF, 3804)
    frames = tuple(range(1, 14))
    conn = TcpConnection(key, S, 13 * S, frames, (1,), (2,), (), None, (13,), "SF",
                         "ShADadfF", 31, 7, 6, 300, 300)
    tls = TlsSession(key, frames, S, 13 * S, client_hello_frame=4, client_version=0x0303,
                     offered_versions=(0x0303,), server_hello_frame=5, version=0x0303,
                     cipher=0xC02F, handshake_done=True,
                     records=(TlsRecordInfo(10, 10 * S, "s2c", 23, 40),
                              TlsRecordInfo(11, 11 * S, "c2s", 23, 63),
                              TlsRecordInfo(12, 12 * S, "s2c", 23, 30)),
                     capf_messages=tuple(msgs), decrypted=True)
    c = Correlator()
    c.add_all([conn, tls])
    return c.report([])


def test_password_masked_in_every_report() -> None:
    r = _report(show_secrets=False)
    assert any("PASSWORD=****" in f.detail for f in r.findings)  # the dialogue is reported
    out = _render_all(r)
    assert SECRET not in out and SECRET[:6] not in out
    assert SECRET.encode().hex() not in out


def test_password_shown_with_show_secrets() -> None:
    r = _report(show_secrets=True)
    assert any(f"PASSWORD={SECRET}" in f.detail for f in r.findings)
    assert SECRET in render_json(r)


@pytest.mark.parametrize("show", [False, True])
def test_cli_end_to_end_on_s01(show: bool) -> None:
    """The real S01 dialogue decrypted with its key log: the (empty) PASSWORD element is
    rendered as **** unless --show-secrets, in every format."""
    for fmt in ("json", "markdown", "text"):
        args = [sys.executable, "-m", "capfcap", "analyze", str(REALPEER / "S01_happy.pcap"),
                "--keylog", str(REALPEER / "keylogs" / "S01_happy.keylog"), "--format", fmt]
        if show:
            args.append("--show-secrets")
        r = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert r.returncode == 0, r.stderr
        flat = " ".join(r.stdout.split())  # the text format wraps lines
        if show:
            assert "PASSWORD=," in flat and "PASSWORD=****" not in flat
        else:
            assert "PASSWORD=****" in flat
