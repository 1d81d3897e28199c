"""What a connector is, which ones exist, and how a failed delivery says whether a retry can help.

A connector delivers one message on one channel (``send``) and lets go of its connections
(``close``). Connectors are picked by name from settings through a registry, the way faust picks
a transport: built-in names map to their factory (``module:function``), imported only when used, and a
plugin can ``register_connector`` its own.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from wayfinder.clock import utc_now
from wayfinder.journeys.records import Message
from wayfinder.vocabulary import Channel

if TYPE_CHECKING:
    import httpx

    from wayfinder.connectors.addresses import Resolver
    from wayfinder.connectors.settings import DeliverySettings



@dataclass(frozen=True)
class Accepted:
    """The server took the message: ``reference`` is what it answered (a status code, never content)."""

    connector: str
    reference: str


class DeliveryError(Exception):
    """A delivery that did not happen. ``reason`` is a short stable code (safe for metrics labels);
    ``detail`` says, without personal data, what went wrong and what to fix."""

    retryable: bool = False

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail or reason


class PermanentDeliveryError(DeliveryError):
    """Trying again cannot help (a refused address, a rejected payload, a refused destination)."""


class InvalidMessageError(PermanentDeliveryError):
    """The message itself cannot be sent (a header with a line break, an address that does not parse, none at all):
    refused before any network call, so it is no delivery attempt (README "Delivery")."""


class RetryableDeliveryError(DeliveryError):
    """Trying again may help (4xx SMTP replies, 408/429/5xx, timeouts, lost connections).

    ``retry_after`` is how long the server asked us to wait, in seconds, when it said so.
    """

    retryable = True

    def __init__(self, reason: str, detail: str | None = None, *, retry_after: float | None = None) -> None:
        super().__init__(reason, detail)
        self.retry_after = retry_after


class Connector(Protocol):
    """Delivers messages on one channel. ``name`` appears in receipts and metrics labels."""

    @property
    def name(self) -> str: ...

    async def send(self, message: Message) -> Accepted:
        """Deliver, or raise ``PermanentDeliveryError`` / ``RetryableDeliveryError``."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class ConnectorDeps:
    """What connectors get from the process that runs them (so tests can hand in their own)."""

    http: httpx.AsyncClient | None = None
    resolver: Resolver | None = None
    now: Callable[[], datetime] = field(default=utc_now)


ConnectorFactory = Callable[["DeliverySettings", str, ConnectorDeps], Connector]
"""Builds a connector from settings; the ``str`` is the connector's name (a destination's name)."""

_FACTORIES: dict[str, ConnectorFactory] = {}
_BUILTIN: dict[str, str] = {
    "smtp": "wayfinder.connectors.smtp:smtp_from_settings",
    "webhook": "wayfinder.connectors.webhook:webhook_from_settings",
    "teams": "wayfinder.connectors.webhook:webhook_from_settings",
    "slack": "wayfinder.connectors.webhook:webhook_from_settings",
}


def register_connector(kind: str, factory: ConnectorFactory) -> None:
    """Make ``kind`` selectable in settings (``WAYFINDER_EMAIL_CONNECTOR`` or a destination's ``kind``)."""
    _FACTORIES[kind] = factory


def connector_factory(kind: str) -> ConnectorFactory:
    if kind not in _FACTORIES and kind in _BUILTIN:
        module, _, factory = _BUILTIN[kind].partition(":")
        _FACTORIES[kind] = getattr(importlib.import_module(module), factory)
    try:
        return _FACTORIES[kind]
    except KeyError:
        known = ", ".join(sorted({*_BUILTIN, *_FACTORIES}))
        msg = f"unknown connector {kind!r}; known connectors: {known}"
        raise LookupError(msg) from None


def build_connectors(settings: DeliverySettings, deps: ConnectorDeps) -> dict[Channel, Connector]:
    """The connector for each channel that settings configure (a channel left out is not delivered)."""
    connectors: dict[Channel, Connector] = {}
    if settings.smtp_url is not None or settings.email_connector != "smtp":
        connectors["email"] = connector_factory(settings.email_connector)(settings, settings.email_connector, deps)
    route = settings.intranet_route()
    if route is not None:
        name, destination = route
        connectors["intranet"] = connector_factory(destination.kind)(settings, name, deps)
    return connectors
