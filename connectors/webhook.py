"""Intranet delivery over HTTP: a signed JSON webhook, a Teams card or a Slack message.

Only allowlisted destinations are called (``DeliverySettings.destinations``). For a destination
that is not marked ``local``: https only; its name is resolved at every send, every address must be
public (or private, with ``allow_private``), never loopback, link-local (cloud metadata),
unspecified or multicast; and the request connects to the address that was checked, with the
name kept for the ``Host`` header and TLS (SNI and certificate), so DNS rebinding cannot redirect
it. Redirects are never followed: a 3xx is a permanent error that names where it pointed.

Generic webhooks are signed the Standard Webhooks way: ``webhook-id`` (the message id, the same
on every retry, so receivers can deduplicate), ``webhook-timestamp`` (Unix seconds) and
``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, one per secret,
space-separated, so a receiver can rotate its secret without downtime.

With recipient links (``WAYFINDER_TOKEN_SECRET``) the preferences link of every payload (its button or action,
``data.preferences_url`` of a webhook, and the footer of its text and HTML) carries the recipient's signed token,
made by the same ``RecipientLinks.personalize`` as an email's, so the reader reaches their page without sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import re
import ssl
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx

from wayfinder.clock import utc_now
from wayfinder.connectors.addresses import (
    ResolutionError,
    Resolver,
    address_refusal,
    refused_address,
    system_resolver,
)
from wayfinder.connectors.base import (
    Accepted,
    ConnectorDeps,
    DeliveryError,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from wayfinder.connectors.links import RecipientLinks
from wayfinder.connectors.payloads import slack_payload, teams_payload, webhook_payload
from wayfinder.connectors.settings import DeliverySettings, Destination
from wayfinder.connectors.tls import caused_by, trusting
from wayfinder.journeys.records import Message

_USER_AGENT = "wayfinder-delivery/0.1"
_ERROR_TOKEN = re.compile(r"[a-z_]{1,64}")


def signature_header(secrets: Sequence[bytes], msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64>`` per secret, space-separated (Standard Webhooks)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join("v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")
                    for key in secrets)


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret."""
    return base64.b64decode(secret.removeprefix("whsec_"), validate=True)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # HTTP dates are GMT
    return max(0.0, (when - now).total_seconds())


def _redirect_target(location: str | None) -> str:
    """Scheme, host and port of a redirect (never its path or query, which may hold tokens)."""
    if not location:
        return "nowhere (no Location header)"
    try:
        url = httpx.URL(location)
    except httpx.InvalidURL:
        return "an invalid URL"
    if not url.host:
        return "a relative URL on the same host"
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}/…"


