"""Prometheus metrics of the stream workers (SPEC §10), against an injected registry."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from wayfinder.journeys.events import DATA_MODELS
from wayfinder.journeys.schemas import BUILT_IN_EVENTS

_PROCESSING_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LATENESS_BUCKETS = (1.0, 5.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 86400.0, 7 * 86400.0)
# The policy's review window as a metric, so that WayfinderReviewOverdue compares with the policy in force rather
# than a constant in the rule (worker and serve export it beside the oldest pending review's age).
REVIEW_WINDOW_HELP = ("The policy's review_window: a message waiting longer than this for a decision is escalated "
                      "(WayfinderReviewOverdue)")
STATE_CHUNK = 2000  # table entries measured between two yields to the event loop
STATE_SCAN_SHARE = 0.01  # the most of a worker's time the measuring of its tables may take
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


DEAD_LETTER_REASONS = ("invalid_json", "invalid_cloudevent", "invalid_data", "too_large", "date_out_of_range",
                       "not_pending", "self_review", "erased_subject", "processing_error", "entry_too_large",
                       "record_too_large", "state_too_large", "render_error")
"""The reasons a worker dead-letters an input for (the codes before a dead letter's ``:``)."""


_LABELLED_TYPES = frozenset(DATA_MODELS) | frozenset(BUILT_IN_EVENTS)  # with the extensions (a task worked)


def event_type_label(event_type: str | None) -> str:
    """Known types (SPEC §2, §11 and the README's extensions) as themselves; anything else as ``other`` (labels
    stay bounded)."""
    return event_type if event_type in _LABELLED_TYPES else "other"


class StreamMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        counter, gauge = partial(Counter, registry=registry), partial(Gauge, registry=registry)
        histogram = partial(Histogram, registry=registry)
        self.events = counter("wayfinder_events_consumed_total", "Events consumed, by type and outcome",
                              ["type", "outcome"])
        self.dead_letters = counter("wayfinder_dead_letters_total", "Inputs sent to the dead-letter topic", ["reason"])
        for reason in DEAD_LETTER_REASONS:  # 0 from the start: increase() and the alert see the first burst
            self.dead_letters.labels(reason)
        self.decisions = counter("wayfinder_message_decisions_total", "Message decisions, by channel and status",
                                 ["channel", "status"])
        self.enrollments = counter("wayfinder_journey_enrollments_total", "Journey enrollments, exits and completions",
                                   ["journey", "kind"])
        # The same, one counter each (SPEC §10 names them apart; a sum over the one above mixes kinds)
        self.entered = counter("wayfinder_journey_entries_total", "Employees who entered a journey", ["journey"])
        self.exits = counter("wayfinder_journey_exits_total", "Enrollments an exit_on event ended", ["journey"])
        self.completions = counter("wayfinder_journey_completions_total", "Enrollments that ran to their end",
                                   ["journey"])
        self.tasks = counter("wayfinder_tasks_total", "Tasks opened for a person", ["journey"])
        self.approvals = counter("wayfinder_approvals_requested_total", "Messages held for a person to review",
                                 ["journey"])
        self.expression_failures = counter("wayfinder_expression_failures_total", "Expressions that failed at run "
                                           "time (counted as false) and other counted problems (a template that did "
                                           "not render), by journey and step", ["journey", "step", "kind"])
        self.latency = histogram("wayfinder_event_to_decision_seconds", "From an event's arrival on Kafka to the "
                                 "decisions it caused", buckets=_LATENCY_BUCKETS)
        self.pending_timers = gauge("wayfinder_pending_timers", "Timers waiting in this worker", ["stage"])
        self.lag = gauge("wayfinder_consumer_lag_messages", "Messages not yet processed: the log end offset minus the "
                         "group's committed offset, per assigned input partition", ["topic", "partition"])
        self.holds = gauge("wayfinder_recipient_holds", "Employees whose inputs wait for a recipient the directory "
                           "does not know yet (README \"no_recipient\")")
        self.waiting_for_order = gauge("wayfinder_inputs_waiting_for_order", "Inputs kept until the other input "
                                       "topics of their partition are read up to their time (the event clock: "
                                       "README \"Kafka order\")")
        self.holds_stale = counter("wayfinder_recipient_holds_stale_total", "Lines of waiting inputs that stopped "
                                   "moving (a retry lost): they no longer hold their partition")
        self.repartitioned = counter("wayfinder_inputs_repartitioned_total", "Inputs that arrived on another "
                                     "partition than their subject's, or not keyed by it, and were forwarded there "
                                     "keyed by it (a producer with another partitioner or key)", ["topic"])
        self.processing_errors = counter("wayfinder_processing_errors_total", "Inputs whose processing raised; they "
                                         "go to the dead-letter topic", ["stage"])
        self.agent_crashes = counter("wayfinder_agent_crashes_total", "Agent crashes: an agent raised out of its loop "
                                     "(Faust's supervisor restarts it) or could not send an input's state or records "
                                     "(it tries again)", ["agent"])
        self.skipped = counter("wayfinder_input_offsets_skipped_total", "Offsets of an agent's input partition that "
                               "the consumer never delivered and that could not be read again (lost inputs; README "
                               "\"Offsets skipped\")", ["stage"])
        self.reread = counter("wayfinder_input_gaps_reread_total", "Times an agent found offsets of an input partition "
                              "the consumer skipped and read the partition again from the first one (README \"Offsets "
                              "skipped\")", ["stage"])
        self.restore_restarts = counter("wayfinder_table_restores_restarted_total", "Table restores from the "
                                        "changelogs that received nothing for WAYFINDER_RESTORE_STALL_SECONDS and were "
                                        "started again (README \"Stalled restores\")")
        self.agent_starts = counter("wayfinder_agent_starts_total", "Agent starts (more than one per agent: restarts "
                                    "after crashes)", ["agent"])
        self.rebalances = counter("wayfinder_rebalances_total", "Partition assignments this worker received")
        self.assigned = gauge("wayfinder_assigned_partitions", "Partitions of each input topic assigned to this worker",
                              ["topic"])
        self.ready = gauge("wayfinder_worker_ready", "1 while /readyz answers ok (joined, caught up, no crash loop)")
        self.lag_failures = counter("wayfinder_lag_measurement_failures_total", "Lag measurements the broker did not "
                                    "answer (the lag gauge keeps its last value)")
        self.lag_age = gauge("wayfinder_consumer_lag_age_seconds", "Seconds since the lag was last measured (since "
                             "start-up before the first): above a few lag intervals the broker does not answer and "
                             "wayfinder_consumer_lag_messages holds its last measured values")
        self.stream_time = gauge("wayfinder_stream_time_seconds", "The partition's clock as a Unix time: the wall "
                                 "clock, or with the event clock the time the partition's inputs and ticks reached",
                                 ["stage", "partition"])
        self.timers_fired = counter("wayfinder_timers_fired_total", "Timers fired", ["stage"])
        self.timer_lateness = histogram("wayfinder_timer_lateness_seconds", "How late a timer fired: the wall time of "
                                        "firing minus its due time (event clock: the partition's time at firing minus "
                                        "its due time)", ["stage"], buckets=_LATENESS_BUCKETS)
        self.processing = histogram("wayfinder_processing_seconds", "Time to process one input (its unit of work, "
                                    "without queueing or producing), by stage and input topic", ["stage", "input"],
                                    buckets=_PROCESSING_BUCKETS)
        self.state_bytes = gauge("wayfinder_state_bytes", "Bytes of keys and values in a table's partitions on this "
                                 "worker (measured every lag interval)", ["table"])
        self.reviews_pending = gauge("wayfinder_reviews_pending", "Messages waiting for a person's decision (worker: "
                                     "held in the employee states of its partitions)")
        self.review_oldest = gauge("wayfinder_review_oldest_pending_age_seconds", "Age of the oldest message waiting "
                                   "for a decision (0 when none waits)")
        self.review_window = gauge("wayfinder_review_window_seconds", REVIEW_WINDOW_HELP)
        self.state_largest = gauge("wayfinder_state_largest_key_bytes", "Bytes of the table's largest entry (key and "
                                   "value) on this worker", ["table"])

    def timer_fired(self, stage: str, lateness: float) -> None:
        self.timers_fired.labels(stage).inc()
        self.timer_lateness.labels(stage).observe(max(0.0, lateness))


@dataclass
class PendingReviews:
    """The messages held for review (``awaiting_approval``) in the employee states a scan passes, and the creation
    time of the oldest. Only a state with a held message is decoded (most states hold none): a stored state leaves
    out an empty ``awaiting_approval`` (README "State at rest"), and one written in full has ``{}`` there."""

    count: int = 0
    oldest: datetime | None = None

    def see(self, key: str, value: bytes) -> None:
        if not key.startswith("s:") or b'"awaiting_approval":{"' not in value:
            return
        for held in (json.loads(value).get("awaiting_approval") or {}).values():
            created = datetime.fromisoformat(str(held["created_at"]))
            self.count += 1
            self.oldest = created if self.oldest is None else min(self.oldest, created)

    def age(self, now: datetime) -> float:
        return 0.0 if self.oldest is None else max(0.0, (now - self.oldest).total_seconds())


@dataclass
class ScanPace:
    """How often the tables are measured: the scans may take at most ``share`` of the worker's time. After scans
    whose own work (not what the agents do between their chunks) took ``busy`` seconds, the next is due no sooner
    than ``busy / share`` seconds later: every 15 s for a small table, less often as it grows."""

    share: float = STATE_SCAN_SHARE
    busy: float = 0.0
    next_due: float = 0.0

    def due(self, now: float) -> bool:
        return now >= self.next_due

    def done(self, now: float) -> None:
        self.next_due, self.busy = now + self.busy / self.share, 0.0


async def measure_state(keys: Callable[[], Iterable[str]], get: Callable[[str], bytes | None],
                        see: Callable[[str, bytes], None] | None = None,
                        pace: ScanPace | None = None) -> tuple[int, int]:
    """(total bytes, largest entry) of a table's keys and values: every entry's key and value lengths summed, in
    chunks of ``STATE_CHUNK`` entries with a yield to the event loop between them (the agents run meanwhile; an
    entry deleted before its turn counts 0). A scan of the store's keys; ``see`` is shown every entry; the time the
    scan itself takes is added to ``pace``."""
    total = largest = 0
    started = time.perf_counter()
    for n, key in enumerate(list(keys())):
        if n and n % STATE_CHUNK == 0:
            if pace is not None:
                pace.busy += time.perf_counter() - started
            await asyncio.sleep(0)
            started = time.perf_counter()
        value = get(key)
        if value is None:
            continue
        size = len(key.encode("utf-8")) + len(value)
        if see is not None:
            see(key, value)
        total += size
        largest = max(largest, size)
    if pace is not None:
        pace.busy += time.perf_counter() - started
    return total, largest
