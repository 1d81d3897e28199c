"""CEL expressions, compiled once when definitions load and evaluated many times."""

from __future__ import annotations

import difflib
import importlib.machinery
import importlib.util
import re
import sys
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema


def _compiled_cel() -> ModuleType:
    """The CEL library's compiled module. Importing its package runs the imports of its command line and REPL first
    (typer, rich, prompt_toolkit, pygments: about 0.17 s, a ninth of every ``wayfinder`` command's start and of
    every worker's); the engine uses the compiled module only (its Python functions are opt-in, and not used
    here), so it is loaded alone, under the name the package gives it: a later ``import cel`` finds it loaded and
    uses the same module. A package laid out otherwise is imported as a whole."""
    loaded = sys.modules.get("cel.cel")
    if loaded is not None:
        return loaded
    package = importlib.util.find_spec("cel")  # found, not imported
    folders = (package.submodule_search_locations or []) if package is not None else []
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    for path in (Path(folder, f"cel{suffix}") for folder in folders for suffix in suffixes):
        spec = importlib.util.spec_from_file_location("cel.cel", path) if path.is_file() else None
        if spec is not None and spec.loader is not None:
            module = importlib.util.module_from_spec(spec)
            sys.modules["cel.cel"] = module
            spec.loader.exec_module(module)
            return module
    import cel  # the package as a whole

    return cel


if TYPE_CHECKING:
    import cel
else:
    cel = _compiled_cel()

JOURNEY_VARIABLES = frozenset({"employee", "event", "trigger", "now"})
CATALOG_VARIABLES = frozenset({"employee", "resource"})
TYPE_NAMES = frozenset({"int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type"})
"""CEL's names of types, which the library knows by itself (``type(event.data.score) == double``): no variable of
ours, and no unknown one. CEL's ``google.protobuf.Timestamp`` is not among them: the library fails on it."""

_CEL_POSITION = re.compile(r"<input>:(\d+):(\d+): (.*?)(?:\n|$)")
_MACRO_BINDING = r"\b(?:all|exists|exists_one|map|filter)\(\s*{name}\s*,"


CEL_FUNCTIONS = frozenset({
    "size", "contains", "startsWith", "endsWith", "matches", "int", "uint", "double", "string", "bytes", "type", "dyn",
    "duration", "timestamp", "getFullYear", "getMonth", "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear",
    "getHours", "getMinutes", "getSeconds", "getMilliseconds",
})
"""The functions the CEL library evaluates (macros aside): a call to any other compiles but always fails, so it is a
validation error, as a CEL type checker would report it."""
_METHODS_ONLY = frozenset({
    "contains", "startsWith", "endsWith", "matches", "getFullYear", "getMonth", "getDate", "getDayOfMonth",
    "getDayOfWeek", "getDayOfYear", "getHours", "getMinutes", "getSeconds", "getMilliseconds",
})
"""Called on a value only (``employee.email.endsWith("@example.com")``): the library has no ``endsWith(a, b)`` (nor
``matches(a, b)``, which CEL also defines), so that form compiles and fails on every run."""
_FUNCTIONS_ONLY = frozenset({"int", "uint", "double", "string", "bytes", "type", "dyn", "duration", "timestamp"})
"""Called with the value only (``int(event.data.score)``); ``size`` takes both forms."""
_CALL = re.compile(r"(\.\s*)?\b([A-Za-z_]\w*)\s*\(")


class ExpressionError(ValueError):
    """An expression that does not compile; ``column`` is 1-based within the expression. ``more``: further
    problems of the same expression, each (message, column), found in the same look (several unknown variables)."""

    def __init__(self, message: str, column: int = 0, more: tuple[tuple[str, int], ...] = ()) -> None:
        super().__init__(message)
        self.column = column
        self.more = more


# A time getter called with an argument (a timezone): ``now.getHours("Europe/Berlin")``.
_GETTER_WITH_ZONE = re.compile(r"\.\s*(get(?:FullYear|Month|Date|DayOfMonth|DayOfWeek|DayOfYear|Hours|Minutes|Seconds|"
                               r"Milliseconds))\s*\(\s*[^)\s]")


