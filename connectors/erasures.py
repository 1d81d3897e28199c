"""The erasures ``deliver --kafka`` must honour: the ``audit`` topic's erasure records, followed from its start.

A worker does not rewrite ``outbound.messages`` when it erases someone (the topic is not compacted: README "What
Wayfinder cannot rewrite"), so a message about or to a person erased since it was made is still there for a
``deliver`` that lags the worker (a backfill, a pause, a delivery outage). The file path skips such messages by the
run's redacted records (``Message.content_erased``); the Kafka path asks this follower, with the rule the file's
redaction uses (``records.erased_since``: a digest by the messages it names in ``gathered``, too).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from wayfinder.connectors.switch import TopicFollower
from wayfinder.journeys.records import Message, erased_since, note_erasure


class KafkaErasures(TopicFollower):
    """Who was erased and when (the latest erasure of an id), read from the ``audit`` topic."""

    def __init__(self, bootstrap: str, topic: str, *, poll_seconds: float = 2.0) -> None:
        super().__init__(bootstrap, topic, poll_seconds=poll_seconds)
        self.erased: dict[str, datetime] = {}

    def take(self, values: list[bytes]) -> None:
        for value in values:
            note(self.erased, value)

    async def about_erased(self, message: Message) -> bool:
        """Whether ``message`` is about or to a person erased at or after it was made, or is a digest that went
        with such a message in it (its ``gathered``; a hire after the erasure makes new messages, which go)."""
        await self.follow()
        return erased_since(self.erased, message)


def note(erased: dict[str, datetime], value: bytes | None) -> bool:
    """Keep one audit record's erasure (others, and records that do not parse, are passed over); whether ``erased``
    changed (``records.note_erasure``)."""
    try:
        record: Any = json.loads(value or b"")
        return isinstance(record, dict) and note_erasure(erased, record)
    except (ValueError, TypeError):
        return False
