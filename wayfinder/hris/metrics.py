"""Metrics of ``wayfinder intake`` on an injected registry.

Labels are bounded: ``system`` is a configured sender (``bamboohr``, ``personio``) or ``other`` for a path that
names none (never the path's own text), ``status`` an HTTP status the intake answers, ``type`` an event type
(``other`` for an unknown one), ``reason`` one of :data:`REJECT_CODES`. No id and no personal data.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram

from wayfinder.hris.webhooks import REJECT_CODES
from wayfinder.streams.metrics import event_type_label

OTHER = "other"
"""The ``system`` label of a request to a webhook path that is not configured (answered 404)."""
STATUSES = (200, 400, 401, 413, 429, 500, 503)
"""What a configured webhook answers: each has a series at 0 from the start, so ``rate()`` and the alert see the
first one."""
_ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)


class IntakeMetrics:
    def __init__(self, registry: CollectorRegistry, systems: Iterable[str]) -> None:
        self.registry = registry
        self.systems = frozenset(systems)
        self.requests = Counter("wayfinder_intake_requests_total", "Webhook deliveries answered, by sender system and "
                                "HTTP status", ["system", "status"], registry=registry)
        self.events = Counter("wayfinder_intake_events_total", "Events the sink (Kafka or the file) acknowledged, by "
                              "sender system and event type", ["system", "type"], registry=registry)
        self.rejected = Counter("wayfinder_intake_items_rejected_total", "Items of a delivery rejected on their own "
                                "(listed in the 200's rejected), by sender system and reason code",
                                ["system", "reason"], registry=registry)
        self.duplicates = Counter("wayfinder_intake_duplicates_total", "Events of a delivery already stored (a replay "
                                  "or a repeat), not produced again", ["system"], registry=registry)
        self.ack = Histogram("wayfinder_intake_ack_seconds", "From a delivery's arrival to the sink's "
                             "acknowledgement of its new events (deliveries with new events only)", ["system"],
                             buckets=_ACK_BUCKETS, registry=registry)
        for system in sorted(self.systems):
            for status in STATUSES:
                self.requests.labels(system, str(status))
            for code in REJECT_CODES:
                self.rejected.labels(system, code)
            self.duplicates.labels(system)
            self.ack.labels(system)  # a series (NaN quantiles) before the first acknowledgement
        self.requests.labels(OTHER, "404")

    def system(self, name: str) -> str:
        """The label of the path's system: a configured one as itself, anything else ``other``."""
        return name if name in self.systems else OTHER

    def answered(self, system: str, status: int) -> None:
        self.requests.labels(self.system(system), str(status)).inc()

    def stored(self, system: str, event_types: Iterable[str], seconds: float) -> None:
        """The sink acknowledged events of these types, ``seconds`` after the delivery arrived."""
        for event_type in event_types:
            self.events.labels(system, event_type_label(event_type)).inc()
        self.ack.labels(system).observe(seconds)

    def rejected_item(self, system: str, code: str | None) -> None:
        self.rejected.labels(system, code if code in REJECT_CODES else OTHER).inc()

    def duplicate(self, system: str, count: int) -> None:
        if count:
            self.duplicates.labels(system).inc(count)
