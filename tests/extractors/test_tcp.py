"""TCP tracker: Zeek conn_state/history and Wireshark completeness on real captures."""

from __future__ import annotations

import pytest

from capfcap.decode import Prefilter, decode
from capfcap.events import TcpConnection
from capfcap.extractors.tcp import TcpTracker
from capfcap.sources.inputs import InputSet, frames
from tests.conftest import REALPEER
from tests.helpers import tshark_fields


def conns(pcap: str) -> list[TcpConnection]:
    t = TcpTracker()
    out = []
    for f in frames([str(REALPEER / pcap)], InputSet()):
        p = decode(f, Prefilter(enabled=False))
        if p is not None:
            out += t.feed(p)
    out += t.finish()
    return [c for c in out if isinstance(c, TcpConnection)]


@pytest.mark.parametrize("pcap,state,history", [
    ("S01_happy.pcap", "SF", "ShADadfF"),
    ("S02_itl_no_capf.pcap", "RSTO", "ShADadfR"),
    ("S05_capf_filtered.pcap", "S0", "S"),
    ("S06_capf_refused.pcap", "REJ", "Sr"),
    ("S08_asymmetric_capture.pcap", "SH", "SADF"),
])
def test_zeek_state_and_history(pcap: str, state: str, history: str) -> None:
    cs = [c for c in conns(pcap) if c.key.server_port == 3804]
    assert cs and all((c.conn_state, c.history) == (state, history) for c in cs)


def test_one_sided_capture_counts_acks_of_unseen_data() -> None:
    (c,) = [c for c in conns("S08_asymmetric_capture.pcap") if c.key.server_port == 3804]
    assert c.resp_pkts == 0 and c.orig_acked_unseen > 0
    (c1,) = [c for c in conns("S01_happy.pcap") if c.key.server_port == 3804]
    assert c1.acked_unseen == 0 and c1.retransmissions == 0


def test_syn_retransmissions_are_one_connection() -> None:
    (c,) = [c for c in conns("S05_capf_filtered.pcap") if c.key.server_port == 3804]
    assert c.syn_frames == (59, 60, 61, 64, 65) and c.completeness == 1


@pytest.mark.tshark
@pytest.mark.parametrize("pcap", sorted(p.name for p in REALPEER.glob("*.pcap")
                                        if p.name != "S12_busy.pcap"))
def test_completeness_equals_wireshark(pcap: str) -> None:
    rows = tshark_fields(REALPEER / pcap, ["frame.number", "tcp.completeness"], "tcp",
                         two_pass=True)
    by_frame = {int(f): int(c) for f, c in rows}
    for c in conns(pcap):
        assert {by_frame[f] for f in c.frames} == {c.completeness}, c.key
