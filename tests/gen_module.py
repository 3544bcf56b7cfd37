"""tools/gen_pcaps.py as a module, for tests that build capture variants."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from types import ModuleType

from tests.conftest import ROOT


@cache
def gen_pcaps() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_pcaps", ROOT / "tools" / "gen_pcaps.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gen_pcaps"] = mod
    spec.loader.exec_module(mod)
    return mod
