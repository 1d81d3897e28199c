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
