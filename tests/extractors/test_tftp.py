"""TftpExtractor on the real-peer captures, against tshark's carving, and synthetic edges."""

from __future__ import annotations

import collections
import hashlib
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capfcap.decode import Packet, Prefilter, decode
from capfcap.events import FileTransfer
from capfcap.extractors import tftp as tftp_mod
from capfcap.extractors import tftptid
from capfcap.extractors.tftp import TftpExtractor
from capfcap.extractors.tftpwire import BlockCounter, parse_request
from capfcap.sources.inputs import InputSet, frames

ROOT = Path(__file__).resolve().parents[2]
REALPEER = ROOT / "pcaps" / "realpeer"
SYNTH = ROOT / "pcaps" / "synthetic"
TFTP_SYNTH = sorted(p.name for p in SYNTH.glob("tftp_*.pcap"))
ITL_GOOD = REALPEER / "data" / "itl" / "ITL_good.tlv"
ITL_SUB = REALPEER / "data" / "itl" / "ITL_sub.tlv"
CAPTURES = sorted(p.name for p in REALPEER.glob("*.pcap*"))


def run_capture(path: Path, pf: Prefilter | None = None) -> list[FileTransfer]:
    pf = pf if pf is not None else Prefilter()
    x = TftpExtractor(pf)
    out = []
    for fr in frames([str(path)], InputSet()):
        pkt = decode(fr, pf)
        if pkt is None:
            continue
        out += x.feed(pkt)
        out += x.expire(pkt.ts)
    out += x.finish()
    assert all(isinstance(e, FileTransfer) for e in out)
    return out


def by_name(events: list[FileTransfer]) -> dict[str, list[FileTransfer]]:
    d: dict[str, list[FileTransfer]] = collections.defaultdict(list)
    for e in events:
        d[e.filename].append(e)
    return d


def sha(b: bytes | None) -> str:
    assert b is not None
    return hashlib.sha256(b).hexdigest()


# ---- real captures -----------------------------------------------------------------------


def test_s01_itl_transfer_complete() -> None:
    ev = by_name(run_capture(REALPEER / "S01_happy.pcap"))
    (itl,) = ev["ITLFile.tlv"]
    assert itl.protocol == "tftp" and itl.status == "complete"
    assert itl.size == 9054 and len(itl.data or b"") == 9054
    assert sha(itl.data).startswith("13c44f80ca0cd5dc")
    assert itl.data == ITL_GOOD.read_bytes()
    assert itl.request_frames == (7,)
    assert set(range(8, 43, 2)) <= set(itl.frames)  # the 18 DATA frames
    assert itl.frames[0] == 7 and max(itl.frames) in (42, 43)
    assert itl.server_port == 69 and itl.client_port and itl.data_port
    assert itl.data_port != 69 and itl.client == "192.0.2.21" and itl.server == "198.51.100.11"
    assert itl.acked_unseen_blocks == 0 and "duplicate" not in itl.note


def test_s01_missing_trust_lists_are_errors() -> None:
    ev = by_name(run_capture(REALPEER / "S01_happy.pcap"))
    for name, req, err in (("CTLSEP0023AB12CD34.tlv", 3, 4), ("ITLSEP0023AB12CD34.tlv", 5, 6)):
        (t,) = ev[name]
        assert t.status == "error"
        assert t.error_code == 1 and t.error_message == "File not found"
        assert t.request_frames == (req,) and t.frames == (req, err)
        assert t.data is None and t.size == 0


def test_s01_config() -> None:
    ev = by_name(run_capture(REALPEER / "S01_happy.pcap"))
    (cfg,) = ev["SEP0023AB12CD34.cnf.xml"]
    assert cfg.status == "complete" and cfg.size == 2672
    assert cfg.data is not None and cfg.data.startswith(b"<")
    assert cfg.request_frames == (44,) and set(range(45, 56, 2)) <= set(cfg.frames)


@pytest.mark.parametrize("name", CAPTURES)
def test_prefilter_fast_path_changes_nothing(name: str) -> None:
    fast = run_capture(REALPEER / name, Prefilter())
    slow = run_capture(REALPEER / name, Prefilter(enabled=False))
    assert fast == slow and fast


