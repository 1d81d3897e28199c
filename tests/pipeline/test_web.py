"""``wayfinder serve`` in process (Starlette's TestClient over the embedded backend).

Access control, CSRF, link tokens, decisions written as valid events, tasks, the stop switch,
the headers and cookies, and the metrics.
"""

from __future__ import annotations

import html as html_module
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from starlette.testclient import TestClient

from tests.support import DecisionsIn, at, bundled_defs, read_jsonl
from wayfinder import examples_dir
from wayfinder.cli import main
from wayfinder.cli.report import write_results
from wayfinder.connectors.links import RecipientLinks
from wayfinder.connectors.switch import ControlFile
from wayfinder.journeys.events import decode_event
from wayfinder.journeys.loader import Definitions
from wayfinder.web import events as ev
from wayfinder.web.app import create_app
from wayfinder.web.backend import EmbeddedBackend, World
from wayfinder.web.settings import WebSettings

TOKEN_SECRET = SecretStr("token-secret-for-the-tests")
# people of the bundled world: E1032 (bereavement, HR partner E1006, manager E1009), E1052 (medical
# return, HR partner E1003), E1038 (bereavement, HR partner E1004)
PEOPLE = ("E1032", "E1052", "E1038", "E1029", "E1080")
STAFF_PAGES = ("/review", "/tasks", "/overview", "/review/m-84620ac08dd5fb43eaf6965c",
               "/review/m-84620ac08dd5fb43eaf6965c/html")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.value = now

    def __call__(self) -> datetime:
        return self.value


@dataclass
class Served(DecisionsIn):
    client: TestClient
    backend: EmbeddedBackend
    registry: CollectorRegistry
    clock: Clock
    out: Path


@pytest.fixture(scope="module")
def defs() -> Definitions:
    return bundled_defs()


@pytest.fixture(scope="module")
def small_events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled events of a few people (and every profile), so each run of the engine is quick."""
    path = tmp_path_factory.mktemp("events") / "events.jsonl"
    lines = [line for line in (examples_dir() / "events.jsonl").read_text(encoding="utf-8").splitlines()
             if '"hris.employee.upserted"' in line or json.loads(line)["subject"] in PEOPLE]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def served(tmp_path: Path, defs: Definitions, small_events: Path) -> Iterator[Served]:
    clock = Clock(at("2026-12-01T10:00"))
    backend = EmbeddedBackend(tmp_path, World(defs=defs, events=small_events), write=write_results, now=clock)
    registry = CollectorRegistry()
    settings = WebSettings(token_secret=TOKEN_SECRET, session_secret=SecretStr("session-secret-for-the-tests"),
                           cookie_secure=True)
    app = create_app(settings, backend, registry=registry, now=clock, dev_login=True)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield Served(client, backend, registry, clock, tmp_path)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found[1]


def sign_in(s: Served, person: str, *roles: str) -> str:
    s.client.cookies.clear()
    page = s.client.get("/login")
    form = {"csrf": _csrf(page.text), "person_id": person} | {f"role_{r}": "on" for r in roles}
    assert s.client.post("/login", data=form).status_code == 303
    return _csrf(s.client.get("/review" if {"reviewer", "hr_partner"} & set(roles) else "/tasks").text)


def _pending_of(s: Served, employee: str) -> str:
    return next(m.message_id for m in s.backend.store.pending() if m.employee_id == employee)


def _link(s: Served, person: str, message_id: str | None = None, at_: datetime | None = None) -> str:
    return RecipientLinks(TOKEN_SECRET).sign(person, message_id, at_ or s.clock())


# -- access -------------------------------------------------------------------------------------
def test_no_staff_page_opens_without_sign_in(served: Served) -> None:
    for path in STAFF_PAGES:
        response = served.client.get(path)
        assert (response.status_code, response.headers["location"]) == (303, "/login"), path
    decide = served.client.post("/review/m-84620ac08dd5fb43eaf6965c/decide", data={"action": "approve"})
    assert decide.status_code == 303
    assert served.client.get("/preferences").status_code == 403
    assert served.decisions() == []


def test_an_hr_partner_sees_only_their_own_employees(served: Served) -> None:
    csrf = sign_in(served, "E1006", "hr_partner")
    queue = served.client.get("/review").text
    mine, theirs = _pending_of(served, "E1032"), _pending_of(served, "E1052")
    assert mine in queue
    assert theirs not in queue
    assert served.client.get(f"/review/{theirs}").status_code == 404
    assert served.client.get(f"/review/{theirs}/html").status_code == 404
    refused = served.client.post(f"/review/{theirs}/decide", data={"csrf": csrf, "action": "approve"})
    assert refused.status_code == 404
    tasks = served.client.get("/tasks").text
    assert "E1032" in tasks
    assert "E1052" not in tasks
    assert served.decisions() == []


def test_a_manager_sees_only_the_tasks_assigned_to_them(served: Served) -> None:
    sign_in(served, "E1009", "manager")
    mine = [t for t in served.backend.store.tasks.values() if t.assignee_id == "E1009"]
    page = served.client.get("/tasks").text
    assert mine
    assert all(t.task_id in page for t in mine)
    assert page.count('data-task="') == len(mine)
    assert served.client.get("/review").status_code == 403


def test_a_reviewer_neither_sees_nor_decides_a_message_about_themselves(served: Served) -> None:
    """Shown with "another reviewer must decide" until 2026-12-04, when an audit read a reviewer's own pending
    medical-return message in full; tasks about oneself were hidden already."""
    csrf = sign_in(served, "E1032", "reviewer")
    message = _pending_of(served, "E1032")
    assert message not in served.client.get("/review").text
    assert served.client.get(f"/review/{message}").status_code == 404
    refused = served.client.post(f"/review/{message}/decide", data={"csrf": csrf, "action": "approve"})
    assert refused.status_code == 404
    assert served.decisions() == []
    sign_in(served, "E1003", "reviewer")
    assert message in served.client.get("/review").text  # another reviewer sees and decides it


# -- CSRF ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("csrf", [None, "forged"])
def test_a_form_without_the_right_csrf_token_is_refused(served: Served, csrf: str | None) -> None:
    sign_in(served, "E1003", "reviewer", "operator")
    message = _pending_of(served, "E1052")
    form = {"action": "approve"} | ({"csrf": csrf} if csrf else {})
    assert served.client.post(f"/review/{message}/decide", data=form).status_code == 403
    assert served.client.post("/overview/switch", data={"action": "pause"} | form).status_code == 403
    token = _link(served, "E1052")
    assert served.client.post(f"/preferences?t={token}", data=form).status_code == 403
    assert served.decisions() == []


# -- decisions ----------------------------------------------------------------------------------
def test_an_approval_is_written_once_as_a_valid_review_event(served: Served) -> None:
    csrf = sign_in(served, "E1003", "reviewer")
    message = served.backend.store.messages[_pending_of(served, "E1052")]
    form = {"csrf": csrf, "action": "approve", "subject": "A kinder subject", "text": message.text or "",
            "html": message.html or ""}
    done = served.client.post(f"/review/{message.message_id}/decide", data=form, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, "/review?decided=approve")
    queue = served.client.get(done.headers["location"]).text  # the reviewer is told what happened
    went = served.backend.store.messages[message.message_id]
    assert (f'<p class="done" id="decided" role="status" data-status="{went.status}">Approved. It '
            f'{"went to the recipient" if went.status == "approved" else "waits"}') in queue
    again = served.client.post(f"/review/{message.message_id}/decide", data=form)
    assert again.status_code == 409
    [line] = served.decisions()
    event = decode_event(json.dumps(line))
    assert (event.type, event.subject, event.source) == ("wayfinder.review.decided", "E1052", "wayfinder/serve")
    assert event.data == {"message_id": message.message_id, "decision": "approve", "reviewer_id": "E1003",
                          "edits": {"subject": "A kinder subject"}}
    expected = ev.review_decided(employee_id="E1052", message_id=message.message_id, decision="approve",
                                 reviewer_id="E1003", at=event.time, edits={"subject": "A kinder subject"})
    assert event.id == expected.id
    assert event.time >= message.created_at
    assert message.message_id not in served.client.get("/review").text
    page = served.client.get(f"/review/{message.message_id}")  # the back button, a bookmark, a task's link
    assert page.status_code == 200
    assert 'Decided: <data value="approve">approved</data> by E1003.' in page.text


def _form_fields(page: str) -> dict[str, str]:
    """The edit form's fields as a browser sends them (one newline right after <textarea> is not content)."""
    fields = {m[1]: m[2] for m in re.finditer(r'<input name="(\w+)" value="([^"]*)">', page)}
    fields |= {m[1]: m[2].removeprefix("\n") for m in re.finditer(r'<textarea name="(\w+)"[^>]*>(.*?)</textarea>',
                                                                     page, re.S)}
    return {name: html_module.unescape(value) for name, value in fields.items()}


@pytest.mark.parametrize("sent_back", ["as offered", "whole"])
def test_an_edited_approval_sends_one_explanation_and_one_html_document(served: Served, sent_back: str) -> None:
    """SPEC §11: the edited parts are what is sent, with the explanation and the preferences link appended once."""
    csrf = sign_in(served, "E1003", "reviewer")
    message = served.backend.store.messages[_pending_of(served, "E1052")]
    assert message.text and message.html
    fields = _form_fields(served.client.get(f"/review/{message.message_id}").text)
    assert "You received this because" not in fields["text"] + fields["html"]
    assert "<!DOCTYPE" not in fields["html"]
    opening = "<p>A kinder opening.</p>\n"
    edited = {"text": "A kinder opening.\n\n" + fields["text"], "html": opening + fields["html"]}
    if sent_back == "whole":  # a form that sent the rendered parts back, footer and document included
        first = message.html.index("<p ")  # the body's first paragraph
        edited = {"text": "A kinder opening.\n\n" + message.text,
                  "html": message.html[:first] + opening + message.html[first:]}
    response = served.client.post(f"/review/{message.message_id}/decide",
                                  data=fields | edited | {"csrf": csrf, "action": "approve"})
    assert response.status_code == 303
    [sent] = [m for m in read_jsonl(served.out / "messages.jsonl") if m["message_id"] == message.message_id
              and m["status"] in ("approved", "deferred", "sent")][-1:]
    assert sent["text"].startswith("A kinder opening.")
    assert sent["html"].count("A kinder opening.") == 1
    assert sent["text"].count("You received this because") == sent["html"].count("You received this because") == 1
    assert sent["text"].count("\n-- \n") == sent["html"].count("wayfinder-explanation") == 1
    assert sent["html"].count("<!DOCTYPE") == 1


@pytest.mark.parametrize(("person", "said"), [("E1029", "am 13. Oktober 2026 begonnen"),
                                             ("E1032", "started on 27 January 2026")])
