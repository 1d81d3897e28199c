"""Message templates: Jinja2 in an immutable sandbox (HR authors are trusted with content, not code)."""

from __future__ import annotations

import html as _html
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from jinja2 import TemplateSyntaxError, Undefined, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATE_VARIABLES = frozenset({
    "employee", "recipient", "event", "trigger", "resources", "roadmap", "explanation", "preferences_url",
})
MAX_OUTPUT_CHARS = 100_000


class RenderError(Exception):
    """A template that could not be rendered; the message names the template, never personal data."""


class _Sandbox(ImmutableSandboxedEnvironment):
    """Any attempt to reach an unsafe attribute fails at once, instead of rendering as empty."""

    def unsafe_undefined(self, obj: Any, attribute: str) -> NoReturn:
        msg = f"access to attribute {attribute!r} is not allowed in templates"
        raise SecurityError(msg)


def _finalize(value: Any) -> Any:
    """What ``{{ }}`` may print: data, never a function, method, class or module (their repr leaks internals)."""
    if isinstance(value, Undefined):
        return value
    if callable(value) or isinstance(value, type | types.ModuleType):
        msg = "templates may print values, not functions, methods, classes or modules"
        raise SecurityError(msg)
    return value


def _environment(*, autoescape: bool) -> _Sandbox:
    env = _Sandbox(autoescape=autoescape, keep_trailing_newline=False, trim_blocks=False, finalize=_finalize)
    for name in ("lipsum", "cycler", "joiner", "namespace"):
        env.globals.pop(name, None)
    return env


TEXT_ENV = _environment(autoescape=False)
HTML_ENV = _environment(autoescape=True)


@dataclass(frozen=True)
class SourceProblem:
    """A problem in a template source; ``line`` is 1-based within that source."""

    line: int
    message: str


def check_source(source: str, *, html: bool = False) -> list[SourceProblem]:
    """Static checks: syntax, no private attributes, no includes, only known variables."""
    env = HTML_ENV if html else TEXT_ENV
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as e:
        return [SourceProblem(e.lineno or 1, f"template syntax error: {e.message}")]
    problems: list[SourceProblem] = []
    for access in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = access.attr if isinstance(access, nodes.Getattr) else getattr(getattr(access, "arg", None), "value",
                                                                             None)
        if isinstance(name, str) and name.startswith("_"):
            problems.append(SourceProblem(access.lineno, f"access to {name!r} is not allowed in templates"))
    for stmt in tree.find_all((nodes.Include, nodes.Extends, nodes.Import, nodes.FromImport)):
        problems.append(SourceProblem(stmt.lineno, "include, extends and import are not available in templates"))
    unknown = meta.find_undeclared_variables(tree) - TEMPLATE_VARIABLES - set(env.globals)
    for name in sorted(unknown):
        line = next((n.lineno for n in tree.find_all(nodes.Name) if n.name == name), 1)
        known = ", ".join(sorted(TEMPLATE_VARIABLES))
        problems.append(SourceProblem(line, f"unknown variable {name!r} (templates see: {known})"))
    return problems


@dataclass(frozen=True)
class _Part:
    subject: Any
    text: Any
    html: Any | None


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

    @staticmethod
    def _compile(subject: str, text: str, html: str | None) -> _Part:
        return _Part(TEXT_ENV.from_string(subject), TEXT_ENV.from_string(text),
                     HTML_ENV.from_string(html) if html is not None else None)

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

    def render_text(self, context: Mapping[str, Any]) -> str:
        """Only the text part, default locale, no footer: task titles and notes, explanations."""
        try:
            return str(self._default.text.render(context)).strip()
        except (SecurityError, TemplateError, TypeError, ValueError, ArithmeticError, LookupError,
                AttributeError) as e:
            msg = f"template {self.id}: {type(e).__name__} while rendering"
            raise RenderError(msg) from e

    def render(self, context: Mapping[str, Any], locale: str | None, *, footer: tuple[str, str]) -> Rendered:
        """Render subject, text and HTML; ``footer`` is (explanation, preferences_url), added to both parts."""
        chosen = self.pick_locale(locale)
        part = self._locales[chosen] if chosen is not None else self._default
        try:
            subject = " ".join(part.subject.render(context).split())
            text = part.text.render(context).rstrip()
            html_body = part.html.render(context) if part.html is not None else _text_to_html(text)
        except SecurityError as e:
            msg = f"template {self.id}: {e}"
            raise RenderError(msg) from e
        except TemplateError as e:
            msg = f"template {self.id}: {type(e).__name__}: {e}"
            raise RenderError(msg) from e
        except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as e:
            msg = f"template {self.id}: {type(e).__name__} while rendering"
            raise RenderError(msg) from e
        if len(text) + len(html_body) > MAX_OUTPUT_CHARS:
            msg = f"template {self.id}: rendered output exceeds {MAX_OUTPUT_CHARS} characters"
            raise RenderError(msg)
        explanation, preferences_url = footer
        text = f"{text}\n\n-- \n{explanation}\nTo change or stop these messages: {preferences_url}\n"
        html_body = (
            f"{html_body}\n<hr>\n<p class=\"wayfinder-explanation\">{_html.escape(explanation)}</p>\n"
            f"<p class=\"wayfinder-preferences\"><a href=\"{_html.escape(preferences_url, quote=True)}\">"
            "Change or stop these messages</a></p>\n"
        )
        return Rendered(subject, text, html_body)


def _norm(locale: str) -> str:
    return locale.replace("_", "-").lower()


def _text_to_html(text: str) -> str:
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    return "\n".join("<p>" + _html.escape(p).replace("\n", "<br>\n") + "</p>" for p in paragraphs)
