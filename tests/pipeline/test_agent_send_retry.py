"""An input whose state or records cannot be sent is sent again, counted as an agent crash, never dropped (the
Faust app is built but not started; its producer is a stand-in that fails as a broker would)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from prometheus_client import CollectorRegistry

from tests.pipeline import test_worker_tuning
from wayfinder.clock import utc_now
from wayfinder.streams.app import _Builder, crash_marker, load_definitions
from wayfinder.streams.settings import WorkerSettings
from wayfinder.streams.wire import Record

loop = test_worker_tuning.loop  # Faust binds its app to the current event loop (a fixture, found by name)


class FlakyProducer:
    """Refuses the first ``failures`` records (not the state's writes), then takes everything."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[tuple[str, Any]] = []

    async def send(self, topic: str, key: Any, value: Any, partition: Any, timestamp: Any, headers: Any) -> None:
        if not topic.endswith("changelog") and self.failures:
            self.failures -= 1
            msg = "KafkaConnectionError stand-in"
            raise ConnectionError(msg)
        self.sent.append((topic, value))


def test_records_that_cannot_be_sent_are_sent_again_and_each_failure_is_a_crash(
        loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    settings = WorkerSettings(store="memory", metrics_port=None, data_dir=tmp_path)
    builder = _Builder(settings, CollectorRegistry(), utc_now, load_definitions(settings))
    producer = FlakyProducer(failures=1)
    builder.app._producer = cast(Any, producer)  # the app is never started; its producer is the stand-in
    m = SimpleNamespace(topic="wayfinder.hris.events", partition=2, offset=7, value=b"{}")
    records = [Record("dead-letters", None, b"letter")]
    loop.run_until_complete(builder._emit("employees", "x-employees-changelog", m,
                                          [(b"s:E1", b"state")], records))
    assert producer.sent == [("x-employees-changelog", b"state"), ("x-employees-changelog", b"state"),
                             ("wayfinder.dead-letters", b"letter")], "state again with each try, then the record once"
    crashes = builder.registry.get_sample_value("wayfinder_agent_crashes_total", {"agent": "employees"})
    assert crashes == 1
    assert len(builder.health.crashes) == 1


def test_the_test_only_fault_switch_is_off_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAYFINDER_TEST_CRASH_MARKER", raising=False)
    assert crash_marker() is None
    monkeypatch.setenv("WAYFINDER_TEST_CRASH_MARKER", "")
    assert crash_marker() is None
    monkeypatch.setenv("WAYFINDER_TEST_CRASH_MARKER", "boom")
    assert crash_marker() == b"boom"