def test_prefilter_port_added_while_open_and_removed_after() -> None:
    pf = Prefilter()
    x = TftpExtractor(pf)
    x.feed(_rrq(1, 0, "a.bin", port=40000))
    assert 40000 in pf.tftp_ports
    x.finish()
    assert 40000 not in pf.tftp_ports


def test_s08_one_sided_acks_of_unseen_data() -> None:
    ev = by_name(run_capture(REALPEER / "S08_asymmetric_capture.pcap"))
    (itl,) = ev["ITLFile.tlv"]
    (cfg,) = ev["SEP0023AB12CD34.cnf.xml"]
    assert itl.acked_unseen_blocks == 18 and cfg.acked_unseen_blocks == 6
    assert itl.unseen_blocks == tuple(range(1, 19)) and cfg.unseen_blocks == tuple(range(1, 7))
    # the phone ACKed all 18 blocks once and went on to its config: complete for it
    assert itl.status == "complete_gaps" and "ACK 18 taken as the last" in itl.note
    # the capture ends soon after the config's last ACK: nothing shows the phone was done
    assert cfg.status == "incomplete"
    for t in (itl, cfg):
        assert t.data is None and t.size == 0
        assert t.data_port != 0  # learned from the destination of the client's ACKs
    assert itl.request_frames == (4,) and itl.frames == tuple(range(4, 23))
    for name in ("CTLSEP0023AB12CD34.tlv", "ITLSEP0023AB12CD34.tlv"):
        (t,) = ev[name]
        assert t.status == "no_response" and t.acked_unseen_blocks == 0


def test_s09_tftp_fallback_errors() -> None:
    ev = run_capture(REALPEER / "S09_http6970.pcap")
    assert sorted((e.request_frames, e.status, e.error_code) for e in ev) == [
        ((15,), "error", 1),
        ((29,), "error", 1),
    ]


def test_s11_two_servers_two_itls() -> None:
    itls = by_name(run_capture(REALPEER / "S11_two_tftp_itl_mismatch.pcap"))["ITLFile.tlv"]
    assert len(itls) == 2 and all(t.status == "complete" for t in itls)
    assert {t.server for t in itls} == {"198.51.100.11", "198.51.100.12"}
    by_server = {t.server: t for t in itls}
    assert by_server["198.51.100.11"].data == ITL_GOOD.read_bytes()
    assert by_server["198.51.100.12"].data == ITL_SUB.read_bytes()
    assert by_server["198.51.100.12"].size == 9053
    assert by_server["198.51.100.12"].request_frames == (89,)


@pytest.mark.tshark
@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("name", CAPTURES)
def test_carving_matches_tshark(name: str, tmp_path: Path) -> None:
    out = tmp_path / "objects"
    out.mkdir()
    subprocess.run(
        ["tshark", "-r", str(REALPEER / name), "-q", "--export-objects", f"tftp,{out}"],
        check=True,
        capture_output=True,
    )
    theirs = collections.Counter(
        (re.sub(r"\(\d+\)(?=\.[^.]*$|$)", "", p.name), p.read_bytes()) for p in out.iterdir()
    )
    ours = collections.Counter(
        (e.filename, e.data) for e in run_capture(REALPEER / name) if e.status == "complete"
    )
    assert ours == theirs


# ---- synthetic packets -------------------------------------------------------------------

CLIENT, SERVER, CPORT, TID = "192.0.2.50", "198.51.100.5", 50000, 61000


def _pkt(frame: int, src: str, sport: int, dst: str, dport: int, payload: bytes) -> Packet:
    return Packet(
        frame=frame,
        ts=frame * 1_000_000,
        src_mac="",
        ip_version=4,
        src=src,
        dst=dst,
        ttl=64,
        proto=17,
        sport=sport,
        dport=dport,
        payload=payload,
    )


def _rrq(frame: int, _ts: int, name: str, port: int = CPORT, opts: bytes = b"") -> Packet:
    return _pkt(frame, CLIENT, port, SERVER, 69, b"\x00\x01" + name.encode() + b"\0octet\0" + opts)


def _data(frame: int, block: int, body: bytes, tid: int = TID, port: int = CPORT) -> Packet:
    return _pkt(frame, SERVER, tid, CLIENT, port, struct.pack("!HH", 3, block & 0xFFFF) + body)


def _ack(frame: int, block: int, tid: int = TID, port: int = CPORT) -> Packet:
    return _pkt(frame, CLIENT, port, SERVER, tid, struct.pack("!HH", 4, block & 0xFFFF))


