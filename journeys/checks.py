"""Static checks of expressions and templates against the data they will see (SPEC §2-§5).

Run after the documents parse: every field an expression or template reads must exist for the values it
reads it from (the profile, the data of the event types a journey can see, a catalog resource, the template
context), and a field that may be absent must be guarded. Event types named by a journey must be built in
or declared (``kind: EventType``). Journeys whose documents did not parse are still cross-checked from their
raw YAML, so one run reports every problem of a file.

The CEL library gives no syntax tree, so expressions are read with a small tokenizer that finds the
member-access chains rooted at ``employee``, ``event``, ``trigger`` and ``resource`` (``a.b.c`` and
``a["b"]``), and the ``has(...)`` guards. Templates are read from Jinja's own syntax tree.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jinja2 import nodes
from pydantic import BaseModel

from wayfinder.catalog.model import CatalogDoc, ResourceDoc
from wayfinder.expressions import Expr, blank_strings, without_comments
from wayfinder.journeys import schemas
from wayfinder.journeys._problems import Problem
from wayfinder.journeys._time import to_instant, zone
from wayfinder.journeys._yaml import Document, Loc
from wayfinder.journeys.effects import part
from wayfinder.journeys.model import (
    BranchStep,
    EventTypeDoc,
    Fairness,
    Journey,
    SendStep,
    TaskStep,
    TemplateDoc,
    WaitForStep,
    WaitStep,
    successors,
)
from wayfinder.journeys.schemas import Field, Shape
from wayfinder.journeys.templates import TEXT_ENV

__all__ = ["Placed", "check_definitions", "events_at_steps", "journey_positions", "suggest"]

Placed = tuple[Document, BaseModel, str | None]  # a parsed document, its model, its template id


# -- positions -------------------------------------------------------------------------------------
def _file_lines(file: str) -> tuple[str, ...]:
    try:
        return tuple(Path(file).read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError):
        return ()


def _column_in_file(doc: Document, line: int, needle: str, fallback: int) -> int:
    lines = _file_lines(doc.file)
    if 0 < line <= len(lines):
        found = lines[line - 1].find(needle)
        if found >= 0:
            return found + 1
    return fallback


def _at(doc: Document, loc: Loc, source: str, offset: int, needle: str) -> tuple[int, int]:
    """File line and column of ``offset`` within the scalar at ``loc`` whose text is ``source``: where the file
    writes it (``Document.value_mark``), else worked out from the scalar's start."""
    found = doc.value_mark(loc, source, offset)
    if found is not None:
        return found
    mark = doc.mark(loc)
    style = doc.styles.get(loc)
    if style in ("|", ">"):
        line = mark.line + 1 + source.count("\n", 0, offset)
        return line, _column_in_file(doc, line, needle, 1)
    if "\n" in source[:offset]:
        line = mark.line + source.count("\n", 0, offset)
        return line, _column_in_file(doc, line, needle, mark.column)
    return mark.line, mark.column + offset + (1 if style in ("'", '"') else 0)


SUGGEST_UP_TO = 100
"""A name longer than this gets no "did you mean": no name is that long, and comparing one costs its length squared
for every known name (a 1 MB id in a hostile file)."""


CLOSE = 0.8
"""The similarity (difflib's ratio) a slip must reach to be told "did you mean" where a wrong guess costs more than
none: a journey id on the command line, a choice of a few short values (``sensitve`` for ``sensitive``, 0.94;
``xyz`` for ``standard`` gets nothing)."""


def suggest(name: str, known: Iterable[str], cutoff: float = 0.6) -> str:
    """`` (did you mean 'x'?)`` for the known name closest to ``name`` (at least ``cutoff`` alike), or nothing."""
    if len(name) > SUGGEST_UP_TO:
        return ""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=cutoff)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_template(tid: str, known: Iterable[str]) -> str:
    """A template id that names no template; when it is one written as its file's path (``new-parent/welcome.yaml``,
    ``templates/new-parent/welcome``), the id to write (since 2026-12-06: such an id got no hint, the extension
    left it too far from the name for a "did you mean")."""
    names = sorted(known)
    bare = re.sub(r"\.ya?ml$", "", tid.strip().removeprefix("./"))
    for candidate in (bare, bare.removeprefix("templates/"), bare.rpartition("/templates/")[2]):
        if candidate != tid and candidate in names:
            return (f"unknown template {tid!r}: a template's id is its path under the templates folder without "
                    f"the extension, {candidate!r}")
    return f"unknown template {tid!r}" + suggest(tid, names)


def unknown_step(target: str, ids: Iterable[object]) -> str:
    """A jump to a step the journey does not have: the close one, else the ones it has (a renamed step rarely
    looks like its old name)."""
    names = sorted(str(x) for x in ids)
    hint = suggest(target, names) or (f"; this journey's steps are {', '.join(names)}" if names else "")
    return f"jump to unknown step {target!r}{hint}"


# -- the rule for one member access -------------------------------------------------------------------
@dataclass(frozen=True)
class _Finding:
    member: int  # index in the chain of the member at fault
    message: str
    absent: bool = False  # the field exists but may be absent (not an unknown one)


