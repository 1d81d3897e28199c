"""``wayfinder serve``: what people send that the engine could not use, actions repeated, and races.

Nothing the engine would refuse is written (a 400 before ``decisions.jsonl`` changes); a bad line already there is a
dead letter, not a reason not to start; every action is its own event; two reviewers deciding at once get one
decision and a 409.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from starlette import formparsers
from starlette.testclient import TestClient

from tests.pipeline import test_web
from tests.pipeline.test_web import TOKEN_SECRET, Clock, Served, _csrf, _link, _pending_of, sign_in
from tests.support import at, read_jsonl
from wayfinder.cli import main
from wayfinder.cli.report import write_results
from wayfinder.connectors.switch import ControlFile
from wayfinder.journeys.decisions import escalation_task_id
from wayfinder.journeys.loader import Definitions
from wayfinder.vocabulary import iso
from wayfinder.web import events as ev
from wayfinder.web.app import create_app
from wayfinder.web.backend import EmbeddedBackend, World
from wayfinder.web.security import link_csrf
from wayfinder.web.settings import WebSettings

defs, served, small_events = test_web.defs, test_web.served, test_web.small_events  # the fixtures
# the preferences form's choices for someone with none made (both channels on, no topic out, no pause)
PLAIN = {"channel_email": "on", "channel_intranet": "on"}


def _serve(out: Path, defs: Definitions, events: Path) -> Iterator[Served]:
    clock = Clock(at("2026-12-01T10:00"))
    backend = EmbeddedBackend(out, World(defs=defs, events=events), write=write_results, now=clock)
    settings = WebSettings(token_secret=TOKEN_SECRET, session_secret=SecretStr("session-secret-for-the-tests"),
                           cookie_secure=True)
    registry = CollectorRegistry()
    app = create_app(settings, backend, registry=registry, now=clock, dev_login=True)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield Served(client, backend, registry, clock, out)


def _with(small_events: Path, tmp_path: Path, *events: dict[str, Any]) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text(small_events.read_text(encoding="utf-8") + "".join(json.dumps(e) + "\n" for e in events),
                    encoding="utf-8")
    return path


def _post_preferences(s: Served, person: str, form: dict[str, str]) -> Any:
    """The page's form as a browser sends it, its channels, topics and pause replaced by ``form``'s."""
    token = _link(s, person)
    page = s.client.get(f"/preferences?t={token}").text
    kept = {m[1]: m[2] for m in re.finditer(r'<input (?:type="\w+" )?name="(quiet_start|quiet_end)" '
                                            r'value="([^"]*)"', page)}
    language = re.search(r'<select name="locale"[^>]*>.*?<option value="([^"]*)" selected>', page, re.S)
    kept["locale"] = language[1] if language else ""  # the language chosen in the list (it was a text field)
    return s.client.post(f"/preferences?t={token}", data={"csrf": _csrf(page)} | kept | form)


# -- F1: nothing the engine would refuse is written ---------------------------------------------
@pytest.mark.parametrize("day", ["2200-01-01", "9999-12-31", "0001-01-01", "1900-01-01"])
def test_a_pause_the_engine_cannot_schedule_is_refused_before_anything_is_written(served: Served, day: str) -> None:
    response = _post_preferences(served, "E1052", PLAIN | {"paused_until": day})
    assert response.status_code == 400
    assert "Pause until must be a date between 1900 and 2199." in response.text
    german = _post_preferences(served, "E1027", PLAIN | {"paused_until": day})  # in the reader's language, whole
    assert german.status_code == 400 and "braucht ein Datum zwischen 1900 und 2199" in german.text, german.text
    assert served.decisions() == []
    ok = _post_preferences(served, "E1052", PLAIN | {"paused_until": "2199-12-31"})
    assert ok.status_code == 200
    assert [d["data"] for d in served.decisions()] == [{"paused_until": "2199-12-30T23:00:00Z"}]


def test_the_backend_never_writes_an_event_the_engine_would_refuse(served: Served) -> None:
    event = ev.preferences_changed(employee_id="E1052", changes={"paused_until": "9999-12-31T00:00:00Z"},
                                   at=served.clock())
    with pytest.raises(ev.Unrecordable) as refused:
        served.backend.record(event)
    assert refused.value.code == "date_out_of_range"
    assert not (served.out / "decisions.jsonl").exists()


def test_a_line_the_engine_cannot_read_in_decisions_jsonl_is_a_dead_letter_not_a_crash(
        tmp_path: Path, defs: Definitions, small_events: Path) -> None:
    bad = {"specversion": "1.0", "id": "bad-1", "source": "wayfinder/serve", "type": "wayfinder.preferences.changed",
           "time": "2026-12-01T10:00:00Z", "subject": "E1052", "data": {"paused_until": "9999-12-31T00:00:00Z"}}
    good = ev.preferences_changed(employee_id="E1052", changes={"locale": "de-DE"}, at=at("2026-12-01T10:00"))
    (tmp_path / "decisions.jsonl").write_text(json.dumps(bad) + "\n" + ev.to_line(good) + "\n", encoding="utf-8")
    for s in _serve(tmp_path, defs, small_events):  # starts: no ValueError
        assert [d.id for d in s.backend.store.decisions] == [good.id]
        letters = [d for d in read_jsonl(tmp_path / "dead_letters.jsonl") if d.get("source") == "decisions.jsonl"]
        assert [(d["line"], d["reason"].split(":")[0]) for d in letters] == [(1, "date_out_of_range")]
        assert _post_preferences(s, "E1052", PLAIN | {"locale": "en-GB"}).status_code == 200
        assert s.backend.store.profiles["E1052"].locale == "en-GB"


# -- F2: each action is its own event -------------------------------------------------------------
def test_a_decision_holding_a_line_separator_is_one_line_of_decisions_jsonl() -> None:
    """A review on 2026-12-06: serve wrote ``decisions.jsonl`` with U+2028 (a reviewer's reason or edit pasted from a
    word processor) as it came, so a reader that splits lines with ``str.splitlines`` cut the decision in two, as the
    other files serve and simulate write no longer do (``jsonrows.one_line``)."""
    decided = ev.review_decided(employee_id="E1052", message_id="m-1", decision="approve", reviewer_id="H1",
                                at=at("2026-12-01T10:00"), reason="fine\u2028as is\u2029\x85",
                                edits={"text": "Hello\u2028there"})
    line = ev.to_line(decided)
    assert line.splitlines() == [line]
    assert json.loads(line)["data"] == decided.data  # read back the same


def test_opting_out_in_and_out_again_at_one_time_is_three_events_in_order(served: Served) -> None:
    for form in (PLAIN | {"channel_email": "off"}, PLAIN, PLAIN | {"channel_email": "off"}):
        form = {k: v for k, v in form.items() if v == "on"}
        assert 'id="saved"' in _post_preferences(served, "E1052", form).text
    lines = served.decisions()
    assert [line["data"] for line in lines] == [
        {"opt_out_channels": ["email"]}, {"opt_out_channels": []}, {"opt_out_channels": ["email"]}]
    assert len({line["id"] for line in lines}) == 3
    assert len({line["time"] for line in lines}) == 1  # one time: the file's order decides
    assert served.backend.store.preferences("E1052")["opt_out_channels"] == ["email"]
    assert served.backend.store.profiles["E1052"].opt_out_channels == ["email"]  # the engine's view too
    again = _post_preferences(served, "E1052", {"channel_intranet": "on"})  # the same form once more
    assert "Nothing changed." in again.text
    assert len(served.decisions()) == 3


def test_the_same_form_sent_twice_at_once_is_one_event(served: Served) -> None:
    after = served.backend.store.last_about("E1052")
    first, second = (ev.preferences_changed(employee_id="E1052", changes={"opt_out_channels": ["email"]},
                                            at=served.clock(), after=after) for _ in range(2))
    assert served.backend.record(first) is True
    assert served.backend.record(second) is False
    assert len(served.decisions()) == 1


def test_pausing_resuming_and_pausing_again_is_three_audit_events(served: Served) -> None:
    csrf = sign_in(served, "E1003", "operator")
    for action in ("pause", "resume", "pause"):
        form = {"csrf": csrf, "action": action, "journey": "all"}
        assert served.client.post("/overview/switch", data=form).status_code == 303
    assert [d["type"] for d in served.decisions()] == [
        "wayfinder.sending.paused", "wayfinder.sending.resumed", "wayfinder.sending.paused"]
    assert ControlFile(served.out / "control.jsonl").refresh().paused("any-journey")


# -- F3: the stop switch by the wall clock ----------------------------------------------------------
def test_a_pause_on_the_overview_is_stamped_with_the_wall_clock(served: Served) -> None:
    served.clock.value = at("2026-06-01T10:00")  # before the end of the simulated run
    assert served.backend.now() > served.clock.value
    csrf = sign_in(served, "E1003", "operator")
    served.client.post("/overview/switch", data={"csrf": csrf, "action": "pause", "journey": "all"})
    [record] = read_jsonl(served.out / "control.jsonl")
    assert (record["action"], record["at"]) == ("pause", "2026-06-01T10:00:00Z")
    assert served.decisions()[0]["time"] == "2026-06-01T10:00:00Z"


def test_the_switch_refuses_an_action_it_does_not_know(served: Served) -> None:
    csrf = sign_in(served, "E1003", "operator")
    response = served.client.post("/overview/switch", data={"csrf": csrf, "action": "bogus", "journey": "all"})
    assert response.status_code == 400
    assert "Choose pause or resume." in response.text
    assert served.decisions() == []
    assert not (served.out / "control.jsonl").exists()


# -- F4: a pause is shown as the date the person chose --------------------------------------------
def test_a_pause_shows_the_date_chosen_in_the_persons_timezone_and_saving_keeps_it(served: Served) -> None:
    _post_preferences(served, "E1052", PLAIN | {"paused_until": "2027-04-05"})  # E1052: Europe/Berlin
    assert served.decisions()[0]["data"] == {"paused_until": "2027-04-04T22:00:00Z"}
    page = served.client.get(f"/preferences?t={_link(served, 'E1052')}").text
    assert 'name="paused_until" value="2027-04-05"' in page
    again = _post_preferences(served, "E1052", PLAIN | {"paused_until": "2027-04-05"})
    assert "Nothing changed." in again.text
    assert len(served.decisions()) == 1


# -- F5: tokens and CSRF values that are not ASCII ------------------------------------------------
@pytest.mark.parametrize("token", ["%C3%A9.x", "a.%C3%A9"])
def test_a_link_token_that_is_not_ascii_is_refused_as_malformed(served: Served, token: str) -> None:
    for path in ("/preferences", "/preferences/why", "/preferences/unsubscribe", "/preferences/resources"):
        response = served.client.get(f"{path}?t={token}")
        assert response.status_code == 403, path
        assert "This link is not valid" in response.text
    assert served.decisions() == []


def test_the_error_page_of_an_employees_link_is_in_their_browsers_language(served: Served) -> None:
    """An audit on 2026-12-04: a German reader whose link was cut short read "Not allowed / the link is malformed"
    in English, on pages that are otherwise theirs (a link that does not open names no reader: the browser's
    Accept-Language says the language). Staff pages stay English."""
    german = served.client.get("/preferences?t=abc.def", headers={"accept-language": "de-AT,de;q=0.9,en;q=0.5"})
    assert german.status_code == 403 and '<html lang="de"' in german.text
    assert "Nicht erlaubt" in german.text and "Dieser Link ist ungültig" in german.text
    french = served.client.get("/preferences/why?t=abc.def", headers={"accept-language": "fr-CA"})
    assert "Non autorisé" in french.text and "Ce lien n’est pas valide" in french.text
    english = served.client.get("/preferences?t=abc.def", headers={"accept-language": "en-GB,de;q=0.8"})
    assert "Not allowed" in english.text and "This link is not valid" in english.text


def test_a_csrf_value_that_is_not_ascii_is_refused(served: Served) -> None:
    token = _link(served, "E1052")
    response = served.client.post(f"/preferences?t={token}", data=PLAIN | {"csrf": "é"})
    assert response.status_code == 403
    assert "CSRF check" in response.text
    sign_in(served, "E1003", "reviewer")
    decide = served.client.post(f"/review/{_pending_of(served, 'E1052')}/decide", data={"csrf": "é",
                                                                                       "action": "approve"})
    assert decide.status_code == 403
    assert served.decisions() == []


# -- F11: no page takes a file ------------------------------------------------------------------------
def test_a_form_with_a_file_is_refused_before_anything_is_spooled(served: Served,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A file part over 1 MiB was spooled to a temporary file, which serve cannot write on a read-only root
    filesystem: a preferences form with one, from a valid link, answered 500 (seen 2026-12-05 in a pod-like run)."""

    def no_temporary_file(*args: Any, **kwargs: Any) -> None:
        msg = "a temporary file for an upload"
        raise AssertionError(msg)

    monkeypatch.setattr(formparsers, "SpooledTemporaryFile", no_temporary_file)
    token = _link(served, "E1052")
    csrf = _csrf(served.client.get(f"/preferences?t={token}").text)
    upload = {"file": ("big.bin", b"x" * (2 << 20), "application/octet-stream")}
    response = served.client.post(f"/preferences?t={token}", data=PLAIN | {"csrf": csrf, "paused_until": ""},
                                  files=upload)
    assert response.status_code == 400
    assert "Too many files" in response.text
    staff_csrf = sign_in(served, "E1003", "operator")
    switch = served.client.post("/overview/switch", data={"csrf": staff_csrf, "action": "pause", "journey": "all"},
                                files=upload)
    assert switch.status_code == 400
    assert served.decisions() == []


