"""Shared test fixtures. `pytest --update-golden` rewrites golden reports on purpose."""

from __future__ import annotations

import compileall
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PCAPS = ROOT / "pcaps"
REALPEER = PCAPS / "realpeer"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite tests/golden/* from the current output (review the diff)")


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # once per session: not in each xdist worker
        # Byte-compile the package as `pip install` does: the tests start hundreds of
        # `python -m capfcap` processes, and with PYTHONDONTWRITEBYTECODE set each would
        # compile every module it imports again (tools/bench.py does the same before it
        # times anything).
        compileall.compile_dir(str(ROOT / "capfcap"), quiet=1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tests marked slow first (in their order): pytest-xdist hands them out early, so no
    # worker is left with one at the end while the others idle
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    if shutil.which("tshark") is None:
        skip = pytest.mark.skip(reason="tshark is not installed (apt-get install tshark)")
        for item in items:
            if "tshark" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def session_dir(factory: pytest.TempPathFactory, name: str) -> Path:
    """A directory shared by every process of this test session: under pytest-xdist each
    worker's base temporary directory is `<session's>/popen-gwN`."""
    base = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    return base / name


@pytest.fixture(autouse=True, scope="session")
def _shared_crosscheck_tshark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """`--crosscheck`'s tshark runs, shared by every test of the session (tests/tshark_cache.py):
    the crosscheck tests ask the same frames of the same captures many times over. The
    tshark answers are kept on disk for the other xdist workers too."""
    from capfcap.tshark import run
    from tests import tshark_cache

    tshark_cache.share(session_dir(tmp_path_factory, "tshark-cache"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(run, "tshark_ek", tshark_cache.cached_tshark_ek(run.tshark_ek))
        yield
    tshark_cache.share(None)
