"""The lag probe's own broker clients: none left open when starting fails, none handed out while being closed.

The aiokafka clients are stood in for (the edge here is their lifecycle, not a broker); the probe against a real
broker is in tests/real (lag, readiness, the committed offsets a worker learns on assignment).
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import aiokafka
import aiokafka.admin
import pytest

from wayfinder.streams.health import LagProbe
from wayfinder.streams.settings import WorkerSettings


class Client:
    """Records what was done to it; ``fails`` names the call that raises."""

    made: ClassVar[list[Client]] = []
    fails: ClassVar[str] = ""

    def __init__(self, **_: Any) -> None:
        self.started = self.closed = False
        Client.made.append(self)

    async def _call(self, name: str) -> None:
        await asyncio.sleep(0)  # a real client awaits the network here: others may run meanwhile
        if Client.fails == f"{type(self).__name__}.{name}":
            raise ConnectionError(name)

    async def start(self) -> None:
        await self._call("start")
        self.started = True


class Admin(Client):
    async def close(self) -> None:
        self.closed = True
        await self._call("close")

    async def list_consumer_group_offsets(self, group: str, partitions: list[Any]) -> dict[Any, Any]:
        await self._call("list")
        return {tp: None for tp in partitions}


class Consumer(Client):
    async def stop(self) -> None:
        self.closed = True
        await self._call("stop")


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> LagProbe:
    monkeypatch.setattr(aiokafka.admin, "AIOKafkaAdminClient", Admin)
    monkeypatch.setattr(aiokafka, "AIOKafkaConsumer", Consumer)
    monkeypatch.setattr(Client, "made", [])
    monkeypatch.setattr(Client, "fails", "")
    return LagProbe(WorkerSettings(store="memory", metrics_port=None))


def test_a_consumer_that_fails_to_start_leaves_no_admin_client_open(probe: LagProbe) -> None:
    Client.fails = "Consumer.start"
    with pytest.raises(ConnectionError):
        asyncio.run(probe.committed([("t", 0)]))
    admin, consumer = Client.made
    assert admin.started and admin.closed
    assert consumer.closed


def test_a_failing_close_still_stops_the_consumer_and_the_failure_to_start_is_what_raises(
        probe: LagProbe, monkeypatch: pytest.MonkeyPatch) -> None:
    Client.fails = "Consumer.start"

    async def fails_to_close(self: Admin) -> None:
        msg = "close"
        raise OSError(msg)

    monkeypatch.setattr(Admin, "close", fails_to_close)
    with pytest.raises(ConnectionError, match="start"):
        asyncio.run(probe.committed([("t", 0)]))
    assert Client.made[1].closed


def test_a_reading_while_the_clients_are_closed_gets_new_ones(probe: LagProbe) -> None:
    async def main() -> tuple[dict[Any, Any], list[Client]]:
        await probe.committed([("t", 0)])
        first = list(Client.made)
        closing = asyncio.ensure_future(probe.close())
        await asyncio.sleep(0)  # the close is under way (awaiting the admin's close)
        read = await probe.committed([("t", 1)])
        await closing
        return read, first

    read, first = asyncio.run(main())
    assert read == {("t", 1): None}
    assert all(c.closed for c in first)
    assert len(Client.made) == 4  # a second pair was started for the reading
    assert not any(c.closed for c in Client.made[2:])


def test_close_without_clients_does_nothing(probe: LagProbe) -> None:
    asyncio.run(probe.close())
    assert Client.made == []