def _walk_chain(root: Field, chain: Sequence[str], guarded: Any, *, hint: str) -> _Finding | None:
    """Follow ``chain`` (the names after the root) through the shapes; the first problem met, if any.

    ``guarded(i)`` says whether the member at ``i`` is guarded against being absent."""
    current: Field | None = root
    for i, name in enumerate(chain):
        shape = current.shape if current is not None else None
        if shape is None:
            return None  # a value with no declared fields (a string, a list): nothing more to check
        field = shape.fields.get(name)
        if field is None and shape.kept:  # beyond SPEC's fields of a built-in event: kept, so it may be there
            if guarded(i):
                return None  # has() tests for it: what it holds is not known, so nothing more to check
            return _Finding(i, f"unknown field {name!r} in {shape.name}{suggest(name, sorted(shape.fields))}; "
                               "SPEC keeps fields beyond its own, so it may be there: guard it with has(), or declare "
                               "it in a kind: EventType document", absent=True)
        if field is None and not shape.open:
            profile = shape.name == schemas.PROFILE.name
            extra = "; fields HR adds go under employee.attributes" if profile else ""
            meant = schemas.PROFILE_SYNONYMS.get(name.lower()) if profile else None
            hint = f" (did you mean {meant!r}?)" if meant else suggest(name, sorted(shape.fields))
            return _Finding(i, f"unknown field {name!r} in {shape.name}{hint}{extra}")
        field = field or Field(required=False)
        if not field.required and not guarded(i):
            return _Finding(i, f"{name!r} may be absent from {shape.name}: {hint}", absent=True)
        current = field
    return None


# -- CEL ----------------------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""(?P<str>[rRbB]{0,2}(?:'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"))"""
    r"|(?P<id>[A-Za-z_]\w*)|(?P<num>\d[\w.]*)|(?P<ws>\s+)|(?P<op>.)",
    re.S,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    start: int


def _tokens(source: str) -> list[_Token]:
    out = []
    for m in _TOKEN.finditer(source):
        kind = m.lastgroup or "op"
        if kind != "ws":
            out.append(_Token(kind, m.group(), m.start()))
    return out


def _literal(token: _Token) -> str | None:
    text = token.text.lstrip("rRbB")
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" and "\\" not in text:
        return text[1:-1].strip("'\"") if text[:3] in ("'''", '"""') else text[1:-1]
    return None


@dataclass(frozen=True)
class Chain:
    root: str
    names: tuple[str, ...]
    offsets: tuple[int, ...]  # where each name starts in the source
    in_has: bool
    key_tested: str | None = None  # ``"key" in root.names``: CEL's test that a map has the key
    start: int = -1  # where the root starts in the source


def chains(source: str, roots: frozenset[str]) -> list[Chain]:
    """The member-access chains of a CEL expression that start at one of ``roots``."""
    toks = _tokens(without_comments(source))  # a name in a comment is read by nobody
    found: list[Chain] = []
    for i, tok in enumerate(toks):
        if tok.kind != "id" or tok.text not in roots:
            continue
        if i > 0 and toks[i - 1].text == ".":
            continue
        if i + 1 < len(toks) and toks[i + 1].text == "(":
            continue
        names: list[str] = []
        offsets: list[int] = []
        j = i + 1
        while j + 1 < len(toks):
            if toks[j].text == "." and toks[j + 1].kind == "id":
                if j + 2 < len(toks) and toks[j + 2].text == "(":
                    break  # a method or macro: exists(), size(), ...
                names.append(toks[j + 1].text)
                offsets.append(toks[j + 1].start)
                j += 2
            elif (toks[j].text == "[" and j + 2 < len(toks) and toks[j + 1].kind == "str"
                  and toks[j + 2].text == "]" and _literal(toks[j + 1]) is not None):
                names.append(_literal(toks[j + 1]) or "")
                offsets.append(toks[j + 1].start)
                j += 3
            else:
                break
        in_has = (i >= 2 and toks[i - 1].text == "(" and toks[i - 2].text == "has"
                  and j < len(toks) and toks[j].text == ")")
        found.append(Chain(tok.text, tuple(names), tuple(offsets), in_has, _key_tested(toks, i, j), tok.start))
    return found


def _key_tested(toks: list[_Token], start: int, end: int) -> str | None:
    """The key of ``"key" in chain`` when the chain of ``toks[start:end]`` is the map tested (a string literal
    alone on the left, as ``+`` binds before ``in``; nothing called or indexed on the right)."""
    if start < 2 or toks[start - 1].text != "in" or toks[start - 2].kind != "str":
        return None
    text = toks[start - 2].text
    if "b" in text[:len(text) - len(text.lstrip("rRbB"))].lower():
        return None  # a bytes literal (b"x") is no key of a map read from JSON
    if start >= 3 and toks[start - 3].text in ("+", "."):
        return None
    if end < len(toks) and toks[end].text in (".", "[", "("):
        return None
    return _literal(toks[start - 2])


_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _guard_hint(root: str, names: Sequence[str]) -> str:
    """How to guard the chain ``root.names``: ``has(a.b)``, or ``"b-c" in a`` for a last key that is no identifier
    (which ``has()`` cannot name)."""
    parent = root + "".join(f".{n}" if _IDENTIFIER.fullmatch(n) else f'["{n}"]' for n in names[:-1])
    if names and not _IDENTIFIER.fullmatch(names[-1]):
        return f'guard it with "{names[-1]}" in {parent}'
    return f"guard it with has({'.'.join((root, *names))})"


