"""rows.row: an ordinary dict, in the given key order, smaller than a dict of its own."""

from __future__ import annotations

import json
import sys

import pytest

from capfcap.correlator import rows

KEYS = ("proto", "first_frame", "client", "client_port", "server", "server_port", "service",
        "conn_state", "history", "completeness", "orig_pkts", "resp_pkts")


def test_a_row_is_the_dict_of_its_keys_and_values() -> None:
    values = ("tcp", 7, "2001:db8::1", 49152, "2001:db8::11", 3804, "CAPF", "S0", "S", 1,
              1, 0)
    r = rows.row(KEYS, values)
    plain = dict(zip(KEYS, values, strict=True))
    assert type(r) is dict and r == plain and list(r) == list(KEYS)
    assert json.dumps(r, indent=2) == json.dumps(plain, indent=2)
    assert json.dumps(r) == json.dumps(plain)  # the C encoder too
    r["extra"] = 1  # still an ordinary, mutable dict
    assert r["extra"] == 1 and rows.compact(plain) == plain


def test_rows_of_one_shape_share_their_key_table() -> None:
    a = [rows.row(KEYS, range(len(KEYS))) for _ in range(3)]
    plain = dict(zip(KEYS, range(len(KEYS)), strict=True))
    assert all(sys.getsizeof(r) < sys.getsizeof(plain) for r in a)


def test_shapes_beyond_the_bound_are_plain_dicts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rows, "_shapes", {})
    monkeypatch.setattr(rows, "MAX_SHAPES", 1)
    first = rows.row(("a",), (1,))
    second = rows.row(("b",), (2,))
    assert first == {"a": 1} and second == {"b": 2} and list(rows._shapes) == [("a",)]
