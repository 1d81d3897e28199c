"""YAML loading that remembers where every value came from.

HR operations see errors as ``file:line:column``, so the loader keeps the position of
every mapping key and value. It also resolves fewer implicit types than YAML 1.1: no
dates or times (``09:00`` and ``2026-03-01`` stay strings), and only ``true``/``false``
are booleans, so the country code ``NO`` stays a string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wayfinder.journeys._problems import Problem

Loc = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2-like implicit types."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
# YAML 1.1 reads 1:30 as a base-60 integer and 0o17-like forms loosely; use YAML 1.2's core forms.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"),
    list("-+0123456789."),
)


@dataclass(frozen=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class Document:
    """One YAML document: its plain data and the position of every node."""

    file: str
    data: Any
    start: Mark
    marks: dict[Loc, Mark] = field(default_factory=dict)
    key_marks: dict[Loc, Mark] = field(default_factory=dict)
    styles: dict[Loc, str | None] = field(default_factory=dict)

    def mark(self, loc: Loc) -> Mark:
        """The position of the deepest node that ``loc`` reaches (a pydantic ``loc`` may hold union tags)."""
        best = self.start
        path: Loc = ()
        for part in loc:
            candidate = (*path, part)
            if candidate in self.marks:
                path = candidate
                best = self.marks[candidate]
        return best

    def problem(self, loc: Loc, message: str, *, severity: str = "error", column_offset: int = 0) -> Problem:
        m = self.mark(loc)
        if severity == "warning":
            return Problem(self.file, m.line, m.column + column_offset, message, "warning")
        return Problem(self.file, m.line, m.column + column_offset, message)


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, loader: _Loader, doc: Document, problems: list[Problem]) -> None:
        self.loader = loader
        self.doc = doc
        self.problems = problems

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.doc.marks[loc] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*loc, i)) for i, child in enumerate(node.value)]
        self.doc.styles[loc] = node.style if isinstance(node, yaml.ScalarNode) else None
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                m = _mark(key_node)
                self.problems.append(Problem(self.doc.file, m.line, m.column, "merge keys (<<) are not supported"))
                continue
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int):
                m = _mark(key_node)
                self.problems.append(Problem(self.doc.file, m.line, m.column, "a key must be a plain string"))
                continue
            if key in out:
                m = _mark(key_node)
                self.problems.append(Problem(self.doc.file, m.line, m.column, f"duplicate key {key!r}"))
                continue
            self.doc.key_marks[(*loc, key)] = _mark(key_node)
            out[key] = self.build(value_node, (*loc, key))
        return out


def load_documents(path: Path, display: str) -> tuple[list[Document], list[Problem]]:
    """Every document of a YAML file with positions, and the problems met while reading it."""
    problems: list[Problem] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return [], [Problem(display, 1, 1, f"cannot read file: {e}")]
    docs: list[Document] = []
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node said there is one
                break
            doc = Document(display, None, _mark(node))
            doc.data = _Builder(loader, doc, problems).build(node, ())
            docs.append(doc)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = e.problem or str(e)
        problems.append(Problem(display, line, col, f"YAML syntax error: {what}"))
    except yaml.YAMLError as e:
        problems.append(Problem(display, 1, 1, f"YAML error: {e}"))
    finally:
        loader.dispose()
    return docs, problems
