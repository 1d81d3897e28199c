"""An input whose state or records cannot be sent is sent again, counted as an agent crash, never dropped (the
Faust app is built but not started; its producer is a stand-in that fails as a broker would)."""

from __future__ import annotations

import asyncio
import io
import logging
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aiokafka.errors import KafkaTimeoutError
from prometheus_client import CollectorRegistry

from tests.pipeline import test_worker_tuning
from wayfinder.clock import utc_now
from wayfinder.streams.app import _Builder, crash_marker, load_definitions
from wayfinder.streams.settings import WorkerSettings
from wayfinder.streams.wire import Record

loop = test_worker_tuning.loop  # Faust binds its app to the current event loop (a fixture, found by name)


class FlakyProducer:
    """Refuses the first ``failures`` records (not the state's writes), then takes everything. Its aiokafka side
    (``_ensure_producer``) notes the topics its client is told to track."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[tuple[str, Any]] = []
        self.tracked: list[str] = []
        self.client = SimpleNamespace(add_topic=self.tracked.append)

    def _ensure_producer(self) -> FlakyProducer:
        return self

    async def send(self, topic: str, key: Any, value: Any, partition: Any, timestamp: Any,
                   headers: Any) -> asyncio.Future[None]:
        if not topic.endswith("changelog") and self.failures:
            self.failures -= 1
            msg = "KafkaConnectionError stand-in"
            raise ConnectionError(msg)
        self.sent.append((topic, value))
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        delivered.set_result(None)  # the broker took it
        return delivered


def _builder(tmp_path: Path, **settings: Any) -> _Builder:
    """A worker's app and stages built, not started (memory tables, no metrics server)."""
    worker = WorkerSettings(store="memory", metrics_port=None, data_dir=tmp_path, **settings)
    return _Builder(worker, CollectorRegistry(), utc_now, load_definitions(worker))


