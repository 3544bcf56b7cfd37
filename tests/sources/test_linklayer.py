"""The one link-layer walk (capfcap/sources/linklayer.py) and its callers: the decoder's
`headers.l3` and the ARP reader agree with it on every frame; the frame inside a GRE/ERSPAN
or VXLAN packet is found where each format puts it, and garbage is counted, not raised."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capfcap.arp import arp
from capfcap.decode import decode
from capfcap.headers import SUPPORTED_LINKTYPES, inner_frame, l3
from capfcap.sources.frame import Frame
from capfcap.sources.linklayer import (
    LINK_HEADER_LEN,
    NOT_DECODED,
    NOT_TUNNEL,
    SCANNED_LINKTYPES,
    l3_offset,
    tunnel_payload,
)

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


# --- the frame inside a remote SPAN tunnel (linklayer.tunnel_payload, headers.inner_frame)

INNER = MACS + b"\x08\x00" + IP4  # the mirrored frame: 34 bytes
OUTER_ETH = MACS + b"\x08\x00"


def _outer(proto: int, payload: bytes, frag: int = 0) -> bytes:
    """Ethernet + IPv4 (RFC 791; addresses 203.0.113.0/24) around `payload`."""
    return OUTER_ETH + struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, frag, 64,
                                   proto, 0, bytes((203, 0, 113, 1)),
                                   bytes((203, 0, 113, 2))) + payload


def _vxlan(flags: int = 0x08, dport: int = 4789, inner: int = len(INNER)) -> bytes:
    return struct.pack("!HHHH", 50000, dport, 16 + inner, 0) + bytes((flags,)) + \
        bytes(3) + struct.pack("!I", 5000 << 8)


@pytest.mark.parametrize("name, proto, head, at", [
    # GRE (RFC 2784/2890): flags, protocol type, then checksum, key, sequence when C, K, S
    ("ERSPAN type I", 47, struct.pack("!HH", 0, 0x88BE), 4),
    ("ERSPAN type II", 47, struct.pack("!HHI", 0x1000, 0x88BE, 9) + b"\x10" + bytes(7), 16),
    ("ERSPAN type III", 47, struct.pack("!HHI", 0x1000, 0x22EB, 9) + b"\x20" + bytes(11), 20),
    ("ERSPAN III, platform subheader", 47,
     struct.pack("!HHI", 0x1000, 0x22EB, 9) + b"\x20" + bytes(10) + b"\x01" + bytes(8), 28),
    ("ERSPAN III without S", 47, struct.pack("!HH", 0, 0x22EB) + b"\x20" + bytes(11), 16),
    ("ERSPAN II with key", 47, struct.pack("!HHII", 0x3000, 0x88BE, 1, 9) + b"\x10" + bytes(7),
     20),
    ("TEB", 47, struct.pack("!HH", 0, 0x6558), 4),
    ("TEB, checksum key sequence", 47, struct.pack("!HHIII", 0xB000, 0x6558, 0, 1, 2), 16),
    ("VXLAN", 17, _vxlan(), 16),
])
def test_tunnel_frame_is_found(name: str, proto: int, head: bytes, at: int) -> None:
    frame = _outer(proto, head + INNER)
    assert inner_frame(1, frame) == (34 + at, len(frame)), name
    l4, end = 34, len(frame)
    assert tunnel_payload(frame, proto, l4, end, False) == (34 + at, end), name
    assert tunnel_payload(frame, proto, l4, end, True) == (NOT_DECODED, 0), name  # fragment
    # behind other link headers (raw IP, SLL), and with trailing Ethernet padding
    assert inner_frame(101, frame[14:]) == (at + 20, len(frame) - 14)
    assert inner_frame(113, bytes(14) + frame[12:])[0] == at + 36
    assert inner_frame(1, frame + bytes(6)) == (34 + at, len(frame))


@pytest.mark.parametrize("name, proto, head, want", [
    ("GRE carrying IPv4", 47, struct.pack("!HH", 0, 0x0800), NOT_TUNNEL),
    ("PPTP (GRE version 1)", 47, struct.pack("!HH", 0x3001, 0x6558), NOT_TUNNEL),
    ("UDP to another port", 17, _vxlan(dport=4790), NOT_TUNNEL),
    ("4789 without the I flag (TFTP data)", 17, _vxlan(flags=0x00), NOT_TUNNEL),
    ("GRE routing (R)", 47, struct.pack("!HHI", 0x4000, 0x6558, 0), NOT_DECODED),
    ("strict source route (s)", 47, struct.pack("!HH", 0x0800, 0x6558), NOT_DECODED),
    ("ERSPAN version 3", 47, struct.pack("!HHI", 0x1000, 0x88BE, 0) + b"\x30" + bytes(7),
     NOT_DECODED),
    ("ERSPAN III frame type IP", 47,
     struct.pack("!HHI", 0x1000, 0x22EB, 0) + b"\x20" + bytes(9) + b"\x08\x00", NOT_DECODED),
])
def test_tunnel_kinds_not_read(name: str, proto: int, head: bytes, want: int) -> None:
    assert inner_frame(1, _outer(proto, head + INNER))[0] == want, name


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=40), st.sampled_from([0x6558, 0x88BE, 0x22EB]),
       st.integers(0, 0xFFFF))
def test_garbage_gre_is_not_decoded_never_an_error(junk: bytes, ptype: int, flags: int) -> None:
    """A GRE header cut short or full of garbage: no exception, the frame not read, and
    never a frame past the packet's end."""
    for payload in (junk, struct.pack("!HH", flags, ptype) + junk):
        frame = _outer(47, payload)
        i, e = inner_frame(1, frame)
        assert i in (NOT_TUNNEL, NOT_DECODED) or 34 < i <= e - 14 <= len(frame) - 14
        fr = Frame(1, 0, 1, frame, len(frame))
        assert arp(fr) is None or i >= 0


