"""The address memos of the per-packet path stay bounded and, once full, keep caching
the addresses in use (a capture of more phones than the memo holds must not turn every
later packet into a conversion)."""

from __future__ import annotations

import struct

import pytest

from capfcap import checksum, headers


def _v6(i: int) -> bytes:
    return b"\x20\x01\x0d\xb8" + bytes(8) + struct.pack("!I", i)  # 2001:db8::/32


def test_address_texts_stay_cached_beyond_the_memo_size(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    monkeypatch.setattr(headers._ntoa_memo, "limit", 100)
    headers.clear_cache()
    for i in range(1, 251):
        assert headers.ntoa(_v6(i)) == f"2001:db8::{i:x}"
    assert len(headers._ntoa_memo) <= 100
    assert _v6(250) in headers._ntoa_memo  # the latest is cached, not refused
    headers.clear_cache()


def test_checksum_address_values_stay_cached_beyond_the_memo_size(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checksum._addr_values, "limit", 100)
    checksum.clear_cache()
    for i in range(1, 251):
        assert checksum._addr_value(f"198.51.100.{i}") == int.from_bytes(
            bytes([198, 51, 100, i]), "big")
    assert len(checksum._addr_values) <= 100
    assert "198.51.100.250" in checksum._addr_values
    checksum.clear_cache()
