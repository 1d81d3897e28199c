"""Metrics of ``wayfinder serve`` on an injected registry (SPEC §10 naming)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from wayfinder.connectors.switch import ALL
from wayfinder.streams.metrics import REVIEW_WINDOW_HELP

_DECISION_BUCKETS = (60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 12 * 3600.0, 86400.0, 2 * 86400.0, 5 * 86400.0,
                     10 * 86400.0)


OUTCOMES = ("approve", "approve_edited", "reject")


class _SwitchGauge(Collector):
    """``wayfinder_sending_paused`` read from the stop switch at each scrape, so it says what ``deliver`` does
    whoever set the switch (these pages or ``wayfinder sending``); ``all`` is there from the start."""

    def __init__(self, state: Callable[[], dict[str, bool]]) -> None:
        self._state = state

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily("wayfinder_sending_paused", "The stop switch: 1 when sending is paused for the "
                                 "journey ('all' for everything)", labels=["journey"])

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self._family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = self._family()
        for scope, paused in ({ALL: False} | self._state()).items():
            family.add_metric([scope], 1.0 if paused else 0.0)
        yield family


class WebMetrics:
    def __init__(self, registry: CollectorRegistry, *, pending: Callable[[], float],
                 oldest_age: Callable[[], float], switch: Callable[[], dict[str, bool]] = dict,
                 review_window_seconds: float | None = None) -> None:
        self.pending = Gauge("wayfinder_reviews_pending", "Messages waiting for a person's decision",
                             registry=registry)
        self.pending.set_function(pending)
        self.oldest = Gauge("wayfinder_review_oldest_pending_age_seconds", "Age of the oldest message waiting "
                            "for a decision (0 when none waits)", registry=registry)
        self.oldest.set_function(oldest_age)
        if review_window_seconds is not None:
            Gauge("wayfinder_review_window_seconds", REVIEW_WINDOW_HELP,
                  registry=registry).set(review_window_seconds)
        self.decisions = Counter("wayfinder_review_decisions", "Review decisions by outcome "
                                 "(approve, approve_edited, reject)", ["outcome"], registry=registry)
        for outcome in OUTCOMES:  # each at 0 from the start, so a rate() sees the first decision
            self.decisions.labels(outcome)
        self.time_to_decision = Histogram("wayfinder_review_time_to_decision_seconds", "From the message waiting "
                                          "to its decision", buckets=_DECISION_BUCKETS, registry=registry)
        self.opt_outs = Counter("wayfinder_opt_outs", "Opt-outs made by employees, by channel or topic",
                                ["kind", "name"], registry=registry)
        registry.register(_SwitchGauge(switch))
