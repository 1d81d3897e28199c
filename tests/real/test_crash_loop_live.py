"""An agent crash-looping on the real broker, scraped by a real Prometheus (Debian's) with the shipped rules: the
crash counter rises, the lag keeps counting the input the agent fails on and everything behind it (never 0),
``/readyz`` fails while ``/healthz`` stays ok, WayfinderAgentCrashLoop fires; a worker started without the fault
finishes the input and everything behind it, once each.

The fault: the test-only switch ``WAYFINDER_TEST_CRASH_MARKER`` (streams/app.py ``crash_marker``) makes every try
to send the records of an input containing the marker fail after its state was sent, as a failing producer
would. No input of the real world can be made to fail that way on demand (the dead-letter path takes every bad
input; see README "Live scenarios: a crash loop and a broker outage").

Shortened for the test (the rest of each rule is the shipped text): WayfinderAgentCrashLoop's ``for: 5m`` to 5 s,
so that it is seen firing; its window (more than 3 crashes in 10 minutes) is as shipped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.real.fast_alerts import alert_states, alerts_named, fast_prometheus, watched_worker
from tests.real.kafka_world import KafkaWorld, kafka_world
from tests.real.test_prometheus_live import Prometheus, eventually, http_json

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]

MARKER = "crash-loop-test-fault"
BEHIND = 40  # inputs published behind the failing one: all wait
CRASH_LOOP_FOR = "5s"  # shipped: 5m


@pytest.fixture
def world(kafka_broker: str, tmp_path: Path) -> Iterator[KafkaWorld]:
    env = {"WAYFINDER_LAG_INTERVAL_SECONDS": "1", "WAYFINDER_LOG_FORMAT": "json",
           "WAYFINDER_TEST_CRASH_MARKER": MARKER}
    yield from kafka_world(kafka_broker, tmp_path, extra_env=env)


@pytest.fixture
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    with fast_prometheus(tmp_path_factory.mktemp("prometheus"), {"WayfinderAgentCrashLoop": CRASH_LOOP_FOR}) as p:
        yield p


def test_a_crash_looping_agent_keeps_its_input_counted_and_fires_the_crash_loop_alert(
        world: KafkaWorld, prometheus: Prometheus) -> None:
    started = time.monotonic()
    worker, url, address, lag = watched_worker(world, prometheus)
    crashes = 'sum(wayfinder_agent_crashes_total{agent="employees"})'
    assert prometheus.value(crashes) == 0

    bad = [f'{{"not json": "{MARKER}"'.encode()]
    world.publish_lines(bad)
    eventually(lambda: prometheus.value(crashes), lambda v: v is not None and v >= 1, 30, "the first crash")
    behind = [f'{{"not json": {n}'.encode() for n in range(BEHIND)]
    world.publish_lines(behind)  # after the first crash: none of them can have been processed
    eventually(lambda: prometheus.value(lag), lambda v: v == BEHIND + 1, 30, f"lag {BEHIND + 1}")
    loop_started = time.monotonic()

    status, body = eventually(lambda: http_json(f"{url}/readyz"), lambda r: r[0] == 503 and any(
        "agent crashes in the last 300s" in reason for reason in r[1]["reasons"]), 30, "not ready: crash loop")
    assert http_json(f"{url}/healthz")[0] == 200, "alive: the event loop runs, only the agent fails"
    firing = eventually(lambda: alerts_named(prometheus, "WayfinderAgentCrashLoop"),
                        lambda a: any(x["state"] == "firing" for x in a), 60, "WayfinderAgentCrashLoop firing")
    loop_seconds = time.monotonic() - loop_started
    assert [(a["labels"]["instance"], a["labels"]["agent"]) for a in firing] == [(address, "employees")]
    count = prometheus.value(crashes)
    assert count is not None and count > 3
    # Truthful all along: from the first scrape that counted them all to now, the lag never read less than the
    # inputs waiting (a gauge that followed the fetch position read 0 here; before the fix, Faust acked the
    # crashed input and the lag read 0 once the others had been processed).
    window = f"{max(2, int(time.monotonic() - loop_started) - 1)}s"  # whole seconds after the 41 was first seen
    assert prometheus.value(f"min_over_time(({lag})[{window}:1s])") == BEHIND + 1
    assert prometheus.value("wayfinder_worker_ready") == 0
    assert prometheus.value(f'up{{instance="{address}"}}') == 1
    states = alert_states(prometheus)
    assert "WayfinderWorkerDown" not in states and "WayfinderConsumerLagGrowing" not in states, states
    print(f"\ncrash loop: {count:.0f} crashes and the alert firing {loop_seconds:.0f}s after the inputs behind; "
          f"lag {BEHIND + 1} throughout; readyz {status} {body['reasons']}; alerts {states}")

    # The operator fixes the cause (here: a worker without the fault) and replaces the pod. SIGKILL: a worker
    # stuck in a crash loop takes its whole grace period on SIGTERM (Faust waits for the input).
    worker.kill()
    fixed = world.start_worker(WAYFINDER_TEST_CRASH_MARKER="")
    prometheus.targets("wayfinder-worker", [fixed.metrics_url().removeprefix("http://").removesuffix("/metrics")])
    restarted = time.monotonic()
    eventually(lambda: prometheus.value(lag), lambda v: v == 0, 90, "lag 0 after the fixed worker took over")
    print(f"lag 0 {time.monotonic() - restarted:.0f}s after the fixed worker was ready")
    letters = [json.loads(v) for _, v in world.read("dead-letters") if v is not None]
    raws = [d["raw"] for d in letters]
    assert set(raws) == {line.decode() for line in bad + behind}, "every input finished, none lost"
    # At least once: inputs finished but not yet committed when the group moved them may be finished again.
    print(f"dead letters: {len(raws)} for {len(bad + behind)} inputs")
    print(f"crash loop scenario: {time.monotonic() - started:.0f}s")