@pytest.mark.parametrize("edited", [False, True])
def test_the_review_page_shows_the_explanation_as_its_reader_gets_it(
        served: Served, person: str, said: str, edited: bool) -> None:
    """An audit on 2026-12-05: the page's "Why" was the record's English ("started on October 13, 2026") above a
    message whose footer tells a German reader "am 13. Oktober 2026" (an en-IN one "27 January 2026"): the reviewer
    approved words the employee never reads. The page now says the footer's; approved, edited or not, it is the
    footer that goes, in the text and in the HTML."""
    csrf = sign_in(served, "E1003", "reviewer")
    message = served.backend.store.messages[_pending_of(served, person)]
    page = served.client.get(f"/review/{message.message_id}").text
    shown = re.search(r'<span id="explanation">([^<]+)</span>', page)
    assert shown is not None, page
    explanation = html_module.unescape(shown[1])
    assert said in explanation and explanation != message.explanation
    assert html_module.escape(message.explanation or "", quote=False) in page  # the English record, for the reviewer
    edits = {"subject": "A kinder subject", "text": "A kinder opening.\n\n" + _form_fields(page)["text"]}
    form = {"csrf": csrf, "action": "approve"} | (edits if edited else {})
    assert served.client.post(f"/review/{message.message_id}/decide", data=form).status_code == 303
    [sent] = [m for m in read_jsonl(served.out / "messages.jsonl") if m["message_id"] == message.message_id]
    assert sent["status"] in ("approved", "deferred") and sent["text"].startswith("A kinder" if edited else "")
    assert sent["text"].rpartition("\n-- \n")[2].startswith(f"{explanation}\n")
    assert sent["html"].count(html_module.escape(explanation, quote=False)) == 1


def test_a_rejection_needs_a_reason_and_keeps_it(served: Served) -> None:
    csrf = sign_in(served, "E1004", "hr_partner")
    message = _pending_of(served, "E1038")
    assert served.client.post(f"/review/{message}/decide", data={"csrf": csrf, "action": "reject"}).status_code == 400
    rejected = served.client.post(f"/review/{message}/decide",
                                  data={"csrf": csrf, "action": "reject", "reason": "too soon after the loss"})
    assert rejected.status_code == 303
    assert "Rejected. It will not be sent." in served.client.get(rejected.headers["location"]).text
    [line] = served.decisions()
    assert line["type"] == "wayfinder.review.decided"
    assert line["data"] == {"message_id": message, "decision": "reject", "reviewer_id": "E1004",
                            "reason": "too soon after the loss"}
    rows = served.client.get("/overview")
    assert rows.status_code == 403  # an HR partner is not an operator


def test_the_engine_records_the_decisions_in_messages_jsonl(served: Served) -> None:
    csrf = sign_in(served, "E1003", "reviewer")
    approve, reject = _pending_of(served, "E1052"), _pending_of(served, "E1038")
    served.client.post(f"/review/{approve}/decide", data={"csrf": csrf, "action": "approve"})
    served.client.post(f"/review/{reject}/decide", data={"csrf": csrf, "action": "reject", "reason": "no"})
    status = {m["message_id"]: m["status"] for m in read_jsonl(served.out / "messages.jsonl")}
    assert status[approve] in ("approved", "deferred")
    assert status[reject] == "rejected"


# -- employees' pages ---------------------------------------------------------------------------
def test_the_preferences_page_opens_with_a_link_and_writes_a_change(served: Served) -> None:
    token = _link(served, "E1052")
    page = served.client.get(f"/preferences?t={token}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    form = {"csrf": _csrf(page.text), "channel_email": "on", "channel_intranet": "on", "topic_medical": "on",
            "quiet_start": "21:00", "quiet_end": "07:30", "locale": "de-DE",
            "paused_until": (served.backend.now() + timedelta(days=40)).date().isoformat()}
    saved = served.client.post(f"/preferences?t={token}", data=form)
    assert 'id="saved"' in saved.text
    [line] = served.decisions()
    event = decode_event(json.dumps(line))
    assert (event.type, event.subject) == ("wayfinder.preferences.changed", "E1052")
    assert event.data == {"opt_out_topics": ["medical"], "quiet_hours": "21:00-07:30", "locale": "de-DE",
                          "paused_until": event.data["paused_until"]}
    assert datetime.fromisoformat(str(event.data["paused_until"])).tzinfo is not None
    assert served.backend.store.preferences("E1052")["opt_out_topics"] == ["medical"]


def test_a_save_says_what_it_changed_in_the_readers_words(served: Served) -> None:
    """An audit on 2026-12-06: the page said "Saved." alone, whatever was saved, and the reader had to find their
    change among the ticks. Each change is said in a sentence, in the language of the page (the one just chosen)."""
    token = _link(served, "E1052")

    def save(**fields: str) -> list[str]:
        form = {"csrf": _csrf(served.client.get(f"/preferences?t={token}").text), "channel_intranet": "on"} | fields
        page = served.client.post(f"/preferences?t={token}", data=form)
        assert page.status_code == 200 and 'id="saved"' in page.text
        found = re.search(r'<ul class="done" id="saved-what">(.*?)</ul>', page.text, re.S)
        return [html_module.unescape(item) for item in re.findall(r"<li>(.*?)</li>", found[1])] if found else []

    day = (served.backend.now() + timedelta(days=40)).astimezone(ZoneInfo("Europe/Berlin")).date()
    assert save(topic_medical="on", quiet_start="21:00", quiet_end="07:30", locale="de-DE",
                paused_until=day.isoformat()) == [
        "E-Mail: Du bekommst dort keine Nachrichten mehr.",
        "Keine Nachrichten mehr zu: Gesundheit und Krankheit.",
        "Ruhezeiten: von 21:00 bis 07:30, deine Ortszeit.",
        "Sprache: Deutsch (Deutschland) (de-DE).",
        f"Alle Nachrichten pausieren bis zum {format_date(day, 'long', locale='de_DE')}.",
    ]
    assert save(channel_email="on", locale="de-DE", paused_until="", quiet_start="", quiet_end="") == [
        "E-Mail: Du bekommst dort wieder Nachrichten.",
        "Wieder Nachrichten zu diesen Themen: Gesundheit und Krankheit.",
        "Du hast keine eigenen Ruhezeiten mehr.",
        "Die Pause ist aufgehoben: Nachrichten kommen wieder.",
    ]
    assert save(channel_email="on", locale="fr-FR") == ["Langue : français (France) (fr-FR)."]
    assert save(channel_email="on", locale="") == ["Language: not set, so the HR system's language is used."]


@pytest.mark.parametrize(("field", "value", "said"), [
    ("quiet_start", "25:00", "Ruhezeiten brauchen einen Beginn und ein Ende als HH:MM"),
    ("paused_until", "2027-02-30", "braucht ein Datum (JJJJ-MM-TT)"),
    ("paused_until", "2020-01-01", "braucht einen Tag nach heute"),
    ("paused_until", "today", "braucht einen Tag nach heute"),
    ("locale", "<b>x</b>", "Gib die Sprache so an"),
])
def test_a_choice_the_page_cannot_take_is_said_on_the_page_and_nothing_is_saved(
        served: Served, field: str, value: str, said: str) -> None:
    """An audit on 2026-12-04: such a choice gave a bare error page in English, without the form, and a pause
    ending on a day already past was saved (it held nothing)."""
    token = _link(served, "E1052")
    served.client.post(f"/preferences?t={token}", data={"csrf": _csrf(served.client.get(
        f"/preferences?t={token}").text), "channel_email": "on", "channel_intranet": "on", "locale": "de-DE"})
    before = len(served.decisions())
    page = served.client.get(f"/preferences?t={token}")
    if value == "today":
        value = served.backend.now().astimezone(ZoneInfo("Europe/Berlin")).date().isoformat()
    form = {"csrf": _csrf(page.text), "channel_email": "on", "channel_intranet": "on", "locale": "de-DE",
            field: value} | ({"quiet_end": "08:00"} if field == "quiet_start" else {})
    refused = served.client.post(f"/preferences?t={token}", data=form)
    assert refused.status_code == 400
    assert '<p class="warn" id="problem" role="alert">' in refused.text and said in refused.text
    assert "Es wurde nichts gespeichert." in refused.text and 'name="csrf"' in refused.text  # the form, again
    assert len(served.decisions()) == before
    # said again beside the field, whose input is marked invalid and described by it (2026-12-05: only above the form)
    group = "quiet_hours" if field == "quiet_start" else field
    beside = re.search(rf'<p class="error field-problem" id="problem-{group}">([^<]*)</p>', refused.text)
    assert beside is not None and said in html_module.unescape(beside[1])
    tag = re.search(rf'<(?:input|select)[^>]* name="{field}"[^>]*>', refused.text)
    assert tag is not None and 'aria-invalid="true"' in tag[0] and f'aria-describedby="problem-{group}' in tag[0]
    assert refused.text.count('aria-invalid="true"') == (2 if group == "quiet_hours" else 1)


def test_the_language_is_chosen_among_those_the_messages_are_written_in(served: Served) -> None:
    """An audit on 2026-12-04: the language was a free text field ("en-GB" as a hint). It is now a choice among
    English and the locales the bundled templates are written in, named in the reader's language, keeping the
    person's own choice when it is none of them; the form takes what it took before (any well-formed tag). The HR
    system's language is not a choice of theirs (since 2026-12-05): the hint under the list names it (it was named in
    the option "Not set", whose long label the list cut short on a desktop screen)."""
    def choices(person: str) -> tuple[list[tuple[str, str]], str | None, str]:
        page = served.client.get(f"/preferences?t={_link(served, person)}").text
        select = re.search(r'<select name="locale" id="locale"[^>]*>(.*?)</select>', page, re.S)
        assert select is not None, page
        options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select[1])
        chosen = next((value for value, selected, _ in options if selected), None)
        return [(value, html_module.unescape(name)) for value, _, name in options], chosen, page

    options, chosen, page = choices("E1032")  # en-IN, from the HR system: named under the list; "Not set" is chosen
    assert {"en", "de-DE", "fr-FR"} <= {value for value, _ in options} and chosen == ""
    assert options[0] == ("", "Not set")
    assert '<p class="meta" id="locale-hint">Your language in the HR system: English (India) (en-IN). Not set:' in page
    assert ("de-DE", "German (Germany) (de-DE)") in options
    german = next(p for p in PEOPLE if (served.backend.store.profiles[p].locale or "").startswith("de"))
    options, chosen, _ = choices(german)
    assert ("de-DE", "Deutsch (Deutschland) (de-DE)") in options and chosen is not None
    form = {"csrf": _csrf(page), "channel_email": "on", "channel_intranet": "on"}
    for locale in ("fr-FR", "pt-BR"):  # a choice; and a tag the list does not offer, taken as before
        token = _link(served, "E1032")
        assert served.client.post(f"/preferences?t={token}", data=form | {"locale": locale}).status_code == 200
        assert served.backend.store.preferences("E1032")["locale"] == locale
        assert choices("E1032")[1] == locale


def test_channels_have_one_name_on_every_page_in_the_readers_language(served: Served) -> None:
    """Seen walking the pages on 2026-12-05: the English preferences page named the channels by their values,
    "email" and "intranet", where the German one said "E-Mail" (its catalog translated the value); staff pages said
    the value too. Every channel has one name (``words.CHANNELS``), which the catalogs translate."""
    from wayfinder.vocabulary import CHANNELS
    from wayfinder.web.i18n import translator
    from wayfinder.web.words import CHANNELS as NAMES

    assert set(NAMES) == set(CHANNELS)
    for language in ("de", "fr"):  # every catalog has every name
        assert {c: translator(language)(NAMES[c]) for c in CHANNELS} == {
            "email": {"de": "E-Mail", "fr": "E-mail"}[language], "intranet": "Intranet"}

    def boxes(person: str) -> dict[str, str]:
        page = served.client.get(f"/preferences?t={_link(served, person)}").text
        return dict(re.findall(r'<input type="checkbox" name="channel_(\w+)"[^>]*> ([^<]*)</label>', page))

    german = next(p for p in PEOPLE if (served.backend.store.profiles[p].locale or "").startswith("de"))
    assert boxes("E1032") == {"email": "Email", "intranet": "Intranet"}
    assert boxes(german) == {"email": "E-Mail", "intranet": "Intranet"}
    sign_in(served, "E1003", "reviewer")
    detail = served.client.get(f"/review/{_pending_of(served, 'E1052')}").text
    assert re.search(r'<dd id="channel"><data value="(email|intranet)">(Email|Intranet)</data></dd>', detail)


