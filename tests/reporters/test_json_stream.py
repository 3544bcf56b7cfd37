"""The streamed JSON report (one phone, one finding built at a time) is byte for byte the
report `render` builds as one tree."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capfcap.pipeline import Options, analyze
from capfcap.reporters.json import _pieces, render, write

PCAPS = sorted(p for d in ("synthetic", "realpeer")
               for p in (Path(__file__).resolve().parents[2] / "pcaps" / d).glob("*.pcap"))


@pytest.mark.parametrize("path", PCAPS[::3], ids=lambda p: p.name)
def test_streamed_json_equals_rendered(path: Path) -> None:
    r, _inputs = analyze([str(path)], Options())
    out = io.StringIO()
    write(r, out)
    assert out.getvalue() == render(r)


_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8) \
    | st.floats(allow_nan=False)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20)


@given(_values)
def test_layout_is_the_same_json_value(v: object) -> None:
    """Any value written by the indenting writer reads back equal to itself."""
    assert json.loads("".join(_pieces(v, 0))) == v


def test_containers_of_scalars_stay_on_one_line() -> None:
    doc = {"flows": [{"a": 1, "b": "x"}], "evidence": {"frames": [3, 4, 5], "filter": "f"},
           "empty": [], "nested": [[1], {}]}
    text = "".join(_pieces(doc, 0))
    lines = text.splitlines()
    assert '    {"a": 1, "b": "x"}' in lines
    assert '    "frames": [3, 4, 5],' in lines
    assert '  "empty": [],' in lines
    assert json.loads(text) == doc
