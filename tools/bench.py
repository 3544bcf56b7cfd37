#!/usr/bin/env python3
"""capfcap benchmark (DESIGN §7): capfcap vs tshark vs scapy on a generated SPAN capture.

Not a timed test. It generates, deterministically (fixed seed) and cached in a temporary
directory (never committed), a SPAN capture of a voice VLAN:

* ~2 % relevant frames: phones doing TFTP trust-list/config downloads, DNS, CAPF TLS on
  3804, HTTP 6970, some failing (SYNs filtered, RST, NXDOMAIN, ITL without CAPF). The
  phone conversations are spliced from the real-implementation captures in
  `pcaps/realpeer/` (documentation addresses already), each copy moved to its own phone
  address, MAC (00:00:5e:00:53:xx, RFC 7042) and ports, with checksums recomputed;
* the rest noise: RTP on UDP 16384-32767 between other endpoints, SIP 5060, HTTP 80,
  DNS for non-CUCM names from non-phones, some over IPv6, part of it 802.1Q-tagged.

An all-relevant capture (only phone conversations), a pcapng and a .gz version are made
from the same generator. Each tool runs side by side, alternating, several times; the
table shows medians. Peak RSS is the child's `ru_maxrss` (os.wait4).

    python tools/bench.py                      # 1 M frames, 3 runs each
    python tools/bench.py --frames 20000 --runs 1 --all-frames 5000   # smoke size
    python tools/bench.py --big 10             # also RSS of capfcap on a 10x capture
    python tools/bench.py --scale --runs 1     # N phones whose requests go unanswered
    python tools/bench.py --frames 0 --all-frames 0 --bulk   # a rollout of 1,000 and
                                               # 10,000 phones (tools/bulkgen.py)
"""

from __future__ import annotations

import argparse
import compileall
import gzip
import json
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import bulkgen

ROOT = Path(__file__).resolve().parent.parent
REALPEER = ROOT / "pcaps" / "realpeer"
SEED = 20240603
FPS = 2000  # frames per second of capture time (sets the capture's duration)

# (scenario file, weight): the phone conversations that are spliced in
SCENARIOS = [
    ("S01_happy.pcap", 5),
    ("S01b_happy_tls13.pcap", 1),
    ("S02_itl_no_capf.pcap", 1),
    ("S03_dns_nxdomain.pcap", 1),
    ("S05_capf_filtered.pcap", 1),
    ("S06_capf_refused.pcap", 1),
    ("S09_http6970.pcap", 1),
]
TSHARK_FILTER = "dns || tftp || tcp.port==3804 || tcp.port==6970"

# ---------------------------------------------------------------------------------------
# pcap writing (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html)

PCAP_HDR = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
_rec = struct.Struct("<IIII")


def _read_pcap(path: Path) -> Iterator[tuple[int, bytes]]:
    """(ts in µs, frame) of a little-endian µs pcap (the realpeer files)."""
    raw = path.read_bytes()
    if raw[:4] != b"\xd4\xc3\xb2\xa1":
        raise SystemExit(f"bench: {path}: expected a little-endian microsecond pcap")
    p = 24
    while p + 16 <= len(raw):
        sec, usec, incl, _orig = _rec.unpack_from(raw, p)
        yield sec * 1_000_000 + usec, raw[p + 16 : p + 16 + incl]
        p += 16 + incl


def _csum(b: bytes) -> int:
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


@dataclass
class Template:
    name: str
    frames: list[tuple[int, bytes]]  # (µs relative to the first frame, frame)
    phone_ip: bytes
    phone_mac: bytes
    duration: int = 0


def _load_template(path: Path) -> Template:
    recs = list(_read_pcap(path))
    t0 = recs[0][0]
    phone_ip = phone_mac = b""
    for _ts, f in recs:  # the phone: source of the first DNS/TFTP/3804/6970 request
        if f[12:14] != b"\x08\x00" or len(f) < 38:
            continue
        ihl = (f[14] & 15) * 4
        dport = struct.unpack_from("!H", f, 14 + ihl + 2)[0]
        if (f[23] == 17 and dport in (53, 69)) or (f[23] == 6 and dport in (3804, 6970)):
            phone_ip, phone_mac = f[26:30], f[6:12]
            break
    if not phone_ip:
        raise SystemExit(f"bench: {path}: no phone request found")
    frames = [(ts - t0, f) for ts, f in recs]
    return Template(path.name, frames, phone_ip, phone_mac, frames[-1][0])


