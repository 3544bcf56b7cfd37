"""One definition per fact: the protocol constants live in capfcap/protocol.py, and
whether a file server answered is judged in capfcap/correlator/transfers.py only.
Read from the source with `ast`, so a second copy anywhere fails here."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "capfcap"
HOME = {"capfcap/protocol.py"}
# the well-known ports protocol.py names
PORTS = {53, 69, 443, 2443, 2444, 2445, 3804, 5061, 6970, 6971, 6972, 8443}


def _sources(pkg: Path = PKG) -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(pkg.rglob("*.py")):
        yield (path.relative_to(pkg.parent).as_posix(),
               ast.parse(path.read_text(encoding="utf-8")))


def _ints(node: ast.expr) -> list[int]:
    """The int literals of a constant or of a set/tuple/list/frozenset(...) literal."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args \
            and node.func.id in ("frozenset", "set", "tuple"):
        node = node.args[0]
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return [node.value]
    if isinstance(node, ast.Set | ast.Tuple | ast.List):
        return [e.value for e in node.elts
                if isinstance(e, ast.Constant) and type(e.value) is int]
    return []


def port_constants(pkg: Path = PKG) -> dict[str, list[str]]:
    """File -> names bound at module level to a port number or a set of two or more."""
    out: dict[str, list[str]] = {}
    for rel, tree in _sources(pkg):
        for node in tree.body:
            if isinstance(node, ast.Assign) and node.value is not None:
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value
            else:
                continue
            ports = [v for v in _ints(value) if v in PORTS]
            single = isinstance(value, ast.Constant)
            if (single and ports) or len(ports) >= 2:
                out.setdefault(rel, []).extend(
                    t.id for t in targets if isinstance(t, ast.Name))
    return out


def name_tables(pkg: Path = PKG) -> dict[str, list[int]]:
    """File -> lines of dict literals naming TLS alerts or versions."""
    out: dict[str, list[int]] = {}
    for rel, tree in _sources(pkg):
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                values = {v.value for v in node.values if isinstance(v, ast.Constant)}
                if values & {"unknown_ca", "certificate_unknown", "TLS 1.2", "TLS 1.3"}:
                    out.setdefault(rel, []).append(node.lineno)
    return out


def answered_judgements(pkg: Path = PKG) -> dict[str, list[int]]:
    """File -> lines comparing a `.status` with "no_response" or testing a `.size` next
    to a status (the two ways of judging that a server answered)."""
    out: dict[str, list[int]] = {}
    for rel, tree in _sources(pkg / "correlator"):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            status = any(isinstance(s, ast.Attribute) and s.attr == "status" for s in sides)
            consts = {c.value for s in sides for c in ast.walk(s) if isinstance(c, ast.Constant)}
            if status and ("no_response" in consts or {"complete", "error"} <= consts):
                out.setdefault(rel, []).append(node.lineno)
    return out


def test_ports_are_defined_only_in_protocol() -> None:
    found = port_constants()
    assert set(found) == HOME, {f: n for f, n in found.items() if f not in HOME}
    # each name there once
    names = found["capfcap/protocol.py"]
    assert len(names) == len(set(names))


def test_tls_name_tables_are_defined_only_in_protocol() -> None:
    found = name_tables()
    assert set(found) == HOME, found
    assert len(found["capfcap/protocol.py"]) == 2  # alerts, versions


def test_answered_is_judged_in_one_module() -> None:
    found = answered_judgements()
    assert set(found) == {"correlator/transfers.py"}, found
    # answered, answer_captured, ended_unanswered
    assert len(found["correlator/transfers.py"]) == 3


def test_the_checks_find_second_copies(tmp_path: Path) -> None:
    pkg = tmp_path / "capfcap"
    (pkg / "correlator").mkdir(parents=True)
    (pkg / "protocol.py").write_text("TFTP_PORT = 69\nTLS = frozenset({2443, 3804})\n")
    (pkg / "x.py").write_text(
        "PORT = 3804\nOTHER = (2445, 6971)\nA = {46: 'certificate_unknown'}\nN = 10\n")
    (pkg / "correlator" / "r.py").write_text(
        "def f(t):\n    return t.status != 'no_response'\n"
        "def g(t):\n    return t.status in ('complete', 'error') or t.size\n")
    assert port_constants(pkg) == {"capfcap/protocol.py": ["TFTP_PORT", "TLS"],
                                   "capfcap/x.py": ["PORT", "OTHER"]}
    assert name_tables(pkg) == {"capfcap/x.py": [3]}
    assert answered_judgements(pkg) == {"correlator/r.py": [2, 4]}
