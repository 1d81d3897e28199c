"""Prometheus metrics of the stream workers (SPEC §10), against an injected registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from wayfinder.journeys.events import DATA_MODELS

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


def event_type_label(event_type: str | None) -> str:
    """Known types as themselves; anything else as ``other`` (labels stay bounded)."""
    return event_type if event_type in DATA_MODELS else "other"


class StreamMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.events = Counter("wayfinder_events_consumed_total", "Events consumed, by type and outcome",
                              ["type", "outcome"], registry=registry)
        self.dead_letters = Counter("wayfinder_dead_letters_total", "Inputs sent to the dead-letter topic",
                                    ["reason"], registry=registry)
        self.decisions = Counter("wayfinder_message_decisions_total", "Message decisions, by channel and status",
                                 ["channel", "status"], registry=registry)
        self.enrollments = Counter("wayfinder_journey_enrollments_total",
                                   "Journey enrollments, exits and completions", ["journey", "kind"],
                                   registry=registry)
        self.tasks = Counter("wayfinder_tasks_total", "Tasks opened for a person", ["journey"], registry=registry)
        self.approvals = Counter("wayfinder_approvals_requested_total", "Messages held for a person to review",
                                 ["journey"], registry=registry)
        self.expression_failures = Counter("wayfinder_expression_failures_total",
                                           "Expressions that failed at run time (counted as false)",
                                           ["journey", "kind"], registry=registry)
        self.latency = Histogram("wayfinder_event_to_decision_seconds",
                                 "From an event's arrival on Kafka to the decisions it caused",
                                 buckets=_LATENCY_BUCKETS, registry=registry)
        self.pending_timers = Gauge("wayfinder_pending_timers", "Timers waiting in this worker", ["stage"],
                                    registry=registry)
        self.lag = Gauge("wayfinder_consumer_lag_messages", "Messages not yet processed: the log end offset minus "
                         "the group's committed offset, per assigned input partition", ["topic", "partition"],
                         registry=registry)
        self.repartitioned = Counter("wayfinder_inputs_repartitioned_total",
                                     "Inputs that arrived on another partition than their key's and were forwarded "
                                     "there (a producer with another partitioner)", ["topic"], registry=registry)
        self.processing_errors = Counter("wayfinder_processing_errors_total",
                                         "Inputs whose processing raised; they go to the dead-letter topic",
                                         ["stage"], registry=registry)
        self.agent_crashes = Counter("wayfinder_agent_crashes_total", "Agents that raised and were restarted by "
                                     "Faust's supervisor", ["agent"], registry=registry)
        self.agent_starts = Counter("wayfinder_agent_starts_total", "Agent starts (more than one per agent: "
                                    "restarts after crashes)", ["agent"], registry=registry)
        self.rebalances = Counter("wayfinder_rebalances_total", "Partition assignments this worker received",
                                  registry=registry)
        self.assigned = Gauge("wayfinder_assigned_partitions", "Partitions of each input topic assigned to this "
                              "worker", ["topic"], registry=registry)
        self.ready = Gauge("wayfinder_worker_ready", "1 while /readyz answers ok (joined, caught up, no crash "
                           "loop)", registry=registry)
        self.lag_failures = Counter("wayfinder_lag_measurement_failures_total", "Lag measurements the broker did "
                                    "not answer (the lag gauge keeps its last value)", registry=registry)
