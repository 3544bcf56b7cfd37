"""Many small dicts with the same keys, at about half the memory of ordinary dicts.

A report of 100,000 phones holds a flow dict and a withheld-verdict dict per phone. CPython
gives the instances of one class a single shared key table (PEP 412 "key-sharing
dictionaries"), so a row built as an instance's `__dict__` stores only its values. The row
is an ordinary `dict` in every respect (equality, JSON, mutation); an interpreter without
key sharing just spends the usual memory."""

from __future__ import annotations

from collections.abc import Iterable

MAX_SHAPES = 256  # distinct key tuples given a shared table; further ones get plain dicts

_shapes: dict[tuple[str, ...], type] = {}


def row(keys: tuple[str, ...], values: Iterable[object]) -> dict[str, object]:
    """{keys[i]: values[i]} in this order, its key table shared with rows of the same keys."""
    cls = _shapes.get(keys)
    if cls is None:
        if len(_shapes) >= MAX_SHAPES:
            return dict(zip(keys, values, strict=True))
        cls = _shapes[keys] = type("Row", (), {})
    d: dict[str, object] = cls().__dict__
    for k, v in zip(keys, values, strict=True):
        d[k] = v
    return d


def compact(d: dict[str, object]) -> dict[str, object]:
    """The same dict (same keys in the same order, same values) as a shared-key row."""
    return row(tuple(d), d.values())
