"""A stalled worker on the real broker, scraped by a real Prometheus (Debian's) with the shipped rules: the lag
grows, the lag alerts' expressions hold on the live data and the alerts go pending, the worker stays alive and
not ready, and the lag falls back once the stall ends; ``promtool check metrics`` accepts the worker's scrape.

The stall is one an operator meets: a topic the worker writes to is gone (deleted by mistake; the broker does not
create topics on use). The employees agent waits for the dead-letter topic in a send (the first, or the first
past what the producer buffers), so nothing more is processed or committed while the worker keeps answering its
scrapes and measuring its lag. The alerts' ``for:``
of minutes cannot pass in a test: pending, with the alert's own expression returning the stalled topic, is what
this test asserts (the firing side is in the promtool unit tests, deploy/prometheus/tests).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.real import test_prometheus_live as live_prometheus
from tests.real.kafka_world import KafkaWorld, kafka_world
from tests.real.test_alert_rules import promtool
from tests.real.test_prometheus_live import RULES, Prometheus, eventually
from wayfinder.streams.topics import create_topics
from wayfinder.vocabulary import Topic

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(420)]

prometheus = live_prometheus.prometheus  # the same Prometheus fixture: shipped rules evaluated every second
BAD_LINES = 700  # two bursts: above the 1,000 messages WayfinderConsumerLagGrowing asks for


@pytest.fixture
def world(kafka_broker: str, tmp_path: Path) -> Iterator[KafkaWorld]:
    env = {"WAYFINDER_LAG_INTERVAL_SECONDS": "1", "WAYFINDER_LOG_FORMAT": "json"}
    yield from kafka_world(kafka_broker, tmp_path, extra_env=env)


def alert_expr(name: str) -> str:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return next(str(r["expr"]) for g in doc["groups"] for r in g["rules"] if r.get("alert") == name)


def alerts(prom: Prometheus) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for a in prom.api("alerts")["alerts"]:
        found.setdefault(a["labels"]["alertname"], []).append(a)
    return found


def _total(metrics: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples in a scrape of the worker (those with the given labels)."""
    total = 0.0
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def _steady(probe: Callable[[], float], for_seconds: float, timeout: float) -> float:
    """The probe's value once it has not changed for ``for_seconds``."""
    deadline = time.monotonic() + timeout
    value, since = probe(), time.monotonic()
    while time.monotonic() - since < for_seconds:
        assert time.monotonic() < deadline, f"not steady within {timeout}s (last: {value})"
        time.sleep(0.5)
        now = probe()
        if now != value:
            value, since = now, time.monotonic()
    return value


