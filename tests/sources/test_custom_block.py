"""A pcapng Custom Block takes a frame number in Wireshark; capfcap numbers the same."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from capfcap.sources.files import read_capture
from tests.conftest import REALPEER


@pytest.mark.parametrize("btype", [0x00000BAD, 0x40000BAD])
def test_custom_block_takes_a_frame_number(tmp_path: Path, btype: int) -> None:
    raw = (REALPEER / "S01_happy.pcapng").read_bytes()
    shb_len = struct.unpack_from("<I", raw, 4)[0]
    idb_len = struct.unpack_from("<I", raw, shb_len + 4)[0]
    cut = shb_len + idb_len
    first_epb = struct.unpack_from("<I", raw, cut + 4)[0]
    cut += first_epb  # after frame 1
    body = struct.pack("<I", 32473) + b"custom"  # PEN + data, padded to 32 bits
    body += b"\0" * (-len(body) % 4)
    block = struct.pack("<II", btype, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))
    p = tmp_path / "c.pcapng"
    p.write_bytes(raw[:cut] + block + raw[cut:])
    numbers = [f.number for f in read_capture(str(p))]
    assert len(numbers) == 82
    assert numbers[:3] == [1, 3, 4]
    assert numbers[-1] == 83
