"""The bundled demo read as its German and French recipients read it, and its roadmaps on working days."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import holidays
import pytest

from tests.support import read_jsonl
from wayfinder import examples_dir
from wayfinder.catalog.graph import CatalogGraph, Selection
from wayfinder.cli import main

ENGLISH = re.compile(r"\b(the|your|you|and|with|this|our|is|are|of|to|for|received|because)\b", re.I)
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
URL = re.compile(r"https?://\S+|mailto:\S+")
TAG = re.compile(r"<[^>]+>")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[tuple[dict[str, Any], Any]]]]:
    """The bundled events through simulate, with every roadmap the catalog built on the way."""
    roadmaps: list[tuple[dict[str, Any], Any]] = []
    original = CatalogGraph.roadmap

    def spy(self: CatalogGraph, topics: Any, employee: Any, **kwargs: Any) -> Selection:
        selection = original(self, topics, employee, **kwargs)
        roadmaps.append((dict(employee), selection))
        return selection

    out = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(CatalogGraph, "roadmap", spy)
        assert main(["simulate", "--events", str(examples_dir() / "events.jsonl"), "--until",
                     "2027-03-01T00:00:00Z", "--out", str(out)]) == 0
    yield out, roadmaps


def emails_in(out: Path, language: str) -> list[dict[str, Any]]:
    return [m for m in read_jsonl(out / "messages.jsonl") if m["channel"] == "email" and m.get("text")
            and str(m.get("locale") or "").startswith(language)]


def sentences(message: dict[str, Any]) -> list[str]:
    parts = [message["subject"], message["text"], TAG.sub(" ", message["html"])]
    return [URL.sub("", line).strip() for part in parts for line in part.splitlines() if line.strip()]


@pytest.mark.parametrize("language", ["de", "fr"])
def test_german_and_french_emails_have_no_english_sentence_and_no_iso_date(
        demo: tuple[Path, Any], language: str) -> None:
    out, _ = demo
    emails = emails_in(out, language)
    assert len(emails) >= 15
    english = [line for m in emails for line in sentences(m) if ENGLISH.search(line)]
    iso = [line for m in emails for line in sentences(m) if ISO_DATE.search(line)]
    assert (english[:5], iso[:5]) == ([], [])


def test_the_english_check_finds_english(demo: tuple[Path, Any]) -> None:
    out, _ = demo
    english = emails_in(out, "en")
    assert english and all(ENGLISH.search(" ".join(sentences(m))) for m in english)


def test_no_roadmap_item_falls_on_a_weekend_or_a_public_holiday(demo: tuple[Path, Any]) -> None:
    _, roadmaps = demo
    items = [(employee.get("country"), item) for employee, selection in roadmaps for item in selection.roadmap]
    assert len(items) > 200
    countries = {country for country, _ in items}
    assert {"DE", "FR", "GB", "US"} <= countries
    bad = [(country, item.id, item.date) for country, item in items
           if item.date.weekday() >= 5 or item.date in holidays.country_holidays(country)]
    assert bad == []


@pytest.mark.parametrize("locale", [None, "de-DE", "fr-FR"])
def test_the_new_managers_message_about_someone_with_no_role_on_file_renders(locale: str | None) -> None:
    """Found by an audit of issue 12: the bundled template printed the report's role, so a person with none failed
    the manager's message (render_error) in simulate and on the workers alike."""
    from wayfinder import examples_dir
    from wayfinder.journeys.loader import Sources, load_or_raise

    ex = examples_dir()
    defs = load_or_raise(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                                 policy=ex / "policy.yaml"))
    context = {"employee": {"given_name": "Ana", "family_name": "Silva"},
               "recipient": {"given_name": "Mo"}, "resources": []}
    rendered = defs.templates["new-manager/for-manager"].render(context, locale, footer=("Why.", "https://x.example/p"))
    assert "Ana Silva" in rendered.text and "()" not in rendered.text
