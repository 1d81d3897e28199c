"""Dependencies point one way: expressions <- catalog <- journeys <- streams / connectors <- applications <- cli.

Read from the source (every import statement, also the ones inside functions), so a lazy import cannot
hide an upward dependency. A module belongs to the layer of the package it is in, whatever its name: a command's
module in ``streams`` or ``web`` is judged as ``streams`` or ``web`` (one that needs more lives in ``wayfinder.cli``).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TypeGuard

import pytest

from tests.support import ROOT

PACKAGE = ROOT / "wayfinder"

# Lower number = lower layer. Packages on one level are peers and must not import each other.
LAYERS: dict[str, int] = {
    "wayfinder": 0,  # the root package: version and the examples folder, imports nothing of its own
    "wayfinder.vocabulary": 0,
    "wayfinder.jsonrows": 0,  # JSON objects and JSON lines read from text: stdlib only
    "wayfinder.clock": 0,  # the wall clock, for the shells: stdlib only
    "wayfinder.expressions": 1,
    "wayfinder.telemetry": 1,  # health endpoints, JSON logs, process collectors: stdlib and prometheus only
    "wayfinder.catalog": 2,
    "wayfinder.journeys": 3,
    "wayfinder.streams": 4,
    "wayfinder.connectors": 4,
    "wayfinder.reports": 5,
    "wayfinder.hris": 5,
    "wayfinder.web": 5,
    "wayfinder.journeytests": 5,
    "wayfinder.scale": 5,
    "wayfinder.plan": 5,
    "wayfinder.feedback": 5,
    "wayfinder.ops": 5,
    "wayfinder.safety": 4,  # log escaping and erasure in outputs: journeys and telemetry only
    "wayfinder.cli": 6,
    "wayfinder.__main__": 7,  # ``python -m wayfinder``: runs the command line, above it
}


def _files() -> list[Path]:
    """Every module of the package, through the linked package folders (``rglob`` does not follow links)."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(PACKAGE, followlinks=True):
        dirs[:] = [d for d in dirs if d not in ("__pycache__", "examples")]
        found.extend(Path(folder) / f for f in files if f.endswith(".py"))
    return sorted(found)


def _modules() -> Iterator[tuple[str, Path]]:
    for path in _files():
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(["wayfinder", *parts]), path


def _unit(module: str) -> str:
    """The layered unit a module belongs to: the longest prefix in LAYERS."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        if name in LAYERS:
            return name
    msg = f"{module} is in no layer: add its package to LAYERS in {__file__}"
    raise AssertionError(msg)


def _imports(path: Path, module: str) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            yield node.lineno, base
            for alias in node.names:  # `from wayfinder import journeys` imports a package too
                yield node.lineno, f"{base}.{alias.name}"


def _wayfinder_imports() -> Iterator[tuple[str, Path, int, str]]:
    """Each import of a module or package of ours (not of a name inside a module): importer, file, line, imported."""
    for module, path in _modules():
        for line, target in _imports(path, module):
            named = _known(target) if target == "wayfinder" or target.startswith("wayfinder.") else None
            if named is not None:
                yield module, path, line, named


def _known(target: str) -> str | None:
    """The module or package ``target`` names, or None when it names a thing inside a module."""
    parts = target.split(".")
    for n in range(len(parts), 0, -1):
        rel = Path(*parts[1:n]) if n > 1 else Path()
        if (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file():
            return ".".join(parts[:n])
    return None


def test_every_package_is_read() -> None:
    units = {_unit(module) for module, _ in _modules()}
    assert {"wayfinder.expressions", "wayfinder.catalog", "wayfinder.journeys", "wayfinder.streams",
            "wayfinder.connectors", "wayfinder.cli"} <= units


def test_every_import_points_down_or_within_its_own_package() -> None:
    wrong = []
    for module, path, line, named in _wayfinder_imports():
        source, dest = _unit(module), _unit(named)
        if source == dest or named == "wayfinder":
            continue
        if LAYERS[dest] >= LAYERS[source]:
            wrong.append(f"{path.relative_to(ROOT)}:{line}: {source} imports {named} ({dest} is not below it)")
    assert wrong == []


def test_no_two_packages_import_each_other() -> None:
    """No import cycle between packages, through any number of them (lazy imports count)."""
    import networkx as nx

    graph: nx.DiGraph[str] = nx.DiGraph()
    for module, _path, _line, named in _wayfinder_imports():
        source, dest = _unit(module), _unit(named)
        if source != dest and named != "wayfinder":
            graph.add_edge(source, dest)
    assert sorted(sorted(cycle) for cycle in nx.simple_cycles(graph)) == []


def test_no_private_module_is_imported_from_another_package() -> None:
    wrong = []
    for module, path, line, named in _wayfinder_imports():
        private = [p for p in named.split(".") if p.startswith("_")]
        if private and _unit(module) != _unit(named):
            wrong.append(f"{path.relative_to(ROOT)}:{line}: {module} imports the private {named}")
    assert wrong == []


@pytest.mark.parametrize("package", ["wayfinder.journeys", "wayfinder.catalog", "wayfinder.streams", "wayfinder.cli",
                                     "wayfinder.connectors"])
def test_each_package_has_a_public_surface(package: str) -> None:
    import importlib

    mod = importlib.import_module(package)
    names = getattr(mod, "__all__", None)
    assert names, f"{package} has no __all__"
    assert all(hasattr(mod, n) for n in names)


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: an import of the CLI from the core is reported (so the check can fail)."""
    path = tmp_path / "engine.py"
    path.write_text("from wayfinder.cli import main\n", encoding="utf-8")
    (_line, target), = list(_imports(path, "wayfinder.journeys.engine"))[:1]
    named = _known(target)
    assert named == "wayfinder.cli"
    assert LAYERS[_unit(named)] > LAYERS[_unit("wayfinder.journeys.engine")]


def test_the_mailbox_a_message_goes_to_is_decided_in_one_place() -> None:
    """``Message.mailbox`` (its recipient's, else its employee's) is the rule; no module writes it again as
    ``recipient_id or employee_id`` (issue 7: the runners and the core had each decided it, and drifted)."""
    def rule(node: ast.AST) -> TypeGuard[ast.BoolOp]:
        if not (isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(node.values) == 2):
            return False
        first, second = node.values
        named = getattr(second, "attr", None) or getattr(second, "id", None)
        return getattr(first, "attr", None) == "recipient_id" and named == "employee_id"

    found = [f"{module}:{node.lineno}" for module, path in _modules()
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if rule(node)]
    assert [place.partition(":")[0] for place in found] == ["wayfinder.journeys.records"], found