@pytest.mark.parametrize("problem", ["expired", "tampered", "missing"])
def test_a_bad_link_opens_nothing(served: Served, problem: str) -> None:
    good = _link(served, "E1052", None, served.clock() - timedelta(days=91))
    token = {"expired": good, "tampered": _link(served, "E1052")[:-3] + "AAA", "missing": ""}[problem]
    for path in ("/preferences", "/preferences/why", "/preferences/unsubscribe"):
        response = served.client.get(f"{path}?t={token}")
        assert response.status_code == 403, path
        assert "E1052" not in response.text
    assert served.client.post(f"/preferences/unsubscribe?t={token}",
                              data={"List-Unsubscribe": "One-Click"}).status_code == 403
    assert served.decisions() == []


def test_an_employee_page_shows_no_staff_navigation_in_a_browser_with_a_staff_session(served: Served) -> None:
    """Seen walking the pages on 2026-12-05: a person's link opened in a browser where someone was signed in as
    staff showed the staff bar (Reviews, Tasks, Operations, the staff member's id, Sign out) above their preferences,
    their "why" and the error page of a bad link. An employee page has no staff navigation; staff pages keep it."""
    sign_in(served, "E2001", "reviewer", "hr_partner", "operator")
    message = _pending_of(served, "E1052")
    token = _link(served, "E1052", message)
    pages = {path: served.client.get(f"{path}?t={token}")
             for path in ("/preferences", "/preferences/why", "/preferences/unsubscribe", "/preferences/resources")}
    pages["bad link"] = served.client.get("/preferences?t=nothing")
    assert {p: r.status_code for p, r in pages.items()} == {p: 403 if p == "bad link" else 200 for p in pages}
    staff_bits = ("<nav", "/logout", 'href="/review"', 'href="/tasks"', 'href="/overview"', "E2001")
    assert {p: [b for b in staff_bits if b in r.text] for p, r in pages.items()} == {p: [] for p in pages}
    staff_page = served.client.get("/tasks").text  # the session is kept, and the staff pages still show the bar
    assert all(b in staff_page for b in staff_bits)


def test_a_link_for_one_employee_never_opens_another_employees_message(served: Served) -> None:
    theirs = _pending_of(served, "E1038")
    response = served.client.get(f"/preferences/why?t={_link(served, 'E1052', theirs)}")
    assert response.status_code == 404
    assert "E1038" not in response.text
    own = served.client.get(f"/preferences/why?t={_link(served, 'E1038', theirs)}")
    assert own.status_code == 200
    assert 'id="explanation"' in own.text


def test_the_why_page_says_the_details_and_the_day_in_the_readers_words(served: Served) -> None:
    """An audit on 2026-12-04 read "country, employment_type, given_name" and "2025-12-10T09:47:00Z" on a German
    reader's page: the data's names and an instant, not what the person knows them as."""
    for person in ("E1052", "E1038"):
        message = _pending_of(served, person)
        page = served.client.get(f"/preferences/why?t={_link(served, person, message)}").text
        fields = re.search(r'<dd id="fields">(.*?)</dd>', page, re.S)
        started = re.search(r"<dt>[^<]*</dt><dd>([^<]*)<time datetime=\"([^\"]+)\">([^<]+)</time>", page)
        assert fields is not None and started is not None, page
        assert "_" not in fields[1] and fields[1].strip()
        assert started[1].strip() and "." not in started[1], started[1]  # what happened, not "hris.dependent.added"
        assert "T" not in started[3] and re.search(r"\b20\d\d\b", started[3])  # a date as people write it
        assert date.fromisoformat(started[2])  # the day stays, for machines (the day the event says it happened)
        locale = served.backend.store.profiles[person].locale or "en"
        if locale.startswith("de"):
            assert "dein" in fields[1] or "deine" in fields[1], fields[1]


def test_the_why_page_gives_the_day_the_event_happened_not_the_day_it_was_recorded(served: Served) -> None:
    """An audit on 2026-12-04: E1052's return from medical leave (return_date 2026-03-09) was recorded by the HR
    system on 2026-03-06, and the page said the journey was started on 6 March: the record's time. It now says the
    day the event's data names; an event that names none keeps the day it was recorded (unit tests of ``day_of``)."""
    message = _pending_of(served, "E1052")
    page = served.client.get(f"/preferences/why?t={_link(served, 'E1052', message)}").text
    started = re.search(r'<time datetime="([^"]+)">([^<]+)</time>', page)
    explanation = re.search(r'<p id="explanation">([^<]+)</p>', page)
    assert started is not None and explanation is not None, page
    # in the reader's own locale, en-GB, as the explanation above it writes the day (it said "March 9, 2026" under
    # "... ended on 9 March 2026": the page's language, English, formatted it; found on 2026-12-05)
    assert served.backend.store.profiles["E1052"].locale == "en-GB"
    assert (started[1], started[2]) == ("2026-03-09", format_date(date(2026, 3, 9), "long", locale="en_GB"))
    assert f"ended on {started[2]}." in explanation[1]


def test_one_click_unsubscribe_opts_out_of_email(served: Served) -> None:
    token = _link(served, "E1029", _pending_of(served, "E1029"))
    response = served.client.post(f"/preferences/unsubscribe?t={token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    again = served.client.post(f"/preferences/unsubscribe?t={token}", data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200
    [line] = served.decisions()
    assert (line["type"], line["subject"], line["data"]) == (
        "wayfinder.preferences.changed", "E1029", {"opt_out_channels": ["email"]})
    assert served.client.post(f"/preferences/unsubscribe?t={token}", data={"x": "y"}).status_code == 400
    value = served.registry.get_sample_value("wayfinder_opt_outs_total", {"kind": "channel", "name": "email"})
    assert value == 1.0


def test_a_head_request_to_an_employees_link_reads_and_changes_nothing(served: Served) -> None:
    """HEAD is safe (RFC 9110), as GET is, and a link checker in a mail system sends one: an audit on 2026-12-06
    found a HEAD with the one-click body unsubscribed the person, and a HEAD of either page was a 400 or 403."""
    token = _link(served, "E1029", _pending_of(served, "E1029"))
    head = served.client.request("HEAD", f"/preferences/unsubscribe?t={token}", content=b"List-Unsubscribe=One-Click",
                                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert head.status_code == 200
    assert served.client.request("HEAD", f"/preferences?t={token}").status_code == 200
    assert served.decisions() == []
    assert served.backend.store.preferences("E1029")["opt_out_channels"] == []


def test_an_unsubscribe_from_a_message_that_went_does_not_take_that_message_back(served: Served) -> None:
    """The approved message goes when quiet hours end, after the demo world's clock stands still; its reader
    unsubscribes with its link. The choice is stamped no earlier than the message went: the message stays
    approved (it was rewritten as suppressed, opted_out_channel, though it had been delivered)."""
    link = _link(served, "E1052")  # quiet hours for most of the day: the approved message waits for their end
    page = served.client.get(f"/preferences?t={link}").text
    served.client.post(f"/preferences?t={link}", data={"csrf": _csrf(page), "channel_email": "on",
                                                       "channel_intranet": "on", "quiet_start": "00:00",
                                                       "quiet_end": "23:00"})
    csrf = sign_in(served, "E1003", "reviewer")
    mid = _pending_of(served, "E1052")
    assert served.client.post(f"/review/{mid}/decide", data={"csrf": csrf, "action": "approve"}).status_code == 303
    went = served.backend.store.messages[mid]
    decided = served.decisions()[-1]
    assert went.status == "approved" and went.scheduled_for > datetime.fromisoformat(str(decided["time"]))
    token = _link(served, went.recipient_id or "E1052", mid)
    assert served.client.post(f"/preferences/unsubscribe?t={token}",
                              data={"List-Unsubscribe": "One-Click"}).status_code == 200
    after = served.backend.store.messages[mid]
    assert (after.status, after.scheduled_for) == ("approved", went.scheduled_for)
    assert served.backend.store.preferences(went.recipient_id or "E1052")["opt_out_channels"] == ["email"]


# -- tasks and the stop switch ------------------------------------------------------------------
def test_a_task_links_the_message_about_the_same_person_that_waits_for_review(served: Served) -> None:
    """The bereavement task says "review the condolence message waiting for your approval" and had no link to it
    (an audit on 2026-12-04; only an escalation's task had one)."""
    store = served.backend.store
    pending = {(m.employee_id, m.journey_id): m.message_id for m in store.pending()}
    task = next(t for t in store.tasks.values() if t.assignee == "hr_partner" and t.assignee_id
                and (t.employee_id, t.journey_id) in pending)
    sign_in(served, str(task.assignee_id), "hr_partner")
    page = served.client.get("/tasks").text
    card = page[page.index(f'data-task="{task.task_id}"'):]
    card = card[:card.index("</li>")]
    assert f'<a href="/review/{pending[(task.employee_id, task.journey_id)]}" class="waiting">' in card
    sign_in(served, "E1009", "manager")  # a manager's tasks: no link to a review they may not see
    assert 'class="waiting"' not in served.client.get("/tasks").text


def test_each_message_waiting_beside_a_task_is_told_apart_by_its_subject(served: Served) -> None:
    """Walking the pages on 2026-12-05: the bereavement task of E1032 showed "A message about them waits for review"
    twice (the condolence and the return check-in), alike but for words only a screen reader read."""
    store = served.backend.store
    waiting = [m for m in store.pending() if (m.employee_id, m.journey_id) == ("E1032", "bereavement")]
    assert len(waiting) == 2
    task = next(t for t in store.tasks.values() if (t.employee_id, t.assignee) == ("E1032", "hr_partner"))
    sign_in(served, str(task.assignee_id), "hr_partner")
    page = served.client.get("/tasks").text
    card = page[page.index(f'data-task="{task.task_id}"'):]
    card = card[:card.index("</li>")]
    shown = [html_module.unescape(re.sub(r'<span class="visually-hidden">.*?</span>|<[^>]+>', "", link))
             for link in re.findall(r'<a href="/review/[^"]+" class="waiting">(.*?)</a>', card, re.S)]
    assert sorted(shown) == sorted(f"A message about them waits for review: “{m.subject}”" for m in waiting)


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_task_says_what_became_of_the_review_its_note_asks_for(served: Served, decision: str) -> None:
    """An audit on 2026-12-04: once the condolence message was decided, the HR partner's task still said "review
    the condolence message waiting for your approval", and nothing else. The card now says it was approved or
    rejected, by whom, and that it is not waiting any more."""
    store = served.backend.store
    mid = _pending_of(served, "E1032")
    task = next(t for t in store.tasks.values() if (t.employee_id, t.assignee, t.journey_id) == (
        "E1032", "hr_partner", "bereavement"))
    assert "waiting for your approval" in (task.note or "")
    csrf = sign_in(served, "E1003", "reviewer")
    form = {"csrf": csrf, "action": decision} | ({"reason": "tone"} if decision == "reject" else {})
    assert served.client.post(f"/review/{mid}/decide", data=form).status_code == 303
    sign_in(served, str(task.assignee_id), "hr_partner")
    page = served.client.get("/tasks").text
    card = page[page.index(f'data-task="{task.task_id}"'):]
    card = card[:card.index("</li>")]
    verdict = "approved" if decision == "approve" else "rejected"
    assert f"waited for review was {verdict} by E1003" in card and "not waiting for approval any more" in card
    decided = store.messages[mid]  # named, as a journey may have had several reviewed (both said "the message")
    assert html_module.escape(f"“{decided.subject}” (step {decided.step_id}) that waited", quote=False) in card
    assert f'href="/review/{mid}" class="waiting"' not in card  # (the return message still waits, and is linked)
    sign_in(served, "E1009", "manager")  # the manager's task: nothing about a review they may not see
    assert "waited for review" not in served.client.get("/tasks").text


def test_tasks_are_claimed_noted_and_completed_as_events(served: Served) -> None:
    csrf = sign_in(served, "E1006", "hr_partner")
    task = next(t for t in served.backend.store.tasks.values() if t.assignee_id == "E1006")
    for action, note in (("claim", None), ("complete", "called, will follow up")):
        form = {"csrf": csrf, "action": action} | ({"note": note} if note else {})
        assert served.client.post(f"/tasks/{task.task_id}", data=form).status_code == 303
    assert served.client.post(f"/tasks/{task.task_id}", data={"csrf": csrf, "action": "claim"}).status_code == 409
    lines = served.decisions()
    own = {"task_id": task.task_id, "actor_id": "E1006", "journey_id": task.journey_id, "step_id": task.step_id}
    assert [(e["type"], e["data"]) for e in lines] == [
        ("wayfinder.task.claimed", own), ("wayfinder.task.completed", own | {"note": "called, will follow up"})]
    page = served.client.get("/tasks").text
    assert "called, will follow up" in page
    assert all(e["subject"] == task.employee_id for e in lines)


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_after_a_decision_the_review_queue_keeps_its_filter(served: Served, decision: str) -> None:
    """Seen walking the pages on 2026-12-05: from a queue filtered by journey and by how long a message has waited,
    a decision brought the whole queue back. A review opened from the queue keeps its filter in its back link and
    its forms, and the queue comes back filtered; an age the filter does not offer is not kept."""
    sign_in(served, "E1003", "reviewer")
    mid = _pending_of(served, "E1052")
    journey = served.backend.store.messages[mid].journey_id
    queue = served.client.get(f"/review?journey={journey}&age=1d").text
    link = re.search(rf'<a href="(/review/{mid}[^"]*)">', queue)
    assert link is not None and html_module.unescape(link[1]) == f"/review/{mid}?journey={journey}&age=1d"
    page = served.client.get(html_module.unescape(link[1])).text
    assert f'<a href="/review?journey={journey}&amp;age=1d">← back to the queue</a>' in page
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))
    assert fields["journey"] == journey and fields["age"] == "1d"
    form = fields | {"action": decision} | ({"reason": "tone"} if decision == "reject" else {})
    posted = served.client.post(f"/review/{mid}/decide", data=form)
    assert posted.headers["location"] == f"/review?journey={journey}&age=1d&decided={decision}"
    after = served.client.get(posted.headers["location"]).text
    assert f'<option value="{journey}" selected>' in after and '<option value="1d" selected>' in after
    assert 'id="decided"' in after
    other = _pending_of(served, "E1038")
    posted = served.client.post(f"/review/{other}/decide", data=fields | {"action": "approve", "age": "7y"})
    assert posted.headers["location"] == f"/review?journey={journey}&decided=approve"


