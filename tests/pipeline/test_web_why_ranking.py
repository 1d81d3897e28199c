"""The "why did I get this?" page says why each resource was chosen, from the reasons the ranking gave when the
message was made (``Message.ranking``, carried by the record), in the reader's language; to a manager, only what
the catalog says (README "Learning style, learning paths and everyone's feedback")."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from starlette.testclient import TestClient

from tests.support import at, bundled_defs
from wayfinder import examples_dir
from wayfinder.catalog.graph import CATALOG_FACTS
from wayfinder.cli.report import write_results
from wayfinder.connectors.links import RecipientLinks
from wayfinder.journeys.records import Message
from wayfinder.web.app import create_app
from wayfinder.web.backend import EmbeddedBackend, World
from wayfinder.web.settings import WebSettings

TOKEN_SECRET = SecretStr("token-secret-for-the-why-tests")
# E1034 (en-IN, new manager: department, location, role, format), E1082 (de-DE hire: department, location, language,
# colleagues' feedback; manager E1008, de-DE), E1036 (en-US new parent: their own clicks and a related resource)
PEOPLE = ("E1034", "E1082", "E1036")


@dataclass
class Served:
    client: TestClient
    backend: EmbeddedBackend


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("why")
    events = folder / "events.jsonl"
    lines = [line for line in (examples_dir() / "events.jsonl").read_text(encoding="utf-8").splitlines()
             if '"hris.employee.upserted"' in line or json.loads(line)["subject"] in PEOPLE]
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = folder / "out"
    out.mkdir()
    now = at("2026-12-01T10:00")
    backend = EmbeddedBackend(out, World(defs=bundled_defs(), events=events), write=write_results,
                              now=lambda: now)
    settings = WebSettings(token_secret=TOKEN_SECRET, session_secret=SecretStr("session-secret-for-the-why-tests"),
                           cookie_secure=True)
    app = create_app(settings, backend, registry=CollectorRegistry(), now=lambda: now, dev_login=True)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield Served(client, backend)


def _message(s: Served, employee: str, step: str, recipient: str | None = None) -> Message:
    return next(m for m in s.backend.store.messages.values()
                if m.employee_id == employee and m.step_id == step and m.recipient_id == (recipient or employee))


def _chosen(s: Served, message: Message) -> dict[str, str]:
    """The page's lines under "Why these resources": resource title -> why."""
    link = RecipientLinks(TOKEN_SECRET).sign(message.mailbox, message.message_id, at("2026-12-01T10:00"))
    page = s.client.get(f"/preferences/why?t={link}")
    assert page.status_code == 200
    found = re.search(r'<ul id="chosen">(.*?)</ul>', page.text, re.S)
    assert found is not None, "the page does not say why these resources"
    items = re.findall(r'<li><span class="resource">([^<]*)</span>: ([^<]*)</li>', found[1])
    return {html.unescape(title): html.unescape(line) for title, line in items}


def _title(s: Served, rid: str) -> str:
    return s.backend.world.defs.catalog.resources[rid].title


def test_a_line_for_each_resource_from_the_ranking_by_proximity_and_learning_style(served: Served) -> None:
    message = _message(served, "E1034", "for-employee")
    chosen = _chosen(served, message)
    assert len(chosen) == len(message.resources)
    assert chosen[_title(served, "eng-system-design")] == (
        "it is about Career; it is meant for your department; it is meant for your role")
    assert chosen[_title(served, "mentor-women-in-tech")] == (
        "it is about a part of Career; it is meant for your department; it is meant for your location")
    assert chosen[_title(served, "feedback-lab")] == (
        "it is about Career; it is hands-on, which suits your learning style")


def test_everyone_feedback_and_the_readers_own_clicks_are_said(served: Served) -> None:
    chosen = _chosen(served, _message(served, "E1036", "planning-ahead"))
    assert chosen[_title(served, "backup-childcare")].endswith(
        "placed lower: colleagues rated it poorly or rarely opened it")
    welcome = _chosen(served, _message(served, "E1036", "welcome"))
    assert "you opened, clicked or rated it well before" in welcome[_title(served, "us-dependent-care-fsa")]
    assert "you liked the related “" in welcome[_title(served, "us-parental-leave")]