@pytest.mark.parametrize("cut", range(34, 34 + 16 + 14))
def test_cut_short_tunnel_header_is_not_decoded(cut: int) -> None:
    """Cut anywhere before a whole Ethernet header lies behind the ERSPAN II header."""
    frame = _outer(47, struct.pack("!HHI", 0x1000, 0x88BE, 9) + b"\x10" + bytes(7) + INNER)
    assert inner_frame(1, frame[:cut]) == (NOT_DECODED, 0)
    assert decode(Frame(1, 0, 1, frame[:cut], len(frame))) is None


def test_tunnel_in_a_tunnel_is_not_decoded() -> None:
    teb = struct.pack("!HH", 0, 0x6558)
    once = _outer(47, teb + INNER)
    twice = _outer(47, teb + once)
    assert inner_frame(1, once)[0] == 38
    assert inner_frame(1, twice) == (NOT_DECODED, 0)
    assert decode(Frame(1, 0, 1, twice, len(twice))) is None


def test_tunnel_frame_is_decoded_as_captured_by_itself() -> None:
    """The packet, MAC and VLAN of the inner frame; the outer frame's number and time."""
    tagged = MACS + b"\x81\x00\x00\x6e\x08\x00" + struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 64, 17, 0, bytes((192, 0, 2, 7)),
        bytes((198, 51, 100, 9))) + struct.pack("!HHHH", 50000, 69, 8, 0)
    want = decode(Frame(7, 99, 1, tagged, len(tagged) + 4))
    assert want is not None and want.truncated is False
    for proto, head in ((47, struct.pack("!HH", 0, 0x6558)), (17, _vxlan(inner=len(tagged)))):
        frame = _outer(proto, head + tagged)
        got = decode(Frame(7, 99, 1, frame, len(frame) + 4))
        assert got == want
        assert (got.src_mac, got.vlan, got.src) == ("02:00:00:00:00:02", 110, "192.0.2.7")
    # inner ARP
    frame = _outer(47, struct.pack("!HH", 0, 0x6558) + MACS + b"\x08\x06" + ARP)
    a = arp(Frame(3, 0, 1, frame, len(frame)))
    assert a is not None and a.frame == 3 and a.op == 1
