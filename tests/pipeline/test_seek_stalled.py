"""A partition read again whose missing offset has not come is sought again only while its agent has nothing
queued (``_Builder._seek_stalled``): one agent takes every partition of its stage, and while it works through a
backlog the missing record may be queued behind other partitions' records (the Faust app is built, not started)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from faust.types import TP

from tests.pipeline import test_worker_tuning
from tests.pipeline.test_agent_send_retry import _builder
from wayfinder.streams.health import REREAD_AGAIN_SECONDS
from wayfinder.vocabulary import Topic

loop = test_worker_tuning.loop  # Faust binds its app to the current event loop (a fixture, found by name)


def test_a_partition_is_sought_again_only_once_its_agent_has_taken_every_queued_record(
        loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    builder = _builder(tmp_path)
    topic = builder.settings.topic(Topic.MAILBOX)
    builder.app.consumer = cast(Any, SimpleNamespace(assignment=lambda: {TP(topic, 0)}))
    sought: list[tuple[str, int, int]] = []

    async def seek(topic: str, partition: int, offset: int) -> None:
        sought.append((topic, partition, offset))

    builder._reread = cast(Any, SimpleNamespace(seek=seek))
    long_ago = time.monotonic() - 2 * REREAD_AGAIN_SECONDS
    builder._offsets.expect(topic, 0, 3)
    assert builder._offsets.see(topic, 0, 5, long_ago).reread_from == 3  # sought back to 3 long ago

    queued: asyncio.Queue[str] = asyncio.Queue()
    queued.put_nowait("a record of another partition, perhaps offset 3 behind it")

    async def take(records: list[Any]) -> None:  # the mailbox agent, on its stream of those records
        stream = SimpleNamespace(channel=SimpleNamespace(queue=queued), events=lambda: _each(records))
        await builder._agent(builder.mailboxes, builder.mailboxes.handle)(stream)

    loop.run_until_complete(take([]))
    loop.run_until_complete(builder._seek_stalled())
    assert sought == [], "sought again while the agent still had records queued: they come twice"
    queued.get_nowait()  # the agent took them all, and offset 3 was not among them
    loop.run_until_complete(builder._seek_stalled())
    assert sought == [(topic, 0, 3)]


async def _each(records: list[Any]) -> Any:
    for record in records:
        yield record


def test_a_partition_revoked_during_the_seek_of_another_is_not_sought(
        loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    builder = _builder(tmp_path)
    topic = builder.settings.topic(Topic.MAILBOX)
    builder.app.consumer = cast(Any, SimpleNamespace(assignment=lambda: {TP(topic, 0), TP(topic, 1)}))
    sought: list[tuple[str, int, int]] = []

    async def seek(topic: str, partition: int, offset: int) -> None:
        sought.append((topic, partition, offset))
        await builder._on_revoked(None, {TP(topic, 0), TP(topic, 1)})  # a rebalance while the seek waits

    builder._reread = cast(Any, SimpleNamespace(seek=seek, forget=lambda tps: None))
    long_ago = time.monotonic() - 2 * REREAD_AGAIN_SECONDS
    for partition in (0, 1):
        builder._offsets.expect(topic, partition, 3)
        assert builder._offsets.see(topic, partition, 5, long_ago).reread_from == 3
    loop.run_until_complete(builder._seek_stalled())
    assert len(sought) == 1, "a partition forgotten on its revocation was sought (its read mark put back) after all"
