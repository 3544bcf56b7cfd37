"""The same packets behind other link layers give the same diagnosis: every real-peer
capture (Ethernet) rewritten frame by frame as 802.1Q-tagged Ethernet, Linux cooked
capture v1 (SLL, 113) and v2 (SLL2, 276, what `tcpdump -i any` writes), and as a native
pcapng. Findings, their frames, the withheld verdicts and each phone's verdict must not
change; only what the link layer itself carries may (none of these drops the source MAC).

Headers written here: Ethernet II dst(6) src(6) type(2), an 802.1Q tag TPID 0x8100 TCI(2)
after the source MAC (IEEE 802.1Q); SLL: packet type(2) ARPHRD(2) address length(2)
address(8) protocol(2); SLL2: protocol(2) reserved(2) interface index(4) ARPHRD(2) packet
type(1) address length(1) address(8); pcapng SHB, IDB, EPB (draft-ietf-opsawg-pcapng §4).

And as a remote SPAN sends them (`tests/tunnels.py`): each frame inside ERSPAN type II and
III, GRE transparent Ethernet bridging and VXLAN, one tunnel packet per frame: the same
diagnosis, under the same frame numbers.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from capfcap.pipeline import Options, analyze
from capfcap.reporters.json import to_dict
from capfcap.sources.files import read_capture
from capfcap.sources.frame import Frame
from tests.conftest import REALPEER
from tests.tunnels import write_pcap as write_tunnel_pcap

CAPTURES = sorted(p.name for p in REALPEER.glob("*.pcap"))  # S01 is also a .pcapng


def _frames(path: Path) -> list[Frame]:
    return list(read_capture(str(path)))


def _vlan(f: bytes) -> bytes:
    return f[:12] + b"\x81\x00" + struct.pack("!H", 0x6000 | 110) + f[12:]


def _sll(f: bytes) -> bytes:
    return struct.pack("!HHH", 0, 1, 6) + f[6:12] + b"\x00\x00" + f[12:14] + f[14:]


def _sll2(f: bytes) -> bytes:
    return f[12:14] + b"\x00\x00" + struct.pack("!IHBB", 3, 1, 0, 6) + f[6:12] + \
        b"\x00\x00" + f[14:]


def _write_pcap(path: Path, linktype: int, frames: list[Frame],
                wrap: Callable[[bytes], bytes]) -> None:
    """A nanosecond pcap (magic a1b23c4d, draft-ietf-opsawg-pcap §4)."""
    out = [struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, linktype)]
    for fr in frames:
        g = wrap(fr.data)
        sec, ns = divmod(fr.ts, 10**9)
        out.append(struct.pack("<IIII", sec, ns, len(g), fr.wirelen + len(g) - len(fr.data))
                   + g)
    path.write_bytes(b"".join(out))


def _block(btype: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def _write_pcapng(path: Path, frames: list[Frame]) -> None:
    """SHB, one Ethernet IDB with if_tsresol 10^-9, one EPB per frame."""
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = _block(1, struct.pack("<HHI", 1, 0, 0) + struct.pack("<HHB3x", 9, 1, 9)
                 + b"\x00" * 4)
    epbs = [_block(6, struct.pack("<IIIII", 0, fr.ts >> 32, fr.ts & 0xFFFFFFFF, len(fr.data),
                                  fr.wirelen) + fr.data) for fr in frames]
    path.write_bytes(shb + idb + b"".join(epbs))


def _diagnosis(path: Path) -> dict[str, Any]:
    r, inputs = analyze([str(path)], Options())
    assert not inputs.errors, inputs.errors
    d = to_dict(r)
    return {
        "findings": [(f["code"], f["severity"], f["phone"].get("ip"), f["server"],
                      f["evidence"]["frames"], f["summary"]) for f in d["findings"]],
        "withheld": d["withheld"],
        "phones": [(p["ip"], p.get("mac"), p.get("verdict")) for p in d["phones"]],
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", CAPTURES)
def test_other_link_layers_give_the_same_diagnosis(name: str, tmp_path: Path) -> None:
    frames = _frames(REALPEER / name)
    assert {fr.linktype for fr in frames} == {1}  # the real-peer captures are Ethernet
    want = _diagnosis(REALPEER / name)
    variants = {"vlan.pcap": (1, _vlan), "sll.pcap": (113, _sll), "sll2.pcap": (276, _sll2)}
    for suffix, (lt, wrap) in variants.items():
        out = tmp_path / f"{Path(name).stem}.{suffix}"
        _write_pcap(out, lt, frames, wrap)
        assert _diagnosis(out) == want, suffix
    ng = tmp_path / f"{Path(name).stem}.pcapng"
    _write_pcapng(ng, frames)
    assert _diagnosis(ng) == want, "pcapng"


@pytest.mark.slow
@pytest.mark.parametrize("name", CAPTURES)
def test_remote_span_tunnels_give_the_same_diagnosis(name: str, tmp_path: Path) -> None:
    """ERSPAN II, ERSPAN III, GRE-TEB and VXLAN: the frames inside are analysed as if
    captured where they were mirrored."""
    frames = _frames(REALPEER / name)
    want = _diagnosis(REALPEER / name)
    for kind in ("erspan2", "erspan3", "gre_teb", "vxlan"):
        out = tmp_path / f"{Path(name).stem}.{kind}.pcap"
        write_tunnel_pcap(out, kind, frames)
        assert _diagnosis(out) == want, kind
