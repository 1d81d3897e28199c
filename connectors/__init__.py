"""Delivery: the connector protocol and registry, SMTP and webhooks, reliability, the send ledger, the runner."""

from wayfinder.connectors.base import (
    Accepted,
    Connector,
    ConnectorDeps,
    DeliveryError,
    PermanentDeliveryError,
    RetryableDeliveryError,
    build_connectors,
    connector_factory,
    register_connector,
)

__all__ = ["Accepted", "Connector", "ConnectorDeps", "DeliveryError", "PermanentDeliveryError",
           "RetryableDeliveryError", "build_connectors", "connector_factory", "register_connector"]
