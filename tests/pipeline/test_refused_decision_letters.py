"""A review decision the worker refuses (SPEC §11: ``not_pending``, ``self_review``) goes to the dead-letter topic
naming the input it was, as every other dead letter of the worker does (README "For platform teams": reason, raw
input, topic, partition, offset): an operator finds the input, and ``wayfinder status`` tells a letter written again
after a rebalance from a second refusal. Before 2026-12-06 these letters named the event's CloudEvents ``source``
and no partition or offset (seen on a broker: a decision for a message that is not pending, produced with kcat)."""

from __future__ import annotations

import json
from typing import Any

from tests.pipeline.stages import Pipeline
from wayfinder.streams.wire import ParkedInput, decode_timer, encode_timer
from wayfinder.vocabulary import Topic

DECISIONS = "wayfinder.decisions"


def _event(n: int, event_type: str, time: str, subject: str, data: dict[str, Any]) -> bytes:
    return json.dumps({"specversion": "1.0", "id": f"r-{n}", "source": "review/test", "type": event_type,
                       "time": time, "subject": subject, "data": data}).encode()


def _letters(records: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in records if r.topic == Topic.DEAD_LETTERS and r.value is not None]


def test_a_refused_decision_names_its_topic_partition_and_offset() -> None:
    p = Pipeline()
    upsert = _event(1, "hris.employee.upserted", "2026-03-01T09:00:00Z", "E1",
                    {"id": "E1", "email": "e1@example.com", "employment_type": "employee", "hr_partner_id": "H1"})
    p.feed(p.employees, "wayfinder.hris.events", b"E1", upsert, offset=4, partition=0)
    decision = _event(2, "wayfinder.review.decided", "2026-03-01T09:00:00Z", "E1",  # at the person's time
                      {"message_id": "m-unknown", "decision": "approve", "reviewer_id": "H1"})
    records = p.feed(p.employees, DECISIONS, b"E1", decision, offset=17, partition=0)
    [letter] = _letters(records)
    assert letter["reason"] == "not_pending"
    assert (letter["source"], letter["partition"], letter["offset"]) == (DECISIONS, 0, 17)


def test_a_decision_kept_for_its_time_remembers_where_it_was_read() -> None:
    """On the event clock a decision read ahead of its person's events is kept as a timer and decided at its own
    time: its letter names the same input."""
    p = Pipeline()
    upsert = _event(1, "hris.employee.upserted", "2026-03-01T09:00:00Z", "E1",
                    {"id": "E1", "email": "e1@example.com", "employment_type": "employee", "hr_partner_id": "H1"})
    p.feed(p.employees, "wayfinder.hris.events", b"E1", upsert, offset=4, partition=0)
    start = _event(3, "hris.leave.started", "2026-03-02T10:00:00Z", "E1",
                   {"leave_type": "bereavement", "start_date": "2026-03-02", "expected_return_date": "2026-03-09"})
    p.feed(p.employees, "wayfinder.hris.events", b"E1", start, offset=5, partition=0)
    # a decision by the employee about their own message, read before anything later of theirs
    out = [json.loads(r.value) for r in p.records if r.topic == Topic.OUTBOUND_MESSAGES and r.value is not None]
    held = [m["message_id"] for m in out if m["status"] == "pending_approval"]
    decision = _event(4, "wayfinder.review.decided", "2026-03-03T09:00:00Z", "E1",
                      {"message_id": held[0], "decision": "approve", "reviewer_id": "E1"})
    p.feed(p.employees, DECISIONS, b"E1", decision, offset=23, partition=0)
    p.feed(p.employees, "wayfinder.hris.events", b"E1",
                      _event(5, "hris.employee.upserted", "2026-03-04T09:00:00Z", "E1", {"id": "E1"}),
                      offset=6, partition=0)
    [letter] = _letters(p.records)
    assert letter["reason"] == "self_review"
    assert (letter["source"], letter["partition"], letter["offset"]) == (DECISIONS, 0, 23)


def test_a_parked_input_kept_before_its_offset_was_remembered_still_reads() -> None:
    """Timers written by an earlier version carry no offset: they decode, with none."""
    raw = b'{"due": "2026-03-03T09:00:00Z", "kind": "parked", "timer": {"employee_id": "E1", "topic": "d", ' \
          b'"value": "{}", "timestamp": null}}'
    timer, _ = decode_timer(raw)
    assert isinstance(timer, ParkedInput) and timer.offset is None
    again, _ = decode_timer(encode_timer(ParkedInput("E1", "d", "{}", None, 7), _))
    assert isinstance(again, ParkedInput) and again.offset == 7
