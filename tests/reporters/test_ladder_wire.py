"""The ladder's finer arrows from real shared captures: TLS handshake messages, alerts,
CAPF record runs and transfer counts (checked against tshark where it can say), decoded
CAPF messages, unanswered requests, and labels wrapped without loss. No browser."""

from __future__ import annotations

import re
import subprocess
from itertools import groupby
from pathlib import Path

import pytest
from markupsafe import escape

from capfcap.extractors.tlsdecrypt import load_keylog
from capfcap.pipeline import Options, analyze
from capfcap.report import PhoneReport, Report, TimelineEntry
from capfcap.reporters.html import render as render_html
from capfcap.reporters.ladder import LINE, Arrow, Ladder, layout
from capfcap.reporters.ladder_text import MAX_LABEL, MAX_LINES, lines_of
from tests.conftest import REALPEER

RUN = re.compile(r"^(phone -> CAPF|CAPF -> phone): (\d+) records?, ([\d,]+) B$")


def _ladder(name: str, keylog: bool = False) -> tuple[Report, PhoneReport, Ladder]:
    opts = Options()
    if keylog:
        path = str(REALPEER / "keylogs" / f"{name}.keylog")
        opts.keylog, opts.keylog_data = path, load_keylog(path)
    r, _ = analyze([str(REALPEER / f"{name}.pcap")], opts)
    p = r.phones[0]
    return r, p, layout(p, r.findings, r.withheld)


def _tshark(name: str, filt: str, *fields: str) -> list[list[str]]:
    cmd = ["tshark", "-r", str(REALPEER / f"{name}.pcap"), "-d", "tcp.port==3804,tls",
           "-Y", filt, "-T", "fields", *[x for f in fields for x in ("-e", f)]]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [ln.split("\t") for ln in out.splitlines()]


def _to_phone(d: Ladder, a: Arrow) -> bool:
    return a.x2 == d.lanes[0].x


@pytest.mark.tshark
def test_capf_record_runs_match_tshark() -> None:
    """One arrow per turn of the CAPF dialogue: tshark's application_data records,
    consecutive ones from the same side summed."""
    _r, _p, d = _ladder("S01_happy")
    recs = [(int(fr), port == "3804", int(ln)) for fr, port, ct, ln in _tshark(
        "S01_happy", "tls.record.content_type == 23", "frame.number", "tcp.srcport",
        "tls.record.content_type", "tls.record.length") if ct == "23"]
    want = [(run[0][0], srv, len(run), sum(x[2] for x in run))
            for srv, g in groupby(recs, key=lambda x: x[1]) for run in [list(g)]]
    got = [(a.frame, _to_phone(d, a), int(m[2]), int(m[3].replace(",", "")))
           for a in d.arrows for m in [RUN.match(a.full)] if m]
    assert len(want) >= 4 and got == want
    for a in d.arrows:
        if RUN.match(a.full):
            assert a.full.startswith("CAPF -> phone") == _to_phone(d, a)


@pytest.mark.tshark
def test_tls_handshake_arrows_match_tshark() -> None:
    _r, p, d = _ladder("S01_happy")
    hs = _tshark("S01_happy", "tls.handshake.type == 1 || tls.handshake.type == 2 || "
                 "tls.record.content_type == 20", "frame.number", "tcp.srcport",
                 "tls.handshake.type", "tls.record.content_type")
    by = {a.frame: a for a in d.arrows if not RUN.match(a.full)}
    hello = next(int(r[0]) for r in hs if r[2].split(",")[0] == "1")
    server = next(int(r[0]) for r in hs if "2" in r[2].split(","))
    ccs = [(int(r[0]), r[1] == "3804") for r in hs if "20" in r[3].split(",")]
    assert by[hello].full.startswith("ClientHello") and not _to_phone(d, by[hello])
    assert by[server].full.startswith("ServerHello TLS 1.2, Certificate C=")
    assert _to_phone(d, by[server])
    assert len(ccs) == 2
    for frame, from_server in ccs:
        assert by[frame].full == "ChangeCipherSpec, Finished"
        assert _to_phone(d, by[frame]) == from_server
    conn = next(a for a in d.arrows if a.full.startswith("CAPF TCP"))
    ys = [by[f].y for f in (hello, server, *(f for f, _ in ccs))]
    assert conn.y < ys[0] and ys == sorted(ys)