def _error(frame: int, code: int, msg: bytes, tid: int = TID) -> Packet:
    return _pkt(frame, SERVER, tid, CLIENT, CPORT, struct.pack("!HH", 5, code) + msg + b"\0")


def _feed(x: TftpExtractor, pkts: list[Packet]) -> list[FileTransfer]:
    out: list[FileTransfer] = []
    for p in pkts:
        out += x.feed(p)
    return out


def test_parse_request_options() -> None:
    op, name, mode, opts = parse_request(
        b"\x00\x01SEP1.cnf.xml\x00OCTET\x00BLKSIZE\x001428\x00tsize\x000\x00"
    )
    assert (op, name, mode) == (1, "SEP1.cnf.xml", "octet")
    assert opts == (("blksize", "1428"), ("tsize", "0"))


def test_oack_blksize_1428() -> None:
    body = bytes(range(256)) * 12  # 3072 bytes: 1428 + 1428 + 216
    x = TftpExtractor()
    oack = _pkt(2, SERVER, TID, CLIENT, CPORT, b"\x00\x06blksize\x001428\x00tsize\x003072\x00")
    pkts = [
        _rrq(1, 0, "ITLFile.tlv", opts=b"blksize\x001428\x00tsize\x000\x00"),
        oack,
        _ack(3, 0),
        _data(4, 1, body[:1428]),
        _ack(5, 1),
        _data(6, 2, body[1428:2856]),
        _ack(7, 2),
        _data(8, 3, body[2856:]),
    ]
    assert _feed(x, pkts) == []  # still waiting for the final ACK
    (t,) = _feed(x, [_ack(9, 3)])
    assert t.status == "complete" and t.data == body and t.size == 3072
    assert t.options == (("blksize", "1428"), ("tsize", "3072"))
    assert t.frames == tuple(range(1, 10)) and t.request_frames == (1,)
    assert t.data_port == TID and t.client_port == CPORT and t.note == ""


def test_without_oack_a_512_block_is_not_final() -> None:
    x = TftpExtractor()
    _feed(x, [_rrq(1, 0, "f"), _data(2, 1, b"a" * 512), _ack(3, 1)])
    (t,) = x.finish()
    assert t.status == "incomplete" and t.data == b"a" * 512


def test_duplicate_block_counted_not_duplicated() -> None:
    x = TftpExtractor()
    pkts = [
        _rrq(1, 0, "f"),
        _data(2, 1, b"A" * 512),
        _data(3, 1, b"A" * 512),  # retransmitted (ACK lost)
        _ack(4, 1),
        _data(5, 2, b"B" * 10),
        _data(6, 2, b"B" * 10),
        _ack(7, 2),
    ]
    (t,) = _feed(x, pkts)
    assert t.status == "complete" and t.data == b"A" * 512 + b"B" * 10 and t.size == 522
    assert "duplicate blocks 2" in t.note


def test_error_mid_transfer() -> None:
    x = TftpExtractor()
    pkts = [_rrq(1, 0, "f"), _data(2, 1, b"A" * 512), _ack(3, 1), _error(4, 3, b"Disk full")]
    (t,) = _feed(x, pkts)
    assert t.status == "error" and t.error_code == 3 and t.error_message == "Disk full"
    assert t.data == b"A" * 512 and t.frames == (1, 2, 3, 4)
    assert x.finish() == []


def test_rrq_retransmission_merges_new_port_is_new_transfer() -> None:
    x = TftpExtractor()
    _feed(x, [_rrq(1, 0, "f"), _rrq(2, 0, "f"), _rrq(3, 0, "f", port=CPORT + 1)])
    ts = sorted(x.finish(), key=lambda t: t.request_frames)
    assert [t.request_frames for t in ts] == [(1, 2), (3,)]
    assert all(t.status == "no_response" for t in ts)
    assert "request retransmissions 1" in ts[0].note


def test_no_response_waits_for_timeout() -> None:
    x = TftpExtractor(timeout_ns=10_000_000_000)
    x.feed(_rrq(1, 0, "f"))  # ts = 1 ms
    assert x.expire(5_000_000_000) == []
    (t,) = x.expire(11_000_000_000)
    assert t.status == "no_response" and t.request_frames == (1,)
    assert x.finish() == []


