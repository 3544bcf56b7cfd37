"""Grouped verdicts (reporters/groups.py): phones with one cause print once in the text,
Markdown and HTML reports; JSON and one-phone captures are unchanged."""

from __future__ import annotations

import io
import json
import re

import pytest

from capfcap.cli import main
from capfcap.findings import Evidence, Finding
from capfcap.pipeline import Options, analyze
from capfcap.report import CaptureInfo, PhoneReport, Report
from capfcap.reporters import groups
from capfcap.reporters.html import render as render_html
from capfcap.reporters.markdown import render as render_md
from capfcap.reporters.text import render as render_text
from tests.conftest import PCAPS, REALPEER

SIX = PCAPS / "synthetic" / "capf_outage_six.pcap"
HOSTILE = "capf<img src=x onerror=alert(1)>"


def finding(ip: str, code: str = "CAPF_UNIDIRECTIONAL", server: str = "198.51.100.11",
            port: int = 3804, sev: str = "error", name: str = "pub.example") -> Finding:
    return Finding(code, sev, {"ip": ip}, {"ip": server, "port": port, "name": name},  # type: ignore[arg-type]
                   f"never answered {ip}", "detail", "fix it",
                   Evidence((10 + int(ip.rsplit(".", 1)[1]),), None, None, f"ip.addr=={ip}"))


def report(findings_of: dict[str, list[Finding]], device: str = "") -> Report:
    phones = [PhoneReport(ip, device=device or f"SEP00000000{i:04d}", verdict=f"blocked {ip}")
              for i, ip in enumerate(findings_of)]
    return Report([CaptureInfo("x.pcap", "00" * 32, 10, 0, 1)], phones,
                  [f for fs in findings_of.values() for f in fs],
                  phones_seen=[p.ip for p in phones])


def ips(n: int) -> list[str]:
    return [f"192.0.2.{i}" for i in range(1, n + 1)]


# -- the key and the threshold ------------------------------------------------------------

def test_key_is_code_severity_server_and_port() -> None:
    base = groups.cause_key([finding("192.0.2.1")], [])
    assert base == groups.cause_key([finding("192.0.2.2")], [])  # the phone does not count
    for other in (finding("192.0.2.1", port=3806), finding("192.0.2.1", server="198.51.100.12"),
                  finding("192.0.2.1", code="CAPF_REFUSED"), finding("192.0.2.1", sev="warning")):
        assert groups.cause_key([other], []) != base
    withheld = [{"code": "TFTP_NO_RESPONSE", "phone": "192.0.2.1", "server": "198.51.100.10"}]
    assert groups.cause_key([finding("192.0.2.1")], withheld) != base


def test_groups_form_from_group_min_phones() -> None:
    below = report({ip: [finding(ip)] for ip in ips(groups.GROUP_MIN - 1)})
    assert groups.group(below).groups == []
    at = report({ip: [finding(ip)] for ip in ips(groups.GROUP_MIN)})
    (g,) = groups.group(at).groups
    assert [p.ip for p in g.phones] == ips(groups.GROUP_MIN)
    assert g.lead.ip == "192.0.2.1" and g.first_frames == [11, 12, 13][:groups.GROUP_MIN]


def test_phones_with_different_causes_stay_apart() -> None:
    fs = {ip: [finding(ip, port=3804 + i % 2)] for i, ip in enumerate(ips(6))}
    got = groups.group(report(fs))
    assert sorted(len(g.phones) for g in got.groups) == [3, 3]
    assert {g.key[0][3] for g in got.groups} == {"3804", "3805"}


def test_a_report_narrowed_by_phone_never_groups() -> None:
    r = report({ip: [finding(ip)] for ip in ips(5)})
    r.narrowed = True  # what --phone sets
    assert groups.group(r).groups == []


def test_phone_list_is_abbreviated() -> None:
    (g,) = groups.group(report({ip: [finding(ip)] for ip in ips(20)})).groups
    line = groups.phones_line(g.phones)
    assert line.endswith(f"and {20 - groups.SHOW_PHONES} more")
    assert line.count("192.0.2.") == groups.SHOW_PHONES
    assert groups.frames_line(g).endswith("…")


