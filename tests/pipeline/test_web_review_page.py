"""A review's page as a reviewer reads it (Starlette's TestClient over the embedded backend): why the engine held the
message for a person, and what became of a message decided while the reviewer looked at it."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from starlette.testclient import TestClient

from tests.support import at, bundled_defs
from wayfinder import examples_dir
from wayfinder.cli.report import write_results
from wayfinder.journeys.decisions import escalation_task_id
from wayfinder.journeys.loader import Definitions
from wayfinder.web.app import create_app
from wayfinder.web.backend import EmbeddedBackend, World
from wayfinder.web.settings import WebSettings
from wayfinder.web.staff import escalation_of

NOW = at("2026-12-01T10:00")
# a new parent (a standard journey), a colleague who lost someone (a sensitive one), and one back from parental leave
# whose manager (E1008) is told first
PEOPLE = ("E1027", "E1032", "E1023")


@pytest.fixture(scope="module")
def defs() -> Definitions:
    """The bundled world with ``family`` and ``welcoming-back`` sensitive topics of the policy: a new parent's
    messages, of a standard journey, pick resources under the first (parental leave, childcare), and a manager's
    check-in before a report returns from parental leave under the second, and so wait for a person."""
    bundled = bundled_defs()
    policy = bundled.policy.model_copy(update={"sensitive_topics": [*bundled.policy.sensitive_topics, "family",
                                                                    "welcoming-back"]})
    return dataclasses.replace(bundled, policy=policy)


@pytest.fixture
def client(tmp_path: Path, defs: Definitions) -> Iterator[tuple[TestClient, EmbeddedBackend]]:
    events = tmp_path / "events.jsonl"
    events.write_text("".join(line + "\n" for line in (examples_dir() / "events.jsonl").read_text().splitlines()
                              if '"hris.employee.upserted"' in line or json.loads(line)["subject"] in PEOPLE),
                      encoding="utf-8")
    backend = EmbeddedBackend(tmp_path, World(defs=defs, events=events), write=write_results, now=lambda: NOW)
    settings = WebSettings(token_secret=SecretStr("token-secret-for-the-tests"),
                           session_secret=SecretStr("session-secret-for-the-tests"))
    app = create_app(settings, backend, registry=CollectorRegistry(), now=lambda: NOW, dev_login=True)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as made:
        yield made, backend


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found[1]


def _sign_in(c: TestClient, person: str) -> str:
    c.cookies.clear()
    form = {"csrf": _csrf(c.get("/login").text), "person_id": person, "role_reviewer": "on"}
    assert c.post("/login", data=form).status_code == 303
    return _csrf(c.get("/review").text)


def _held(page: str) -> str:
    found = re.search(r'<dd id="held">(.*?)</dd>', page, re.S)
    assert found, "the page does not say why the message was held"
    return html.unescape(re.sub(r"<[^>]+>", " ", found[1]))


def _pending(backend: EmbeddedBackend, employee: str, journey: str) -> str:
    return next(m.message_id for m in backend.store.pending() if (m.employee_id, m.journey_id) == (employee, journey))


def test_the_page_says_a_sensitive_topic_held_a_message_of_a_standard_journey(
        client: tuple[TestClient, EmbeddedBackend]) -> None:
    c, backend = client
    _sign_in(c, "E1003")
    held = _held(c.get(f"/review/{_pending(backend, 'E1027', 'new-parent')}").text)
    assert "its resources are about Family, which the policy holds for review" in held
    assert "marked sensitive" not in held  # new-parent is a standard journey


def test_the_page_says_a_journey_marked_sensitive_held_its_message(client: tuple[TestClient, EmbeddedBackend]
                                                                   ) -> None:
    c, backend = client
    _sign_in(c, "E1003")
    held = _held(c.get(f"/review/{_pending(backend, 'E1032', 'bereavement')}").text)
    assert "its journey, “Support after a loss”, is marked sensitive" in held
    assert "its resources are about Bereavement, which the policy holds for review" in held  # a sensitive topic too


def test_a_decision_on_a_message_decided_meanwhile_shows_what_became_of_it(
        client: tuple[TestClient, EmbeddedBackend]) -> None:
    """Two reviewers had the page open; the second one's reject is refused (409) on the message's page, which says
    that someone else decided, how and by whom, and that nothing of theirs was recorded (it was a bare error page)."""
    c, backend = client
    message_id = _pending(backend, "E1032", "bereavement")
    csrf = _sign_in(c, "E1004")
    assert c.post(f"/review/{message_id}/decide", data={"csrf": csrf, "action": "approve"}).status_code == 303
    csrf = _sign_in(c, "E1003")
    late = c.post(f"/review/{message_id}/decide", data={"csrf": csrf, "action": "reject", "reason": "Too soon"})
    assert late.status_code == 409
    page = html.unescape(late.text)
    assert ('<p class="error" id="gone" role="alert">This message is not waiting for a decision any more. E1004 '
            "approved it while you had it open. What you chose was not recorded.</p>") in page
    assert re.search(r"Decided: <data value=\"approve\">approved</data> by E1004\.", page)
    assert page.index('id="gone"') < page.index('<dl class="facts">')  # said first, where the reviewer lands
    assert '<a href="/review">← back to the queue</a>' in page
    again = c.post(f"/review/{message_id}/decide", data={"csrf": _sign_in(c, "E1004"), "action": "reject",
                                                          "reason": "changed my mind"})
    assert again.status_code == 409
    assert "You had already approved this message: this second decision was not recorded." in again.text
    assert [d.data["reviewer_id"] for d in backend.store.decisions] == ["E1004"]


def _link(person: str) -> str:
    from wayfinder.connectors.links import RecipientLinks

    return RecipientLinks(SecretStr("token-secret-for-the-tests")).sign(person, None, NOW)


def _choose(c: TestClient, person: str, **form: str) -> None:
    page = c.get(f"/preferences?t={_link(person)}")
    sent = c.post(f"/preferences?t={_link(person)}", data={"csrf": _csrf(page.text), **form})
    assert 'id="saved"' in sent.text


def test_after_an_approval_the_queue_says_what_became_of_the_message(client: tuple[TestClient, EmbeddedBackend]
                                                                     ) -> None:
    """Walking the pages on 2026-12-05: every approval was followed by "It goes through the recipient's mailbox: at
    once, or after their quiet hours, pause or message limit", also when the recipient had turned email off (it was
    never sent) or paused their messages for months. The line now says what the engine made of it."""
    c, backend = client
    _choose(c, "E1032", channel_intranet="on")  # no email any more
    _choose(c, "E1027", channel_email="on", channel_intranet="on", paused_until="2027-02-01")
    csrf = _sign_in(c, "E1003")
    said = {}
    for person, journey in (("E1032", "bereavement"), ("E1027", "new-parent")):
        message_id = _pending(backend, person, journey)
        done = c.post(f"/review/{message_id}/decide", data={"csrf": csrf, "action": "approve"})
        assert done.status_code == 303
        page = c.get(done.headers["location"]).text
        found = re.search(r'<p class="done" id="decided" role="status"[^>]*>(.*?)</p>', page, re.S)
        assert found is not None
        said[person] = html.unescape(re.sub(r"<[^>]+>", "", found[1]))
    assert said["E1032"] == "Approved, but it will not be sent: the recipient turned this channel off."
    assert said["E1027"].startswith("Approved. It waits in the recipient's mailbox until 1 Feb 2027, ")
    assert said["E1027"].endswith(": the recipient paused their messages.")
    # once said, the next visit to the queue says nothing of it
    assert 'id="decided"' not in c.get("/review").text


def test_a_message_addressed_to_the_reviewer_says_so(client: tuple[TestClient, EmbeddedBackend]) -> None:
    """A reviewer who is the recipient of a message about someone else sees it and may not decide it (SPEC §11:
    ``self_review``). The page said "This message is about you", and the queue "About you": it is about their
    report, addressed to them."""
    c, backend = client
    message = next(m for m in backend.store.pending() if m.recipient_id == "E1008")
    assert message.employee_id == "E1023"
    csrf = _sign_in(c, "E1008")
    assert "Addressed to you: another reviewer must decide." in c.get("/review").text
    page = c.get(f"/review/{message.message_id}").text
    assert ('<p class="warn" id="self-review">This message is addressed to you. You cannot approve or reject it; '
            "another reviewer must.</p>") in page
    assert "about you" not in page
    refused = c.post(f"/review/{message.message_id}/decide", data={"csrf": csrf, "action": "approve"})
    assert refused.status_code == 403
    assert "You cannot decide on a message to you or about you" in html.unescape(refused.text)
    assert backend.store.decisions == []


def test_the_queue_and_the_page_say_when_a_review_is_escalated(client: tuple[TestClient, EmbeddedBackend]) -> None:
    """SPEC §11: a message nobody decides within the review window opens a task for the escalation contact. The
    queue and the review page said how long a message had waited, not that its window had run out and a task now
    asked someone else (E1032's HR partner's lead, E1002) to decide it, nor when a window still running ends."""
    c, backend = client
    _sign_in(c, "E1003")
    message_id = _pending(backend, "E1032", "bereavement")
    message = backend.store.messages[message_id]
    said = html.unescape(re.sub(r"<[^>]+>", "", c.get(f"/review/{message_id}").text))
    task = backend.store.tasks[escalation_task_id(message_id)]
    assert task.created_at == message.created_at + timedelta(days=5)
    assert ("Waitingsince 27 Jan 2026, 03:31 UTC; no decision within 5 days: escalated 1 Feb 2026, 03:31 UTC to "
            "E1002, who may decide it too") in said
    queue = html.unescape(re.sub(r"<[^>]+>", "", c.get("/review").text))
    assert "No decision within 5 days: escalated 1 Feb 2026, 03:31 UTC to E1002, who may decide it too" in queue
    _sign_in(c, "E1002")  # the lead it was escalated to reads it as theirs
    queue = html.unescape(re.sub(r"<[^>]+>", "", c.get("/review").text))
    assert "No decision within 5 days: escalated 1 Feb 2026, 03:31 UTC to you, who may decide it too" in queue
    # a window still running: when it ends, for a message held at the run's end (no task yet)
    fresh = message.model_copy(update={"message_id": "m-fresh", "created_at": NOW})
    due = escalation_of(backend.store, backend.world.defs.policy, fresh)
    assert (due.at, due.done, due.to, due.window) == (NOW + timedelta(days=5), False, None, "5 days")
