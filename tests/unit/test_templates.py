"""Message templates: locales, escaping, the footer every message carries, and static checks (SPEC §4, §6)."""

from __future__ import annotations

import html as html_lib
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from tests.support import WriteFiles
from wayfinder.journeys.layout import split_document
from wayfinder.journeys.loader import Sources, load
from wayfinder.journeys.records import Message
from wayfinder.journeys.templates import (
    MessageTemplate,
    Rendered,
    RenderError,
    check_source,
    footer_explanation,
    split_footer,
    with_footer,
    with_footer_of,
)

EXPLANATION = "You received this because a new child was added to your family record on 2026-03-01."
PREFERENCES = "https://intranet.example.com/wayfinder/preferences?employee=E1001&view=all"
FOOTER = (EXPLANATION, PREFERENCES)


def context(name: str = "Anna", **extra: Any) -> dict[str, Any]:
    person = {"id": "E1001", "given_name": name, "email": "anna@example.com", "attributes": {}}
    out: dict[str, Any] = {
        "employee": person, "recipient": dict(person), "event": {"type": "hris.dependent.added", "data": {}},
        "trigger": {"type": "hris.dependent.added", "data": {"date": "2026-03-01"}},
        "resources": [{"id": "parent-network", "title": "Parent network", "url": "https://intranet/pn",
                       "type": "network"}],
        "roadmap": [], "explanation": EXPLANATION, "preferences_url": PREFERENCES,
    }
    out.update(extra)
    return out


def welcome() -> MessageTemplate:
    return MessageTemplate(
        "new-parent/welcome",
        subject="Congratulations, {{ recipient.given_name }}!",
        text="Congratulations on the new addition to your family.",
        html="<p>Congratulations on the new addition to your family, {{ recipient.given_name }}.</p>",
        locales={
            "de-DE": {"subject": "Herzlichen Glückwunsch, {{ recipient.given_name }}!",
                      "text": "Herzlichen Glückwunsch zum Familienzuwachs."},
            "fr": {"subject": "Félicitations, {{ recipient.given_name }} !"},
            "pt_BR": {"subject": "Parabéns, {{ recipient.given_name }}!", "text": "Parabéns pelo bebê.",
                      "html": "<p>Parabéns pelo bebê, {{ recipient.given_name }}.</p>"},
        },
    )


# -- locale selection ---------------------------------------------------------------------------
@pytest.mark.parametrize(("locale", "chosen"), [
    ("de-DE", "de-de"),
    ("de_DE", "de-de"),
    ("DE-de", "de-de"),
    ("de-AT", "de-de"),
    ("de", "de-de"),
    ("fr-CA", "fr"),
    ("fr", "fr"),
    ("pt-BR", "pt-br"),
    ("pt-PT", "pt-br"),
    ("en-US", None),
    ("ja-JP", None),
    ("", None),
    (None, None),
])
def test_pick_locale(locale: str | None, chosen: str | None) -> None:
    assert welcome().pick_locale(locale) == chosen


@pytest.mark.parametrize(("locale", "chosen"), [
    ("de-AT", "de-de"), ("de", "de-de"), ("de-CH", "de-ch"), ("de-LI", "de-de"),
    ("zh-Hant-TW", "zh-hant-hk"), ("zh-TW", "zh-hant-hk"), ("zh", "zh-hans-cn"),
    ("fr-BE", "fr"), ("fr-CA", "fr-ca"), ("sr-Latn-BA", "sr-latn"),
])
def test_a_reader_with_no_override_of_their_own_gets_the_nearest_of_their_language(locale: str,
                                                                                   chosen: str) -> None:
    """An audit on 2026-12-04: with ``de-CH`` and ``de-DE`` overrides, a reader in Austria (or of plain ``de``) got
    the Swiss text, first in the alphabet. Now: the same script (CLDR fills in what a tag leaves out: zh-TW is
    written in Traditional characters), then the bare language, then the region where the language is most
    spoken."""
    template = MessageTemplate("t", "s", "x", locales={
        k: {"subject": k} for k in ("de-CH", "de-DE", "zh-Hans-CN", "zh-Hant-HK", "fr", "fr-CA", "sr-Cyrl", "sr-Latn")})
    assert template.pick_locale(locale) == chosen


def test_locales_are_listed_normalized() -> None:
    assert welcome().locales == ["de-de", "fr", "pt-br"]


def test_exact_locale_renders_its_override() -> None:
    rendered = welcome().render(context("Jonas"), "de-DE", footer=FOOTER)
    assert rendered.subject == "Herzlichen Glückwunsch, Jonas!"
    assert rendered.text.startswith("Herzlichen Glückwunsch zum Familienzuwachs.\n")


def test_language_fallback_de_at_uses_de_de() -> None:
    rendered = welcome().render(context("Jonas"), "de-AT", footer=FOOTER)
    assert rendered.subject == "Herzlichen Glückwunsch, Jonas!"
    assert "Herzlichen Glückwunsch zum Familienzuwachs." in rendered.text
    # an override with text but no html gets its html from its own text, not the default html
    assert "Herzlichen Glückwunsch zum Familienzuwachs." in rendered.html
    assert "Congratulations" not in rendered.html


def _assert_the_default_body(rendered: Rendered, name: str) -> None:
    assert rendered.text.startswith("Congratulations on the new addition to your family.")
    assert f"<p>Congratulations on the new addition to your family, {name}.</p>" in rendered.html


def test_unknown_locale_renders_the_default() -> None:
    rendered = welcome().render(context("Jonas"), "en-GB", footer=FOOTER)
    assert rendered.subject == "Congratulations, Jonas!"
    _assert_the_default_body(rendered, "Jonas")


def test_no_locale_renders_the_default() -> None:
    assert welcome().render(context("Jonas"), None, footer=FOOTER).subject == "Congratulations, Jonas!"


def test_override_of_subject_only_keeps_default_text_and_html() -> None:
    rendered = welcome().render(context("Chloé"), "fr-FR", footer=FOOTER)
    assert rendered.subject == "Félicitations, Chloé !"
    _assert_the_default_body(rendered, "Chloé")


def test_override_with_its_own_html() -> None:
    rendered = welcome().render(context("João"), "pt-BR", footer=FOOTER)
    assert rendered.subject == "Parabéns, João!"
    assert "<p>Parabéns pelo bebê, João.</p>" in rendered.html


def test_plain_language_override_is_preferred_over_another_region() -> None:
    template = MessageTemplate("t", "Hello", "Hello", locales={"de-CH": {"subject": "Grüezi"},
                                                               "de": {"subject": "Hallo"}})
    assert template.pick_locale("de-AT") == "de"
    assert template.render(context(), "de-AT", footer=FOOTER).subject == "Hallo"