def test_who_may_claim_and_complete_a_task_and_whom_one_acts_for(served: Served) -> None:
    """Seen walking the pages on 2026-12-05: the HR partner of E1032 could claim the task assigned to E1032's manager,
    and nothing said so (the card read "claimed by E1006", the event named E1006 alone). Covering for a manager is
    allowed (a manager away, or one the HR data does not know); the card, before and after, and the event
    (``on_behalf_of``) now say for whom. Another HR partner, another manager and the employee cannot."""
    store = served.backend.store
    task = next(t for t in store.tasks.values() if (t.employee_id, t.assignee, t.assignee_id, t.status) == (
        "E1032", "manager", "E1009", "open"))

    def card(person: str, *roles: str) -> tuple[str, str]:
        csrf = sign_in(served, person, *roles)
        page = served.client.get("/tasks").text
        if f'data-task="{task.task_id}"' not in page:
            return csrf, ""
        found = page[page.index(f'data-task="{task.task_id}"'):]
        return csrf, found[:found.index("</li>")]

    for person, roles in (("E1004", ("hr_partner",)), ("E2002", ("manager",)), ("E1032", ("hr_partner", "manager"))):
        csrf, seen = card(person, *roles)  # another's HR partner, another manager, the employee: no card, no action
        assert seen == "", person
        for action in ("claim", "complete"):
            refused = served.client.post(f"/tasks/{task.task_id}", data={"csrf": csrf, "action": action})
            assert refused.status_code == 404, (person, action)
    assert served.decisions() == []

    csrf, seen = card("E1006", "hr_partner")  # the employee's HR partner: told before, recorded after
    assert "This task is for <data value=\"manager\">manager</data> E1009: what you do here is recorded" in seen
    form = {"csrf": csrf, "action": "claim", "note": "E1009 is away; I call"}
    assert served.client.post(f"/tasks/{task.task_id}", data=form).status_code == 303
    [claimed] = served.decisions()
    assert claimed["data"] | {"note": None} == {"task_id": task.task_id, "actor_id": "E1006", "on_behalf_of": "E1009",
                                                "journey_id": task.journey_id, "step_id": task.step_id, "note": None}
    csrf, seen = card("E1009", "manager")  # the manager reads who took their task; completing their own is not "for"
    assert 'claimed by E1006, for <data value="manager">manager</data> E1009</div>' in seen
    assert re.search(r"<footer>E1006, for <data value=\"manager\">manager</data> E1009, <time", seen)
    assert "covering" not in seen
    assert served.client.post(f"/tasks/{task.task_id}", data={"csrf": csrf, "action": "complete"}).status_code == 303
    completed = served.decisions()[-1]
    assert (completed["type"], completed["data"]["actor_id"]) == ("wayfinder.task.completed", "E1009")
    assert "on_behalf_of" not in completed["data"]
    _, seen = card("E1006", "hr_partner")
    assert re.search(r'completed by E1009, <time', seen)

    other = next(v.task for v in store.task_views() if v.state == "open" and v.task.assignee == "hr_partner"
                 and v.task.assignee_id not in (None, "E1003") and v.task.employee_id != "E1003")
    csrf = sign_in(served, "E1003", "reviewer")  # a reviewer works any task, for its assignee
    assert served.client.post(f"/tasks/{other.task_id}", data={"csrf": csrf, "action": "complete"}).status_code == 303
    assert served.decisions()[-1]["data"]["on_behalf_of"] == other.assignee_id


def test_after_a_claim_or_a_completion_the_inbox_says_what_was_done(served: Served) -> None:
    """An audit on 2026-12-04: after Claim or Complete the inbox came back as it was, with no word that anything
    happened (only the badge of one card among many changed). It now says what was done, to which task; a query
    naming a task the reader may not see, or no action, says nothing."""
    csrf = sign_in(served, "E1006", "hr_partner")
    task = next(t for t in served.backend.store.tasks.values() if t.assignee_id == "E1006")
    for action, said in (("claim", f"You claimed the task “{task.title}”."),
                         ("complete", f"Marked done: “{task.title}”.")):
        posted = served.client.post(f"/tasks/{task.task_id}", data={"csrf": csrf, "action": action})
        assert posted.status_code == 303
        page = served.client.get(posted.headers["location"]).text
        found = re.search(r'<p class="done" id="done" role="status">([^<]*)</p>', page)
        assert found is not None and html_module.unescape(found[1]) == said, page
    assert 'id="done"' not in served.client.get("/tasks").text
    assert 'id="done"' not in served.client.get("/tasks?done=claimed&task=t-nobody").text


def test_after_a_claim_or_a_completion_the_inbox_keeps_its_state_filter(served: Served) -> None:
    """Seen walking the task inbox on 2026-12-05: filtered to "open", a Claim or a Complete brought the whole list
    back ("all" chosen). The card's form carries the filter and the inbox comes back with it; a state that is none
    of the filter's is not carried."""
    sign_in(served, "E1006", "hr_partner")
    task = next(t for t in served.backend.store.tasks.values() if t.assignee_id == "E1006")
    for action in ("claim", "complete"):
        page = served.client.get("/tasks?state=open" if action == "claim" else "/tasks?state=claimed").text
        card = page[page.index(f'data-task="{task.task_id}"'):]
        fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', card[:card.index("</form>")]))
        posted = served.client.post(f"/tasks/{task.task_id}", data=fields | {"action": action})
        assert posted.status_code == 303
        location = posted.headers["location"]
        assert location.startswith("/tasks?state=open&" if action == "claim" else "/tasks?state=claimed&"), location
        after = served.client.get(location).text
        assert re.search(r'<option value="(open|claimed)" selected>', after), after
        assert 'id="done"' in after
    other = next(v.task for v in served.backend.store.task_views() if v.task.assignee_id == "E1006"
                 and v.state == "open")
    csrf = _csrf(served.client.get("/tasks").text)
    posted = served.client.post(f"/tasks/{other.task_id}", data={"csrf": csrf, "action": "claim", "state": "x&y"})
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"].startswith("/tasks?done=claimed&"), posted.headers["location"]


def test_staff_pages_say_event_types_and_times_in_words(served: Served) -> None:
    """An audit on 2026-12-04: the staff pages showed the data's values: "Trigger: hris.leave.started, event of
    2026-02-09T07:47:00Z", "waiting since 2026-01-27T03:31:00Z", a task's "2026-…Z" and a note's. They now say the
    event in words (``explain.EVENT_LABELS``) and times as "9 Feb 2026, 07:47 UTC"; the RFC 3339 instant stays in a
    ``<time datetime>`` for machines."""
    csrf = sign_in(served, "E1003", "reviewer", "operator")
    task = next(t for t in served.backend.store.tasks.values() if t.employee_id != "E1003")
    served.client.post(f"/tasks/{task.task_id}", data={"csrf": csrf, "action": "claim", "note": "on it"})
    served.client.post("/overview/switch", data={"csrf": csrf, "action": "pause", "journey": "all"})
    mid = _pending_of(served, "E1052")
    stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
    for path in ("/review", f"/review/{mid}", "/tasks", "/overview"):
        page = served.client.get(path).text
        shown = html_module.unescape(re.sub(r"<[^>]+>", " ", page))
        assert not stamp.search(shown), (path, stamp.search(shown))
        assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[^"]+">\d{1,2} [A-Z][a-z]{2} 20\d\d, \d\d:\d\d UTC</time>',
                         page), path
        assert "hris." not in shown, path
    detail = served.client.get(f"/review/{mid}").text
    assert re.search(r'<dd id="trigger"><span title="hris.leave.ended">The end of a leave</span>, recorded ', detail)


