"""Readiness through a table restore that is started again: Faust signals "rebalance complete" for the interrupted
restore too, and the worker stays not ready until the restore has read what it needs (README "Stalled restores").
The Faust app is built, never started; its recovery service is driven by hand."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

from faust.types import TP
from prometheus_client import CollectorRegistry

from tests.pipeline import test_worker_tuning
from wayfinder.clock import utc_now
from wayfinder.streams.app import _Builder, load_definitions
from wayfinder.streams.settings import WorkerSettings

loop = test_worker_tuning.loop  # Faust binds its app to the current event loop (a fixture, found by name)


def test_a_restore_started_again_keeps_the_worker_not_ready_until_it_has_read_its_changelogs(
        loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    settings = WorkerSettings(store="memory", metrics_port=None, data_dir=tmp_path)
    builder = _Builder(settings, CollectorRegistry(), utc_now, load_definitions(settings))
    health, recovery = builder.health, cast(Any, builder.app.tables).recovery  # not in Faust's TableManagerT
    changelog = TP("wayfinder-employees-changelog", 0)
    recovery.active_tps.add(changelog)
    recovery.active_highwaters[changelog], recovery.active_offsets[changelog] = 9, -1
    health.rebalancing = True  # the partitions were revoked, then assigned
    recovery._set_recovery_started()
    loop.run_until_complete(builder._on_rebalance_complete(None))  # the interrupted restore's "complete"
    assert health.joined and health.rebalancing
    assert "rebalancing or restoring tables" in health.ready().reasons
    recovery.active_offsets[changelog] = 9
    recovery._set_recovery_ended()
    loop.run_until_complete(builder._on_rebalance_complete(None))  # the restore read everything
    assert not health.rebalancing
    assert "rebalancing or restoring tables" not in health.ready().reasons