def _literals(source: str) -> Iterator[tuple[int, int, int]]:
    """CEL's comments and string literals in ``source``, in order, as ``(start, end, quote)``: ``quote`` is the
    length of a string's quotes (1 or 3; 0 for a comment, ``//`` to the end of its line). String literals: single
    or double quotes, tripled, ``r``-prefixed (no escapes); a ``//`` inside one is no comment, a quote inside a
    comment no string. An unclosed string ends where its line does (one quote) or at the end (three)."""
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c == "/" and source.startswith("//", i):
            end = source.find("\n", i)
            end = n if end < 0 else end
            yield i, end, 0
            i = end
        elif c in "'\"":
            quote = source[i:i + 3] if source.startswith(c * 3, i) else c
            raw = i > 0 and source[i - 1] in "rR"
            j = i + len(quote)
            while j < n and not source.startswith(quote, j):
                if source[j] == "\\" and not raw:
                    j += 1
                elif source[j] == "\n" and len(quote) == 1:
                    break  # a one-line string does not go on (CEL refuses it; nothing after it is a string)
                j += 1
            j = min(n, j + len(quote)) if j < n and source.startswith(quote, j) else j
            yield i, j, len(quote)
            i = j
        else:
            i += 1


def _call_in_a_form_cel_lacks(code: str) -> tuple[str, int] | None:
    """The first call of a function in the form the library does not evaluate (a method called with its value as
    an argument, ``contains(a, b)``, or a function called on its value, ``x.int()``), as (message, 1-based column):
    it compiles and fails on every run, so it counts as false wherever it is. ``code``: comments and strings
    blanked (:func:`blank_strings`)."""
    for found in _CALL.finditer(code):
        name, method = found.group(2), found.group(1) is not None
        if name in _METHODS_ONLY and not method:
            example = f"now.{name}()" if name.startswith("get") else f'employee.email.{name}("...")'
            return (f"{name}(...) is called on a value in CEL, not given it: write value.{name}(...), as in "
                    f"{example}", found.start(2) + 1)
        if name in _FUNCTIONS_ONLY and method:
            return f".{name}() is no method in CEL: write {name}(value)", found.start(2) + 1
    return None


def without_comments(source: str) -> str:
    """``source`` with each CEL comment (``//`` to the end of its line, outside string literals) blanked to spaces:
    the same length, so every column stays where the author wrote it. What Wayfinder reads of an expression by
    itself (the fields it reads, the audience index's ``&&`` parts, validation's names) is read from this: an
    apostrophe in a comment was taken for a string, and a commented-out ``&& ...`` for a condition, while CEL
    ignored both (an audience CEL found true enrolled nobody). Literals are told apart by :func:`_literals`."""
    if "//" not in source:
        return source
    out = list(source)
    for start, end, quote in _literals(source):
        if not quote:
            out[start:end] = " " * (end - start)
    return "".join(out)


def blank_strings(source: str) -> str:
    """``source`` with the inside of each string literal blanked to spaces (its quotes kept, the same length), and
    its comments too: what is left is code, read by the same rules as :func:`without_comments` (triple quotes,
    ``r``-prefixed strings), so a name or a call written inside a string is not taken for one."""
    out = list(source)
    for start, end, quote in _literals(source):
        closed = quote and end - start >= 2 * quote and source[end - quote:end] == source[start:start + quote]
        inside = (start + quote, end - quote if closed else end)
        out[inside[0]:inside[1]] = " " * (inside[1] - inside[0])
    return "".join(out)


# -- what an expression requires of one field, read from its text (the audience index, the catalog's edges) --------
_FIELD = r"(employee(?:\.attributes)?|event\.data|trigger\.data)\.([A-Za-z_][A-Za-z0-9_]*)"
_LIT = r"(?:\"[^\"\\]*\"|'[^'\\]*'|true|false)"
_EQ = re.compile(rf"^{_FIELD}\s*==\s*({_LIT})$")
_EQ_REVERSED = re.compile(rf"^({_LIT})\s*==\s*{_FIELD}$")
_IN = re.compile(rf"^{_FIELD}\s+in\s+\[\s*({_LIT}(?:\s*,\s*{_LIT})*)\s*,?\s*\]$")
_LIT_ITEM = re.compile(_LIT)
_MAX_PARENS = 8

FieldPath = tuple[str, str]  # (where: employee | employee.attributes | event.data | trigger.data, field)
LiteralKey = tuple[str, object]  # ("s", text) or ("b", flag): a value with its kind, so "true" is not true


