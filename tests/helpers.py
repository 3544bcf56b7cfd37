"""Small helpers shared by tests (tshark oracle, pcap writers)."""

from __future__ import annotations

import importlib.util
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from tests.tshark_cache import tshark


def tshark_fields(pcap: Path | str, fields: list[str], display_filter: str = "",
                  two_pass: bool = False, extra: list[str] | None = None) -> list[list[str]]:
    cmd = ["-d", "tcp.port==3804,tls", "-T", "fields"]
    if two_pass:
        cmd.append("-2")
    if display_filter:
        cmd += ["-Y", display_filter]
    for f in fields:
        cmd += ["-e", f]
    cmd += extra or []
    run = tshark(pcap, cmd)
    if run.returncode != 0:
        raise subprocess.CalledProcessError(run.returncode, ["tshark", *cmd], run.stdout,
                                            run.stderr)
    return [line.split("\t") for line in run.stdout.splitlines()]


def write_pcap(path: Path, frames: list[tuple[int, bytes]], linktype: int = 1,
               endian: str = "<", nano: bool = False) -> None:
    """Write a classic pcap; frames are (ts_ns, bytes)."""
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    with open(path, "wb") as f:
        f.write(struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype))
        for ts, data in frames:
            frac = ts % 1_000_000_000 if nano else (ts % 1_000_000_000) // 1000
            f.write(struct.pack(endian + "IIII", ts // 1_000_000_000, frac, len(data), len(data)))
            f.write(data)


def tool_module(name: str) -> ModuleType:
    """tools/<name>.py as a module (tools/ is no package)."""
    path = Path(__file__).resolve().parent.parent / "tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def gen_pcaps() -> ModuleType:
    """tools/gen_pcaps.py: its capture builders, for tests that build a shape of their own."""
    return tool_module("gen_pcaps")
