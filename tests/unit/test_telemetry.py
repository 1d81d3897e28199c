"""Health verdicts, lag arithmetic, JSON log lines and the dashboard's queries, without servers or Kafka."""

from __future__ import annotations

import io
import json
import logging
import re
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from tests.support import ROOT
from wayfinder.connectors.metrics import DeliveryMetrics
from wayfinder.hris.metrics import IntakeMetrics
from wayfinder.streams.health import RestoreWatch, WorkerHealth, partition_lag
from wayfinder.streams.metrics import StreamMetrics
from wayfinder.streams.settings import WorkerSettings
from wayfinder.telemetry import JsonFormatter, QuietRepeats, add_standard_collectors, one_line_records
from wayfinder.web.metrics import WebMetrics

DASHBOARD = ROOT / "deploy" / "grafana" / "wayfinder.json"
RULES = ROOT / "deploy" / "prometheus" / "alerts.yaml"


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def health(**settings: Any) -> tuple[WorkerHealth, FakeClock]:
    clock = FakeClock()
    s = WorkerSettings(store="memory", metrics_port=None, topic_prefix="p.", **settings)
    return WorkerHealth(s, StreamMetrics(CollectorRegistry()), clock=clock), clock


def test_lag_is_the_log_end_minus_the_committed_offset_and_all_of_a_partition_never_committed() -> None:
    ends = {"a": 120, "b": 50, "c": 10}
    assert partition_lag(ends, {"a": 100, "b": 50, "c": None}, {"c": 4}) == {"a": 20, "b": 0, "c": 6}
    assert partition_lag({"a": 5}, {"a": 9}, {}) == {"a": 0}


def test_a_worker_is_not_ready_until_it_joined_and_then_while_it_is_behind() -> None:
    h, clock = health(ready_max_lag=10)
    assert h.ready().reasons == ("waiting to join the consumer group (no assignment yet)",)
    h.on_assigned({("p.hris.events", 0), ("p.hris.events", 1), ("wayfinder-employees-changelog", 0)})
    h.joined = True
    assert h.assigned == {("p.hris.events", 0), ("p.hris.events", 1)}, "changelogs are not the worker's inputs"
    assert h.ready().reasons == ("lag not measured yet",)
    h.measured_lag({("p.hris.events", 0): 7, ("p.hris.events", 1): 4})
    assert h.ready().reasons == ("11 messages behind on the assigned partitions (WAYFINDER_READY_MAX_LAG 10)",)
    h.measured_lag({("p.hris.events", 0): 7, ("p.hris.events", 1): 3})
    assert h.ready().ok
    clock.t += 3 * 5.0 + 11
    assert "the broker does not answer" in h.ready().reasons[0], "a stale measurement is not trusted"


def test_the_lag_age_says_how_old_the_lag_gauge_is_when_the_broker_stops_answering() -> None:
    h, clock = health()
    h.started = clock.t
    clock.t += 4
    age = "wayfinder_consumer_lag_age_seconds"
    assert h.metrics.registry.get_sample_value(age) == 4, "before the first measurement: since start-up"
    h.on_assigned({("p.hris.events", 0)})
    h.measured_lag({("p.hris.events", 0): 12})
    assert h.metrics.registry.get_sample_value(age) == 0
    clock.t += 90  # the broker is away: no measurement since; the gauge keeps the last value
    assert h.metrics.registry.get_sample_value(age) == 90
    labels = {"topic": "p.hris.events", "partition": "0"}
    assert h.metrics.registry.get_sample_value("wayfinder_consumer_lag_messages", labels) == 12


def test_a_crash_loop_makes_the_worker_not_ready_and_is_counted() -> None:
    h, clock = health()
    h.joined = True
    for _ in range(3):
        h.crashed("employees")
        clock.t += 10
    assert h.ready().reasons == ("3 agent crashes in the last 300s",)
    assert h.metrics.registry.get_sample_value("wayfinder_agent_crashes_total", {"agent": "employees"}) == 3
    assert h.metrics.registry.get_sample_value("wayfinder_worker_ready") == 0
    clock.t += 300
    assert h.ready().ok and h.metrics.registry.get_sample_value("wayfinder_worker_ready") == 1


def test_alive_until_the_event_loop_stops_beating() -> None:
    h, clock = health()
    assert h.alive().ok, "starting: alive before the first beat"
    h.beat = clock.t
    clock.t += 59
    assert h.alive().ok
    clock.t += 2
    assert h.alive().reasons == ("the event loop has not run for 61s",)


def test_a_restore_that_receives_nothing_is_started_again_then_the_worker_is_not_alive() -> None:
    watch = RestoreWatch(30.0, restarts_allowed=2)
    assert not watch.check(None, 100.0), "no restore waiting"
    assert not watch.check(100.0, 129.0), "moved 29 s ago: waiting"
    assert watch.check(100.0, 130.0) and watch.restarts == 1
    assert not watch.check(100.0, 132.0), "started again 2 s ago, and the restore does not show it yet"
    assert not watch.check(131.0, 140.0), "the restart moved it"
    assert watch.check(131.0, 161.0) and watch.restarts == 2
    assert not watch.check(162.0, 200.0) and watch.stuck == 38.0, "the restarts are used up: stuck"
    assert not watch.check(None, 201.0)
    assert watch.restarts == 0 and not watch.stuck, "the restore finished: the next one starts afresh"
    never = RestoreWatch(0.0)
    assert not never.check(0.0, 10_000.0) and never.stuck is None, "0: never restarted, never stuck"