def test_staff_pages_say_statuses_roles_and_reasons_in_words(served: Served) -> None:
    """An audit on 2026-12-05: the staff pages showed the records' values: "Status: pending_approval (sensitive)",
    "for hr_partner E1006", "for review_escalation E1002", "Decided: reject by E1003", and (since another audit)
    a cancelled task's reason in words but without its code. They now say each in words (``web.words``) and keep
    the value in a ``<data value>`` for machines; a reviewer's own reason for a rejection is shown as written."""
    csrf = sign_in(served, "E1003", "reviewer", "operator")
    codes = re.compile(r"\b(pending_approval|hr_partner|review_escalation|rejected_by_reviewer)\b")

    def shown(path: str) -> str:
        page = served.client.get(path)
        assert page.status_code == 200, path
        text = html_module.unescape(re.sub(r"<[^>]+>", " ", page.text))
        assert not codes.search(text), (path, codes.search(text))
        return page.text

    mid = _pending_of(served, "E1052")
    assert '· <data value="email">Email</data> · to <data value="employee">employee</data> ·' in shown("/review")
    assert ('<dd id="status"><data value="pending_approval">waiting for review</data> (<data value="sensitive">'
            'sensitive: a person decides before it goes</data>)</dd>') in shown(f"/review/{mid}")
    tasks = shown("/tasks")
    assert '· for <data value="hr_partner">HR partner</data> E1006 ·' in tasks
    assert '· for <data value="review_escalation">escalation reviewer</data> E1002 ·' in tasks
    assert '· for <data value="manager">manager</data> ' in tasks

    served.client.post(f"/review/{mid}/decide", data={"csrf": csrf, "action": "reject", "reason": "too early"})
    detail = shown(f"/review/{mid}")
    assert '<dd id="status"><data value="rejected">rejected</data> (too early)</dd>' in detail
    assert 'Decided: <data value="reject">rejected</data> by E1003 (too early).' in detail
    cancelled = shown("/tasks?state=cancelled")  # the escalation of the decided review
    assert 'cancelled: <data value="decided">the message it was about has been decided</data>' in cancelled


def test_the_stop_switch_is_audited_and_shown(served: Served) -> None:
    csrf = sign_in(served, "E1003", "operator")
    assert served.client.post("/overview/switch", data={"csrf": csrf, "action": "pause", "journey": "all",
                                                        "reason": "wrong template"}).status_code == 303
    page = served.client.get("/overview").text
    assert "All sending is paused" in page
    assert ControlFile(served.out / "control.jsonl").refresh().paused("any-journey")  # what deliver reads
    assert served.registry.get_sample_value("wayfinder_sending_paused", {"journey": "all"}) == 1.0
    served.client.post("/overview/switch", data={"csrf": csrf, "action": "resume", "journey": "all"})
    assert [(e["type"], e["subject"]) for e in served.decisions()] == [
        ("wayfinder.sending.paused", "all"), ("wayfinder.sending.resumed", "all")]
    assert served.decisions()[0]["data"] == {"journey_id": None, "actor_id": "E1003", "reason": "wrong template"}
    assert served.registry.get_sample_value("wayfinder_sending_paused", {"journey": "all"}) == 0.0
    assert not ControlFile(served.out / "control.jsonl").refresh().paused("any-journey")
    sign_in(served, "E1006", "hr_partner")
    assert served.client.post("/overview/switch", data={"csrf": csrf, "action": "pause"}).status_code == 403


def test_each_journeys_switch_button_names_its_journey(served: Served) -> None:
    """Walking the pages on 2026-12-05: a screen reader's list of the overview's buttons said "Pause" once per
    journey, nothing telling them apart (each row's button, its drop box once paused, names the journey)."""
    csrf = sign_in(served, "E1003", "operator")
    served.client.post("/overview/switch", data={"csrf": csrf, "action": "pause", "journey": "bereavement"})
    page = served.client.get("/overview").text
    names = [html_module.unescape(re.sub(r"<[^>]+>", "", b))
             for b in re.findall(r'<button type="submit" name="action" value="(?:pause|resume)">(.*?)</button>', page)]
    journeys = sorted(served.backend.world.defs.current())
    assert sorted(names) == sorted([f"Pause sending of {j}" for j in journeys if j != "bereavement"]
                                   + ["Resume sending of bereavement"])
    assert re.search(r"drop held<span class=\"visually-hidden\"> sending of bereavement</span></label>", page)


