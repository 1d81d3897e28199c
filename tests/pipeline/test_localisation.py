"""The bundled demo read as its German and French recipients read it, and its roadmaps on working days."""

from __future__ import annotations

import json
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
from wayfinder.connectors.outbox import intranet_post
from wayfinder.journeys.records import Message

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


@pytest.mark.parametrize("language", ["de", "fr"])
def test_an_intranet_post_explains_itself_in_its_readers_language(demo: tuple[Path, Any], language: str) -> None:
    """Found on 2026-12-05: a German reader's intranet post carried the record's English explanation ("You received
    this because you started with us on January 26, 2026") beside a text whose footer said it in German. The post's
    explanation is now its footer's, as the review and why pages show it."""
    out, _ = demo
    posts = [intranet_post(Message.model_validate(m)) for m in read_jsonl(out / "messages.jsonl")
             if m["channel"] == "intranet" and m["status"] in ("sent", "approved")
             and str(m.get("locale") or "").startswith(language) and m.get("text")]
    assert len(posts) >= 3
    for post in posts:
        explanation = str(post["explanation"])
        assert not ENGLISH.search(explanation), explanation
        assert f"\n-- \n{explanation}\n" in str(post["text"])


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


NAMES = ("given_name", "preferred_name", "family_name")
# A name left out where a greeting or a sentence expected one: "Hi ,", "Congratulations, !", "Dear ,", a line that
# starts with its comma, two spaces where a name was.
DANGLING = re.compile(r" ,|,[ \u00a0]?[!?]|^\s*,|\S  +\S", re.M)


def _without(names: tuple[str, ...], source: Path, target: Path) -> None:
    """The bundled events with ``names`` taken out of every upsert (bad lines kept as they are)."""
    lines = []
    for line in source.read_text(encoding="utf-8").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            lines.append(line)
            continue
        data = event.get("data") if isinstance(event, dict) else None
        if isinstance(data, dict):
            for name in names:
                data.pop(name, None)
        lines.append(json.dumps(event, ensure_ascii=False))
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("names", [NAMES[:2], NAMES], ids=["no-first-name", "no-name"])
def test_people_with_no_name_on_file_get_whole_sentences(demo: tuple[Path, Any], tmp_path: Path,
                                                         names: tuple[str, ...]) -> None:
    """Checked for issue 10's notes: a record with no given or preferred name (an HR system that has none yet, a
    manager another partition's directory does not know yet) printed "Hi ," and "Congratulations, !" in every
    bundled greeting, and failed the manager's messages about that person (render_error). Every message the named
    demo renders also renders for them, in every language, without a dangling comma; a person is named by what is
    known of them (their family name, else their id)."""
    named, _ = demo
    events = tmp_path / "events.jsonl"
    _without(names, examples_dir() / "events.jsonl", events)
    out = tmp_path / "out"
    assert main(["simulate", "--events", str(events), "--until", "2027-03-01T00:00:00Z", "--out", str(out)]) == 0
    messages = read_jsonl(out / "messages.jsonl")
    rendered = {m["message_id"] for m in read_jsonl(named / "messages.jsonl") if m.get("text")}
    assert rendered and rendered <= {m["message_id"] for m in messages if m.get("text")}
    assert [m["message_id"] for m in messages if m["reason"] == "render_error"] == []
    dangling = [(m["journey_id"], m["step_id"], m["locale"], line) for m in messages if m.get("text")
                for line in (m["subject"], *m["text"].splitlines()) if DANGLING.search(line)]
    assert dangling == []
    about = [m for m in messages if m.get("text") and m["recipient_role"] == "manager"
             and m["journey_id"] in ("onboarding", "new-manager", "parental-return")]
    assert about
    for m in about:  # by their id when no name is known, else by their family name
        assert (m["employee_id"] in m["subject"]) == (names == NAMES), m["subject"]