def test_a_stalled_worker_makes_the_lag_grow_and_the_lag_alerts_hold(world: KafkaWorld,
                                                                     prometheus: Prometheus) -> None:
    started = time.monotonic()
    worker = world.start_worker()
    address = worker.metrics_url().removeprefix("http://").removesuffix("/metrics")
    topic = world.settings.topic("hris.events")
    eventually(lambda: _total(worker.scrape(), "wayfinder_consumer_lag_messages", topic=topic),
               lambda v: v == 0, 60, "the idle worker measures its lag: 0")

    check = subprocess.run([promtool(), "check", "metrics"], input=worker.scrape(), capture_output=True, text=True,
                           timeout=60, check=False)
    assert check.returncode == 0 and not check.stdout.strip() and not check.stderr.strip(), check.stdout + check.stderr

    world.delete_topic(Topic.DEAD_LETTERS)
    # The producer still knows the deleted topic's partitions from its first metadata, so the first dead letters
    # may be taken into its buffer (and their inputs counted as consumed) before a send waits: how many depends on
    # timing. Prometheus is given the worker once the stall holds, so what it sees is a worker that consumes
    # nothing while its lag grows (a count that rose between two of its scrapes would keep WayfinderNoProgress,
    # "nothing consumed in 10 minutes", from going pending within this test).
    world.publish_lines([b"{not json"] * BAD_LINES)
    eventually(lambda: _total(worker.scrape(), "wayfinder_consumer_lag_messages", topic=topic),
               lambda v: v == BAD_LINES, 60, f"lag of {topic} == {BAD_LINES}")
    stalled = _steady(lambda: _total(worker.scrape(), "wayfinder_events_consumed_total"), 3.0, 60.0)
    assert stalled < BAD_LINES, f"the worker is not stalled: it consumed {stalled} of {BAD_LINES}"
    prometheus.targets("wayfinder-worker", [address])
    lag = f'sum(wayfinder_consumer_lag_messages{{topic="{topic}"}})'
    eventually(lambda: prometheus.value(lag), lambda v: v == BAD_LINES, 60, f"Prometheus sees the lag: {BAD_LINES}")
    world.publish_lines([b"{not json"] * BAD_LINES)
    eventually(lambda: prometheus.value(lag), lambda v: v == 2 * BAD_LINES, 60, f"lag grows to {2 * BAD_LINES}")
    assert _total(worker.scrape(), "wayfinder_events_consumed_total") == stalled, "still stalled"

    wanted = {"WayfinderConsumerLagGrowing", "WayfinderNoProgress"}
    seen = eventually(lambda: alerts(prometheus), lambda a: wanted <= set(a), 60, f"alerts pending: {wanted}")
    assert {a["labels"]["topic"] for a in seen["WayfinderConsumerLagGrowing"]} == {topic}
    assert {a["labels"]["instance"] for a in seen["WayfinderNoProgress"]} == {address}
    assert all(a["state"] == "pending" for name in wanted for a in seen[name])  # `for:` of minutes
    # The expression reads a recording rule, evaluated a moment after the scrape that saw the lag at its height.
    holding = eventually(lambda: prometheus.query(alert_expr("WayfinderConsumerLagGrowing")),
                         lambda h: bool(h) and float(h[0]["value"][1]) >= 2 * BAD_LINES, 30,
                         f"the lag alert's expression at {2 * BAD_LINES}")
    assert [r["metric"]["topic"] for r in holding] == [topic] and float(holding[0]["value"][1]) >= 2 * BAD_LINES
    assert prometheus.query(alert_expr("WayfinderNoProgress")), "no progress: the alert's expression holds"
    assert prometheus.value(f'up{{instance="{address}"}}') == 1, "stalled, not dead: the scrapes go on"
    eventually(lambda: prometheus.value("wayfinder_worker_ready"), lambda v: v == 0, 30, "not ready while stalled")
    assert "WayfinderAgentCrashLoop" not in alerts(prometheus)

    create_topics(world.settings)  # the topic is back: the agent's send goes through and the backlog is processed
    # About 20 s. Before the producer was told every topic the worker writes to (``streams.app._Builder._send``),
    # one run in three on a fresh broker stayed at 1,400 for the producer's 20-minute request timeout: a batch held
    # for a topic aiokafka had dropped from its metadata blocked every commit
    eventually(lambda: prometheus.value(lag), lambda v: v == 0, 120, "lag back to 0 after the stall")
    dead = eventually(lambda: prometheus.value('sum(wayfinder_dead_letters_total{reason="invalid_json"})'),
                      lambda v: v == 2 * BAD_LINES, 30, "every bad line dead-lettered once the topic is back")
    assert dead == 2 * BAD_LINES
    processed = 'sum(wayfinder_processing_seconds_count{stage="employees", input="hris.events"})'
    eventually(lambda: prometheus.value(processed), lambda v: v == 2 * BAD_LINES, 30, "each input timed once")
    clocks = prometheus.query("wayfinder_stream_time_seconds")
    assert sorted((r["metric"]["stage"], r["metric"]["partition"]) for r in clocks) == sorted(
        (stage, str(p)) for stage in ("employees", "mailboxes") for p in range(world.partitions))
    print(f"\nstall scenario: {time.monotonic() - started:.0f}s")