# -- F6: edits a message can carry ------------------------------------------------------------------
@pytest.mark.parametrize(("edit", "error"), [
    ({"subject": "Hello\nBcc: x@example.com"}, "The subject must be one line."),
    ({"subject": "Hello\r"}, "The subject must be one line."),
    ({"subject": "x" * 1_001}, "The subject can be at most 1,000 characters."),
    ({"text": "x" * 100_001}, "An edited text or HTML can be at most 100,000 characters"),
    ({"html": "<p>" + "x" * 100_000 + "</p>"}, "An edited text or HTML can be at most 100,000 characters"),
    ({"subject": ""}, "An edited subject cannot be empty."),
    ({"text": "   "}, "An edited text cannot be empty."),  # a condolence approved with no body
    ({"html": " \n "}, "An edited HTML cannot be empty."),
])
def test_an_edit_a_message_cannot_carry_is_refused(served: Served, edit: dict[str, str], error: str) -> None:
    csrf = sign_in(served, "E1003", "reviewer")
    message = _pending_of(served, "E1052")
    response = served.client.post(f"/review/{message}/decide", data={"csrf": csrf, "action": "approve"} | edit)
    assert response.status_code == 400
    assert error in response.text
    assert served.decisions() == []
    # on the message's page, with the form and what was typed (an audit on 2026-12-04: a bare error page; only the
    # browser's Back button kept the edits)
    assert 'id="problem"' in response.text and 'id="approve"' in response.text and "<details open>" in response.text
    # said above the Approve and Reject cards, not in the place of the first (seen in a browser on 2026-12-05: the
    # Approve card moved to the right, Reject under it)
    assert re.search(r'id="problem"[^>]*>[^<]*</p>\s*<section class="decide">\s*<form', response.text)
    if edit.get("text", "").strip():
        assert edit["text"][:50] in response.text
    # said again beside the part it is about, whose box is marked invalid (2026-12-05: only above the cards)
    [part] = edit
    assert re.search(rf'<p class="error field-problem" id="problem-{part}">{re.escape(error)}', response.text)
    box = re.search(rf'<(?:input|textarea) name="{part}"[^>]*>', response.text)
    assert box is not None and f'aria-invalid="true" aria-describedby="problem-{part}"' in box[0]
    assert response.text.count('aria-invalid="true"') == 1


