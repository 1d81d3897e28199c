"""Kafka clients are closed when they cannot be made or started: the commands that read Kafka with two clients
(``publish --tick``'s wait for the workers, ``status``) close the first when the second cannot be made (a broker
gone between the two makings left the first one's connections open), and the worker's directory reader is stopped
when its start fails.

Kafka is an edge here: the clients are stand-ins, refusing as kafka-python and aiokafka do with no broker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import kafka
import pytest
from kafka.errors import KafkaConnectionError

import wayfinder.streams.app as worker_app
import wayfinder.streams.publish as publishing
from wayfinder.ops.status import read_kafka
from wayfinder.streams.settings import WorkerSettings

SETTINGS = WorkerSettings(topic_prefix="p.", app_id="grp")
MADE: list[ClosingClient] = []  # the admin clients made, in order


class ClosingClient:
    def __init__(self, **config: object) -> None:
        self.closed = False
        MADE.append(self)

    def close(self) -> None:
        self.closed = True


def no_broker(**config: object) -> None:
    raise KafkaConnectionError


@pytest.fixture
def admins() -> list[ClosingClient]:
    MADE.clear()
    return MADE


def test_the_wait_for_the_workers_closes_its_admin_client(monkeypatch: pytest.MonkeyPatch,
                                                          admins: list[ClosingClient]) -> None:
    monkeypatch.setattr(publishing, "KafkaAdminClient", ClosingClient)
    monkeypatch.setattr(publishing, "KafkaConsumer", no_broker)
    with pytest.raises(KafkaConnectionError):
        publishing.wait_caught_up(SETTINGS, timeout=1)
    assert [a.closed for a in admins] == [True]


def test_status_closes_its_admin_client(monkeypatch: pytest.MonkeyPatch, admins: list[ClosingClient]) -> None:
    monkeypatch.setattr(kafka, "KafkaAdminClient", ClosingClient)  # read_kafka imports them when it runs
    monkeypatch.setattr(kafka, "KafkaConsumer", no_broker)
    with pytest.raises(KafkaConnectionError):
        read_kafka(SETTINGS, datetime(2027, 1, 1, tzinfo=UTC))
    assert [a.closed for a in admins] == [True]


def test_the_directory_reader_is_stopped_when_its_start_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    stopped: list[bool] = []

    class Unstartable:
        def __init__(self, *topics: str, **config: object) -> None:
            pass

        async def start(self) -> None:
            raise KafkaConnectionError

        async def stop(self) -> None:
            stopped.append(True)

    monkeypatch.setattr(worker_app, "AIOKafkaConsumer", Unstartable)
    with pytest.raises(KafkaConnectionError):
        asyncio.run(worker_app.follow_directory(SETTINGS, {}))
    assert stopped == [True]