# -- escaping -------------------------------------------------------------------------------------
NASTY = "<b>Zoë & Co</b>"


def test_html_part_escapes_the_recipient_name_and_text_keeps_it() -> None:
    template = MessageTemplate("t", "Hi {{ recipient.given_name }}", "Hi {{ recipient.given_name }}",
                               "<p>Hi {{ recipient.given_name }}</p>")
    rendered = template.render(context(NASTY), None, footer=FOOTER)
    assert "<p>Hi &lt;b&gt;Zoë &amp; Co&lt;/b&gt;</p>" in rendered.html
    assert NASTY not in rendered.html
    assert rendered.text.startswith(f"Hi {NASTY}\n")
    assert rendered.subject == f"Hi {NASTY}"


def test_html_made_from_text_escapes_too() -> None:
    template = MessageTemplate("t", "Hi", "Hi {{ recipient.given_name }}")
    rendered = template.render(context(NASTY), None, footer=FOOTER)
    assert '<p style="margin:0 0 16px 0">Hi &lt;b&gt;Zoë &amp; Co&lt;/b&gt;</p>' in rendered.html
    assert NASTY not in rendered.html
    assert NASTY in rendered.text


def test_text_and_html_come_from_the_same_source_and_paragraphs_reflow() -> None:
    template = MessageTemplate("t", "Hi", "Hello {{ recipient.given_name }},\n\nfirst line\nsecond line\\\n"
                                          "kept break\n- Guide: https://intranet/g\n- plain item\nAfter.\n")
    rendered = template.render(context(), None, footer=FOOTER)
    assert rendered.text.startswith("Hello Anna,\n\nfirst line second line\nkept break\n\n- Guide: "
                                    "https://intranet/g\n- plain item\n\nAfter.\n\n-- \n")
    body = rendered.html.split('<div style="max-width:600px;margin:0 auto;padding:24px;background:#ffffff">\n')[1]
    assert body.startswith(
        '<p style="margin:0 0 16px 0">Hello Anna,</p>\n'
        '<p style="margin:0 0 16px 0">first line second line<br>kept break</p>\n'
        '<ul style="margin:0 0 16px 0;padding:0 0 0 24px"><li style="margin:0 0 8px 0"><a href="https://intranet/g" '
        'style="color:#0b57d0;text-decoration:underline">Guide</a></li><li style="margin:0 0 8px 0">plain item</li>'
        '</ul>\n<p style="margin:0 0 16px 0">After.</p>\n<hr ')


def test_the_html_part_is_a_whole_document_in_the_readers_language() -> None:
    template = MessageTemplate("t", "Hallo <&>", "Hallo.", locales={"de": {"subject": "Hallo <&>", "text": "Hallo."}})
    html = template.render(context(), "de-DE", footer=FOOTER).html
    assert html.startswith('<!DOCTYPE html>\n<html lang="de-DE">\n<head>\n<meta charset="utf-8">\n')
    assert "<title>Hallo &lt;&amp;&gt;</title>" in html
    assert html.endswith("</div>\n</body>\n</html>\n")
    assert 'class="wayfinder-preferences"' in html and ">Diese Nachrichten ändern oder abbestellen</a>" in html


def test_explicit_markup_in_html_template_is_kept() -> None:
    template = MessageTemplate("t", "Hi", "Hi", "<ul>{% for r in resources %}<li><a href=\"{{ r.url }}\">"
                               "{{ r.title }}</a></li>{% endfor %}</ul>")
    html = template.render(context(), None, footer=FOOTER).html
    assert '<ul><li><a href="https://intranet/pn">Parent network</a></li></ul>' in html


@pytest.mark.parametrize("written", [
    "<!DOCTYPE html>\n<html><head><title>x</title><style>p{}</style></head>\n"
    "<BODY class='a'><h1>Hello</h1></body></html>",
    "<html><body><h1>Hello</h1></body></html>",
    "<h1>Hello</h1></body>\n</html>",
])
def test_an_html_part_written_as_a_whole_document_gives_only_its_body(written: str) -> None:
    """One document per email, with one explanation: an author's document is not nested inside Wayfinder's."""
    html = MessageTemplate("t", "Hi", "Hi", written).render(context(), None, footer=FOOTER).html
    assert html.count("<html") == 1 and html.count("<body") == 1 and html.count("<head>") == 1
    assert html.count("<!DOCTYPE") == 1 and "<title>x</title>" not in html and "<style>" not in html
    assert split_document(html)[1] == "<h1>Hello</h1>"
    # Wayfinder's own document, sent back whole (a reviewer's edit), gives its body without its footer.
    again = with_footer("Hi", html, "Because.", "https://p", title="Hi")[1]
    assert split_document(again)[1] == "<h1>Hello</h1>" and again.count("Because.") == 1


def test_resource_title_is_escaped_in_html() -> None:
    resources = [{"id": "r", "title": "Kids & <script>alert(1)</script>", "url": "https://x/\"><script>",
                  "type": "tool"}]
    template = MessageTemplate("t", "Hi", "{% for r in resources %}{{ r.title }} {{ r.url }}{% endfor %}",
                               "{% for r in resources %}<a href=\"{{ r.url }}\">{{ r.title }}</a>{% endfor %}")
    rendered = template.render(context(resources=resources), None, footer=FOOTER)
    assert "<script>" not in rendered.html
    assert "Kids &amp; &lt;script&gt;" in rendered.html
    assert 'href="https://x/&quot;&gt;&lt;script&gt;"' in rendered.html  # the address as given, in its attribute
    assert "Kids & <script>alert(1)</script>" in rendered.text


def test_footer_is_escaped_in_html() -> None:
    template = MessageTemplate("t", "Hi", "Hi")
    rendered = template.render(context(), None, footer=("Because <you> & \"we\"", 'https://p/?a=1&b="2"'))
    assert "Because &lt;you&gt; &amp; &quot;we&quot;" in rendered.html
    assert 'href="https://p/?a=1&amp;b=&quot;2&quot;"' in rendered.html
    assert "Because <you> & \"we\"" in rendered.text
    assert 'https://p/?a=1&b="2"' in rendered.text


