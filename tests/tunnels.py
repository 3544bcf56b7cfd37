"""Ethernet frames wrapped as a remote SPAN sends them, for the tunnel tests: an outer
Ethernet II + IPv4 header (RFC 791, addresses from 203.0.113.0/24, RFC 5737) around

- GRE (RFC 2784 §2, RFC 2890 §2: C K S flag bits, then checksum+reserved, key, sequence
  number, in that order) with protocol type 0x88BE and no sequence number: ERSPAN type I;
- GRE 0x88BE with a sequence number and an 8-octet ERSPAN version 1 header: type II
  (draft-foschiano-erspan-03: Ver(4)=1 VLAN(12) COS(3) En(2) T(1) Session ID(10) |
  Reserved(12) Index(20));
- GRE 0x22EB with a sequence number and a 12-octet ERSPAN version 2 header: type III
  (Ver(4)=2 VLAN(12) COS(3) BSO(2) T(1) Session ID(10) | Timestamp(32) | SGT(16) P(1)
  FT(5) Hw ID(6) D(1) Gra(2) O(1)), with the 8-octet platform-specific subheader (O set)
  on every other frame;
- GRE 0x6558 (transparent Ethernet bridging) with checksum and key present;
- UDP to 4789 and an 8-octet VXLAN header (RFC 7348 §5: flags with I = 0x08, VNI).

Everything is a function of the frame and its index: the files are the same each run.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from pathlib import Path

from scapy.utils import checksum  # the Internet checksum (RFC 1071)

from capfcap.sources.frame import Frame

OUTER_SRC = bytes((203, 0, 113, 10))
OUTER_DST = bytes((203, 0, 113, 20))
OUTER_MACS = bytes.fromhex("020000000002" "020000000001")  # dst, src (locally administered)


def _ipv4(proto: int, payload_len: int, ident: int) -> bytes:
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, ident & 0xFFFF, 0x4000, 64,
                    proto, 0, OUTER_SRC, OUTER_DST)
    return h[:10] + struct.pack("!H", checksum(h)) + h[12:]


def _gre(flags: int, ptype: int, *fields: int) -> bytes:
    return struct.pack("!HH", flags, ptype) + b"".join(struct.pack("!I", f) for f in fields)


def erspan1(frame: bytes, i: int) -> bytes:
    return _gre(0x0000, 0x88BE)


def erspan2(frame: bytes, i: int) -> bytes:
    hdr = struct.pack("!HHI", 0x1000 | 110, (0 << 13) | (3 << 11) | 7, 42)
    return _gre(0x1000, 0x88BE, i) + hdr


def erspan3(frame: bytes, i: int) -> bytes:
    o = i % 2
    hdr = struct.pack("!HHIHH", 0x2000 | 110, 7, 1000 * i, 0, (1 << 3) | (1 << 1) | o)
    if o:  # platform-specific subheader: platform id 3, port index, upper timestamp
        hdr += struct.pack("!II", (3 << 26) | 5, 0)
    return _gre(0x1000, 0x22EB, i) + hdr


def gre_teb(frame: bytes, i: int) -> bytes:
    head = _gre(0xA000, 0x6558, 0, 0x0000_0007)  # checksum (filled below), key 7
    csum = checksum(head + frame)
    return head[:4] + struct.pack("!H", csum) + head[6:]


VXLAN = "vxlan"  # a UDP header, not GRE: see `wrap`

# name: (GRE header + ERSPAN header before the frame, or VXLAN)
KINDS: dict[str, Callable[[bytes, int], bytes] | str] = {
    "erspan1": erspan1, "erspan2": erspan2, "erspan3": erspan3, "gre_teb": gre_teb,
    "vxlan": VXLAN,
}


def wrap(kind: str, frame: bytes, wirelen: int, i: int) -> tuple[bytes, int]:
    """(the captured bytes, the original length) of Ethernet `frame` (captured bytes; its
    original length `wirelen`) sent as tunnel packet number i of kind `kind`. The outer
    IP and UDP lengths count the original length: a frame cut by the snap length stays
    cut in the same place. Kind "": the frame itself."""
    if not kind:
        return frame, wirelen
    how = KINDS[kind]
    if how == VXLAN:
        vx = struct.pack("!B3xI", 0x08, 5000 << 8)
        udp_len = 8 + len(vx) + wirelen
        inner = struct.pack("!HHHH", 49152 + i % 16384, 4789, udp_len, 0) + vx
        proto = 17
    else:
        assert callable(how)
        inner = how(frame, i)
        proto = 47
    assert 20 + len(inner) + wirelen <= 0xFFFF, "too long for one IPv4 packet"
    head = OUTER_MACS + b"\x08\x00" + _ipv4(proto, len(inner) + wirelen, i) + inner
    return head + frame, len(head) + wirelen


def write_pcap(path: Path, kind: str, frames: Iterable[Frame]) -> None:
    """Each (Ethernet) frame as tunnel packet `kind`, in a nanosecond pcap (magic a1b23c4d,
    draft-ietf-opsawg-pcap §4), one record per frame."""
    out = [struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 1)]
    for i, fr in enumerate(frames):
        g, wirelen = wrap(kind, fr.data, fr.wirelen, i)
        sec, ns = divmod(fr.ts, 10**9)
        out.append(struct.pack("<IIII", sec, ns, len(g), wirelen) + g)
    path.write_bytes(b"".join(out))