@pytest.mark.parametrize("drop", [True, False])
def test_resuming_from_the_overview_may_drop_what_the_pause_held(served: Served, drop: bool) -> None:
    """Issue 8: resuming sends what was held, in order, or lets an operator drop it, from the page as from
    `wayfinder sending resume --drop-held`; dropping goes with resume only."""
    csrf = sign_in(served, "E1003", "operator")
    served.client.post("/overview/switch", data={"csrf": csrf, "action": "pause", "journey": "all"})
    assert 'name="drop_held"' in served.client.get("/overview").text
    form = {"csrf": csrf, "action": "resume", "journey": "all"} | ({"drop_held": "on"} if drop else {})
    assert served.client.post("/overview/switch", data=form).status_code == 303
    lines = [json.loads(x) for x in (served.out / "control.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["action"], r["drop_held"]) for r in lines] == [("pause", False), ("resume", drop)]
    refused = served.client.post("/overview/switch", data={"csrf": csrf, "action": "pause", "journey": "all",
                                                           "drop_held": "on"})
    assert refused.status_code == 400


def test_the_overview_and_the_gauge_follow_the_switch_that_wayfinder_sending_sets(
        served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    """One source of truth: the control log deliver reads, whoever wrote to it."""
    sign_in(served, "E1003", "operator")
    control = ["--control", str(served.out / "control.jsonl"), "--operator", "OP9"]
    assert main(["sending", "pause", "--journey", "bereavement", "--reason", "tone", *control]) == 0
    row = re.search(r'data-journey="bereavement">(.*?)</tr>', served.client.get("/overview").text, re.S)
    assert row and "<td>paused" in row[1]
    assert served.registry.get_sample_value("wayfinder_sending_paused", {"journey": "bereavement"}) == 1.0
    assert main(["sending", "pause", *control]) == 0
    assert "All sending is paused</strong> (by OP9" in served.client.get("/overview").text
    assert main(["sending", "resume", *control]) == 0
    assert main(["sending", "resume", "--journey", "bereavement", *control]) == 0
    assert "Sending is on." in served.client.get("/overview").text
    assert served.registry.get_sample_value("wayfinder_sending_paused", {"journey": "bereavement"}) == 0.0
    assert served.registry.get_sample_value("wayfinder_sending_paused", {"journey": "all"}) == 0.0
    capsys.readouterr()


def test_the_overview_counts_per_journey(served: Served) -> None:
    sign_in(served, "E1003", "reviewer")
    page = served.client.get("/overview").text
    waiting = sum(1 for m in served.backend.store.pending() if m.journey_id == "bereavement")
    row = re.search(r'data-journey="bereavement">(.*?)</tr>', page, re.S)
    assert row
    cells = re.findall(r"<td>(\d+)</td>", row[1])
    assert int(cells[3]) == waiting > 0


# -- headers, cookies, metrics, CLI --------------------------------------------------------------
def test_pages_carry_a_csp_and_the_session_cookie_is_locked_down(served: Served) -> None:
    page = served.client.get("/login")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"  # the same for browsers without CSP (was SAMEORIGIN)
    cookie = page.headers["set-cookie"].lower()
    assert all(flag in cookie for flag in ("httponly", "secure", "samesite=lax"))
    sign_in(served, "E1003", "reviewer")
    html = served.client.get(f"/review/{_pending_of(served, 'E1052')}/html")
    assert html.headers["content-security-policy"].startswith("sandbox;")
    assert html.headers["x-frame-options"] == "SAMEORIGIN"  # shown in the review page's frame
    detail = served.client.get(f"/review/{_pending_of(served, 'E1052')}").text
    assert 'sandbox=""' in detail


def test_metrics_count_pending_reviews_and_decisions(served: Served) -> None:
    pending = len(served.backend.store.pending())
    assert served.registry.get_sample_value("wayfinder_reviews_pending") == pending
    assert (served.registry.get_sample_value("wayfinder_review_oldest_pending_age_seconds") or 0) > 0
    csrf = sign_in(served, "E1003", "reviewer")
    served.client.post(f"/review/{_pending_of(served, 'E1052')}/decide",
                       data={"csrf": csrf, "action": "reject", "reason": "not now"})
    assert served.registry.get_sample_value("wayfinder_reviews_pending") == pending - 1
    assert served.registry.get_sample_value("wayfinder_review_decisions_total", {"outcome": "reject"}) == 1.0
    assert served.registry.get_sample_value("wayfinder_review_time_to_decision_seconds_count") == 1.0
    text = served.client.get("/metrics").text
    assert "wayfinder_reviews_pending" in text
    assert "E1052" not in text


def test_the_switch_gauge_and_the_decision_counters_have_samples_from_the_start(served: Served) -> None:
    sample = served.registry.get_sample_value
    assert sample("wayfinder_sending_paused", {"journey": "all"}) == 0.0
    for outcome in ("approve", "approve_edited", "reject"):
        assert sample("wayfinder_review_decisions_total", {"outcome": outcome}) == 0.0
    assert 'wayfinder_sending_paused{journey="all"} 0.0' in served.client.get("/metrics").text


def test_the_development_sign_in_refuses_any_address_but_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--dev-login", "--host", "0.0.0.0"]) == 2  # noqa: S104 - the point of the test
    assert "only binds to 127.0.0.1" in capsys.readouterr().err


def test_serve_with_no_sign_in_set_up_says_so_as_it_starts(capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An audit on 2026-12-04 started it with its secrets and no identity provider: it printed its address only,
    and every staff page then said there was no way to sign in."""
    import uvicorn

    ran: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: ran.append(app))
    for name in ("WAYFINDER_TOKEN_SECRET", "WAYFINDER_SESSION_SECRET"):
        monkeypatch.setenv(name, "a-test-secret-of-32-characters!!")
    monkeypatch.delenv("WAYFINDER_OIDC_ISSUER", raising=False)
    assert main(["serve", "--out", str(tmp_path / "run")]) == 0
    assert ran and "no sign-in is set up: staff pages" in capsys.readouterr().err
    monkeypatch.setenv("WAYFINDER_OIDC_ISSUER", "https://id.example.com")
    monkeypatch.setenv("WAYFINDER_OIDC_CLIENT_ID", "wayfinder")
    monkeypatch.setenv("WAYFINDER_OIDC_CLIENT_SECRET", "a-client-secret")
    assert main(["serve", "--out", str(tmp_path / "run")]) == 0
    assert "no sign-in" not in capsys.readouterr().err


def test_a_secret_too_short_is_said_in_characters_and_never_printed(capsys: pytest.CaptureFixture[str],
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    monkeypatch.setenv("WAYFINDER_TOKEN_SECRET", "short-secret")
    monkeypatch.setenv("WAYFINDER_SESSION_SECRET", "a-test-secret-of-32-characters!!")
    assert main(["serve", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err == "configuration error: WAYFINDER_TOKEN_SECRET: at least 16 characters\n"  # was "16 items"


def test_role_groups_that_are_not_json_are_named_in_one_line_without_a_traceback(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """WAYFINDER_ROLE_GROUPS (deploy/k8s/configmap.yaml) with a quote missing stopped serve with pydantic-settings'
    SettingsError traceback (exit 1); a refused value said "Value error, ..." before what was wrong."""
    monkeypatch.setenv("WAYFINDER_TOKEN_SECRET", "a-test-secret-of-32-characters!!")
    monkeypatch.setenv("WAYFINDER_SESSION_SECRET", "a-test-secret-of-32-characters!!")
    monkeypatch.setenv("WAYFINDER_ROLE_GROUPS", '{"reviewer": [hr-ops]}')
    assert main(["serve", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err == "configuration error: WAYFINDER_ROLE_GROUPS: not valid JSON (Expecting value at line 1 column 15)\n"
    assert "hr-ops" not in err

def test_a_port_in_use_is_said_before_any_line_that_says_it_serves(capsys: pytest.CaptureFixture[str],
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    """An audit on 2026-12-04: "wayfinder serve: http://127.0.0.1:18093/ ..." and then uvicorn's "address already
    in use"."""
    import socket

    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *_, **__: pytest.fail("started on a port in use"))
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["serve", "--dev-login", "--port", str(port), "--out", str(tmp_path / "run")]) == 3
    err = capsys.readouterr().err
    assert f"wayfinder serve: cannot listen on 127.0.0.1:{port}: " in err and "http://" not in err
    assert err.rstrip().endswith("; give another --port (or --host)"), "say what to do about it"


def test_after_opting_out_of_its_topics_the_next_message_is_suppressed(served: Served, small_events: Path,
                                                                      tmp_path: Path) -> None:
    token = _link(served, "E1052")
    page = served.client.get(f"/preferences?t={token}")
    topics = ("parental-leave", "childcare", "parent-network")
    form = {"csrf": _csrf(page.text), "channel_email": "on", "channel_intranet": "on"} | {
        f"topic_{t}": "on" for t in topics}
    served.client.post(f"/preferences?t={token}", data=form)
    changed = decode_event(json.dumps(served.decisions()[-1]))
    birth = {"specversion": "1.0", "id": "test-birth-1", "source": "hris/test", "type": "hris.dependent.added",
             "time": (changed.time + timedelta(hours=2)).isoformat(), "subject": "E1052",
             "data": {"relationship": "child", "reason": "birth", "date": changed.time.date().isoformat()}}
    with small_events.open("a", encoding="utf-8") as f:  # the module's file: restored below
        f.write(json.dumps(birth) + "\n")
    try:
        served.backend.reload()
        welcome = [m for m in served.backend.store.messages.values()
                   if m.employee_id == "E1052" and m.journey_id == "new-parent" and m.step_id == "welcome"]
        assert [(m.status, m.reason) for m in welcome] == [("suppressed", "opted_out_topic")]
    finally:
        lines = small_events.read_text(encoding="utf-8").splitlines()
        small_events.write_text("\n".join(line for line in lines if "test-birth-1" not in line) + "\n",
                                encoding="utf-8")


def test_serve_runs_the_clock_as_far_as_simulate_does(tmp_path: Path, defs: Definitions) -> None:
    """Without --until both go to the last event's time, counting an event whose data was not valid (README): one
    rule, so the pages show what simulate wrote."""
    events = tmp_path / "events.jsonl"
    hired = {"specversion": "1.0", "source": "hris", "subject": "E9", "type": "hris.employee.hired"}
    events.write_text("\n".join(json.dumps(e) for e in [
        {**hired, "id": "u", "type": "hris.employee.upserted", "time": "2026-03-02T09:00:00Z",
         "data": {"given_name": "Noor", "email": "noor@example.com", "country": "DE", "timezone": "Europe/Berlin",
                  "employment_type": "employee", "manager_id": "E1003"}},
        {**hired, "id": "h", "time": "2026-03-02T09:00:00Z", "data": {"start_date": "2026-03-16"}},
        {**hired, "id": "bad", "time": "2026-04-20T09:00:00Z", "data": {"start_date": "not a date"}},
    ]) + "\n", encoding="utf-8")
    assert main(["simulate", "--events", str(events), "--out", str(tmp_path / "sim")]) == 0
    backend = EmbeddedBackend(tmp_path / "web", World(defs=defs, events=events), write=write_results,
                              now=lambda: at("2026-11-29T10:00:00Z"))
    backend.reload()
    simulated = {m["message_id"]: m["status"] for m in read_jsonl(tmp_path / "sim" / "messages.jsonl")}
    served = {m["message_id"]: m["status"] for m in read_jsonl(tmp_path / "web" / "messages.jsonl")}
    assert served == simulated and len(simulated) >= 4  # the roadmap and the check-in of the weeks after the hire


def test_serve_runs_a_folder_again_from_the_inputs_it_was_made_from(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """``serve --out`` of a simulate folder, the flags left out, rewrote it at start from the bundled definitions: a
    holdout's records became ``sent`` (a later ``deliver`` would have reached the control group). Found by an audit
    of the README. The folder's run.json now says what it was made from."""
    from wayfinder.cli import build_parser
    from wayfinder.cli.serve import build, settings_for

    copy = tmp_path / "defs"
    assert main(["examples", "--copy", str(copy)]) == 0
    onboarding = copy / "journeys" / "onboarding.yaml"
    onboarding.write_text(onboarding.read_text(encoding="utf-8").replace("\nsteps:", "\nholdout: 20%\nsteps:", 1),
                          encoding="utf-8")
    out = tmp_path / "out"
    flags = ["--journeys", str(copy / "journeys"), "--catalog", str(copy / "catalog"), "--templates",
             str(copy / "templates"), "--policy", str(copy / "policy.yaml")]
    assert main(["simulate", "--events", str(copy / "events.jsonl"), "--out", str(out), *flags]) == 0

    def statuses() -> dict[str, tuple[str, str | None]]:
        return {m["message_id"]: (m["status"], m["reason"]) for m in read_jsonl(out / "messages.jsonl")}

    made = statuses()
    assert [reason for _, reason in made.values()].count("holdout") > 5
    assert build(build_parser().parse_args(["serve", "--out", str(out), "--dev-login"]), settings_for(True))
    assert statuses() == made
    capsys.readouterr()
    other = build_parser().parse_args(["serve", "--out", str(out), "--dev-login", "--catalog",
                                       str(examples_dir() / "catalog")])
    assert build(other, settings_for(True)) is None
    assert "holds the results of a run from other inputs (--catalog; see " in capsys.readouterr().err
    assert statuses() == made


def test_the_preferences_page_saves_for_a_profile_whose_locale_an_hr_system_wrote_with_an_underscore(
        served: Served) -> None:
    # The engine takes en_GB from an upsert; the page refused it ("Language must look like ..."), so such a person
    # could save no preference at all (an audit of the web service).
    token = _link(served, "E1052")
    page = served.client.get(f"/preferences?t={token}")
    saved = served.client.post(f"/preferences?t={token}", data={"csrf": _csrf(page.text), "channel_email": "on",
                                                                "channel_intranet": "on", "locale": "en_GB"})
    assert 'id="saved"' in saved.text
    [line] = served.decisions()
    assert decode_event(json.dumps(line)).data["locale"] == "en_GB"


def test_nobody_works_a_task_about_themselves_nor_a_review_escalated_past_them() -> None:
    from wayfinder.journeys.profile import Profile
    from wayfinder.journeys.records import Task
    from wayfinder.web.access import Staff, may_see_task

    def task(employee: str, assignee: str, assignee_id: str) -> Task:
        return Task.model_validate({"task_id": "t-1", "employee_id": employee, "assignee": assignee,
                                    "assignee_id": assignee_id, "journey_id": "j", "journey_version": 1,
                                    "step_id": "s", "title": "Check in", "note": "",
                                    "created_at": "2026-05-01T09:00:00Z"})

    reviewer, partner = Staff("R1", frozenset({"reviewer"})), Staff("HP1", frozenset({"hr_partner"}))
    lead = Staff("LEAD1", frozenset({"hr_partner"}))
    theirs = Profile(id="E1", fields={"hr_partner_id": "HP1"})
    own = Profile(id="R1", fields={"hr_partner_id": "HP1"})
    assert not may_see_task(reviewer, task("R1", "hr_partner", "HP1"), own)  # their own wellbeing check-in
    assert may_see_task(partner, task("R1", "hr_partner", "HP1"), own)
    escalated = task("E1", "review_escalation", "LEAD1")
    assert may_see_task(lead, escalated, theirs) and may_see_task(reviewer, escalated, theirs)
    assert not may_see_task(partner, escalated, theirs)  # the partner whose window it missed
    assert may_see_task(partner, task("E1", "hr_partner", "HP1"), theirs)


def _line(eid: str, kind: str, time: str, subject: str, **data: object) -> str:
    """One event of a folder's events file."""
    return json.dumps({"specversion": "1.0", "id": eid, "source": "hris/test", "type": kind, "time": time,
                       "subject": subject, "data": data})


_BERLIN_SALES = {"country": "DE", "timezone": "Europe/Berlin", "locale": "en-GB", "employment_type": "employee",
                 "work_mode": "hybrid", "department": "Sales"}


def test_an_approval_on_a_friday_evening_goes_on_monday_in_the_folder_workflow(tmp_path: Path,
                                                                                defs: Definitions) -> None:
    # The re-run went one day past the decision: an approval that weekend quiet hours deferred to Monday stayed
    # deferred for good, so deliver skipped it (an audit of the web service). The run now goes on to its time.
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join([
        _line("u1", "hris.employee.upserted", "2026-11-01T08:00:00Z", "HP1", id="HP1", given_name="Hanna",
             email="hanna@example.com", **_BERLIN_SALES),
        _line("u2", "hris.employee.upserted", "2026-11-01T08:00:00Z", "E1", id="E1", given_name="Emil",
             email="emil@example.com", hr_partner_id="HP1", **_BERLIN_SALES),
        _line("l1", "hris.leave.started", "2026-12-11T18:00:00Z", "E1", leave_type="bereavement",  # a Friday
             start_date="2026-12-11", expected_return_date="2026-12-30"),
        _line("u3", "hris.employee.upserted", "2026-12-11T20:30:00Z", "HP1", job_level="IC3")]) + "\n")
    out = tmp_path / "out"
    assert main(["simulate", "--events", str(events), "--out", str(out)]) == 0
    backend = EmbeddedBackend(out, World(defs=defs, events=events), write=write_results,
                              now=Clock(at("2026-12-01T10:00")))
    held = next(m for m in backend.store.pending() if m.employee_id == "E1")
    assert backend.record(ev.review_decided(employee_id="E1", message_id=held.message_id, decision="approve",
                                            reviewer_id="HP1", at=backend.now(not_before=held.created_at)))
    approved = backend.store.messages[held.message_id]
    assert (approved.status, approved.reviewer_id) == ("approved", "HP1")
    assert approved.scheduled_for.weekday() == 0  # Monday, at the end of the quiet hours


def test_a_persons_erasure_takes_what_people_wrote_about_them_out_of_the_decisions_kept(tmp_path: Path,
                                                                                         defs: Definitions) -> None:
    """SPEC §9 (an audit, 2026-12-06): ``decisions.jsonl`` is serve's store of what people decided, and it kept a
    reviewer's edited text and reason and an HR partner's task note about a person after their erasure (read again
    at every decision, forever). A decision made up to the erasure keeps its ids, time, decision and actor; the
    engine decides it as before (the records of that person hold no content or reviewer's words anyway)."""
    lines = [_line("u1", "hris.employee.upserted", "2026-11-01T08:00:00Z", "HP1", id="HP1", given_name="Hanna",
                   email="hanna@example.com", **_BERLIN_SALES),
             _line("u2", "hris.employee.upserted", "2026-11-01T08:00:00Z", "E1", id="E1", given_name="Emil",
                   email="emil@example.com", hr_partner_id="HP1", manager_id="HP1", **_BERLIN_SALES),
             _line("u3", "hris.employee.upserted", "2026-11-01T08:00:00Z", "E2", id="E2", given_name="Ella",
                   email="ella@example.com", hr_partner_id="HP1", manager_id="HP1", **_BERLIN_SALES),
             *(_line(f"l{n}", "hris.leave.started", "2026-11-30T10:00:00Z", who, leave_type="bereavement",
                     start_date="2026-11-30", expected_return_date="2026-12-30") for n, who in ((1, "E1"), (2, "E2")))]
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    assert main(["simulate", "--events", str(events), "--out", str(out)]) == 0
    backend = EmbeddedBackend(out, World(defs=defs, events=events), write=write_results,
                              now=Clock(at("2026-12-01T10:00")))
    for who in ("E1", "E2"):
        held = next(m for m in backend.store.pending() if m.employee_id == who)
        assert backend.record(ev.review_decided(employee_id=who, message_id=held.message_id, decision="reject",
                                                reviewer_id="E9", at=backend.now(not_before=held.created_at),
                                                reason=f"{who} buried her husband on Tuesday"))
        task = next(t for t in backend.store.tasks.values() if t.employee_id == who and t.status == "open")
        assert backend.record(ev.task_event("completed", employee_id=who, task_id=task.task_id, actor_id="HP1",
                                            at=backend.now(), note=f"Called {who}: the funeral is on Tuesday"))
    decisions = out / "decisions.jsonl"
    before = decisions.read_text("utf-8").splitlines()
    assert sum("Tuesday" in line for line in before) == 4

    events.write_text("\n".join([*lines, _line("x1", "privacy.erasure.requested", "2026-12-05T09:00:00Z", "E1")])
                      + "\n")
    backend.reload()
    after = decisions.read_text("utf-8").splitlines()
    assert [line for line in after if "E1 " in line or "Called E1" in line] == []
    assert [line for line in after if "Tuesday" in line] == [line for line in before if '"E2"' in line]
    kept = [json.loads(line) for line in after if '"subject": "E1"' in line]
    assert sorted((d["type"], sorted(d["data"])) for d in kept) == [
        ("wayfinder.review.decided", ["decision", "message_id", "reviewer_id"]),
        ("wayfinder.task.completed", ["actor_id", "journey_id", "step_id", "task_id"])]
    assert not [d for d in backend.store.decisions if d.subject == "E1" and {"reason", "note"} & set(d.data)]
    e1 = [json.loads(line) for line in (out / "messages.jsonl").read_text("utf-8").splitlines()
          if json.loads(line)["employee_id"] == "E1"]
    assert ("rejected", "rejected_by_reviewer") in {(m["status"], m["reason"]) for m in e1}
    backend.reload()  # read again as rewritten: the same outcome, the same file
    assert decisions.read_text("utf-8").splitlines() == after


def test_an_approval_for_someone_paused_for_years_does_not_move_the_folders_world_to_then(
        tmp_path: Path, defs: Definitions) -> None:
    # Found by an audit of issue 8: the re-run went on to the approved message's time, 2030 for a person paused until
    # then, so every other person's messages of the years between became `sent` and deliver sent them that day.
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join([
        _line("u1", "hris.employee.upserted", "2026-11-01T08:00:00Z", "HP1", id="HP1", given_name="Hanna",
             email="hanna@example.com", **_BERLIN_SALES),
        _line("u2", "hris.employee.upserted", "2026-11-01T08:00:00Z", "E1", id="E1", given_name="Emil",
             email="emil@example.com", hr_partner_id="HP1", preferences={"paused_until": "2030-01-01T00:00:00Z"},
             **_BERLIN_SALES),
        _line("u4", "hris.employee.upserted", "2026-11-01T08:00:00Z", "E2", id="E2", given_name="Ella",
             email="ella@example.com", hr_partner_id="HP1", manager_id="HP1", **_BERLIN_SALES),
        _line("l1", "hris.leave.started", "2026-12-09T10:00:00Z", "E1", leave_type="bereavement",
             start_date="2026-12-09", expected_return_date="2026-12-30"),
        # E2 hired to start next summer: the bundled onboarding's first-day messages wait until then
        _line("h2", "hris.employee.hired", "2026-12-09T10:00:00Z", "E2", start_date="2027-06-01", role="Engineer",
             department="Sales")]) + "\n")
    out = tmp_path / "out"
    assert main(["simulate", "--events", str(events), "--out", str(out)]) == 0
    backend = EmbeddedBackend(out, World(defs=defs, events=events), write=write_results,
                              now=Clock(at("2026-12-01T10:00")))
    latest = max(m.scheduled_for for m in backend.store.messages.values())
    assert latest < at("2027-01-01T00:00")  # the world has not got to E2's first day
    held = next(m for m in backend.store.pending() if m.employee_id == "E1")
    assert backend.record(ev.review_decided(employee_id="E1", message_id=held.message_id, decision="approve",
                                            reviewer_id="HP1", at=backend.now(not_before=held.created_at)))
    approved = backend.store.messages[held.message_id]
    assert (approved.status, approved.reason, approved.reviewer_id) == ("deferred", "paused", "HP1")
    assert approved.scheduled_for >= at("2030-01-01T00:00")  # shown as going then; deliver does not send it
    went = sorted((m.employee_id, m.step_id) for m in backend.store.messages.values()
                  if m.scheduled_for > latest and m.message_id != held.message_id)
    assert went == []  # nothing of E2's first day in June 2027 (it was all `sent` by this approval)
    written = {json.loads(x)["message_id"]: json.loads(x)["status"]
               for x in (out / "messages.jsonl").read_text(encoding="utf-8").splitlines()}
    assert written[held.message_id] == "deferred"


def test_a_task_is_completed_no_earlier_than_it_was_made(served: Served) -> None:
    # An escalation task the re-run made after the end of the events was completed at that end, before it existed,
    # so the engine ignored the completion and the task stayed open (an audit of the web service).
    csrf = sign_in(served, "E1006", "hr_partner")
    task = next(t for t in served.backend.store.tasks.values() if t.assignee_id == "E1006")
    later = served.backend.now() + timedelta(days=3)
    served.backend.store.tasks[task.task_id] = task.model_copy(update={"created_at": later})
    assert served.client.post(f"/tasks/{task.task_id}", data={"csrf": csrf, "action": "complete"}).status_code == 303
    [line] = served.decisions()
    assert datetime.fromisoformat(line["time"]) >= later


def test_the_task_inbox_says_when_actions_are_stamped_on_the_runs_clock(served: Served) -> None:
    """Seen with ``serve --dev-login`` over the demo on 2026-12-05: a note written that day read "30 Mar 2027", the
    end of the demo's run, with nothing to say why. The rule stays (the engine must see an action after everything
    the run holds); the inbox now says where the run's clock stands when it is ahead of today, and marks an action's
    time stamped on it. On the wall clock neither shows."""
    run_end = served.backend.base_until
    assert run_end is not None
    served.clock.value = run_end - timedelta(days=20)  # today, before the end of the folder's run (a demo's)
    csrf = sign_in(served, "E1006", "hr_partner")
    views = [v for v in served.backend.store.task_views() if v.task.assignee_id == "E1006" and v.state == "open"]
    first, second = views[0].task, views[1].task
    form = {"csrf": csrf, "action": "claim", "note": "called"}
    assert served.client.post(f"/tasks/{first.task_id}", data=form).status_code == 303
    assert datetime.fromisoformat(served.decisions()[-1]["time"]) == run_end
    page = served.client.get("/tasks").text
    said = re.search(r'<p class="meta" id="run-clock">([^<]*)<time datetime="([^"]+)">', page)
    assert said is not None and "simulated run whose clock stands at" in said[1], page
    assert datetime.fromisoformat(said[2]) == run_end
    stamped = f'<time datetime="{served.decisions()[-1]["time"]}">'
    mark = '</time> <span class="run-clock">(run\'s clock)</span></footer>'
    assert re.search(rf"<footer>E1006, {re.escape(stamped)}[^<]*{re.escape(mark)}", page)

    served.clock.value = run_end + timedelta(days=3)  # today is after the run's end: stamped by the wall clock
    form = {"csrf": csrf, "action": "claim", "note": "later"}
    assert served.client.post(f"/tasks/{second.task_id}", data=form).status_code == 303
    assert datetime.fromisoformat(served.decisions()[-1]["time"]) == served.clock.value
    page = served.client.get("/tasks").text
    assert 'id="run-clock"' not in page and "run's clock" not in page
    assert "<blockquote>later<footer>E1006, <time" in page


def test_an_escalation_to_a_group_is_seen_and_worked_by_its_members(served: Served,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # SPEC §11: the escalation contact is "a person id or group"; serve compared the task's assignee with the
    # person id alone, so no member of the group could see it (an audit of the web service).
    defs = served.backend.world.defs
    monkeypatch.setattr(defs, "policy", defs.policy.model_copy(update={"review_escalation": "hr-escalations"}))
    some = next(iter(served.backend.store.tasks.values()))
    task = some.model_copy(update={"task_id": "t-group", "assignee": "review_escalation",
                                   "assignee_id": "hr-escalations", "employee_id": "E1052"})
    served.backend.store.tasks[task.task_id] = task

    def signed_in(person: str, groups: str) -> str:
        served.client.cookies.clear()
        page = served.client.get("/login")
        form = {"csrf": _csrf(page.text), "person_id": person, "role_hr_partner": "on", "groups": groups}
        assert served.client.post("/login", data=form).status_code == 303
        return served.client.get("/tasks").text

    assert 'data-task="t-group"' in signed_in("E2001", "staff, hr-escalations")
    csrf = _csrf(served.client.get("/tasks").text)
    assert served.client.post("/tasks/t-group", data={"csrf": csrf, "action": "claim"}).status_code == 303
    assert 'data-task="t-group"' not in signed_in("E2002", "staff, other-group")


def names_in_cards(page: str) -> list[str]:
    """What a screen reader names each link, button and form field of the cards by: its ``aria-label``, else its
    text (hidden text too) or its label's."""
    from html.parser import HTMLParser

    class Names(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.names: list[str] = []
            self.open: list[tuple[str, list[str]]] = []
            self.in_cards = False

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if tag == "ul" and a.get("class") == "cards":
                self.in_cards = True
            if self.in_cards and tag in ("a", "button", "label"):
                self.open.append((tag, [str(a["aria-label"])] if a.get("aria-label") else []))

        def handle_data(self, data: str) -> None:
            for _, text in self.open:
                text.append(data)

        def handle_endtag(self, tag: str) -> None:
            if self.open and self.open[-1][0] == tag:
                _, text = self.open.pop()
                self.names.append(f"{tag}: " + " ".join("".join(text).split()))
            if tag == "ul" and not self.open:
                self.in_cards = False

    reader = Names()
    reader.feed(page)
    return reader.names


@pytest.mark.parametrize("path", ["/tasks", "/review"])
def test_each_cards_links_and_buttons_have_names_of_their_own(served: Served, path: str) -> None:
    """An audit on 2026-12-04 (accessibility): every task card said "Claim", "Complete", "Note (kept with the task)"
    and "Review the message", and two reviews of one template had the same link text, so a screen reader's list of
    links or buttons was a column of the same words. Each now names its task or message (hidden text, read out)."""
    sign_in(served, "E1003", "reviewer")
    names = names_in_cards(served.client.get(path).text)
    assert len(names) > 4
    repeated = {n for n in names if names.count(n) > 1}
    assert not repeated, sorted(repeated)


def unlabelled(page: str) -> list[str]:
    """The form fields a screen reader has no name for: no ``<label for>``, no ``aria-label``, not inside a
    ``<label>`` (hidden fields and buttons need none)."""
    from html.parser import HTMLParser

    class Fields(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.fields: list[dict[str, str | None]] = []
            self.label_for: set[str] = set()
            self.in_label = 0

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if tag == "label":
                self.in_label += 1
                if a.get("for"):
                    self.label_for.add(str(a["for"]))
            elif tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit", "button"):
                self.fields.append(a | {"wrapped": "yes" if self.in_label else None})

        def handle_endtag(self, tag: str) -> None:
            if tag == "label":
                self.in_label -= 1

    reader = Fields()
    reader.feed(page)
    return [str(f.get("name")) for f in reader.fields
            if not (f["wrapped"] or f.get("aria-label") or f.get("aria-labelledby") or f.get("id") in reader.label_for)]


def test_every_form_field_on_the_staff_pages_has_a_name_a_screen_reader_says(served: Served) -> None:
    """Found by an audit on 2026-12-04: the stop switch's reason had a placeholder alone."""
    sign_in(served, "E1006", "operator", "hr_partner")  # E1032's HR partner: their message's review pages too
    pages = {path: served.client.get(path) for path in STAFF_PAGES}
    assert all(r.status_code == 200 for r in pages.values()), {p: r.status_code for p, r in pages.items()}
    assert 'name="reason"' in pages["/overview"].text
    assert {path: unlabelled(r.text) for path, r in pages.items() if unlabelled(r.text)} == {}


def test_an_error_pages_title_says_what_its_heading_says(served: Served) -> None:
    """An audit on 2026-12-06: an error page's title was its status code ("403 · Wayfinder"), the first thing a
    screen reader says of a page and all a list of tabs shows."""
    refused = served.client.get("/preferences?t=forged")
    sign_in(served, "E1003", "reviewer")
    missing = served.client.get("/review/m-nothing-like-it")
    for response, words in ((refused, "Not allowed"), (missing, "Not found")):
        assert response.status_code in (403, 404)
        assert re.search(r"<title>(.*?)</title>", response.text)[1] == f"{words} · Wayfinder"  # type: ignore[index]
        assert f"<h1>{words}</h1>" in response.text


def test_the_overviews_counts_are_read_with_their_journey_and_their_column(served: Served) -> None:
    """An audit on 2026-12-06: the journey's cell was a plain cell, so a screen reader going down the "Sent" column
    said numbers and never whose they were. Each row's journey is its header, each column's name its header."""
    sign_in(served, "E1003", "operator")
    page = served.client.get("/overview").text
    rows = re.findall(r'<tr data-journey="([^"]+)">(.*?)</tr>', page, re.S)
    assert len(rows) == len(served.backend.world.defs.current()) > 1
    assert all(cells.startswith(f'<th scope="row">{j}</th>') for j, cells in rows)
    head = re.search(r"<thead>(.*?)</thead>", page, re.S)
    assert head and re.findall(r"<th[^>]*>", head[1]) == ['<th scope="col">'] * 9
    assert re.search(r"<caption[^>]*>\w", page)


def test_an_open_task_for_someone_the_hr_data_does_not_know_says_it_reaches_nobody(served: Served) -> None:
    """A task for a manager who was erased, or whose id no HR record filled, looked like any other on the HR
    partner's inbox, and nobody would ever act on it. Its card now says so; a known assignee's does not."""
    csrf = sign_in(served, "E1003", "reviewer")
    store = served.backend.store
    task = next(t for t in store.tasks.values() if t.assignee == "manager" and t.assignee_id is not None
                and t.status == "open" and t.employee_id != "E1003")
    assert task.assignee_id is not None and store.knows(task.assignee_id)
    page = served.client.get("/tasks").text
    assert "unknown-assignee" not in page
    store.profiles.pop(task.assignee_id)  # as after their erasure
    page = served.client.get("/tasks").text
    card = page[page.index(f'data-task="{task.task_id}"'):]
    card = card[:card.index("</li>")]
    assert f"The HR data has no record of {task.assignee_id}" in card
    assert page.count("unknown-assignee") == sum(1 for t in store.tasks.values() if t.assignee_id == task.assignee_id
                                                  and t.status == "open")
    served.client.post(f"/tasks/{task.task_id}", data={"csrf": csrf, "action": "claim"})
    page = served.client.get("/tasks").text
    card = page[page.index(f'data-task="{task.task_id}"'):]
    assert "unknown-assignee" not in card[:card.index("</li>")]  # someone here took it


def test_an_escalated_reviews_task_names_the_message_in_words(served: Served) -> None:
    """Walking the pages on 2026-12-05: the card showed the record's note, "Message m-03c9c9c824d3b4a4afc764d0
    (medical-return, step gentle-welcome) has had no decision for 5d": an id and the policy's notation where a
    person's words should be. It names the message by its subject and the window in days (the record keeps its
    note, which a consumer of the tasks topic reads the message's id from)."""
    store = served.backend.store
    message = store.messages[_pending_of(served, "E1052")]
    task = next(t for t in store.tasks.values() if t.assignee == "review_escalation" and t.employee_id == "E1052")
    assert message.message_id in (task.note or "")
    sign_in(served, "E1003", "reviewer")
    page = served.client.get("/tasks").text
    card = page[page.index(f'data-task="{task.task_id}"'):]
    card = html_module.unescape(card[:card.index("</li>")])
    assert (f"<p>The message “{message.subject}” (medical-return, step gentle-welcome) had no decision within 5 days. "
            "It will not be sent unless someone approves it.</p>") in card
    assert message.message_id not in card.replace(f'href="/review/{message.message_id}"', "")
    csrf = _csrf(page)
    served.client.post(f"/review/{message.message_id}/decide", data={"csrf": csrf, "action": "approve"})
    page = served.client.get("/tasks").text  # decided: the task is cancelled, and the card no longer says it waits
    card = page[page.index(f'data-task="{task.task_id}"'):]
    card = html_module.unescape(card[:card.index("</li>")])
    assert "had no decision within 5 days.</p>" in card
    assert '<data value="decided">the message it was about has been decided</data>' in card


def test_an_open_task_about_someone_who_has_left_says_so(tmp_path: Path, defs: Definitions,
                                                          small_events: Path) -> None:
    """E1080 left two weeks after their wellbeing signal: their HR partner's check-in task stayed open (an
    offboarding task made by a leaving is still due), but its card read as for anyone at work, so the partner would
    call someone who had gone. The card says they have left, and from when; a task of someone still here does not."""
    events = tmp_path / "events.jsonl"
    leaving = {"specversion": "1.0", "id": "x-term-1080", "source": "hris/workday", "type": "hris.employee.terminated",
               "time": "2026-03-01T09:00:00Z", "subject": "E1080",
               "data": {"date": "2026-03-01", "reason": "resignation"}}
    events.write_text(small_events.read_text(encoding="utf-8") + json.dumps(leaving) + "\n", encoding="utf-8")
    clock = Clock(at("2026-12-01T10:00"))
    backend = EmbeddedBackend(tmp_path / "out", World(defs=defs, events=events), write=write_results, now=clock)
    settings = WebSettings(token_secret=TOKEN_SECRET, session_secret=SecretStr("session-secret-for-the-tests"),
                           cookie_secure=True)
    app = create_app(settings, backend, registry=CollectorRegistry(), now=clock, dev_login=True)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        s = Served(client, backend, CollectorRegistry(), clock, tmp_path)
        sign_in(s, "E1006", "hr_partner")
        page = client.get("/tasks").text
        left = next(t for t in backend.store.tasks.values() if t.employee_id == "E1080" and t.status == "open")
        card = page[page.index(f'data-task="{left.task_id}"'):]
        card = card[:card.index("</li>")]
        assert "Employee E1080 has left" in card
        assert "1 Mar 2026" in card
        assert page.count('class="warn left"') == 1  # E1032's tasks (still at work) say nothing of it


def test_each_task_is_a_heading_under_the_pages_heading(served: Served) -> None:
    """A keyboard walk with a screen reader on 2026-12-06: the inbox had one heading, "Tasks", and each task's title
    was bold text, so nobody could go from task to task by heading; each card's title is now a level-2 heading."""
    sign_in(served, "E1003", "reviewer")
    page = served.client.get("/tasks").text
    cards = page.count('<li class="card" data-task=')
    assert cards > 1
    headings = re.findall(r"<h([1-6])[^>]*>", page)
    assert headings == ["1"] + ["2"] * cards
    for task in served.backend.store.tasks.values():
        if task.employee_id != "E1003" and f'data-task="{task.task_id}"' in page:
            card = page[page.index(f'data-task="{task.task_id}"'):]
            assert f'<h2 class="card-title">{task.title} ' in html_module.unescape(card[:card.index("</li>")])


def test_an_open_task_whose_assignee_has_left_since_says_it_reaches_nobody(tmp_path: Path, defs: Definitions,
                                                                          small_events: Path) -> None:
    """E1009 left two weeks after the cover task for their report's bereavement leave was opened for them: the task
    stays theirs (only one opened after they left goes to the HR partner), and its card looked like any other, so
    nobody would take it. It now says that its assignee has left and that it reaches nobody unless someone takes it."""
    events = tmp_path / "events.jsonl"
    leaving = {"specversion": "1.0", "id": "x-term-1009", "source": "hris/workday", "type": "hris.employee.terminated",
               "time": "2026-02-10T09:00:00Z", "subject": "E1009",
               "data": {"date": "2026-02-10", "reason": "resignation"}}
    events.write_text(small_events.read_text(encoding="utf-8") + json.dumps(leaving) + "\n", encoding="utf-8")
    clock = Clock(at("2026-12-01T10:00"))
    backend = EmbeddedBackend(tmp_path / "out", World(defs=defs, events=events), write=write_results, now=clock)
    settings = WebSettings(token_secret=TOKEN_SECRET, session_secret=SecretStr("session-secret-for-the-tests"),
                           cookie_secure=True)
    app = create_app(settings, backend, registry=CollectorRegistry(), now=clock, dev_login=True)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        s = Served(client, backend, CollectorRegistry(), clock, tmp_path)
        sign_in(s, "E1006", "hr_partner")
        page = client.get("/tasks").text
        cover = next(t for t in backend.store.tasks.values() if t.assignee_id == "E1009" and t.status == "open")
        card = page[page.index(f'data-task="{cover.task_id}"'):]
        card = card[:card.index("</li>")]
        assert "E1009 has left" in card
        assert "reaches nobody unless someone here takes it" in card
        assert page.count('class="warn assignee-left"') == 1  # E1006's own tasks: E1006 is here
