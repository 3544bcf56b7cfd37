"""Running tshark for `--crosscheck`: one two-pass run over the frames the findings cite,
the non-standard TLS ports decoded as TLS, TFTP objects exported in the same run; several
captures are merged first with mergecap, the way the pipeline numbers their frames.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterable

from capfcap import exitcodes
from capfcap.correlator.common import frames_filter
from capfcap.protocol import TSHARK_TLS_PORTS
from capfcap.tshark.ek import WiresharkFrames, read_ek

MISSING = "tshark not found: install it (apt-get install tshark) or drop --crosscheck"


class CrosscheckError(Exception):
    """A one-line reason why the crosscheck could not run, with its exit status."""

    def __init__(self, message: str, status: int = exitcodes.BAD_INPUT) -> None:
        super().__init__(message)
        self.status = status


def tshark_args(extra: Iterable[int] = ()) -> list[str]:
    """`-d` options that decode the phone-facing TLS ports (DESIGN §2), and `extra` (CAPF/TVS
    ports a config or --capf-port/--tvs-port named), as TLS."""
    out: list[str] = []
    for p in tls_ports(extra):
        out += ["-d", f"tcp.port=={p},tls"]
    return out


def tls_ports(extra: Iterable[int] = ()) -> tuple[int, ...]:
    return (*TSHARK_TLS_PORTS, *sorted(set(extra) - set(TSHARK_TLS_PORTS)))


def tshark_ek(path: str, frames: list[int], objdir: str | None, tshark: str,
              extra_tls: Iterable[int] = ()) -> list[str]:
    """tshark's EK (JSON lines) output for the given frames and the DNS responses it links
    to them: two passes (`-2`), the phone-facing TLS ports decoded as TLS, TFTP objects
    exported into `objdir`."""
    flt = frames_filter(frames)
    # Wireshark pairs DNS by ID and conversation only: the question of a response it links
    # to a cited query tells whether that response answers it (see _Check.dns)
    flt = f"{flt} || {flt.replace('frame.number', 'dns.response_to', 1)}"
    cmd = [tshark, "-n", "-2", "-r", path, "-T", "ek", "-Y", flt, *tshark_args(extra_tls)]
    if objdir is not None:
        cmd += ["--export-objects", f"tftp,{objdir}"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    except OSError as e:
        raise CrosscheckError(f"{path}: tshark could not run ({e.strerror})") from None
    lines = r.stdout.splitlines()
    if r.returncode != 0 and not any('"layers"' in ln for ln in lines):
        # tshark exits 2 on a cut-short file after printing what it read
        last = (r.stderr.strip().splitlines() or [f"exit status {r.returncode}"])[-1]
        raise CrosscheckError(f"{path}: Wireshark could not read the capture ({last})")
    return lines


def read_frames(path: str, frames: Iterable[int], objdir: str | None = None,
                tshark: str | None = None, extra_tls: Iterable[int] = ()) -> WiresharkFrames:
    """Wireshark's fields of the given frames, from one tshark run; `extra_tls`: the
    CAPF/TVS ports the report learned, decoded as TLS too."""
    wanted = sorted(set(frames))
    if not wanted:
        return WiresharkFrames()
    exe = tshark or shutil.which("tshark")
    if exe is None:
        raise CrosscheckError(MISSING, exitcodes.USAGE)
    return read_ek(tshark_ek(path, wanted, objdir, exe, extra_tls))


def merge_captures(files: list[str], tmp: str) -> str:
    """Several captures merged in time order, as the pipeline numbers their frames."""
    mergecap = shutil.which("mergecap")
    if mergecap is None:
        raise CrosscheckError("mergecap not found: install wireshark-common, or pass one "
                              "capture with --crosscheck", exitcodes.USAGE)
    out = os.path.join(tmp, "merged.pcapng")
    r = subprocess.run([mergecap, "-w", out, *files], capture_output=True, text=True,
                       check=False, timeout=600)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["failed"])[-1]
        raise CrosscheckError(f"mergecap could not merge the captures: {last}")
    return out


def exported_objects(objdir: str) -> dict[str, list[str]]:
    """Exported TFTP objects: file name (without Wireshark's "(n)" suffix) -> SHA-256s."""
    out: dict[str, list[str]] = {}
    for name in sorted(os.listdir(objdir)):
        p = os.path.join(objdir, name)
        with open(p, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        stem, dot, ext = name.rpartition(".")
        base = name
        if dot and stem.endswith(")") and "(" in stem:
            base = stem[: stem.rindex("(")] + "." + ext
        out.setdefault(base, []).append(digest)
    return out