def check_expression(source: str, scope: Mapping[str, Field]) -> list[tuple[int, str, str, bool]]:
    """Problems of one expression: (offset in the source, the member's name, message, whether the member is a
    field that may be absent rather than an unknown one)."""
    found = chains(source, frozenset(scope))
    guards = {(c.root, *c.names) for c in found if c.in_has}
    guards |= {(c.root, *c.names, c.key_tested) for c in found if c.key_tested is not None}
    out = []
    for c in found:
        def guarded(i: int, c: Chain = c) -> bool:
            return (c.root, *c.names[:i + 1]) in guards

        finding = _walk_chain(scope[c.root], c.names, guarded, hint=_guard_hint(c.root, c.names))
        if finding is not None:
            name = c.names[finding.member]
            where = ".".join((c.root, *c.names[:finding.member + 1]))
            out.append((c.offsets[finding.member], name, f"{where}: {finding.message}", finding.absent))
    return out


# -- templates -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TemplateFinding:
    line: int  # within the source
    needle: str  # text to find the column by
    message: str
    absent: bool = False  # a field that may be absent (not an unknown one): a run renders where it is there
    path: tuple[str, ...] = ()  # the variable and the names read up to ``needle``, to find it as written


class _TemplateWalker:
    def __init__(self, context: Mapping[str, Field]) -> None:
        self.context = context
        self.found: list[TemplateFinding] = []
        self.narrowed: frozenset[str] = frozenset()  # paths an enclosing {% if %} tested

    def chain(self, node: nodes.Node) -> tuple[str, list[str], list[nodes.Expr]] | None:
        """``root.a['b'].c`` as (root, [a, b, c]); other index expressions are returned to visit."""
        names: list[str] = []
        others: list[nodes.Expr] = []
        while isinstance(node, nodes.Getattr | nodes.Getitem):
            if isinstance(node, nodes.Getattr):
                names.append(node.attr)
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                names.append(node.arg.value)
            else:
                others.append(node.arg)
                names.clear()
            node = node.node
        if not isinstance(node, nodes.Name):
            return None
        return node.name, names[::-1], others

    def access(self, node: nodes.Getattr | nodes.Getitem, guarded: bool, binds: Mapping[str, Field]) -> None:
        parsed = self.chain(node)
        if parsed is None:
            self.generic(node, guarded, binds)
            return
        root, names, others = parsed
        for other in others:
            self.visit(other, False, binds)
        start = binds.get(root) or self.context.get(root)
        if start is None or not names:
            return
        path = ".".join((root, *names))

        def safe(i: int) -> bool:
            return guarded or ".".join((root, *names[:i + 1])) in self.narrowed

        finding = _walk_chain(start, names, safe, hint=f"give it a default: {{{{ {path} | default('') }}}}")
        if finding is not None:
            name = names[finding.member]
            where = ".".join((root, *names[:finding.member + 1]))
            self.found.append(TemplateFinding(node.lineno, name, f"{where}: {finding.message}", finding.absent,
                                              (root, *names[:finding.member + 1])))

    def visit(self, node: nodes.Node, guarded: bool, binds: Mapping[str, Field]) -> None:
        if isinstance(node, nodes.Getattr | nodes.Getitem):
            self.access(node, guarded, binds)
        elif isinstance(node, nodes.Filter) and node.name in ("default", "d"):
            if node.node is not None:
                self.visit(node.node, True, binds)
            for arg in node.args:
                self.visit(arg, guarded, binds)
        elif isinstance(node, nodes.Test) and node.name in ("defined", "undefined", "none"):
            self.visit(node.node, True, binds)
        elif isinstance(node, nodes.If | nodes.CondExpr):
            self.visit(node.test, True, binds)
            outer = self.narrowed
            self.narrowed = outer | self.tested(node.test)
            for child in node.iter_child_nodes(exclude=("test",)):
                self.visit(child, guarded, binds)
            self.narrowed = outer
        elif isinstance(node, nodes.Or | nodes.And | nodes.Not):
            self.generic(node, True if isinstance(node, nodes.Or) else guarded, binds)
        elif isinstance(node, nodes.For):
            self.loop(node, guarded, binds)
        else:
            self.generic(node, guarded, binds)

    def tested(self, test: nodes.Node) -> frozenset[str]:
        """The paths a test makes safe in its body: ``{% if a.b %}`` or ``{% if a.b and c %}``."""
        found = set()
        for access in (test, *test.find_all((nodes.Getattr, nodes.Getitem))):
            parsed = self.chain(access)
            if parsed is not None and parsed[1]:
                found.add(".".join((parsed[0], *parsed[1])))
        return frozenset(found)

    def loop(self, node: nodes.For, guarded: bool, binds: Mapping[str, Field]) -> None:
        self.visit(node.iter, guarded, binds)
        item: Field | None = None
        if isinstance(node.iter, nodes.Name):
            source = binds.get(node.iter.name) or self.context.get(node.iter.name)
            if source is not None and source.items is not None:
                item = Field(shape=source.items)
        inner = dict(binds)
        if isinstance(node.target, nodes.Name) and item is not None:
            inner[node.target.name] = item
        for child in (*node.body, *node.else_):
            self.visit(child, guarded, inner)
        if node.test is not None:
            self.visit(node.test, True, inner)

    def generic(self, node: nodes.Node, guarded: bool, binds: Mapping[str, Field]) -> None:
        if isinstance(node, nodes.Or):
            self.visit(node.left, True, binds)
            self.visit(node.right, guarded, binds)
            return
        for child in node.iter_child_nodes():
            self.visit(child, guarded, binds)


def check_template_source(source: str, context: Mapping[str, Field]) -> list[TemplateFinding]:
    """Fields a template reads that its context does not have, or reads unguarded though they may be absent."""
    try:
        tree = TEXT_ENV.parse(source)
    except Exception:  # syntax errors are reported by check_source
        return []
    walker = _TemplateWalker(context)
    walker.visit(tree, False, {})
    return walker.found


