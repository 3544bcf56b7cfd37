"""`capfcap itl` rendering: text table and deterministic JSON."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from capfcap.reporters.itl import render_text, to_json
from capfcap.trust.itl import parse_trust_list

ROOT = Path(__file__).resolve().parents[2]
REAL_ITL = ROOT / "pcaps" / "real-itl" / "ITLFile.tlv"


def _text(path: Path) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=220, color_system=None)
    render_text(parse_trust_list(path.read_bytes(), path.name), console)
    return buf.getvalue()


def test_text_lists_records_and_verdict() -> None:
    out = _text(REAL_ITL)
    for role in ("SAST", "CCM", "APP-SERVER"):
        assert role in out
    assert out.count("APP-SERVER") == 2
    assert "signature: valid" in out
    assert "checksum: dbf86422cbab7859f3b850c2375814f7 (MD5)" in out  # space before (MD5)
    assert "01e2cb144975e4b33c9af6ad75712c07a3b19cc7 (SHA1)" in out
    assert "5535a3e4e9c60d51" in out  # SAST certificate SHA-256 prefix
    assert "2025-11-29 .. 2045-11-29" in out


def test_text_shows_unknown_tags_and_cucm_fields() -> None:
    assert "tag 48 at byte 501" in _text(ROOT / "pcaps" / "itl" / "itl_unknown_tag.tlv")
    out = _text(ROOT / "pcaps" / "itl" / "itl_cucm_sha1.tlv")
    assert "IPADDRESS  198.51.100.21" in out and "CAPF" in out


def test_json_is_deterministic_and_complete() -> None:
    tl = parse_trust_list(REAL_ITL.read_bytes())
    first = json.dumps(to_json(tl), sort_keys=True)
    again = json.dumps(to_json(parse_trust_list(REAL_ITL.read_bytes())), sort_keys=True)
    assert first == again
    doc = json.loads(first)
    assert doc["signature"]["status"] == "valid"
    assert [r["role_name"] for r in doc["records"]] == [
        "SAST",
        "CCM",
        "CCM",
        "APP-SERVER",
        "APP-SERVER",
    ]
    assert doc["records"][0]["certificate"]["sha1"] == "277b3621552a593456a63d595645f4f090a35d9c"
    assert doc["md5"] == "dbf86422cbab7859f3b850c2375814f7"
    assert doc["timestamp"] == "2025-12-30T17:25:42Z"
