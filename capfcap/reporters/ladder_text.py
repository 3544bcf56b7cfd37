"""Text of the ladder's labels: wrapped, never cut.

A label longer than MAX_LABEL characters is wrapped at spaces (at MAX_LABEL characters
inside a longer word: a certificate subject, a hostile DNS name), up to MAX_LINES lines;
a longer text ends its last line with "…", and the whole text stays in the step's SVG
<title>, the tooltip and the accessible name.
"""

from __future__ import annotations

import textwrap

MAX_LABEL = 64  # characters per drawn line
MAX_LINES = 6  # drawn lines per step


def lines_of(text: str) -> tuple[str, ...]:
    text = " ".join(text.split())
    lines = textwrap.wrap(text, MAX_LABEL, break_long_words=True, break_on_hyphens=False)
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES]
        lines[-1] = lines[-1][:MAX_LABEL - 1] + "…"
    return tuple(lines) or ("",)


def seconds(ns: int) -> str:
    return f"{ns / 1e9:.3f} s"