# -- the footer: every message says why and how to stop it -----------------------------------------
@pytest.mark.parametrize("locale", [None, "de-DE", "de-AT", "fr-FR", "pt-BR", "en-US"])
@pytest.mark.parametrize("with_html", [True, False])
def test_every_message_carries_explanation_and_preferences_link(locale: str | None, with_html: bool) -> None:
    template = welcome() if with_html else MessageTemplate(
        "t", "Hi", "Hello", locales={"de-DE": {"text": "Hallo"}, "fr": {"subject": "Salut"}})
    rendered = template.render(context(), locale, footer=FOOTER)
    assert EXPLANATION in rendered.text
    assert PREFERENCES in rendered.text
    assert rendered.text.endswith(f"{PREFERENCES}\n")
    assert html_lib.escape(EXPLANATION) in rendered.html
    assert f'href="{html_lib.escape(PREFERENCES, quote=True)}"' in rendered.html
    assert EXPLANATION not in rendered.subject


@pytest.mark.parametrize(("subject", "text", "html", "empty"), [
    ("Hi", "{% if false %}x{% endif %}", None, "text"),
    ("{{ employee.attributes.nickname | default('') }}", "Hello", None, "subject"),
    ("Hi", "Hello", "{% if false %}<p>x</p>{% endif %}  ", "html"),
])
def test_a_template_that_renders_nothing_fails_and_is_not_sent_as_a_footer_alone(
        subject: str, text: str, html: str | None, empty: str) -> None:
    """An audit on 2026-12-04: a template whose text came out empty was sent as its footer alone, under an empty
    Subject:, with no word in the run (the footer fooled the email connector's own check for an empty body)."""
    template = MessageTemplate("t", subject, text, html)
    with pytest.raises(RenderError, match=f"^template t: the {empty} is empty once rendered$"):
        template.render(context(), None, footer=FOOTER)


def test_the_footer_is_in_both_parts() -> None:
    rendered = MessageTemplate("t", "Hi", "Hello", "<p>Hello</p>").render(context(), None, footer=FOOTER)
    assert EXPLANATION in rendered.text
    assert EXPLANATION in rendered.html
    assert PREFERENCES in rendered.text


def test_subject_is_one_line() -> None:
    template = MessageTemplate("t", "Hello\n   {{ recipient.given_name }}\r\n\t!\u2028x", "t")
    subject = template.render(context(), None, footer=FOOTER).subject
    assert subject == "Hello Anna ! x"


# -- render_text ----------------------------------------------------------------------------------
def test_render_text_is_the_default_text_stripped_without_footer() -> None:
    template = MessageTemplate("j/task", "ignored", "  Call {{ employee.given_name }} this week.  \n",
                               locales={"de-DE": {"text": "Ruf an"}})
    text = template.render_text(context("Zoë"))
    assert text == "Call Zoë this week."


def test_render_text_does_not_escape() -> None:
    template = MessageTemplate("j/task", "s", "Reach out to {{ employee.given_name }}")
    assert template.render_text(context(NASTY)) == f"Reach out to {NASTY}"


@pytest.mark.parametrize("source", [
    "{{ employee.missing.deeper }}",
    "{{ employee.given_name + 1 }}",
    "{{ employee.given_name is divisibleby 3 }}",
    "{{ resources.append(1) }}",
    "{{ '{:d}'.format(employee.given_name) }}",
])
def test_render_text_errors_are_render_errors(source: str) -> None:
    with pytest.raises(RenderError, match=r"^template j/task: "):
        MessageTemplate("j/task", source, source).render_text(context())


@pytest.mark.parametrize("source", [
    "{{ employee[recipient.email].x }}",
    "{{ employee[recipient.email]() }}",
    "{{ recipient.given_name|attr(recipient.email) + 1 }}",
    "{{ employee.attributes[recipient.email].x }}",
    "{{ recipient[recipient.given_name].x }}",
])
def test_render_error_never_carries_personal_data(source: str) -> None:
    ctx = context("Zoë Kowalczyk")
    for template in (MessageTemplate("j/step", source, source), MessageTemplate("j/step", "s", source)):
        with pytest.raises(RenderError) as info:
            template.render(ctx, None, footer=FOOTER)
        assert "anna@example.com" not in str(info.value)
        assert "Zoë Kowalczyk" not in str(info.value)
        assert str(info.value).startswith("template j/step: ")


# -- static checks --------------------------------------------------------------------------------
def test_known_variables_and_locals_pass() -> None:
    source = (
        "{{ employee.attributes.team }} {{ recipient.given_name }} {{ event.type }} {{ trigger.data.date }}\n"
        "{% for r in resources %}{{ loop.index }}. {{ r.title }} {{ r.url }}{% endfor %}\n"
        "{% for item in roadmap %}{{ item.title }}{% endfor %}{% set n = resources|length %}{{ n }}\n"
        "{{ explanation }} {{ preferences_url }} {{ range(3)|list }}\n"
    )
    assert check_source(source) == []
    assert check_source(source, html=True) == []


def test_unknown_variable_with_its_line() -> None:
    problems = check_source("Hello,\n\n{{ employe.given_name }}\n")
    assert [p.line for p in problems] == [3]
    assert "unknown variable 'employe'" in problems[0].message
    assert "employee" in problems[0].message


def test_each_unknown_variable_is_reported_once_at_its_first_line() -> None:
    problems = check_source("a\n{{ foo }}\n{{ bar }}\n{{ foo }}")
    assert sorted((p.line, p.message.split(" (")[0]) for p in problems) == [
        (2, "unknown variable 'foo'"), (3, "unknown variable 'bar'")]


def test_an_unknown_filter_or_test_is_a_problem_at_its_line_not_a_crash() -> None:
    problems = check_source("Hi\n{{ trigger.data.date | format_dat }}\n{% if employee is shouting %}x{% endif %}")
    assert [(p.line, p.message) for p in problems] == [
        (2, "unknown filter 'format_dat' (did you mean 'format_date'?)"),
        (3, "unknown test 'shouting' (did you mean 'string'?)")]
    assert check_source("{{ employee.given_name | upper }}{% if resources is defined %}x{% endif %}") == []
    # A filter block is a filter too.
    assert [p.message for p in check_source("{% filter shout %}x{% endfilter %}")] == [
        "unknown filter 'shout' (did you mean 'sort'?)"]


def test_an_unknown_filter_or_test_hides_no_unknown_variable_beside_it() -> None:
    problems = check_source("{{ employee.givenname }} {{ foo }}\n{{ employee.given_name | uper }}\n"
                            "{% if bar is od %}{{ baz | shout(qux) }}{% endif %}")
    assert [(p.line, p.message.split(" (templates see")[0]) for p in problems] == [
        (2, "unknown filter 'uper' (did you mean 'upper'?)"),
        (3, "unknown filter 'shout' (did you mean 'sort'?)"),
        (3, "unknown test 'od' (did you mean 'odd'?)"),
        (3, "unknown variable 'bar'"),
        (3, "unknown variable 'baz'"),
        (1, "unknown variable 'foo'"),
        (3, "unknown variable 'qux'")]