def test_span_drop_counts_acked_unseen_and_leaves_hole() -> None:
    x = TftpExtractor()
    pkts = [
        _rrq(1, 0, "f"),
        _data(2, 1, b"a" * 512),
        _ack(3, 1),
        # DATA 2 dropped by the SPAN
        _ack(5, 2),
        _data(6, 3, b"c" * 9),
        _ack(7, 3),
    ]
    (t,) = _feed(x, pkts)  # the ACK of the short final block ends the transfer
    assert x.finish() == []
    assert t.status == "complete_gaps" and t.acked_unseen_blocks == 1
    assert t.unseen_blocks == (2,) and t.unseen_ack_frames == (5,)
    assert t.data == b"a" * 512 and t.size == 521 and "blocks missing before block 3" in t.note


def test_truncated_data_is_not_the_final_block() -> None:
    x = TftpExtractor()
    cut = _data(2, 1, b"a" * 100)  # caplen cut a 512-byte block to 100 bytes
    cut.truncated = True
    _feed(x, [_rrq(1, 0, "f"), cut, _ack(3, 1)])
    (t,) = x.finish()
    assert t.status == "incomplete" and t.data is None and "snap length" in t.note
    assert t.frames == (1, 2, 3)
    # cut short is no capture loss: not listed as unseen, counted apart
    assert t.acked_unseen_blocks == 0 and t.unseen_blocks == () and t.acked_cut_blocks == 1


def test_acked_cut_block_then_moving_on_is_complete_for_the_phone() -> None:
    x = TftpExtractor()
    cut = _data(4, 2, b"b" * 100)
    cut.truncated = True
    pkts = [_rrq(1, 0, "f"), _data(2, 1, b"a" * 512), _ack(3, 1), cut, _ack(5, 2),
            _rrq(6, 0, "g", port=CPORT + 1)]
    _feed(x, pkts)
    t = next(t for t in x.finish() if t.filename == "f")
    assert t.status == "complete_gaps" and t.acked_cut_blocks == 1
    assert t.acked_unseen_blocks == 0 and t.unseen_ack_frames == () and t.data == b"a" * 512


def test_reply_from_another_tid_is_a_duplicate_answer() -> None:
    x = TftpExtractor()
    pkts = [_rrq(1, 0, "f"), _data(2, 1, b"x" * 5), _data(3, 1, b"y" * 5, tid=TID + 1)]
    _feed(x, pkts)
    (t,) = _feed(x, [_ack(4, 1)])
    assert t.status == "complete" and t.data == b"x" * 5 and t.data_port == TID
    assert t.frames == (1, 2, 3, 4)  # the duplicate answer is part of the exchange
    assert f"duplicate answer from TID {TID + 1} not followed by the client (DATA x1)" in t.note


def test_eviction_bounds_open_transfers() -> None:
    x = TftpExtractor(max_transfers=2)
    out = _feed(x, [_rrq(i, 0, f"f{i}", port=40000 + i) for i in range(1, 4)])
    assert [t.filename for t in out] == ["f1"] and "evicted" in out[0].note
    assert len(x.finish()) == 2


def test_data_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tftp_mod, "MAX_DATA", 1000)
    x = TftpExtractor()
    pkts = [_rrq(1, 0, "big")]
    for b in range(1, 4):
        pkts += [_data(2 * b, b, b"z" * 512), _ack(2 * b + 1, b)]
    pkts += [_data(20, 4, b"end"), _ack(21, 4)]
    (t,) = _feed(x, pkts)
    assert t.size == 3 * 512 + 3 and len(t.data or b"") == 1000 and "capped" in t.note


def test_block_counter_wraps_to_zero_and_one() -> None:
    c0, c1 = BlockCounter(), BlockCounter()
    got0 = [c0.absolute(b % 65536) for b in range(1, 70001)]
    assert got0 == list(range(1, 70001)) and c0.wrapped
    seq1 = [b for b in range(1, 65536)] + [b for b in range(1, 4466)]  # 65535 -> 1
    got1 = [c1.absolute(b) for b in seq1]
    assert got1 == list(range(1, 70001)) and c1.period == 65535
    # a late duplicate from before the wrap stays in its epoch
    assert c0.absolute(65535) == 65535


