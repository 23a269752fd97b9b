"""The package's layers point one way, and no module imports itself back through others.

Layers, top to bottom (a module may import its own layer or any layer below it):

    cli → repo → ops → quality → core → store → journal/config → txn → adapters/base

Every `import` counts, at module level or inside a function (a function-level import is
a dependency all the same, only a later one). Two kinds are left out, on purpose:
imports under `if TYPE_CHECKING:` (annotations only: never executed) and the package
facade `dslineage/__init__.py`, whose `Repo` attribute is imported lazily on first use.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import dslineage

PACKAGE = Path(dslineage.__file__).resolve().parent

# top first; a module belongs to the first layer whose prefix matches its dotted name
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("cli", ("dslineage.cli", "dslineage.__main__", "dslineage._commands")),
    (
        "repo",
        (
            "dslineage.repo",
            "dslineage.repo_versions",
            "dslineage.repo_team",
            "dslineage.repo_edits",
            "dslineage.repo_annotation",
            "dslineage.repo_quality",
            "dslineage.repo_lineage",
            "dslineage.demo",
        ),
    ),
    ("ops", ("dslineage.ops",)),
    ("quality", ("dslineage.quality",)),
    ("core", ("dslineage.core",)),
    ("store", ("dslineage.store",)),
    (
        "journal/config",
        (
            "dslineage.journal",
            "dslineage.config",
            "dslineage.model",
            "dslineage.model_quality",
            "dslineage.model_lineage",
            "dslineage.model_ops",
            "dslineage.model_base",
            "dslineage.model_diff",
            "dslineage.model_exp",
            "dslineage.model_edits",
            "dslineage.model_merge",
        ),
    ),
    ("txn", ("dslineage.txn", "dslineage.recovery", "dslineage.faults")),
    (
        "adapters/base",
        (
            "dslineage.gitio",
            "dslineage.engine",
            "dslineage.dvcio",
            "dslineage.interop",
            "dslineage.lock",
            "dslineage.files",
            "dslineage.errors",
        ),
    ),
]
FACADE = "dslineage"


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                skip.update(id(sub) for sub in ast.walk(stmt))
    return skip


def imports(source: str, known: set[str]) -> set[str]:
    """The package modules `source` imports anywhere (function-level too), TYPE_CHECKING aside."""
    tree = ast.parse(source)
    skip = _type_checking_nodes(tree)
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == FACADE)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == FACADE:
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                out.add(sub if sub in known else node.module)
    return out


def graph(mods: dict[str, str]) -> dict[str, set[str]]:
    """Module -> the package modules it imports (sources given as text), facade left out."""
    known = set(mods)
    return {
        name: {t for t in imports(text, known) if t not in (name, FACADE)}
        for name, text in mods.items()
        if name != FACADE
    }


def layer(name: str) -> int:
    """The layer index of a module (0 = top), or -1 when no layer claims it."""
    for i, (_, prefixes) in enumerate(LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return i
    return -1


def upward(edges: dict[str, set[str]]) -> list[str]:
    """Imports that point up a layer, as 'a (layer) -> b (layer)' lines."""
    bad = []
    for src, targets in sorted(edges.items()):
        for dst in sorted(targets):
            if layer(dst) < layer(src):
                bad.append(f"{src} ({LAYERS[layer(src)][0]}) -> {dst} ({LAYERS[layer(dst)][0]})")
    return bad


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every simple import cycle among the modules."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(edges)
    g.add_edges_from((a, b) for a, targets in edges.items() for b in targets)
    return [list(c) for c in nx.simple_cycles(g)]


@pytest.fixture(scope="module")
def package_graph() -> dict[str, set[str]]:
    """The import graph of the installed source tree."""
    return graph({name: path.read_text(encoding="utf-8") for name, path in modules().items()})


def test_every_module_has_a_layer(package_graph: dict[str, set[str]]) -> None:
    """Each module of the package sits in a declared layer (add a new one to LAYERS)."""
    unplaced = sorted(name for name in package_graph if layer(name) < 0)
    assert not unplaced, f"no layer for {unplaced}: add them to LAYERS in tests/test_layers.py"


def test_layers_point_down(package_graph: dict[str, set[str]]) -> None:
    """No module imports a module of a higher layer (function-level imports included)."""
    bad = upward(package_graph)
    assert not bad, "imports against the layering:\n" + "\n".join(bad)


def test_no_import_cycle(package_graph: dict[str, set[str]]) -> None:
    """No module reaches itself through the modules it imports."""
    found = cycles(package_graph)
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found[:20])


def test_checker_catches_upward_imports_and_cycles() -> None:
    """The checks fail on a store module importing ops (inside a function) and on a cycle."""
    mods = {
        "dslineage.store.a": "def f():\n    from dslineage.ops import b\n",
        "dslineage.ops.b": "from dslineage.store import a\n",
        "dslineage.ops.c": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from dslineage.repo import Repo\n",
        "dslineage.repo": "",
    }
    edges = graph(mods)
    assert upward(edges) == ["dslineage.store.a (store) -> dslineage.ops.b (ops)"]
    assert [sorted(c) for c in cycles(edges)] == [["dslineage.ops.b", "dslineage.store.a"]]
    assert edges["dslineage.ops.c"] == set()
