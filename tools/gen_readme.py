#!/usr/bin/env python3
"""Rewrite README.md's findings reference from the catalog (`capfcap explain`'s source).

The block between `<!-- findings:begin -->` and `<!-- findings:end -->` is replaced by
`capfcap.commands.explain.markdown_reference()`. `--check` only reports whether it is current
(exit 1 when not), for CI.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from capfcap.commands.explain import markdown_reference  # noqa: E402

BEGIN = "<!-- findings:begin -->"
END = "<!-- findings:end -->"


class MarkerError(Exception):
    pass


def block(text: str) -> tuple[int, int]:
    """(start, end) of the text between the markers (exclusive of the markers)."""
    b = text.find(BEGIN)
    e = text.find(END)
    if b < 0 or e < 0 or e < b or text.count(BEGIN) != 1 or text.count(END) != 1:
        raise MarkerError(f"README needs exactly one {BEGIN} ... {END} block")
    return b + len(BEGIN), e


def current(text: str) -> str:
    s, e = block(text)
    return text[s:e].strip("\n") + "\n"


def rewrite(text: str) -> str:
    s, e = block(text)
    return text[:s] + "\n" + markdown_reference() + text[e:]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("readme", nargs="?", default=str(ROOT / "README.md"))
    ap.add_argument("--check", action="store_true", help="exit 1 if the block is stale")
    args = ap.parse_args(argv)
    path = Path(args.readme)
    try:
        text = path.read_text(encoding="utf-8")
        new = rewrite(text)
    except (OSError, MarkerError) as e:
        print(f"gen_readme: {e}", file=sys.stderr)
        return 2
    if args.check:
        if new != text:
            print(f"gen_readme: {path} findings reference is stale; run tools/gen_readme.py",
                  file=sys.stderr)
            return 1
        return 0
    if new != text:
        path.write_text(new, encoding="utf-8")
        print(f"gen_readme: rewrote the findings reference in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
