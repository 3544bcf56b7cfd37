"""The streamed JSON report (one phone, one finding built at a time) is byte for byte the
report `render` builds as one tree."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from capfcap.pipeline import Options, analyze
from capfcap.reporters.json import render, write

PCAPS = sorted(p for d in ("synthetic", "realpeer")
               for p in (Path(__file__).resolve().parents[2] / "pcaps" / d).glob("*.pcap"))


@pytest.mark.parametrize("path", PCAPS[::3], ids=lambda p: p.name)
def test_streamed_json_equals_rendered(path: Path) -> None:
    r, _inputs = analyze([str(path)], Options())
    out = io.StringIO()
    write(r, out)
    assert out.getvalue() == render(r)