@pytest.mark.tshark
def test_transfer_arrow_has_block_count_bytes_and_frames() -> None:
    _r, _p, d = _ladder("S01_happy")
    data = _tshark("S01_happy", "tftp.opcode == 3", "frame.number", "udp.dstport",
                   "data.len")
    seen = 0
    for _port, g in groupby(data, key=lambda x: x[1]):
        blocks = list(g)
        n, size = len(blocks), sum(int(b[2]) for b in blocks)
        a = next(a for a in d.arrows if f"{n} blocks, {size:,} B" in a.meta)
        first, last = map(int, re.search(r"frames (\d+)-(\d+)", a.meta).groups())  # type: ignore[union-attr]
        assert first < int(blocks[0][0]) and int(blocks[-1][0]) <= last
        assert a.full.startswith("TFTP ") and _to_phone(d, a) and a.kind == "ok"
        seen += 1
    assert seen == 2  # ITLFile.tlv and the phone's config


def test_fatal_alert_is_where_tls_stopped() -> None:
    r, p, d = _ladder("S14_tls_version_mismatch")
    f = next(f for f in r.findings if f.code == "CAPF_TLS_FAILED")
    alert = next(a for a in d.arrows if a.full.startswith("alert fatal"))
    assert alert.kind == "error" and alert.code == f.code and _to_phone(d, alert)
    assert alert.frame in f.evidence.frames
    assert [a.code for a in d.arrows if a.code] == [f.code]  # drawn once
    hello = next(a for a in d.arrows if a.full.startswith("ClientHello"))
    assert hello.y < alert.y and "TLS 1.0" in hello.full


def test_decoded_capf_messages_are_arrows_on_the_capf_lane() -> None:
    _r, p, d = _ladder("S01_happy", keylog=True)
    msgs = [e for e in p.timeline if re.match(r"\s*(phone -> CAPF|CAPF -> phone):", e.what)]
    capf = next(str(fl["server"]) for fl in p.flows if fl.get("service") == "CAPF")
    lane = {ln.ip: ln.x for ln in d.lanes}
    assert len(msgs) >= 6
    for e in msgs:
        a = next(a for a in d.arrows if a.frame == e.frame and a.full == e.what)
        assert {a.x1, a.x2} == {lane[p.ip], lane[capf]}
        assert _to_phone(d, a) == e.what.strip().startswith("CAPF -> phone")
    assert not [n for n in d.notes if "-> CAPF" in n.full or "CAPF ->" in n.full]
    assert not [a for a in d.arrows if RUN.match(a.full)]  # the messages replace the runs


def test_unanswered_tftp_requests_end_in_a_cross() -> None:
    r, p, d = _ladder("S15_tftp_silent")
    f = next(f for f in r.findings if f.code == "TFTP_NO_RESPONSE")
    rrqs = {int(str(fl["first_frame"])): int(str(fl["frames"])) for fl in p.flows
            if fl.get("service") == "TFTP"}
    crossed = [a for a in d.arrows if a.cross]
    assert len(crossed) == len(rrqs) >= 2
    for a in crossed:
        n = rrqs[a.frame]
        assert f"{n} requests ({n - 1} retransmitted)" in a.meta and "no answer" in a.meta
        assert a.kind == "error" and not _to_phone(d, a)
    assert [a.code for a in crossed] == [""] * (len(crossed) - 1) + [f.code]


