"""aeroops' imports run one way, down the layers of README's Layout, and never in a loop.

Every import of every module counts, those inside functions too (an import moved into a function
to dodge a loop is still the loop), read from the source with `ast`: nothing is imported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "aeroops"

# The layers, lowest first. A module imports from its own layer's package (or a base module from
# any base module) and from the layers below; never from above, nor from another package of its own
# layer (the panels do not call the command line, nor the views the demo).
LAYERS: tuple[tuple[str, ...], ...] = (
    # base modules: the catalogue of codes, the column declarations, the progress callback shape...
    ("aeroops.errors", "aeroops.columns", "aeroops.option_names", "aeroops.progress", "aeroops.terminal"),
    ("aeroops.formats",),  # bytes ⇄ values
    ("aeroops.core", "aeroops.hashing"),  # pure; the sidecar's digest (over formats.sidecar)
    ("aeroops.executor",),  # effects
    ("aeroops.views", "aeroops.demo"),  # results for people; demo data, written through the executor
    ("aeroops.panels", "aeroops.cli", "aeroops.bench"),  # the front ends
    # ``python -m aeroops``: the command line; the package root, the facade notebooks call
    # (``aeroops.documents(...)``, ``aeroops.diff(a, b)``), importing each name on first use
    ("aeroops.__main__", "aeroops"),
)
BASE = LAYERS[0]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> Iterator[str]:
    """The aeroops modules ``name`` imports anywhere in its source (a ``from x import y`` names
    module x.y when y is one, else x)."""
    path = modules()[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in modules() else source for a in node.names]
        else:
            continue
        yield from (t for t in targets if t == "aeroops" or t.startswith("aeroops."))


@cache
def graph() -> dict[str, frozenset[str]]:
    """Module → the modules importing it runs: those it names, and the packages they sit in (whose
    ``__init__`` runs first), except its own packages (being imported already)."""
    edges = {}
    for name in modules():
        targets = set()
        for target in imports_of(name):
            parts = target.split(".")
            for depth in range(1, len(parts) + 1):
                step = ".".join(parts[:depth])
                if step in modules() and not (name == step or name.startswith(step + ".")):
                    targets.add(step)
        edges[name] = frozenset(targets)
    return edges


def layer_of(name: str) -> tuple[int, str]:
    """The layer's index, and the package (or base module) ``name`` belongs to within it."""
    for index, members in enumerate(LAYERS):
        for member in members:
            if name == member or (member != "aeroops" and name.startswith(member + ".")):
                return index, member
    raise AssertionError(f"{name} is in no layer: add it to LAYERS (and to README's Layout)")


def test_every_module_sits_in_a_layer() -> None:
    assert len(modules()) > 50  # the walk finds aeroops' modules
    for name in modules():
        layer_of(name)


def test_no_import_reaches_up_or_across() -> None:
    wrong = []
    for name, targets in graph().items():
        layer, home = layer_of(name)
        for target in sorted(targets):
            target_layer, target_home = layer_of(target)
            if target_layer > layer or (target_layer == layer and target_home != home and layer != 0):
                wrong.append(f"{name} ({home}) imports {target} ({target_home})")
    assert wrong == []


def find_loop(edges: dict[str, frozenset[str]]) -> list[str] | None:
    """One import loop of ``edges`` (its modules, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the path being walked, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (loop := walk(target)):
                return loop
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (loop := walk(node)):
            return loop
    return None


def test_no_import_loop() -> None:
    assert find_loop(dict(graph())) is None


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from aeroops.formats.ids import x\n", {"aeroops.formats.ids", "aeroops.formats"}),
        ("def f():\n    from aeroops.errors import Code\n", {"aeroops.errors"}),
        ("from .. import terminal\n", {"aeroops.terminal"}),
    ],
)
def test_the_walk_sees_module_function_and_relative_imports(
    source: str, expected: set[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    monkeypatch.setitem(modules(), "aeroops.views.probe", probe)
    assert set(imports_of("aeroops.views.probe")) - {"aeroops.formats"} <= expected
    assert expected - {"aeroops.formats"} <= set(imports_of("aeroops.views.probe"))


def test_the_loop_finder_finds_a_hidden_loop() -> None:
    # A loop with one import hidden inside a function: columns → formats.ids → errors → columns.
    edges = {
        "aeroops.columns": frozenset({"aeroops.formats.ids"}),
        "aeroops.formats.ids": frozenset({"aeroops.errors"}),
        "aeroops.errors": frozenset({"aeroops.columns"}),
    }
    assert find_loop(edges) == ["aeroops.columns", "aeroops.formats.ids", "aeroops.errors", "aeroops.columns"]
    assert find_loop({**edges, "aeroops.errors": frozenset()}) is None


def test_json_is_written_in_one_place() -> None:
    """Result types carry no JSON methods and no other module writes results as dicts for JSON:
    `aeroops.views.serialise` does, for all of them."""
    json_like = ("to_dict", "to_list", "to_json")
    found = []
    for name, path in modules().items():
        if name == "aeroops.views.serialise" or name.startswith("aeroops.demo."):
            continue  # the demo writes AeroDB's document bodies as JSON, not aeroops' results
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and (
                node.name in json_like or node.name.endswith(("_to_dict", "_dicts", "_json"))
            ):
                found.append(f"{name}.{node.name}")
    assert found == []


def test_the_package_root_is_the_top_layer_and_imports_its_facade_lazily() -> None:
    """``import aeroops`` (every module's first import) runs none of the layers its facade names:
    they are imported on first use, by the module ``__getattr__``."""
    import subprocess
    import sys

    import aeroops

    assert layer_of("aeroops") == (len(LAYERS) - 1, "aeroops")
    for module, _ in aeroops._FACADE.values():
        assert module in modules()
    probe = "import sys, aeroops; print(*sorted(m for m in sys.modules if m.startswith('aeroops')))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == ["aeroops"]
    probe = "import sys, aeroops; aeroops.diff; print('aeroops.executor.documents' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
        == "True"
    )
