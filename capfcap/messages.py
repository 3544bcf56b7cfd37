"""What the phone (or CUCM) shows, and the findings to look for: `capfcap explain "TEXT"`.

The table is data, in messages.toml beside this module. Each message lists the texts an
admin copies (phone screen and Status Messages, the LSC field, CUCM's Certificate Operation
Status, phone console-log lines), where it appears with the document that says so, what it
means, and the findings to check in triage order. A step without codes names a cause
capfcap does not diagnose. Codes may name findings of DESIGN §4 that a given build does not
raise yet.

Matching is a substring match after folding case and punctuation: the text is lower-cased,
every run of characters other than letters and digits becomes one space, and a pattern is a
sequence of such fragments that must occur in that order, each starting at a word boundary.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from importlib import resources
from typing import Literal, cast

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

Kind = Literal["problem", "benign", "context"]


@dataclass(frozen=True)
class Step:
    codes: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class Message:
    shows: tuple[str, ...]  # the texts as displayed
    patterns: tuple[tuple[str, ...], ...]  # folded fragments, in order
    where: str
    source: str
    meaning: str
    kind: Kind = "problem"
    steps: tuple[Step, ...] = ()


def fold(text: str) -> str:
    """Lower case; every run of non-alphanumerics becomes one space; padded with spaces."""
    return " " + re.sub(r"[^a-z0-9]+", " ", text.lower()).strip() + " "


class MessagesError(ValueError):
    """messages.toml does not hold the table this module reads (a packaging or edit error)."""


_KINDS = ("problem", "benign", "context")
_REQUIRED = {"shows", "patterns", "where", "source", "meaning"}


def _text(v: object, where: str) -> str:
    if not isinstance(v, str):
        raise MessagesError(f"{where}: expected text, got {type(v).__name__}")
    return v


def _texts(v: object, where: str) -> tuple[str, ...]:
    if not isinstance(v, list) or not v:
        raise MessagesError(f"{where}: expected a non-empty list of texts")
    return tuple(_text(x, where) for x in v)


def _step(v: object, shared: dict[str, Step], where: str) -> Step:
    if not isinstance(v, dict):
        raise MessagesError(f"{where}: expected a table")
    if set(v) == {"use"}:
        name = _text(v["use"], where)
        if name not in shared:
            raise MessagesError(f"{where}: no shared step [steps.{name}]")
        return shared[name]
    if set(v) != {"codes", "note"}:
        raise MessagesError(f"{where}: expected codes and note, or use; got {sorted(v)}")
    return Step(tuple(_text(v["codes"], where).split()), _text(v["note"], where))


def _message(v: object, shared: dict[str, Step], where: str) -> Message:
    if not isinstance(v, dict) or not _REQUIRED <= set(v) <= _REQUIRED | {"kind", "step"}:
        raise MessagesError(f"{where}: expected the keys {sorted(_REQUIRED)}, kind, step")
    kind = _text(v.get("kind", "problem"), where)
    if kind not in _KINDS:
        raise MessagesError(f"{where}: kind {kind!r} is not one of {', '.join(_KINDS)}")
    steps = v.get("step", [])
    if not isinstance(steps, list):
        raise MessagesError(f"{where}: step: expected [[message.step]] tables")
    patterns = v["patterns"]
    if not isinstance(patterns, list) or not patterns:
        raise MessagesError(f"{where}: patterns: expected a list of lists of fragments")
    return Message(
        _texts(v["shows"], f"{where}.shows"),
        tuple(_texts(p, f"{where}.patterns") for p in patterns),
        _text(v["where"], f"{where}.where"), _text(v["source"], f"{where}.source"),
        _text(v["meaning"], f"{where}.meaning"), cast(Kind, kind),
        tuple(_step(s, shared, f"{where}.step[{i}]") for i, s in enumerate(steps)))


def parse_table(text: str) -> tuple[Message, ...]:
    """The messages of a messages.toml text, every key and type checked."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise MessagesError(f"messages.toml: {e}") from None
    unknown = set(doc) - {"steps", "message"}
    if unknown:
        raise MessagesError(f"messages.toml: unknown tables {sorted(unknown)}")
    shared = {name: _step(v, {}, f"steps.{name}") for name, v in doc.get("steps", {}).items()}
    return tuple(_message(m, shared, f"message[{i}]") for i, m in enumerate(doc.get("message", [])))


# The table is data: capfcap/messages.toml (its header says what each entry holds).
MESSAGES: tuple[Message, ...] = parse_table(
    resources.files("capfcap").joinpath("messages.toml").read_text(encoding="utf-8"))


def _span(folded: str, pattern: tuple[str, ...]) -> tuple[int, int] | None:
    """(start, end) of the fragments found in order, each at a word boundary."""
    pos, start = 0, -1
    for frag in pattern:
        i = folded.find(" " + frag, pos)
        if i < 0:
            return None
        if start < 0:
            start = i
        pos = i + 1 + len(frag)
    return start, pos


def lookup(text: str) -> list[Message]:
    """The messages found in `text`, in order of appearance. A match inside a longer one
    (`Installed` inside `Not Installed`) is dropped."""
    folded = fold(text)
    found: list[tuple[tuple[int, int], Message]] = []
    for m in MESSAGES:
        spans = [sp for p in m.patterns if (sp := _span(folded, p)) is not None]
        if spans:
            found.append((min(spans, key=lambda sp: (sp[0], -sp[1])), m))

    def inside(a: tuple[int, int], b: tuple[int, int]) -> bool:
        return a != b and b[0] <= a[0] and a[1] <= b[1]

    kept = [(sp, m) for sp, m in found if not any(inside(sp, o) for o, _ in found)]
    return [m for _, m in sorted(kept, key=lambda x: x[0][0])]


def codes_named() -> set[str]:
    return {c for m in MESSAGES for s in m.steps for c in s.codes}
