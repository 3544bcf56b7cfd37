#!/usr/bin/env python3
"""Rebuild pcaps/damaged/: a deterministic corpus of damaged captures.

Every file is derived from the real captures in pcaps/realpeer by editing bytes in a
documented way (no randomness except `random.Random(seed)` with fixed seeds), so the
same command always writes the same bytes:

    python tools/gen_damaged.py            # writes pcaps/damaged/*, README.md, manifest.json
    python tools/gen_damaged.py --check    # fails if the committed files differ

Formats edited here:
  pcap   https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html
         24-byte file header (magic, version, thiszone, sigfigs, snaplen, linktype),
         16-byte record header (ts_sec, ts_frac, incl_len, orig_len).
  pcapng https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html
         block = type(4) total_length(4) body total_length(4); EPB body =
         interface_id(4) ts_high(4) ts_low(4) captured_len(4) original_len(4) data.

`manifest.json` holds, per file, what the tests in tests/test_damaged.py expect: the
allowed exit statuses, the number of frames that must still be read ("packets"), the
source capture and the length of its undamaged prefix (whose findings must survive), and
a pattern the one-line stderr message must match.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import struct
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "pcaps" / "realpeer"
OUT = ROOT / "pcaps" / "damaged"

OFFSET_RE = r"(byte \d+|frame \d+)"


# -- pcap -----------------------------------------------------------------------------
@dataclass
class Pcap:
    header: bytes  # 24 bytes, little-endian microsecond pcap in every source used here
    records: list[tuple[bytes, bytes]]  # (16-byte record header, frame bytes)

    @classmethod
    def read(cls, path: Path) -> Pcap:
        b = path.read_bytes()
        assert b[:4] == b"\xd4\xc3\xb2\xa1", f"{path}: expected a little-endian usec pcap"
        recs = []
        p = 24
        while p + 16 <= len(b):
            incl = struct.unpack_from("<I", b, p + 8)[0]
            recs.append((b[p : p + 16], b[p + 16 : p + 16 + incl]))
            p += 16 + incl
        return cls(b[:24], recs)

    def to_bytes(self) -> bytes:
        return self.header + b"".join(h + d for h, d in self.records)

    def offset_of(self, frame: int) -> int:
        """Byte offset of the record header of 1-based `frame`."""
        return 24 + sum(16 + len(d) for _h, d in self.records[: frame - 1])

    def with_linktype(self, lt: int) -> bytes:
        return self.header[:20] + struct.pack("<I", lt) + b"".join(h + d for h, d in self.records)


def rec_header(ts_sec: int, ts_usec: int, incl: int, orig: int) -> bytes:
    return struct.pack("<IIII", ts_sec, ts_usec, incl, orig)


def cut_frame(hdr: bytes, data: bytes, caplen: int) -> tuple[bytes, bytes]:
    """Keep the first `caplen` bytes, as a capture with a smaller snaplen would."""
    sec, usec, _incl, orig = struct.unpack("<IIII", hdr)
    return rec_header(sec, usec, min(caplen, len(data)), orig), data[:caplen]


# -- pcapng ---------------------------------------------------------------------------
def pcapng_blocks(path: Path) -> list[bytes]:
    b = path.read_bytes()
    out = []
    p = 0
    while p + 12 <= len(b):
        blen = struct.unpack_from("<I", b, p + 4)[0]
        out.append(b[p : p + blen])
        p += blen
    return out


def block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def idb(linktype: int, snaplen: int = 262144) -> bytes:
    return block(1, struct.pack("<HHI", linktype, 0, snaplen))


def epb(iface: int, ts_us: int, data: bytes, orig: int | None = None) -> bytes:
    return block(6, struct.pack("<IIIII", iface, ts_us >> 32, ts_us & 0xFFFFFFFF,
                                len(data), len(data) if orig is None else orig) + data)


# -- payload location (Ethernet II, optional 802.1Q, IPv4/IPv6, TCP/UDP) ---------------
@dataclass
class L4:
    proto: str  # "tcp" | "udp"
    sport: int
    dport: int
    start: int  # payload offset in the frame
    end: int


def l4(data: bytes) -> L4 | None:
    if len(data) < 14:
        return None
    et = struct.unpack_from("!H", data, 12)[0]
    off = 14
    if et == 0x8100:
        et = struct.unpack_from("!H", data, 16)[0]
        off = 18
    if et == 0x0800:
        ihl = (data[off] & 0x0F) * 4
        total = struct.unpack_from("!H", data, off + 2)[0]
        proto = data[off + 9]
        p, end = off + ihl, min(len(data), off + total)
    elif et == 0x86DD:
        plen = struct.unpack_from("!H", data, off + 4)[0]
        proto = data[off + 6]
        p, end = off + 40, min(len(data), off + 40 + plen)
    else:
        return None
    if proto == 17:
        sport, dport = struct.unpack_from("!HH", data, p)
        return L4("udp", sport, dport, p + 8, end)
    if proto == 6:
        sport, dport = struct.unpack_from("!HH", data, p)
        doff = (data[p + 12] >> 4) * 4
        return L4("tcp", sport, dport, p + doff, end)
    return None


def classify(pc: Pcap) -> dict[str, list[tuple[int, int, int]]]:
    """Payload byte ranges (frame index, start, end) per protocol the tool reads.

    dns: UDP port 53; tftp: every other UDP datagram (RRQ on 69, then the ephemeral
    transfer ports); itl: the data part (after the 4-byte opcode+block header, RFC 1350)
    of TFTP DATA packets of a transfer whose RRQ named a .tlv file; http: TCP 6970;
    tls: TCP 3804 / 2445.
    """
    kinds = ("dns", "tftp", "itl", "http", "tls")
    out: dict[str, list[tuple[int, int, int]]] = {k: [] for k in kinds}
    tlv_clients: set[int] = set()  # client ports of RRQs for .tlv files
    for i, (_h, d) in enumerate(pc.records):
        x = l4(d)
        if x is None or x.end <= x.start:
            continue
        pay = d[x.start : x.end]
        if x.proto == "udp":
            if 53 in (x.sport, x.dport):
                out["dns"].append((i, x.start, x.end))
                continue
            out["tftp"].append((i, x.start, x.end))
            if x.dport == 69 and pay[:2] == b"\0\1":
                name = pay[2:].split(b"\0", 1)[0]
                if name.lower().endswith(b".tlv"):
                    tlv_clients.add(x.sport)
            elif pay[:2] == b"\0\3" and x.dport in tlv_clients and len(pay) > 4:
                out["itl"].append((i, x.start + 4, x.end))
        elif 6970 in (x.sport, x.dport):
            out["http"].append((i, x.start, x.end))
        elif {3804, 2445} & {x.sport, x.dport}:
            out["tls"].append((i, x.start, x.end))
    return out


def flip_bits(pc: Pcap, ranges: list[tuple[int, int, int]], nflips: int, seed: int
              ) -> tuple[Pcap, list[int]]:
    """Flip `nflips` bits at positions drawn uniformly from the payload ranges."""
    rng = random.Random(seed)
    total = sum(e - s for _i, s, e in ranges)
    recs = [(h, bytearray(d)) for h, d in pc.records]
    frames: set[int] = set()
    for _ in range(nflips):
        k = rng.randrange(total)
        for i, s, e in ranges:
            if k < e - s:
                recs[i][1][s + k] ^= 1 << rng.randrange(8)
                frames.add(i + 1)
                break
            k -= e - s
    return Pcap(pc.header, [(h, bytes(d)) for h, d in recs]), sorted(frames)


# -- corpus ---------------------------------------------------------------------------
@dataclass
class Entry:
    name: str
    data: bytes
    what: str
    status: list[int]
    packets: int | None  # frames that must be read
    source: str = ""  # realpeer capture the prefix comes from
    prefix: int = 0  # undamaged prefix length whose findings must survive
    stderr: str = ""  # regex the stderr must match ("" = stderr may be empty)
    args: list[str] = field(default_factory=list)


# a flipped ClientHello random leaves the key log nothing to decrypt: said once on stderr
KEYLOG_UNUSED_RE = r"^$|--keylog: .* decrypted none of the \d+ TLS application records"
DAMAGE = [5]  # exit status for damaged or unreadable input (capfcap.exitcodes.BAD_INPUT)
ANALYSED = [0, 3, 4]  # exit statuses of a completed analysis (by worst finding)


def corpus() -> list[Entry]:
    s01 = Pcap.read(REAL / "S01_happy.pcap")
    s01b = s01.to_bytes()
    ng = pcapng_blocks(REAL / "S01_happy.pcapng")
    ngb = b"".join(ng)
    n01 = len(s01.records)
    src = "pcaps/realpeer/S01_happy.pcap"
    e: list[Entry] = []

    def add(*a: object, **k: object) -> None:
        e.append(Entry(*a, **k))  # type: ignore[arg-type]

    # --- truncation --------------------------------------------------------------
    add("pcap_trunc_file_header.pcap", s01b[:10],
        "classic pcap cut 10 bytes into its 24-byte file header", DAMAGE, 0,
        stderr=OFFSET_RE)
    add("empty.pcap", b"", "a zero-byte file", DAMAGE, 0, stderr=r"\d+ bytes|byte \d+")
    off = s01.offset_of(41)
    add("pcap_trunc_record_header.pcap", s01b[: off + 7],
        "S01 cut 7 bytes into the 16-byte record header of frame 41", DAMAGE, 40, src, 40,
        OFFSET_RE)
    off = s01.offset_of(64)
    add("pcap_trunc_mid_record.pcap", s01b[: off + 16 + 700],
        "S01 cut 700 bytes into frame 64 (the server's TLS Certificate flight)", DAMAGE, 63,
        src, 63, OFFSET_RE)
    add("pcap_trunc_last_record.pcap", s01b[:-5],
        "S01 with the last 5 bytes of its final frame missing (a ring file cut at the end)",
        DAMAGE, n01 - 1, src, n01 - 1, OFFSET_RE)
    add("pcapng_trunc_shb.pcapng", ngb[:20],
        "pcapng cut inside its Section Header Block", DAMAGE, 0, stderr=OFFSET_RE)
    # blocks: SHB, IDB, then one EPB per frame
    off = sum(len(b) for b in ng[:2 + 49])
    add("pcapng_trunc_block.pcapng", ngb[: off + 40],
        "S01 pcapng cut 40 bytes into the EPB of frame 50", DAMAGE, 49, src, 49, OFFSET_RE)
    add("pcapng_trunc_block_header.pcapng", ngb[: off + 6],
        "S01 pcapng cut 6 bytes into the block header of frame 50", DAMAGE, 49, src, 49,
        OFFSET_RE)
    gz = gzip.compress(s01b, mtime=0)
    add("gzip_truncated.pcap.gz", gz[: len(gz) // 2],
        "S01 gzip-compressed, the compressed stream cut in half", DAMAGE, None, src, 0,
        OFFSET_RE)

    # --- not a capture -----------------------------------------------------------
    add("bad_magic.pcap", b"\x00\x01\x02\x03" + s01b[4:],
        "S01 with its magic number replaced by 00010203", DAMAGE, 0, stderr=OFFSET_RE)
    add("text_file.pcap", b"GET /SEP0023AB12CD34.cnf.xml HTTP/1.1\r\nHost: 198.51.100.11\r\n\r\n",
        "an HTTP request saved with a .pcap name", DAMAGE, 0, stderr=OFFSET_RE)
    add("pcapng_bad_byte_order.pcapng", ngb[:8] + b"\x11\x22\x33\x44" + ngb[12:],
        "pcapng whose section header has a byte-order magic that is neither order",
        DAMAGE, 0, stderr=OFFSET_RE)

    # --- lengths that lie ----------------------------------------------------------
    recs = list(s01.records)
    h, d = recs[29]
    recs[29] = (h[:8] + struct.pack("<I", 0xFFFFFFF0) + h[12:], d)
    add("pcap_caplen_4gib.pcap", Pcap(s01.header, recs).to_bytes(),
        "S01 whose frame 30 record header claims incl_len 0xFFFFFFF0 (4 GiB)", DAMAGE, 29,
        src, 29, OFFSET_RE)
    recs = list(s01.records)
    h, d = recs[29]
    recs[29] = (h[:8] + struct.pack("<I", 12 << 20) + h[12:], d)
    add("pcap_caplen_12mib.pcap", Pcap(s01.header, recs).to_bytes(),
        "S01 whose frame 30 claims 12 MiB (under the reader's per-frame cap, more than the "
        "file holds)", DAMAGE, 29, src, 29, OFFSET_RE)
    blk = ng[2 + 29]
    bad = blk[:4] + struct.pack("<I", 0xFFFFFFF0) + blk[8:]
    add("pcapng_blocklen_4gib.pcapng", b"".join(ng[: 2 + 29]) + bad + b"".join(ng[2 + 30:]),
        "S01 pcapng whose frame 30 EPB claims a total length of 0xFFFFFFF0", DAMAGE, 29, src,
        29, OFFSET_RE)
    bad = blk[:20] + struct.pack("<I", 0x7FFFFFF0) + blk[24:]
    add("pcapng_caplen_2gib.pcapng", b"".join(ng[: 2 + 29]) + bad + b"".join(ng[2 + 30:]),
        "S01 pcapng whose frame 30 EPB claims 2 GiB captured inside a small block", DAMAGE,
        29, src, 29, OFFSET_RE)
    shb = ng[0]
    add("pcapng_shb_len_4gib.pcapng", shb[:4] + struct.pack("<I", 0xFFFFFFF0) + shb[8:]
        + b"".join(ng[1:]), "pcapng whose Section Header Block claims 4 GiB", DAMAGE, 0,
        stderr=OFFSET_RE)

    # --- snaplen-cut frames (caplen < orig_len): read, analysed, never damage ----------
    recs = list(s01.records)
    recs[19] = cut_frame(*recs[19], 100)  # TFTP DATA block 7 of ITLFile.tlv
    add("snaplen_tftp_data.pcap", Pcap(s01.header, recs).to_bytes(),
        "S01 with frame 20 (TFTP DATA block 7 of ITLFile.tlv) cut to 100 of 558 bytes",
        ANALYSED, n01, src, 19, r"snap length \(first: frame 20\)")
    recs = list(s01.records)
    recs[63] = cut_frame(*recs[63], 600)  # Server Hello, Certificate, ...
    add("snaplen_tls_certificate.pcap", Pcap(s01.header, recs).to_bytes(),
        "S01 with frame 64 (ServerHello + Certificate) cut to 600 of 1451 bytes",
        ANALYSED, n01, src, 63, r"snap length \(first: frame 64\)")
    recs = [cut_frame(h, d, 96) for h, d in s01.records]
    hdr = s01.header[:16] + struct.pack("<I", 96) + s01.header[20:]
    add("snaplen_96_all.pcap", Pcap(hdr, recs).to_bytes(),
        "S01 as `tcpdump -s 96` would have written it: every frame cut to 96 bytes",
        ANALYSED, n01, stderr=r"36 frames cut short .* \(first: frame 8\)")

    # --- zero-length frames ----------------------------------------------------------
    recs = []
    for i, (h, d) in enumerate(s01.records):
        recs.append((h, d))
        if i + 1 in (10, 40, 70):
            sec, usec = struct.unpack_from("<II", h)
            recs.append((rec_header(sec, usec, 0, 0), b""))
    add("zero_length_frames.pcap", Pcap(s01.header, recs).to_bytes(),
        "S01 with a zero-length record (incl_len = orig_len = 0) after frames 10, 40 and 70",
        ANALYSED, n01 + 3, src, 10)
    recs = [(rec_header(1_700_000_000 + i, 0, 0, 60), b"") for i in range(5)]
    add("zero_length_only.pcap", Pcap(s01.header, recs).to_bytes(),
        "five zero-length records (caplen 0, original length 60) and nothing else",
        [0], 5, stderr=r"5 frames cut short .* \(first: frame 1\)")

    # --- link types ----------------------------------------------------------------
    add("linktype_147_user0.pcap", s01.with_linktype(147),
        "S01's frames under link type 147 (USER0, private use)", DAMAGE, n01,
        stderr=r"link type 147 .*not supported.* 82 frames")
    add("linktype_105_ieee80211.pcap", s01.with_linktype(105),
        "S01's frames under link type 105 (IEEE 802.11)", DAMAGE, n01,
        stderr=r"link type 105 .*not supported.* 82 frames")
    extra = [epb(1, 1_764_178_920_000_000 + i, bytes(range(40))) for i in range(3)]
    mixed = ng[:2] + [idb(147)] + ng[2:12] + extra + ng[12:]
    add("pcapng_mixed_linktypes.pcapng", b"".join(mixed),
        "S01 pcapng plus a second interface (link type 147) carrying 3 frames after frame 10",
        ANALYSED, n01 + 3, stderr=r"link type 147 .*not supported.* 3 frames")

    # --- pcapng block structure ------------------------------------------------------
    unknown = block(0x00000BAD, b"not a block type any reader knows" + bytes(31))
    add("pcapng_unknown_block.pcapng", b"".join(ng[:12]) + unknown + b"".join(ng[12:]),
        "S01 pcapng with a Custom Block (type 0x00000BAD) between frames 10 and 11; "
        "Wireshark numbers it frame 11, so S01's frames 11-82 are 12-83 here",
        ANALYSED, n01, src, 10)
    blk = ng[2 + 44]
    bad = blk[:-4] + struct.pack("<I", len(blk) + 4)
    add("pcapng_bad_trailer.pcapng", b"".join(ng[: 2 + 44]) + bad + b"".join(ng[2 + 45:]),
        "S01 pcapng whose frame 45 EPB ends with a trailing length 4 more than its header",
        DAMAGE, 44, src, 44, OFFSET_RE)
    blk = ng[2 + 60]
    bad = blk[:8] + struct.pack("<I", 7) + blk[12:]
    add("pcapng_iface_out_of_range.pcapng", b"".join(ng[: 2 + 60]) + bad + b"".join(ng[2 + 61:]),
        "S01 pcapng whose frame 61 EPB names interface 7 (only interface 0 exists)", DAMAGE,
        60, src, 60, OFFSET_RE)
    add("pcapng_no_idb.pcapng", ng[0] + b"".join(ng[2:]),
        "S01 pcapng without its Interface Description Block", DAMAGE, 0, stderr=OFFSET_RE)

    # --- timestamps ----------------------------------------------------------------
    recs = []
    for i, (h, d) in enumerate(s01.records):
        sec, usec, incl, orig = struct.unpack("<IIII", h)
        if 30 <= i + 1 <= 60:
            sec -= 3600  # one hour back
        if i + 1 == 70:
            sec, usec = 0, 0  # 1970
        recs.append((rec_header(sec, usec, incl, orig), d))
    add("non_monotonic_timestamps.pcap", Pcap(s01.header, recs).to_bytes(),
        "S01 with frames 30-60 stamped one hour earlier and frame 70 stamped 1970-01-01",
        ANALYSED, n01)

    # --- crafted hostile payloads ------------------------------------------------------
    recs = list(s01.records)
    h, d = recs[57]  # DNS response A pub.cucm.example
    x = l4(d)
    assert x is not None
    # RFC 1035 §4.1.4: answer name replaced by a pointer to itself (0xC000 | offset)
    dns = bytearray(d[x.start : x.end])
    qend = 12 + dns[12:].index(b"\0") + 5
    dns[qend : qend + 2] = struct.pack("!H", 0xC000 | qend)
    recs[57] = (h, d[: x.start] + bytes(dns) + d[x.end :])
    add("dns_pointer_loop.pcap", Pcap(s01.header, recs).to_bytes(),
        "S01 whose DNS answer (frame 58) names itself with a compression pointer (a loop)",
        ANALYSED, n01, src, 57)
    recs = list(s01.records)
    h, d = recs[63]
    x = l4(d)
    assert x is not None
    # RFC 5246 §6.2.1: record length (bytes 3-4 of the record header) set to 0xFFFF
    recs[63] = (h, d[: x.start + 3] + b"\xff\xff" + d[x.start + 5 :])
    add("tls_record_len_lie.pcap", Pcap(s01.header, recs).to_bytes(),
        "S01 whose first server TLS record (frame 64) claims 65535 bytes", ANALYSED, n01,
        src, 63)
    recs = list(s01.records)
    for i in range(7, 42, 2):  # ITLFile.tlv DATA packets: every block number = 1
        h, d = recs[i]
        x = l4(d)
        assert x is not None and d[x.start : x.start + 2] == b"\0\3"
        recs[i] = (h, d[: x.start + 2] + b"\0\1" + d[x.start + 4 :])
    add("tftp_block_numbers_stuck.pcap", Pcap(s01.header, recs).to_bytes(),
        "S01 whose ITLFile.tlv DATA packets (frames 8-42) all say block 1", ANALYSED, n01,
        src, 7)

    # --- random bit flips inside the payloads of each protocol ----------------------------
    plan = [
        ("S01_happy", ["dns", "tftp", "itl", "tls"]),
        ("S09_http6970", ["http", "tls"]),
        ("S11_two_tftp_itl_mismatch", ["tftp", "itl", "tls"]),
        ("S13_ipv6_relay", ["dns", "tls"]),
    ]
    for scn, protos in plan:
        pc = Pcap.read(REAL / f"{scn}.pcap")
        ranges = classify(pc)
        keylog = REAL / "keylogs" / f"{scn}.keylog"
        for proto in protos:
            assert ranges[proto], f"{scn}: no {proto} payload"
            for label, nflips in (("few", 3), ("many", 48)):
                seed = zlib.crc32(f"{scn}/{proto}/{label}".encode())
                out, frames = flip_bits(pc, ranges[proto], nflips, seed)
                add(f"flip_{scn.split('_')[0]}_{proto}_{label}.pcap", out.to_bytes(),
                    f"{scn}: {nflips} random bit flips (seed {seed}) in {proto} payloads, "
                    f"frames {', '.join(map(str, frames))}", ANALYSED, len(pc.records),
                    f"pcaps/realpeer/{scn}.pcap", frames[0] - 1,
                    args=["--keylog", str(keylog.relative_to(ROOT))]
                    if proto == "tls" and keylog.exists() else [],
                    stderr=KEYLOG_UNUSED_RE if proto == "tls" else "")
    return e


def readme(entries: list[Entry]) -> str:
    lines = [
        "# pcaps/damaged: hostile and broken captures",
        "",
        "Generated by `python tools/gen_damaged.py` from the real captures in",
        "`pcaps/realpeer` (deterministic: fixed seeds, no timestamps of the run). Do not",
        "edit by hand; change the generator and rerun it. `manifest.json` holds what",
        "`tests/test_damaged.py` expects of each file.",
        "",
        "Exit statuses: 5 = damaged or unreadable input (the report still covers every",
        "frame before the damage); 0/3/4 = the capture was read to its end and analysed.",
        "\"packets\" is the number of frames capfcap must still read; \"prefix\" is the",
        "number of leading frames left untouched, whose findings must survive.",
        "",
        "| file | damage | exit | packets | prefix |",
        "| --- | --- | --- | --- | --- |",
    ]
    for x in entries:
        pk = "-" if x.packets is None else str(x.packets)
        lines.append(f"| `{x.name}` | {x.what} | {'/'.join(map(str, x.status))} | {pk} | "
                     f"{x.prefix if x.source else '-'} |")
    lines += ["", "Bit-flip files (`flip_*`) flip bits only inside the payloads of one",
              "protocol: DNS (UDP 53), TFTP (every other UDP datagram: RRQ, DATA, ACK,",
              "ERROR), ITL (the file bytes inside TFTP DATA packets of a `.tlv` transfer),",
              "HTTP (TCP 6970) and TLS (TCP 3804). TLS variants run with the scenario's",
              "key log so the decryption path sees the damage too.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare instead of writing")
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    entries = corpus()
    files = {x.name: x.data for x in entries}
    files["README.md"] = readme(entries).encode()
    manifest = [{k: v for k, v in vars(x).items() if k != "data"} for x in entries]
    files["manifest.json"] = (json.dumps(manifest, indent=1) + "\n").encode()
    if a.check:
        bad = [n for n, b in files.items()
               if not (a.out / n).exists() or (a.out / n).read_bytes() != b]
        for n in bad:
            print(f"differs: {n}", file=sys.stderr)
        return 1 if bad else 0
    a.out.mkdir(parents=True, exist_ok=True)
    for n, b in files.items():
        (a.out / n).write_bytes(b)
    print(f"wrote {len(entries)} captures to {a.out} "
          f"({sum(len(x.data) for x in entries) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
