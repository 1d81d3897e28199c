"""A worker started while the broker is away waits for it before joining (it exited after Faust's ~30 s)."""

from __future__ import annotations

import logging

import pytest
from kafka.errors import KafkaTimeoutError

from wayfinder.streams import partitions
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
