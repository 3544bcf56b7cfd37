"""The package's import graph: no cycle between modules or packages, and the layering
docs/ARCHITECTURE.md states (the correlator never touches scapy, reporters never read
captures). Imports are read with `ast`, at module level and inside functions alike."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "capfcap"


def _modules(pkg: Path) -> dict[str, tuple[Path, str]]:
    """Module name -> (file, the package its relative imports start from)."""
    out: dict[str, tuple[Path, str]] = {}
    for path in sorted(pkg.rglob("*.py")):
        parts = list(path.relative_to(pkg.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
            out[".".join(parts)] = (path, ".".join(parts))
        else:
            out[".".join(parts)] = (path, ".".join(parts[:-1]))
    return out


def _imported(tree: ast.AST, package: str) -> Iterator[tuple[str, list[str]]]:
    """(module, [names]) of every import statement anywhere in `tree` (`import a.b` is
    ("a.b", [])), relative modules resolved against `package`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((a.name, []) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            yield mod, [a.name for a in node.names]


def _owner(name: str, modules: dict[str, tuple[Path, str]]) -> str | None:
    """The module a dotted name lives in (the longest known prefix), if it is ours."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(pkg: Path = PKG) -> dict[str, set[str]]:
    """Module -> the modules of `pkg` it imports. `from p import m` where m is a module
    is an edge to m (and to p only when p also gives a name that is not a module)."""
    modules = _modules(pkg)
    graph: dict[str, set[str]] = {}
    for name, (path, package) in modules.items():
        deps: set[str] = set()
        for mod, names in _imported(ast.parse(path.read_text(encoding="utf-8")), package):
            subs = [f"{mod}.{n}" for n in names if f"{mod}.{n}" in modules]
            targets = subs + ([mod] if len(subs) < len(names) or not names else [])
            for t in targets:
                owner = _owner(t, modules)
                if owner is not None and owner != name:
                    deps.add(owner)
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph between capfcap's top-level modules and subpackages."""
    def top(m: str) -> str:
        return ".".join(m.split(".")[:2])

    out: dict[str, set[str]] = {}
    for m, deps in graph.items():
        out.setdefault(top(m), set()).update(top(d) for d in deps if top(d) != top(m))
    return out


def _external(pkg: Path, under: str) -> dict[str, set[str]]:
    """Module -> every dotted name it imports (ours and others'), for `capfcap.under`."""
    out: dict[str, set[str]] = {}
    for name, (path, package) in _modules(pkg).items():
        if name == under or name.startswith(under + "."):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            out[name] = {d for mod, names in _imported(tree, package)
                         for d in (mod, *(f"{mod}.{n}" for n in names))}
    return out


def test_no_cycle_between_modules() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_no_cycle_between_packages() -> None:
    found = cycles(packages(import_graph()))
    assert not found, "package cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_correlator_never_imports_scapy() -> None:
    bad = {m: sorted(n for n in names if n.split(".")[0] == "scapy")
           for m, names in _external(PKG, "capfcap.correlator").items()}
    assert not {m: n for m, n in bad.items() if n}


@pytest.mark.parametrize("lower", ["capfcap.extractors", "capfcap.sources",
                                   "capfcap.decode", "capfcap.pipeline", "scapy"])
def test_reporters_only_render_a_report(lower: str) -> None:
    bad = {m: sorted(n for n in names if n == lower or n.startswith(lower + "."))
           for m, names in _external(PKG, "capfcap.reporters").items()}
    assert not {m: n for m, n in bad.items() if n}


def _package(root: Path, modules: dict[str, str]) -> Path:
    """A `capfcap` package under `root`: dotted module name (under capfcap) -> source;
    every package on the way gets an empty __init__.py."""
    pkg = root / "capfcap"
    for name, text in modules.items():
        *dirs, leaf = name.split(".")
        for i in range(len(dirs) + 1):
            pkg.joinpath(*dirs[:i]).mkdir(parents=True, exist_ok=True)
            pkg.joinpath(*dirs[:i], "__init__.py").touch()
        pkg.joinpath(*dirs, leaf + ".py").write_text(text, encoding="utf-8")
    return pkg


def test_a_cycle_through_a_function_level_relative_import_is_named(tmp_path: Path) -> None:
    pkg = _package(tmp_path, {"a": "from capfcap.sub import b\n",
                              "sub.b": "def f():\n    from ..a import x\n    return x\n",
                              "sub.c": "from . import b\n"})
    g = import_graph(pkg)
    assert g["capfcap.sub.b"] == {"capfcap.a"}
    assert g["capfcap.a"] == {"capfcap.sub.b"}
    assert g["capfcap.sub.c"] == {"capfcap.sub.b"}  # `from . import b` is b, not sub
    assert cycles(g) == [["capfcap.a", "capfcap.sub.b"]]


def test_a_package_cycle_is_found_without_a_module_cycle(tmp_path: Path) -> None:
    pkg = _package(tmp_path, {"top": "import capfcap.sub.low\n", "sub.low": "",
                              "sub.high": "from capfcap.top import thing\n"})
    g = import_graph(pkg)
    assert cycles(g) == []
    assert cycles(packages(g)) == [["capfcap.sub", "capfcap.top"]]


def test_package_inits_import_none_of_their_modules() -> None:
    """A package's __init__ loading its own modules is what made `from capfcap.correlator
    import facts` in a rule load the engine, and with it every rule, half-initialised."""
    graph = import_graph()
    bad = {p: sorted(d for d in deps if d.startswith(p + "."))
           for p, deps in graph.items() if (PKG.parent / p.replace(".", "/")).is_dir()}
    assert not {p: d for p, d in bad.items() if d}


# docs/ARCHITECTURE.md, "What each package may import": capfcap packages each may use
ALLOWED = {
    "capfcap.protocol": set(), "capfcap.errors": set(), "capfcap.events": set(),
    "capfcap.findings": set(), "capfcap.filenames": set(), "capfcap.messages": set(),
    "capfcap.catalog": {"capfcap.findings"},
    "capfcap.exitcodes": set(),
    "capfcap.sources": {"capfcap"},
    "capfcap.headers": {"capfcap.sources"},
    "capfcap.decode": {"capfcap.headers", "capfcap.sources", "capfcap.protocol"},
    "capfcap.arp": {"capfcap.headers", "capfcap.sources"},
    "capfcap.checksum": {"capfcap.decode", "capfcap.headers"},
    "capfcap.learn": {"capfcap.decode", "capfcap.sources", "capfcap.protocol"},
    "capfcap.dissectors": {"capfcap.events", "capfcap.protocol"},
    "capfcap.trust": {"capfcap.dissectors", "capfcap.events", "capfcap.protocol"},
    "capfcap.extractors": {"capfcap.decode", "capfcap.arp", "capfcap.dissectors", "capfcap.trust",
                           "capfcap.events", "capfcap.filenames", "capfcap.protocol"},
    "capfcap.correlator": {"capfcap.events", "capfcap.findings", "capfcap.catalog",
                           "capfcap.report",
                           "capfcap.trust", "capfcap.filenames", "capfcap.phonesel",
                           "capfcap.protocol"},
    "capfcap.reporters": {"capfcap.report", "capfcap.fleet", "capfcap.findings",
                          "capfcap.catalog",
                          "capfcap.events", "capfcap.exitcodes", "capfcap.terminal"},
}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_the_architecture_allows(package: str) -> None:
    used = packages(import_graph()).get(package, set())
    assert used <= ALLOWED[package], sorted(used - ALLOWED[package])