_COUNTS_AS_FALSE = "a run counts the expression as false where the field is absent (SPEC §4)"
_FAILS_FOR_EVERYONE = "at run time it fails and counts as false for everyone (SPEC §4)"
_ENDS_AT_THE_WAIT = "at run time it fails for everyone and ends every enrollment that reaches the wait"
_FAILS_THE_MESSAGE = "a run renders it where the field is there, and fails that message (render_error) where not"
_FALLS_BACK = ("a run renders it where the field is there, and where not says why in the generated sentence instead "
               "(explanation_failed)")


# -- putting it together -------------------------------------------------------------------------------
@dataclass
class _World:
    events: dict[str, Shape]
    templates: dict[str, tuple[Document, TemplateDoc]]
    problems: list[Problem]
    profile: Shape = schemas.PROFILE
    # declared in an EventType document with errors of its own (reported there): known, its fields not checked
    declared_broken: frozenset[str] = frozenset()

    def event_shape(self, event_type: str) -> Shape | None:
        """None for a type that is not known (reported once, as an unknown type), or declared in a broken document:
        its fields are not checked."""
        return None if event_type in self.declared_broken else self.events.get(event_type)

    def known_type(self, doc: Document, loc: Loc, event_type: str, label: str) -> None:
        if event_type in self.events or event_type in self.declared_broken:
            return
        hint = suggest(event_type, sorted(self.events))
        problem = doc.problem(loc, f"{label}: unknown event type {event_type!r}{hint}; a custom type needs a "
                                   "kind: EventType document that declares its data")
        self.problems.append(replace(problem, runs_anyway="the journey runs on events of that type as they come"))


def _expr(world: _World, doc: Document, loc: Loc, expr: Expr | None, scope: Mapping[str, Field],
          label: str, *, evaluate: bool = True, at_run: str = _FAILS_FOR_EVERYONE, condition: bool = True) -> None:
    """The fields ``expr`` (the model's own, compiled once at parsing) reads, then, when they are right and
    ``evaluate``, what one evaluation on example values says (:func:`_evaluation_warning`; ``at_run``: what a run
    does with an expression that fails)."""
    if expr is None:
        return
    source = expr.source
    findings = check_expression(source, scope)
    for offset, name, message, absent in findings:
        line, column = _at(doc, loc, source, offset, name)
        world.problems.append(Problem(doc.file, line, column, f"{label}: {message}",
                                      runs_anyway=_COUNTS_AS_FALSE if absent else None))
    if findings or not evaluate or (wrong := _evaluation_warning(expr, scope, at_run, condition=condition)) is None:
        return
    at, message = wrong
    if at is None:
        world.problems.append(doc.problem(loc, f"{label}: {message}", severity="warning"))
    else:
        line, column = _at(doc, loc, source, at[0], at[1])
        world.problems.append(Problem(doc.file, line, column, f"{label}: {message}", "warning"))


def _evaluation_warning(expr: Expr, scope: Mapping[str, Field], at_run: str, *, condition: bool = True
                        ) -> tuple[tuple[int, str] | None, str] | None:
    """Whether ``expr`` fails on values of the types SPEC gives its fields (``schemas.example_context``), where that
    says it fails for every person, and where (an offset and the name there, or None for the whole expression):
    its operands' types do not fit (a date's text compared with ``now``, a list with a number), or a part of it that
    reads nothing fails by itself (``timestamp("2026-03-01")``, ``int("x")``, ``duration("5d")``), as does an
    expression that reads nothing. The library has no type checker; this evaluates once, and a part again only when
    that fails. A value the example does not have (an attribute, a number) or does not parse says nothing. A
    ``condition`` that gives something other than true or false (``when: event.data.relationship``) is said too:
    a run counts it as false for everyone (``Expr.test``)."""
    value, error = expr.evaluate(schemas.example_context(scope))
    if error is None:
        if condition and not isinstance(value, bool):
            return None, (f"a condition gives true or false, and this gives {_cel_kind(value)} (compare it, as in "
                          '`event.data.reason == "birth"`, or test it is there with has(...)): ' + at_run)
        return None
    if error.startswith("TypeError"):
        why = _first_sentence(error)
        return None, (f"the values' types do not fit ({why}; CEL converts none, and a date in the profile or an event "
                      'is text: timestamp(employee.start_date + "T00:00:00Z") reads one as a time): '
                      + at_run)
    for start, end, name in _constant_calls(expr.source):
        # a pattern method's own value is the text it is called on: any text tells whether the pattern compiles
        call = f'"".{expr.source[start:end]}' if start > 0 and _before(expr.source, start) == "." else (
            expr.source[start:end])
        try:
            _, failed = Expr(call, frozenset()).evaluate({})
        except ValueError:
            continue  # reported as it is by the loader
        if failed is not None:
            return (start, name), (f"{expr.source[start:end]} fails whatever the person or the event "
                                   f"({_first_sentence(failed)}{_CALL_HINTS.get(name, '')}): " + at_run)
    if expr.reads_nothing:
        return None, f"the expression reads nothing and fails on every run ({_first_sentence(error)}): " + at_run
    return None


def _cel_kind(value: Any) -> str:
    """What a value is, as an HR author reads it (never the value itself: an example stands for personal data)."""
    kinds = ((str, "text"), (int, "a number"), (float, "a number"), (list, "a list"), (dict, "a map"),
             (bytes, "bytes"))
    return next((word for kind, word in kinds if isinstance(value, kind)), "no true or false" if value is None
                else "a value of another type")


