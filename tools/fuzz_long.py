#!/usr/bin/env python3
"""Long fuzz run over the targets of tools/fuzz_targets.py, for use before a release.

    python tools/fuzz_long.py --minutes 10                     # hypothesis, all targets
    python tools/fuzz_long.py --minutes 10 --engine atheris    # needs: pip install atheris
    python tools/fuzz_long.py --minutes 2 --targets reader,capf_stream

Each target gets an equal share of the time. A crash does not stop the run: the input is
saved under --out (default fuzz-findings/) as <target>-<n>.bin with a .txt holding the
traceback, crashes are de-duplicated by exception type and innermost capfcap frame, and
the summary prints how many inputs each target tried and what it found. An input that
runs longer than --hang seconds counts as a hang; the process runs under a 2 GiB address-
space limit, so an allocation sized by a lying length shows up as MemoryError.
Replay a saved input:  python tools/fuzz_long.py --replay reader fuzz-findings/reader-1.bin
Every finding must become a regression test (tests/test_fuzz.py, tests/test_damaged.py).
"""

from __future__ import annotations

import argparse
import re
import resource
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

MEMORY_LIMIT = 2 << 30


class Hang(Exception):
    pass


class Runner:
    """Calls a target, counts inputs, records distinct crashes without stopping."""

    def __init__(self, name: str, fn: Callable[[bytes], None], out: Path, hang_s: int) -> None:
        self.name, self.fn, self.out, self.hang_s = name, fn, out, hang_s
        self.tried = 0
        self.crashes: dict[str, int] = {}  # signature -> count
        self.slowest = 0.0

    def __call__(self, data: bytes) -> None:
        self.tried += 1
        t = time.monotonic()
        signal.alarm(self.hang_s)
        try:
            self.fn(data)
        except Exception as e:  # noqa: BLE001 - every escape is a finding
            self._record(data, e)
        finally:
            signal.alarm(0)
            self.slowest = max(self.slowest, time.monotonic() - t)

    def _record(self, data: bytes, e: BaseException) -> None:
        tb = traceback.extract_tb(e.__traceback__)
        own = [f for f in tb if "/capfcap/" in f.filename or "fuzz_targets" in f.filename]
        where = f"{Path(own[-1].filename).name}:{own[-1].lineno}" if own else "?"
        sig = f"{type(e).__name__} at {where}"
        n = self.crashes.get(sig, 0) + 1
        self.crashes[sig] = n
        if n == 1:
            self.out.mkdir(parents=True, exist_ok=True)
            k = len(self.crashes)
            (self.out / f"{self.name}-{k}.bin").write_bytes(data)
            (self.out / f"{self.name}-{k}.txt").write_text(
                sig + "\n\n" + "".join(traceback.format_exception(e)))
            print(f"  [{self.name}] NEW {sig}: {str(e)[:160]}", flush=True)


def _on_alarm(_sig: int, _frame: FrameType | None) -> None:
    raise Hang("input ran longer than the hang limit")


def run_hypothesis(r: Runner, seconds: float) -> None:
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis import strategies as st

    end = time.monotonic() + seconds
    batch = 0
    sizes = {"tls_handler": 600, "capf_stream": 300}
    while time.monotonic() < end:
        batch += 1

        @seed(batch)
        @settings(max_examples=2000, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(st.binary(min_size=1, max_size=sizes.get(r.name, 200)))
        def one(data: bytes) -> None:
            if time.monotonic() < end:
                r(data)

        one()


def run_atheris_worker(r: Runner, seconds: float) -> None:
    import atheris

    with atheris.instrument_imports():
        import capfcap.decode  # noqa: F401
        import capfcap.dissectors.capf  # noqa: F401
        import capfcap.extractors.tls  # noqa: F401
        import capfcap.pipeline  # noqa: F401
        import capfcap.sources.files  # noqa: F401
    atheris.Setup([sys.argv[0], f"-max_total_time={int(seconds)}", "-max_len=4096",
                   f"-timeout={r.hang_s}", "-print_final_stats=1"], r)
    atheris.Fuzz()


def main(argv: list[str] | None = None) -> int:
    import fuzz_targets as ft

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--targets", default=",".join(ft.TARGETS))
    ap.add_argument("--engine", choices=["hypothesis", "atheris"], default="hypothesis")
    ap.add_argument("--out", type=Path, default=ROOT / "fuzz-findings")
    ap.add_argument("--hang", type=int, default=30, help="seconds per input before a hang")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--replay", nargs=2, metavar=("TARGET", "FILE"))
    a = ap.parse_args(argv)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    signal.signal(signal.SIGALRM, _on_alarm)
    if a.replay:
        ft.TARGETS[a.replay[0]](Path(a.replay[1]).read_bytes())
        print("no failure")
        return 0
    if a.worker:
        run_atheris_worker(Runner(a.worker, ft.TARGETS[a.worker], a.out, a.hang), a.seconds)
        return 0
    names = [n for n in a.targets.split(",") if n]
    share = a.minutes * 60 / len(names)
    total_tried = 0
    found: list[str] = []
    print(f"fuzzing {', '.join(names)} with {a.engine}, {share:.0f} s each", flush=True)
    for n in names:
        t0 = time.monotonic()
        if a.engine == "atheris":
            p = subprocess.run([sys.executable, __file__, "--worker", n, "--seconds", str(share),
                                "--out", str(a.out), "--hang", str(a.hang)],
                               capture_output=True, text=True)
            m = re.findall(r"Done (\d+) runs", p.stderr)
            tried = int(m[-1]) if m else 0
            crashes = sorted({ln.split("NEW ", 1)[1].split(":", 1)[0]
                              for ln in p.stdout.splitlines() if "NEW " in ln})
            if p.returncode not in (0,) and not m:
                crashes.append(f"worker exited {p.returncode}: {p.stderr.strip()[-200:]}")
            slowest = float("nan")
        else:
            r = Runner(n, ft.TARGETS[n], a.out, a.hang)
            run_hypothesis(r, share)
            tried, slowest = r.tried, r.slowest
            crashes = [f"{s} (x{c})" for s, c in r.crashes.items()]
        total_tried += tried
        found += [f"{n}: {c}" for c in crashes]
        print(f"{n:12} {tried:9,} inputs in {time.monotonic() - t0:6.0f} s, slowest "
              f"{slowest:.2f} s, {len(crashes)} distinct failure(s)", flush=True)
        for c in crashes:
            print(f"    {c}")
    print(f"total: {total_tried:,} inputs, {len(found)} distinct failure(s)"
          + (f"; inputs saved in {a.out}" if found else ""))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
