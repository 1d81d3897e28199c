"""Message templates: Jinja2 in an immutable sandbox (HR authors are trusted with content, not code).

Besides the object graph, the sandbox guards the worker's memory and CPU: operators, calls and filters that
would build huge values are refused before they run, every render has a budget of :data:`STEP_BUDGET` steps
(blocks entered, loop items tested, calls made, items of large inputs walked by calls and filters), and
output stops at :data:`MAX_OUTPUT_CHARS`.
"""

from __future__ import annotations

import difflib
import functools
import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NoReturn

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, Undefined, meta, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from wayfinder.journeys import layout
from wayfinder.journeys.i18n import FILTERS, gettext, reading, reading_locale, timezone_of

TEMPLATE_VARIABLES = frozenset({
    "employee", "recipient", "event", "trigger", "resources", "roadmap", "explanation", "preferences_url",
})
DIGEST_VARIABLES = frozenset({"items", "count", "every"})
"""What a digest's template (an id under ``digest/``) sees besides ``recipient``, ``explanation`` and
``preferences_url`` (README "Digests")."""
MAX_OUTPUT_CHARS = 100_000
MAX_EXPONENT = 256
STEP_BUDGET = 1_000_000
# Far more than Python prints (4300 digits), far less than what takes a worker seconds to compute.
_MAX_INT_BITS = 1 << 15
# Errors a render can meet besides SecurityError; their text may quote data, so only the type is reported.
_RENDER_FAILURES = (TemplateError, TypeError, ValueError, ArithmeticError, LookupError, AttributeError,
                    MemoryError, RecursionError)
_PRINTF_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?")
_SCALARS = (str, int, float, date, Decimal, Undefined, type(None))  # bool is an int, datetime a date


class RenderError(Exception):
    """A template that could not be rendered; the message names the template, never personal data."""


def _refuse(message: str) -> NoReturn:
    raise SecurityError(message)


# -- the step budget ------------------------------------------------------------------------------
class _Budget:
    __slots__ = ("left",)

    def __init__(self, left: int) -> None:
        self.left = left


_budget: ContextVar[_Budget] = ContextVar("template_budget")
# Outside MessageTemplate rendering the budget is spent: nothing runs (constant folding at build included).
_SPENT = _Budget(0)


def _tick(cost: int = 1) -> bool:
    """Spend ``cost`` steps of the current render's budget."""
    budget = _budget.get(_SPENT)
    if budget.left < cost:
        _refuse(f"the template needs more than {STEP_BUDGET} steps")
    budget.left -= cost
    return True


_SIZED = (str, list, tuple, dict, range)
_FREE_SIZE = 1_000
# Filters whose work does not grow with their input and that take no sizes: left unwrapped, for speed.
_CONSTANT_TIME_FILTERS = frozenset({"abs", "attr", "count", "d", "default", "float", "int", "length", "round"})


def _size(value: Any) -> int:
    return len(value) if isinstance(value, _SIZED) else 0


class _CountingCodeGenerator(CodeGenerator):
    """Generated code that spends a step on every block it enters and every item a loop filter tests."""

    def blockvisit(self, body: Iterable[nodes.Node], frame: Frame) -> None:
        self.writeline("environment.tick()")
        super().blockvisit(body, frame)

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


def _printf_widths(fmt: str) -> None:
    for field in _PRINTF_FIELD.finditer(fmt):
        _check_wide(field.groups())


def _str_format_widths(fmt: str) -> None:
    for _, _, spec, _ in string.Formatter().parse(fmt):
        if spec and "{" in spec:
            _refuse("nested replacement fields in a format spec are not allowed in templates")
        if spec:
            _check_wide(re.findall(r"\d+", spec))


_FORMAT_CHECKS = {"%": _printf_widths, "{}": _str_format_widths}


@functools.lru_cache(maxsize=512)
def _check_short_format(fmt: str, style: str) -> None:
    _FORMAT_CHECKS[style](fmt)


def _check_format(fmt: str, style: str) -> None:
    """Widths in a ``%`` (style ``"%"``) or ``str.format`` (``"{}"``) format string; short ones (nearly always
    template text) are remembered once they pass."""
    if len(fmt) <= 200:
        _check_short_format(fmt, style)
    else:
        _FORMAT_CHECKS[style](fmt)


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
        if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_OUTPUT_CHARS:
            _refuse(f"repeating to more than {MAX_OUTPUT_CHARS} items is not allowed in templates")


def _check_arguments(args: Iterable[Any], kwargs: Mapping[str, Any]) -> None:
    """Integer arguments are sizes, widths or counts often enough that big ones are refused everywhere."""
    for values in (args, kwargs.values()):
        for arg in values:
            if isinstance(arg, int) and not -MAX_OUTPUT_CHARS <= arg <= MAX_OUTPUT_CHARS:
                _refuse(f"numbers above {MAX_OUTPUT_CHARS} are not allowed as arguments in templates")


def _is_str_format(obj: Any) -> bool:
    """A sandboxed ``str.format``: its arguments are values to format, its widths are checked on access."""
    method = getattr(obj, "__wrapped__", None)
    return getattr(method, "__name__", None) in ("format", "format_map") and isinstance(
        getattr(method, "__self__", None), str)