def _literal(text: str) -> LiteralKey:
    if text in ("true", "false"):
        return ("b", text == "true")
    return ("s", text[1:-1])


def _split_and(source: str) -> list[str] | None:
    """The top-level ``&&`` parts of an expression (None when it has a top-level ``||`` or ``?``)."""
    parts: list[str] = []
    depth, quote, start, i = 0, "", 0, 0
    text = source.strip()
    while i < len(text):
        c = text[i]
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith("&&", i):
            parts.append(text[start:i].strip())
            start = i + 2
            i += 1
        elif depth == 0 and (text.startswith("||", i) or c == "?"):
            return None
        i += 1
    parts.append(text[start:].strip())
    return parts


def conjuncts(source: str) -> tuple[dict[FieldPath, frozenset[LiteralKey]], bool]:
    """The top-level ``&&`` parts of ``source`` that compare one field with literals (``employee.country == "DE"``,
    ``event.data.leave_type in ["parental", "medical"]``; strings and booleans), as {path: the values that make
    that part true}, and whether every top-level part was one. Whatever holds the expression true has one of
    those values in each such field."""
    parts = _split_and(without_comments(source))  # a commented-out ``&& ...`` is no condition
    if parts is None:
        return {}, False
    found: dict[FieldPath, frozenset[LiteralKey]] = {}
    whole = True
    for part in parts:
        for _ in range(_MAX_PARENS):  # a few levels: deeper nesting is tested, not read
            if not (part.startswith("(") and part.endswith(")") and _split_and(part[1:-1]) == [part[1:-1].strip()]):
                break
            part = part[1:-1].strip()
        m = _EQ.match(part)
        path: FieldPath
        if m:
            path, keys = (m.group(1), m.group(2)), frozenset({_literal(m.group(3))})
        elif m := _EQ_REVERSED.match(part):
            path, keys = (m.group(2), m.group(3)), frozenset({_literal(m.group(1))})
        elif m := _IN.match(part):
            path, keys = (m.group(1), m.group(2)), frozenset(_literal(x) for x in _LIT_ITEM.findall(m.group(3)))
        else:
            whole = False
            continue
        found[path] = found[path] & keys if path in found else keys
    return found, whole


def _strings_emptied(source: str) -> str:
    """``source`` with each string literal written as ``""`` (comments left as they are): what the cost estimate
    and the field plan read, where only the shape of the code counts."""
    out: list[str] = []
    done = 0
    for start, end, quote in _literals(source):
        if quote:
            out += [source[done:start], '""']
            done = end
    out.append(source[done:])
    return "".join(out)


_CACHE_SIZE = 4096
# The longest cache key kept: a key is the text of the inputs an expression reads, a few dozen characters for the
# bundled journeys (185 at most); an event of a megabyte would keep a megabyte per entry, 4 GB per expression.
_CACHE_KEY_CHARS = 2048

MAX_EXPRESSION_CHARS = 10_000
MAX_NESTING = 3
# What one evaluation may cost, in the units of :func:`_cost` (about a microsecond each on a laptop).
COST_BUDGET = 1_000_000
# The most one evaluation may build: a value of more bytes (a string, or a list counted at 16 bytes an item) is
# refused before it is made, and so is its conversion back to Python.
SIZE_BUDGET = 32_000_000
BYTES_PER_STEP = 1_000  # copying this many bytes counts as one step (it takes well under a microsecond)
_COMPREHENSION = re.compile(r"\b(map|filter|all|exists_one|exists)\s*\(")


def _comprehensions(code: str) -> tuple[list[tuple[str, ...]], list[int]]:
    """For each comprehension macro in ``code`` (strings blanked out), the macros it sits in and itself, outermost
    first: ``l.all(a, a.exists(b, true))`` gives ``[("all",), ("all", "exists")]``; and for each character, in how
    many macros' arguments it sits (how deep in their bodies)."""
    opens = {m.end() - 1: m.group(1) for m in _COMPREHENSION.finditer(code)}
    stack: list[str | None] = []
    paths: list[tuple[str, ...]] = []
    depths: list[int] = []
    depth = 0
    for i, ch in enumerate(code):
        if ch == "(":
            stack.append(opens.get(i))
            if opens.get(i) is not None:
                paths.append(tuple(k for k in stack if k is not None))
                depth += 1
        elif ch == ")" and stack:
            depth -= stack.pop() is not None
        depths.append(depth)
    return paths, depths