def test_not_alive_once_a_stalled_restore_was_started_again_too_often() -> None:
    h, clock = health()
    h.restore = RestoreWatch(30.0, restarts_allowed=1)
    assert h.restore.check(clock.t - 30, clock.t)
    assert h.alive().ok, "started again: still alive"
    clock.t += 31
    assert not h.restore.check(clock.t - 40, clock.t)
    assert h.alive().reasons == ("a table restore has received nothing for 31s, started again 1 times",)
    h.restore.check(None, clock.t)
    assert h.alive().ok


def json_line(record_extra: dict[str, Any], exc: BaseException | None = None) -> dict[str, Any]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("wayfinder.test.json")
    logger.handlers[:] = [handler]
    logger.propagate = False
    if exc is None:
        logger.warning("processed %s", "input", extra=record_extra)
    else:
        try:
            raise exc
        except type(exc):
            logger.exception("failed", extra=record_extra)
    [line] = stream.getvalue().splitlines()
    parsed: dict[str, Any] = json.loads(line)
    return parsed


def test_a_json_line_has_the_stable_keys_and_only_the_known_ids() -> None:
    line = json_line({"event_id": "ev-1", "partition": 3, "offset": 17, "email": "someone@example.com"})
    assert list(line)[:4] == ["time", "level", "logger", "message"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    assert line["level"] == "warning" and line["message"] == "processed input"
    assert (line["event_id"], line["partition"], line["offset"]) == ("ev-1", 3, 17)
    assert "email" not in line and "someone@example.com" not in json.dumps(line)


def test_an_exception_is_logged_by_type_and_frames_never_by_its_text() -> None:
    line = json_line({}, ValueError("Ada Lovelace <ada@example.com> is not a valid manager"))
    assert line["exc_type"] == "ValueError"
    assert any("test_telemetry.py" in frame for frame in line["stack"])
    assert "Ada" not in json.dumps(line) and "example.com" not in json.dumps(line)



def test_raw_record_bytes_are_logged_by_size_and_record_keys_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    """What aiokafka's producer logs at DEBUG for every record it sends, from any logger, in any handler."""
    monkeypatch.setattr(logging, "_logRecordFactory", logging.getLogRecordFactory())  # restored after the test
    one_line_records()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("aiokafka.tests.payload")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    value = b'{"given_name":"Ada","email":"ada@example.com"}'
    try:
        logger.debug("Sending (key=%s value=%s) to %s", b"s:E1001", value, "t.directory")
        logger.debug("%(key)r %(value)r", {"key": b"b:1:0176:t.hris.events:41", "value": bytearray(b"ada@x.org")})
        logger.debug("Sending (key=%s value=%s)", b"ada@example.com", b"Ada Lovelace")  # an address is no id
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    assert stream.getvalue().splitlines() == [
        f"Sending (key=b's:E1001' value=<{len(value)} bytes>) to t.directory",
        "b'b:1:0176:t.hris.events:41' <9 bytes>",
        "Sending (key=<15 bytes> value=<12 bytes>)"]

def exported() -> set[str]:
    """Every series name the processes export, with the names of histogram and counter samples."""
    registries = [CollectorRegistry() for _ in range(4)]
    StreamMetrics(registries[0])
    DeliveryMetrics(registries[1])
    WebMetrics(registries[2], pending=lambda: 0.0, oldest_age=lambda: 0.0)
    IntakeMetrics(registries[3], ["bamboohr"])
    for registry, role in zip(registries, ("worker", "deliver", "serve", "intake"), strict=True):
        add_standard_collectors(registry, role)
    names: set[str] = set()
    for registry in registries:
        for family in registry.collect():
            names.add(family.name)
            if family.type == "counter":
                names.add(f"{family.name}_total")
            if family.type == "histogram":
                names |= {f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count")}
    return names


def dashboard_exprs() -> list[str]:
    doc = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]


def recorded() -> set[str]:
    import yaml

    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return {r["record"] for g in doc["groups"] for r in g["rules"] if "record" in r}


def names_in(exprs: list[str]) -> set[str]:
    return {name for e in exprs for name in re.findall(r"\b(?:wayfinder_[a-z_]+|process_[a-z_]+|up)\b|"
                                                        r"\bwayfinder:[a-z_:0-9]+", e)}


def missing(exprs: list[str]) -> set[str]:
    return names_in(exprs) - exported() - recorded() - {"up"}


def test_the_dashboard_loads_and_reads_only_metrics_that_exist() -> None:
    exprs = dashboard_exprs()
    assert len(exprs) >= 20
    assert not missing(exprs), f"the dashboard reads metrics no process exports: {sorted(missing(exprs))}"
    assert {"wayfinder_consumer_lag_messages", "wayfinder_agent_crashes_total", "wayfinder_delivery_failures_total",
            "process_start_time_seconds", "wayfinder:consumer_lag_messages:sum_by_topic"} <= names_in(exprs)
    # the HR webhooks' (since 2026-12-05; before, the intake's metrics were on no panel)
    assert {"wayfinder_intake_requests_total", "wayfinder_intake_events_total", "wayfinder_intake_items_rejected_total",
            "wayfinder_intake_duplicates_total", "wayfinder_intake_ack_seconds_bucket"} <= names_in(exprs)


# What SPEC §10 asks a platform team to see, each by a series the dashboard reads: events by type and outcome,
# enrollments/exits/completions by journey, messages by channel and status, delivery attempts, failures and
# latency, dead letters by reason (the workers' and deliver's), event to decision and to delivery, pending timers
# and approvals, consumer lag.
SPEC_FAMILIES = {"wayfinder_events_consumed_total", "wayfinder_journey_enrollments_total",
                 "wayfinder_message_decisions_total", "wayfinder_delivery_attempts_total",
                 "wayfinder_delivery_failures_total", "wayfinder_delivery_latency_seconds_bucket",
                 "wayfinder_delivery_messages_total", "wayfinder_dead_letters_total",
                 "wayfinder_delivery_dead_letters_total", "wayfinder_event_to_decision_seconds_bucket",
                 "wayfinder_event_to_delivery_seconds_bucket", "wayfinder_pending_timers", "wayfinder_reviews_pending",
                 "wayfinder_consumer_lag_messages"}


def test_the_dashboard_shows_every_family_spec_names() -> None:
    """Before 2026-12-05 it had no journey enrollments, no delivery latency or event to delivery, no delivered or
    failed messages and none of deliver's dead letters (a platform audit)."""
    assert SPEC_FAMILIES - names_in(dashboard_exprs()) == set()


def test_the_dashboard_check_sees_a_misspelt_metric() -> None:
    assert missing(["sum(rate(wayfinder_agent_crash_total[5m]))", "wayfinder:lag:nope"]) == {
        "wayfinder_agent_crash_total", "wayfinder:lag:nope"}


def test_a_lag_measurement_that_ends_after_a_rebalance_shows_only_the_partitions_still_assigned() -> None:
    h, _ = health()
    h.on_assigned({("p.hris.events", 0), ("p.hris.events", 1)})
    began_with = h.assigned
    h.on_assigned({("p.hris.events", 1)})  # the rebalance came while the broker was being asked
    h.measured_lag(dict.fromkeys(began_with, 5))
    sample = h.metrics.registry.get_sample_value
    assert sample("wayfinder_consumer_lag_messages", {"topic": "p.hris.events", "partition": "0"}) is None
    assert sample("wayfinder_consumer_lag_messages", {"topic": "p.hris.events", "partition": "1"}) == 5


def test_a_kafka_clients_repeated_line_is_written_once_per_interval_with_a_count() -> None:
    """With the broker away aiokafka wrote the same error thousands of times a second (26 MB in 70 s)."""
    now = [0.0]
    quiet = QuietRepeats(seconds=10.0, clock=lambda: now[0])

    def record(name: str, msg: str) -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, None, None)

    passed = []
    for i in range(3000):
        now[0] = i * 0.01  # 30 s of 100 lines a second
        r = record("aiokafka.client", "Unable connect to node with id %s")
        if quiet.filter(r):
            passed.append(r.getMessage() if r.args else str(r.msg))
    assert len(passed) == 3
    assert passed[0] == "Unable connect to node with id %s"
    assert passed[1].endswith("[999 more like this in the last 10 s left out]")
    assert all(quiet.filter(record("wayfinder.worker", "same line")) for _ in range(5))  # ours pass untouched


def test_every_job_the_down_alerts_watch_has_an_alert_for_no_target_at_all() -> None:
    """``up{job=...} == 0`` needs a target whose scrape fails: a Deployment scaled to 0 or a pod Pending without an
    address has none. Only the workers had an ``absent(up{...})`` alert; a deliver stuck Pending on its ledger
    volume sent nothing and nothing alerted."""
    import yaml

    exprs = [r["expr"] for g in yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"] for r in g["rules"]
             if "alert" in r]

    def jobs(pattern: str) -> set[str]:
        return {job for e in exprs for found in re.findall(pattern, e) for job in found.split("|")}

    watched = jobs(r'\bup\{job=~?"([^"]+)"\}\s*==\s*0')
    assert watched == {"wayfinder-worker", "wayfinder-deliver", "wayfinder-serve", "wayfinder-intake"}
    # the HR webhooks are optional (deploy/k8s/intake, a Component off by default): no target is no problem
    assert jobs(r'\babsent\(up\{job="([^"]+)"\}\)') == watched - {"wayfinder-intake"}