def _respliced(f: bytes, t: Template, ip: bytes, mac: bytes, port_off: int, vlan: int) -> bytes:
    """Move one template frame to another phone: address, MAC, phone-side ports, the MAC
    inside the phone's own requests (file names), checksums (IPv4 RFC 791, TCP/UDP
    pseudo-header RFC 793/768)."""
    old_hex = t.phone_mac.hex().upper().encode()
    new_hex = mac.hex().upper().encode()
    eth = bytearray(f[:14])
    if eth[0:6] == t.phone_mac:
        eth[0:6] = mac
    if eth[6:12] == t.phone_mac:
        eth[6:12] = mac
    if bytes(eth[12:14]) != b"\x08\x00":
        body = f[14:].replace(t.phone_ip, ip) if eth[12:14] == b"\x08\x06" else f[14:]
        return _tag(bytes(eth), body, vlan)
    ip_hdr = bytearray(f[14 : 14 + (f[14] & 15) * 4])
    l4 = bytearray(f[14 + len(ip_hdr) :])
    from_phone = ip_hdr[12:16] == t.phone_ip
    to_phone = ip_hdr[16:20] == t.phone_ip
    if from_phone:
        ip_hdr[12:16] = ip
    if to_phone:
        ip_hdr[16:20] = ip
    proto = ip_hdr[9]
    if proto in (6, 17) and len(l4) >= 8:
        sport, dport = struct.unpack_from("!HH", l4, 0)
        if from_phone and sport >= 1024:
            struct.pack_into("!H", l4, 0, 1024 + (sport - 1024 + port_off) % 60000)
        if to_phone and dport >= 1024:
            struct.pack_into("!H", l4, 2, 1024 + (dport - 1024 + port_off) % 60000)
        if from_phone:
            l4 = bytearray(bytes(l4).replace(old_hex, new_hex))
        ck = 16 if proto == 6 else 6
        if len(l4) >= ck + 2:
            total = struct.unpack_from("!H", ip_hdr, 2)[0]
            seg = l4[: total - len(ip_hdr)]
            struct.pack_into("!H", seg, ck, 0)
            pseudo = bytes(ip_hdr[12:20]) + struct.pack("!BBH", 0, proto, len(seg))
            c = _csum(pseudo + bytes(seg)) or (0xFFFF if proto == 17 else 0)
            struct.pack_into("!H", l4, ck, c)
    struct.pack_into("!H", ip_hdr, 10, 0)
    struct.pack_into("!H", ip_hdr, 10, _csum(bytes(ip_hdr)))
    return _tag(bytes(eth), bytes(ip_hdr) + bytes(l4), vlan)


def _tag(eth: bytes, body: bytes, vlan: int) -> bytes:
    if not vlan:
        return eth + body
    return eth[:12] + struct.pack("!HH", 0x8100, vlan) + eth[12:14] + body


# ---------------------------------------------------------------------------------------
# noise

def _ip4(last: int, net: int = 3) -> bytes:
    return bytes((203, 0, 113, last)) if net == 3 else bytes((198, 51, 100, last))


def _udp4(src: bytes, dst: bytes, sp: int, dp: int, payload: bytes, ident: int) -> bytes:
    ulen = 8 + len(payload)
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0xB8, 20 + ulen, ident & 0xFFFF, 0x4000, 64, 17,
                      0, src, dst)
    iph = iph[:10] + struct.pack("!H", _csum(iph)) + iph[12:]
    return iph + struct.pack("!HHHH", sp, dp, ulen, 0) + payload  # UDP checksum 0: none


def _tcp4(src: bytes, dst: bytes, sp: int, dp: int, seq: int, ack: int, flags: int,
          payload: bytes, ident: int) -> bytes:
    tlen = 20 + len(payload)
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + tlen, ident & 0xFFFF, 0x4000, 64, 6, 0,
                      src, dst)
    iph = iph[:10] + struct.pack("!H", _csum(iph)) + iph[12:]
    tcp = struct.pack("!HHIIBBHHH", sp, dp, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50, flags,
                      64240, 0, 0)
    c = _csum(src + dst + struct.pack("!BBH", 0, 6, tlen) + tcp + payload)
    return iph + tcp[:16] + struct.pack("!H", c) + tcp[18:] + payload


def _udp6(src: bytes, dst: bytes, sp: int, dp: int, payload: bytes) -> bytes:
    ulen = 8 + len(payload)
    udp = struct.pack("!HHHH", sp, dp, ulen, 0) + payload
    c = _csum(src + dst + struct.pack("!IxxxB", ulen, 17) + udp) or 0xFFFF
    return (struct.pack("!IHBB", 0x6B800000, ulen, 17, 64) + src + dst
            + udp[:6] + struct.pack("!H", c) + udp[8:])


