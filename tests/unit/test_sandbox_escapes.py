"""Templates are Jinja2 in a sandbox: HR authors are trusted with content, not with code (SPEC §6).

Every template in the corpora below is an attempt to escape the sandbox, change the data it is given,
read the server, or exhaust it. Each must fail *safely*: static validation (``check_source``, which the
loader runs first) reports a problem, or building and rendering raises :class:`RenderError` -- never any
other exception, and never output that shows Python internals.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.support import WriteFiles
from wayfinder.journeys.loader import Sources, load
from wayfinder.journeys.templates import MAX_OUTPUT_CHARS, MessageTemplate, RenderError, check_source

FOOTER = ("why", "https://p")

# What a rendered message must never show: Python objects instead of data.
INTERNALS = ("<class", "function", "module", "built-in", "method", " object at 0x", "<Template", "<Macro",
             "<jinja2", "<Undefined")

ESCAPES: list[str] = [
    # the classic object-graph walks
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__ }}",
    "{{ (1).__class__ }}",
    "{{ recipient.__class__ }}",
    "{{ recipient.given_name.__class__ }}",
    "{{ resources[0].__class__.__base__ }}",
    "{{ x.__getitem__ }}",
    "{{ recipient.__getitem__ }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{% macro m() %}{{ m.__globals__ }}{% endmacro %}{{ m() }}",
    # dynamic attribute names that a static check cannot see
    "{{ request|attr('__class__') }}",
    "{{ recipient|attr('__class__') }}",
    "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
    "{{ ''|attr('\x5f\x5fclass\x5f\x5f') }}",
    "{{ ''|attr('_' ~ '_class__') }}",
    "{{ recipient['__class__'] }}",
    "{{ recipient['_' ~ '_class__'] }}",
    "{{ resources|map(attribute='__class__')|list }}",
    "{{ resources|sort(attribute='__class__') }}",
    "{{ resources|groupby('__class__') }}",
    "{{ resources|selectattr('__class__')|list }}",
    "{{ resources|sum(attribute='__class__') }}",
    # str.format walks attributes too
    '{{ "{0.__class__}".format(recipient) }}',
    '{{ "{0.__class__.__mro__}".format(resources) }}',
    '{{ "{x.__class__}".format_map({"x": recipient}) }}',
    "{{ '%s'|format(recipient.__class__) }}",
    # changing the data the template is given
    "{% set x = [].append(1) %}{{ x }}",
    "{{ resources.append(1) }}",
    "{{ resources.pop() }}",
    "{{ resources.sort() }}",
    "{{ employee.update({}) }}",
    "{{ employee.clear() }}",
    "{{ employee.setdefault('role', 'CEO') }}",
    "{% set d = {} %}{{ d.update({'a': 1}) }}",
    # reading the server
    '{% include "/etc/passwd" %}',
    '{% import "os" as os %}',
    '{% from "os" import system %}',
    '{% extends "base.html" %}',
    "{{ config }}",
    "{{ config.items() }}",
    "{{ namespace }}",
    "{{ lipsum }}",
    "{{ cycler }}",
    "{{ joiner }}",
    # callables and types written out as text
    "{{ ''.join }}",
    "{{ ''.format }}",
    "{{ recipient.get }}",
    "{{ range }}",
    "{{ dict }}",
    "{{ self }}",
    "{% macro m() %}x{% endmacro %}{{ m }}",
    # resource exhaustion that must be refused quickly
    "{{ range(10**9)|list }}",
    "{% for i in range(10**7) %}{{ i }}{% endfor %}",
    "{{ 10**5000 }}",
]

# Resource exhaustion: run in a child process with a memory ceiling and a deadline, so that a template
# that would take the worker's memory or CPU fails the test instead of the test machine.
EXHAUSTION: list[str] = [
    "{{ 'x' * 10**9 }}",
    "{{ 'x' * 10**11 }}",
    "{{ [0] * 10**9 }}",
    "{{ 10**10000000 }}",
    "{{ 10**(10**8) }}",
    "{{ 'a'.center(10**9) }}",
    "{{ 'a'|center(10**9) }}",
    "{{ '{:>1000000000}'.format('a') }}",
    "{{ '%01000000000d'|format(1) }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
]
CHILD_MEMORY = 1 << 30
CHILD_SECONDS = 15


def context() -> dict[str, Any]:
    person = {"id": "E1001", "given_name": "Anna", "family_name": "Schmidt", "email": "anna@example.com",
              "interests": [], "skills": [], "preferences": {"opt_out_channels": [], "opt_out_topics": []},
              "attributes": {"team": "platform"}}
    event = {"specversion": "1.0", "id": "wd-1", "source": "hris/workday", "type": "hris.dependent.added",
             "time": "2026-03-02T09:15:00Z", "subject": "E1001",
             "data": {"relationship": "child", "reason": "birth", "date": "2026-03-01"}}
    return {
        "employee": person, "recipient": dict(person), "event": event, "trigger": dict(event),
        "resources": [{"id": "parent-network", "title": "Parent network", "url": "https://intranet/p",
                       "type": "network"}],
        "roadmap": [], "explanation": "why", "preferences_url": "https://p",
    }


def static_problems(source: str) -> list[str]:
    return [p.message for p in check_source(source) + check_source(source, html=True)]


def assert_no_internals(output: str, source: str) -> None:
    leaked = [marker for marker in INTERNALS if marker in output]
    assert not leaked, f"{source!r} rendered Python internals {leaked}: {output[:200]!r}"


def test_the_corpus_is_big_enough() -> None:
    assert len(ESCAPES) >= 25
    assert len(set(ESCAPES)) == len(ESCAPES)
    assert len(set(EXHAUSTION)) == len(EXHAUSTION)


@pytest.mark.parametrize("source", ESCAPES)
def test_escape_fails_safely_in_render(source: str) -> None:
    problems = static_problems(source)
    try:
        rendered = MessageTemplate("escape/attempt", source, source, source).render(context(), None, footer=FOOTER)
    except RenderError as e:
        assert str(e).startswith("template escape/attempt: ")
        return
    assert problems, f"{source!r} passed validation and rendered: {rendered.text[:200]!r}"
    for output in (rendered.subject, rendered.text, rendered.html):
        assert_no_internals(output, source)


@pytest.mark.parametrize("source", ESCAPES)
def test_escape_fails_safely_in_render_text(source: str) -> None:
    problems = static_problems(source)
    try:
        text = MessageTemplate("escape/attempt", source, source).render_text(context())
    except RenderError as e:
        assert str(e).startswith("template escape/attempt: ")
        return
    assert problems, f"{source!r} passed validation and rendered: {text[:200]!r}"
    assert_no_internals(text, source)


@pytest.mark.parametrize("source", ESCAPES)
def test_escape_never_changes_the_context(source: str) -> None:
    given = context()
    before = repr(given)
    try:
        MessageTemplate("escape/attempt", source, source, source).render(given, None, footer=FOOTER)
    except RenderError:
        pass
    assert repr(given) == before


_CHILD = textwrap.dedent("""
    import resource
    import sys

    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    from wayfinder.journeys.templates import MessageTemplate, RenderError, check_source

    source = sys.argv[1]
    if check_source(source) or check_source(source, html=True):
        print("STATIC")
        raise SystemExit(0)
    ctx = {{"employee": {{"given_name": "Anna"}}, "recipient": {{"given_name": "Anna"}}, "resources": []}}
    try:
        out = MessageTemplate("dos/attempt", source, source).render(ctx, None, footer=("why", "https://p"))
    except RenderError:
        print("RENDER_ERROR")
    except BaseException as e:
        print("OTHER", type(e).__name__)
    else:
        print("OUTPUT", len(out.text))