def test_transfer_past_block_65535() -> None:
    x = TftpExtractor()
    n = 70000
    pkts = [_rrq(1, 0, "big", opts=b"blksize\x008\x00")]
    pkts.append(_pkt(2, SERVER, TID, CLIENT, CPORT, b"\x00\x06blksize\x008\x00"))
    body = bytearray()
    for b in range(1, n + 1):
        chunk = struct.pack("!Q", b) if b < n else b"end"
        body += chunk
        pkts.append(_data(2 + b, b, chunk))
    pkts.append(_data(3 + n, 65535, struct.pack("!Q", 65535)))  # stale duplicate
    (t,) = _feed(x, pkts + [_ack(4 + n, n)])
    assert t.status == "complete" and t.data == bytes(body) and t.size == len(body)
    assert "block wrap past 65535 (to 0)" in t.note and "duplicate blocks 1" in t.note


# ---- fuzz --------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payloads=st.lists(
        st.tuples(st.sampled_from(["rrq", "s2c", "c2s", "s2c2", "c2s2", "other"]),
                  st.binary(max_size=80)),
        max_size=30,
    )
)
def test_fuzz_never_raises(payloads: list[tuple[str, bytes]]) -> None:
    pf = Prefilter()
    x = TftpExtractor(pf, max_transfers=4)
    out = []
    for i, (kind, raw) in enumerate(payloads, start=1):
        if kind == "rrq":
            pkt = _pkt(i, CLIENT, CPORT, SERVER, 69, raw)
        elif kind == "s2c":
            pkt = _pkt(i, SERVER, TID, CLIENT, CPORT, raw)
        elif kind == "c2s":
            pkt = _pkt(i, CLIENT, CPORT, SERVER, TID, raw)
        elif kind == "s2c2":  # a second server TID (a duplicate answer)
            pkt = _pkt(i, SERVER, TID + 1, CLIENT, CPORT, raw)
        elif kind == "c2s2":
            pkt = _pkt(i, CLIENT, CPORT, SERVER, TID + 1, raw)
        else:
            pkt = _pkt(i, CLIENT, CPORT, SERVER, 69, b"\x00\x01f\x00octet\x00" + raw)
        out += x.feed(pkt)
        out += x.expire(pkt.ts)
    out += x.finish()
    for t in out:
        assert isinstance(t, FileTransfer) and t.frames
        assert t.data is None or len(t.data) <= t.size
        assert len(t.unseen_blocks) == len(set(t.unseen_blocks)) <= t.acked_unseen_blocks
        assert set(t.unseen_ack_frames) <= set(t.frames)
    assert not pf.tftp_ports and not x._by_client


@pytest.mark.parametrize("max_transfers", [1, 2, tftp_mod.MAX_TRANSFERS])
def test_port_refs_count_the_open_transfers_by_client_port(max_transfers: int) -> None:
    """feed() looks a packet up only when one of its ports is a counted client port."""
    paths = [*sorted(REALPEER.glob("S1[12]*.pcap")), *sorted(REALPEER.glob("S01*.pcap*")),
             *sorted(SYNTH.glob("tftp_*.pcap")),
             *sorted((ROOT / "pcaps" / "damaged").glob("*tftp*.pcap"))]
    opened = 0
    for path in paths:
        x = TftpExtractor(Prefilter(enabled=False), max_transfers=max_transfers)
        for fr in frames([str(path)], InputSet()):
            pkt = decode(fr, Prefilter(enabled=False))
            if pkt is None:
                continue
            x.feed(pkt)
            x.expire(pkt.ts)
            opened = max(opened, len(x._open))
            assert collections.Counter(k[1] for k in x._open) == x._port_refs, fr.number
            assert {k for ks in x._by_client.values() for k in ks} == set(x._open)
        x.finish()
        assert x._port_refs == {} and x._by_client == {}
    assert opened >= min(max_transfers, 2)


# ---- transfer IDs (RFC 1350 §4) and capture loss (DESIGN §4 rules 4, 5) -------------------



def _cerror(frame: int, code: int, tid: int = TID) -> Packet:
    """An ERROR the client sends to a server TID."""
    return _pkt(frame, CLIENT, CPORT, SERVER, tid,
                struct.pack("!HH", 5, code) + b"Unknown transfer ID\0")


def _itl(name: str) -> FileTransfer:
    (t,) = by_name(run_capture(SYNTH / name))["ITLFile.tlv"]
    return t