def test_loop_variable_outside_its_loop_is_unknown() -> None:
    problems = check_source("{% for r in resources %}\n- one more\n{% endfor %}\n{{ r.url }}")
    assert [(p.line, "unknown variable 'r'" in p.message) for p in problems] == [(4, True)]


@pytest.mark.parametrize(("source", "line", "words"), [
    ("one\ntwo\n{{ recipient.name }\n", 3, "unexpected '}'"),
    ("one\n{% endfor %}", 2, "endfor"),
    ("{{ recipient.given_name | }}", 1, "syntax error"),
    ("a\nb\nc\n{% if %}x{% endif %}", 4, "syntax error"),
])
def test_syntax_error_with_its_line(source: str, line: int, words: str) -> None:
    problems = check_source(source)
    assert len(problems) == 1
    assert problems[0].line == line
    assert problems[0].message.startswith("template syntax error: ")
    assert words in problems[0].message


def test_private_attribute_with_its_line() -> None:
    problems = check_source("a\n{{ recipient.x }}\n{{ recipient._secret }}")
    assert [(p.line, p.message) for p in problems] == [(3, "access to '_secret' is not allowed in templates")]


# -- the loader places template problems in the file ---------------------------------------------
TEMPLATE_WITH_PROBLEMS = """
apiVersion: wayfinder/v1
kind: Template
subject: "Hello {{ recipent.given_name }}"
text: |
  Hello,

  {{ employe.given_name }}
  {% for r in resources %}
html: "<p>{{ recipient.given_name }}</p>"
"""