def test_a_message_with_nothing_left_to_offer_has_no_sentence_leading_to_a_list(tmp_path: Path) -> None:
    """Resources already delivered are not offered again (SPEC §5), so a person who enters a journey again (a second
    child, a second move) may get a message with no resources: the bundled templates printed the sentence that
    introduces the list ("here is what is there for you:") and then nothing. Every message of the demo, rendered
    as if the catalog had nothing left for anyone, in every language it uses."""
    out = tmp_path / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(CatalogGraph, "select", lambda *_, **__: Selection())
        mp.setattr(CatalogGraph, "roadmap", lambda *_, **__: Selection())
        mp.setattr(CatalogGraph, "learning_path", lambda *_, **__: Selection())
        assert main(["simulate", "--events", str(examples_dir() / "events.jsonl"), "--until",
                     "2027-03-01T00:00:00Z", "--out", str(out)]) == 0
    rendered = [m for m in read_jsonl(out / "messages.jsonl") if m.get("text")]
    assert {str(m["locale"])[:2] for m in rendered} >= {"en", "de", "fr"}
    assert not any(m["resources"] for m in rendered)
    leading = set()
    for m in rendered:
        body = m["text"].split("\n-- \n")[0].splitlines()
        for n, line in enumerate(body):
            if line.rstrip().endswith(":") and not (n + 1 < len(body) and body[n + 1].lstrip().startswith("- ")):
                leading.add((m["journey_id"], m["step_id"], m["locale"], line.strip()[-40:]))
    assert sorted(leading) == []


@pytest.mark.parametrize(("template", "field"), [("onboarding/welcome", "start_date"),
                                                 ("parental-return/manager-check-in", "return_date")])
@pytest.mark.parametrize("locale", ["de-DE", "de-AT", "fr-FR", "en-GB"])
def test_a_date_on_the_first_of_a_month_stays_in_its_sentence(template: str, field: str, locale: str) -> None:
    """Found by a reading of the messages on 2026-12-06: the bundled German welcome and manager's check-in have a
    line that begins with the date, and on the 1st of a month ("1. Februar 2027") the text part broke the sentence
    in two and the HTML made the rest of it a numbered list. Every paragraph of every bundled message with a date on
    the 1st ends as a sentence does, and the HTML has no numbered list."""
    from wayfinder.journeys.loader import Sources, load_or_raise

    ex = examples_dir()
    defs = load_or_raise(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                                 policy=ex / "policy.yaml"))
    data = {field: "2027-02-01", "department": "Engineering", "role": "Backend Engineer", "leave_type": "parental"}
    context = {"employee": {"given_name": "Lukas", "family_name": "Gruber", "timezone": "Europe/Vienna"},
               "recipient": {"given_name": "Marie", "timezone": "Europe/Vienna"},
               "trigger": {"data": data}, "event": {"data": data}, "resources": []}
    rendered = defs.templates[template].render(context, locale, footer=("Why.", "https://x.example/p"))
    body = rendered.text.split("\n-- \n")[0]
    unfinished = [p for p in body.split("\n\n") if not p.rstrip().endswith((".", "!", "?", ",", ":"))]
    assert unfinished == []
    assert "<ol" not in rendered.html


@pytest.mark.parametrize(("role", "said"), [("Engineering Manager", "poste d'Engineering Manager !"),
                                            ("Account Executive", "poste d'Account Executive !"),
                                            ("Senior Support Specialist", "poste de Senior Support Specialist !")])
def test_the_french_congratulations_elides_de_before_a_vowel(role: str, said: str) -> None:
    """Read as their recipients would on 2026-12-06: a French reader promoted to a role beginning with a vowel read
    "votre nouveau poste de Engineering Manager", where French writes "d'Engineering Manager" (as the explanation
    does before a name, "manager d’Océane")."""
    from wayfinder.journeys.loader import Sources, load_or_raise

    ex = examples_dir()
    defs = load_or_raise(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                                 policy=ex / "policy.yaml"))
    data = {"change": "promotion", "new_role": role}
    context = {"employee": {"given_name": "Chloé"}, "recipient": {"given_name": "Chloé"},
               "trigger": {"data": data}, "event": {"data": data}, "resources": []}
    rendered = defs.templates["promotion/congratulations"].render(context, "fr-FR", footer=("Why.", "https://x.example/p"))
    assert said in rendered.text


@pytest.mark.parametrize(("locale", "intro"), [(None, "Here is your roadmap"), ("de-DE", "Hier ist deine Roadmap"),
                                               ("fr-FR", "Voici votre feuille de route")])
