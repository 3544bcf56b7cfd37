"""An analysis leaves no reference cycles among its own objects: what it drops is freed
by reference counting at once. The pipeline collects young objects in batches of a
million during an analysis (capfcap/pipeline.py GC_BATCH), so a cycle per connection or
per transfer would hold its memory for that long (the HTTP handler and its parsers did:
tens of MB on a 10,000-phone rollout). scapy's own layers (the ITL/CAPF dissectors) make
cycles inside scapy, once per distinct trust list, and are not counted."""

from __future__ import annotations

import gc

import pytest

from capfcap.pipeline import Options, analyze
from tests.conftest import REALPEER, ROOT

CAPTURES = [REALPEER / "S01_happy.pcap", REALPEER / "S09_http6970.pcap",
            REALPEER / "S12_busy.pcap", REALPEER / "S22_capf_auth_failed.pcap",
            REALPEER / "S13_ipv6_relay.pcap", REALPEER / "S15_tftp_silent.pcap",
            ROOT / "pcaps" / "synthetic" / "dns_tcp_servfail_nodata.pcap",
            ROOT / "pcaps" / "synthetic" / "tftp_two_oacks.pcap"]


def _cyclic_garbage(path: str, opts: Options) -> list[str]:
    """The capfcap objects (not scapy's layers) that only the cycle collector would free
    after analysing `path` and dropping the report."""
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        report, inputs = analyze([path], opts)
        del report, inputs
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        found = {f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was:
            gc.enable()
    return sorted(n for n in found
                  if n.startswith("capfcap.") and not n.startswith("capfcap.dissectors."))


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_analysis_leaves_no_cycles(path: object) -> None:
    assert _cyclic_garbage(str(path), Options()) == []


def test_html_ladder_and_keylog_leave_no_cycles() -> None:
    from capfcap.extractors.tlsdecrypt import load_keylog

    keylog = REALPEER / "keylogs" / "S01_happy.keylog"
    opts = Options(ladder=True, keylog=str(keylog), keylog_data=load_keylog(str(keylog)))
    assert _cyclic_garbage(str(REALPEER / "S01_happy.pcap"), opts) == []
