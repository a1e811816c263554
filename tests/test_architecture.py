"""The package's shape: stages as layers, no import cycle, small modules, no import-time effects."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "qyzj_analytics"
MAX_LINES = 450


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    """Imports between the package's modules, imports inside functions included and those under
    ``if TYPE_CHECKING:`` left out (they never run)."""
    return grimp.build_graph(PACKAGE, exclude_type_checking_imports=True, cache_dir=None)


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module, or a module importing itself
    (Tarjan's algorithm, iterative).

    >>> find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    [['a', 'b', 'c']]
    >>> find_cycles({"a": {"b"}, "b": set()})
    []
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges.get(node, ()):
                    cycles.append(sorted(component))
    return cycles


def test_no_import_cycle(graph: grimp.ImportGraph) -> None:
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    cycles = find_cycles(edges)
    details = [
        f"{a} → {b} (line {d['line_number']}: {d['line_contents']})"
        for cycle in cycles
        for a in cycle
        for b in sorted(edges[a] & set(cycle))
        for d in graph.get_import_details(importer=a, imported=b)
    ]
    assert not cycles, "import cycles:\n" + "\n".join(details)


def test_cycle_finder_counts_imports_inside_functions(tmp_path: Path) -> None:
    """The graph the cycle test reads sees function-level imports but not TYPE_CHECKING ones."""
    pkg = tmp_path / "cyclepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from cyclepkg import b\n")
    (pkg / "b.py").write_text("import cyclepkg.a\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from cyclepkg import b\n"
    )
    (pkg / "d.py").write_text("import cyclepkg.c\n")
    sys.path.insert(0, str(tmp_path))
    try:
        g = grimp.build_graph("cyclepkg", exclude_type_checking_imports=True, cache_dir=None)
    finally:
        sys.path.remove(str(tmp_path))
    edges = {m: g.find_modules_directly_imported_by(m) for m in g.modules}
    assert find_cycles(edges) == [["cyclepkg.a", "cyclepkg.b"]]
    assert "cyclepkg.b" not in edges["cyclepkg.c"]


def test_layers_contract_is_kept() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    assert len(layers) >= 5
    named = {part.strip() for layer in layers for part in layer.split("|")}
    subpackages = {
        f"{PACKAGE}.{p.stem if p.is_file() else p.name}"
        for p in (ROOT / PACKAGE).iterdir()
        if (p.is_dir() and (p / "__init__.py").exists())
        or (p.suffix == ".py" and p.stem != "__init__")
    }
    assert subpackages <= named, f"not in any layer: {sorted(subpackages - named)}"
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports;"
            " sys.exit(lint_imports(no_cache=True, no_logo=True))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_modules_are_small() -> None:
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for p in (ROOT / PACKAGE).rglob("*.py")
    }
    assert {p: n for p, n in sizes.items() if n > MAX_LINES} == {}


def test_importing_every_module_has_no_side_effects() -> None:
    """No thread started, no matplotlib backend chosen, no pyplot, no file written by importing."""
    code = textwrap.dedent(
        f"""
        import importlib, pkgutil, sys, threading
        import {PACKAGE}
        names = [m.name for m in pkgutil.walk_packages({PACKAGE}.__path__, "{PACKAGE}.")]
        for name in names:
            importlib.import_module(name)
        problems = []
        if threading.active_count() != 1:
            problems.append(f"threads started: {{threading.enumerate()}}")
        if "matplotlib.pyplot" in sys.modules:
            problems.append("matplotlib.pyplot imported")
        mpl = sys.modules.get("matplotlib")
        if mpl is not None and mpl.rcParams._get_backend_or_none() not in (None,):
            problems.append(f"backend chosen: {{mpl.rcParams._get_backend_or_none()}}")
        print(len(names))
        print("\\n".join(problems))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr
    count, *problems = run.stdout.strip().splitlines()
    assert int(count) > 30
    assert not [p for p in problems if p], problems