# -- the reports ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def six() -> Report:
    r, _ = analyze([str(SIX)], Options())
    return r


def _text(r: Report) -> str:
    out = io.StringIO()
    render_text(r, out)
    return out.getvalue()


def test_text_prints_one_block_for_six_phones(six: Report) -> None:
    t = _text(six)
    assert t.count("ERROR   CAPF_UNIDIRECTIONAL") == 1
    assert "── 6 phones: CAPF_UNIDIRECTIONAL: The phone's connections to CAPF are never " \
           "answered (pub.outage.example (198.51.100.11) port 3804)" in t
    assert "Phones: 192.0.2.49 (SEP001B54AABB31), 192.0.2.50 (SEP001B54AABB32)" in t
    assert "First phone 192.0.2.49 (SEP001B54AABB31): LSC install blocked" in t
    assert "--phone IP" in t
    assert not re.search(r"── Phone 192\.0\.2\.(49|5[0-4])\b", t)
    assert "── Phone 192.0.2.55" in t  # the refused phone has its own cause
    assert t.rstrip().endswith("7 phone(s); 7 error(s), 0 warning(s), 0 info")


def test_json_keeps_one_finding_per_phone(capsys: pytest.CaptureFixture[str]) -> None:
    main(["analyze", str(SIX), "--format", "json", "--fail-on", "never"])
    d = json.loads(capsys.readouterr().out)
    assert len(d["phones"]) == 7
    assert sorted(f["phone"]["ip"] for f in d["findings"]
                  if f["code"] == "CAPF_UNIDIRECTIONAL") == [f"192.0.2.{i}" for i in range(49, 55)]


def test_phone_option_prints_the_phones_in_full(capsys: pytest.CaptureFixture[str]) -> None:
    main(["analyze", str(SIX), "--phone", "192.0.2.49", "--phone", "192.0.2.50",
          "--phone", "192.0.2.51", "--fail-on", "never"])
    t = capsys.readouterr().out
    assert "phones:" not in t and t.count("ERROR   CAPF_UNIDIRECTIONAL") == 3


def test_markdown_groups_table_timeline_and_findings(six: Report) -> None:
    md = render_md(six)
    rows = [ln for ln in md.splitlines() if ln.startswith("| ") and "phones:" in ln]
    assert len(rows) == 1 and rows[0].startswith("| 6 phones: 192.0.2.49 (SEP001B54AABB31)")
    assert md.count("### Timeline") == 2  # the group's first phone, the refused phone
    assert "### Timeline SEP001B54AABB31 (192.0.2.49), first of 6 phones" in md
    assert md.count("#### CAPF_UNIDIRECTIONAL") == 1
    assert "#### CAPF_UNIDIRECTIONAL — 6 phones, as on the first, SEP001B54AABB31" in md
    assert "- First frames: 10, 20, 30, 40, 51, 62" in md
    assert "### Error (7)" in md  # the counts are the findings'


def test_html_groups_the_verdict_table_and_sections(six: Report) -> None:
    page = render_html(six)
    assert page.count('class="phone-group"') == 1
    assert page.count('class="phone-section"') == 1
    assert page.count('<tr class="group">') == 1
    assert '<a href="#group-0">6 phones</a>' in page
    assert page.count('<article class="finding') == 2


def test_capture_derived_strings_stay_inert_in_a_group() -> None:
    fs = {ip: [finding(ip, name=HOSTILE)] for ip in ips(4)}
    r = report(fs, device=HOSTILE)
    md = render_md(r)
    assert not re.search(r"(?<!\\)<", md) and r"capf\<img src=x" in md
    page = render_html(r)
    assert "<img" not in page and "capf&lt;img src=x onerror=alert(1)&gt;" in page
    assert page.count('class="phone-group"') == 1


@pytest.mark.parametrize("name", sorted(p.name for p in REALPEER.glob("*.pcap*")))
def test_one_phone_captures_read_as_without_grouping(name: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    r, _ = analyze([str(REALPEER / name)], Options())
    assert groups.group(r).groups == []
    grouped = (_text(r), render_md(r), render_html(r))
    monkeypatch.setattr(groups, "GROUP_MIN", 10**9)
    assert (_text(r), render_md(r), render_html(r)) == grouped