_CALL_HINTS = {
    "timestamp": '; CEL reads a timestamp from RFC 3339 text with a time and an offset, "2026-03-01T00:00:00Z"',
    "duration": '; CEL writes a duration in h, m and s, "72h" for three days (no d or w)',
    "matches": "; the pattern does not compile: RE2 syntax, a literal [ ( { or . escaped with two backslashes",
}


def _first_sentence(error: str) -> str:
    """CEL's reason without its exception's name, the library's advice after it, or a part cut where a value may
    start (``expressions._scrub``)."""
    return re.sub(r"(?:: [^:]*…)+$", "", re.sub(r"^\w+: ", "", error).split(". ", 1)[0])


_CONSTANT_NAMES = frozenset({"true", "false", "null"})
_PATTERN_METHODS = frozenset({"matches"})  # a method whose literal argument may fail by itself: a pattern


def _before(source: str, start: int) -> str:
    """The character before ``start`` that is not a space."""
    return source[:start].rstrip()[-1:]


def _constant_calls(source: str) -> list[tuple[int, int, str]]:
    """Each call of a function whose arguments read no variable (``timestamp("2026-03-01")``, ``int("x")``), the
    outermost only, as (start, end, function name): its value is the same on every run."""
    toks = _tokens(without_comments(source))
    out: list[tuple[int, int, str]] = []
    i = 0
    while i + 1 < len(toks):
        tok = toks[i]
        if tok.kind != "id" or toks[i + 1].text != "(" or (i > 0 and toks[i - 1].text == "." and
                                                             tok.text not in _PATTERN_METHODS):
            i += 1
            continue
        depth, j, constant = 0, i + 1, True
        while j < len(toks):
            t = toks[j]
            if t.kind == "op" and t.text in "([{":
                depth += 1
            elif t.kind == "op" and t.text in ")]}":
                depth -= 1
                if depth == 0:
                    break
            elif t.kind == "id" and t.text not in _CONSTANT_NAMES and not (j + 1 < len(toks)
                                                                             and toks[j + 1].text == "("):
                constant = False  # a variable, a field or a macro's own name
            j += 1
        if constant and j < len(toks):
            out.append((tok.start, toks[j].start + 1, tok.text))
            i = j + 1
        else:
            i += 1
    return out


def events_at_steps(j: Journey) -> list[list[str]]:
    """The event types ``event`` may be at each step, along the journey's flow: the trigger at first; after a
    ``wait_for`` the event it waited for, or, after its timeout, the trigger again (a timer resumes a journey with
    its trigger, as after a ``wait``); a step nothing reaches sees the trigger."""
    n = len(j.steps)
    at: list[dict[str, None]] = [{} for _ in range(n)]
    if n:
        at[0][j.trigger.event] = None
    work = [0] if n else []
    while work:
        i = work.pop()
        step = j.steps[i]
        for k, target in enumerate(successors(j, i)):
            if target >= n:
                continue
            came = at[i]
            if isinstance(step, WaitStep):
                came = {j.trigger.event: None}
            elif isinstance(step, WaitForStep):
                timed_out_here = k == 0 and step.wait_for.timeout is not None and step.wait_for.on_timeout is None
                came = {step.wait_for.event: None, **({j.trigger.event: None} if timed_out_here else {})}
                if k == 1:
                    came = {j.trigger.event: None}
            if not came.keys() <= at[target].keys():
                at[target].update(came)
                work.append(target)
    return [list(types) or [j.trigger.event] for types in at]


def _event_scope(world: _World, types: list[str]) -> Field:
    shapes = [world.event_shape(t) for t in types]
    known = [s for s in shapes if s is not None]
    return Field(shape=schemas.envelope(schemas.merge(known) if len(known) == len(shapes) else None))


def _check_journey(world: _World, doc: Document, j: Journey) -> None:
    label = f"journey {j.id}"
    profile = Field(shape=world.profile)
    trigger = Field(shape=schemas.envelope(world.event_shape(j.trigger.event), "the trigger"))
    at_trigger = {"employee": profile, "event": trigger, "trigger": trigger}
    world.known_type(doc, ("trigger", "event"), j.trigger.event, f"{label}: trigger.event")
    _expr(world, doc, ("trigger", "when"), j.trigger.when, at_trigger, f"{label}: trigger.when")
    _expr(world, doc, ("audience",), j.audience, at_trigger, f"{label}: audience")
    # checked as an inline template is: a misspelt field made every message fall back to the generated sentence
    _inline_template(world, doc, ("explanation",), j.explanation, at_trigger, f"{label}: explanation", _FALLS_BACK)
    for i, rule in enumerate(j.exit_on):
        world.known_type(doc, ("exit_on", i, "event"), rule.event, f"{label}: exit_on[{i}].event")
        own = Field(shape=schemas.envelope(world.event_shape(rule.event)))
        _expr(world, doc, ("exit_on", i, "when"), rule.when, {**at_trigger, "event": own},
              f"{label}: exit_on[{i}].when")
    # the trigger's data fields its ``when`` tests with has() are there in every step: that event started it
    tested = Field(shape=schemas.with_present(schemas.envelope(world.event_shape(j.trigger.event), "the trigger"),
                                              tested_by_trigger(j.trigger.when)))
    for i, (step, types) in enumerate(zip(j.steps, events_at_steps(j), strict=True)):
        _check_step(world, doc, j, i, step, {"employee": profile, "event": _event_scope(world, types),
                                             "trigger": tested})


