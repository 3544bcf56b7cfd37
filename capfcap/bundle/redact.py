"""`--redact` for the ticket bundle: pseudonymous MACs and payload-free evidence.

MAC addresses are replaced by locally administered addresses 02:ca:fe:xx:xx:xx, assigned in
the order they are registered, in every form they take: raw 6 bytes, aa:bb:cc:dd:ee:ff,
aa-bb-..., aabbccddeeff (so SEP<MAC> device names follow) and Cisco aabb.ccdd.eeff, in the
case of the original. A pseudonym has the same length as what it replaces, so rewritten
frames keep their sizes. Group addresses (broadcast, multicast) are not identifying and
stay as they are.

Payloads: headers through layer 4 are kept (of a remote SPAN's GRE/ERSPAN or VXLAN packet,
those of the frame it carries too); DNS, TFTP control packets, trust-list
downloads and TLS records other than application data are kept whole; application-data
records keep their 5-byte record header (the sizes are evidence, the contents are not);
every other payload is cut and the frame's captured length shrinks (its original length
stays, as with `editcap -s`).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from capfcap.bundle.frames import EvidenceFrame
from capfcap.decode import ICMP, ICMPV6, TCP, UDP
from capfcap.headers import inner_frame, ip_header, l3
from capfcap.protocol import REDACT_TLS_PORTS
from capfcap.sources.frame import LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2
from capfcap.sources.linklayer import LINK_HEADER_LEN

PSEUDO_PREFIX = b"\x02\xca\xfe"
MAX_MACS = 1 << 20  # the 24-bit counter below the prefix
TLS_KEEP = frozenset({20, 21, 22})  # change_cipher_spec, alert, handshake (RFC 8446 §5.1)
TFTP_DATA = 3
TFTP_KEEP = frozenset({1, 2, 4, 5, 6})  # RRQ, WRQ, ACK, ERROR, OACK (RFC 1350, RFC 2347)
HEX = "0-9A-Fa-f"


def _forms(mac: bytes) -> list[str]:
    h = mac.hex()
    pairs = [h[i : i + 2] for i in range(0, 12, 2)]
    return [
        "[:-]".join(pairs),
        h,
        rf"{h[0:4]}\.{h[4:8]}\.{h[8:12]}",
    ]


def _render(mac: bytes, like: str) -> str:
    h = mac.hex()
    if ":" in like or "-" in like:
        sep = ":" if ":" in like else "-"
        out = sep.join(h[i : i + 2] for i in range(0, 12, 2))
    elif "." in like:
        out = f"{h[0:4]}.{h[4:8]}.{h[8:12]}"
    else:
        out = h
    return out.upper() if any(c.isupper() for c in like) else out


class Redactor:
    """One consistent pseudonym per MAC across all files of a bundle."""

    def __init__(self) -> None:
        self.map: dict[bytes, bytes] = {}
        self._next = 1
        self._rx: re.Pattern[str] | None = None
        self.truncated = 0  # frames whose payload was cut

    # -- mapping ------------------------------------------------------------------------
    def add(self, mac: bytes | str) -> None:
        raw = _parse_mac(mac) if isinstance(mac, str) else bytes(mac)
        if raw is None or len(raw) != 6 or raw in self.map:
            return
        if raw[0] & 1 or raw == b"\0" * 6:  # group address, or none
            return
        if len(self.map) >= MAX_MACS:
            return
        while True:
            cand = PSEUDO_PREFIX + self._next.to_bytes(3, "big")
            self._next += 1
            if cand not in self.map:
                break
        self.map[raw] = cand
        self._rx = None

    def _regex(self) -> re.Pattern[str]:
        if self._rx is None:
            alts = [f for m in self.map for f in _forms(m)] or ["(?!x)x"]
            self._rx = re.compile(f"(?<![{HEX}])(?:" + "|".join(alts) + f")(?![{HEX}])", re.I)
        return self._rx

    def text(self, s: str) -> str:
        if not self.map:
            return s
        by_hex = {m.hex(): p for m, p in self.map.items()}

        def sub(m: re.Match[str]) -> str:
            key = re.sub(f"[^{HEX}]", "", m.group(0)).lower()
            p = by_hex.get(key)
            return _render(p, m.group(0)) if p is not None else m.group(0)

        return self._regex().sub(sub, s)

    def blob(self, b: bytes) -> bytes:
        """Raw and ASCII forms inside bytes; the length never changes."""
        for orig, pseudo in self.map.items():
            b = b.replace(orig, pseudo)
        if not self.map:
            return b
        return self.text(b.decode("latin-1")).encode("latin-1")

    # -- frames -------------------------------------------------------------------------
    def register_frames(self, evs: list[EvidenceFrame]) -> None:
        for ev in evs:
            for mac in link_macs(ev.linktype, ev.data):
                self.add(mac)

    def redact_frames(self, evs: list[EvidenceFrame], keep_whole: set[int],
                      tls_ports: frozenset[int] = REDACT_TLS_PORTS) -> None:
        """`tls_ports`: TCP ports whose TLS records (not their application data) are kept:
        REDACT_TLS_PORTS and the CAPF/TVS ports the report names (a config's phonePort)."""
        streams = _TlsStreams()
        for ev in evs:
            cut = keep_length(ev.linktype, ev.data, ev.number in keep_whole, streams,
                              tls_ports)
            if cut < len(ev.data):
                ev.note = f"payload removed by --redact ({len(ev.data) - cut} bytes)"
                ev.data = ev.data[:cut]
                self.truncated += 1
            ev.data = self.blob(ev.data)
            ev.original_comment = ""


def _parse_mac(s: str) -> bytes | None:
    h = re.sub(f"[^{HEX}]", "", s)
    if len(h) != 12:
        return None
    return bytes.fromhex(h)


def link_macs(linktype: int, data: bytes) -> list[bytes]:
    """Destination and source MACs of a frame's link header (Ethernet, SLL, SLL2), and of
    the Ethernet frame a GRE/ERSPAN or VXLAN packet carries (the phone's are there)."""
    macs: list[bytes] = []
    if linktype == LINKTYPE_ETHERNET:
        macs = [data[0:6], data[6:12]] if len(data) >= 14 else []
    elif linktype in (LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2):
        mac = l3(linktype, data)[2]  # the cooked header's address, when it is a MAC
        macs = [bytes.fromhex(mac.replace(":", ""))] if mac else []
    i, _e = inner_frame(linktype, data)
    return macs + [data[i : i + 6], data[i + 6 : i + 12]] if i >= 0 else macs


@dataclass
class _Dir:
    next_seq: int
    rtype: int  # content type of the record in progress
    left: int  # bytes of it still to come


class _TlsStreams:
    """Record boundaries per TCP direction across the evidence frames (RFC 8446 §5.1:
    type(1) version(2) length(2) fragment). A gap makes the direction unknown."""

    MAX = 4096

    def __init__(self) -> None:
        self.dirs: dict[tuple[bytes, bytes, int, int], _Dir] = {}

    def keep(self, key: tuple[bytes, bytes, int, int], seq: int, payload: bytes) -> int:
        """How many payload bytes to keep."""
        d = self.dirs.get(key)
        pos = 0
        n = len(payload)
        rtype, left = (-1, 0)
        if d is not None and d.next_seq == seq:
            rtype, left = d.rtype, d.left
        elif d is not None:
            rtype, left = -2, 0  # unknown position: treat as application data
        kept = 0
        frozen = False  # a prefix is all that can be kept: stop at the first app data
        for _ in range(4096):  # records in one segment (bounded)
            if left:
                take = min(left, n - pos)
                if rtype in TLS_KEEP and not frozen:
                    kept = pos + take
                pos += take
                left -= take
                if pos >= n:
                    break
                continue
            if pos >= n:
                break
            if rtype == -2 or pos + 5 > n or payload[pos + 1] != 3 or \
                    payload[pos] not in (20, 21, 22, 23, 24):
                rtype, left = -2, 0  # not at a record boundary we can read
                break
            rtype = payload[pos]
            left = struct.unpack_from("!H", payload, pos + 3)[0]
            if not frozen:
                kept = pos + 5
            frozen = frozen or rtype not in TLS_KEEP
            pos += 5
        if len(self.dirs) < self.MAX or key in self.dirs:
            self.dirs[key] = _Dir((seq + n) & 0xFFFFFFFF, rtype, left if rtype != -2 else 0)
        return kept


def keep_length(linktype: int, data: bytes, whole: bool, streams: _TlsStreams,
                tls_ports: frozenset[int] = REDACT_TLS_PORTS) -> int:
    """Captured bytes to keep of one frame under --redact; of a GRE/ERSPAN or VXLAN packet,
    its headers and what is kept of the Ethernet frame it carries."""
    if whole:
        return len(data)
    i, e = inner_frame(linktype, data)
    if i >= 0:
        keep = keep_length(LINKTYPE_ETHERNET, data[i:e], False, streams, tls_ports)
        return len(data) if keep == e - i else i + keep
    ver, off, _mac, _vlan = l3(linktype, data)
    if ver == 0:
        return min(len(data), LINK_HEADER_LEN.get(linktype, 0))
    h = ip_header(data, off, ver)
    if h is None:
        return min(len(data), off)
    proto, l4, end, src, dst, _ttl, frag = h
    if frag and ver == 4 and ((data[off + 6] << 8) | data[off + 7]) & 0x1FFF:
        return l4  # a later fragment: payload only
    if proto in (ICMP, ICMPV6):
        return len(data)  # ICMP errors quote headers, which are the evidence
    if proto == UDP:
        if l4 + 8 > end:
            return len(data)
        sport, dport = struct.unpack_from("!HH", data, l4)
        payload = data[l4 + 8 : end]
        if 53 in (sport, dport) or 5353 in (sport, dport) or 69 in (sport, dport):
            return len(data)
        if len(payload) >= 4 and payload[0] == 0:
            if payload[1] in TFTP_KEEP:
                return len(data)
            if payload[1] == TFTP_DATA:
                return l4 + 8 + 4  # opcode and block number
        return l4 + 8
    if proto == TCP:
        if l4 + 20 > end:
            return len(data)
        sport, dport, seq = struct.unpack_from("!HHI", data, l4)
        hl = (data[l4 + 12] >> 4) * 4
        start = l4 + max(hl, 20)
        if start >= end:
            return min(len(data), end)
        if 53 in (sport, dport):
            return len(data)
        if sport in tls_ports or dport in tls_ports:
            return start + streams.keep((src, dst, sport, dport), seq, data[start:end])
        return start
    return l4
