""""What applies to me?" (issue 16, item 5) in process: the page behind the preferences link, the command line,
and the employee pages in the reader's language (Babel catalogs in wayfinder/web/locale)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from starlette.testclient import TestClient

from tests.support import at, bundled_defs
from wayfinder import examples_dir
from wayfinder.catalog.applies import what_applies
from wayfinder.cli import main
from wayfinder.cli.report import write_results
from wayfinder.connectors.links import RecipientLinks
from wayfinder.journeys.loader import Definitions
from wayfinder.journeys.records import Message
from wayfinder.web.app import create_app
from wayfinder.web.backend import EmbeddedBackend, World
from wayfinder.web.settings import WebSettings

TOKEN_SECRET = SecretStr("token-secret-for-the-tests")
NOW = at("2026-12-01T10:00")
GERMAN, ENGLISH = "E1029", "E1052"  # de-DE and en-GB readers of the bundled world


@pytest.fixture(scope="module")
def defs() -> Definitions:
    return bundled_defs()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, defs: Definitions) -> Iterator[tuple[TestClient,
                                                                                          EmbeddedBackend]]:
    folder = tmp_path_factory.mktemp("applies")
    events = folder / "events.jsonl"
    events.write_text("".join(line + "\n" for line in (examples_dir() / "events.jsonl").read_text().splitlines()
                              if '"hris.employee.upserted"' in line), encoding="utf-8")
    backend = EmbeddedBackend(folder, World(defs=defs, events=events), write=write_results, now=lambda: NOW)
    settings = WebSettings(token_secret=TOKEN_SECRET, session_secret=SecretStr("session-secret-for-the-tests"))
    app = create_app(settings, backend, registry=CollectorRegistry(), now=lambda: NOW)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as made:
        yield made, backend


def link(person: str) -> str:
    return RecipientLinks(TOKEN_SECRET).sign(person, None, NOW)


def test_the_page_lists_what_the_catalog_offers_with_why(client: tuple[TestClient, EmbeddedBackend],
                                                         defs: Definitions) -> None:
    c, backend = client
    page = c.get(f"/preferences/resources?t={link(GERMAN)}")
    assert page.status_code == 200
    assert '<html lang="de">' in page.text and "<h1>Was gilt für mich?</h1>" in page.text
    profile = backend.store.profiles[GERMAN]
    offers, _ = what_applies(defs.catalog, profile.view())
    listed = set(re.findall(r'id="resource-([a-z0-9-]+)"', page.text))
    assert listed == {f"{o.topic}-{a.resource.id}" for o in offers for a in o.resources}
    # the same resources the journeys' own selection finds for this person: the rule is not written twice
    everything = defs.catalog.select(list(defs.catalog.topics), profile.view(), limit=10_000).resources
    assert {a.resource.id for o in offers for a in o.resources} == {r.id for r in everything}
    assert "<h2>IT-Hilfe</h2>" in page.text  # topic titles from the catalog, in the reader's language
    assert (profile.get("location"), profile.get("department")) == ("Berlin", "Engineering")
    assert "Für deinen Standort: Berlin" in page.text  # a resource linked to their location in the graph
    assert "deine Abteilung: Engineering" in page.text  # said once: as the rule's field, not again as a link
    assert "Für deine Abteilung: Engineering" not in page.text
    assert "dein Land: DE" in page.text  # an eligibility rule, with the value of the field it reads


def test_an_english_reader_reads_the_fields_a_rule_reads_in_words(client: tuple[TestClient, EmbeddedBackend]) -> None:
    """Seen walking the pages on 2026-12-05: "your work_mode is hybrid", "your employment_type is employee" (the
    data's names; German readers read "deine Arbeitsweise"). Named as the why page names them."""
    c, backend = client
    page = c.get(f"/preferences/resources?t={link(ENGLISH)}").text
    profile = backend.store.profiles[ENGLISH]
    assert (profile.get("work_mode"), profile.get("employment_type")) == ("hybrid", "employee")
    said = re.findall(r"your ([^<,]+?) is ", page)
    assert {"work mode", "employment type", "country"} <= set(said)
    assert not [name for name in said if "_" in name]
    assert "your employment type is employed" in page  # a value SPEC §3 lists, in words


def test_a_german_reader_reads_the_values_a_rule_reads_in_words(client: tuple[TestClient, EmbeddedBackend]) -> None:
    """Seen in the browser's screenshot on 2026-12-05: "deine Arbeitsweise: onsite", "deine Beschäftigungsart:
    contractor" (SPEC §3's values, in English on a German page). Values the HR system writes freely (a department,
    a country code) are shown as written."""
    c, backend = client
    page = c.get(f"/preferences/resources?t={link(GERMAN)}").text
    profile = backend.store.profiles[GERMAN]
    mode, kind = profile.get("work_mode"), profile.get("employment_type")
    words = {"onsite": "vor Ort", "hybrid": "hybrid", "remote": "remote"}
    assert f"deine Arbeitsweise: {words[mode]}" in page, mode
    kinds = {"employee": "angestellt", "contractor": "freie Mitarbeit", "intern": "Praktikum"}
    assert f"deine Beschäftigungsart: {kinds[kind]}" in page, kind
    assert "Arbeitsweise: onsite" not in page and "Beschäftigungsart: contractor" not in page
    assert "dein Land: DE" in page


def test_the_version_chosen_for_the_learning_style_says_so_in_the_readers_language(
        client: tuple[TestClient, EmbeddedBackend]) -> None:
    """Both bundled readers are visual learners: the video of the security basics is theirs, and why (audit,
    2026-12-06: the page said only "Open to everyone")."""
    c, _ = client
    german = c.get(f"/preferences/resources?t={link(GERMAN)}").text
    assert "Die Fassung, die dazu passt, wie du gern lernst" in german
    english = c.get(f"/preferences/resources?t={link(ENGLISH)}").text
    assert "The version that suits your learning style" in english


def test_the_preferences_page_links_to_it_and_shows_topic_titles(client: tuple[TestClient, EmbeddedBackend]
                                                                 ) -> None:
    c, _ = client
    token = link(ENGLISH)
    page = c.get(f"/preferences?t={token}")
    assert f'href="/preferences/resources?t={token}"' in page.text
    assert re.search(r'id="topic_it-help" *> IT help</label>', page.text), "topics show their titles"
    assert "Topics you do not want" in page.text and '<html lang="en">' in page.text
    german = c.get(f"/preferences?t={link(GERMAN)}").text
    assert "Themen, die du nicht möchtest" in german and "Was gilt für mich?" in german


def test_an_opted_out_topic_is_marked_and_a_bad_link_opens_nothing(client: tuple[TestClient, EmbeddedBackend]
                                                                    ) -> None:
    c, backend = client
    backend.store.profiles[ENGLISH].preferences["opt_out_topics"] = ["it-help"]
    try:
        page = c.get(f"/preferences/resources?t={link(ENGLISH)}").text
    finally:
        backend.store.profiles[ENGLISH].preferences["opt_out_topics"] = []
    section = page.split('id="topic-it-help"')[1].split("</section>")[0]
    assert "You turned this topic off" in section
    assert c.get(f"/preferences/resources?t={link(ENGLISH)[:-3]}AAA").status_code == 403
    assert c.get("/preferences/resources").status_code == 403


def test_the_command_line_says_the_same(capsys: pytest.CaptureFixture[str], defs: Definitions) -> None:
    assert main(["resources", "--employee", GERMAN, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["employee_id"] == GERMAN
    it_help = next(t for t in answer["topics"] if t["topic"] == "it-help")
    assert it_help["title"] == "IT-Hilfe"
    kinds = {w["kind"] for t in answer["topics"] for r in t["resources"] for w in r["why"]}
    assert {"everyone", "eligibility"} <= kinds
    assert main(["resources", "--employee", GERMAN]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"What applies to employee {GERMAN}: ")
    assert "IT-Hilfe (it-help)" in text and "open to everyone" in text


def test_the_command_line_refuses_an_unknown_employee(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["resources", "--employee", "E9999"]) == 2
    assert "no events for employee E9999" in capsys.readouterr().err
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({"id": "X1", "country": "DE", "work_mode": "remote", "locale": "fr-FR"}))
    assert main(["resources", "--employee", str(profile)]) == 0
    assert "Aide informatique (it-help)" in capsys.readouterr().out


def test_the_why_page_names_topics_by_their_titles(client: tuple[TestClient, EmbeddedBackend]) -> None:
    c, backend = client
    message = Message(message_id="m-why", employee_id=GERMAN, recipient_id=GERMAN, journey_id="onboarding",
                      journey_version=1, step_id="s", channel="email", status="sent", scheduled_for=NOW,
                      created_at=NOW, topics=["it-help", "new-joiner"], explanation="Because.")
    backend.store.messages[message.message_id] = message
    try:
        page = c.get(f"/preferences/why?t={RecipientLinks(TOKEN_SECRET).sign(GERMAN, message.message_id, NOW)}")
    finally:
        del backend.store.messages[message.message_id]
    assert page.status_code == 200
    assert "<dt>Themen</dt><dd>IT-Hilfe, Erste Schritte</dd>" in page.text
