"""A table restore that receives nothing is started again (README "Stalled restores"): on the real broker, a worker
that takes over a partition whose changelog has records loses its place in them right after Faust sought them (a
test-only switch; a CI run saw a restore receive nothing for two minutes, cause not found). Faust would wait for
ever; the worker starts the restore again, restores the tables and decides every message as ``simulate`` does.
Without the restart (``WAYFINDER_RESTORE_STALL_SECONDS=0``) the worker never gets past the restore."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.real.kafka_world import KafkaWorld, kafka_world
from tests.real.test_kafka import EVENTS, UNTIL, eventually
from tests.real.test_kafka_order import _decision, _simulated
from tests.support import at
from wayfinder.streams.app import TEST_STALL_SETTING
from wayfinder.streams.publish import wait_caught_up

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]


@pytest.fixture
def world(kafka_broker: str, tmp_path: Path) -> Iterator[KafkaWorld]:
    yield from kafka_world(kafka_broker, tmp_path, partitions=1)


def test_a_restore_that_receives_nothing_is_started_again_and_every_message_is_as_simulate_says(
        world: KafkaWorld, tmp_path: Path) -> None:
    expected = _simulated(EVENTS, tmp_path / "sim")
    lines = EVENTS.read_text(encoding="utf-8").splitlines(keepends=True)
    first, rest = tmp_path / "first.jsonl", tmp_path / "rest.jsonl"
    first.write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    rest.write_text("".join(lines[len(lines) // 2:]), encoding="utf-8")
    before = world.start_worker()
    world.publish_file(first)
    assert wait_caught_up(world.settings, timeout=120), "the first worker did not catch up"
    before.stop()  # its tables are in the changelogs only (memory store): the next worker restores them

    after = world.start_worker(**{TEST_STALL_SETTING: "1", "WAYFINDER_RESTORE_STALL_SECONDS": "3"})
    world.publish_file(rest)
    world.tick(at(UNTIL), timeout=120)
    got = eventually(lambda: {mid: _decision(m) for mid, m in world.messages()[0].items()}, lambda g: g == expected)
    assert got == expected
    log = after.text()
    assert "a table restore has received no changelog record for" in log
    assert "starting it again (1 of 3)" in log
    metrics = after.scrape()
    assert "wayfinder_table_restores_restarted_total 1.0" in metrics
