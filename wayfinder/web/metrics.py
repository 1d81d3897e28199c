"""Metrics of ``wayfinder serve`` on an injected registry (SPEC §10 naming)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_DECISION_BUCKETS = (60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 12 * 3600.0, 86400.0, 2 * 86400.0, 5 * 86400.0,
                     10 * 86400.0)


class WebMetrics:
    def __init__(self, registry: CollectorRegistry, *, pending: Callable[[], float],
                 oldest_age: Callable[[], float]) -> None:
        self.pending = Gauge("wayfinder_reviews_pending", "Messages waiting for a person's decision",
                             registry=registry)
        self.pending.set_function(pending)
        self.oldest = Gauge("wayfinder_review_oldest_pending_age_seconds", "Age of the oldest message waiting "
                            "for a decision (0 when none waits)", registry=registry)
        self.oldest.set_function(oldest_age)
        self.decisions = Counter("wayfinder_review_decisions", "Review decisions by outcome "
                                 "(approve, approve_edited, reject)", ["outcome"], registry=registry)
        self.time_to_decision = Histogram("wayfinder_review_time_to_decision_seconds", "From the message waiting "
                                          "to its decision", buckets=_DECISION_BUCKETS, registry=registry)
        self.opt_outs = Counter("wayfinder_opt_outs", "Opt-outs made by employees, by channel or topic",
                                ["kind", "name"], registry=registry)
        self.paused = Gauge("wayfinder_sending_paused", "The stop switch: 1 when sending is paused for the "
                            "journey ('all' for everything)", ["journey"], registry=registry)
