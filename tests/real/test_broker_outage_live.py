"""The broker stopped and started again under a running worker, scraped by a real Prometheus (Debian's) with the
shipped rules: during the outage the lag gauge holds what was not committed (never 0), its age grows,
``/readyz`` fails while ``/healthz`` stays ok, WayfinderBrokerUnreachable fires and WayfinderWorkerDown does not;
once the broker is back the worker goes on by itself, the lag returns to 0 and the outputs are simulate's.

The broker is this test's own (deploy/local/kafka on the session broker's port + 100, its state in the test's
folder), never the session's shared one, which other tests use. Commits are held back (every 45 s) so that the
events are read but not committed when the broker stops: the lag is then exactly the published events.

Shortened for the test (the rest of each rule is the shipped text): WayfinderBrokerUnreachable's threshold of
120 s of lag age to 10 s, and its ``for: 3m`` to 5 s, so that it is seen firing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.real.fast_alerts import alert_states, alerts_named, fast_prometheus, watched_worker
from tests.real.kafka_world import KafkaWorld, kafka_world, simulate_messages
from tests.real.own_broker import OwnBroker
from tests.real.test_kafka import UNTIL, statuses
from tests.real.test_prometheus_live import EVENTS, Prometheus, _topic_of, eventually, http_json
from tests.support import at

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]

COMMIT_INTERVAL = 45  # seconds: the first commit comes well after the broker stopped
OUTAGE = 30  # seconds the broker stays down
UNREACHABLE = {"WayfinderBrokerUnreachable": "5s"}  # shipped: 3m
UNREACHABLE_EXPR = {"WayfinderBrokerUnreachable": ("> 120", "> 10")}  # shipped: 120 s of lag age


@pytest.fixture
def broker(own_broker: OwnBroker) -> OwnBroker:
    return own_broker


@pytest.fixture
def world(broker: OwnBroker, tmp_path: Path) -> Iterator[KafkaWorld]:
    env = {"WAYFINDER_LAG_INTERVAL_SECONDS": "1", "WAYFINDER_LOG_FORMAT": "json",
           "WAYFINDER_BROKER_COMMIT_INTERVAL": str(COMMIT_INTERVAL), "WAYFINDER_BROKER_COMMIT_EVERY": "1000000"}
    yield from kafka_world(broker.address, tmp_path, extra_env=env)


@pytest.fixture
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    with fast_prometheus(tmp_path_factory.mktemp("prometheus"), UNREACHABLE, UNREACHABLE_EXPR) as p:
        yield p


def test_the_lag_holds_through_a_broker_outage_and_the_worker_recovers_by_itself(
        broker: OwnBroker, world: KafkaWorld, prometheus: Prometheus, tmp_path: Path) -> None:
    started = time.monotonic()
    oracle = ThreadPoolExecutor(1).submit(simulate_messages, EVENTS, UNTIL, tmp_path / "sim")  # meanwhile
    worker, url, address, lag = watched_worker(world, prometheus)

    world.publish_file(EVENTS)
    published = sum(1 for line in EVENTS.read_bytes().split(b"\n") if line.strip() and _topic_of(line) == "hris.events")
    eventually(lambda: prometheus.value(lag), lambda v: v == published, 30, f"lag {published} before the outage")
    processed = 'sum(wayfinder_processing_seconds_count{stage="employees", input="hris.events"})'
    eventually(lambda: prometheus.value(processed), lambda v: v == published, 30, "all processed, none committed")

    stop_took = broker.run("down")
    down_at = time.monotonic()
    reasons = eventually(lambda: http_json(f"{url}/readyz"), lambda r: r[0] == 503 and any(
        "the broker does not answer" in x for x in r[1]["reasons"]), 60, "not ready: broker away")[1]["reasons"]
    not_ready_after = time.monotonic() - down_at
    assert http_json(f"{url}/healthz")[0] == 200, "alive: only the broker is away"
    firing = eventually(lambda: alerts_named(prometheus, "WayfinderBrokerUnreachable"),
                        lambda a: any(x["state"] == "firing" for x in a), 60, "WayfinderBrokerUnreachable firing")
    firing_after = time.monotonic() - down_at
    assert [a["labels"]["instance"] for a in firing] == [address]
    time.sleep(max(0.0, OUTAGE - (time.monotonic() - down_at)))
    # During the whole outage: the gauge held what was read and not committed, never 0 (the truth: the broker
    # holds the committed offsets and nothing could be committed or produced while it was down).
    window = f"{max(2, int(time.monotonic() - down_at) - 1)}s"
    held = (prometheus.value(f"min_over_time(({lag})[{window}:1s])"),
            prometheus.value(f"max_over_time(({lag})[{window}:1s])"))
    assert held == (published, published)
    age = prometheus.value(f'wayfinder_consumer_lag_age_seconds{{instance="{address}"}}')
    assert age is not None and age > OUTAGE - 10
    failures = prometheus.value("wayfinder_lag_measurement_failures_total")
    assert failures is not None and failures > 0
    assert prometheus.value(f'up{{instance="{address}"}}') == 1
    assert prometheus.value("wayfinder_worker_ready") == 0
    during = alert_states(prometheus)
    assert "WayfinderWorkerDown" not in during and "WayfinderAgentCrashLoop" not in during, during
    outage = time.monotonic() - down_at

    start_took = broker.run("up")
    up_at = time.monotonic()
    eventually(lambda: prometheus.value(lag), lambda v: v == 0, COMMIT_INTERVAL + 60, "lag 0 after the outage")
    zero_after = time.monotonic() - up_at
    eventually(lambda: http_json(f"{url}/readyz")[0], lambda s: s == 200, 60, "ready again")
    eventually(lambda: alert_states(prometheus), lambda s: "WayfinderBrokerUnreachable" not in s, 30,
               "WayfinderBrokerUnreachable resolved")
    assert worker.process.poll() is None, "the same worker went on: no restart needed"
    world.tick(at(UNTIL))
    expected, _ = oracle.result(timeout=120)
    assert eventually(lambda: statuses(world), lambda s: s == expected, 90, "the journeys' messages") == expected
    print(f"broker outage: down in {stop_took:.0f}s; readyz 503 after {not_ready_after:.0f}s {reasons}; "
          f"WayfinderBrokerUnreachable firing after {firing_after:.0f}s; lag {published} throughout the "
          f"{outage:.0f}s outage (lag age {age:.0f}s, {failures:.0f} failed measurements); alerts {during}; "
          f"up again in {start_took:.0f}s, lag 0 {zero_after:.0f}s later; {len(expected)} messages as simulate; "
          f"scenario {time.monotonic() - started:.0f}s")