def test_records_that_cannot_be_sent_are_sent_again_and_each_failure_is_a_crash(
        loop: asyncio.AbstractEventLoop, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    builder = _builder(tmp_path)
    producer = FlakyProducer(failures=1)
    builder.app._producer = cast(Any, producer)  # the app is never started; its producer is the stand-in
    m = SimpleNamespace(topic="wayfinder.hris.events", partition=2, offset=7, value=b"{}")
    records = [Record("dead-letters", None, b"letter")]
    with caplog.at_level(logging.ERROR, "wayfinder.streams.app"):
        loop.run_until_complete(builder._emit("employees", "x-employees-changelog", m,
                                              [(b"s:E1", b"state")], records))
    # the crash line names the input it is stuck on under the JSON keys too (issue 13: partition, offset)
    (crash,) = [r for r in caplog.records if r.getMessage().startswith("agent employees crashed")]
    assert [getattr(crash, k, None) for k in ("agent", "topic", "partition", "offset")] == [
        "employees", "wayfinder.hris.events", 2, 7]
    assert producer.sent == [("x-employees-changelog", b"state"), ("x-employees-changelog", b"state"),
                             ("wayfinder.dead-letters", b"letter")], "state again with each try, then the record once"
    crashes = builder.registry.get_sample_value("wayfinder_agent_crashes_total", {"agent": "employees"})
    assert crashes == 1
    assert len(builder.health.crashes) == 1


def test_the_producer_tracks_every_topic_the_worker_writes_to_once_per_producer(
        loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    """aiokafka drops from its metadata a topic it was not told of as soon as it is told of another (a deleted or
    late topic asked for): a batch held for the dropped topic had no leader and every commit hung behind it."""
    builder = _builder(tmp_path, topic_prefix="x.")
    settings = builder.settings
    first = FlakyProducer(failures=0)
    builder.app._producer = cast(Any, first)
    m = SimpleNamespace(topic="x.hris.events", partition=0, offset=1, value=b"{}")
    for _ in range(3):
        loop.run_until_complete(builder._emit("employees", "x-employees-changelog", m, [(b"s:E1", b"state")],
                                              [Record("dead-letters", None, b"letter")]))
    written = {"x.dead-letters", "x.outbound.messages", "x.approvals", "x.tasks", "x.audit", "x.mailbox",
               "x.employee-ticks", "x.mailbox-ticks", "x.delivery.receipts"}
    assert written <= set(first.tracked)
    assert {t for t in first.tracked if t.endswith("changelog")} == {
        settings.app_id + "-employees-changelog", settings.app_id + "-mailboxes-changelog"}
    assert len(first.tracked) == len(set(first.tracked)), "told once, not with each send"
    second = FlakyProducer(failures=0)  # Faust's producer started again: the new one is told too
    builder.app._producer = cast(Any, second)
    loop.run_until_complete(builder._emit("employees", "x-employees-changelog", m, [], []))
    assert sorted(second.tracked) == sorted(first.tracked)


def test_a_record_the_producer_gave_up_on_stops_the_worker_before_its_input_is_committed(
        loop: asyncio.AbstractEventLoop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """The process exit is the edge stood in for here; tests/real/test_undelivered_kafka.py has the real one."""
    exits: list[int] = []
    monkeypatch.setattr(os, "_exit", exits.append)
    builder = _builder(tmp_path, producer_request_timeout=7.0)
    taken, cancelled, refused = (loop.create_future() for _ in range(3))
    taken.set_result(None)
    cancelled.cancel()
    refused.set_exception(KafkaTimeoutError())
    for delivery in (taken, cancelled):
        builder._undelivered(delivery)
    assert exits == []
    builder._undelivered(refused)
    assert exits == [75]
    said = [r.getMessage() for r in caplog.records if r.levelname == "CRITICAL"]
    assert said == ["a record was not delivered within WAYFINDER_PRODUCER_REQUEST_TIMEOUT (7s): KafkaTimeoutError; "
                    "the worker stops before its input is committed (exit 75) and reads it again when restarted"]


def test_a_handler_that_cannot_flush_does_not_keep_the_worker_going(
        loop: asyncio.AbstractEventLoop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Raised in the delivery's callback, the flush's error would be swallowed by the loop and the worker would go
    on to commit the input whose record never left (CI once saw this flush raise)."""
    exits: list[int] = []
    monkeypatch.setattr(os, "_exit", exits.append)
    monkeypatch.setattr(logging, "raiseExceptions", False)  # emit's error is the logging module's to report
    closed = io.TextIOWrapper(io.BytesIO())
    closed.close()
    gone = logging.StreamHandler(closed)  # its stream closed under it (a pipe gone, a test's capture ended)
    logging.getLogger().addHandler(gone)
    try:
        builder = _builder(tmp_path)
        refused = loop.create_future()
        refused.set_exception(KafkaTimeoutError())
        builder._undelivered(refused)
    finally:
        logging.getLogger().removeHandler(gone)
    assert exits == [75]


def test_the_test_only_fault_switch_is_off_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAYFINDER_TEST_CRASH_MARKER", raising=False)
    assert crash_marker() is None
    monkeypatch.setenv("WAYFINDER_TEST_CRASH_MARKER", "")
    assert crash_marker() is None
    monkeypatch.setenv("WAYFINDER_TEST_CRASH_MARKER", "boom")
    assert crash_marker() == b"boom"


def test_each_stages_timer_series_are_there_at_zero_before_a_timer_fires(
        loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    """Issue 13's dashboard: its "Timers fired" and "Timer lateness" panels returned nothing from a worker that had not
    fired a timer yet (a real Prometheus scraping a fresh worker), and the first burst was a new series that rate()
    and WayfinderTimersLate did not see, unlike the other counters labelled by stage."""
    builder = _builder(tmp_path)
    builder.build()  # the app with its agents, not started
    registry = builder.registry
    assert registry.get_sample_value("wayfinder_agent_crashes_total", {"agent": "employees"}) == 0.0  # as these
    for stage in ("employees", "mailboxes"):
        assert registry.get_sample_value("wayfinder_timers_fired_total", {"stage": stage}) == 0.0
        assert registry.get_sample_value("wayfinder_timer_lateness_seconds_count", {"stage": stage}) == 0.0
