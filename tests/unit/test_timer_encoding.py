"""A stage's timers as the table keeps them (``streams.wire.encode_timer``): every kind the same bytes as its
fields through ``dataclasses.asdict`` (what the encoding was), without copying the values."""

from __future__ import annotations

import copy
import json
from dataclasses import asdict
from typing import Any, NoReturn

import pytest

from tests.support import at
from wayfinder.journeys.effects import DigestTimer, EnrollmentTimer, MailboxTimer, ReviewTimer
from wayfinder.streams.wire import ParkedInput, StageTimer, decode_timer, dumps, encode_timer

TIMERS: list[StageTimer] = [
    EnrollmentTimer("E1", "onboarding", "enr-1", 3), MailboxTimer("M1", "msg-1"), ReviewTimer("E1", "msg-2"),
    DigestTimer("M1", "dg-1"), ParkedInput("E1", "engagement.events", '{"type":"x","data":{"é":"\\""}}', 12.5),
    ParkedInput("E2", "hris.events", "{}", None)]


@pytest.mark.parametrize("timer", TIMERS, ids=lambda t: type(t).__name__)
def test_a_timer_is_encoded_as_its_fields_were_and_reads_back(timer: StageTimer) -> None:
    due = at("2026-03-02T09:00:00Z")
    kind = {"EnrollmentTimer": "enrollment", "MailboxTimer": "mailbox", "ReviewTimer": "review",
            "DigestTimer": "digest", "ParkedInput": "parked"}[type(timer).__name__]
    raw = encode_timer(timer, due)
    assert raw == dumps({"due": due, "kind": kind, "timer": asdict(timer)})
    assert list(json.loads(raw)["timer"]) == list(asdict(timer))  # the fields in their order
    assert decode_timer(raw) == (timer, due)


def test_a_timer_is_encoded_without_copying_its_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every field is a string, a number or None: ``asdict``'s deep copy of each was most of the cost of parking an
    input (the stages alone, 2026-12-05)."""
    def no_copy(*args: Any, **kwargs: Any) -> NoReturn:
        msg = "copied"
        raise AssertionError(msg)

    monkeypatch.setattr(copy, "deepcopy", no_copy)
    for timer in TIMERS:
        assert json.loads(encode_timer(timer, at("2026-03-02T09:00:00Z")))["timer"]
