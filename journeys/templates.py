"""Message templates: Jinja2 in an immutable sandbox (HR authors are trusted with content, not code).

Besides the object graph, the sandbox guards the worker's memory and CPU: operators, calls and filters that
would build huge values are refused before they run, every value a render builds (strings, lists, the output of
a macro or a ``{% set %}`` block) is at most :data:`MAX_VALUE_CHARS` characters in all, every render has a budget
of :data:`STEP_BUDGET` steps (blocks entered, loop items tested, calls made, items of large values walked by
calls, filters, tests and comparisons) and of :data:`RENDER_SECONDS` seconds of wall-clock time, and output stops at
:data:`MAX_OUTPUT_CHARS`.
"""

from __future__ import annotations

import difflib
import functools
import re
import string
import time
import traceback
import types
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, Sequence, Set, ValuesView
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NoReturn

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, Undefined, meta, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.runtime import Context, LoopContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from markupsafe import EscapeFormatter, Markup

from wayfinder.journeys import layout
from wayfinder.journeys.i18n import FILTERS, gettext, reading, reading_locale, timezone_of
from wayfinder.vocabulary import localized, nearest_tag

TEMPLATE_VARIABLES = frozenset({
    "employee", "recipient", "event", "trigger", "resources", "roadmap", "explanation", "preferences_url",
})
DIGEST_VARIABLES = frozenset({"items", "count", "every"})
"""What a digest's template (an id under ``digest/``) sees besides ``recipient``, ``explanation`` and
``preferences_url`` (README "Digests")."""
MAX_OUTPUT_CHARS = 100_000
# What one template text (a subject, text or html, of one locale) may be: building it costs about 3 us a character
# and 70 bytes of memory, with no budget once it starts (an audit's 3.6 MB template took 72 s and 1.8 GB to
# validate). A source longer than a message may be, or with more tags than any message needs, is refused where
# it is written.
MAX_SOURCE_CHARS = MAX_OUTPUT_CHARS
MAX_SOURCE_TAGS = 2_000
MAX_SOURCES_PER_DOCUMENT = 1_000
"""Template texts one definitions document may hold (a template's subjects, texts and htmls in all its locales; a
journey's inline subjects, bodies and explanation): each is compiled, about a millisecond or more apiece, so
20,000 one-line locales in a 2.6 MB file took minutes to validate."""
MAX_EXPONENT = 256
STEP_BUDGET = 1_000_000
# Ten times the output: room for values a template builds and then shortens, never gigabytes.
MAX_VALUE_CHARS = 1_000_000
# A render takes milliseconds; this only stops a template that loops or explodes.
RENDER_SECONDS = 2.0
_CLOCK_EVERY = 256  # steps between two looks at the clock
# Far more than Python prints (4300 digits), far less than what takes a worker seconds to compute.
_MAX_INT_BITS = 1 << 15
# What breaking long words in ``wordwrap`` may cost, in characters copied or scanned: a text's length times its
# longest word over the width. Under a second at the worst (no-break spaces, about 1.7 ns each); ordinary text at
# an ordinary width is thousands of times below.
MAX_WRAP_WORK = 500_000_000
# Patterns people write (``EEEE d MMMM y 'at' HH:mm``) are under 40 characters.
MAX_PATTERN_CHARS = 100
# Errors a render can meet besides SecurityError; their text may quote data, so only the type is reported.
_RENDER_FAILURES = (TemplateError, TypeError, ValueError, ArithmeticError, LookupError, AttributeError,
                    MemoryError, RecursionError)
_SURROGATE = re.compile("[\ud800-\udfff]")  # a string escape ('\\ud800') makes one; UTF-8 has none
_PRINTF_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?")
_SCALARS = (str, int, float, date, Decimal, Undefined, type(None))  # bool is an int, datetime a date


def _where(e: BaseException) -> str:
    """The part and line a render failure happened at (noted by ``MessageTemplate._run``), as a prefix."""
    notes = getattr(e, "__notes__", None)
    return f"{notes[-1]}: " if notes else ""


class RenderError(Exception):
    """A template that could not be rendered; the message names the template, never personal data."""


class TooLong(RenderError):
    """A render whose output went over :data:`MAX_OUTPUT_CHARS` (a digest splits its items on it)."""


def _refuse(message: str) -> NoReturn:
    raise SecurityError(message)


# -- the step budget ------------------------------------------------------------------------------
class _Budget:
    __slots__ = ("clock_at", "deadline", "left")

    def __init__(self, left: int, seconds: float = 0.0) -> None:
        self.left = left
        self.deadline = time.monotonic() + seconds
        self.clock_at = left - _CLOCK_EVERY


_budget: ContextVar[_Budget] = ContextVar("template_budget")
# Outside MessageTemplate rendering the budget is spent: nothing runs (constant folding at build included).
_SPENT = _Budget(0)


def _tick(cost: int = 1) -> bool:
    """Spend ``cost`` steps of the current render's budget; every :data:`_CLOCK_EVERY` steps, look at the clock."""
    budget = _budget.get(_SPENT)
    if budget.left < cost:
        _refuse(f"the template needs more than {STEP_BUDGET} steps")
    budget.left -= cost
    if budget.left < budget.clock_at:
        budget.clock_at = budget.left - _CLOCK_EVERY
        if time.monotonic() > budget.deadline:
            _refuse(f"the template ran for more than {RENDER_SECONDS:g} seconds")
    return True


# -- the size of what a render builds ---------------------------------------------------------------------
_CONTAINERS = (str, list, tuple, dict)


def _weight(value: Any, limit: int = MAX_VALUE_CHARS) -> int:
    """Characters and items in ``value`` (strings inside lists and mappings included), counted only until
    ``limit`` is passed: a list holding the same long string many times weighs what its text would, and so does a
    list held twice (``{% set a = [a, a] %}``): turning it into text, comparing or hashing it walks it twice. Each
    distinct list is weighed once, so that weighing is fast whatever the weight."""
    return _weigh(value, limit, {})