def _guard_filter(name: str, f: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse big size arguments; a filter walks its input, and an input above :data:`_FREE_SIZE` items costs
    a step per item (smaller ones are part of the step that called the filter)."""
    if name == "format":
        return _guard_format(f)
    if name in _CONSTANT_TIME_FILTERS:
        return f
    at = 1 if hasattr(f, "jinja_pass_arg") else 0  # where the filtered value is among the arguments

    @functools.wraps(f)  # keeps jinja_pass_arg
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) > at + 1:
            _check_arguments(args[at + 1:], kwargs)
        value = args[at]
        if isinstance(value, _SIZED) and len(value) > _FREE_SIZE:
            _tick(len(value))
        return f(*args, **kwargs)

    return guarded


def _guard_format(f: Callable[..., Any]) -> Callable[..., Any]:
    """The ``format`` filter: its arguments are values to format, its widths are in the format string."""

    @functools.wraps(f)
    def guarded(value: Any, *args: Any, **kwargs: Any) -> Any:
        text = str(value)
        _check_format(text, "%")
        if len(text) > _FREE_SIZE:
            _tick(len(text))
        return f(value, *args, **kwargs)

    return guarded


class _Sandbox(ImmutableSandboxedEnvironment):
    """Any attempt to reach an unsafe attribute fails at once, instead of rendering as empty; operators, calls
    and ``str.format`` are checked for sizes, and every call costs a step."""

    code_generator_class = _CountingCodeGenerator
    intercepted_binops = frozenset({"*", "**", "%"})  # also keeps them from being folded at build time

    def unsafe_undefined(self, obj: Any, attribute: str) -> NoReturn:
        # A private name may be computed from data, so it is not quoted; the others are known method names.
        name = "private attributes" if attribute.startswith("_") else f"attribute {attribute!r}"
        _refuse(f"access to {name} is not allowed in templates")

    tick = staticmethod(_tick)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_product(left, right)
        elif isinstance(left, str):
            _check_format(left, "%")
        return super().call_binop(context, operator, left, right)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        if not _is_str_format(obj):
            _check_arguments(args, kwargs)
        _tick(1 + _size(getattr(obj, "__self__", None)))
        return super().call(context, obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_format(value.__self__, "{}")
        return wrapped


def _is_data(value: Any) -> bool:
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, list | tuple):
        return all(_is_data(v) for v in value)
    if isinstance(value, dict):
        return all(_is_data(k) and _is_data(v) for k, v in value.items())
    return False


def _finalize(value: Any) -> Any:
    """What ``{{ }}`` may print: data, never a function, template, class or module (their repr leaks internals)."""
    if not _is_data(value):
        _refuse("templates may print text, numbers, dates and lists or mappings of them, nothing else")
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
    return env


TEXT_ENV = _environment(autoescape=False)
HTML_ENV = _environment(autoescape=True)
_BUILD_FAILURES = (TemplateError, ValueError, ArithmeticError, MemoryError, RecursionError)


@functools.lru_cache(maxsize=1024)
def _template(source: str, html: bool) -> Template:
    """Compiled once: validation and every template (and locale) using the same source share it."""
    return (HTML_ENV if html else TEXT_ENV).from_string(source)


# -- static checks ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceProblem:
    """A problem in a template source; ``line`` is 1-based within that source."""

    line: int
    message: str


def _private_access(tree: nodes.Template) -> Iterator[SourceProblem]:
    for access in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = access.attr if isinstance(access, nodes.Getattr) else getattr(getattr(access, "arg", None), "value",
                                                                             None)
        if isinstance(name, str) and name.startswith("_"):
            yield SourceProblem(access.lineno, f"access to {name!r} is not allowed in templates")


def _unknown_variables(tree: nodes.Template, env: _Sandbox, extra: frozenset[str]) -> Iterator[SourceProblem]:
    unknown = meta.find_undeclared_variables(tree) - TEMPLATE_VARIABLES - extra - set(env.globals)
    known = ", ".join(sorted(TEMPLATE_VARIABLES | extra))
    for name in sorted(unknown):
        line = next((n.lineno for n in tree.find_all(nodes.Name) if n.name == name and n.ctx == "load"), 1)
        close = difflib.get_close_matches(name, sorted(TEMPLATE_VARIABLES), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        yield SourceProblem(line, f"unknown variable {name!r}{hint} (templates see: {known})")


def _failure(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


def check_source(source: str, *, html: bool = False, extra: frozenset[str] = frozenset()) -> list[SourceProblem]:
    """Static checks: syntax, no private attributes, no includes, only known variables; then that it builds."""
    env = HTML_ENV if html else TEXT_ENV
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as e:
        return [SourceProblem(e.lineno or 1, f"template syntax error: {e.message}")]
    except _BUILD_FAILURES as e:
        return [SourceProblem(1, f"template cannot be read: {_failure(e)}")]
    problems = [*_private_access(tree)]
    for stmt in tree.find_all((nodes.Include, nodes.Extends, nodes.Import, nodes.FromImport)):
        problems.append(SourceProblem(stmt.lineno, "include, extends and import are not available in templates"))
    problems.extend(_unknown_variables(tree, env, extra))
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


class MessageTemplate:
    """A compiled template with its locale overrides."""

    def __init__(self, template_id: str, subject: str, text: str, html: str | None = None,
                 locales: Mapping[str, Mapping[str, str | None]] | None = None) -> None:
        self.id = template_id
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
        language = wanted.split("-")[0]
        for candidate in sorted(self._locales):
            if candidate.split("-")[0] == language:
                return candidate
        return None

    @contextmanager
    def _rendering(self) -> Iterator[None]:
        """A fresh step budget; every failure becomes a :class:`RenderError` that quotes no data."""
        token = _budget.set(_Budget(STEP_BUDGET))
        try:
            yield
        except SecurityError as e:
            msg = f"template {self.id}: {e}"
            raise RenderError(msg) from e
        except _RENDER_FAILURES as e:
            msg = f"template {self.id}: {type(e).__name__} while rendering"
            raise RenderError(msg) from e
        finally:
            _budget.reset(token)

    def _run(self, template: Template, context: Mapping[str, Any], limit: int) -> str:
        """Render, stopping as soon as the output passes ``limit`` characters."""
        chunks: list[str] = []
        size = 0
        for chunk in template.generate(context):
            size += len(chunk)
            if size > limit:
                self._too_long()
            chunks.append(chunk)
        return "".join(chunks)

    def _too_long(self) -> NoReturn:
        msg = f"template {self.id}: rendered output exceeds {MAX_OUTPUT_CHARS} characters"
        raise RenderError(msg)

    def render_text(self, context: Mapping[str, Any]) -> str:
        """Only the text part, default locale, no footer: task titles and notes, explanations."""
        with self._rendering(), reading(None, timezone_of(context)):
            return self._run(self._default.text, context, MAX_OUTPUT_CHARS).strip()

    def render(self, context: Mapping[str, Any], locale: str | None, *, footer: tuple[str, str]) -> Rendered:
        """Render subject, text and HTML; ``footer`` is (explanation, preferences_url), added to both parts."""
        chosen = self.pick_locale(locale)
        part = self._locales[chosen] if chosen is not None else self._default
        language = reading_locale(locale, chosen)
        context = _in_language(context, language)
        with self._rendering(), reading(language, timezone_of(context)):
            subject = " ".join(self._run(part.subject, context, MAX_OUTPUT_CHARS).split())
            source = layout.blocks(self._run(part.text, context, MAX_OUTPUT_CHARS))
            text = layout.plain(source)  # text and HTML from the same source
            html_body = (self._run(part.html, context, MAX_OUTPUT_CHARS - len(text)) if part.html is not None
                         else layout.html_fragment(source))
        if len(text) + len(html_body) > MAX_OUTPUT_CHARS:
            self._too_long()
        explanation, preferences_url = footer
        return Rendered(subject, *with_footer(text, html_body, explanation, preferences_url, locale=language,
                                              title=subject))


def with_footer(text: str, html_body: str, explanation: str, preferences_url: str, *, locale: str | None = None,
                title: str = "") -> tuple[str, str]:
    """The text part and the HTML document, both ending with the explanation and the preferences link, in the
    language of ``locale`` (English without it). An :class:`~wayfinder.journeys.explain.Explanation` says
    itself in that language."""
    localized = getattr(explanation, "localized", None)
    if callable(localized):
        explanation = str(localized(locale))
    change = gettext(locale, "To change or stop these messages: {url}", url=preferences_url)
    html_doc = layout.document(html_body, title=title, lang=locale or "en", explanation=explanation,
                               preferences_url=preferences_url,
                               change=gettext(locale, "Change or stop these messages"))
    return f"{text}\n\n-- \n{explanation}\n{change}\n", html_doc


def text_to_html(text: str) -> str:
    """Plain text as the body of an HTML part: paragraphs and lists (escaped), for a message given only as
    text (a reviewer's edits)."""
    return layout.html_fragment(layout.blocks(text))


def _title_in(item: Mapping[str, Any], locale: str) -> Mapping[str, Any]:
    titles = item.get("titles")
    if not isinstance(titles, Mapping) or not titles:
        return item
    wanted = _norm(locale)
    by_locale = {_norm(str(k)): v for k, v in titles.items()}
    language = wanted.split("-")[0]
    title = by_locale.get(wanted) or by_locale.get(language) or next(
        (v for k, v in sorted(by_locale.items()) if k.split("-")[0] == language), None)
    return {**item, "title": title} if isinstance(title, str) else item


def _in_language(context: Mapping[str, Any], locale: str) -> Mapping[str, Any]:
    """Resources and roadmap items titled in the message's language where the catalog has a translation."""
    out = dict(context)
    for key in ("resources", "roadmap"):
        items = context.get(key)
        if isinstance(items, list):
            out[key] = [_title_in(i, locale) if isinstance(i, Mapping) else i for i in items]
    return out


def _norm(locale: str) -> str:
    return locale.replace("_", "-").lower()