""")


@pytest.mark.parametrize("source", EXHAUSTION)
def test_exhaustion_fails_quickly_within_memory(source: str) -> None:
    script = _CHILD.format(limit=CHILD_MEMORY)
    try:
        done = subprocess.run([sys.executable, "-c", script, source], capture_output=True, text=True,
                              timeout=CHILD_SECONDS, check=False, cwd=Path(__file__).parent.parent.parent)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{source!r} was still rendering after {CHILD_SECONDS} s")
    outcome = done.stdout.strip()
    assert outcome in ("STATIC", "RENDER_ERROR"), (
        f"{source!r} with {CHILD_MEMORY >> 20} MiB: {outcome or done.stderr[-500:]!r}")


def test_huge_output_is_refused() -> None:
    source = "{% for i in range(100000) %}{{ 'xx' }}{% endfor %}"
    assert check_source(source) == []
    template = MessageTemplate("big/loop", "Subject", source)
    with pytest.raises(RenderError, match=rf"template big/loop: .*exceeds {MAX_OUTPUT_CHARS}"):
        template.render(context(), None, footer=FOOTER)


def test_huge_html_alone_is_refused() -> None:
    html = "{% for i in range(100000) %}<p>x</p>{% endfor %}"
    template = MessageTemplate("big/html", "Subject", "short text", html)
    with pytest.raises(RenderError, match="exceeds"):
        template.render(context(), None, footer=FOOTER)


def test_output_just_under_the_limit_renders() -> None:
    source = "{% for i in range(20000) %}{{ 'x' }}{% endfor %}"
    rendered = MessageTemplate("big/ok", "Subject", source).render(context(), None, footer=FOOTER)
    assert rendered.text.startswith("x" * 20000)


def test_huge_output_is_refused_in_render_text() -> None:
    source = "{% for i in range(100000) %}{{ 'xx' }}{% endfor %}"
    template = MessageTemplate("big/task", source, source)
    with pytest.raises(RenderError, match="template big/task"):
        template.render_text(context())


BAD_TEMPLATE = """
apiVersion: wayfinder/v1
kind: Template
subject: "Hello {{ recipient.given_name }}"
text: |
  Hello {{ recipient.given_name }},
  {{ recipient.__class__.__mro__ }}
