"""The import contract: the package's modules form no cycle, and no arrow runs back up the layers
(models never import data or training, serving never imports training, nothing imports the CLI).
Read from the source with `ast`, so every import counts, at the top of a file or inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import critic

ROOT = Path(critic.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """module → the critic modules it imports (a `from critic.x import y` counts `critic.x.y` when
    that is a module, else `critic.x`)."""
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("critic")}
            elif (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("critic")
            ):
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    found.add(sub if sub in modules else node.module)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


# (importer prefix, forbidden prefixes): the layers' arrows point down only
RULES = [
    (
        "critic.text",
        [
            "critic.models",
            "critic.data",
            "critic.config",
            "critic.presets",
            "critic.experiments",
            "critic.train",
            "critic.serve",
            "critic.cli",
        ],
    ),
    (
        "critic.models",
        [
            "critic.data",
            "critic.config",
            "critic.presets",
            "critic.experiments",
            "critic.train",
            "critic.serve",
            "critic.cli",
            "critic.catalog",
        ],
    ),
    (
        "critic.data",
        ["critic.models", "critic.experiments", "critic.train", "critic.serve", "critic.cli"],
    ),
    (
        "critic.config",
        ["critic.presets", "critic.experiments", "critic.train", "critic.serve", "critic.cli"],
    ),
    (
        "critic.train",
        ["critic.experiments", "critic.catalog", "critic.serve", "critic.cli", "critic.data"],
    ),
    (
        "critic.predictor",
        ["critic.train", "critic.experiments", "critic.data", "critic.serve", "critic.cli"],
    ),
    (
        "critic.serve",
        [
            "critic.train",
            "critic.experiments.run",
            "critic.experiments.configure",
            "critic.experiments.compare",
            "critic.data.importer",
            "critic.data.stats",
            "critic.plots",
            "critic.evaluate",
            "critic.cli",
        ],
    ),
    ("critic.experiments.store", ["critic.train", "critic.data", "critic.models", "critic.plots"]),
    ("critic.deploy", ["critic.train", "critic.experiments.run", "critic.plots"]),
    # the catalog is a floor: its records are defined in it, it reaches up to nothing
    (
        "critic.catalog",
        [
            "critic.jobs",
            "critic.experiments",
            "critic.serve",
            "critic.data",
            "critic.models",
            "critic.train",
            "critic.users",
        ],
    ),
    ("critic.jobs", ["critic.serve", "critic.train", "critic.experiments.run"]),
]


def test_no_import_cycles():
    assert _cycles(_imports()) == []


@pytest.mark.parametrize("importer,forbidden", RULES, ids=[r[0] for r in RULES])
def test_no_arrow_runs_back_up(importer, forbidden):
    graph = _imports()
    wrong = sorted(
        f"{m} → {t}"
        for m, targets in graph.items()
        if m == importer or m.startswith(importer + ".")
        for t in targets
        if any(t == f or t.startswith(f + ".") for f in forbidden)
    )
    assert wrong == []


def test_nothing_in_the_library_imports_the_cli():
    graph = _imports()
    assert (
        sorted(
            m
            for m, targets in graph.items()
            # critic.__main__ is `python -m critic`: the command itself, not the library
            if not m.startswith(("critic.cli", "critic.__main__"))
            and any(t.startswith("critic.cli") for t in targets)
        )
        == []
    )
