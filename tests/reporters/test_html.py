"""`--format html`: the ladder layout (no browser), escaping of hostile capture strings in
the HTML, Markdown and summary.md reports, and the page in a real headless Chromium."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from markupsafe import escape

from capfcap.cli import main
from capfcap.findings import Evidence, Finding
from capfcap.pipeline import Options, analyze
from capfcap.report import CaptureInfo, PhoneReport, Report, TimelineEntry
from capfcap.reporters.html import CSP
from capfcap.reporters.html import render as render_html
from capfcap.reporters.ladder import GAP_NS, layout
from capfcap.reporters.markdown import render as render_md
from capfcap.reporters.summary import BundleFacts, render_summary
from tests.conftest import REALPEER, ROOT
from tests.gen_module import gen_pcaps

S = 1_000_000_000
HOSTILE = "capf<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>.example"


def _s05() -> Report:
    report, _ = analyze([str(REALPEER / "S05_capf_filtered.pcap")], Options())
    return report


def _finding(ip: str, code: str, frames: tuple[int, ...], server: str, sev: str = "error",
             text: str = "x") -> Finding:
    return Finding(code, sev, {"ip": ip}, {"ip": server, "port": 3804}, text, text, text,  # type: ignore[arg-type]
                   Evidence(frames, None, None, f"ip.addr=={ip}"))


def _phone(ip: str = "192.0.2.5", what: str = "DNS A capf.example -> 198.51.100.7",
           gap: int = 0) -> PhoneReport:
    t = 10 * S
    return PhoneReport(ip, device="SEP000000000005", timeline=[
        TimelineEntry(1, t, "TFTP SEP000000000005.cnf.xml from 198.51.100.9: 2000 bytes", "ok"),
        TimelineEntry(9, t + 1000, "config SEP000000000005.cnf.xml: CAPF capf.example:3804",
                      "ok"),
        TimelineEntry(10, t + 2000, what, "ok"),
        TimelineEntry(12, t + 3000 + gap, "CAPF TCP 50000 -> 198.51.100.7:3804: S0 (S)",
                      "failed"),
    ], flows=[
        {"proto": "udp", "first_frame": 1, "server": "198.51.100.9", "server_port": 69,
         "service": "TFTP", "frames": 9},
        {"proto": "udp", "first_frame": 10, "server": "203.0.113.53", "server_port": 53,
         "service": "DNS", "orig_pkts": 1, "resp_pkts": 1},
        {"proto": "tcp", "first_frame": 12, "server": "198.51.100.7", "server_port": 3804,
         "service": "CAPF", "conn_state": "S0", "orig_pkts": 4, "resp_pkts": 0},
    ], verdict="blocked")


# -- ladder layout (pure) -------------------------------------------------------------------
def test_ladder_lanes_and_steps() -> None:
    p = _phone()
    d = layout(p, [_finding(p.ip, "CAPF_UNIDIRECTIONAL", (12,), "198.51.100.7")])
    assert [ln.ip for ln in d.lanes] == [p.ip, "198.51.100.9", "203.0.113.53", "198.51.100.7"]
    assert d.lanes[1].title == "TFTP" and d.lanes[3].title == "CAPF 3804"
    lane = {ln.ip: ln.x for ln in d.lanes}
    tftp, dns, capf = d.arrows
    assert (tftp.x1, tftp.x2) == (lane["198.51.100.9"], lane[p.ip])  # transfer to the phone
    assert "9 packets" in tftp.meta and not tftp.cross and tftp.kind == "ok"
    assert (dns.x1, dns.x2) == (lane["203.0.113.53"], lane[p.ip])
    assert (capf.x1, capf.x2) == (lane[p.ip], lane["198.51.100.7"])  # the phone's attempt
    assert capf.cross and capf.kind == "error" and capf.code == "CAPF_UNIDIRECTIONAL"
    assert "4 SYNs (3 retransmitted)" in capf.meta and "no answer" in capf.meta
    assert [n.full for n in d.notes] == [p.timeline[1].what]  # parsed config: phone lane
    assert d.arrows[0].y < d.notes[0].y < dns.y < capf.y < d.height
    assert not d.gaps


def test_ladder_marks_gaps_over_a_second_only() -> None:
    assert not layout(_phone(gap=GAP_NS - 5000)).gaps
    d = layout(_phone(gap=3 * S))
    assert len(d.gaps) == 1 and d.gaps[0].label.startswith("+3.00")
    dns, capf = d.arrows[1], d.arrows[2]
    assert dns.y < d.gaps[0].y < capf.y


def test_ladder_code_from_server_when_frame_not_cited() -> None:
    p = _phone()
    d = layout(p, [_finding(p.ip, "CAPF_INFO", (12,), "198.51.100.7", sev="info"),
                   _finding(p.ip, "CAPF_REFUSED", (99,), "198.51.100.7"),
                   _finding("192.0.2.99", "OTHER_PHONE", (12,), "198.51.100.7")])
    assert d.arrows[-1].code == "CAPF_INFO"  # the frame it cites wins over the server
    d = layout(p, [_finding(p.ip, "CAPF_REFUSED", (99,), "198.51.100.7"),
                   _finding("192.0.2.99", "OTHER_PHONE", (12,), "198.51.100.7")])
    assert d.arrows[-1].code == "CAPF_REFUSED"
    assert not [a for a in d.arrows if a.kind != "error" and a.code]


def test_ladder_withheld_and_unknown_outcome() -> None:
    p = _phone()
    p.timeline.append(TimelineEntry(20, 11 * S, "TVS TCP to 198.51.100.7:2445", "unclear"))
    d = layout(p, [], [{"code": "TVS_SILENT", "phone": p.ip, "reason": "one-sided"},
                       {"code": "X", "phone": "192.0.2.200", "reason": "other phone"}])
    assert d.arrows[-1].kind == "withheld"
    wh = [n for n in d.notes if n.kind == "withheld"]
    assert len(wh) == 1 and wh[0].code == "TVS_SILENT" and "one-sided" in wh[0].full
    assert wh[0].y > d.arrows[-1].y


def test_ladder_s05_ends_in_unanswered_syns_to_capf() -> None:
    r = _s05()
    p = r.phones[0]
    d = layout(p, r.findings, r.withheld)
    last = max(d.arrows, key=lambda a: a.y)
    capf = next(fl for fl in p.flows if fl.get("service") == "CAPF")
    lane = {ln.ip: ln.x for ln in d.lanes}
    assert last.cross and last.kind == "error" and last.code == "CAPF_UNIDIRECTIONAL"
    assert (last.x1, last.x2) == (lane[p.ip], lane[str(capf["server"])])
    assert f"{capf['orig_pkts']} SYNs" in last.meta and "over 15." in last.meta


# -- HTML -----------------------------------------------------------------------------------
def _hostile_report() -> Report:
    p = _phone(what=f"DNS A {SCRIPT} -> 198.51.100.7")
    p.device = HOSTILE
    p.verdict = f"blocked at {SCRIPT}"
    f = _finding(p.ip, "CAPF_UNIDIRECTIONAL", (12,), "198.51.100.7", text=HOSTILE)
    return Report([CaptureInfo(f"/tmp/{SCRIPT}.pcap", "ab" * 32, 3, 10 * S, 12 * S)],
                  [p], [f], notes=[HOSTILE], withheld=[
                      {"code": "TVS_SILENT", "phone": p.ip, "reason": SCRIPT}], version="t")


def test_html_escapes_capture_strings() -> None:
    page = render_html(_hostile_report())
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.example" in page
    assert "capf&lt;img src=x onerror=alert(1)&gt;" in page
    assert f'content="{escape(CSP)}"' in page


def test_html_contents_s05() -> None:
    r = _s05()
    page = render_html(r)
    f = r.findings[0]
    assert page.count("<svg") == len(r.phones) == 1
    assert f'data-code="{f.code}"' in page and "class=\"cross\"" in page
    assert escape(f.remediation) in page
    assert f"<code>{escape(f.evidence.filter)}</code>" in page
    assert r.files[0].sha256 in page and f"capfcap {r.version}" in page
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", page)
    assert "<details class=\"phone w-error\" open>" in page


def test_html_collapses_phones_without_warnings() -> None:
    ok, bad = _phone("192.0.2.1"), _phone("192.0.2.2")
    r = Report([], [ok, bad], [_finding("192.0.2.2", "CAPF_UNIDIRECTIONAL", (12,),
                                        "198.51.100.7"),
                               _finding("192.0.2.1", "SOME_INFO", (1,), "198.51.100.9", "info")])
    page = render_html(r)
    assert page.count(" open>") == 1
    assert re.search(r'id="phone-1".*?<details[^>]* open>', page, re.S)
    assert not re.search(r'id="phone-0"[^<]*<details[^>]* open>', page)


def test_cli_html_output(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    main(["analyze", str(REALPEER / "S05_capf_filtered.pcap"), "--format", "html",
          "-o", str(out)])
    page = out.read_text()
    assert page.startswith("{%") is False and "<!DOCTYPE html>" in page
    assert "CAPF_UNIDIRECTIONAL" in page


# -- Markdown and summary.md ----------------------------------------------------------------
def _hostile_config_report(tmp_path: Path) -> Report:
    """A real capture whose phone config names the CAPF server `capf<img ...>`."""
    g = gen_pcaps()
    phone, tftp = g.phone_host(0x31, "192.0.2.31"), g.server_host("198.51.100.31", 0x3100)
    cap = g.Cap(g.start(0))
    dev = g.device_name(phone)
    name = HOSTILE.replace("<", "&lt;").replace(">", "&gt;")  # XML-escaped in the file
    g.tftp_get(cap, phone, tftp, f"{dev}.cnf.xml", g.config_xml(dev, name, [], 2), 49201,
               36012)
    pcap = tmp_path / "hostile.pcap"
    pcap.write_bytes(g.pcap_bytes(g.LINKTYPE_ETHERNET, cap.recs))
    report, _ = analyze([str(pcap)], Options())
    return report


def _live_markup(md: str) -> list[str]:
    """HTML tags a Markdown renderer would pass through: outside code spans and blocks, and
    not backslash-escaped."""
    outside = re.sub(r"(`{3,})[^\n]*\n(?s:.*?)\n\1", "", md)
    outside = re.sub(r"(`+)(?s:.*?)\1", "", outside)
    return re.findall(r"(?<!\\)<(?:img|script)", outside)


def test_markdown_and_summary_escape_hostile_config(tmp_path: Path) -> None:
    r = _hostile_config_report(tmp_path)
    raw = "\n".join([e.what for p in r.phones for e in p.timeline]
                    + [f.summary + f.detail for f in r.findings])
    assert HOSTILE in raw  # the capture really carries the markup
    for text in (render_md(r), render_summary(r, BundleFacts()), render_md(_hostile_report())):
        assert not _live_markup(text), text
    assert "\\<script>" in render_md(_hostile_report())


def test_markdown_timeline_fence_cannot_be_closed() -> None:
    p = _phone(what="DNS A ```\n<img src=x> -> 198.51.100.7")
    md = render_md(Report([], [p], []))
    fence = next(ln for ln in md.splitlines() if ln.startswith("```"))
    assert len(fence) == 4 and md.count(fence) == 2
    assert not _live_markup(md)


# -- real browser ---------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
browser = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                             "(.ci/run installs Debian's chromium)")


def _chromium(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
         *args, page.as_uri()], capture_output=True, text=True, timeout=120)


def _console_errors(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines()
            if "CONSOLE" in ln or "Uncaught" in ln or "Refused" in ln]


@browser
def test_browser_renders_s05(tmp_path: Path) -> None:
    r = _s05()
    page = tmp_path / "r.html"
    page.write_text(render_html(r))
    run = _chromium(page, tmp_path, "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    assert _console_errors(run.stderr) == []
    assert dom.count('class="phone-section"') == len(r.phones)
    assert dom.count("<svg") == len(r.phones)
    code = r.findings[0].code
    assert re.search(r'<g class="step k-error unanswered"[^>]*data-code="' + code + '"', dom)
    shot = tmp_path / "s.png"
    run = _chromium(page, tmp_path, f"--screenshot={shot}", "--window-size=1280,900")
    assert shot.stat().st_size > 10_000


@browser
@pytest.mark.parametrize("name,code", [("S14_tls_version_mismatch", "CAPF_TLS_FAILED"),
                                       ("S22_capf_auth_failed", "CAPF_AUTH_FAILED")])
def test_browser_renders_handshake_and_records(tmp_path: Path, name: str, code: str) -> None:
    """The TLS handshake and record-run arrows reach the rendered DOM, with their full text
    as the step's title, and the failing step carries the finding's code."""
    r, _ = analyze([str(REALPEER / f"{name}.pcap")], Options())
    page = tmp_path / "r.html"
    page.write_text(render_html(r))
    run = _chromium(page, tmp_path, "--dump-dom")
    assert run.returncode == 0 and _console_errors(run.stderr) == []
    dom = run.stdout
    d = layout(r.phones[0], r.findings, r.withheld)
    hello = next(a for a in d.arrows if a.full.startswith("ClientHello"))
    assert f"<title>{escape(hello.full)} ({escape(hello.meta)})</title>" in dom
    assert re.search(r'<g class="step k-error"[^>]*data-code="' + code + '"', dom)
    assert dom.count('role="listitem"') >= len(d.arrows) + len(d.notes)


@browser
def test_browser_refuses_every_load(tmp_path: Path) -> None:
    """The CSP meta makes the browser refuse a load a hostile string could smuggle in."""
    page = tmp_path / "r.html"
    html = render_html(_s05()).replace(
        "</main>", '<img src="http://198.51.100.250/x.png"><script>console.log(1)</script>'
        "</main>")
    page.write_text(html)
    run = _chromium(page, tmp_path, "--dump-dom")
    refused = [ln for ln in run.stderr.splitlines() if "Content Security Policy" in ln]
    assert any("img-src" in ln or "default-src" in ln for ln in refused), run.stderr[-3000:]
    assert any("script-src" in ln or "default-src" in ln for ln in refused)


def fleet_report(n: int) -> Report:
    """N phones copied from the shared real captures' phones (tools/html_bench.py)."""
    spec = importlib.util.spec_from_file_location("html_bench",
                                                  ROOT / "tools" / "html_bench.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.fleet_report(n)  # type: ignore[no-any-return]


@pytest.mark.slow
@browser
def test_browser_renders_2000_phones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("capfcap.reporters.groups.GROUP_MIN", 10**9)  # a section per phone
    r = fleet_report(2000)
    t0 = time.monotonic()
    html = render_html(r)
    t_render = time.monotonic() - t0
    page = tmp_path / "big.html"
    page.write_text(html)
    t0 = time.monotonic()
    run = _chromium(page, tmp_path, "--dump-dom")
    t_browser = time.monotonic() - t0
    print(f"2000 phones: {len(html) / 1e6:.1f} MB, render {t_render:.2f} s, "
          f"chromium load+dump {t_browser:.2f} s")
    assert run.returncode == 0
    assert run.stdout.count('class="phone-section"') == 2000
    assert run.stdout.count("<svg") == 2000
    codes = {f.code for f in r.findings if f.severity == "error"}
    assert {c for c in codes if f'data-code="{c}"' in run.stdout} == codes
    assert t_render < 20 and t_browser < 30


@pytest.mark.parametrize("name,code,kind", [("S01_happy", "CAPF_LSC_ISSUED", "info"),
                                            ("S21_capf_session_cut", "CAPF_SESSION_CUT",
                                             "error"),
                                            ("S22_capf_auth_failed", "CAPF_AUTH_FAILED",
                                             "error")])
def test_ladder_draws_record_outcome_after_its_records(name: str, code: str, kind: str) -> None:
    """A CAPF outcome read from the records is the server's last arrow, at its last
    evidence frame: after the connection and the record runs it judges."""
    r, _ = analyze([str(REALPEER / f"{name}.pcap")], Options())
    p = r.phones[0]
    f = next(f for f in r.findings if f.code == code)
    d = layout(p, r.findings, r.withheld)
    last = max(d.arrows, key=lambda a: a.y)
    lane = {ln.ip: ln.x for ln in d.lanes}
    assert (last.code, last.kind, last.frame) == (code, kind, max(f.evidence.frames))
    assert (last.x1, last.x2) == (lane[str(f.server["ip"])], lane[p.ip])
    conn = next(a for a in d.arrows if a.frame < min(f.evidence.frames) and a.x2 == last.x1)
    assert conn.code == "" and conn.y < last.y
    runs = [a for a in d.arrows if "record" in a.full and a is not last]
    assert runs and all(a.y < last.y and a.frame in f.evidence.frames for a in runs)


def test_verdict_table_marks_an_inconclusive_phone() -> None:
    """S26: the capture stops right after the SYN; the verdict is withheld, so the phone's
    row in the top table says inconclusive, never "none"."""
    r, _ = analyze([str(REALPEER / "S26_capture_stopped_early.pcap")], Options())
    assert r.withheld and not [f for f in r.findings if f.severity in ("error", "warning")]
    page = render_html(r)
    table = page[page.index("<th>worst finding</th>"):]
    row = table[:table.index("</tr>", table.index("<tr><td>"))]
    assert "? inconclusive" in row and "✓ none" not in row