# An operand of ``+`` that can only be an item of a list, a literal or a part of either: a chain of fields on a
# macro's variable, a number, a (blanked) string, true, false or null, not called or indexed.
_OPERAND_BEFORE = re.compile(r'(?<![\w.\])\]])(?:([A-Za-z_]\w*)(?:\s*\.\s*\w+)*|""|\d[\w.]*)\s*$')
_OPERAND_AFTER = re.compile(r'\s*(?:-\s*)?(?:([A-Za-z_]\w*)(?:\s*\.\s*\w+)*|""|\d[\w.]*)(?!\s*[\w.(\[])')
_LITERALS = frozenset({"true", "false", "null"})


def _small_operands(code: str, at: int, bound: frozenset[str]) -> bool:
    """Whether both operands of the ``+`` at ``at`` are items of lists walked by macros, or literals."""
    start = max(0, at - 256)  # a longer operand is taken as any value
    before, after = _OPERAND_BEFORE.search(code, start, at), _OPERAND_AFTER.match(code, at + 1, at + 257)
    if before is None or after is None or (before.start() == start > 0) or after.end() == at + 257:
        return False
    return all(m.group(1) is None or m.group(1) in bound or m.group(1) in _LITERALS for m in (before, after))


def _iterations(paths: list[tuple[str, ...]], n: int) -> int:
    """An upper estimate of how many times comprehension bodies run, and of the copying the comprehensions do,
    when no list or map they walk has more than ``n`` items: a test (``all``, ``exists``) visits each item, a
    ``map`` or ``filter`` also copies what it has built so far at each item (and an item may itself be a list),
    in the CEL library we use."""
    n = max(n, 1)
    total = 0
    for path in paths:
        product = 1
        for kind in path:
            product *= max(n, n ** 3 // 10) if kind in ("map", "filter") else n
            if product > COST_BUDGET:
                return product
        total += product
    return total


@dataclass(frozen=True, slots=True)
class _Shape:
    """What an expression's cost depends on, read from its text once: its comprehensions (outermost first), how
    deep in their bodies each reference to a variable and each ``+`` sits, and whether every ``+`` joins only
    items of walked lists or literals."""

    paths: list[tuple[str, ...]]
    literal_items: int
    reads: list[int]
    joins: list[int]
    joins_items: bool


def _cost(shape: _Shape, n: int, volume: int, item: int) -> tuple[int, int]:
    """An upper estimate of an evaluation's work (in steps) and of the largest value it can build (in bytes),
    when no list or map it walks has more than ``n`` items, its inputs and literals hold ``volume`` bytes, and no
    item or literal in them more than ``item``.

    The library copies a variable's value each time a reference to it is evaluated, once per run of the body it
    sits in (``n`` per level of macros). No value outgrows the inputs but through a ``map`` or ``filter`` (an item
    per item walked) and ``+``: each ``+`` may put two such values together (items, when it joins only those),
    copying what it builds once per run of its body: a chain of ``+`` over a big string copies it at every step.
    """
    steps = _iterations(shape.paths, n)
    if steps > COST_BUDGET:
        return steps, 0
    n = max(n, 1)
    grown = (len(shape.joins) + 1) * (item if shape.joins_items else volume) if shape.joins else 0
    collecting = max((sum(kind in ("map", "filter") for kind in path) for path in shape.paths), default=0)
    largest = n ** collecting * max(grown, volume)
    copied = sum(n ** depth for depth in shape.reads) * volume + sum(n ** depth for depth in shape.joins) * grown
    return steps + copied // BYTES_PER_STEP, largest


# How the library's messages start, up to where a value may follow; a quoted name here is the library's (a function,
# a type, an operator) or the expression's, never data, since the match is anchored at the start of the message.
_LIBRARY_OPENING = re.compile(
    "Function '(?:" + "|".join(sorted(CEL_FUNCTIONS)) + r")' error: |Undefined variable or function: '\w+'|"
    r"Unexpected type: got '\w+', want '[\w|]+'|Arithmetic overflow in '\w+'")
# Where a value may start in the rest: a quote (a value's own quotes cannot be paired: O'Brien), a bracket (a
# value printed by the library) or a number.
_VALUE_MAY_START = re.compile(r"""['"`({\[]|(?<!\w)\d""")


def _scrub(error: Exception, source: str) -> str:
    """The library's error with no part of a value from the data (a name, a note): a key the expression does not
    name reads ``'…'``; any other message is cut with ``…`` where a value may start, after its known opening."""
    if isinstance(error, KeyError) and error.args:
        key = str(error.args[0])
        return f"'{key}'" if re.fullmatch(r"\w+", key) and key in re.findall(r"\w+", source) else "'…'"
    text = str(error).splitlines()[0][:200] if str(error) else ""
    opening = _LIBRARY_OPENING.match(text)
    cut = _VALUE_MAY_START.search(text, opening.end() if opening else 0)
    return text if cut is None else text[:cut.start()] + "…"


def _measure(value: Any, depth: int = 0) -> tuple[int, int, int]:
    """The most items in any list or map inside ``value``; its size in bytes (a string's characters, four for
    each one outside ASCII, 16 for anything else and each key and item of a list or map); and the size of the
    largest item a macro can walk (an item of a list, a key of a map)."""
    if isinstance(value, str):
        return 0, len(value) if value.isascii() else 4 * len(value), 0
    if isinstance(value, bytes):
        return 0, len(value), 0
    walked: Any
    others: Any
    if isinstance(value, Mapping):
        walked, others = value.keys(), value.values()
    elif isinstance(value, list | tuple):
        walked, others = value, ()
    else:
        return 0, 16, 0
    most, size, item = len(value), 16 + 32 * len(value), 0
    if depth < 32:
        for part, is_item in ((walked, True), (others, False)):
            for inner_value in part:
                inner, bytes_, inner_item = _measure(inner_value, depth + 1)
                most, size, item = max(most, inner), size + bytes_, max(item, inner_item, bytes_ if is_item else 0)
    return most, size, item


def _plan(source: str, names: frozenset[str]) -> dict[str, frozenset[str] | None]:
    """Which fields of each variable an expression reads (None: the whole value).

    CEL converts every value it is given on each evaluation, so handing it only the fields an
    expression reads makes evaluation several times faster.
    """
    code = _strings_emptied(source)
    plan: dict[str, frozenset[str] | None] = {}
    for name in names:
        fields: set[str] = set()
        whole = False
        for m in re.finditer(rf"(?<![\w.]){re.escape(name)}\b(\s*\.\s*(\w+))?", code):
            if m.group(2) is None:
                whole = True
            else:
                fields.add(m.group(2))
        if whole:
            plan[name] = None
        elif fields:
            plan[name] = frozenset(fields)
    return plan


class _Absent:
    """A field or variable the context does not have (in a cache key; unequal to any value)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<absent>"


_ABSENT = _Absent()
_TextKey = tuple[str | _Absent | None, ...]


class _Results(dict[str | _TextKey, tuple[Any, str | None]]):
    """An expression's results by the text of what it read (a dict that can be weakly referenced)."""


_RESULTS: weakref.WeakValueDictionary[int, _Results] = weakref.WeakValueDictionary()  # by id: equal dicts are many
# Expressions written alike, over the same variables, share one cache: a catalog's resources repeat a few
# eligibility rules, and ten `employee.country == "IN"` learn each country once, not ten times (again after each
# erasure empties them all). The variables are part of the key because they decide what an expression reads.
_SHARED: weakref.WeakValueDictionary[tuple[str, frozenset[str]], _Results] = weakref.WeakValueDictionary()


def forget_inputs() -> None:
    """Empty every expression's result cache. Its keys are the fields an expression read, which may name a person
    (an expression on ``employee.given_name``, an event's data): an erasure calls this, so nothing of the erased
    person stays in the process (README "Caches")."""
    for results in list(_RESULTS.values()):
        results.clear()


class Expr:
    """A compiled CEL expression. Evaluation failures are returned, never raised."""

    __slots__ = ("_cache", "_cacheable", "_plan", "_program", "_shape", "source")

    def __init__(self, source: str, allowed: frozenset[str] = JOURNEY_VARIABLES) -> None:
        self.source = source
        if len(source) > MAX_EXPRESSION_CHARS:
            msg = (f"the expression is {len(source)} characters long, over the limit of {MAX_EXPRESSION_CHARS}; "
                   "split the condition into steps")
            raise ExpressionError(msg, 1)
        code = without_comments(source)
        self._budget_checks(code)
        try:
            self._program = cel.compile(source)
        except ValueError as e:
            raise _compile_error(str(e), source) from e
        calls = [name for name in self._program.functions() if name[:1].isalpha() and name not in CEL_FUNCTIONS]
        if calls:
            msg = (f"unknown function {calls[0]!r}{_function_meant(calls[0])} (CEL's here: "
                   f"{', '.join(sorted(CEL_FUNCTIONS))}; and the macros has, all, exists, exists_one, map, filter)")
            found = re.search(rf"\b{re.escape(calls[0])}\s*\(", blank_strings(code))
            raise ExpressionError(msg, found.start() + 1 if found else 1)
        wrong_form = _call_in_a_form_cel_lacks(blank_strings(code))
        if wrong_form is not None:
            raise ExpressionError(*wrong_form)
        zoned = _GETTER_WITH_ZONE.search(blank_strings(code))
        if zoned:  # CEL's getters take a timezone; this library's do not, and failed on every run
            msg = (f"{zoned.group(1)}() takes no timezone here: it reads the time in UTC (write "
                   f"{zoned.group(1)}(), or a wait's `at:` for a local time of day)")
            raise ExpressionError(msg, zoned.start(1) + 1)
        unknown = [
            name for name in self._program.variables()
            if name not in allowed | TYPE_NAMES
            and not re.search(_MACRO_BINDING.format(name=re.escape(name)), code)
        ]
        if unknown:
            raise _unknown_variables(code, unknown, allowed)
        # The fields each variable is read for, in name order (as the cache key lists them).
        self._plan = {name: tuple(sorted(fields)) if fields is not None else None
                      for name, fields in _plan(code, allowed).items()}
        self._cacheable = "now" not in self._plan
        cache = _SHARED.get((source, allowed))
        if cache is None:
            cache = _Results()
            _SHARED[source, allowed] = cache
            _RESULTS[id(cache)] = cache
        self._cache = cache

    def _budget_checks(self, source: str) -> None:
        """Comprehensions nest at most :data:`MAX_NESTING` deep, and over the lists written in the expression
        itself stay within :data:`COST_BUDGET`."""
        code = _strings_emptied(source)
        paths, depths = _comprehensions(code)
        deepest = max(paths, key=len, default=())
        if len(deepest) > MAX_NESTING:
            column = [m.start() for m in _COMPREHENSION.finditer(code)][len(deepest) - 1] + 1
            msg = (f"comprehensions (map, filter, all, exists, exists_one) nest {len(deepest)} deep here, "
                   f"at most {MAX_NESTING} are allowed (column {column} of the expression)")
            raise ExpressionError(msg, column)
        bound = frozenset(re.findall(r"\b(?:all|exists_one|exists|map|filter)\(\s*(\w+)\s*,", code))
        joins = [i for i, ch in enumerate(code) if ch == "+"]
        self._shape = _Shape(
            paths=paths,
            # Every item of a list written here is followed by a comma (or the closing bracket).
            literal_items=code.count(",") + 1 if paths else 0,
            reads=[depths[m.start()] for m in re.finditer(r"(?<![\w.])[A-Za-z_]\w*\b", code)
                   if m.group(0) not in bound | _LITERALS | {"in"} and code[m.end():m.end() + 1] != "("],
            joins=[depths[i] for i in joins],
            joins_items=all(_small_operands(code, i, bound) for i in joins))
        if _iterations(paths, self._shape.literal_items) > COST_BUDGET:
            msg = f"the expression could do more than {COST_BUDGET} steps of work; use fewer nested comprehensions"
            raise ExpressionError(msg, 1)

    def over_budget(self, reduced: Mapping[str, Any]) -> str | None:
        """Why evaluating over ``reduced`` would cost more than :data:`COST_BUDGET` steps or build a value of more
        than :data:`SIZE_BUDGET` bytes (None: it would not)."""
        shape = self._shape
        if not shape.paths and not shape.joins:
            return None
        most, volume, item = _measure(reduced)
        n = max(shape.literal_items, most)
        steps, largest = _cost(shape, n, volume + len(self.source), max(item, len(self.source)))
        if steps > COST_BUDGET:
            joins = len(shape.joins)
            over = " and ".join(
                ([f"comprehensions over lists of up to {n} items"] if shape.paths else [])
                + ([f"{joins} use{'s' if joins != 1 else ''} of +"] if joins else []))
            return (f"BudgetExceeded: the expression's {over} could do more than {COST_BUDGET} steps of work; "
                    "not evaluated")
        if largest > SIZE_BUDGET:
            return (f"BudgetExceeded: the expression could build a value of more than {SIZE_BUDGET} bytes from its "
                    "inputs; not evaluated")
        return None

    def _text_key(self, context: Mapping[str, Any]) -> _TextKey | None:
        """The cache key of the common case, told without building the inputs: every field the expression reads is
        text, null or absent (its value, or :data:`_ABSENT`, in the plan's order). None for anything else (a number,
        a list, a whole variable), which the text of the inputs keys instead: a number's key must tell ``1`` from
        ``true`` and ``1.0``, which are equal in a tuple."""
        parts: list[str | _Absent | None] = []
        size = 0
        for name, fields in self._plan.items():
            value = context.get(name, _ABSENT)
            if value is _ABSENT:
                parts.append(_ABSENT)
                continue
            if fields is None or type(value) is not dict:
                return None
            for f in fields:
                v = value.get(f, _ABSENT)
                if type(v) is str:
                    size += len(v)
                elif v is not None and v is not _ABSENT:
                    return None
                parts.append(v)
        return tuple(parts) if size <= _CACHE_KEY_CHARS else None

    def evaluate(self, context: Mapping[str, Any]) -> tuple[Any, str | None]:
        """The value, or ``(None, reason)`` when evaluation fails (a missing field, a type mismatch, a cost over
        the budget)."""
        key: str | _TextKey | None = self._text_key(context) if self._cacheable else None
        if key is not None:
            hit = self._cache.get(key)
            if hit is not None:
                return hit
        reduced: dict[str, Any] = {}
        for name, fields in self._plan.items():
            if name not in context:
                continue
            value = context[name]
            if fields is not None and (type(value) is dict or isinstance(value, Mapping)):  # dict: no ABC check
                value = {f: value[f] for f in fields if f in value}
            reduced[name] = value
        if key is None and self._cacheable:
            key = repr(reduced)
            if len(key) > _CACHE_KEY_CHARS:  # large inputs are rarely seen twice: evaluated each time, not kept
                key = None
            else:
                hit = self._cache.get(key)
                if hit is not None:
                    return hit
        refused = self.over_budget(reduced)
        try:
            result: tuple[Any, str | None] = (
                (None, refused) if refused is not None else (self._program.execute(reduced), None))
        except Exception as e:  # CEL raises KeyError, TypeError, ValueError, RuntimeError
            result = (None, f"{type(e).__name__}: {_scrub(e, self.source)}")
        if key is not None:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = result
        return result

    def reads(self, name: str) -> bool:
        """Whether the expression reads the variable ``name`` (``employee``, ``event``, ``trigger``, ``now``)."""
        return name in self._plan

    @property
    def reads_nothing(self) -> bool:
        """Whether the expression reads none of its variables: it gives the same value on every run."""
        return not self._plan

    def test(self, context: Mapping[str, Any]) -> tuple[bool, str | None]:
        """A condition: true only when the expression yields ``true``; a failure counts as false."""
        value, error = self.evaluate(context)
        if error is not None:
            return False, error
        if not isinstance(value, bool):
            return False, f"condition gave {type(value).__name__}, not a bool"
        return value, None

    def __repr__(self) -> str:
        return f"Expr({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expr) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls._from_str,
            core_schema.str_schema(min_length=1),
            serialization=core_schema.plain_serializer_function_ser_schema(lambda e: e.source),
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
                                     ) -> JsonSchemaValue:
        return {"type": "string", "description": "A CEL expression (Common Expression Language)"}

    @classmethod
    def _from_str(cls, value: str) -> Expr:
        return cls(value)