def tested_by_trigger(when: Expr | None) -> set[str]:
    """The ``event.data`` fields a trigger's condition requires with ``has()`` (or ``"x" in event.data``): in a
    condition of ``&&`` alone, with no ``||`` (where one side might hold without them), no conditional
    (``has(x) ? ... : true``), no negation (``!`` but ``!=``) and no comparison with a boolean (``has(x) == false``);
    else none (each step guards them)."""
    if when is None:
        return set()
    code = blank_strings(without_comments(when.source))
    if "||" in code or "?" in code or re.search(r"!(?!=)", code) or re.search(r"\b(?:true|false)\b", code):
        return set()
    found = chains(when.source, frozenset({"event"}))
    return ({c.names[1] for c in found if c.in_has and len(c.names) == 2 and c.names[0] == "data"}
            | {c.key_tested for c in found if c.key_tested is not None and c.names == ("data",)})


def _when_at(doc: Document, base: Loc, action: str) -> Loc:
    """Where a step's ``when`` is written: in the action, or beside it (``model._Step._when_beside``)."""
    steps = doc.data.get("steps") if isinstance(doc.data, dict) else None
    step = steps[base[-1]] if isinstance(steps, list) and isinstance(base[-1], int) and base[-1] < len(steps) else None
    inner = step.get(action) if isinstance(step, dict) else None
    beside = isinstance(step, dict) and "when" in step and not (isinstance(inner, dict) and "when" in inner)
    return (*base, "when") if beside else (*base, action, "when")


def _check_step(world: _World, doc: Document, j: Journey, i: int, step: Any, scope: dict[str, Field]) -> None:
    label = f"journey {j.id}: step {step.id}"
    base: Loc = ("steps", i)
    if isinstance(step, SendStep):
        _expr(world, doc, _when_at(doc, base, "send"), step.send.when, scope, f"{label}: send.when")
        if step.send.template is not None:
            _template_use(world, step.send.template, scope, f"journey {j.id}, step {step.id}")
        for name in ("subject", "body"):  # inline: checked as a template file is
            _inline_template(world, doc, (*base, "send", name), getattr(step.send, name), scope, label)
    elif isinstance(step, TaskStep):
        _expr(world, doc, _when_at(doc, base, "task"), step.task.when, scope, f"{label}: task.when")
        for name in ("title", "note"):
            _inline_template(world, doc, (*base, "task", name), getattr(step.task, name), scope, label)
    elif isinstance(step, BranchStep):
        _expr(world, doc, (*base, "branch", "if"), step.branch.if_, scope, f"{label}: branch.if")
    elif isinstance(step, WaitStep):
        fixed = _fixed_until(step.wait.until)
        _expr(world, doc, (*base, "wait", "until"), step.wait.until, scope, f"{label}: wait.until",
              evaluate=fixed is None, at_run=_ENDS_AT_THE_WAIT, condition=False)  # fixed: the error below
        if fixed is not None:
            world.problems.append(doc.problem((*base, "wait", "until"), f"{label}: wait.until: {fixed}"))
    elif isinstance(step, WaitForStep):
        world.known_type(doc, (*base, "wait_for", "event"), step.wait_for.event, f"{label}: wait_for.event")
        own = Field(shape=schemas.envelope(world.event_shape(step.wait_for.event)))
        _expr(world, doc, (*base, "wait_for", "when"), step.wait_for.when, {**scope, "event": own},
              f"{label}: wait_for.when")
    roadmap = getattr(step, "roadmap", None) or getattr(step, "learning_path", None)
    if roadmap is not None:
        _template_use(world, roadmap.template, scope, f"journey {j.id}, step {step.id}")


_BARE_DATE = re.compile(r"\s*(\d{4}-\d{2}-\d{2})\s*")


def _fixed_until(until: Expr | None) -> str | None:
    """Why a ``wait: until`` that reads nothing (no employee, event, trigger or now) can never give a time, or None.
    Its value is the same on every run, so one that is no date or time ends every enrollment that reaches the wait.
    The slip is a date written bare, ``until: 2026-03-10`` (or ``"2026-03-10"``, whose quotes are YAML's): to CEL
    that is arithmetic, 2013."""
    if until is None or not until.reads_nothing:
        return None
    value, error = until.evaluate({})
    try:
        if error is not None:
            raise ValueError(error)
        to_instant(value, zone(None))
    except ValueError as err:
        bare = _BARE_DATE.fullmatch(until.source)
        if bare is not None:
            return (f"{bare.group(1)} is arithmetic to CEL ({value}), not a date; a date in CEL is quoted text: "
                    f"""until: '"{bare.group(1)}"'""")
        return f"the expression reads nothing and gives no date or time on any run ({err})"
    return None


def _template_context(scope: Mapping[str, Field]) -> dict[str, Field]:
    return schemas.template_context(scope["event"].shape, scope["trigger"].shape)


def _inline_template(world: _World, doc: Document, loc: Loc, source: str | None, scope: Mapping[str, Field],
                     label: str, runs_anyway: str = _FAILS_THE_MESSAGE) -> None:
    if not source:
        return
    for f in check_template_source(source, _template_context(scope)):
        line, column = _template_at(doc, loc, source, f)
        world.problems.append(Problem(doc.file, line, column, f"{label}: {f.message}",
                                      runs_anyway=runs_anyway if f.absent else None))


def _template_at(doc: Document, loc: Loc, source: str, f: TemplateFinding) -> tuple[int, int]:
    lines = source.splitlines() or [""]
    text = lines[min(f.line, len(lines)) - 1]
    offset = sum(len(x) + 1 for x in lines[:f.line - 1]) + _written_at(text, f)
    return _at(doc, loc, source, offset, f.needle)