def test_the_reasons_are_said_in_the_readers_language(served: Served) -> None:
    assert served.backend.store.profiles["E1082"].locale == "de-DE"
    welcome = _chosen(served, _message(served, "E1082", "welcome"))
    lines = set(welcome.values())
    assert any("es ist für deine Abteilung gedacht; es ist für deinen Standort gedacht" in x for x in lines), lines
    assert any("es ist in deiner Sprache" in x for x in lines), lines
    check_in = _chosen(served, _message(served, "E1082", "first-week-check-in"))
    assert any(x.endswith("weiter unten: Kolleginnen und Kollegen haben es schlecht bewertet oder selten geöffnet")
               for x in check_in.values()), check_in
    assert not any("it is" in x for x in (*welcome.values(), *check_in.values()))


def test_a_managers_page_says_only_what_the_catalog_says(served: Served) -> None:
    """The heads-up to E1082's manager was ranked by the new hire's learning style (README "Not done or weak"):
    the page names the topic and no fact of the report's profile (their format, department, language), and the
    record keeps only the catalog's facts of the ranking (data minimisation: it is not the manager's)."""
    message = _message(served, "E1082", "manager-heads-up", "E1008")
    defs = served.backend.world.defs
    profile = served.backend.store.profiles["E1082"]
    ranked = defs.catalog.reasons(defs.catalog.resources[message.resources[0]], 0, (), profile.view(), {})
    assert any(r.why == "format" for r in ranked)  # the ranking reads the report's learning style
    assert message.ranking and all(r.why in CATALOG_FACTS for rs in message.ranking.values() for r in rs)
    chosen = _chosen(served, message)
    assert chosen and all(line.startswith("es geht um ") for line in chosen.values()), chosen
    assert not any(word in line for line in chosen.values() for word in ("Video", "Lernen", "Abteilung", "Sprache"))
    link = RecipientLinks(TOKEN_SECRET).sign("E1008", message.message_id, at("2026-12-01T10:00"))
    page = served.client.get(f"/preferences/why?t={link}").text
    assert 'id="for-someone-else"' in page
    english = _chosen(served, _message(served, "E1034", "for-manager", "E1030"))
    assert all(line.startswith("it is about ") and ";" not in line for line in english.values()), english


def test_the_reasons_carried_are_the_scores_that_ordered_the_resources(served: Served) -> None:
    """Each message's resources come in the order of their score; the reasons it carries sum to those scores."""
    ranked = [m for m in served.backend.store.messages.values() if m.ranking and m.delivers_to_employee]
    assert len(ranked) > 5
    for m in ranked:
        assert list(m.ranking) == m.resources
        totals = [sum(r.points for r in m.ranking[rid]) for rid in m.resources]
        assert totals == sorted(totals, reverse=True), m.message_id


def test_the_details_the_page_says_it_used_include_what_ranked_its_resources(served: Served) -> None:
    """Seen on the page (2026-12-06): "Why these resources" said "meant for your location", "suits your learning
    style", while "Details about you it used" named department, employment type and names only. The fields the
    ranking read (location, role, learning style, language) are among them now; not on a manager's page."""
    def fields(message: Message) -> list[str]:
        link = RecipientLinks(TOKEN_SECRET).sign(message.mailbox, message.message_id, at("2026-12-01T10:00"))
        found = re.search(r'<dd id="fields">([^<]*)</dd>', served.client.get(f"/preferences/why?t={link}").text)
        assert found is not None
        return html.unescape(found[1]).split(", ")

    mine = fields(_message(served, "E1034", "for-employee"))
    assert {"location", "role", "learning style", "department"} <= set(mine), mine
    german = fields(_message(served, "E1082", "welcome"))
    assert {"dein Standort", "deine Sprache"} <= set(german), german
    manager = fields(_message(served, "E1082", "manager-heads-up", "E1008"))
    assert not {"dein Standort", "deine Sprache", "deine Abteilung", "wie du gern lernst"} & set(manager), manager