class CatalogExpr(Expr):
    """A CEL expression over ``employee`` and ``resource``."""

    __slots__ = ()

    @classmethod
    def _from_str(cls, value: str) -> Expr:
        return cls(value, CATALOG_VARIABLES)


_FUNCTIONS_ELSEWHERE = {"len": "size", "length": "size", "count": "size"}  # Python's, SQL's and a spreadsheet's


def _function_meant(name: str) -> str:
    """`` (did you mean 'startsWith'?)`` for Python's ``startswith``, ``len`` and the like, or a close spelling."""
    folded = name.lower().replace("_", "")
    meant = (_FUNCTIONS_ELSEWHERE.get(folded)
             or next((f for f in sorted(CEL_FUNCTIONS) if f.lower() == folded), None)
             or next(iter(difflib.get_close_matches(name, sorted(CEL_FUNCTIONS), n=1, cutoff=0.8)), None))
    return f" (did you mean {meant!r}?)" if meant else ""


def _unknown_variables(source: str, unknown: list[str], allowed: frozenset[str]) -> ExpressionError:
    """One problem per unknown variable, each where it is first used as a variable (not inside a string, not as a
    member after a dot, not as the start of a longer name), with the closest known name."""
    code = blank_strings(source)
    known = ", ".join(sorted(allowed))
    found: list[tuple[str, int]] = []
    for name in dict.fromkeys(unknown):
        at = re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", code)
        close = difflib.get_close_matches(name, sorted(allowed), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        found.append((f"unknown variable {name!r} in expression{hint} (known here: {known})",
                      at.start() + 1 if at else 1))
    found.sort(key=lambda p: p[1])
    (message, column), *more = found
    return ExpressionError(message, column, tuple(more))


def _compile_error(raw: str, source: str) -> ExpressionError:
    """The parser's complaint, placed by its character in ``source``: the parser says line and column, and an
    expression written over several lines (a ``|`` block) has them. An end that comes too soon is placed just
    after the last character written, not on the line break or spaces after it."""
    if "Recursion limit" in raw:  # the parser's own debug text ("OtherError(ParseError { ... })") said in words
        return ExpressionError("invalid expression: it nests too deeply (parentheses, operators or calls inside "
                               "each other); write it in parts")
    m = _CEL_POSITION.search(raw)
    if m is None:
        return ExpressionError(f"invalid expression: {raw.splitlines()[0]}")
    line, column = int(m.group(1)), int(m.group(2))
    lines = source.split("\n")
    if not 1 <= line <= len(lines):
        return ExpressionError(f"invalid expression: {m.group(3)}")
    offset = sum(len(text) + 1 for text in lines[:line - 1]) + max(column, 1) - 1
    if not source[offset:].strip():
        offset = len(source.rstrip())
        line = source.count("\n", 0, offset) + 1
        column = offset - source.rfind("\n", 0, offset)
    said, slip = m.group(3), _slip_in_words(source, offset)
    if slip is not None:  # placed at what was written (``not``, not the word after it)
        said, offset = slip
        line = source.count("\n", 0, offset) + 1
        column = offset - source.rfind("\n", 0, offset)
    where = f"line {line}, column {column}" if line > 1 else f"column {column}"
    return ExpressionError(f"invalid expression: {said} ({where} of the expression)", offset + 1)


_WORD_OPERATORS = {"and": "&&", "or": "||"}


def _slip_in_words(source: str, offset: int) -> tuple[str, int] | None:
    """What a newcomer wrote from another language (SQL, Python, a spreadsheet), in words, and where it is, instead
    of the parser's "mismatched input 'and' expecting {<EOF>, '==', ...}"; None for any other syntax error."""
    word = re.match(r"[A-Za-z_]\w*", source[offset:])
    before = re.search(r"(?<![\w.])([A-Za-z_]\w*)\s*$", source[:offset])
    if word is not None and word.group().lower() in _WORD_OPERATORS:
        name, written = word.group(), _WORD_OPERATORS[word.group().lower()]
        return f"{name!r} is written {written} in CEL (a {written} b)", offset
    if before is not None and before.group(1).lower() == "not":
        return "'not' is written ! in CEL (!has(employee.attributes.x), !(a == b))", before.start(1)
    if source.startswith("<>", offset - 1):
        return "'<>' is written != in CEL", offset - 1
    if source[offset:offset + 1] == "=" and source[offset + 1:offset + 2] != "=":
        return "a single = does not compare: write == (or != for 'is not')", offset
    return None