def _weigh(value: Any, limit: int, known: dict[int, int]) -> int:
    """:func:`_weight`, ``known`` holding the weight of the lists and mappings weighed so far (by id: all of them
    are held by the value weighed). A weight kept after passing its limit is still past any later, lower limit."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()] if len(value) <= limit else value
    elif not isinstance(value, list | tuple):
        return 1
    total = len(value)
    if total > limit:
        return total
    kinds = set(map(type, value))  # at C speed: most lists hold only numbers, or only strings
    if not any(issubclass(k, _CONTAINERS) for k in kinds):
        return total
    if all(issubclass(k, str) for k in kinds):
        return total + sum(map(len, value))
    for item in value:
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, list | tuple | dict):
            weight = known.get(id(item))
            if weight is None:
                weight = known[id(item)] = _weigh(item, limit - total, known)
            total += weight
        if total > limit:
            break
    return total


def _is_code(value: Any) -> bool:
    """A function, method, class or module, or an iterator (a generator is a function running): their text is a
    repr that leaks internals (``<built-in method get of dict object at 0x...>``)."""
    return callable(value) or isinstance(value, type | types.ModuleType | Iterator)


def _no_code(value: Any) -> Any:
    """``value``, about to be turned into text, when nothing in it is code (:func:`_is_code`): not the value,
    nor any item, key or value of its lists and mappings however deep. Every route from a value to text goes
    through here: printing aside (:func:`_finalize`), the value and arguments of a filter, the arguments of a
    string's method, both sides of ``~``, what ``%`` and ``format`` format and what a ``str.format`` field reads
    (``'{0.get}'.format(employee)``). Turning a big value into text walks it: it costs steps (:func:`_walked`);
    each distinct list or mapping is looked at once."""
    if isinstance(value, _SCALARS):
        return value
    _walked(value)
    seen: set[int] = set()
    waiting = [value]
    while waiting:
        node = waiting.pop()
        items: Iterable[Any]
        if isinstance(node, dict):
            items = [*node.keys(), *node.values()]
        elif isinstance(node, list | tuple):
            items = node
        elif isinstance(node, Set | KeysView | ValuesView | ItemsView):
            items = list(node)
        elif _is_code(node):
            _refuse("templates may turn text, numbers, dates and lists or mappings of them into text, nothing else")
        else:
            continue
        if all(issubclass(kind, _SCALARS) for kind in set(map(type, items))):  # at C speed: the usual case
            continue
        for item in items:
            if not isinstance(item, _SCALARS) and id(item) not in seen:
                seen.add(id(item))
                waiting.append(item)
    return value


def _too_big() -> NoReturn:
    _refuse(f"the template builds a value of more than {MAX_VALUE_CHARS} characters")


def _walked(value: Any) -> Any:
    """``value``, about to be walked item by item by one Python operation that the clock cannot interrupt
    (compared, hashed, sorted, searched, turned into text): a list, mapping or range past :data:`_FREE_SIZE`
    items costs a step per item, counted by its weight (a list held twice is walked twice), so such operations
    add up against the step budget and none runs long between two looks at the clock. Strings are free: what
    Python does with them runs at memory speed."""
    if isinstance(value, list | tuple | dict):
        size = _weight(value)
        if size > MAX_VALUE_CHARS:
            _too_big()
    elif isinstance(value, range):
        size = len(value)
    else:
        return value
    if size > _FREE_SIZE:
        _tick(size)
    return value


def _check_built(value: Any) -> Any:
    """``value`` if it is within :data:`MAX_VALUE_CHARS`, else the render stops."""
    if isinstance(value, _SIZED) and not isinstance(value, range) and _weight(value) > MAX_VALUE_CHARS:
        _too_big()
    return value


def _check_bound(size: int) -> None:
    if size > MAX_VALUE_CHARS:
        _too_big()


def _concat(pieces: Iterable[str]) -> str:
    """Joins the output of a macro, a ``{% set %}`` block or a filter block, refusing a result too big."""
    if isinstance(pieces, list):
        _check_bound(sum(map(len, pieces)))
    return "".join(pieces)


def _replaced(s: Any, old: Any, new: Any, count: Any = -1) -> None:
    if isinstance(s, str) and isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
        found = s.count(old) if old else len(s) + 1
        if isinstance(count, int) and count >= 0:
            found = min(found, count)
        _check_bound(len(s) + found * (len(new) - len(old)))


def _listed(items: Iterable[Any], extra: int = 0) -> list[Any]:
    """The items of an iterator (a generator is walked once, one item at a time, so one of long strings stops at
    the bound), each also adding ``extra`` characters (a join's separator)."""
    listed, size = [], 0
    for item in items:
        listed.append(item)
        size += _weight(item) + extra
        _check_bound(size)
    return listed


def _joined(sep: Any, items: Any) -> Any:
    """The items as a list (a generator is walked once), when joining them with ``sep`` stays in bounds."""
    if isinstance(items, list | tuple):
        _check_bound(_weight(items) + len(str(sep)) * len(items))
        return items
    return _listed(items, len(str(sep)))


def _tabs_expanded(s: Any, tabsize: Any = 8) -> None:
    if isinstance(s, str) and isinstance(tabsize, int):
        _check_bound(len(s) + s.count("\t") * tabsize)


def _indented(s: Any, width: Any = 4) -> None:
    if isinstance(s, str):
        _check_bound(len(s) + (s.count("\n") + 1) * (len(width) if isinstance(width, str) else int(width)))


def _wrapped(s: Any, width: Any = 79, break_long_words: Any = True, wrapstring: Any = None) -> None:
    """A wrap whose result stays in bounds (no ``wrapstring`` is a newline) and whose work is small. textwrap
    breaks a word longer than the width one line at a time, copying (and, for a word of Unicode spaces, stripping)
    the rest of the word for each line: a word's length squared over the width, out of the clock's sight (990,000
    characters at width 1 ran 8 s; 500,000 no-break spaces, 5 minutes). At most the text's length times its longest
    word (words as textwrap splits them: on ASCII whitespace only) over the width, :data:`MAX_WRAP_WORK`."""
    if not isinstance(s, str) or not isinstance(width, int):
        return
    width = max(width, 1)
    _check_bound(len(s) + (len(s) // width + 1) * (len(wrapstring) if isinstance(wrapstring, str) else 1))
    if len(s) * len(s) > MAX_WRAP_WORK * width and len(s) * _longest_word(s) > MAX_WRAP_WORK * width:
        _refuse(f"wordwrap would copy more than {MAX_WRAP_WORK} characters to break this text's long words at this "
                "width")


_TEXTWRAP_SPACE = re.compile(r"[\t\n\x0b\x0c\r ]+")  # textwrap's whitespace: a no-break space is part of a word


def _longest_word(s: str) -> int:
    return max(map(len, _TEXTWRAP_SPACE.split(s)))


_SIZED = (str, list, tuple, dict, range)
_FREE_SIZE = 1_000
# Filters whose work does not grow with their input and that take no sizes: left unwrapped, for speed.
_CONSTANT_TIME_FILTERS = frozenset({"abs", "attr", "count", "d", "default", "float", "int", "length", "round"})


def _size(value: Any) -> int:
    return len(value) if isinstance(value, _SIZED) else 0


def _through(name: str, node: nodes.Expr) -> nodes.Expr:
    """``node``, its value passed through ``environment.<name>`` when the template runs (a constant as it is)."""
    if isinstance(node, nodes.Const):
        return node
    return nodes.Call(nodes.EnvironmentAttribute(name), [node], [], None, None, lineno=node.lineno)


class _CountingCodeGenerator(CodeGenerator):
    """Generated code that spends a step on every block it enters and every item a loop filter tests, and steps
    for the size of what a comparison or a mapping's key walks."""

    def blockvisit(self, body: Iterable[nodes.Node], frame: Frame) -> None:
        self.writeline("environment.tick()")
        super().blockvisit(body, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        """``a ~ b``: no code turned into text, and a result within bounds."""
        node.nodes = [_through("no_code", operand) for operand in node.nodes]
        self.write("environment.sized(")
        super().visit_Concat(node, frame)
        self.write(")")

    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
        """``a == b``, ``a < b``, ``a in b``: Python walks both sides (:func:`_walked`)."""
        node.expr = _through("walked", node.expr)
        for operand in node.ops:
            operand.expr = _through("walked", operand.expr)
        super().visit_Compare(node, frame)

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        """``{key: value}``: the key is hashed, which walks a tuple."""
        for item in node.items:
            item.key = _through("walked", item.key)
        super().visit_Dict(node, frame)

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        if node.test is not None:
            tick = nodes.Call(nodes.EnvironmentAttribute("tick"), [], [], None, None, lineno=node.lineno)
            node.test = nodes.And(tick, node.test, lineno=node.test.lineno)
        super().visit_For(node, frame)


# -- what operators, calls and filters may build -----------------------------------------------------
def _check_wide(numbers: Iterable[str | None]) -> None:
    for n in numbers:
        if n == "*" or (n and (len(n) > 9 or int(n) > MAX_OUTPUT_CHARS)):
            _refuse(f"format widths above {MAX_OUTPUT_CHARS} (or given as *) are not allowed in templates")


def _check_widths(widths: int, fmt: str) -> None:
    if widths > MAX_OUTPUT_CHARS:
        _refuse(f"format widths adding up to more than {MAX_OUTPUT_CHARS} are not allowed in templates")
    _check_bound(len(fmt) + widths)


def _printf_fields(fmt: str) -> int:
    widths = fields = 0
    for field in _PRINTF_FIELD.finditer(fmt):
        _check_wide(field.groups())
        widths += sum(int(n) for n in field.groups() if n and n.isdigit())
        fields += 1
    _check_widths(widths, fmt)
    return fields


def _str_format_fields(fmt: str) -> int:
    widths = fields = 0
    for _, name, spec, _ in string.Formatter().parse(fmt):
        if spec and "{" in spec:
            _refuse("nested replacement fields in a format spec are not allowed in templates")
        if spec:
            numbers = re.findall(r"\d+", spec)
            _check_wide(numbers)
            widths += sum(int(n) for n in numbers)
        fields += name is not None
    _check_widths(widths, fmt)
    return fields


_FORMAT_CHECKS = {"%": _printf_fields, "{}": _str_format_fields}


@functools.lru_cache(maxsize=512)
def _short_format_fields(fmt: str, style: str) -> int:
    return _FORMAT_CHECKS[style](fmt)


def _check_format(fmt: str, style: str) -> int:
    """Widths in a ``%`` (style ``"%"``) or ``str.format`` (``"{}"``) format string, which may add up to at most
    :data:`MAX_OUTPUT_CHARS`; the number of fields. Short ones (nearly always template text) are remembered once
    they pass."""
    return _short_format_fields(fmt, style) if len(fmt) <= 200 else _FORMAT_CHECKS[style](fmt)


def _check_formatted(fmt: str, fields: int, args: Any) -> None:
    """The fields of a format string, each printing the largest of the arguments, stay within bounds."""
    if isinstance(args, dict):
        values: Iterable[Any] = args.values()
    elif isinstance(args, tuple | list):
        values = args
    else:
        values = (args,)
    for v in values:
        _no_code(v)
    largest = max((_weight(v) for v in values), default=0)
    if largest > _FREE_SIZE:
        _check_bound(len(fmt) + fields * largest)


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(exponent, int | float | Decimal) and not -MAX_EXPONENT <= exponent <= MAX_EXPONENT:
        _refuse(f"exponents above {MAX_EXPONENT} are not allowed in templates")
    if isinstance(base, int) and isinstance(exponent, int) and base.bit_length() * exponent > _MAX_INT_BITS:
        _refuse("the number would be too large")


def _check_product(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > _MAX_INT_BITS:
            _refuse("the number would be too large")
        return
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(times, int):
            if len(seq) * times > MAX_OUTPUT_CHARS:
                _refuse(f"repeating to more than {MAX_OUTPUT_CHARS} items is not allowed in templates")
            _check_bound(_weight(seq) * times)


def _check_sum(left: Any, right: Any) -> None:
    if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
        _check_bound(_weight(left) + _weight(right))


def _check_arguments(args: Iterable[Any], kwargs: Mapping[str, Any],
                     each: Callable[[Any], Any] | None = None) -> None:
    """Integer arguments are sizes, widths or counts often enough that big ones are refused everywhere; ``each``
    is what the callee does with an argument: :func:`_no_code` (a filter or a string's method turns it into text),
    :func:`_walked` (``list.index(x)`` compares ``x``, ``d.get(k)`` hashes ``k``) or nothing (a macro binds it)."""
    for values in (args, kwargs.values()):
        for arg in values:
            if isinstance(arg, int) and not -MAX_OUTPUT_CHARS <= arg <= MAX_OUTPUT_CHARS:
                _refuse(f"numbers above {MAX_OUTPUT_CHARS} are not allowed as arguments in templates")
            if each is not None:
                each(arg)


def _is_str_format(obj: Any) -> bool:
    """A sandboxed ``str.format``: its arguments are values to format, its widths are checked on access."""
    method = getattr(obj, "__wrapped__", None)
    return getattr(method, "__name__", None) in ("format", "format_map") and isinstance(
        getattr(method, "__self__", None), str)


def _sum_of_numbers(value: Any, attribute: Any = None, start: Any = 0) -> Any:
    if not isinstance(start, int | float | Decimal):
        _refuse("sum adds numbers in templates (a start value that is not a number is not allowed)")
    return value


def _replace_filter(value: Any, old: Any, new: Any, count: Any = None) -> Any:
    _replaced(value, old, new, -1 if count is None else count)
    return value


def _join_filter(value: Any, d: Any = "", attribute: Any = None) -> Any:
    return _joined(d, value)


def _indent_filter(value: Any, width: Any = 4, first: Any = False, blank: Any = False) -> Any:
    _indented(value, width)
    return value


def _wordwrap_filter(value: Any, width: Any = 79, break_long_words: Any = True, wrapstring: Any = None,
                     break_on_hyphens: Any = True) -> Any:
    _wrapped(value, width, break_long_words, wrapstring)
    return value


def _date_pattern(value: Any, format: Any = None) -> Any:  # the filters' own name for the pattern
    """A date or time pattern of at most :data:`MAX_PATTERN_CHARS` characters: Babel's work grows with it (a
    second for a few hundred thousand), out of the clock's sight, and Babel keeps the last thousand it read."""
    if isinstance(format, str) and len(format) > MAX_PATTERN_CHARS:
        _refuse(f"date and time patterns longer than {MAX_PATTERN_CHARS} characters are not allowed in templates")
    return value


# Filters whose result can be much bigger than their input, or whose work grows with an argument: checked before
# they run. Each takes the filter's arguments and returns the value to filter (a generator to join is walked
# once, here).
_FILTER_CHECKS: dict[str, Callable[..., Any]] = {
    "replace": _replace_filter, "join": _join_filter, "indent": _indent_filter, "wordwrap": _wordwrap_filter,
    "sum": _sum_of_numbers, "format_date": _date_pattern, "format_datetime": _date_pattern,
    "format_time": _date_pattern,
}


def _guard_filter(name: str, f: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse big size arguments and results over :data:`MAX_VALUE_CHARS`; a filter walks its input and its
    arguments, and may turn them into text (:func:`_no_code`); one above :data:`_FREE_SIZE` items (or characters)
    costs a step per item (smaller ones are part of the step that called the filter). An iterator to filter (the
    output of ``map``, ``select``, ``reverse``) is listed first: a filter then sees, and prints, its items."""
    if name == "format":
        return _guard_format(f)
    if name in _CONSTANT_TIME_FILTERS:
        return f
    at = 1 if hasattr(f, "jinja_pass_arg") else 0  # where the filtered value is among the arguments
    before = _FILTER_CHECKS.get(name)

    @functools.wraps(f)  # keeps jinja_pass_arg
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) > at + 1:
            _check_arguments(args[at + 1:], kwargs, _no_code)
        value = args[at]
        if isinstance(value, str):
            if len(value) > _FREE_SIZE:
                _tick(len(value))
        else:
            if isinstance(value, Iterator) and not isinstance(value, LoopContext):  # listing moves a loop on
                value = _listed(value)
                args = (*args[:at], value, *args[at + 1:])
            _no_code(value)
        if before is not None:
            args = (*args[:at], before(value, *args[at + 1:], **kwargs), *args[at + 1:])
        return _check_built(f(*args, **kwargs))

    return guarded


def _guard_format(f: Callable[..., Any]) -> Callable[..., Any]:
    """The ``format`` filter: its arguments are values to format, its widths are in the format string."""

    @functools.wraps(f)
    def guarded(value: Any, *args: Any, **kwargs: Any) -> Any:
        text = str(_no_code(value))
        fields = _check_format(text, "%")
        _check_formatted(text, fields, kwargs or args)
        if len(text) > _FREE_SIZE:
            _tick(len(text))
        return f(value, *args, **kwargs)

    return guarded


def _guard_test(f: Any) -> Any:
    """A test (``x is in y``, ``select('==', y)``) walks its value and arguments: they cost steps by their size."""

    @functools.wraps(f)  # keeps jinja_pass_arg
    def guarded(*args: Any, **kwargs: Any) -> Any:
        for arg in args:
            _walked(arg)
        return f(*args, **kwargs)

    return guarded


def _check_method(obj: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    """Before a call: a macro only binds its arguments; any other callee may walk them (:func:`_walked`); a
    ``str`` method turns them into text (``Markup``'s escape them: :func:`_no_code`), and one that can grow its
    string keeps its result within bounds. The arguments to call it with (a generator to join is walked once,
    here)."""
    target = getattr(obj, "__self__", None)
    if not isinstance(target, str):
        _check_arguments(args, kwargs, None if isinstance(obj, Macro) else _walked)
        return args
    name = getattr(obj, "__name__", None)
    if name == "replace":
        _replaced(target, *args, **kwargs)
    elif name == "join" and args:
        args = (_joined(target, args[0]), *args[1:])
    elif name == "expandtabs":
        _tabs_expanded(target, *args, **kwargs)
    _check_arguments(args, kwargs, _no_code)
    return args


class _Sandbox(ImmutableSandboxedEnvironment):
    """Any attempt to reach an unsafe attribute fails at once, instead of rendering as empty; operators, calls
    and ``str.format`` are checked for sizes, and every call costs a step."""

    code_generator_class = _CountingCodeGenerator
    # Also keeps them from being folded at build time.
    intercepted_binops = frozenset({"*", "**", "%", "+"})
    concat = staticmethod(_concat)  # the generated code joins macro and block output with this
    sized = staticmethod(_check_built)
    no_code = staticmethod(_no_code)
    walked = staticmethod(_walked)

    def unsafe_undefined(self, obj: Any, attribute: str) -> NoReturn:
        # A private name may be computed from data, so it is not quoted; the others are known method names.
        name = "private attributes" if attribute.startswith("_") else f"attribute {attribute!r}"
        _refuse(f"access to {name} is not allowed in templates")

    tick = staticmethod(_tick)

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``mapping.key`` on a plain dict (what templates read: profiles, events, resources) without the
        failed attribute lookup Jinja tries first; any other object, and a name a dict has as an attribute
        (``items``, ``get``), the sandbox's way."""
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        """``x[key]``: the key is hashed or compared, which walks a tuple."""
        return super().getitem(obj, _walked(argument))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_product(left, right)
        elif operator == "+":
            _check_sum(left, right)
        elif isinstance(left, str):
            _check_formatted(left, _check_format(left, "%"), right)
        return super().call_binop(context, operator, left, right)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        if _is_str_format(obj):
            fmt = obj.__wrapped__.__self__
            _check_formatted(fmt, _check_format(fmt, "{}"), kwargs or args)
        else:
            args = _check_method(obj, args, kwargs)
        _tick(1 + _size(getattr(obj, "__self__", None)))
        return _check_built(super().call(context, obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` and ``format_map`` as Jinja's sandbox allows them, their widths checked, formatting with
        :class:`_Formatter` (what a field reads is checked too)."""
        if super().wrap_str_format(value) is None:
            return None
        fmt: str = value.__self__
        _check_format(fmt, "{}")
        formatter = _EscapeFormatter(self, escape=fmt.escape) if isinstance(fmt, Markup) else _Formatter(self)
        made = type(fmt)

        def format_(*args: Any, **kwargs: Any) -> str:
            return made(formatter.vformat(fmt, args, kwargs))

        def format_map(mapping: Mapping[str, Any]) -> str:
            return made(formatter.vformat(fmt, (), mapping))

        # ``__wrapped__`` (the method) tells ``call`` this is a format whose arguments it checks
        return functools.update_wrapper(format_ if value.__name__ == "format" else format_map, value)


class _Formatter(SandboxedFormatter):
    """``str.format`` in a template: what a field reads (``{0}``, ``{0.get}``, ``{0[key]}``) becomes text."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[Any, str]:
        value, first = super().get_field(field_name, args, kwargs)
        return _no_code(value), first


class _EscapeFormatter(_Formatter, EscapeFormatter):
    """:class:`_Formatter` for a ``Markup`` format string (it escapes what it formats)."""


_DICT_ATTRIBUTES = frozenset(dir(dict))


_PRINTABLE_ITEMS = MAX_OUTPUT_CHARS // 2
"""Printing a list writes at least two characters per item: more items than this cannot fit in a message."""


def _printed_items(value: Any) -> int | None:
    """How many scalars printing ``value`` writes, a list held twice counted twice, up to just past
    ``_PRINTABLE_ITEMS``; None when it holds anything that is not data (a function, a template, a class).

    Linear in the distinct lists and mappings: ``{% set a = [a, a] %}`` thirty times is thirty lists that print as a
    billion items, refused here before Python writes them out (it was minutes and gigabytes)."""
    counted: dict[int, int] = {}
    open_ids: set[int] = set()
    stack: list[Any] = [value]
    while stack:
        node = stack[-1]
        if isinstance(node, _SCALARS) or id(node) in counted:
            stack.pop()
            continue
        if isinstance(node, list | tuple):
            children: list[Any] = list(node)
        elif isinstance(node, dict):
            children = [*node.keys(), *node.values()]
        else:
            return None
        waiting = [c for c in children if not isinstance(c, _SCALARS) and id(c) not in counted]
        if waiting and id(node) not in open_ids:
            open_ids.add(id(node))
            stack.extend(waiting)
            continue
        if any(id(c) in open_ids for c in waiting):
            return None  # a list that holds itself
        open_ids.discard(id(node))
        counted[id(node)] = min(_PRINTABLE_ITEMS + 1, 1 + sum(
            1 if isinstance(c, _SCALARS) else counted[id(c)] for c in children))
        stack.pop()
    return 1 if isinstance(value, _SCALARS) else counted[id(value)]


def _finalize(value: Any) -> Any:
    """What ``{{ }}`` may print: data, never a function, template, class or module (their repr leaks internals),
    and no more of it than a message holds. A null prints as nothing (a resource with no ``url``), never as
    Python's ``None``."""
    if value is None:
        return ""
    if isinstance(value, _SCALARS):
        return value
    items = _printed_items(value)
    if items is None:
        _refuse("templates may print text, numbers, dates and lists or mappings of them, nothing else")
    if items > _PRINTABLE_ITEMS:
        _refuse(f"a value to print holds more than {_PRINTABLE_ITEMS} items: more than a message holds")
    return value


class _Strict(StrictUndefined):
    """A missing value fails the render when it is printed, iterated, compared or computed with, so a message
    never says "You moved from  to London". It may still be tested (``{% if x %}``, ``x or y``), and
    ``|default(...)`` replaces it."""

    __slots__ = ()

    def __bool__(self) -> bool:  # type: ignore[override]  # StrictUndefined raises; this one tests false
        return False


def _environment(*, autoescape: bool) -> _Sandbox:
    env = _Sandbox(autoescape=autoescape, keep_trailing_newline=False, trim_blocks=False, finalize=_finalize,
                   undefined=_Strict)
    for name in ("lipsum", "cycler", "joiner", "namespace"):
        env.globals.pop(name, None)
    env.filters.update(FILTERS)
    env.filters = {name: _guard_filter(name, f) for name, f in env.filters.items()}
    env.tests = {name: _guard_test(t) for name, t in env.tests.items()}
    return env


TEXT_ENV = _environment(autoescape=False)
HTML_ENV = _environment(autoescape=True)
# SyntaxError: what Jinja generates for a source nested past what Python compiles (too many nested parentheses or
# blocks, an IndentationError), which Jinja's own parser lets through
_BUILD_FAILURES = (TemplateError, ValueError, ArithmeticError, MemoryError, RecursionError, SyntaxError)


@functools.lru_cache(maxsize=1024)
def _template(source: str, html: bool) -> Template:
    """Compiled once: validation and every template (and locale) using the same source share it. Its globals
    are the environment's (set once, at import) as a plain dict: Jinja copies them into every render's
    context, and copying its default ``ChainMap`` runs in Python, key by key."""
    if (too_big := _oversize(source)) is not None:
        raise TemplateError(too_big.message)
    template = (HTML_ENV if html else TEXT_ENV).from_string(source)
    template.globals = dict(template.globals)
    return template


# -- static checks ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceProblem:
    """A problem in a template source; ``line`` is 1-based within that source; ``name``, when the problem is about
    one, the name as written on that line (to find its column)."""

    line: int
    message: str
    name: str | None = None


def _private_access(tree: nodes.Template) -> Iterator[SourceProblem]:
    for access in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = access.attr if isinstance(access, nodes.Getattr) else getattr(getattr(access, "arg", None), "value",
                                                                             None)
        if isinstance(name, str) and name.startswith("_"):
            yield SourceProblem(access.lineno, f"access to {name!r} is not allowed in templates", name)


def _unknown_filters_and_tests(tree: nodes.Template, env: _Sandbox) -> Iterator[SourceProblem]:
    """A filter or test the sandbox does not have: Jinja refuses an unknown filter only when it compiles, and
    an unknown test inside an ``if`` only when the message renders."""
    for kind, node_type, known in (("filter", nodes.Filter, env.filters), ("test", nodes.Test, env.tests)):
        for node in tree.find_all(node_type):
            if node.name not in known:
                close = difflib.get_close_matches(node.name, sorted(known), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                yield SourceProblem(node.lineno, f"unknown {kind} {node.name!r}{hint}", node.name)


def _undeclared(tree: nodes.Template, env: _Sandbox) -> set[str]:
    """The variables ``tree`` reads from its context. Finding them compiles it, which a filter or test the sandbox
    does not have stops: those are reported on their own, and stand in here as filters that do nothing, so a
    misspelt filter hides no unknown variable beside it."""
    lenient = env.overlay()
    lenient.filters = {**env.filters, **{n.name: _stand_in for n in tree.find_all(nodes.Filter)
                                          if n.name not in env.filters}}
    lenient.tests = {**env.tests, **{n.name: _stand_in for n in tree.find_all(nodes.Test) if n.name not in env.tests}}
    codegen = meta.TrackingCodeGenerator(lenient)
    codegen.visit(tree)
    return codegen.undeclared_identifiers


def _stand_in(value: Any, *_args: Any, **_kwargs: Any) -> Any:
    return value


def _unknown_variables(tree: nodes.Template, env: _Sandbox, extra: frozenset[str]) -> Iterator[SourceProblem]:
    unknown = _undeclared(tree, env) - TEMPLATE_VARIABLES - extra - set(env.globals)
    known = ", ".join(sorted(TEMPLATE_VARIABLES | extra))
    for name in sorted(unknown):
        line = next((n.lineno for n in tree.find_all(nodes.Name) if n.name == name and n.ctx == "load"), 1)
        close = difflib.get_close_matches(name, sorted(TEMPLATE_VARIABLES), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        yield SourceProblem(line, f"unknown variable {name!r}{hint} (templates see: {known})", name)


def _failure(e: BaseException) -> str:
    if isinstance(e, SyntaxError):  # in the Python Jinja makes of the template: its lines are not the template's
        return f"it nests too deeply for Python ({e.msg})"
    if isinstance(e, RecursionError):
        return "it nests too deeply (RecursionError)"
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


_TAG = re.compile(r"\{[{%]")


def _oversize(source: str) -> SourceProblem | None:
    """Whether a source is past what a template may be (:data:`MAX_SOURCE_CHARS`, :data:`MAX_SOURCE_TAGS`)."""
    if len(source) > MAX_SOURCE_CHARS:
        return SourceProblem(1, f"the template text is {len(source)} characters, over the limit of "
                                f"{MAX_SOURCE_CHARS} (a message may be at most that long)")
    tags = 0
    for tag in _TAG.finditer(source):
        tags += 1
        if tags > MAX_SOURCE_TAGS:
            return SourceProblem(source.count("\n", 0, tag.start()) + 1,
                                 f"the template has more than {MAX_SOURCE_TAGS} tags ({{{{ }}}} and {{% %}}); "
                                 "split what it says among templates")
    return None


def check_source(source: str, *, html: bool = False, extra: frozenset[str] = frozenset()) -> list[SourceProblem]:
    """Static checks: syntax, no private attributes, no includes, only known variables; then that it builds."""
    if (too_big := _oversize(source)) is not None:
        return [too_big]
    env = HTML_ENV if html else TEXT_ENV
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as e:
        # where on its line, when Jinja names it: a token, or a tag it does not know (``{% frobnicate %}``, an
        # ``{% endif %}`` with no ``if``; it was placed where the line begins)
        token = re.match(r"(?:unexpected|Encountered unknown tag) '(.{1,20}?)'", e.message or "")
        return [SourceProblem(e.lineno or 1, f"template syntax error: {e.message}", token[1] if token else None)]
    except _BUILD_FAILURES as e:
        return [SourceProblem(1, f"template cannot be read: {_failure(e)}")]
    try:  # a tree nested deeper than Python recurses is walked by each of these
        problems = [*_private_access(tree)]
        for stmt in tree.find_all((nodes.Include, nodes.Extends, nodes.Import, nodes.FromImport)):
            problems.append(SourceProblem(stmt.lineno, "include, extends and import are not available in templates"))
        problems.extend(_unknown_filters_and_tests(tree, env))
        problems.extend(_unknown_variables(tree, env, extra))
    except _BUILD_FAILURES as e:
        return [SourceProblem(1, f"template cannot be read: {_failure(e)}")]
    if not problems:
        try:
            _template(source, html)
        except _BUILD_FAILURES as e:
            problems.append(SourceProblem(1, f"template cannot be built: {_failure(e)}"))
    return problems





# -- message templates ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Part:
    subject: Template
    text: Template
    html: Template | None


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


_MAPPING_METHODS = frozenset(("items", "values", "keys", "get"))


class MessageTemplate:
    """A compiled template with its locale overrides."""

    def __init__(self, template_id: str, subject: str, text: str, html: str | None = None,
                 locales: Mapping[str, Mapping[str, str | None]] | None = None) -> None:
        self.id = template_id
        # what it was written as, every locale's: what reads it ("why did I get this?") looks at the words
        self.sources = tuple(t for t in (subject, text, html, *(v for o in (locales or {}).values()
                                                                for v in o.values())) if isinstance(t, str))
        self._default = self._compile(subject, text, html)
        self._locales: dict[str, _Part] = {}
        for locale, override in (locales or {}).items():
            self._locales[_norm(locale)] = self._compile(
                override.get("subject") or subject,
                override.get("text") or text,
                override.get("html") or (None if override.get("text") else html),
            )

    @property
    def locales(self) -> list[str]:
        return sorted(self._locales)

    @functools.cached_property
    def _read(self) -> frozenset[tuple[str, str]]:
        """(variable, field) pairs its sources read by name, with ``(variable, "*")`` for a variable used in any
        other way (printed whole, indexed by an expression, handed to a filter or a loop)."""
        found: set[tuple[str, str]] = set()
        for source in self.sources:
            tree = TEXT_ENV.parse(source)  # it compiled when the template was made
            named: set[int] = set()
            for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
                if not isinstance(node, nodes.Getattr | nodes.Getitem):  # what find_all was asked for (for mypy)
                    continue
                inner = node.node
                if isinstance(inner, nodes.Name):
                    arg = None if isinstance(node, nodes.Getattr) else node.arg
                    key = node.attr if isinstance(node, nodes.Getattr) else (
                        arg.value if isinstance(arg, nodes.Const) and isinstance(arg.value, str) else "*")
                    if key in _MAPPING_METHODS:  # recipient.items(), recipient.get(...): any field
                        key = "*"
                    found.add((inner.name, key))
                    named.add(id(inner))
            found.update((n.name, "*") for n in tree.find_all(nodes.Name) if id(n) not in named)
        return frozenset(found)

    def reads(self, variable: str, name: str) -> bool:
        """Whether any of its sources (every locale's) may read ``variable.name`` (data minimisation, SPEC §3)."""
        return (variable, name) in self._read or (variable, "*") in self._read

    def _compile(self, subject: str, text: str, html: str | None) -> _Part:
        try:
            return _Part(_template(subject, False), _template(text, False),
                         _template(html, True) if html is not None else None)
        except _BUILD_FAILURES as e:
            msg = f"template {self.id}: {type(e).__name__} while building"
            raise RenderError(msg) from e

    def pick_locale(self, locale: str | None) -> str | None:
        """The employee's locale if there is an override, else one of its language, else the default (None)."""
        if not locale:
            return None
        wanted = _norm(locale)
        if wanted in self._locales:
            return wanted
        return nearest_tag(wanted, self._locales)

    @contextmanager
    def _rendering(self) -> Iterator[None]:
        """A fresh step budget; every failure becomes a :class:`RenderError` that quotes no data."""
        token = _budget.set(_Budget(STEP_BUDGET, RENDER_SECONDS))
        try:
            yield
        except SecurityError as e:
            msg = f"template {self.id}: {_where(e)}{e}"
            raise RenderError(msg) from e
        except RecursionError as e:
            msg = f"template {self.id}: {_where(e)}macros call each other too deeply"
            raise RenderError(msg) from e
        except _RENDER_FAILURES as e:
            msg = f"template {self.id}: {_where(e)}{type(e).__name__} while rendering"
            raise RenderError(msg) from e
        finally:
            _budget.reset(token)

    def _run(self, template: Template, context: Mapping[str, Any], limit: int, part: str = "text") -> str:
        """Render, stopping as soon as the output passes ``limit`` characters. A failure says which part and
        which line of it (``text line 3``), and the kind of error, never a value."""
        chunks: list[str] = []
        size = 0
        try:
            for chunk in template.generate(context):
                size += len(chunk)
                if size > limit:
                    self._too_long()
                chunks.append(chunk)
        except (SecurityError, *_RENDER_FAILURES) as e:
            line = next((f.lineno for f in reversed(traceback.extract_tb(e.__traceback__))
                         if f.filename == "<template>"), None)
            e.add_note(f"{part} line {line}" if line is not None else part)
            raise
        out = "".join(chunks)
        if not out.isascii() and _SURROGATE.search(out) is not None:  # no UTF-8 for it: no file, no email holds it
            msg = f"template {self.id}: {part}: the output holds a lone surrogate (\\udXXX), which is not Unicode text"
            raise RenderError(msg)
        return out

    def _too_long(self) -> NoReturn:
        msg = f"template {self.id}: rendered output exceeds {MAX_OUTPUT_CHARS} characters"
        raise TooLong(msg)

    def render_text(self, context: Mapping[str, Any]) -> str:
        """Only the text part, default locale, no footer: task titles and notes, explanations."""
        with self._rendering(), reading(None, timezone_of(context)):
            return self._run(self._default.text, context, MAX_OUTPUT_CHARS).strip()

    def render(self, context: Mapping[str, Any], locale: str | None, *, footer: tuple[str, str],
               nothing_listed: bool = False) -> Rendered:
        """Render subject, text and HTML; ``footer`` is (explanation, preferences_url), added to both parts. A text or
        HTML that comes out empty is a render error, unless ``nothing_listed``: the step asked the catalog for a list
        and it came back empty (a rehire's roadmap, every item delivered before), and a template that is the list
        alone has nothing else to say. Such a message goes with its footer, as an empty selection's does (README
        "Resources"); an empty subject is an error always."""
        chosen = self.pick_locale(locale)
        part = self._locales[chosen] if chosen is not None else self._default
        language = reading_locale(locale, chosen)
        context = _in_language(context, language)
        with self._rendering(), reading(language, timezone_of(context)):
            subject = " ".join(self._run(part.subject, context, MAX_OUTPUT_CHARS, "subject").split())
            source = layout.blocks(self._run(part.text, context, MAX_OUTPUT_CHARS))
            text = layout.plain(source)  # text and HTML from the same source
            html_body = (self._run(part.html, context, MAX_OUTPUT_CHARS - len(text), "html") if part.html is not None
                         else layout.html_fragment(source))
        if len(text) + len(html_body) > MAX_OUTPUT_CHARS:
            self._too_long()
        parts = (("subject", subject),) if nothing_listed else (("subject", subject), ("text", text),
                                                                ("html", html_body if part.html else "-"))
        for name, said in parts:
            if layout.says_nothing(said):
                msg = f"template {self.id}: the {name} is empty once rendered"
                raise RenderError(msg)
        explanation, preferences_url = footer
        return Rendered(subject, *with_footer(text, html_body, explanation, preferences_url, locale=language,
                                              title=subject, authored=part.html is not None))


SIGNATURE = "\n\n-- \n"  # the signature separator (RFC 3676) before the explanation


def with_footer(text: str, html_body: str, explanation: str, preferences_url: str, *, locale: str | None = None,
                title: str = "", authored: bool = False) -> tuple[str, str]:
    """The text part and the HTML document, both ending with the explanation and the preferences link, in the
    language of ``locale`` (English without it). An :class:`~wayfinder.journeys.explain.Explanation` says
    itself in that language. ``authored``: the HTML was written by a person (an ``html:`` template, a reviewer's
    edit), so nothing in it runs (``layout.safe``) and what it leaves open is closed before the footer
    (``layout.balanced``); Wayfinder's own is whole."""
    localized = getattr(explanation, "localized", None)
    if callable(localized):
        explanation = str(localized(locale))
    change = gettext(locale, "To change or stop these messages: {url}", url=preferences_url)
    body = layout.body_of(html_body)
    if authored:  # written by a person: nothing in it runs, nothing it leaves open takes in the footer
        body = layout.balanced(layout.safe(body))
    html_doc = layout.document(body, title=title, lang=locale or "en",
                               explanation=explanation,
                               preferences_url=preferences_url,
                               change=gettext(locale, "Change or stop these messages"))
    return f"{text}{SIGNATURE}{explanation}\n{change}\n", html_doc


def with_footer_of(text: str, html_body: str, original: str, explanation: str, preferences_url: str, *,
                   locale: str | None = None, title: str = "", authored: bool = False) -> tuple[str, str]:
    """As :func:`with_footer`, the footer said as ``original`` (a text part it wrote) says it: its explanation as
    written, in its language (a reviewer's edits keep the message's footer; the reader's ``locale`` may not be the
    language the message was written in, and a footer in two languages is never sent). An ``original`` without
    such a footer gets the explanation in English."""
    footer = split_footer(original)[1]
    for candidate in dict.fromkeys((locale, None)):
        change = gettext(candidate, "To change or stop these messages: {url}", url=preferences_url)
        said = footer.removeprefix(SIGNATURE).removesuffix(f"\n{change}\n")
        if footer.startswith(SIGNATURE) and footer.endswith(f"\n{change}\n") and said:
            return with_footer(text, html_body, said, preferences_url, locale=candidate, title=title,
                               authored=authored)
    return with_footer(text, html_body, str(explanation), preferences_url, title=title, authored=authored)


def split_footer(text: str) -> tuple[str, str]:
    """``(body, footer)`` of a text part written by :func:`with_footer`, ``body + footer == text``: the body is
    what was given to it (the footer is the last signature block); a text without one is all body."""
    body, separator, footer = text.rpartition(SIGNATURE)
    return (body, separator + footer) if separator else (text, "")


def footer_explanation(text: str) -> str | None:
    """The explanation as the footer of a text part written by :func:`with_footer` says it, in the message's
    language (the record's ``explanation`` is English), every line of it; None when the text has no footer. What
    the review and why pages show, a digest's item says and an intranet post carries: the words its reader gets."""
    footer = split_footer(text)[1].removeprefix(SIGNATURE).rstrip("\n")
    said = footer.rsplit("\n", 1)[0] if "\n" in footer else ""  # the last line is the preferences link's
    return said or None


def text_to_html(text: str) -> str:
    """Plain text as the body of an HTML part: paragraphs and lists (escaped), for a message given only as
    text (a reviewer's edits)."""
    return layout.html_fragment(layout.blocks(text))


@functools.lru_cache(maxsize=4096)
def _title_of(titles: tuple[tuple[Any, Any], ...], locale: str) -> Any:
    """A catalog item's title in ``locale``, kept per titles (catalog text) and locale."""
    return localized(dict(titles), locale)


def _title_in(item: Mapping[str, Any], locale: str) -> Mapping[str, Any]:
    titles = item.get("titles")
    if not isinstance(titles, Mapping) or not titles:
        return item
    pairs = tuple(titles.items())
    if all(type(k) is str and type(v) is str for k, v in pairs):
        title = _title_of(pairs, locale)
    else:  # not a catalog's texts: the long way
        title = localized(titles, locale)
    return {**item, "title": title} if isinstance(title, str) else item


def _in_language(context: Mapping[str, Any], locale: str) -> Mapping[str, Any]:
    """Resources and roadmap items titled in the message's language where the catalog has a translation, and
    the explanation said in it (``{{ explanation }}`` in a German text was the English sentence, above a German
    footer)."""
    out = dict(context)
    localized = getattr(context.get("explanation"), "localized", None)
    if callable(localized):
        out["explanation"] = localized(locale)
    for key in ("resources", "roadmap"):
        items = context.get(key)
        if isinstance(items, list):
            out[key] = [_title_in(i, locale) if isinstance(i, Mapping) else i for i in items]
    return out


def _norm(locale: str) -> str:
    return locale.replace("_", "-").lower()
