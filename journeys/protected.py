"""Protected attributes never steer a journey: find the expressions that read one.

An organisation lists protected attributes (gender, age, ...) in its ``kind: Fairness``
document. They are kept for aggregate reporting only, so ``validate`` rejects a journey
condition or a catalog eligibility rule that reads one: ``employee.NAME``,
``employee.attributes.NAME``, ``employee["NAME"]``, ``employee.attributes["NAME"]`` (``has(...)``
included), and any use of ``employee`` or ``employee.attributes`` as a whole value (which could
read every field, protected ones too): passed to a function (``size(employee)``), tested with ``in``, or the
receiver of a method or macro (``employee.attributes.exists(k, k == 'gender')``, ``.all``, ``.filter``, ``.map``,
``.size()``, ...). The same reads of an event's data (``event.data.NAME``,
``trigger.data.attributes.NAME``, ``event.data`` as a whole, ``event`` as a whole, ...) are rejected too:
HRIS events carry the profile itself (an upsert's ``data`` is what becomes ``employee``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from wayfinder.expressions import blank_strings
from wayfinder.journeys._problems import Problem
from wayfinder.journeys._yaml import Document, Loc, Mark
from wayfinder.journeys.checks import Chain, chains
from wayfinder.journeys.model import BranchStep, Journey, SendStep, TaskStep, WaitForStep, WaitStep

_ROOT = re.compile(r"(?<![\w.])(employee|event|trigger)\b")
_MEMBER = re.compile(r"\s*\.\s*(\w+)")
_INDEX = re.compile(r"\s*\[\s*('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\s*\]")
_CALL = re.compile(r"\s*\(")

REASON = "protected attributes are kept for aggregate reporting only and must never steer a journey"


@dataclass(frozen=True)
class ProtectedRead:
    column: int  # 1-based within the expression
    attribute: str
    how: str  # what the expression does, e.g. "reads employee.attributes.gender"


def _member(source: str, code: str, pos: int) -> tuple[str | None, int]:
    """The field named right after ``pos`` (``.name`` or ``["name"]``) and where it ends; None when none, and
    when ``.name(`` calls a method or macro on the value (CEL has no functions in fields: the whole value is used)."""
    m = _MEMBER.match(code, pos)
    if m is not None:
        return (None, pos) if _CALL.match(code, m.end()) else (m.group(1), m.end())
    m = _INDEX.match(code, pos)
    if m is not None:
        return _unescaped(source[m.start(1) + 1:m.end(1) - 1]), m.end()
    return None, pos


_ESCAPE = re.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)", re.S)
_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _unescaped(text: str) -> str:
    """A CEL string literal's text as the key it names: ``'\\x67ender'``, ``'\\u0067ender'`` and ``'\\147ender'``
    are all ``gender``."""
    def one(m: re.Match[str]) -> str:
        escape = m.group(0)[1:]
        if escape[0] in "xuU" and len(escape) > 1:
            return chr(int(escape[1:], 16))
        if escape[0] in "01234567" and len(escape) == 3:
            return chr(int(escape, 8))
        return _SIMPLE.get(escape, escape)
    return _ESCAPE.sub(one, text) if "\\" in text else text


def _profile_read(source: str, code: str, pos: int, path: str, whole: str,
                  protected: Sequence[str]) -> tuple[str, str] | None:
    """What the expression reads of the profile-shaped value ending at ``pos`` (written ``path``), as (attribute,
    how), when it may be a protected attribute: a protected field, its ``attributes``, or the value as a whole."""
    name, end = _member(source, code, pos)
    if name is None:
        return protected[0], whole
    if name == "attributes":
        inner, _ = _member(source, code, end)
        if inner is None:
            return protected[0], f"uses {path}.attributes as a whole"
        name, path = inner, f"{path}.attributes"
    return (name, f"reads {path}.{name}") if name in protected else None


def _read_at(source: str, code: str, root: str, pos: int, protected: Sequence[str]) -> tuple[str, str] | None:
    if root == "employee":
        return _profile_read(source, code, pos, root, "uses the whole employee profile", protected)
    name, end = _member(source, code, pos)  # event or trigger: only its data may hold the profile
    if name is None:
        return protected[0], f"uses the whole {root}"
    if name != "data":
        return None
    return _profile_read(source, code, end, f"{root}.data", f"uses {root}.data as a whole", protected)


_ROOTS = frozenset({"employee", "event", "trigger"})
_DATA = (("data",), ("data", "attributes"))
_KEYED_MAPS = frozenset({("employee", ()), ("employee", ("attributes",)),
                         *((root, names) for root in ("event", "trigger") for names in _DATA)})


def _key_read(chain: Chain, protected: Sequence[str]) -> tuple[str, str] | None:
    """What ``"key" in <profile or its attributes>`` reads: that key alone (whether the person has it), a protected
    read only when the key is a protected attribute (2026-12-06: a guard of an attribute whose name is no CEL
    identifier, ``"cost-center" in employee.attributes``, was refused as a use of the whole map)."""
    key = chain.key_tested or ""
    return (key, f"reads {'.'.join((chain.root, *chain.names, key))}") if key in protected else None


def protected_reads(source: str, protected: Sequence[str]) -> list[ProtectedRead]:
    """Every place where the expression reads a protected attribute of the employee, from the profile or from an
    event's data."""
    if not protected:
        return []
    code = blank_strings(source)  # comments and the inside of strings: not code
    # ``"key" in`` a profile-shaped map tests that key alone (``"python" in employee.skills`` reads ``skills``)
    keyed = {c.start: c for c in chains(source, _ROOTS)
             if c.key_tested is not None and (c.root, c.names) in _KEYED_MAPS}
    found: list[ProtectedRead] = []
    for m in _ROOT.finditer(code):
        chain = keyed.get(m.start())
        read = (_key_read(chain, protected) if chain is not None
                else _read_at(source, code, m.group(1), m.end(), protected))
        if read is not None:
            found.append(ProtectedRead(m.start() + 1, *read))
    return found


Placed = tuple[Loc, str, str]  # where in the document, the expression, what to call it


def journey_expressions(j: Journey) -> Iterator[Placed]:
    """Every expression of a journey that decides who gets what, or when, with where it is written."""
    if j.audience is not None:
        yield ("audience",), j.audience.source, "audience"
    if j.trigger.when is not None:
        yield ("trigger", "when"), j.trigger.when.source, "trigger.when"
    for i, exit_on in enumerate(j.exit_on):
        if exit_on.when is not None:
            yield ("exit_on", i, "when"), exit_on.when.source, f"exit_on[{i}].when"
    for i, step in enumerate(j.steps):
        for loc, text in _step_expressions(step):
            yield ("steps", i, *loc), text, f"step {step.id}: {'.'.join(str(p) for p in loc)}"


def _step_expressions(step: Any) -> Iterator[tuple[Loc, str]]:
    if isinstance(step, SendStep) and step.send.when is not None:
        yield ("send", "when"), step.send.when.source
    elif isinstance(step, TaskStep) and step.task.when is not None:
        yield ("task", "when"), step.task.when.source
    elif isinstance(step, WaitForStep) and step.wait_for.when is not None:
        yield ("wait_for", "when"), step.wait_for.when.source
    elif isinstance(step, BranchStep):
        yield ("branch", "if"), step.branch.if_.source
    elif isinstance(step, WaitStep) and step.wait.until is not None:
        yield ("wait", "until"), step.wait.until.source


Offset = Callable[[Document, Loc, int], Mark]
"""Where a column of the expression at a ``loc`` is written in the file."""


def protected_problems(doc: Document, label: str, expressions: Iterator[Placed],
                       protected: Sequence[str], offset: Offset) -> list[Problem]:
    """One problem per protected read, at the attribute's line and column."""
    out: list[Problem] = []
    for loc, source, where in expressions:
        for read in protected_reads(source, protected):
            message = (f"{label}: {where} {read.how}, and {read.attribute!r} is protected (Fairness `protected`); "
                       f"{REASON}: remove it from the expression")
            at = offset(doc, loc, read.column)
            out.append(Problem(doc.file, at.line, at.column, message))
    return out