class WebhookConnector:
    """One allowlisted destination; ``kind`` picks the payload (webhook, teams or slack)."""

    def __init__(self, name: str, destination: Destination, client: httpx.AsyncClient, *,
                 resolver: Resolver = system_resolver, now: Callable[[], datetime] = utc_now,
                 links: RecipientLinks | None = None) -> None:
        self.name = name
        self.destination = destination
        self._client = client
        self._resolver = resolver
        self._now = now
        self.links = links
        self._keys = [secret_key(s.get_secret_value()) for s in destination.secrets]

    def _body(self, message: Message, now: datetime) -> bytes:
        kind = self.destination.kind
        payload: dict[str, Any] = (webhook_payload(message, now) if kind == "webhook"
                                   else teams_payload(message) if kind == "teams" else slack_payload(message))
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    async def _resolve(self, host: str, port: int) -> list[str]:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return [host]
        try:
            addresses = await self._resolver(host, port)
        except (ResolutionError, OSError) as e:
            error = RetryableDeliveryError("dns_failed", f"destination {self.name}: its host name did not resolve")
            raise error from e
        if not addresses:
            error = RetryableDeliveryError("dns_failed", f"destination {self.name}: its host name has no address")
            raise error
        return addresses

    async def _route(self, url: httpx.URL) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
        """The URL to connect to (the checked address), headers and request extensions."""
        if self.destination.local:
            return url, {}, {}
        addresses = await self._resolve(url.host, url.port or 443)
        for address in addresses:
            try:
                refusal = address_refusal(ipaddress.ip_address(address), allow_private=self.destination.allow_private)
            except ValueError:
                refusal = "unusable"
            if refusal:
                error = PermanentDeliveryError("destination_refused", f"destination {self.name} resolves to "
                                               f"{refused_address(refusal)}; refused (only destinations marked "
                                               "local: true may)")
                raise error
        pinned = url.copy_with(host=addresses[0])
        return pinned, {"host": url.netloc.decode("ascii")}, {"sni_hostname": url.host}

    def _headers(self, message: Message, now: datetime, body: bytes) -> dict[str, str]:
        headers = {"content-type": "application/json", "user-agent": _USER_AGENT}
        if self._keys:
            timestamp = int(now.timestamp())
            headers.update({"webhook-id": message.message_id, "webhook-timestamp": str(timestamp),
                            "webhook-signature": signature_header(self._keys, message.message_id, timestamp, body)})
        return headers

    async def send(self, message: Message) -> Accepted:
        now = self._now()
        if self.links is not None:
            message, _ = self.links.personalize(message, now)
        body = self._body(message, now)
        target, route_headers, extensions = await self._route(httpx.URL(self.destination.url.get_secret_value()))
        headers = self._headers(message, now, body) | route_headers
        timeout = self.destination.timeout_seconds
        try:
            response = await self._client.post(target, content=body, headers=headers, follow_redirects=False,
                                               timeout=timeout, extensions=extensions)
        except httpx.TimeoutException as e:
            error = RetryableDeliveryError("http_timeout", f"destination {self.name} did not answer within "
                                           f"{timeout:g}s")
            raise error from e
        except httpx.TransportError as e:
            if caused_by(e, ssl.SSLCertVerificationError):  # configuration, not the network: waiting fixes nothing
                refused = PermanentDeliveryError("http_tls_failed", f"the TLS certificate of destination {self.name} "
                                                 "did not verify; for an intranet host with a private CA set "
                                                 "WAYFINDER_WEBHOOK_CA_FILE")
                raise refused from e
            error = RetryableDeliveryError("http_connection", f"could not reach destination {self.name} "
                                           f"({type(e).__name__})")
            raise error from e
        return self._outcome(response, now)

    def _outcome(self, response: httpx.Response, now: datetime) -> Accepted:
        status = response.status_code
        if 200 <= status < 300:
            if self.destination.kind == "teams" and "HTTP error 429" in response.text:
                # Teams connectors have answered throttling with a 200 whose body names the 429.
                error = RetryableDeliveryError("http_rate_limited", f"destination {self.name} is throttling (Teams "
                                               "answered 200 with HTTP error 429)")
                raise error
            return Accepted(self.name, str(status))
        raise self._refusal(response, now)

    def _refusal(self, response: httpx.Response, now: datetime) -> DeliveryError:
        status, name = response.status_code, self.name
        if 300 <= status < 400:
            return PermanentDeliveryError("http_redirect", f"destination {name} answered {status}, a redirect to "
                                          f"{_redirect_target(response.headers.get('location'))}; redirects are "
                                          "never followed: put the final https URL in WAYFINDER_DESTINATIONS")
        if status in (408, 429) or status >= 500:
            reason = {408: "http_timeout", 429: "http_rate_limited"}.get(status, "http_server_error")
            return RetryableDeliveryError(reason, f"destination {name} answered {status}",
                                          retry_after=parse_retry_after(response.headers.get("retry-after"), now))
        if status in (401, 403):
            return PermanentDeliveryError("http_unauthorized", f"destination {name} refused us ({status}); check "
                                          "its URL and signing secrets")
        if status in (404, 410):
            return PermanentDeliveryError("http_gone", f"destination {name} answered {status}: the webhook does "
                                          "not exist (any more); update its URL")
        token = response.text.strip()
        code = f" {token}" if _ERROR_TOKEN.fullmatch(token) else ""
        return PermanentDeliveryError("http_rejected", f"destination {name} rejected the message ({status}{code}); "
                                      "retrying will not help")

    async def close(self) -> None:
        """The HTTP client belongs to whoever made it; nothing to let go of here."""


def webhook_from_settings(settings: DeliverySettings, name: str, deps: ConnectorDeps) -> WebhookConnector:
    if deps.http is None:
        msg = "intranet delivery needs an HTTP client (ConnectorDeps.http)"
        raise ValueError(msg)
    return WebhookConnector(name, settings.destinations[name], deps.http,
                            resolver=deps.resolver or system_resolver, now=deps.now, links=settings.recipient_links())



def http_client(settings: DeliverySettings) -> httpx.AsyncClient:
    """The client every intranet destination is called with: no redirects, no proxy or CA taken from the
    environment, and the organisation's CA trusted besides the system's when ``WAYFINDER_WEBHOOK_CA_FILE`` says."""
    verify: ssl.SSLContext | bool = True
    if settings.webhook_ca_file is not None:
        verify = ssl.create_default_context()
        verify.load_verify_locations(cafile=trusting_file(settings.webhook_ca_file))
    return httpx.AsyncClient(follow_redirects=False, trust_env=False, verify=verify)


def trusting_file(ca_file: Path) -> Path:
    """``ca_file`` once it is known to hold a CA certificate (a ValueError naming the setting, before anything is
    sent, when it does not)."""
    trusting(ca_file, "WAYFINDER_WEBHOOK_CA_FILE")
    return ca_file