def _written_at(text: str, f: TemplateFinding) -> int:
    """Where on its line ``text`` the finding's last name is written as part of its whole path (``event.data.date``,
    ``employee['name']``), not where that name first appears (inside ``trigger.data.date`` or ``preferred_name``, an
    expression written before it on the line; since 2026-12-06); else where it is a word of its own, else anywhere."""
    if f.path:
        root, *names = f.path
        members = "".join(rf"""\s*(?:\.\s*|\[\s*['"])({re.escape(n)})(?:['"]\s*\])?""" for n in names)
        written = re.search(rf"(?<![\w.]){re.escape(root)}{members}(?!\w)", text)
        if written is not None:
            return written.start(len(names))
    word = re.search(rf"(?<!\w){re.escape(f.needle)}(?!\w)", text)
    return word.start() if word is not None else max(text.find(f.needle), 0)


def _template_use(world: _World, template_id: str, scope: Mapping[str, Field], used_by: str) -> None:
    found = world.templates.get(template_id)
    if found is None:
        return  # an unknown template is reported by the loader
    doc, t = found
    context = _template_context(scope)
    parts: list[tuple[Loc, str | None]] = [((n,), getattr(t, n)) for n in ("subject", "text", "html")]
    for locale, override in t.locales.items():
        parts += [(("locales", locale, n), getattr(override, n)) for n in ("subject", "text", "html")]
    for loc, source in parts:
        if not source:
            continue
        for f in check_template_source(source, context):
            line, column = _template_at(doc, loc, source, f)
            world.problems.append(Problem(doc.file, line, column,
                                          f"template {template_id}: {f.message} (as used by {used_by})",
                                          runs_anyway=_FAILS_THE_MESSAGE if f.absent else None))


def _check_catalog(world: _World, doc: Document, model: BaseModel) -> None:
    scope = {"employee": Field(shape=world.profile), "resource": Field(shape=schemas.RESOURCE_RULE)}
    items: list[tuple[Loc, Any]]
    if isinstance(model, CatalogDoc):
        items = [(("resources", i), r) for i, r in enumerate(model.resources)]
    elif isinstance(model, ResourceDoc):
        items = [((), model)]
    else:
        return
    for loc, r in items:
        _expr(world, doc, (*loc, "eligibility"), r.eligibility, scope, f"resource {r.id}: eligibility")


def _event_types(placed: Sequence[Placed], problems: list[Problem]) -> dict[str, Shape]:
    """The data shape of every event type: the built-in ones (SPEC §2), each maybe with fields an organisation's
    events carry beyond SPEC's (SPEC: "fields beyond these are kept"), declared in an ``EventType`` document of the
    same id, and the custom types."""
    events = dict(schemas.BUILT_IN_EVENTS)
    declared: set[str] = set()
    for doc, model, _ in placed:
        if not isinstance(model, EventTypeDoc):
            continue
        if model.id in declared:
            problems.append(doc.problem(("id",), f"event type {model.id!r} is declared twice"))
            continue
        declared.add(model.id)
        fields = {n: f.required for n, f in model.data.items()}
        built_in = schemas.BUILT_IN_EVENTS.get(model.id)
        if built_in is None:
            events[model.id] = schemas.custom_event(model.id, fields)
            continue
        for name in fields.keys() & built_in.fields.keys():
            problems.append(doc.problem(("data", name), f"{name!r} is already a field of the built-in event type "
                                        f"{model.id!r}: declare only the fields beyond SPEC's"))
        events[model.id] = schemas.extended(built_in, {n: r for n, r in fields.items() if n not in built_in.fields})
    return events


def check_definitions(placed: Sequence[Placed], broken: Sequence[Document], templates: Collection[str],
                      topics: Collection[str]) -> list[Problem]:
    """Every field, event type and template variable problem in the parsed documents, and the
    cross-references of journeys that did not parse (against the known ``templates`` and ``topics``)."""
    problems: list[Problem] = []
    known = _Known(frozenset(templates), frozenset(topics))
    sources = {tid: (doc, m) for doc, m, tid in placed if isinstance(m, TemplateDoc) and tid is not None}
    protected = [name for _, m, _ in placed if isinstance(m, Fairness) for name in m.protected]
    declared_broken = frozenset(str(d.data["id"]) for d in broken if isinstance(d.data, dict)
                                and d.data.get("kind") == "EventType" and isinstance(d.data.get("id"), str))
    world = _World(_event_types(placed, problems), sources, problems, schemas.profile_with_protected(protected),
                   declared_broken)
    for doc, model, _ in placed:
        if isinstance(model, Journey):
            _check_journey(world, doc, model)
        else:
            _check_catalog(world, doc, model)
    for doc in broken:
        problems.extend(_raw_references(doc, world, known))
    return problems


# -- journeys that did not parse: their cross-references all the same ---------------------------------------
@dataclass(frozen=True)
class _Known:
    templates: frozenset[str]
    topics: frozenset[str]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _raw_references(doc: Document, world: _World, known: _Known) -> list[Problem]:
    data = doc.data
    if not isinstance(data, dict) or data.get("kind") != "Journey":
        return []
    label = f"journey {data.get('id')}"
    out: list[Problem] = []
    steps = _list(data.get("steps"))
    ids = {s.get("id") for s in steps if isinstance(s, dict) and isinstance(s.get("id"), str)}
    saved, world.problems = world.problems, out
    trigger = data.get("trigger")
    if isinstance(trigger, dict) and isinstance(trigger.get("event"), str):
        world.known_type(doc, ("trigger", "event"), trigger["event"], f"{label}: trigger.event")
    for i, rule in enumerate(_list(data.get("exit_on"))):
        if isinstance(rule, dict) and isinstance(rule.get("event"), str):
            world.known_type(doc, ("exit_on", i, "event"), rule["event"], f"{label}: exit_on[{i}].event")
    world.problems = saved
    for i, step in enumerate(steps):
        if isinstance(step, dict):
            out.extend(_raw_step(doc, label, i, step, ids, known, world))
    out.extend(_raw_flow(doc, label, steps))
    return out


