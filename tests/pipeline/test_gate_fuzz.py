"""The stages read a backlog as a worker on the event clock reads it (``tests/pipeline/gate_fuzz.py``: replicated
bundled events, each topic partition at its own pace while the publisher runs ahead, inputs kept for their turn,
people known late on other partitions, retries round the ticks topic, restarts from the tables) and end every
message as ``simulate`` does. The seeds are ones that, before 2026-12-05, decided an employee's input that joined
their line of inputs waiting for a recipient ahead of their earlier input kept for its turn: an onboarding
``review-nudge`` that ``simulate`` never sends, as the kill -9 test on Kafka once saw."""

from __future__ import annotations

from functools import cache

import pytest

from tests.pipeline.gate_fuzz import defaults, differences, replicated, run_stages, simulated
from wayfinder.journeys.events import CloudEvent

EVENTS = 3000


@cache
def _events() -> list[tuple[CloudEvent, bytes]]:
    return replicated(EVENTS)


@cache
def _expected() -> dict[str, str]:
    return simulated(defaults(), _events())


@pytest.mark.parametrize(("seed", "restarts"), [(52, 0), (74, 0), (118, 0), (7, 2)])
def test_a_backlogged_worker_ends_every_message_as_simulate(seed: int, restarts: int) -> None:
    assert differences(_expected(), run_stages(defaults(), _events(), seed, restarts=restarts)) == []
