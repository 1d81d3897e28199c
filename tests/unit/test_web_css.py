"""The colours of ``wayfinder serve``'s stylesheet against WCAG 2.1 AA, computed from the stylesheet itself: text
against every background it is drawn on (1.4.3, 4.5:1), and the edge of a form field against the card it sits on
(1.4.11, 3:1: the edge is what shows where to type)."""

from __future__ import annotations

import re

import pytest

from wayfinder.web.app import HERE

CSS = (HERE / "static" / "app.css").read_text(encoding="utf-8")
WHITE = "#ffffff"


def _rules() -> dict[str, dict[str, str]]:
    """Each rule's declarations by its selector (comments and at-rules' wrappers dropped), ``var()`` resolved."""
    text = re.sub(r"/\*.*?\*/", "", CSS, flags=re.S)
    text = re.sub(r"@media[^{]*\{(.*)\}\s*$", r"\1", text, flags=re.S)
    rules: dict[str, dict[str, str]] = {}
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", text):
        decls = dict((k.strip(), v.strip()) for k, v in (d.split(":", 1) for d in body.split(";") if ":" in d))
        rules.setdefault(" ".join(selector.split()), {}).update(decls)
    variables = rules[":root"]
    for decls in rules.values():
        for k, v in decls.items():
            decls[k] = re.sub(r"var\((--[\w-]+)\)", lambda m: variables[m[1]], v)
    return rules


def _luminance(colour: str) -> float:
    hex_ = colour.lstrip("#")
    if len(hex_) == 3:
        hex_ = "".join(c * 2 for c in hex_)
    channels = [int(hex_[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _colour(value: str) -> str:
    found = re.search(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b", value)
    assert found, value
    return found[0]


RULES = _rules()
PAGE = _colour(RULES["body"]["background"])
# what text is drawn on: the page, and the white of the cards, header, tables and fields
GROUNDS = (PAGE, WHITE)


def test_the_contrast_is_computed_as_wcag_does() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("selector", [s for s, d in RULES.items() if "color" in d and s != ":root"])
def test_text_is_readable_on_what_it_is_drawn_on(selector: str) -> None:
    decls = RULES[selector]
    fg = _colour(decls["color"])
    grounds = [_colour(decls["background"])] if "background" in decls and "#" in decls["background"] else GROUNDS
    assert min(contrast(fg, g) for g in grounds) >= 4.5, (selector, fg, grounds)


def test_a_form_fields_edge_shows_against_the_card_and_the_page() -> None:
    """An audit on 2026-12-06: text boxes, date and time fields and selects had a 1px border of ``#d7dde5``, 1.4:1
    on the white card, so at a glance (and to a reader with low vision) the preferences form was words with no
    visible place to type."""
    edge = _colour(RULES["input:not([type=checkbox]), select, textarea"]["border"])
    assert min(contrast(edge, g) for g in GROUNDS) >= 3.0, edge
