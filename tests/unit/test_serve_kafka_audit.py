"""``wayfinder serve --kafka`` reading the audit topic: what each audit record costs (no broker: the backend's
producer is a mock, records are handed to it as its consumer thread hands them)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, NoReturn
from unittest.mock import create_autospec

import pytest
from kafka import KafkaProducer

from tests.servers import NOW, make_message
from wayfinder.journeys.definitions import Definitions
from wayfinder.journeys.records import Message
from wayfinder.streams.settings import WorkerSettings
from wayfinder.vocabulary import Topic
from wayfinder.web import kafka_backend
from wayfinder.web.backend import World
from wayfinder.web.kafka_backend import KafkaBackend


class _ReadByKeyOnly(dict[str, datetime]):
    """The map of erasures, refusing to be read whole (copied, compared, walked): per audit record, only the
    person's own entry may be looked at."""

    def _whole(self, *_: Any) -> NoReturn:
        said = "the map of erasures was read whole for one audit record"
        raise AssertionError(said)

    __iter__ = keys = values = items = copy = __eq__ = __ne__ = _whole


def _audit(person: str, at: datetime, action: str = "privacy.erasure") -> bytes:
    return json.dumps({"action": action, "employee_id": person, "at": at.isoformat()}).encode()


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> KafkaBackend:
    monkeypatch.setattr(kafka_backend, "KafkaProducer", create_autospec(KafkaProducer, spec_set=True))
    return KafkaBackend(WorkerSettings(), World(defs=Definitions()), now=lambda: NOW)


