"""Terminal conventions for text output, as tshark, ripgrep and httpie behave.

- Width: `COLUMNS` when set to a number, else the terminal's width on a terminal; off a
  terminal, None (no wrapping at all: a pipe gets whole lines).
- Colour: `--color always|never` decides; `auto` colours a terminal unless `NO_COLOR`
  is set to a non-empty value (https://no-color.org).
"""

from __future__ import annotations

import os
import shutil
from typing import TextIO

UNWRAPPED = 1 << 16  # a width no report line reaches: "do not wrap"


def width(stream: TextIO) -> int | None:
    cols = os.environ.get("COLUMNS", "")
    if cols.isdigit() and int(cols) > 0:
        return int(cols)
    if _isatty(stream):
        return shutil.get_terminal_size((80, 24)).columns
    return None


def use_color(choice: str, stream: TextIO) -> bool:
    if choice in ("always", "never"):
        return choice == "always"
    return _isatty(stream) and not os.environ.get("NO_COLOR")


def strip_trailing(text: str) -> str:
    """Every line without trailing blanks (padding of table cells and rules)."""
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
