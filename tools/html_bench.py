"""How long a large `--format html` report takes to render and to load in a browser.

The phones are the shared real-implementation captures' phones (pcaps/realpeer: an
enrolment that succeeded, one filtered at CAPF, one rejected, a TLS failure, an
inconclusive one), each copied N/5 times under a new documentation address with its
findings and withheld verdicts: a report of N phones with real ladders.

    python3 tools/html_bench.py 1000 2000 [--out DIR]

prints, per N: page size, capfcap render time (Jinja2 + layout) and headless Chromium's
time to load the page and dump its DOM (the time until the browser has it rendered).
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from capfcap.pipeline import Options, analyze  # noqa: E402
from capfcap.report import PhoneReport, Report  # noqa: E402
from capfcap.reporters.html import render  # noqa: E402

SOURCES = ("S01_happy", "S05_capf_filtered", "S22_capf_auth_failed",
           "S14_tls_version_mismatch", "S26_capture_stopped_early")


def _address(i: int) -> str:
    """The i-th address of 2001:db8::/32 (RFC 3849), one per phone."""
    return f"2001:db8:{i >> 16:x}:{i & 0xffff:x}::21"


def fleet_report(n: int) -> Report:
    base = [analyze([str(ROOT / "pcaps" / "realpeer" / f"{s}.pcap")], Options())[0]
            for s in SOURCES]
    phones: list[PhoneReport] = []
    r = Report(files=[dataclasses.replace(b.files[0]) for b in base], phones=phones,
               findings=[], version=base[0].version)
    for i in range(n):
        src = base[i % len(base)]
        p, ip = src.phones[0], _address(i)
        phones.append(dataclasses.replace(p, ip=ip, device=f"SEP{i:012X}"))
        r.findings += [dataclasses.replace(f, phone={**f.phone, "ip": ip})
                       for f in src.findings if f.phone.get("ip") == p.ip]
        r.withheld += [{**w, "phone": ip} for w in src.withheld if w.get("phone") == p.ip]
    return r


def browser_seconds(page: Path, chromium: str) -> tuple[float, int]:
    """Seconds for headless Chromium to load and render the page (dump its DOM), and how
    many phone sections the rendered DOM holds."""
    with tempfile.TemporaryDirectory() as prof:
        t0 = time.monotonic()
        run = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                              "--no-first-run", f"--user-data-dir={prof}", "--dump-dom",
                              page.as_uri()], capture_output=True, text=True, timeout=300)
        return time.monotonic() - t0, run.stdout.count('class="phone-section"')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("phones", type=int, nargs="+")
    ap.add_argument("--out", type=Path, default=None, help="keep the pages here")
    a = ap.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    out = a.out or Path(tempfile.mkdtemp())
    out.mkdir(parents=True, exist_ok=True)
    print("| phones | ladder steps | page MB | render s | chromium load+render s |")
    print("|---|---|---|---|---|")
    for n in a.phones:
        r = fleet_report(n)
        t0 = time.monotonic()
        html = render(r)
        t_render = time.monotonic() - t0
        page = out / f"fleet-{n}.html"
        page.write_text(html)
        load, sections = browser_seconds(page, chromium) if chromium else (float("nan"), n)
        assert sections == n, f"{sections} phone sections rendered of {n}"
        steps = html.count('class="step')
        print(f"| {n:,} | {steps:,} | {len(html) / 1e6:.1f} | "
              f"{t_render:.2f} | {load:.2f} |")


if __name__ == "__main__":
    main()
