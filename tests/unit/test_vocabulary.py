"""The shared vocabulary: one definition of each word, and the places that list them agree with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from wayfinder.streams.topics import COMPACTED, INPUTS, INTERNAL, OUTPUTS
from wayfinder.vocabulary import Topic, input_topic, iso, parse_instant


def test_times_are_read_with_an_offset_and_written_in_utc() -> None:
    assert parse_instant("2026-03-02T10:15:00+01:00") == datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    assert iso(datetime(2026, 3, 2, 10, 15, tzinfo=timezone(timedelta(hours=1)))) == "2026-03-02T09:15:00Z"
    with pytest.raises(ValueError, match=r"'2026-03-02T09:15' has no offset: add Z or \+01:00"):
        parse_instant("2026-03-02T09:15")
    with pytest.raises(ValueError, match=r"'yesterday' is not an RFC 3339 time"):
        parse_instant("yesterday")


def test_every_topic_the_worker_creates_is_a_known_topic() -> None:
    assert {Topic(n) for n in (*INPUTS, *OUTPUTS, *INTERNAL, *COMPACTED)} <= set(Topic)


def test_engagement_events_are_told_apart_by_their_type() -> None:
    assert input_topic("engagement.message.clicked") is Topic.ENGAGEMENT_EVENTS
    assert input_topic("hris.employee.hired") is Topic.HRIS_EVENTS


def test_publish_routes_each_event_to_its_topic_by_type() -> None:
    from wayfinder.streams.publish import route

    def routed(event_type: str) -> str:
        return route(f'{{"type": "{event_type}", "subject": "E1"}}'.encode())[0]

    assert routed("hris.employee.hired") == "hris.events"
    assert routed("engagement.message.clicked") == "engagement.events"
    assert routed("wayfinder.review.decided") == "decisions"
    assert routed("wayfinder.preferences.changed") == "decisions"
    assert route(b"not json") == ("hris.events", None)


def test_topic_names_and_the_engagement_prefix_are_spelled_in_the_vocabulary_only() -> None:
    """Every other module names a topic by ``Topic`` and tells an engagement event by ``input_topic``: a topic
    renamed in one place cannot leave another module reading or writing the old name."""
    import ast

    from tests.unit.test_layers import _modules

    spelled = {t.value for t in Topic if any(c in t.value for c in ".-")} | {"engagement."}
    found = []
    for module, path in _modules():
        if module == "wayfinder.vocabulary":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in spelled:
                found.append(f"{module}:{node.lineno}: {node.value!r}")
    assert sorted(found) == []