def test_a_first_day_roadmap_with_nothing_on_it_does_not_announce_one(locale: str | None, intro: str) -> None:
    """Read as their recipients would on 2026-12-06: a person rehired a year later, whose roadmap items were all
    delivered the first time (SPEC §5: not offered again), got "Here is your roadmap for the first weeks. Take it one
    step at a time" and then nothing. The sentence goes with the list, as the resource lists' do."""
    from wayfinder.journeys.loader import Sources, load_or_raise

    ex = examples_dir()
    defs = load_or_raise(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                                 policy=ex / "policy.yaml"))
    item = {"id": "laptop", "title": "Laptop", "url": None, "type": "task", "day": 1, "date": "2027-03-01"}
    for roadmap, announced in (([], False), ([item], True)):
        context = {"employee": {"given_name": "Lukas"}, "recipient": {"given_name": "Lukas"},
                   "trigger": {"data": {}}, "event": {"data": {}}, "resources": roadmap, "roadmap": roadmap}
        rendered = defs.templates["onboarding/roadmap"].render(context, locale, footer=("Why.", "https://x.example/p"))
        body = rendered.text.split("\n-- \n")[0]
        assert (intro in body) is announced and (intro in rendered.html) is announced
        assert len(body.split("\n\n")) == (4 if announced else 2)  # greeting, [intro, list,] closing


def test_a_spanish_template_gets_a_spanish_footer_and_spanish_dates(tmp_path: Path) -> None:
    """Issue 9 found "every German, French or Spanish message ends with an English explanation and preferences
    footer". German and French had catalogs; a Spanish override of a template still ended in English ("You received
    this because a new child was added to your family record on March 1, 2026"). There is a Spanish catalog now."""
    (tmp_path / "journeys").mkdir()
    (tmp_path / "templates" / "np").mkdir(parents=True)
    (tmp_path / "journeys" / "np.yaml").write_text(
        "apiVersion: wayfinder/v1\nkind: Journey\nid: np\nname: Welcome to parenthood\nnames: {es: Bienvenida a la "
        "paternidad}\nversion: 1\nstatus: active\ntrigger:\n  event: hris.dependent.added\nsteps:\n  - id: hi\n"
        "    send: {channel: email, template: np/hi}\n", encoding="utf-8")
    (tmp_path / "templates" / "np" / "hi.yaml").write_text(
        "apiVersion: wayfinder/v1\nkind: Template\nsubject: Congratulations\ntext: Congratulations!\nlocales:\n"
        "  es-ES: {subject: Enhorabuena, text: \"¡Enhorabuena, {{ employee.given_name }}! Nació el "
        "{{ trigger.data.date | format_date }}.\"}\n", encoding="utf-8")
    events = [{"type": "hris.employee.upserted", "time": "2026-03-02T08:00:00Z",
               "data": {"id": "E1", "given_name": "Lucía", "email": "lucia@example.com", "country": "ES",
                        "timezone": "Europe/Madrid", "locale": "es-ES"}},
              {"type": "hris.dependent.added", "time": "2026-03-02T09:00:00Z",
               "data": {"relationship": "child", "reason": "birth", "date": "2026-03-01"}}]
    (tmp_path / "events.jsonl").write_text("".join(
        json.dumps({"specversion": "1.0", "id": f"e{n}", "source": "t", "subject": "E1", **e}) + "\n"
        for n, e in enumerate(events)), encoding="utf-8")
    assert main(["simulate", "--events", str(tmp_path / "events.jsonl"), "--journeys", str(tmp_path / "journeys"),
                 "--templates", str(tmp_path / "templates"), "--out", str(tmp_path / "out")]) == 0
    (message,) = read_jsonl(tmp_path / "out" / "messages.jsonl")
    assert message["text"] == (
        "¡Enhorabuena, Lucía! Nació el 1 de marzo de 2026.\n\n-- \nRecibes este mensaje porque se añadió un hijo o una "
        "hija a tu registro familiar el 1 de marzo de 2026. Forma parte de «Bienvenida a la paternidad».\n"
        "Para cambiar o dejar de recibir estos mensajes: https://intranet.example.com/wayfinder/preferences\n")
    assert '<html lang="es-ES">' in message["html"]