def test_labels_wrap_at_64_without_loss() -> None:
    word = "CN=" + "x" * 150
    text = "CAPF TCP 50000 -> capf.example:3804: SF; server certificate " + word
    lines = lines_of(text)
    assert len(lines) > 2 and all(len(ln) <= MAX_LABEL for ln in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    huge = lines_of("y" * (MAX_LABEL * (MAX_LINES + 2)))
    assert len(huge) == MAX_LINES and huge[-1].endswith("…")


def test_wrapped_step_keeps_its_text_and_pushes_the_next_down() -> None:
    long = "DNS A " + "n" * 70 + ".example -> 198.51.100.7 " + "and more words " * 6
    steps = [TimelineEntry(1, 0, long, "ok"), TimelineEntry(2, 1000, "DNS A b -> 198.51.100.7",
                                                            "ok")]
    dns: list[dict[str, object]] = [{"proto": "udp", "first_frame": 9, "server": "198.51.100.7",
                                     "service": "DNS"}]
    short = layout(PhoneReport("192.0.2.5", timeline=[steps[1], steps[1]], flows=dns))
    d = layout(PhoneReport("192.0.2.5", timeline=steps, flows=dns))
    first, second = d.arrows
    assert len(first.lines) >= 3 and first.full == long
    assert second.y - first.y == short.arrows[1].y - short.arrows[0].y + \
        (len(first.lines) - 1) * LINE
    assert first.shaft - first.y == (len(first.lines) - 1) * LINE + (
        short.arrows[0].shaft - short.arrows[0].y)
    page = render_html(Report([], [PhoneReport("192.0.2.5", timeline=steps, flows=dns)], []))
    assert f"<title>{escape(long)} (" in page
    for ln in first.lines:
        assert f"{escape(ln)}</tspan>" in page


def test_withheld_verdict_is_drawn_as_withheld_not_as_an_error() -> None:
    """S26: the capture ends right after the SYN to CAPF; the ladder shows the SYN without
    an answer, as withheld (dashed, "?", the code and "verdict withheld"), never as an
    error."""
    r, p, d = _ladder("S26_capture_stopped_early")
    w = r.withheld[0]
    syn = next(a for a in d.arrows if a.frame in w["frames"])  # type: ignore[operator]
    assert syn.kind == "withheld" and syn.cross and syn.code == w["code"]
    assert not [a for a in d.arrows if a.kind == "error"]
    page = render_html(r)
    assert re.search(r'<g class="step k-withheld unanswered"[^>]*data-code="'
                     + str(w["code"]) + '"', page)
    assert "(verdict withheld)" in page and "? inconclusive" in page


def test_http_transfer_arrow_has_bytes_and_packets() -> None:
    """S09: files over HTTP 6970 (the request is not the first frame of its connection)."""
    _r, p, d = _ladder("S09_http6970")
    got = [e for e in p.timeline if e.what.startswith("HTTP 6970") and e.outcome == "ok"]
    assert len(got) == 2
    for e in got:
        size = int(re.search(r": (\d+) bytes$", e.what).group(1))  # type: ignore[union-attr]
        a = next(a for a in d.arrows if a.frame == e.frame)
        m = re.search(r"frames (\d+)-(\d+) · .* · ([\d,]+) B in (\d+) packets$", a.meta)
        assert m and int(m[3].replace(",", "")) == size and int(m[2]) > int(m[1])
        assert _to_phone(d, a)


def test_wire_steps_only_when_something_draws_them(tmp_path: Path) -> None:
    """The finer steps cost memory per phone: built for --format html and --bundle (its
    report.html), not for text or JSON; the HTML the command line writes still has them."""
    from capfcap.cli import _parser, main
    from capfcap.commands.common import options

    path = str(REALPEER / "S01_happy.pcap")
    assert not any(p.wire for p in analyze([path], Options(ladder=False))[0].phones)
    assert any(p.wire for p in analyze([path], Options())[0].phones)
    out = tmp_path / "r.html"
    main(["analyze", path, "--format", "html", "-o", str(out), "--fail-on", "never"])
    assert "records" in out.read_text() and "ServerHello" in out.read_text()
    parse = _parser().parse_args
    assert options(parse(["analyze", path, "--format", "html"])).ladder
    assert options(parse(["analyze", path, "--bundle", "b.zip"])).ladder
    assert not options(parse(["analyze", path, "--format", "json"])).ladder
