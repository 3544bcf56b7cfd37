"""Test helpers: TCP payload per direction of the TLS connections in a capture.

Reads with scapy's streaming PcapReader and reassembles each direction with
capfcap.extractors.tcpstream.Reassembler, so chunks are contiguous and in order.
Also reads the ground truth of pcaps/realpeer (GROUND_TRUTH.json key_frames lines).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.utils import PcapReader

from capfcap.extractors.tcpstream import Chunk, Reassembler
from capfcap.extractors.tlsitems import TlsItem
from capfcap.extractors.tlsparse import TlsDirectionParser

REALPEER = Path(__file__).resolve().parent.parent / "pcaps" / "realpeer"


@dataclass
class Conn:
    client: tuple[str, int]
    server: tuple[str, int]
    c2s: list[Chunk] = field(default_factory=list)
    s2c: list[Chunk] = field(default_factory=list)
    r_c2s: Reassembler = field(default_factory=Reassembler)
    r_s2c: Reassembler = field(default_factory=Reassembler)


def tcp_streams(path: Path, port: int = 3804) -> list[Conn]:
    """Connections to `port`, in order of their first packet; client = side not on `port`."""
    conns: dict[tuple[tuple[str, int], tuple[str, int]], Conn] = {}
    order: list[Conn] = []
    with PcapReader(str(path)) as rd:
        for number, pkt in enumerate(rd, start=1):
            ip = pkt.getlayer(IP) or pkt.getlayer(IPv6)
            tcp = pkt.getlayer(TCP)
            if ip is None or tcp is None or port not in (tcp.sport, tcp.dport):
                continue
            src, dst = (ip.src, tcp.sport), (ip.dst, tcp.dport)
            to_server = tcp.dport == port
            key = (src, dst) if to_server else (dst, src)
            conn = conns.get(key)
            flags = int(tcp.flags)
            if conn is None or (to_server and flags & 0x12 == 0x02 and conn.c2s):
                conn = Conn(client=key[0], server=key[1])
                conns[key] = conn
                order.append(conn)
            reasm = conn.r_c2s if to_server else conn.r_s2c
            chunks = conn.c2s if to_server else conn.s2c
            if flags & 0x02:
                reasm.syn(tcp.seq)
            ts = int(pkt.time * 1_000_000_000)
            chunks.extend(reasm.add(tcp.seq, bytes(tcp.payload), number, ts))
    for c in order:
        c.c2s.extend(c.r_c2s.flush())
        c.s2c.extend(c.r_s2c.flush())
    return order


def parse_chunks(chunks: list[Chunk]) -> list[TlsItem]:
    p = TlsDirectionParser()
    out: list[TlsItem] = []
    for ch in chunks:
        out.extend(p.feed(ch.frame, ch.ts, ch.data))
    return out


def parse_conn(conn: Conn) -> tuple[list[TlsItem], list[TlsItem]]:
    """(client items, server items)."""
    return parse_chunks(conn.c2s), parse_chunks(conn.s2c)


def ground_truth() -> list[dict[str, Any]]:
    data = json.loads((REALPEER / "GROUND_TRUTH.json").read_text())
    scenarios: list[dict[str, Any]] = data["scenarios"]
    return scenarios


_CAPF_LINE = re.compile(r"^f(\d+) CAPF \S+ ([A-Z_]+)\((.*)\) (\d+) B$")
_ALERT_LINE = re.compile(r"^f(\d+) TLS (\S+?)\(\S+\) ALERT level=(\d+) desc=(\d+) (\w+)$")


def truth_capf(scn: dict[str, Any]) -> list[tuple[int, str, str, int]]:
    """(frame, command, argument text, message size) of the CAPF lines, in frame order."""
    out = []
    for line in scn["key_frames"]:
        m = _CAPF_LINE.match(line)
        if m:
            out.append((int(m[1]), m[2], m[3], int(m[4])))
    return sorted(out)


def truth_alerts(scn: dict[str, Any]) -> list[tuple[int, str, int, int, str]]:
    """(frame, sender host label, level, description, name) of the ALERT lines."""
    out = []
    for line in scn["key_frames"]:
        m = _ALERT_LINE.match(line)
        if m:
            out.append((int(m[1]), m[2], int(m[3]), int(m[4]), m[5]))
    return out
