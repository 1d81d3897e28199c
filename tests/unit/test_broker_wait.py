"""A worker started while the broker is away waits for it before joining (it exited after Faust's ~30 s)."""

from __future__ import annotations

import logging

import pytest
from kafka.errors import KafkaTimeoutError
from prometheus_client import CollectorRegistry

from wayfinder.streams import partitions
from wayfinder.streams.health import WorkerHealth
from wayfinder.streams.metrics import StreamMetrics
from wayfinder.streams.settings import WorkerSettings


def test_the_start_up_check_waits_for_the_broker_and_says_so(monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    answers: list[BaseException | dict[str, int]] = [KafkaTimeoutError(), KafkaTimeoutError(), {}]

    def counts(_settings: WorkerSettings) -> dict[str, int]:
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    created: list[WorkerSettings] = []
    monkeypatch.setattr(partitions, "partition_counts", counts)
    def create(settings: WorkerSettings) -> tuple[list[str], list[str]]:
        created.append(settings)
        return [], []

    monkeypatch.setattr(partitions, "create_topics", create)
    slept: list[float] = []
    with caplog.at_level(logging.WARNING, logger=partitions.log.name):
        partitions.check_worker_topics(WorkerSettings(store="memory"), retry_seconds=2.0, sleep=slept.append)
    assert slept == [2.0, 2.0] and answers == []
    assert len(created) == 1  # then on as before: the topics are created once it answers
    assert sum("the broker does not answer (KafkaTimeoutError)" in r.getMessage() for r in caplog.records) == 2


def test_while_the_broker_does_not_answer_the_readiness_says_so_and_where(monkeypatch: pytest.MonkeyPatch) -> None:
    """Started with a broker address that answers nothing (a WAYFINDER_BROKER not exported, say), /readyz said only
    "waiting to join the consumer group" while the log said why; status showed that reason."""
    answers: list[BaseException | dict[str, int]] = [KafkaTimeoutError(), {}]

    def counts(_settings: WorkerSettings) -> dict[str, int]:
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    monkeypatch.setattr(partitions, "partition_counts", counts)
    monkeypatch.setattr(partitions, "create_topics", lambda _settings: ([], []))
    settings = WorkerSettings(store="memory", metrics_port=None, broker="kafka://127.0.0.1:19999")
    health = WorkerHealth(settings, StreamMetrics(CollectorRegistry()))
    while_waiting: list[tuple[str, ...]] = []
    partitions.check_worker_topics(settings, retry_seconds=2.0, broker_away=health.waiting_for_broker,
                                   sleep=lambda _s: while_waiting.append(health.ready().reasons))
    assert while_waiting == [("the broker does not answer at 127.0.0.1:19999 (WAYFINDER_BROKER); waiting for it "
                              "before joining the consumer group",)]
    assert health.ready().reasons == ("waiting to join the consumer group (no assignment yet)",), "it answers now"