# -- F7: two reviewers at once ----------------------------------------------------------------------
def test_two_reviewers_deciding_at_once_get_one_decision_and_a_409(served: Served,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    message = served.backend.store.messages[_pending_of(served, "E1052")]
    record = served.backend.record

    def the_other_reviewer_first(event: Any, **kwargs: Any) -> bool:
        """The other reviewer's decision lands after this page checked, before it records."""
        other = ev.review_decided(employee_id="E1052", message_id=message.message_id, decision="reject",
                                  reviewer_id="E1004", at=event.time, reason="not now")
        record(other)
        return record(event, **kwargs)

    csrf = sign_in(served, "E1003", "reviewer")
    monkeypatch.setattr(served.backend, "record", the_other_reviewer_first)
    response = served.client.post(f"/review/{message.message_id}/decide", data={"csrf": csrf, "action": "approve"})
    assert response.status_code == 409
    assert "not waiting for a decision any more" in response.text
    assert [(d["data"]["reviewer_id"], d["data"]["decision"]) for d in served.decisions()] == [("E1004", "reject")]
    assert not any(d["reason"].startswith("not_pending") for d in read_jsonl(served.out / "dead_letters.jsonl"))


def test_two_people_claiming_a_task_at_once_get_one_claim_and_a_409(served: Served,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    task = next(t for t in served.backend.store.tasks.values() if t.assignee_id == "E1006")
    record = served.backend.record

    def the_other_first(event: Any, **kwargs: Any) -> bool:
        record(ev.task_event("claimed", employee_id=task.employee_id, task_id=task.task_id, actor_id="E1099",
                             at=event.time, journey_id=task.journey_id, step_id=task.step_id))
        return record(event, **kwargs)

    csrf = sign_in(served, "E1006", "hr_partner")
    monkeypatch.setattr(served.backend, "record", the_other_first)
    response = served.client.post(f"/tasks/{task.task_id}", data={"csrf": csrf, "action": "claim"})
    assert response.status_code == 409
    assert [d["data"]["actor_id"] for d in served.decisions()] == ["E1099"]


# -- F8: a pause HRIS set ------------------------------------------------------------------------------
def test_a_pause_set_through_hris_is_shown_and_can_be_lifted(tmp_path: Path, defs: Definitions,
                                                             small_events: Path) -> None:
    upsert = {"specversion": "1.0", "id": "test-hris-pause", "source": "hris/test", "type": "hris.employee.upserted",
              "time": "2026-11-01T09:00:00Z", "subject": "E1052",
              "data": {"preferences": {"paused_until": "2027-05-01T08:00:00Z"}}}
    events = _with(small_events, tmp_path, upsert)
    for s in _serve(tmp_path / "out", defs, events):
        assert s.backend.store.preferences("E1052")["paused_until"] == "2027-05-01T08:00:00Z"
        page = s.client.get(f"/preferences?t={_link(s, 'E1052')}").text
        assert 'name="paused_until" value="2027-05-01"' in page  # 10:00 in Berlin
        kept = _post_preferences(s, "E1052", PLAIN | {"paused_until": "2027-05-01"})
        assert "Nothing changed." in kept.text
        lifted = _post_preferences(s, "E1052", PLAIN)
        assert 'id="saved"' in lifted.text
        assert [d["data"] for d in s.decisions()] == [{"paused_until": None}]
        assert s.backend.store.profiles["E1052"].preferences["paused_until"] is None  # the engine lifted it
        assert 'name="paused_until" value=""' in s.client.get(f"/preferences?t={_link(s, 'E1052')}").text


# -- F11: a language taken back ------------------------------------------------------------------------
def _languages_offered(s: Served, person: str) -> tuple[list[tuple[str, str]], str | None, str]:
    """The language list of the person's preferences page: ``(value, name)`` in order, the chosen value, and the
    hint under the list."""
    page = s.client.get(f"/preferences?t={_link(s, person)}").text
    select = re.search(r'<select name="locale"[^>]*>(.*?)</select>', page, re.S)
    hint = re.search(r'<p class="meta" id="locale-hint">([^<]*)</p>', page)
    assert select is not None and hint is not None, page
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select[1])
    chosen = next((v for v, selected, _ in options if selected), None)
    return [(value, name) for value, _, name in options], chosen, hint[1]


def test_a_language_once_set_can_be_taken_back_and_simulate_reads_it_so(tmp_path: Path, defs: Definitions,
                                                                       small_events: Path) -> None:
    """An audit on 2026-12-05: "Not set" was offered only while no language was set, so the list could not be
    emptied again. It is now always the first choice and sends ``locale: null`` (SPEC §11: it replaces the
    preference). Since a later walk of the same day the choice is the person's own, kept beside the HR system's
    language: "Not set" names the HR system's, an upsert sending it again leaves the choice standing, and taking the
    choice back gives the HR system's language back. The served world and ``simulate`` agree on every message.
    "Not set" named the HR system's language in the option itself, which the list cut short on a desktop screen; the
    hint under the list names it (since 2026-12-05)."""
    for s in _serve(tmp_path / "out", defs, small_events):
        options, chosen, hint = _languages_offered(s, "E1029")  # de-DE, from the HR system: not a choice of theirs
        assert options[0] == ("", "Nicht festgelegt")
        assert hint.startswith("Deine Sprache im HR-System: Deutsch (Deutschland) (de-DE). Nicht festgelegt:")
        assert chosen == ""
        assert 'id="saved"' in _post_preferences(s, "E1029", PLAIN | {"locale": "fr-FR"}).text
        options, chosen, hint = _languages_offered(s, "E1029")  # the page is in French now
        assert options[0] == ("", "Non défini")
        assert hint.startswith("Votre langue dans le système RH : allemand (Allemagne) (de-DE). Non défini :")
        assert chosen == "fr-FR"
        assert 'id="saved"' in _post_preferences(s, "E1029", PLAIN | {"locale": ""}).text
        chose, took_back = s.decisions()
        assert (chose["data"], took_back["data"]) == ({"locale": "fr-FR"}, {"locale": None})
        assert s.backend.store.profiles["E1029"].locale == "de-DE"  # the HR system's again
        options, chosen, hint = _languages_offered(s, "E1029")
        assert options[0] == ("", "Nicht festgelegt") and chosen == ""
        assert hint.startswith("Deine Sprache im HR-System: Deutsch (Deutschland) (de-DE).")
    later = datetime.fromisoformat(took_back["time"]) + timedelta(days=1)
    again = {"specversion": "1.0", "id": "test-again", "source": "hris/test", "type": "hris.employee.upserted",
             "time": iso(later), "subject": "E1029", "data": {"id": "E1029", "locale": "de-DE"}}
    promoted = {"specversion": "1.0", "id": "test-promotion", "source": "hris/test", "type": "hris.job.changed",
                "time": iso(later + timedelta(days=1)), "subject": "E1029",
                "data": {"change": "promotion", "old_role": "Data Engineer", "new_role": "Senior Data Engineer",
                         "old_department": "Engineering", "new_department": "Engineering"}}
    (tmp_path / "hris").mkdir()
    events = _with(small_events, tmp_path / "hris", again, promoted)
    for name, lines in (("chose", [chose]), ("both", [chose, took_back])):
        (tmp_path / name).mkdir()
        assert main(["simulate", "--events", str(_with(events, tmp_path / name, *lines)),
                     "--out", str(tmp_path / name)]) == 0
    EmbeddedBackend(tmp_path / "out", World(defs=defs, events=events), write=write_results,
                    now=Clock(at("2026-12-01T10:00")))

    def made(folder: Path) -> dict[str, tuple[str, str | None, str | None]]:
        return {m["message_id"]: (m["status"], m["locale"], m["text"]) for m in read_jsonl(folder / "messages.jsonl")}

    def congratulations(folder: Path) -> object:
        [m] = [m for m in read_jsonl(folder / "messages.jsonl")
               if m["employee_id"] == "E1029" and m["step_id"] == "congratulations"]
        return m["locale"]

    assert congratulations(tmp_path / "chose") == "fr-FR"  # the choice stands over the HR system's sent again
    assert congratulations(tmp_path / "both") == "de-DE"  # taken back: the HR system's
    assert made(tmp_path / "both") == made(tmp_path / "out")


# -- a manager's why page ---------------------------------------------------------------------------
def _hire(person: str, name: str, manager: str) -> list[dict[str, Any]]:
    head = {"specversion": "1.0", "source": "hris/test", "subject": person}
    return [head | {"id": f"{person}-profile", "type": "hris.employee.upserted", "time": "2026-11-20T09:00:00Z",
                    "data": {"id": person, "given_name": name, "email": f"{person.lower()}@example.com",
                             "manager_id": manager, "employment_type": "employee", "country": "DE",
                             "timezone": "Europe/Berlin"}},
            head | {"id": f"{person}-hired", "type": "hris.employee.hired", "time": "2026-11-20T09:05:00Z",
                    "data": {"start_date": "2026-12-07", "role": "Analyst", "department": "Finance",
                             "location": "Berlin", "manager_id": manager}}]


def test_the_why_page_of_a_message_to_a_manager_says_whom_it_is_about_not_the_new_hires_journey(
        tmp_path: Path, defs: Definitions, small_events: Path) -> None:
    """Seen walking the pages on 2026-12-05: the why page of a manager's heads-up said "From: Your first 90 days",
    the new hire's journey, addressed to the manager (and a journey's name may say what the manager's explanation
    does not: "Return from medical leave"). To a manager it now says whom the messages are about and as whom they
    get them, in their language; the person's own page keeps the journey's name."""
    (tmp_path / "events").mkdir()
    events = _with(small_events, tmp_path / "events", *_hire("T9001", "Connor", "E1029"),
                   *_hire("T9002", "Ada", "E1032"))
    names = {defs.current()["onboarding"].localized_name(loc) for loc in (None, "de", "fr")}
    for s in _serve(tmp_path / "out", defs, events):
        heads_up = {m.recipient_id: m for m in s.backend.store.messages.values() if m.step_id == "manager-heads-up"}
        for manager, expected in (("E1029", "Nachrichten über Connor, an dich als Führungskraft"),  # de-DE
                                  ("E1032", "Messages about Ada, to you as their manager")):  # en-IN
            said, page = _why_from(s, manager, heads_up[manager].message_id)
            assert said == expected
            assert not any(name in page for name in names), page
        [welcome] = [m for m in s.backend.store.messages.values()
                     if (m.employee_id, m.step_id) == ("T9002", "welcome")]
        assert _why_from(s, "T9002", welcome.message_id)[0] == "Your first 90 days"


def _why_from(s: Served, person: str, message_id: str) -> tuple[str, str]:
    """What the why page of ``person``'s message says under "From", and the page."""
    page = s.client.get(f"/preferences/why?t={_link(s, person, message_id)}").text
    found = re.search(r'<dd(?: id="from")?>([^<]*)</dd>', page)  # the first of the facts: From
    assert found is not None, page
    return found[1], page


# -- F12: a task completed elsewhere ----------------------------------------------------------------
def test_a_task_completed_through_another_writer_offers_no_claim_and_says_who_did_it(
        tmp_path: Path, defs: Definitions, small_events: Path) -> None:
    """Seen walking the pages on 2026-12-05: a task the engine has as completed (its completion came from another
    writer than these pages: the events file, another serve) showed "completed" with the Claim and Complete
    buttons under it, a claim of it was written, and the card said nothing of who completed it."""
    for s in _serve(tmp_path / "first", defs, small_events):
        task = next(t for t in s.backend.store.tasks.values() if t.employee_id == "E1052" and t.assignee_id == "E1003")
    done = {"specversion": "1.0", "id": "test-done-elsewhere", "source": "wayfinder/other-serve",
            "type": "wayfinder.task.completed", "time": iso(task.created_at + timedelta(days=1)), "subject": "E1052",
            "data": {"task_id": task.task_id, "actor_id": "E1004", "journey_id": task.journey_id,
                     "step_id": task.step_id}}
    events = _with(small_events, tmp_path, done)
    for s in _serve(tmp_path / "out", defs, events):
        assert s.backend.store.tasks[task.task_id].status == "completed"
        csrf = sign_in(s, "E1003", "hr_partner")
        page = s.client.get("/tasks").text
        card = page.split(f'data-task="{task.task_id}"')[1].split("</li>")[0]
        assert '<span class="badge">completed</span>' in card
        assert 'value="claim"' not in card and 'value="complete"' not in card
        assert "completed by E1004" in card
        refused = s.client.post(f"/tasks/{task.task_id}", data={"csrf": csrf, "action": "claim"})
        assert refused.status_code == 409 and "already completed" in refused.text
        assert s.decisions() == []


# -- F10: an erased person's link ------------------------------------------------------------------------
def test_an_erased_persons_link_opens_nothing_and_writes_nothing(tmp_path: Path, defs: Definitions,
                                                                 small_events: Path) -> None:
    erasure = {"specversion": "1.0", "id": "test-erase", "source": "privacy/test",
               "type": "privacy.erasure.requested", "time": "2026-11-01T09:00:00Z", "subject": "E1052", "data": {}}
    events = _with(small_events, tmp_path, erasure)
    for s in _serve(tmp_path / "out", defs, events):
        token = _link(s, "E1052")
        for path in ("/preferences", "/preferences/why", "/preferences/unsubscribe", "/preferences/resources"):
            response = s.client.get(f"{path}?t={token}")
            assert response.status_code == 410, path
            assert "Wayfinder keeps nothing about you any more" in response.text
        csrf = link_csrf("session-secret-for-the-tests", token)  # the form of a page opened before the erasure
        form = PLAIN | {"locale": "de-DE", "quiet_start": "21:00", "quiet_end": "07:00", "csrf": csrf}
        assert s.client.post(f"/preferences?t={token}", data=form).status_code == 410
        assert s.client.post(f"/preferences/unsubscribe?t={token}",
                             data={"List-Unsubscribe": "One-Click"}).status_code == 410
        assert s.decisions() == []
        assert _post_preferences(s, "E1038", PLAIN | {"locale": "de-DE"}).status_code == 200  # others: as before


# -- F9: the escalation's assignee may decide ----------------------------------------------------------
def test_the_lead_a_review_was_escalated_to_may_decide_it_and_no_other_manager(served: Served) -> None:
    message = _pending_of(served, "E1052")  # nobody decided in time: the task went to E1006's lead, E1002
    task = served.backend.store.tasks[escalation_task_id(message)]
    assert (task.assignee, task.assignee_id, task.status) == ("review_escalation", "E1002", "open")
    sign_in(served, "E1009", "manager")
    assert served.client.get(f"/review/{message}").status_code == 404
    csrf = sign_in(served, "E1002", "manager")
    assert f'href="/review/{message}"' in served.client.get("/tasks").text
    detail = served.client.get(f"/review/{message}")
    assert detail.status_code == 200 and '<a href="/tasks">← back to your tasks</a>' in detail.text
    assert served.client.get("/review").status_code == 403  # the queue stays the reviewers' and HR partners'
    decided = served.client.post(f"/review/{message}/decide", data={"csrf": csrf, "action": "approve"})
    # back to their tasks with what happens next (an audit on 2026-12-04: sent to the queue, "Not allowed", after a
    # decision that was saved)
    assert decided.status_code == 303 and decided.headers["location"] == "/tasks?decided=approve"
    page = served.client.get(decided.headers["location"])
    assert page.status_code == 200 and 'id="decided"' in page.text and "Approved." in page.text
    assert [(d["subject"], d["data"]["reviewer_id"]) for d in served.decisions()] == [("E1052", "E1002")]
    assert served.backend.store.tasks[task.task_id].status == "cancelled"  # decided: the escalation closed
    late = served.client.post(f"/tasks/{task.task_id}", data={"csrf": csrf, "action": "complete"})
    # why, as it is (an audit on 2026-12-04: "the event that started it was corrected" whatever the reason)
    assert late.status_code == 409 and "the message it was about has been decided" in late.text
    assert served.client.get(f"/review/{message}").status_code == 404


def test_a_completed_escalation_gives_no_access_to_the_message(served: Served) -> None:
    message = _pending_of(served, "E1038")
    csrf = sign_in(served, "E1002", "manager")
    task_id = escalation_task_id(message)
    assert served.client.post(f"/tasks/{task_id}", data={"csrf": csrf, "action": "complete"}).status_code == 303
    assert served.client.get(f"/review/{message}").status_code == 404
    refused = served.client.post(f"/review/{message}/decide", data={"csrf": csrf, "action": "approve"})
    assert refused.status_code == 404
    assert [d["type"] for d in served.decisions()] == ["wayfinder.task.completed"]


def test_a_refused_preferences_form_comes_back_as_the_person_filled_it(served: Served) -> None:
    """An audit on 2026-12-04: quiet hours "22:00" to "7" were refused and the page came back with what was saved
    before: intranet ticked again, the topics unticked, the quiet hours empty; everything to do again."""
    topic = next(iter(sorted(served.backend.world.defs.catalog.topics)))
    form = {"channel_email": "on", f"topic_{topic}": "on", "quiet_start": "22:00", "quiet_end": "7",
            "locale": "de-AT", "paused_until": "2199-12-31"}
    response = _post_preferences(served, "E1052", form)
    assert response.status_code == 400 and "Quiet hours need a start and an end" in response.text
    page = response.text
    assert re.search(r'name="channel_email" checked', page) and not re.search(r'name="channel_intranet" checked', page)
    assert re.search(rf'name="topic_{re.escape(topic)}" id="topic_{re.escape(topic)}" checked', page)
    assert 'name="quiet_start" value="22:00"' in page and 'name="quiet_end" value="7"' in page
    assert '<option value="de-AT" selected>' in page and 'name="paused_until" value="2199-12-31"' in page
    assert served.decisions() == []