def _acks_of(name: str, frames_: tuple[int, ...]) -> list[tuple[str, int]]:
    """(sender, ACK block number) of these frames, read from the capture."""
    out = []
    for fr in frames([str(SYNTH / name)], InputSet()):
        if fr.number in frames_:
            pkt = decode(fr, Prefilter(enabled=False))
            assert pkt is not None and pkt.payload[:2] == b"\x00\x04"
            out.append((pkt.src, struct.unpack("!H", pkt.payload[2:4])[0]))
    return out


def test_two_tids_the_phone_follows_the_first_and_rejects_the_second() -> None:
    t = _itl("tftp_two_tids_error5.pcap")
    assert t.status == "complete" and t.data == ITL_GOOD.read_bytes()
    assert t.error_code is None and t.error_message == "" and t.acked_unseen_blocks == 0
    assert t.data_port == 43003 and t.request_frames == (5, 6)
    assert {7, 8, 9, 10} <= set(t.frames)  # the duplicate DATA 1 and the ERROR 5 to it
    assert ("duplicate answer from TID 43103 not followed by the client (DATA x1; client "
            "sent ERROR x1 (unknown transfer ID))") in t.note


def test_two_oacks_the_phone_follows_the_second_tid() -> None:
    t = _itl("tftp_two_oacks.pcap")
    assert t.status == "complete" and t.data == ITL_GOOD.read_bytes() and t.size == 9054
    assert t.data_port == 43103 and t.error_code is None
    assert t.options == (("blksize", "1024"), ("tsize", "9054"))
    assert {7, 8, 9, 16, 17, 24} <= set(t.frames)
    assert ('duplicate answer from TID 43003 not followed by the client (OACK x2, ERROR 0 '
            '"Transfer timed out"; client sent ERROR x1 (unknown transfer ID))') in t.note


def test_lost_middle_blocks_are_gaps_not_a_failed_transfer() -> None:
    name = "tftp_lost_middle.pcap"
    t = _itl(name)
    whole = ITL_GOOD.read_bytes()
    assert t.status == "complete_gaps" and t.error_code is None
    assert t.acked_unseen_blocks == 2 and t.unseen_blocks == (5, 9)
    assert t.unseen_ack_frames == (14, 21)
    assert _acks_of(name, t.unseen_ack_frames) == [("198.51.100.63", 5), ("198.51.100.63", 9)]
    assert t.size == len(whole) - 2 * 512 and t.data == whole[:4 * 512]
    assert "complete for the client" in t.note and "ACK 18 taken" not in t.note


def test_lost_final_block_is_counted_and_the_bytes_stay_partial() -> None:
    name = "tftp_lost_final.pcap"
    t = _itl(name)
    whole = ITL_GOOD.read_bytes()
    assert t.status == "complete_gaps" and t.acked_unseen_blocks == 1
    assert t.unseen_blocks == (18,) and t.unseen_ack_frames == (40,)
    assert _acks_of(name, (40,)) == [("198.51.100.64", 18)]
    assert t.size == 17 * 512 and t.data == whole[:17 * 512] != whole
    assert "ACK 18 taken as the last" in t.note


def test_stopped_transfer_stays_incomplete() -> None:
    t = _itl("tftp_stopped.pcap")
    assert t.status == "incomplete" and t.acked_unseen_blocks == 0 and t.size == 7 * 512
    assert "client repeated ACK 7 3 times" in t.note


@pytest.mark.parametrize("name", TFTP_SYNTH)
def test_synthetic_fast_path_changes_nothing(name: str) -> None:
    fast = run_capture(SYNTH / name, Prefilter())
    slow = run_capture(SYNTH / name, Prefilter(enabled=False))
    assert fast == slow and fast


@pytest.mark.parametrize("name", ["tftp_two_tids_error5.pcap", "tftp_two_oacks.pcap"])
def test_prefilters_pass_every_tid_of_the_transfer(name: str) -> None:
    """The analysis's prefilter (ports the extractor adds and drops) and the reader's
    learned-ahead one both pass the second TID's packets: they go to the client port."""
    from capfcap.learn import learn_ahead

    ahead, own = Prefilter(), Prefilter()
    x = TftpExtractor(own)
    seen = set()
    for fr in frames([str(SYNTH / name)], InputSet()):
        pkt = decode(fr, Prefilter(enabled=False))
        assert pkt is not None
        learn_ahead(ahead, pkt)
        if 50203 in (pkt.sport, pkt.dport):
            assert own.relevant(pkt) and ahead.relevant(pkt), fr.number
            seen.add(pkt.sport if pkt.dport == 50203 else pkt.dport)
        x.feed(pkt)
    assert {69, 43003, 43103} <= seen