def test_loader_reports_template_problems_at_file_lines(write_files: WriteFiles,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_files({"templates/onboarding/hello.yaml": TEMPLATE_WITH_PROBLEMS})
    monkeypatch.chdir(root)
    defs, problems = load(Sources(templates=[root / "templates"]))
    assert "onboarding/hello" not in defs.templates
    text = [str(p) for p in problems]
    subject = [t for t in text if "'recipent'" in t]
    assert subject
    assert subject[0].startswith("templates/onboarding/hello.yaml:3:20: ")  # the name itself, inside the quotes
    assert "template onboarding/hello: unknown variable 'recipent'" in subject[0]
    syntax = [t for t in text if "syntax error" in t]
    assert syntax
    assert syntax[0].startswith("templates/onboarding/hello.yaml:8:3: ")  # the unclosed tag, inside the value
    assert "'for'" in syntax[0]


def test_an_unknown_tag_is_placed_at_the_tag(write_files: WriteFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    """A validate audit on 2026-12-05: ``{% frobnicate %}`` and an ``{% endif %}`` with no ``if`` were placed where
    their line begins, though Jinja names the tag."""
    root = write_files({"templates/t/x.yaml": "apiVersion: wayfinder/v1\nkind: Template\nsubject: Hi\n"
                                              "text: |\n  Welcome. {% frobnicate %}\n",
                        "templates/t/y.yaml": "apiVersion: wayfinder/v1\nkind: Template\nsubject: Hi\n"
                                              "text: |\n  One\n  Two {% endif %}\n"})
    monkeypatch.chdir(root)
    _, problems = load(Sources(templates=[root / "templates"]))
    assert [str(p).split(": template syntax error")[0] for p in problems] == [
        "templates/t/x.yaml:5:15: template t/x", "templates/t/y.yaml:6:10: template t/y"]


def test_loader_builds_a_good_template(write_files: WriteFiles) -> None:
    root = write_files({"templates/new-parent/welcome.yaml": """
        apiVersion: wayfinder/v1
        kind: Template
        subject: "Congratulations, {{ recipient.given_name }}!"
        text: |
          Congratulations.
        locales:
          de-DE: {subject: "Herzlichen Glückwunsch, {{ recipient.given_name }}!"}
        """})
    defs, problems = load(Sources(templates=[root / "templates"]))
    assert [p for p in problems if p.severity == "error"] == []
    template = defs.templates["new-parent/welcome"]
    assert template.render(context("Jonas"), "de-AT", footer=FOOTER).subject == "Herzlichen Glückwunsch, Jonas!"
    # a German subject over the English text: built, and said (an audit on 2026-12-04 found the mix unsaid)
    assert [(p.line, p.column, p.severity) for p in problems] == [(7, 10, "warning")]  # at the override
    assert "template new-parent/welcome (de-DE): gives subject but no text" in problems[0].message


def test_an_override_with_a_text_and_no_subject_is_said(write_files: WriteFiles) -> None:
    """The other half of the mix above (2026-12-06): a German text under the English subject."""
    root = write_files({"templates/t.yaml": "apiVersion: wayfinder/v1\nkind: Template\nsubject: Welcome\n"
                                            "text: Hello\nlocales:\n  de-DE:\n    text: Hallo\n"
                                            "  fr: {subject: Bienvenue, text: Bonjour}\n"})
    defs, problems = load(Sources(templates=[root / "templates"]))
    assert defs.templates["t"].render(context(), "de-DE", footer=FOOTER).subject == "Welcome"  # built, and runs
    assert [(p.line, p.column, p.severity, p.message) for p in problems] == [
        (7, 5, "warning", "template t (de-DE): gives text but no subject, so its readers get the default subject "
                          "above it, in another language than the text; give its subject too")]


def test_a_missing_value_fails_the_render_instead_of_printing_nothing() -> None:
    template = MessageTemplate("t", "Hi", "You moved from {{ trigger.data.old_city }} to London.")
    with pytest.raises(RenderError, match=r"^template t: text line 1: UndefinedError while rendering$"):
        template.render(context(), None, footer=FOOTER)


@pytest.mark.parametrize(("subject", "text", "html", "where"), [
    ("Hi {{ 1 / 0 }}", "Hi", None, "subject line 1"),
    ("Hi", "Hi\n\n{{ 1 / 0 }}", None, "text line 3"),
    ("Hi", "Hi", "<p>Hi</p>\n<p>{{ 1 / 0 }}</p>", "html line 2"),
])
def test_a_render_failure_names_the_part_and_line(subject: str, text: str, html: str | None, where: str) -> None:
    with pytest.raises(RenderError, match=rf"^template t: {where}: ZeroDivisionError while rendering$"):
        MessageTemplate("t", subject, text, html).render(context(), None, footer=FOOTER)


def test_a_missing_value_may_be_tested_or_given_a_default() -> None:
    template = MessageTemplate("t", "Hi {{ recipient.preferred_name or 'there' }}",
                               "Team: {{ employee.attributes.team | default('none') }}."
                               "{% if trigger.data.nothing %} never{% endif %}")
    rendered = template.render(context(), None, footer=FOOTER)
    assert rendered.subject == "Hi there"
    assert rendered.text.startswith("Team: none.\n")


def test_printing_data_structures_is_allowed() -> None:
    template = MessageTemplate("t", "s", "{{ resources|map(attribute='id')|join(', ') }} {{ [1, 2] }} {{ 1.5 }}")
    assert template.render_text(context()) == "parent-network [1, 2] 1.5"


def test_the_parts_given_to_with_footer_can_be_taken_back_out() -> None:
    """What a reviewer edits: the body without the footer and the document (added again on approval)."""
    body = "Hi.\n\n-- \nThe people team"  # the author's own signature stays in the body
    text, html = with_footer(body, "<p>Hi.</p>", "You get this because.", "https://p.example.com/", title="T")
    assert split_footer(text) == (body, "\n\n-- \nYou get this because.\nTo change or stop these messages: "
                                        "https://p.example.com/\n")
    head, inner, tail = split_document(html)
    assert (inner, head + inner + tail) == ("<p>Hi.</p>", html)
    assert split_footer("no footer") == ("no footer", "")
    assert split_document("<p>a fragment</p>") == ("", "<p>a fragment</p>", "")


@pytest.mark.parametrize("locale", [None, "de-DE"])
def test_the_footers_explanation_is_read_back_whole_in_its_language(locale: str | None) -> None:
    """One reading of the footer for the review and why pages, a digest's items and intranet posts (the digest took
    the first line only: an own explanation of two lines lost its second)."""
    said = "Du bekommst das, weil du angefangen hast.\nDein Team freut sich." if locale else "Because.\nTruly."
    text, _ = with_footer("Hi.\n\n-- \nThe people team", "<p>Hi.</p>", said, "https://p.example.com/", locale=locale)
    assert footer_explanation(text) == said
    assert footer_explanation("Hi, no footer.") is None


def test_a_name_a_template_does_not_know_is_placed_at_itself_in_a_block(write_files: WriteFiles,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_files({"templates/x/t.yaml": "apiVersion: wayfinder/v1\nkind: Template\nsubject: Hi\ntext: |\n"
                                              "  Hello {{ employee.given_name }},\n"
                                              "  here is {{ foo }} and {{ employee.given_name | uper }}.\n"})
    monkeypatch.chdir(root)
    _, problems = load(Sources(templates=[root / "templates"]))
    assert sorted(str(p).split(" (")[0] for p in problems) == [
        "templates/x/t.yaml:6:14: template x/t: unknown variable 'foo'",
        "templates/x/t.yaml:6:50: template x/t: unknown filter 'uper'"]


@pytest.mark.parametrize(("source", "says"), [
    ("{{ " + " + ".join(["1"] * 200) + " }}", "too many nested parentheses"),
    ("".join(f"{{% for i{n} in [1] %}}" for n in range(21)) + "x" + "{% endfor %}" * 21, "nested blocks"),
    ("{% if true %}" * 99 + "x" + "{% endif %}" * 99, "indentation"),
    ("{{ 'a'" + "|upper" * 1000 + " }}", "RecursionError"),
])
def test_a_template_nested_past_what_python_compiles_is_a_problem_not_a_crash(source: str, says: str) -> None:
    """Issue 11: a source Jinja parses but Python cannot compile (or walk) is refused where it is, and the run's
    other files are still loaded; it was a traceback that lost the whole run."""
    [problem] = check_source(source)
    assert problem.message.startswith("template cannot be ") and "nests too deeply" in problem.message
    assert says in problem.message


def test_numbered_lines_are_a_numbered_list_in_both_parts() -> None:
    """Issue 9: a text part and an HTML document from the same source, with lists. ``1. `` / ``2) `` lines were
    joined into one paragraph; a number inside a sentence, or one not followed by a space, is no item."""
    rendered = MessageTemplate("t", "Before you go", (
        "Before you go:\n1. Tell your manager.\n2. Book your leave: https://x.example/leave\n\n"
        "3) Then rest.\n\n2026 was a year. 1.5 is a number.")).render(context(), None, footer=FOOTER)
    body, _ = split_footer(rendered.text)
    assert body == ("Before you go:\n\n1. Tell your manager.\n2. Book your leave: https://x.example/leave\n\n"
                    "3. Then rest.\n\n2026 was a year. 1.5 is a number.")
    assert '<ol style="' in rendered.html and '<ol start="3" style="' in rendered.html
    assert '<li style="margin:0 0 8px 0"><a href="https://x.example/leave"' in rendered.html
    assert "<p" in rendered.html.split("2026 was a year")[0].rsplit("\n", 1)[-1]


@pytest.mark.parametrize(("locale", "rtl"), [("ar-EG", True), ("he", True), ("fa-IR", True), ("ja-JP", False),
                                             ("de-DE", False), (None, False)])
def test_a_language_written_right_to_left_sets_the_documents_direction(locale: str | None, rtl: bool) -> None:
    """Found by an audit of issue 9: Arabic and Hebrew documents had ``lang`` only, so mail clients aligned them
    left; the footer, English when there is no catalog, takes its own direction."""
    template = MessageTemplate("t", "Hi", "Hello.", locales={locale: {"subject": "Hi", "text": "Hello."}}
                               if locale else None)
    html = template.render(context(), locale, footer=FOOTER).html
    assert ('dir="rtl"' in html.split("<head>")[0]) is rtl
    assert '<p class="wayfinder-explanation" dir="auto"' in html
    assert '<p class="wayfinder-preferences" dir="auto"' in html
    assert split_document(html)[0]  # still one of Wayfinder's own documents


def test_a_date_that_begins_a_line_inside_a_paragraph_is_no_list() -> None:
    """Found by an audit of issue 9: the bundled German messages broke "kommt am / 12. Januar 2026 zurück" into a
    paragraph and a list starting at 12, in both parts. Only "1." starts a list inside a paragraph (CommonMark)."""
    rendered = MessageTemplate("t", "Zurück", (
        "Mehmet kommt am\n12. Januar 2026 aus der Elternzeit zurück.\n\nSchritte:\n1. Planen.\n2. Sprechen.")
    ).render(context(), None, footer=FOOTER)
    body, _ = split_footer(rendered.text)
    assert body == ("Mehmet kommt am 12. Januar 2026 aus der Elternzeit zurück.\n\nSchritte:\n\n1. Planen.\n"
                    "2. Sprechen.")
    assert "<ol" in rendered.html and 'start="12"' not in rendered.html
    assert "Mehmet kommt am<br>" not in rendered.html and "kommt am 12. Januar 2026 aus" in rendered.html


def test_the_first_of_a_month_that_begins_a_line_inside_a_sentence_is_no_list() -> None:
    """Found by a reading of the messages on 2026-12-06: "1." may start a list inside a paragraph, so the bundled
    German welcome, "Dein erster Tag ist der / 1. Februar 2027, und ...", became a paragraph ending in "der" and a
    one-item list "Februar 2027, ..." for everyone starting on the 1st. A "1." after a line that ends a sentence
    or introduces the list, or followed by a "2.", still starts one."""
    rendered = MessageTemplate("t", "Willkommen", (
        "Dein erster Tag ist der\n1. Februar 2027, und dein Team freut sich.\n\nDas ist alles.\n1. Planen.\n\n"
        "Schritte\n1. Planen.\n2. Sprechen.")).render(context(), None, footer=FOOTER)
    body, _ = split_footer(rendered.text)
    assert body == ("Dein erster Tag ist der 1. Februar 2027, und dein Team freut sich.\n\nDas ist alles.\n\n"
                    "1. Planen.\n\nSchritte\n\n1. Planen.\n2. Sprechen.")
    assert "ist der 1. Februar 2027, und" in rendered.html
    assert rendered.html.count("<ol") == 2


@pytest.mark.parametrize("written_in", ["de-DE", None])
def test_an_edited_text_keeps_the_footer_the_message_had(written_in: str | None) -> None:
    """A reviewer's edit of a message to a German reader: its footer stays as it was written, German or English,
    whatever the explanation object could say (it was said again in the reader's language, mixing two)."""
    said = "Du erhältst diese Nachricht, weil ..." if written_in else EXPLANATION
    original, _ = with_footer("Hallo.", "<p>Hallo.</p>", said, PREFERENCES, locale=written_in)
    text, html = with_footer_of("Edited.", "<p>Edited.</p>", original, EXPLANATION, PREFERENCES, locale="de-DE")
    assert split_footer(text) == ("Edited.", split_footer(original)[1])
    assert ('lang="de-DE"' in html) == (written_in is not None)
    assert ("Diese Nachrichten ändern oder abbestellen" in html) == (written_in is not None)
    assert with_footer_of("Edited.", "<p>Edited.</p>", "no footer", EXPLANATION, PREFERENCES, locale="de-DE")[0] == (
        f"Edited.\n\n-- \n{EXPLANATION}\nTo change or stop these messages: {PREFERENCES}\n")


def test_a_null_prints_as_nothing_and_the_bundled_lists_leave_out_a_missing_link() -> None:
    """Found by an audit on 2026-12-04: a resource with no ``url`` (SPEC §5's own ``laptop-setup``) printed
    "Laptop setup: None" in text and HTML, and ``|default('')`` cannot replace a null."""
    source = "{% for r in resources %}- {{ r.title }}: {{ r.url }}\n{% endfor %}"
    task = {"id": "laptop-setup", "title": "Laptop setup", "url": None, "type": "task"}
    rendered = MessageTemplate("t/x", "S", source).render(context(resources=[task]), None, footer=FOOTER)
    assert "None" not in rendered.text + rendered.html
    assert rendered.text.splitlines()[0] == "- Laptop setup:"

    from wayfinder import examples_dir
    from wayfinder.journeys.loader import load_or_raise

    ex = examples_dir()
    defs = load_or_raise(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                                 policy=ex / "policy.yaml"))
    linked = {"id": "parent-network", "title": "Parent network", "url": "https://intranet/pn", "type": "network"}
    for locale in (None, "de-DE", "fr-FR"):
        out = defs.templates["new-parent/welcome"].render(context(resources=[task, linked]), locale, footer=FOOTER)
        lines = out.text.splitlines()
        assert "- Laptop setup" in lines  # no colon, no "None"
        assert any(line.startswith("- Parent network") and line.endswith(": https://intranet/pn") for line in lines)
        assert "None" not in out.text + out.html


@pytest.mark.parametrize(("source", "reads"), [
    ("Hi {{ recipient.name }}", True),
    ("Hi {{ recipient['name'] }}", True),
    ("Hi {{ recipient[key] }}", True),  # any field: it may be the name
    ("Hi {{ recipient }}", True),  # printed whole
    ("{% for k, v in recipient.items() %}{{ v }}{% endfor %}", True),
    ("Hi {{ recipient.id }}, {{ count }} updates", False),
    ("{% for item in items %}{{ item.name }}{% endfor %}", False),
])
def test_what_a_template_reads_of_a_variable(source: str, reads: bool) -> None:
    """What decides whether a digest's records carry the recipient's name (data minimisation, SPEC §3)."""
    template = MessageTemplate("digest/x", "Updates", source, locales={"de": {"subject": "Neuigkeiten"}})
    assert template.reads("recipient", "name") is reads


class _Visible(HTMLParser):
    """The text a browser shows of an HTML document: not what is in a comment, a ``<style>`` or ``<head>``, nor
    inside an element styled ``display:none``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # per open element: whether it hides what it holds
        self.seen: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "img", "meta", "link", "hr", "input"):
            return
        style = "".join((dict(attrs).get("style") or "").split())
        self.stack.append(tag in ("style", "head", "script", "title") or "display:none" in style)

    def handle_endtag(self, tag: str) -> None:
        if self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not any(self.stack):
            self.seen.append(data)


def visible(document: str) -> str:
    reader = _Visible()
    reader.feed(document)
    reader.close()
    return " ".join("".join(reader.seen).split())


@pytest.mark.parametrize("edit", [
    "<p>Welcome back.</p><!-- draft note from Word",
    '<p>Welcome back.</p><div style="display:none">internal: check with the manager first',
    '<p>Welcome back.</p><div style="display: none',
    "<p>Welcome back.</p><style>p { color: #333 }",
    "<html><body><p>Welcome back.</p><div style='display:none'>internal</body></html>",
])
def test_html_a_person_wrote_never_hides_the_explanation_or_the_preferences_link(edit: str) -> None:
    """SPEC §11: "with edits ... the explanation and the preferences link are still appended"; an audit on
    2026-12-04 found an edit ending in an unclosed comment or hidden element took them in (a browser showed only
    "Welcome back."). The same holds for an author's ``html:`` template."""
    from wayfinder.journeys.decisions import _edited

    original = Message(message_id="m-1", employee_id="E1", recipient_id="E1", recipient_role="employee",
                       journey_id="j", journey_version=1, step_id="s", channel="email", status="pending_approval",
                       scheduled_for=datetime(2026, 3, 2, tzinfo=UTC), created_at=datetime(2026, 3, 2, tzinfo=UTC),
                       subject="Hello", explanation=EXPLANATION, preferences_url=PREFERENCES, locale="en-US",
                       **dict(zip(("text", "html"), with_footer("Hi.", "<p>Hi.</p>", EXPLANATION, PREFERENCES),
                                  strict=True)))
    edited = _edited(original, {"html": edit})
    assert edited.html is not None and edited.text is not None
    shown = visible(edited.html)
    assert shown.startswith("Welcome back.") and EXPLANATION in shown and "Change or stop these messages" in shown
    assert "<!--" not in edited.text and "color" not in edited.text
    authored = MessageTemplate("t/x", "S", "Welcome back.", edit).render(context(), None, footer=FOOTER)
    assert EXPLANATION in visible(authored.html) and "Change or stop these messages" in visible(authored.html)


@pytest.mark.parametrize("edit", [
    "<p>Welcome back.</p><script>alert(1)</script>",
    '<p>Welcome back.</p><img src="https://hr.example.com/x.png" onerror="alert(1)">',
    '<p onclick="alert(1)">Welcome back.</p><a href="javascript:alert(1)">here</a>',
    '<p>Welcome back.</p><iframe src="https://evil.example.com"></iframe><form action="https://evil.example.com">'
    '<input name="password"></form>',
    '<p>Welcome back.</p><a href="JaVaScRiPt:alert(1)">x</a><svg onload="alert(1)"></svg>',
])
def test_html_a_person_wrote_keeps_its_content_and_nothing_that_runs(edit: str) -> None:
    """SPEC §6: HR authors are trusted with content, not with code. An audit on 2026-12-04 found a reviewer's edit
    sent as written: a ``<script>``, an ``onerror``, a ``javascript:`` link went to the intranet and by email. The
    same holds for an author's ``html:`` template."""
    from wayfinder.journeys.decisions import _edited

    original = Message(message_id="m-1", employee_id="E1", recipient_id="E1", recipient_role="employee",
                       journey_id="j", journey_version=1, step_id="s", channel="intranet", status="pending_approval",
                       scheduled_for=datetime(2026, 3, 2, tzinfo=UTC), created_at=datetime(2026, 3, 2, tzinfo=UTC),
                       subject="Hello", explanation=EXPLANATION, preferences_url=PREFERENCES, locale="en-US",
                       **dict(zip(("text", "html"), with_footer("Hi.", "<p>Hi.</p>", EXPLANATION, PREFERENCES),
                                  strict=True)))
    edited = _edited(original, {"html": edit}).html
    authored = MessageTemplate("t/x", "S", "Welcome back.", edit).render(context(), None, footer=FOOTER).html
    for html in (edited, authored):
        assert html is not None and visible(html).startswith("Welcome back.")
        lowered = html.lower()
        for running in ("<script", "onerror", "onclick", "onload", "javascript:", "<iframe", "<form", "<input"):
            assert running not in lowered, running
        assert EXPLANATION in visible(html) and "Change or stop these messages" in visible(html)


def test_html_a_person_wrote_keeps_links_tables_and_inline_styles() -> None:
    written = ('<table width="600" cellpadding="8" style="border:1px solid #ccc"><tr><td align="left">'
               '<p class="lead" style="color:#333">Welcome back.</p><a href="https://hr.example.com/care" '
               'target="_blank">Care</a> <a href="mailto:hr@example.com">HR</a></td></tr></table>')
    html = MessageTemplate("t/x", "S", "Welcome back.", written).render(context(), None, footer=FOOTER).html
    for kept in ('width="600"', 'cellpadding="8"', 'style="border:1px solid #ccc"', 'align="left"', 'class="lead"',
                 'style="color:#333"', 'href="https://hr.example.com/care"', 'target="_blank"',
                 'href="mailto:hr@example.com"'):
        assert kept in html, kept


def test_html_a_person_wrote_nested_past_any_email_is_kept_as_its_words() -> None:
    """The sanitizer's work grows with the square of the nesting (0.7 s for 20,000 levels, the most the output bound
    allows): past ``MAX_NESTING`` the part is kept as its words, in paragraphs, with nothing that runs."""
    from wayfinder.journeys.layout import MAX_NESTING

    deep = '<p onclick="x">Welcome back.</p><a href="javascript:y">here</a>' + "<div>" * (MAX_NESTING + 1) + "end"
    html = MessageTemplate("t/x", "S", "Welcome back.", deep).render(context(), None, footer=FOOTER).html
    assert visible(html).startswith("Welcome back.") and "end" in visible(html)
    assert html.count("<div") < 5 and "onclick" not in html and "javascript:" not in html
    assert EXPLANATION in visible(html)
    shallow = "<div>" * MAX_NESTING + "kept"
    kept = MessageTemplate("t/x", "S", "kept", shallow).render(context(), None, footer=FOOTER).html
    assert kept.count("<div>") >= MAX_NESTING  # an email's own nesting is kept as written


def test_a_template_longer_than_a_message_or_with_thousands_of_tags_is_refused_before_it_is_built(
        write_files: WriteFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    """An audit on 2026-12-04: a 3.6 MB template (60,000 tags) took 72 s and 1.8 GB to validate, with no budget:
    Jinja writes and Python compiles megabytes of code for it. Refused where it is written, in milliseconds."""
    unit = "{{ recipient.given_name }}{% if recipient.role %}x{% endif %}"
    root = write_files({
        "templates/x/long.yaml": "apiVersion: wayfinder/v1\nkind: Template\nsubject: Hi\ntext: '" + "x" * 100_001
                                 + "'\n",
        "templates/x/tags.yaml": "apiVersion: wayfinder/v1\nkind: Template\nsubject: Hi\ntext: |\n  first line\n  "
                                 + unit * 700 + "\n",
        "templates/x/fine.yaml": "apiVersion: wayfinder/v1\nkind: Template\nsubject: Hi\ntext: |\n  " + unit * 600
                                 + "\n"})
    monkeypatch.chdir(root)
    defs, problems = load(Sources(templates=[root / "templates"]))
    assert sorted(str(p) for p in problems) == [
        "templates/x/long.yaml:4:8: template x/long: the template text is 100001 characters, over the limit of "
        "100000 (a message may be at most that long)",
        "templates/x/tags.yaml:6:3: template x/tags: the template has more than 2000 tags ({{ }} and {% %}); split "
        "what it says among templates"]
    assert "x/fine" in defs.templates
    with pytest.raises(RenderError):  # built without validate (an inline text): refused all the same
        MessageTemplate("t", "s", unit * 700)


def test_two_overrides_of_one_language_tag_in_other_cases_are_refused(write_files: WriteFiles,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """An audit on 2026-12-04: ``de-DE:`` and ``de-de:`` validated clean and the later one silently won."""
    root = write_files({"templates/t/x.yaml": "apiVersion: wayfinder/v1\nkind: Template\nsubject: s\ntext: t\n"
                                              "locales:\n  de-DE: {subject: first}\n  de-de: {subject: second}\n"})
    monkeypatch.chdir(root)
    _, problems = load(Sources(templates=[root / "templates"]))
    assert [str(p) for p in problems] == [
        "templates/t/x.yaml:6:3: template: locales: 'de-DE' and 'de-de' are the same language tag (case does not "
        "count); keep one"]


def test_a_mailto_address_is_a_link_in_the_html_part_as_a_web_address_is() -> None:
    """An audit on 2026-12-04: a catalog resource whose url is ``mailto:`` (validate takes it) was dead text in the
    HTML part, next to linked https resources."""
    rendered = MessageTemplate("t", "Contacts", (
        "Write to us: mailto:oh@example.com.\n\n- Occupational health team: mailto:oh@example.com\n"
        "- Guide: https://x.example/g\n- mailto: is only a word here")).render(context(), None, footer=FOOTER)
    assert '<a href="mailto:oh@example.com" style="' in rendered.html
    assert '>Occupational health team</a></li>' in rendered.html and '>Guide</a></li>' in rendered.html
    assert "mailto: is only a word here</li>" in rendered.html


@pytest.mark.parametrize(("locale", "chosen", "lang", "rtl"), [
    ("de-DE-u-co-phonebk", "de-de", "de-DE", False), ("de-AT-x-hr", "de", "de-AT", False),
    ("ar-EG-u-nu-latn", "ar", "ar-EG", True), ("ar_EG", "ar", "ar-EG", True), ("de_DE", "de-de", "de-DE", False),
])
def test_a_locale_with_extensions_or_underscores_reads_as_its_language_and_region(
        locale: str, chosen: str, lang: str, rtl: bool) -> None:
    """An audit on 2026-12-06: a profile's extensions (``-u-co-phonebk``, ``-u-nu-latn``: SPEC §3 takes BCP 47) were
    read as part of the tag, so a de-DE reader's own text lost to plain ``de`` and an Arabic reader's email was laid
    out left to right; and an HR system's ``ar_EG`` was written into the document as ``lang="ar_EG"``, which is no
    language to a browser or a screen reader."""
    template = MessageTemplate("t", "Hi", "Hello.", locales={
        k: {"subject": k, "text": "Text."} for k in ("de", "de-DE", "ar")})
    assert template.pick_locale(locale) == chosen
    html = template.render(context(), locale, footer=FOOTER).html
    direction = ' dir="rtl"' if rtl else ""
    assert f'<html lang="{lang}"{direction}>' in html


@pytest.mark.parametrize(("locale", "chosen"), [
    ("en-IN", "en-gb"), ("en-AU", "en-gb"), ("en-US", "en-us"), ("en-CA", "en-us"), ("en-DE", "en-gb"),
    ("pt-AO", "pt-pt"), ("pt-MZ", "pt-pt"), ("pt", "pt-br"), ("es-AR", "es-mx"), ("es-419", "es-mx"),
    ("es", "es-es"),
])
def test_a_reader_gets_the_regional_text_written_as_theirs_is(locale: str, chosen: str) -> None:
    """An audit on 2026-12-06: with only regional overrides, readers in India and Australia got US English over
    the British text, readers in Angola and Mozambique Brazilian Portuguese over European, and a reader in
    Argentina Spain's Spanish over Mexico's: the region where the language is most spoken won. CLDR's parent
    locales say which variety a region writes (en-IN and en-GB are both en-001, pt-AO is pt-PT, es-AR is es-419);
    the most spoken region is still the choice when none is kin."""
    template = MessageTemplate("t", "s", "x", locales={
        k: {"subject": k} for k in ("en-GB", "en-US", "pt-BR", "pt-PT", "es-ES", "es-MX")})
    assert template.pick_locale(locale) == chosen


def test_a_constant_date_or_number_in_a_template_is_written_in_the_readers_language() -> None:
    """An audit on 2026-12-06: Jinja works out a filter over a constant when it compiles the template, where no one
    reads it, so ``{{ "2026-12-15" | format_date }}`` (a fixed open day) said "December 15, 2026" and
    ``{{ 1234.5 | format_number }}`` "1,234.5" inside every German text, whatever the reader."""
    template = MessageTemplate("t", "s", 'On {{ "2026-12-15" | format_date }}: {{ 1234.5 | format_number }}', locales={
        "de": {"subject": "s", "text": 'Am {{ "2026-12-15" | format_date }} um {{ "09:30" | format_time }}: '
                                       '{{ 1234.5 | format_number }}, {{ "2026-12-15T08:30:00Z" | format_datetime }}'}})
    de = template.render(context(), "de-DE", footer=FOOTER).text.splitlines()[0]
    assert de == "Am 15. Dezember 2026 um 09:30: 1.234,5, 15.12.2026, 08:30:00"
    assert template.render(context(), "en-GB", footer=FOOTER).text.startswith("On 15 December 2026: 1,234.5")


@pytest.mark.parametrize("locale", ["fa-IR", "bg-BG", "bn-BD", "lt-LT"])
def test_a_pattern_babel_cannot_write_in_the_readers_locale_does_not_fail_the_message(locale: str) -> None:
    """An audit on 2026-12-06: ``h:mm b`` ("12:00 noon") is written in English and German, and Babel raises for it in
    Persian, Bulgarian, Bengali, Lithuanian and about 800 more locales: the message previewed well and failed
    (``render_error``) for those readers alone. It now says the time in the locale's own form."""
    text = ('At {{ "2026-03-01T12:00:00Z" | format_datetime("h:mm b") }}, '
            '{{ "2026-03-01T12:00:00Z" | format_time("h:mm b") }}.')
    template = MessageTemplate("t", "s", text, locales={locale: {"subject": "s", "text": text}})
    rendered = template.render(context(), locale, footer=FOOTER)
    assert rendered.text.startswith("At ") and "2026-03-01T12:00:00Z" not in rendered.text
