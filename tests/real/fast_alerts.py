"""A real Prometheus (Debian's) with the shipped rules, some of whose durations are shortened so that alerts
reach ``firing`` within a test: the crash-loop and broker-outage scenarios (tests/real/test_crash_loop_live.py,
tests/real/test_broker_outage_live.py).

Only the durations named by a test change: an alert's ``for:`` and, where the expression itself holds a duration
(WayfinderBrokerUnreachable's 120 s of lag age), that number. The rest of each rule is the shipped text, so an
alert firing here is the shipped expression holding on live data for the shortened time. Which durations are
shortened, and by how much, is written next to each use.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from tests.real.kafka_world import KafkaWorld, Worker
from tests.real.test_prometheus_live import RULES, Prometheus, eventually, running_prometheus


def shortened_rules(fors: Mapping[str, str], exprs: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    """The shipped rules evaluated every second, with ``for:`` of the alerts in ``fors`` replaced and, for the
    alerts in ``exprs``, one piece of the expression replaced (``(old, new)``; the old text must be there)."""
    rules: dict[str, Any] = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    seen = set()
    for group in rules["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            name = rule.get("alert")
            if name in fors:
                rule["for"] = fors[name]
                seen.add(name)
            if name in exprs:
                old, new = exprs[name]
                assert old in rule["expr"], f"{name}: {old!r} is no longer in its expression"
                rule["expr"] = rule["expr"].replace(old, new)
    assert seen == set(fors), f"no such alerts: {set(fors) - seen}"
    return rules


@contextmanager
def fast_prometheus(folder: Path, fors: Mapping[str, str],
                    exprs: Mapping[str, tuple[str, str]] | None = None) -> Iterator[Prometheus]:
    """Prometheus scraping every second the targets a test names (job ``wayfinder-worker``, ``file_sd``)."""
    with running_prometheus(folder, shortened_rules(fors, exprs or {}), ("wayfinder-worker",)) as prom:
        yield prom


class WatchedWorker(NamedTuple):
    worker: Worker
    url: str  # its HTTP base (``/readyz``, ``/healthz``, ``/metrics``)
    address: str  # host:port, the ``instance`` label of its series
    lag: str  # the query of its input lag (hris.events)


def watched_worker(world: KafkaWorld, prometheus: Prometheus) -> WatchedWorker:
    """A worker of ``world`` started and scraped by ``prometheus``, once a scrape has read its (idle) lag as 0."""
    worker = world.start_worker()
    url = worker.metrics_url().removesuffix("/metrics")
    address = url.removeprefix("http://")
    prometheus.targets("wayfinder-worker", [address])
    lag = f'sum(wayfinder_consumer_lag_messages{{topic="{world.settings.topic("hris.events")}"}})'
    eventually(lambda: prometheus.value(lag), lambda v: v == 0, 60, "the idle worker scraped with lag 0")
    return WatchedWorker(worker, url, address, lag)


def alert_states(prom: Prometheus) -> dict[str, set[str]]:
    """Each alert Prometheus has now, with its states (``pending``, ``firing``) over its label sets."""
    found: dict[str, set[str]] = {}
    for a in prom.api("alerts")["alerts"]:
        found.setdefault(a["labels"]["alertname"], set()).add(a["state"])
    return found


def alerts_named(prom: Prometheus, name: str) -> list[dict[str, Any]]:
    return [a for a in prom.api("alerts")["alerts"] if a["labels"]["alertname"] == name]