def test_error5_before_the_first_ack_does_not_end_the_transfer() -> None:
    x = TftpExtractor()
    pkts = [_rrq(1, 0, "f"), _rrq(2, 0, "f"), _data(3, 1, b"x" * 512),
            _data(4, 1, b"y" * 512, tid=TID + 1), _cerror(5, 5, tid=TID + 1), _ack(6, 1),
            _data(7, 2, b"x" * 3)]
    assert _feed(x, pkts) == []
    (t,) = _feed(x, [_ack(8, 2)])
    assert t.status == "complete" and t.data == b"x" * 515 and t.error_code is None
    assert t.data_port == TID and t.frames == tuple(range(1, 9))


def test_phone_follows_the_second_tid_and_rejects_the_first() -> None:
    x = TftpExtractor()
    pkts = [_rrq(1, 0, "f"), _data(2, 1, b"x" * 512), _data(3, 1, b"y" * 512, tid=TID + 1),
            _ack(4, 1, tid=TID + 1), _cerror(5, 5), _data(6, 2, b"y" * 7, tid=TID + 1)]
    assert _feed(x, pkts) == []
    (t,) = _feed(x, [_ack(7, 2, tid=TID + 1)])
    assert t.status == "complete" and t.data == b"y" * 519 and t.data_port == TID + 1
    assert f"duplicate answer from TID {TID}" in t.note and t.error_code is None


def test_server_error_ends_the_transfer_only_from_the_followed_tid() -> None:
    x = TftpExtractor()
    base = [_rrq(1, 0, "f"), _data(2, 1, b"x" * 512), _data(3, 1, b"x" * 512, tid=TID + 1),
            _ack(4, 1)]
    assert _feed(x, [*base, _error(5, 0, b"Transfer timed out", tid=TID + 1)]) == []
    (t,) = _feed(x, [_data(6, 2, b"x"), _ack(7, 2)])
    assert t.status == "complete" and 'ERROR 0 "Transfer timed out"' in t.note
    x = TftpExtractor()
    (t,) = _feed(x, [*base, _error(5, 3, b"Disk full")])
    assert t.status == "error" and t.error_code == 3 and t.data_port == TID


def test_client_abort_on_the_followed_tid_is_the_transfers_error() -> None:
    x = TftpExtractor()
    (t,) = _feed(x, [_rrq(1, 0, "f"), _data(2, 1, b"x" * 512), _ack(3, 1), _cerror(4, 0)])
    assert t.status == "error" and t.error_code == 0 and "error sent by the client" in t.note


def test_error5_to_the_only_tid_is_not_an_error() -> None:
    """ERROR 5 says 'not my transfer': the client follows a TID the capture lacks."""
    x = TftpExtractor()
    assert _feed(x, [_rrq(1, 0, "f"), _data(2, 1, b"x" * 512), _cerror(3, 5)]) == []
    (t,) = x.finish()
    assert t.status == "incomplete" and t.error_code is None


def test_tids_per_transfer_are_bounded() -> None:
    x = TftpExtractor()
    _feed(x, [_rrq(1, 0, "f")]
          + [_data(2 + i, 1, b"x" * 512, tid=TID + i) for i in range(tftptid.MAX_TIDS + 3)])
    (t,) = x.finish()
    assert "packets from further TIDs 3" in t.note and t.data_port == TID


def test_each_unseen_block_is_counted_once() -> None:
    x = TftpExtractor()
    pkts = [
        _rrq(1, 0, "f"), _data(2, 1, b"a" * 512), _ack(3, 1),
        # DATA 2 lost; the phone's ACK 2 is repeated (the server's copy was lost too)
        _ack(4, 2), _ack(5, 2),
        # DATA 3 and the phone's ACK 3 both lost; DATA 4 lost: ACK 4 covers 3 and 4
        _ack(6, 4),
        _data(7, 5, b"e" * 512),
        _data(8, 3, b"c" * 512),  # captured late (reordered): not a gap after all
        _ack(9, 5), _data(10, 6, b"f"),
    ]
    assert _feed(x, pkts) == []
    (t,) = _feed(x, [_ack(11, 6)])
    assert t.acked_unseen_blocks == 2 and t.unseen_blocks == (2, 4)
    assert t.unseen_ack_frames == (4, 6) and t.status == "complete_gaps"
    assert t.size == 3 * 512 + 1 and t.data == b"a" * 512  # blocks 1, 3, 5, 6