def test_an_audit_record_costs_one_look_up_and_only_a_new_erasure_walks_the_messages(
        backend: KafkaBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found in the notes of 2026-12-05: each audit record copied the map of erasures and compared it with the map
    after, O(erasures) per record while ``serve --kafka`` reads the topic from its start. ``note_erasure`` says
    whether the map changed; the messages kept are walked (their content taken out) only then."""
    backend._erasures = _ReadByKeyOnly({f"E{n}": NOW for n in range(100, 150)})
    for n in (1, 2):
        backend._apply(Topic.OUTBOUND_MESSAGES, None, make_message(n).model_dump_json().encode())
    walks: list[str] = []
    kept = backend._kept

    def looked_at(message: Message) -> Message:
        walks.append(message.message_id)
        return kept(message)

    monkeypatch.setattr(backend, "_kept", looked_at)
    later = NOW + timedelta(hours=1)

    for value in (_audit("E1", later, "privacy.export"), _audit("E100", NOW), _audit("E101", NOW - timedelta(days=1)),
                  b"not json", None):
        backend._apply(Topic.AUDIT, None, value)
    assert walks == []
    backend._apply(Topic.AUDIT, None, _audit("E1", later))  # a new erasure: every message kept is looked at once
    assert sorted(walks) == [make_message(1).message_id, make_message(2).message_id]
    assert backend._messages[make_message(1).message_id].text is None
    assert backend._messages[make_message(2).message_id].text is not None
    walks.clear()
    backend._apply(Topic.AUDIT, None, _audit("E1", later))  # the same erasure read again
    assert walks == []
    backend._apply(Topic.AUDIT, None, _audit("E2", later))
    assert len(walks) == 2 and backend._messages[make_message(2).message_id].text is None


def _task(n: int, created: datetime, **changes: Any) -> bytes:
    from wayfinder.journeys.records import Task

    task = Task(task_id=f"t-{n}", employee_id=f"E{n}", assignee="hr_partner", assignee_id="H1", journey_id="care",
                journey_version=1, step_id="call", title=f"Call Perpetua {n}", note="Evidence: 62% after 21:00",
                created_at=created, status="completed", closed_at=created, closed_by="H1")
    return task.model_copy(update=changes).model_dump_json().encode()


def test_a_completed_task_about_a_person_erased_since_is_kept_without_its_title_and_note(
        backend: KafkaBackend) -> None:
    """SPEC §9 (an audit, 2026-12-06): the ``tasks`` topic keeps a completed task as it was, so the task inbox went
    on showing "Call Perpetua" and a wellbeing signal's evidence after her erasure, read before or after it."""
    later = NOW + timedelta(hours=1)
    backend._apply(Topic.TASKS, None, _task(1, NOW))
    backend._apply(Topic.TASKS, None, _task(2, NOW))
    backend._apply(Topic.AUDIT, None, _audit("E1", later))
    backend._apply(Topic.TASKS, None, _task(3, NOW))
    backend._apply(Topic.AUDIT, None, _audit("E3", later))
    backend._apply(Topic.TASKS, None, _task(1, later + timedelta(days=1), task_id="t-1b"))  # after a rehire: new
    kept = {t.task_id: (t.title, t.note, t.status, t.closed_by) for t in backend._tasks.values()}
    assert kept == {"t-1": ("(erased)", "", "completed", "H1"), "t-3": ("(erased)", "", "completed", "H1"),
                    "t-2": ("Call Perpetua 2", "Evidence: 62% after 21:00", "completed", "H1"),
                    "t-1b": ("Call Perpetua 1", "Evidence: 62% after 21:00", "completed", "H1")}


def test_a_decision_about_a_person_erased_since_is_kept_without_what_people_wrote_in_it(
        backend: KafkaBackend) -> None:
    """SPEC §9 (an audit, 2026-12-06): the decisions read from the topic kept an HR partner's task note and a
    reviewer's reason about a person after their erasure, and the task page showed the notes under "(erased)". A
    decision made up to the erasure keeps its ids, time, decision and actor; one made after it is new data."""
    from wayfinder.journeys.events import CloudEvent
    from wayfinder.web import events as ev

    def decided(at: datetime, who: str = "E1") -> list[CloudEvent]:
        return [ev.task_event("completed", employee_id=who, task_id=f"t-{who}", actor_id="H1", at=at,
                              note=f"Called {who} about the funeral"),
                ev.review_decided(employee_id=who, message_id=f"m-{who}", decision="reject", reviewer_id="H1",
                                  at=at, reason=f"{who} is grieving")]

    later = NOW + timedelta(hours=1)
    for event in [*decided(NOW), *decided(NOW, "E2")]:
        backend._apply(Topic.DECISIONS, None, ev.to_line(event).encode())
    backend._apply(Topic.AUDIT, None, _audit("E1", later))
    for event in [*decided(NOW - timedelta(minutes=1), "E1"), *decided(later + timedelta(days=1), "E3")]:
        backend._apply(Topic.DECISIONS, None, ev.to_line(event).encode())  # one read after the erasure record
    backend._apply(Topic.AUDIT, None, _audit("E3", NOW))  # E3's decisions came after E3's erasure: new data
    words = [(d.subject, d.data.get("note") or d.data.get("reason")) for d in backend._decisions]
    assert [w for w in words if w[0] == "E1"] == [("E1", None)] * 3  # the same review decision read twice is one
    assert {w for w in words if w[0] != "E1"} == {("E2", "Called E2 about the funeral"), ("E2", "E2 is grieving"),
                                                  ("E3", "Called E3 about the funeral"), ("E3", "E3 is grieving")}


def test_a_close_read_from_the_topic_keeps_the_title_and_note_the_task_was_opened_with(
        backend: KafkaBackend) -> None:
    """README "Exits and erasure": the worker writes a close with no title or note; the task inbox still shows what
    the task said, and nothing of it once the person is erased."""
    backend._apply(Topic.TASKS, None, _task(1, NOW, status="open", closed_at=None, closed_by=None))
    backend._apply(Topic.TASKS, None, _task(1, NOW, title="", note=""))
    [kept] = backend._tasks.values()
    assert (kept.status, kept.title, kept.note) == ("completed", "Call Perpetua 1", "Evidence: 62% after 21:00")
    backend._apply(Topic.AUDIT, None, _audit("E1", NOW + timedelta(hours=1)))
    backend._apply(Topic.TASKS, None, _task(1, NOW, title="", note=""))  # the close read again
    assert (backend._tasks["t-1"].title, backend._tasks["t-1"].note) == ("(erased)", "")


@pytest.mark.parametrize("bad", [b'["E1"]', b"{}", b'{"id": 7}', b'{"id": ""}', b"not json", b"\xff"])
def test_a_directory_record_that_is_no_person_is_skipped_and_the_reader_goes_on(
        backend: KafkaBackend, bad: bytes, caplog: pytest.LogCaptureFixture) -> None:
    """Found by a helper on 2026-12-06: a directory record that is not a JSON object with an id (the workers write
    none) raised past the reader's check, which skips only unreadable records, and ended the thread that follows the
    topics (serve then stayed up with its pages frozen, and since that day's health check, failed its liveness). It
    is skipped, said by topic and kind only, and the next person is read."""
    backend._apply(Topic.DIRECTORY, b"E1", bad)
    backend._apply(Topic.DIRECTORY, b"E2", json.dumps({"id": "E2", "given_name": "Zoe"}).encode())
    assert set(backend._profiles) == {"E2"}
    assert "skipped a record of directory" in caplog.text and "Zoe" not in caplog.text