"""


def test_escape_in_template_file_is_a_problem_with_file_and_line(write_files: WriteFiles,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_files({"templates/x/bad.yaml": BAD_TEMPLATE})
    monkeypatch.chdir(root)
    defs, problems = load(Sources(templates=[root / "templates"]))
    errors = [p for p in problems if p.severity == "error"]
    assert errors, "an escape attempt passed validation"
    assert "x/bad" not in defs.templates
    attr = [p for p in errors if "__class__" in p.message]
    assert attr, [str(p) for p in errors]
    assert str(attr[0]).startswith("templates/x/bad.yaml:6:")
    assert "template x/bad" in str(attr[0])
    assert any("__mro__" in p.message for p in errors)


LOCALE_ESCAPE = """
apiVersion: wayfinder/v1
kind: Template
subject: "Hello"
text: "Hello"
locales:
  de-DE:
    subject: "{{ recipient|attr('__class__') }} {{ recipient.__dict__ }}"
"""


def test_escape_in_a_locale_override_is_a_problem(write_files: WriteFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_files({"templates/x/bad.yaml": LOCALE_ESCAPE})
    monkeypatch.chdir(root)
    defs, problems = load(Sources(templates=[root / "templates"]))
    found = [p for p in problems if "__dict__" in p.message]
    assert found
    assert str(found[0]).startswith("templates/x/bad.yaml:7:")
    assert "(de-DE)" in found[0].message
    assert "x/bad" not in defs.templates


HUGE_CONSTANT = """
apiVersion: wayfinder/v1
kind: Template
subject: "Hello"
text: "{{ 10**5000 }}"
"""


def test_loading_a_huge_constant_does_not_crash_validation(write_files: WriteFiles) -> None:
    root = write_files({"templates/x/big.yaml": HUGE_CONSTANT})
    defs, problems = load(Sources(templates=[root / "templates"]))
    if "x/big" in defs.templates:
        with pytest.raises(RenderError):
            defs.templates["x/big"].render(context(), None, footer=FOOTER)
    else:
        assert any(str(p).startswith(f"{p.file}:4:") for p in problems)