def _lost_last(extra: list[Packet], opts: bytes = b"", oack: bytes = b"") -> FileTransfer:
    """DATA 1 captured, the short DATA 2 lost, the phone ACKs 2 once; then `extra`."""
    x = TftpExtractor(timeout_ns=10_000_000_000)
    pkts = [_rrq(1, 0, "f", opts=opts)]
    if oack:
        pkts += [_pkt(2, SERVER, TID, CLIENT, CPORT, b"\x00\x06" + oack), _ack(3, 0)]
    pkts += [_data(4, 1, b"a" * 512), _ack(5, 1), _ack(6, 2), *extra]
    out = []
    for p in pkts:
        out += x.feed(p) + x.expire(p.ts)
    out += x.finish()
    return next(t for t in out if t.filename == "f")


def test_lost_last_block_is_complete_only_when_the_phone_shows_it_was_done() -> None:
    # the capture ends right after the ACK: nothing shows the phone was not waiting
    assert _lost_last([]).status == "incomplete"
    # it asks for its next file, or stays silent past the timeout: it was done
    nxt = _lost_last([_rrq(7, 0, "g", port=CPORT + 1)])
    assert nxt.status == "complete_gaps" and nxt.unseen_blocks == (2,)
    quiet = _lost_last([_pkt(12_000, CLIENT, 5353, SERVER, 53, b"xx")])
    assert quiet.status == "complete_gaps"
    # it repeats the ACK (waits for block 3), or asks for the same file again: not done
    assert _lost_last([_ack(7, 2), _rrq(8, 0, "g", port=CPORT + 1)]).status == "incomplete"
    assert _lost_last([_rrq(7, 0, "f", port=CPORT + 1)]).status == "incomplete"
    # tsize (RFC 2349) says how many blocks the file has
    opt = b"tsize\x000\x00"
    assert _lost_last([], opt, b"tsize\x00600\x00").status == "complete_gaps"
    assert _lost_last([], opt, b"tsize\x001100\x00").status == "incomplete"


def test_genuinely_stopped_transfer_is_incomplete() -> None:
    x = TftpExtractor()
    pkts = [_rrq(1, 0, "f"), _data(2, 1, b"a" * 512), _ack(3, 1), _data(4, 2, b"b" * 512),
            _ack(5, 2), _ack(6, 2), _ack(7, 2)]
    _feed(x, pkts)
    (t,) = x.finish()
    assert t.status == "incomplete" and t.acked_unseen_blocks == 0 and t.size == 1024
    assert "client repeated ACK 2 2 times" in t.note


def test_retry_is_found_when_more_phones_wait_than_the_old_table_held() -> None:
    """A rollout against a silent TFTP server: 12,000 phones, one every 0.5 ms, each
    retransmitting its RRQ 5 s later, so 10,000 requests are open at once (more than
    the 4,096 the table once held). Every retry joins its own request."""
    n, gap, retry = 12_000, 500_000, 5_000_000_000
    pkts = []
    for k in range(n):
        src = f"2001:db8:1::{k + 1:x}"
        rrq = b"\x00\x01" + f"SEP{k:012X}.cnf.xml".encode() + b"\0octet\0"
        for j in range(2):
            pkts.append((k * gap + j * retry, src, rrq))
    pkts.sort(key=lambda r: r[0])
    x = TftpExtractor()
    out: list[FileTransfer] = []
    for frame, (ts, src, rrq) in enumerate(pkts, start=1):
        pkt = _pkt(frame, src, 50000, SERVER, 69, rrq)
        pkt.ts = ts
        out += x.feed(pkt)
        out += x.expire(ts)
    out += x.finish()
    assert len(out) == n
    assert all(len(t.request_frames) == 2 for t in out)
    assert not [t for t in out if "evicted" in t.note]
    assert max(t.last_ts - t.first_ts for t in out) == retry