def _eth(dst: bytes, src: bytes, etype: int, vlan: int, body: bytes) -> bytes:
    if vlan:
        return dst + src + struct.pack("!HHH", 0x8100, vlan, etype) + body
    return dst + src + struct.pack("!H", etype) + body


def _dns_query(qid: int, name: str) -> bytes:
    q = b"".join(bytes((len(p),)) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + b"\0\x01\0\x01"


def _dns_answer(qid: int, name: str, addr: bytes) -> bytes:
    q = _dns_query(qid, name)
    return (struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + q[12:]
            + b"\xc0\x0c\0\x01\0\x01\0\0\x01\x2c\0\x04" + addr)


class Noise:
    """Unrelated voice-VLAN traffic, generated second by second."""

    def __init__(self, rng: random.Random, fps: int) -> None:
        self.rng = rng
        self.ident = 0
        self.gw = bytes.fromhex("020000000201")
        # RTP calls: 50 packets/s each direction (G.711, 20 ms); ~88 % of the frames
        ncalls = max(1, int(fps * 0.88 / 100))
        self.calls = []
        for i in range(ncalls):
            a = 60 + (2 * i) % 180
            b = 61 + (2 * i) % 180
            v6 = i % 10 == 9  # every tenth call over IPv6
            self.calls.append({
                "a": a, "b": b, "v6": v6,
                "pa": 16384 + 2 * rng.randrange(8000), "pb": 16384 + 2 * rng.randrange(8000),
                "ssrc_a": rng.getrandbits(32), "ssrc_b": rng.getrandbits(32),
                "seq": rng.randrange(65536), "phase": rng.randrange(20_000),
                "vlan": 100 if i % 2 == 0 else 0,
            })
        self.rate_sip = fps * 0.04
        self.rate_http = fps * 0.06
        self.rate_dns = fps * 0.01
        self.payload = bytes(rng.getrandbits(8) for _ in range(160))

    def _mac(self, last: int) -> bytes:
        return bytes((0x02, 0, 0, 0, 0x71, last & 0xFF))

    def second(self, s: int) -> list[tuple[int, bytes]]:
        rng = self.rng
        out: list[tuple[int, bytes]] = []
        base = s * 1_000_000
        for c in self.calls:
            for k in range(50):
                t = base + c["phase"] + k * 20_000
                seq = (c["seq"] + s * 50 + k) & 0xFFFF
                ts = (s * 50 + k) * 160 & 0xFFFFFFFF
                for direction in (0, 1):
                    sa, sb = (c["a"], c["b"]) if direction == 0 else (c["b"], c["a"])
                    spt, dpt = (c["pa"], c["pb"]) if direction == 0 else (c["pb"], c["pa"])
                    ssrc = c["ssrc_a"] if direction == 0 else c["ssrc_b"]
                    rtp = struct.pack("!BBHII", 0x80, 0, seq, ts, ssrc) + self.payload
                    self.ident += 1
                    if c["v6"]:
                        src6 = b"\x20\x01\x0d\xb8" + bytes(11) + bytes((sa,))
                        dst6 = b"\x20\x01\x0d\xb8" + bytes(11) + bytes((sb,))
                        body = _udp6(src6, dst6, spt, dpt, rtp)
                        f = _eth(self._mac(sb), self._mac(sa), 0x86DD, c["vlan"], body)
                    else:
                        body = _udp4(_ip4(sa), _ip4(sb), spt, dpt, rtp, self.ident)
                        f = _eth(self._mac(sb), self._mac(sa), 0x0800, c["vlan"], body)
                    out.append((t + direction * 150, f))
        for _ in range(self._poisson(self.rate_sip)):
            t = base + rng.randrange(1_000_000)
            a = 60 + rng.randrange(190)
            msg = (f"OPTIONS sip:{a}@203.0.113.250 SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.{a}:5060"
                   f";branch=z9hG4bK{rng.getrandbits(32):08x}\r\nMax-Forwards: 70\r\n"
                   f"Call-ID: {rng.getrandbits(64):016x}\r\nCSeq: 1 OPTIONS\r\n"
                   "Content-Length: 0\r\n\r\n").encode()
            self.ident += 1
            body = _udp4(_ip4(a), _ip4(250), 5060, 5060, msg, self.ident)
            out.append((t, _eth(self.gw, self._mac(a), 0x0800, 100, body)))
        for _ in range(self._poisson(self.rate_http)):
            t = base + rng.randrange(1_000_000)
            a = 60 + rng.randrange(190)
            sp = 32768 + rng.randrange(28000)
            self.ident += 1
            if rng.random() < 0.5:
                req = b"GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n\r\n"
                body = _tcp4(_ip4(a), _ip4(80, 1), sp, 80, rng.getrandbits(32), 1, 0x18, req,
                             self.ident)
            else:
                resp = b"HTTP/1.1 200 OK\r\nContent-Length: 1200\r\n\r\n" + bytes(1200)
                body = _tcp4(_ip4(80, 1), _ip4(a), 80, sp, rng.getrandbits(32), 1, 0x18, resp,
                             self.ident)
            out.append((t, _eth(self.gw, self._mac(a), 0x0800, 0, body)))
        for _ in range(self._poisson(self.rate_dns)):
            t = base + rng.randrange(1_000_000)
            a = 60 + rng.randrange(190)
            qid = rng.getrandbits(16)
            name = f"host{rng.randrange(1000)}.example.org"
            sp = 32768 + rng.randrange(28000)
            self.ident += 1
            out.append((t, _eth(self.gw, self._mac(a), 0x0800, 0,
                                _udp4(_ip4(a), _ip4(53, 1), sp, 53, _dns_query(qid, name),
                                      self.ident))))
            out.append((t + 700, _eth(self._mac(a), self.gw, 0x0800, 0,
                                      _udp4(_ip4(53, 1), _ip4(a), 53, sp,
                                            _dns_answer(qid, name, _ip4(99, 1)), self.ident))))
        return out

    def _poisson(self, lam: float) -> int:
        # normal approximation is enough for counts per second
        return max(0, int(round(self.rng.gauss(lam, lam ** 0.5))))


# ---------------------------------------------------------------------------------------
# capture generation

@dataclass
class Capture:
    path: Path
    frames: int = 0
    relevant: int = 0
    size: int = 0
    meta: dict[str, object] = field(default_factory=dict)


def _phone_cycles(rng: random.Random, templates: list[Template], weights: list[int],
                  n_relevant: int, duration_us: int, phones: int) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    cycle = 0
    while len(out) < n_relevant:
        t = rng.choices(templates, weights)[0]
        k = cycle % phones
        ip = bytes((192, 0, 2, 100 + k % 150)) if k < 150 else bytes((198, 51, 100, k - 50))
        mac = bytes((0x00, 0x00, 0x5E, 0x00, 0x53, k & 0xFF))
        start = rng.randrange(max(1, duration_us - t.duration - 1_000_000))
        off = (cycle * 37) % 60000
        vlan = 100 if k % 2 == 0 else 0
        for rel, f in t.frames:
            out.append((start + rel, _respliced(f, t, ip, mac, off, vlan)))
        cycle += 1
    out.sort(key=lambda x: x[0])
    return out


def generate(path: Path, frames: int, relevant_frac: float, seed: int = SEED) -> Capture:
    rng = random.Random(seed)
    templates = [_load_template(REALPEER / n) for n, _w in SCENARIOS]
    weights = [w for _n, w in SCENARIOS]
    duration_us = max(2_000_000, frames * 1_000_000 // FPS)
    n_rel = int(frames * relevant_frac)
    phones = 40 if relevant_frac < 1 else 250
    rel = _phone_cycles(rng, templates, weights, n_rel, duration_us, phones)
    noise = Noise(rng, FPS) if relevant_frac < 1 else None
    t0 = 1_717_400_000  # capture start, seconds since the epoch
    tmp = path.with_suffix(".part")
    written = n_relevant = 0
    ri = 0
    with open(tmp, "wb", buffering=1 << 22) as out:
        out.write(PCAP_HDR)
        s = 0
        while written < frames:
            batch = noise.second(s) if noise is not None else []
            end = (s + 1) * 1_000_000
            while ri < len(rel) and rel[ri][0] < end:
                batch.append((rel[ri][0], rel[ri][1]))
                ri += 1
                n_relevant += 1
            batch.sort(key=lambda x: x[0])
            for ts, f in batch:
                if written >= frames:
                    break
                out.write(_rec.pack(t0 + ts // 1_000_000, ts % 1_000_000, len(f), len(f)))
                out.write(f)
                written += 1
            s += 1
            if noise is None and ri >= len(rel):
                break
    tmp.rename(path)
    return Capture(path, written, n_relevant, path.stat().st_size)


# ---------------------------------------------------------------------------------------
# scaling shapes (issue 20): N phones that each send only unanswered requests

SCALE_SHAPES = ("syn3804", "tftp-silent")
_V6_SERVER = bytes.fromhex("20010db8000000000000000000000011")  # 2001:db8::11


def _tcp6_syn(src: bytes, dst: bytes, sp: int, dp: int, seq: int) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sp, dp, seq, 0, 0x50, 0x02, 64240, 0, 0)
    c = _csum(src + dst + struct.pack("!IxxxB", len(tcp), 6) + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    return struct.pack("!IHBB", 0x60000000, len(tcp), 6, 64) + src + dst + tcp


def _tftp_rrq(name: str) -> bytes:
    """RFC 1350 §5: opcode 1, file name, NUL, mode, NUL."""
    return b"\0\x01" + name.encode() + b"\0octet\0"


def generate_scale(path: Path, shape: str, phones: int) -> Capture:
    """`phones` IPv6 phones (2001:db8:1::/48, RFC 3849) each sending only requests that
    nothing answers: a SYN to CAPF 3804 and its retransmission after the initial 1 s RTO
    (RFC 6298 §2.1; syn3804), or two RRQs for their own config file to TFTP 69, 5 s apart
    (tftp-silent). A single SYN per source and nothing else is a flood's signature
    (correlator/volume.py), not a phone's. Every phone a distinct locally administered
    MAC (RFC 7042 §2.1 documentation MACs are too few)."""
    if shape not in SCALE_SHAPES:
        raise SystemExit(f"bench: unknown shape {shape}")
    t0 = 1_717_400_000
    tmp = path.with_suffix(".part")
    n = 0
    server_mac = bytes.fromhex("020000000011")
    recs: list[tuple[int, bytes]] = []
    for k in range(phones):
        src = b"\x20\x01\x0d\xb8\x00\x01" + bytes(6) + struct.pack("!I", k + 1)
        mac = b"\x02\x5e" + struct.pack("!I", k + 1)
        sp = 49152 + k % 16000
        if shape == "syn3804":
            frames = [_eth(server_mac, mac, 0x86DD, 0,
                           _tcp6_syn(src, _V6_SERVER, sp, 3804, (k * 7919) & 0xFFFFFFFF))] * 2
            gap = 1_000_000
        else:  # the retry after the client's timeout (RFC 1350 §2)
            rrq = _tftp_rrq(f"SEP{mac.hex().upper()}.cnf.xml")
            frames = [_eth(server_mac, mac, 0x86DD, 0, _udp6(src, _V6_SERVER, sp, 69, rrq))] * 2
            gap = 5_000_000
        # one phone starts every 0.5 ms
        recs += [(k * 500 + j * gap, f) for j, f in enumerate(frames)]
    recs.sort(key=lambda r: r[0])
    with open(tmp, "wb", buffering=1 << 22) as out:
        out.write(PCAP_HDR)
        for ts, f in recs:
            out.write(_rec.pack(t0 + ts // 1_000_000, ts % 1_000_000, len(f), len(f)))
            out.write(f)
            n += 1
    tmp.rename(path)
    return Capture(path, n, n, path.stat().st_size)


def derived(src: Path, kind: str) -> Path:
    """pcapng (editcap, Wireshark's own writer) or .gz (gzip -6) of a capture."""
    if kind == "pcapng":
        dst = src.with_suffix(".pcapng")
        if not dst.exists():
            subprocess.run(["editcap", "-F", "pcapng", str(src), str(dst) + ".part"], check=True)
            os.rename(str(dst) + ".part", dst)
    else:
        dst = src.with_name(src.name + ".gz")
        if not dst.exists():
            with open(src, "rb") as fi, gzip.GzipFile(str(dst) + ".part", "wb", 6, mtime=0) as fo:
                shutil.copyfileobj(fi, fo, 1 << 22)
            os.rename(str(dst) + ".part", dst)
    return dst


def slice_pcap(src: Path, n: int) -> Path:
    dst = src.with_name(f"{src.stem}.head{n}.pcap")
    if dst.exists():
        return dst
    with open(src, "rb") as fi, open(str(dst) + ".part", "wb") as fo:
        fo.write(fi.read(24))
        for _ in range(n):
            h = fi.read(16)
            if len(h) < 16:
                break
            incl = _rec.unpack(h)[2]
            fo.write(h + fi.read(incl))
    os.rename(str(dst) + ".part", dst)
    return dst


def cached(cache: Path, name: str, frames: int, frac: float) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    p = cache / f"{name}-{frames}-s{SEED}.pcap"
    if not p.exists():
        t = time.perf_counter()
        print(f"generating {p.name} ...", file=sys.stderr, flush=True)
        generate(p, frames, frac)
        print(f"  {time.perf_counter() - t:.1f} s, {p.stat().st_size / 1e6:.1f} MB",
              file=sys.stderr, flush=True)
    return p


def count_frames(path: Path) -> int:
    with open(path, "rb") as f:
        f.seek(24)
        n = 0
        while True:
            h = f.read(16)
            if len(h) < 16:
                return n
            f.seek(_rec.unpack(h)[2], 1)
            n += 1


# ---------------------------------------------------------------------------------------
# running

SCAPY_CHILD = r"""
import sys, time, json
t0 = time.perf_counter()
from scapy.all import PcapReader, load_layer, bind_layers, TCP
load_layer("tls")
from scapy.layers.tls.record import TLS
bind_layers(TCP, TLS, dport=3804)
bind_layers(TCP, TLS, sport=3804)
t1 = time.perf_counter()
n = 0
with PcapReader(sys.argv[1]) as r:
    for p in r:
        p.summary()  # forces full dissection of lazily decoded fields
        n += 1
print(json.dumps({"frames": n, "import": t1 - t0, "loop": time.perf_counter() - t1}))
"""

# The least any Python program does per record of a classic pcap file: unpack the record
# header (pcap format: 16 bytes, ts_sec ts_frac incl_len orig_len), slice the captured
# bytes, build one tuple. No decoding, no analysis: what capfcap's per-frame path costs at
# the very least if it stays Python (`--floor`).
FLOOR_CHILD = r"""
import struct, sys
f = open(sys.argv[1], "rb")
head = f.read(24)
endian = "<" if head[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
hdr = struct.Struct(endian + "IIII")
n, rest = 0, b""
while True:
    chunk = f.read(1 << 20)
    if not chunk:
        break
    buf, pos = rest + chunk, 0
    while pos + 16 <= len(buf):
        sec, frac, incl, orig = hdr.unpack_from(buf, pos)
        if pos + 16 + incl > len(buf):
            break
        rec = (n, sec, frac, orig, buf[pos + 16 : pos + 16 + incl])
        n += 1
        pos += 16 + incl
    rest = buf[pos:]
print(n)
"""


@dataclass
class Run:
    wall: float
    rss_kb: int
    out: str = ""
    cpu: float = 0.0  # user + system seconds of the child


def timed(cmd: list[str]) -> Run:
    """Whole-process wall time and the child's own peak RSS (wait4 rusage)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert p.stdout is not None
    out = p.stdout.read()
    _pid, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    p.stdout.close()
    return Run(wall, int(ru.ru_maxrss), out.decode(errors="replace"),
               ru.ru_utime + ru.ru_stime)


def precompile() -> str:
    """Byte-compile the capfcap package `python -m capfcap` will run, as `pip install`
    does: with PYTHONDONTWRITEBYTECODE set, a source checkout would otherwise be compiled
    again on every run and the start-up timed with it."""
    where = subprocess.run([sys.executable, "-c", "import capfcap, os; "
                            "print(os.path.dirname(capfcap.__file__))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    compileall.compile_dir(where, quiet=1)
    return where


def capfcap_cmd(path: Path, outdir: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "capfcap", "analyze", str(path), "--format", "json",
            "-o", str(outdir / "report.json"), "--force", "--fail-on", "never", *extra]


def tshark_cmd(path: Path) -> list[str]:
    return ["tshark", "-r", str(path), "-n", "-d", "tcp.port==3804,tls", "-Y", TSHARK_FILTER,
            "-q"]


@dataclass
class Row:
    label: str
    frames: int
    size: int
    capfcap: list[Run] = field(default_factory=list)
    tshark: list[Run] = field(default_factory=list)
    scapy: list[tuple[float, int, float]] = field(default_factory=list)  # scaled s, rss, cpu
    floor: list[Run] = field(default_factory=list)


def bench(label: str, path: Path, frames: int, runs: int, outdir: Path, scapy_slice: int,
          do_tshark: bool, do_scapy: bool, extra: list[str], do_floor: bool = False) -> Row:
    row = Row(label, frames, path.stat().st_size)
    sl = None
    if do_scapy:
        base = path
        for suf in (".gz", ".pcapng"):
            if base.name.endswith(suf):
                base = base.with_name(base.name[: -len(suf)])
        if not base.name.endswith(".pcap"):
            base = base.with_suffix(".pcap")
        sl = slice_pcap(base, min(scapy_slice, frames))
        if path.name.endswith(".gz"):
            sl = derived(sl, "gz")
        elif path.suffix == ".pcapng":
            sl = derived(sl, "pcapng")
    for _ in range(runs):
        row.capfcap.append(timed(capfcap_cmd(path, outdir, extra)))
        if do_tshark:
            row.tshark.append(timed(tshark_cmd(path)))
        if do_floor and path.suffix == ".pcap":
            row.floor.append(timed([sys.executable, "-c", FLOOR_CHILD, str(path)]))
        if do_scapy and sl is not None:
            r = timed([sys.executable, "-c", SCAPY_CHILD, str(sl)])
            try:
                d = json.loads(r.out.strip().splitlines()[-1])
                scale = frames / max(1, d["frames"])
                more = d["loop"] * (scale - 1)
                row.scapy.append((r.wall + more, r.rss_kb, r.cpu + more))
            except (ValueError, IndexError, KeyError):
                print(f"bench: scapy run failed on {sl}", file=sys.stderr)
    return row


def _med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def table(rows: list[Row]) -> str:
    head = ("| capture | frames | MB | tool | wall s (median) | CPU s (median) | frames/s "
            "| MB/s | peak RSS MB | capfcap speed-up (wall / CPU) |")
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        mb = r.size / 1e6
        c = _med([x.wall for x in r.capfcap])
        cc = _med([x.cpu for x in r.capfcap])
        tools: list[tuple[str, float, float, float]] = [
            ("capfcap", c, cc, max((x.rss_kb for x in r.capfcap), default=0) / 1024)]
        if r.tshark:
            tools.append(("tshark -Y", _med([x.wall for x in r.tshark]),
                          _med([x.cpu for x in r.tshark]),
                          max(x.rss_kb for x in r.tshark) / 1024))
        if r.scapy:
            tools.append(("scapy PcapReader (scaled)", _med([x[0] for x in r.scapy]),
                          _med([x[2] for x in r.scapy]), max(x[1] for x in r.scapy) / 1024))
        if r.floor:
            tools.append(("Python record loop (floor)", _med([x.wall for x in r.floor]),
                          _med([x.cpu for x in r.floor]), max(x.rss_kb for x in r.floor) / 1024))
        for name, w, cpu, rss in tools:
            ratio = "—" if name == "capfcap" else f"{w / c:.1f}× / {cpu / cc:.1f}×"
            lines.append(f"| {r.label} | {r.frames:,} | {mb:.1f} | {name} | {w:.2f} | "
                         f"{cpu:.2f} | {r.frames / w:,.0f} | {mb / w:.1f} | {rss:.0f} "
                         f"| {ratio} |")
    return "\n".join(lines)


def scaling(cache: Path, sizes: list[int], runs: int, extra: list[str]) -> str:
    """Each scaling shape at each size: wall time, time per phone, peak RSS (issue 20:
    time per phone flat from 1,000 to 100,000 phones)."""
    outdir = Path(tempfile.mkdtemp(prefix="capfcap-bench-out-"))
    lines = ["| shape | phones | frames | wall s (median) | µs per phone | µs per phone "
             "net of start-up | peak RSS MB |", "|---|---|---|---|---|---|---|"]
    try:
        for shape in SCALE_SHAPES:
            base = 0.0  # start-up and a one-phone analysis, subtracted from the per-phone time
            for n in [1, *sizes]:
                p = cache / f"scale-{shape}-{n}-v2.pcap"
                if not p.exists():
                    generate_scale(p, shape, n)
                print(f"running {shape} x {n} ...", file=sys.stderr, flush=True)
                rs = [timed(capfcap_cmd(p, outdir, extra)) for _ in range(runs)]
                w = _med([r.wall for r in rs])
                rss = max(r.rss_kb for r in rs) / 1024
                if n == 1:
                    base = w
                lines.append(f"| {shape} | {n:,} | {count_frames(p):,} | {w:.2f} | "
                             f"{w / n * 1e6:,.0f} | {max(0.0, w - base) / n * 1e6:,.0f} | "
                             f"{rss:.0f} |")
    finally:
        shutil.rmtree(outdir, ignore_errors=True)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=1_000_000, help="SPAN capture size")
    ap.add_argument("--relevant", type=float, default=0.02, help="relevant fraction")
    ap.add_argument("--all-frames", type=int, default=100_000,
                    help="size of the all-relevant capture (0: skip)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scapy-slice", type=int, default=50_000)
    ap.add_argument("--no-tshark", action="store_true")
    ap.add_argument("--no-scapy", action="store_true")
    ap.add_argument("--no-variants", action="store_true", help="skip pcapng and .gz")
    ap.add_argument("--big", type=int, default=0, metavar="K",
                    help="also run capfcap once on a K-times larger capture (RSS check)")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "capfcap-bench"))
    ap.add_argument("--capfcap-arg", action="append", default=[],
                    help="extra argument for capfcap analyze (e.g. --no-fast-path)")
    ap.add_argument("--json", metavar="FILE", help="also write the raw measurements")
    ap.add_argument("--floor", action="store_true",
                    help="also time a Python loop that only reads each record (pcap rows): "
                         "the least a per-frame path in Python costs")
    ap.add_argument("--bulk", type=int, nargs="*", metavar="N",
                    help="also rows for a CUCM-side rollout capture of N phones enrolling "
                         "(tools/bulkgen.py); default sizes 1,000 10,000 (50,000 as a "
                         "memory run)")
    ap.add_argument("--scale", type=int, nargs="*", metavar="N",
                    help="only the scaling shapes (N phones each sending unanswered "
                         "requests: SYN-only to 3804, silent TFTP); default sizes 1,000 "
                         "10,000 100,000")
    a = ap.parse_args(argv)
    cache = Path(a.cache)
    cache.mkdir(parents=True, exist_ok=True)
    if a.scale is not None:
        print(f"bench: capfcap from {precompile()}", file=sys.stderr)
        print(scaling(cache, a.scale or [1_000, 10_000, 100_000], a.runs, a.capfcap_arg))
        return 0
    do_tshark = not a.no_tshark and shutil.which("tshark") is not None
    outdir = Path(tempfile.mkdtemp(prefix="capfcap-bench-out-"))
    caps: list[tuple[str, Path, int]] = []
    if a.frames:
        span = cached(cache, "span", a.frames, a.relevant)
        caps.append((f"SPAN {a.relevant:.0%} relevant, pcap", span, a.frames))
    if a.frames and not a.no_variants:
        caps.append((f"SPAN {a.relevant:.0%}, pcapng", derived(span, "pcapng"), a.frames))
        caps.append((f"SPAN {a.relevant:.0%}, pcap.gz", derived(span, "gz"), a.frames))
    if a.all_frames:
        allr = cached(cache, "allrelevant", a.all_frames, 1.0)
        caps.append(("all relevant, pcap", allr, count_frames(allr)))
    phones: dict[str, int] = {}
    for n in [] if a.bulk is None else a.bulk or [1_000, 10_000]:
        print(f"bulk capture of {n:,} phones ...", file=sys.stderr, flush=True)
        p = bulkgen.cached(cache, n)
        caps.append((f"bulk rollout {n:,} phones, pcap", p, count_frames(p)))
        phones[caps[-1][0]] = n
    print(f"bench: capfcap from {precompile()}", file=sys.stderr)
    rows = []
    try:
        for label, p, n in caps:
            print(f"running {label} ...", file=sys.stderr, flush=True)
            rows.append(bench(label, p, n, a.runs, outdir, a.scapy_slice, do_tshark,
                              not a.no_scapy, a.capfcap_arg, a.floor))
        if a.big:
            big = cached(cache, "span", a.frames * a.big, a.relevant)
            print(f"running {a.big}x capture ...", file=sys.stderr, flush=True)
            rows.append(bench(f"SPAN {a.big}× larger, pcap", big, a.frames * a.big, 1, outdir,
                              a.scapy_slice, False, False, a.capfcap_arg))
    finally:
        shutil.rmtree(outdir, ignore_errors=True)
    print(table(rows))
    print()
    for r in rows:
        c = _med([x.wall for x in r.capfcap])
        parts = [f"{r.label}: capfcap peak RSS {max(x.rss_kb for x in r.capfcap) / 1024:.0f} MB"]
        if r.tshark:
            parts.append(f"capfcap vs tshark {_med([x.wall for x in r.tshark]) / c:.1f}×")
        if r.scapy:
            parts.append(f"capfcap vs scapy {_med([x[0] for x in r.scapy]) / c:.1f}×")
        if r.tshark or r.scapy:
            parts[-1] += " (wall-clock medians)"
        if r.label in phones:
            n = phones[r.label]
            parts.append(f"per phone: capfcap {c / n * 1e3:.2f} ms" + (
                f", tshark {_med([x.wall for x in r.tshark]) / n * 1e3:.2f} ms"
                if r.tshark else ""))
        print("; ".join(parts))
    if a.json:
        with open(a.json, "w") as f:
            json.dump([{"label": r.label, "frames": r.frames, "bytes": r.size,
                        "capfcap": [(x.wall, x.rss_kb, x.cpu) for x in r.capfcap],
                        "tshark": [(x.wall, x.rss_kb, x.cpu) for x in r.tshark],
                        "scapy": r.scapy} for r in rows], f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
