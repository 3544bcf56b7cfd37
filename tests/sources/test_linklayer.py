"""The one link-layer walk (capfcap/sources/linklayer.py) and its callers: the decoder's
`headers.l3` and the ARP reader agree with it on every frame."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capfcap.arp import arp
from capfcap.headers import SUPPORTED_LINKTYPES, l3
from capfcap.sources.frame import Frame
from capfcap.sources.linklayer import LINK_HEADER_LEN, SCANNED_LINKTYPES, l3_offset

MACS = bytes.fromhex("ffffffffffff" "020000000002")
IP4 = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20, 0, 0, 64, 17, 0, bytes(4), bytes(4))
ARP = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + bytes(20)


@pytest.mark.parametrize("lt, frame, want", [
    (1, MACS + b"\x08\x00" + IP4, (4, 14)),
    (1, MACS + b"\x86\xdd" + bytes(40), (6, 14)),
    (1, MACS + b"\x81\x00\x00\x64\x88\xa8\x00\x01\x91\x00\x00\x02\x08\x00" + IP4, (4, 26)),
    (1, MACS + b"\x81\x00\x00\x64", (0, 0)),  # a tag and nothing behind it
    (1, MACS + b"\x81\x00\x00", (0, 0)),  # a cut tag is not walked
    (1, MACS + b"\x08", (0, 0)),  # shorter than the header
    (1, MACS + b"\x08\x06" + ARP, (-1, 14)),  # ARP: cannot tell, at 14
    (1, MACS + b"\x81\x00\x00\x64\x08\x06" + ARP, (-1, 18)),
    (1, MACS + b"\x88\xcc" + bytes(20), (0, 0)),  # LLDP
    (113, bytes(14) + b"\x08\x00" + IP4, (4, 16)),
    (113, bytes(14) + b"\x08\x06" + ARP, (-1, 16)),
    (113, bytes(15), (0, 0)),
    (276, b"\x86\xdd" + bytes(18) + bytes(40), (6, 20)),
    (276, b"\x08\x06" + bytes(18) + ARP, (-1, 20)),
    (276, b"\x08\x00" + bytes(17), (0, 0)),
    (101, IP4, (4, 0)), (12, b"\x60" + bytes(39), (6, 0)), (14, b"\x50", (0, 0)),
    (101, b"", (0, 0)), (228, b"", (4, 0)), (229, b"", (6, 0)),
    (0, b"\x02\x00\x00\x00" + IP4, (-1, 0)),  # BSD loopback: headers.l3 reads it
    (147, IP4, (-1, 0)),  # a link type read nowhere
])
def test_l3_offset(lt: int, frame: bytes, want: tuple[int, int]) -> None:
    assert l3_offset(frame, 0, len(frame), lt) == want
    # inside a read buffer, between other records: the same, shifted, reading nothing else
    buf = b"\x08\x00" * 9 + frame + b"\x08\x00\x45\x00" * 9
    ver, off = l3_offset(buf, 18, 18 + len(frame), lt)
    assert (ver, off - 18 if off else 0) == want


def test_linktype_sets() -> None:
    assert sorted(SCANNED_LINKTYPES) == [1, 12, 14, 101, 113, 228, 229, 276]
    assert sorted(SUPPORTED_LINKTYPES - SCANNED_LINKTYPES) == [0, 108]  # BSD loopback
    assert SCANNED_LINKTYPES < SUPPORTED_LINKTYPES


def test_l3_reads_mac_and_first_vlan_id() -> None:
    tagged = MACS + b"\x81\x00\x20\x64\x81\x00\x00\x07\x08\x00" + IP4
    assert l3(1, tagged) == (4, 22, "02:00:00:00:00:02", 100)
    assert l3(1, MACS + b"\x81\x00\x00\x64\x88\xcc") == (0, 0, "02:00:00:00:00:02", 100)
    sll = struct.pack("!HHH", 0, 1, 6) + MACS[6:] + bytes(2) + b"\x08\x00" + IP4
    assert l3(113, sll) == (4, 16, "02:00:00:00:00:02", None)
    assert l3(113, sll[:4] + b"\x00\x07" + sll[6:]) == (4, 16, "", None)
    assert l3(0, b"\x18\x00\x00\x00" + bytes(40)) == (6, 4, "", None)


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=64),
       st.sampled_from([1, 1, 113, 276, 101, 12, 14, 228, 229, 0, 108, 147, 999]),
       st.sampled_from([b"", b"\x08\x00", b"\x86\xdd", b"\x08\x06", b"\x81\x00\x00\x05"]))
def test_l3_and_arp_follow_the_walk(data: bytes, lt: int, et: bytes) -> None:
    if lt == 1:
        data = data[:12] + et + data[12:]
    elif lt == 113:
        data = data[:14] + et + data[14:]
    elif lt == 276:
        data = et + data
    ver, off = l3_offset(data, 0, len(data), lt)
    v3, o3, _mac, _vlan = l3(lt, data)
    if lt in SCANNED_LINKTYPES:
        assert v3 == max(ver, 0)
        if ver > 0:
            assert o3 == off
    if arp(Frame(1, 0, lt, data, len(data))) is not None:
        assert ver == -1 and off >= LINK_HEADER_LEN[lt]


@pytest.mark.parametrize("lt, link", [
    (1, MACS + b"\x08\x06"), (1, MACS + b"\x81\x00\x00\x64\x91\x00\x00\x01\x08\x06"),
    (113, bytes(14) + b"\x08\x06"), (276, b"\x08\x06" + bytes(18)),
])
def test_arp_is_read_where_the_walk_ends(lt: int, link: bytes) -> None:
    a = arp(Frame(1, 0, lt, link + ARP, 60))
    assert a is not None and a.op == 1 and a.sender_ip == "0.0.0.0"
    assert arp(Frame(1, 0, lt, link + ARP[:27], 60)) is None  # cut short
    assert arp(Frame(1, 0, 101, ARP, 60)) is None