def _raw_flow(doc: Document, label: str, steps: list[Any]) -> list[Problem]:
    """A step id used twice, and a cycle of steps with no wait, from the raw YAML of a journey that did not parse
    (the parsed path reports them for one that did: ``loader._check_journey``)."""
    out: list[Problem] = []
    index: dict[str, int] = {}
    for i, step in enumerate(steps):
        sid = step.get("id") if isinstance(step, dict) else None
        if isinstance(sid, str):
            if sid in index:
                out.append(doc.problem(("steps", i, "id"), f"{label}: step id {sid!r} is used twice"))
            index.setdefault(sid, i)
    jumps: dict[int, list[tuple[int, Loc]]] = {}
    for i, step in enumerate(steps):
        if not isinstance(step, dict) or "wait" in step or "wait_for" in step or "end" in step:
            continue  # a wait breaks a cycle; an end has no next step
        nxt: list[tuple[int, Loc]] = []
        branch = step.get("branch")
        if isinstance(branch, dict):
            for key in ("then", "else"):
                if isinstance(branch.get(key), str) and branch[key] in index:
                    nxt.append((index[branch[key]], ("steps", i, "branch", key)))
            if not isinstance(branch.get("else"), str):
                nxt.append((i + 1, ()))
        else:
            nxt.append((i + 1, ()))
        jumps[i] = [(t, loc) for t, loc in nxt if t < len(steps)]
    for i, targets in jumps.items():
        for t, loc in targets:
            if t <= i and loc and _reaches(jumps, t, i):
                ids = [str(steps[k].get("id")) for k in range(t, i + 1)]
                out.append(doc.problem(loc, f"{label}: step {ids[-1]} jumps back to {ids[0]}, closing a cycle with "
                                            "no wait or wait_for, so it would loop at once for ever"))
    return out


def _reaches(jumps: Mapping[int, list[tuple[int, Loc]]], start: int, goal: int) -> bool:
    seen, todo = {start}, [start]
    while todo:
        here = todo.pop()
        if here == goal:
            return True
        for t, _ in jumps.get(here, []):
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return False


def _raw_step(doc: Document, label: str, i: int, step: dict[str, Any], ids: set[Any], known: _Known,
              world: _World) -> list[Problem]:
    out: list[Problem] = []
    where = f"{label}: step {step.get('id')}"
    targets = [("branch", "then"), ("branch", "else"), ("wait_for", "on_timeout")]
    for action, key in targets:
        body = step.get(action)
        target = body.get(key) if isinstance(body, dict) else None
        if isinstance(target, str) and target not in ids:
            out.append(doc.problem(("steps", i, action, key), f"{where}: {unknown_step(target, ids)}"))
    for action in ("send", "roadmap"):
        body = step.get(action)
        if not isinstance(body, dict):
            continue
        tid = body.get("template")
        if isinstance(tid, str) and known.templates and tid not in known.templates:
            out.append(doc.problem(("steps", i, action, "template"), f"{where}: "
                                   + unknown_template(tid, known.templates)))
        topics = body.get("topics") if action == "roadmap" else (body.get("resources") or {}).get("topics")
        for n, topic in enumerate(_list(topics)):
            if isinstance(topic, str) and known.topics and topic not in known.topics:
                loc: Loc = ("steps", i, action, "topics", n) if action == "roadmap" else (
                    "steps", i, action, "resources", "topics", n)
                out.append(doc.problem(loc, f"{where}: unknown topic {topic!r}"
                                       + suggest(topic, sorted(known.topics))))
    wait_for = step.get("wait_for")
    if isinstance(wait_for, dict) and isinstance(wait_for.get("event"), str):
        saved, world.problems = world.problems, out
        world.known_type(doc, ("steps", i, "wait_for", "event"), wait_for["event"], f"{where}: wait_for.event")
        world.problems = saved
    return out


def journey_positions(placed: Sequence[Placed]) -> dict[tuple[str, str], str]:
    """``file:line:column`` of each journey (step id ``""``), each of its own conditions (``effects.part``) and each
    of its steps, to point run-time counts at the source."""
    out: dict[tuple[str, str], str] = {}
    for doc, model, _ in placed:
        if not isinstance(model, Journey):
            continue
        mark = doc.mark(("id",))
        out.setdefault((model.id, ""), f"{doc.file}:{mark.line}:{mark.column}")
        conditions: list[tuple[str, Loc]] = [("audience", ("audience",)), ("trigger.when", ("trigger", "when"))]
        conditions += [(f"exit_on[{n}].when", ("exit_on", n, "when")) for n in range(len(model.exit_on))]
        for name, loc in conditions:
            if loc in doc.marks:
                mark = doc.marks[loc]
                out.setdefault((model.id, part(name)), f"{doc.file}:{mark.line}:{mark.column}")
        for i, step in enumerate(model.steps):
            mark = doc.mark(("steps", i, "id"))
            out.setdefault((model.id, step.id), f"{doc.file}:{mark.line}:{mark.column}")
    return out
