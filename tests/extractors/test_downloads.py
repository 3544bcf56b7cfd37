"""Configs that differ between phones only by their MAC are parsed once, with the same
result as parsing each file (extractors/downloads.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from capfcap.events import FileTransfer
from capfcap.extractors import downloads
from capfcap.report import CarvedObject
from capfcap.trust.config import parse_config

CONFIG = (Path(__file__).resolve().parents[2] / "pcaps" / "realpeer" / "data" / "config"
          / "SEP0023AB12CD34.cnf.xml").read_bytes()
MAC = b"0023AB12CD34"


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    downloads._parse_config.cache_clear()
    downloads._parse_masked.cache_clear()


def _as(mac: str, data: bytes = CONFIG) -> tuple[bytes, str]:
    return data.replace(MAC, mac.encode()), f"SEP{mac}.cnf.xml"


def test_phones_of_one_template_share_one_parse() -> None:
    macs = ["0023AB12CD34", "02B100000001", "02b1000000ff", "00005E005301"]
    for mac in macs:
        data, name = _as(mac)
        assert MAC not in data or mac == MAC.decode()
        got = downloads._parse_config(data, name)
        assert got == (parse_config(name, data), "")
        assert got[0] is not None and got[0].device == "SEP" + mac.upper()
    info = downloads._parse_masked.cache_info()
    assert (info.misses, info.hits) == (1, len(macs) - 1)


@pytest.mark.parametrize("where", [
    b"<processNodeName>pub.cucm.example</processNodeName>",
    b"<loadInformation",
])
def test_a_mac_inside_a_parsed_field_is_parsed_per_file(where: bytes) -> None:
    """The MAC inside a field the result keeps: each file is parsed itself."""
    assert where in CONFIG
    if where.startswith(b"<processNodeName>"):
        edited = CONFIG.replace(where, b"<processNodeName>n" + MAC + b".example"
                                b"</processNodeName>")
    else:
        edited = CONFIG.replace(b"<loadInformation>", b"<loadInformation>" + MAC, 1)
    assert edited != CONFIG
    seen = set()
    for mac in ("02B100000001", "02B100000002"):
        data, name = _as(mac, edited)
        got = downloads._parse_config(data, name)
        assert got == (parse_config(name, data), "")
        assert got[0] is not None
        seen.add(repr(got[0]))
    assert len(seen) == 2
    assert downloads._parse_masked.cache_info().currsize == 1  # tried once, then each itself


def test_broken_config_gives_the_files_own_error() -> None:
    data, name = _as("02B100000001", CONFIG[: len(CONFIG) // 2])
    cfg, err = downloads._parse_config(data, name)
    assert cfg is None and err
    with pytest.raises(Exception) as e:
        parse_config(name, data)
    assert str(e.value) == err


REALPEER = Path(__file__).resolve().parents[2] / "pcaps" / "realpeer"


def _analysis(keep_files: bool, capture: str = "S01_happy.pcap"
              ) -> tuple[list[FileTransfer], tuple[str, list[CarvedObject]]]:
    from capfcap.pipeline import Analysis, Options
    from capfcap.reporters.json import render
    from capfcap.sources.inputs import InputSet, frames

    a = Analysis(Options(keep_files=keep_files))
    inputs = InputSet()
    for fr in frames([str(REALPEER / capture)], inputs):
        a.feed(fr)
    a.finish()
    done = [t for t in a.correlator.state.transfers
            if isinstance(t, FileTransfer) and t.status == "complete"]
    report = a.report(inputs.files, [], final=True)
    return done, (render(report), report.objects)


def test_without_bundle_or_crosscheck_downloads_drop_their_bytes_and_nothing_else() -> None:
    kept, (text_kept, objects_kept) = _analysis(True)
    dropped, (text_dropped, objects_dropped) = _analysis(False)
    assert kept and all(t.data for t in kept)
    assert [t.data for t in dropped] == [None] * len(kept)
    assert [t.size for t in dropped] == [t.size for t in kept]
    assert text_dropped == text_kept  # the same report, parsed from the same bytes
    assert objects_kept and not objects_dropped  # the bundle's objects/ needs the bytes


def test_only_the_analysis_frees_scapys_vendor_table() -> None:
    import subprocess
    import sys

    code = (
        "from scapy.config import conf\n"
        "import capfcap.dissectors.itl\n"
        "print(len(conf.manufdb.d) > 1000)\n"  # importing the dissectors leaves it whole
        "import tests.extractors.test_downloads as t\n"
        "t._analysis(False)\n"
        "print(len(conf.manufdb.d))\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["True", "0"]
