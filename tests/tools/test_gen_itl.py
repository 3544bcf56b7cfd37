"""tools/gen_itl.py rebuilds the committed synthetic files byte-identically."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generator_is_deterministic(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("gen_itl", ROOT / "tools" / "gen_itl.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    sys.modules["gen_itl"] = gen  # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(gen)
    files = gen.generate(tmp_path)
    assert len(files) >= 7
    for name, data in files.items():
        assert (ROOT / "pcaps" / "itl" / name).read_bytes() == data, name
