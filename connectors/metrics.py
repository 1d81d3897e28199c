"""Delivery metrics (SPEC §10) against an injected registry, never the default one.

Labels are connector names (``smtp`` or a destination's name), outcomes, reason codes and
statuses: bounded sets with no personal data.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from wayfinder.connectors.reliability import BreakerState
from wayfinder.connectors.switch import ALL

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
_EVENT_TO_DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0,
                              12 * 3600.0, 86400.0, 3 * 86400.0, 7 * 86400.0)
_BREAKER = {"closed": 0, "open": 1, "half_open": 2}
NO_CONNECTOR = "-"
"""The connector label (and receipt ``connector``) of what no connector handled: a channel nobody set up, a message
an operator dropped, a record that is not a message."""
NOT_A_MESSAGE = "not_a_message"
"""The dead-letter reason code of a line or record that is not a message record (its letter says which fields)."""


class DeliveryMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.attempts = Counter("wayfinder_delivery_attempts_total",
                                "Delivery attempts, by connector and outcome (accepted, retryable_error, "
                                "permanent_error)", ["connector", "outcome"], registry=registry)
        self.messages = Counter("wayfinder_delivery_messages_total",
                                "Messages that reached a final delivery status (delivered, failed)",
                                ["connector", "status"], registry=registry)
        self.failures = Counter("wayfinder_delivery_failures_total",
                                "Failed attempts, and messages refused before any attempt (invalid_message, "
                                "no_recipient_address), by connector and reason code", ["connector", "reason"],
                                registry=registry)
        self.dead_letters = Counter("wayfinder_delivery_dead_letters_total",
                                    "Messages that failed for good and went to the dead-letter sink",
                                    ["connector", "reason"], registry=registry)
        self.skipped = Counter("wayfinder_delivery_skipped_total",
                               "Messages not sent, by why (already_delivered, already_failed, status_<status>, "
                               "no_connector)", ["reason"], registry=registry)
        self.latency = Histogram("wayfinder_delivery_latency_seconds",
                                 "From picking a message up to its final outcome, retries and waits included",
                                 ["connector"], buckets=_LATENCY_BUCKETS, registry=registry)
        self.event_to_delivery = Histogram(
            "wayfinder_event_to_delivery_seconds",
            "From the decision on the message's event (or timer), its created_at, to its delivery: the pipeline, and "
            "any deferral for quiet hours, the cap, a pause or a review", ["connector"],
            buckets=_EVENT_TO_DELIVERY_BUCKETS, registry=registry)
        self.attempt_duration = Histogram("wayfinder_delivery_attempt_duration_seconds",
                                          "One attempt's round trip to the server", ["connector"],
                                          buckets=_LATENCY_BUCKETS, registry=registry)
        self.in_flight = Gauge("wayfinder_delivery_in_flight_messages", "Messages being delivered now",
                               registry=registry)
        self.breaker = Gauge("wayfinder_delivery_circuit_state",
                             "Circuit breaker per connector: 0 closed, 1 open, 2 half-open", ["connector"],
                             registry=registry)

        self.lag = Gauge("wayfinder_delivery_lag_messages",
                         "Records on outbound.messages not yet settled by this deliver: the log end offset its "
                         "fetches saw minus the first offset not delivered, failed for good or skipped, per assigned "
                         "partition", ["topic", "partition"], registry=registry)

        self.sending_paused = Gauge("wayfinder_sending_paused",
                                    "1 while the stop switch holds sending (a journey id, or all)",
                                    ["journey"], registry=registry)
        self.sending_paused.labels(ALL).set(0)  # a sample from the start, not only once the switch is used
        self.dead_letters.labels(NO_CONNECTOR, NOT_A_MESSAGE)  # 0 from the start: increase() sees the first burst

    def not_a_message(self) -> None:
        """A line of the messages file or a record of outbound.messages that is not a message, dead-lettered."""
        self.dead_letters.labels(NO_CONNECTOR, NOT_A_MESSAGE).inc()

    def switch_changed(self, state: dict[str, bool]) -> None:
        for scope, paused in state.items():
            self.sending_paused.labels(scope).set(1 if paused else 0)

    def lag_measured(self, topic: str, partition: int, lag: int) -> None:
        self.lag.labels(topic, str(partition)).set(lag)

    def connector_ready(self, connector: str) -> None:
        """A connector's series from the start, at 0 (a closed breaker): a relay failing from start-up had its first
        failed attempts' count missed by ``increase()``, and no breaker sample until its first change. Failures by
        reason are an open set of codes; they appear with the first."""
        for outcome in ("accepted", "retryable_error", "permanent_error"):
            self.attempts.labels(connector, outcome)
        for status in ("delivered", "failed"):
            self.messages.labels(connector, status)
        self.latency.labels(connector)  # the dashboard's quantiles: a series (NaN) before the first outcome
        self.event_to_delivery.labels(connector)
        self.attempt_duration.labels(connector)  # its "attempt duration, p95" panel had nothing before an attempt
        self.breaker.labels(connector).set(_BREAKER["closed"])

    def breaker_changed(self, connector: str, state: BreakerState) -> None:
        self.breaker.labels(connector).set(_BREAKER[state])
