"""Operations: ``wayfinder status``, one look at a running installation from Kafka and the processes' health and
metrics endpoints."""

from wayfinder.ops.status import Endpoint, KafkaView, StatusReport, gather, render

__all__ = ["Endpoint", "KafkaView", "StatusReport", "gather", "render"]
