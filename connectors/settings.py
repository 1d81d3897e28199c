"""Delivery settings: where messages go and how hard to try (env prefix ``WAYFINDER_``).

    WAYFINDER_SMTP_URL=smtp://user:pass@smtp.example.com:587        # STARTTLS (required by default)
    WAYFINDER_SMTP_URL=smtps://user:pass@smtp.example.com            # implicit TLS, port 465
    WAYFINDER_SMTP_URL=smtp://localhost:1025?starttls=false          # a local test server
    WAYFINDER_SENDER='People Team <people@example.com>'
    WAYFINDER_DESTINATIONS='{"teams": {"kind": "teams", "url": "https://..."}}'
    WAYFINDER_RETRY__MAX_ATTEMPTS=8                                  # nested fields use "__"

Credentials, webhook URLs (Slack and Teams webhook URLs are themselves secrets) and signing
secrets are ``SecretStr``: they never appear in a repr, a log line or an error message.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from wayfinder.connectors.addresses import address_refusal, literal_address, refused_address
from wayfinder.connectors.email import parse_mailbox
from wayfinder.connectors.links import RecipientLinks

_NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class SmtpServer(_Frozen):
    """An SMTP relay, parsed from ``smtp://`` (STARTTLS) or ``smtps://`` (implicit TLS) URLs."""

    host: str
    port: int = Field(ge=1, le=65535)
    tls: Literal["starttls", "implicit", "none"]
    username: SecretStr | None = None
    password: SecretStr | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """Errors never quote the URL or any part of it: a password with a special character may have been
        split into the host, the port or the query."""
        try:
            parts = urlsplit(url)
        except ValueError as e:
            msg = f"the SMTP URL cannot be read (brackets are only for an IPv6 host){_ENCODE_HINT}"
            raise ValueError(msg) from e
        if parts.scheme not in ("smtp", "smtps"):
            msg = "the SMTP URL must start with smtp:// (STARTTLS) or smtps:// (implicit TLS)"
            raise ValueError(msg)
        if not parts.hostname:
            msg = "the SMTP URL has no host: write smtp://host:587"
            raise ValueError(msg)
        tls = "implicit" if parts.scheme == "smtps" else _starttls(parts.query)
        try:
            port = parts.port or {"implicit": 465, "starttls": 587, "none": 25}[tls]
        except ValueError as e:
            msg = f"the SMTP URL's port is not a number from 1 to 65535{_ENCODE_HINT}"
            raise ValueError(msg) from e
        user = SecretStr(unquote(parts.username)) if parts.username else None
        password = SecretStr(unquote(parts.password)) if parts.password else None
        return cls(host=parts.hostname, port=port, tls=tls, username=user, password=password)

    def __str__(self) -> str:
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        auth = "***@" if self.username else ""
        return f"{scheme}://{auth}{self.host}:{self.port} (TLS: {self.tls})"


_ENCODE_HINT = ("; in a user name or password, write ? as %3F, # as %23, / as %2F, @ as %40, : as %3A and % as "
                "%25")


def _starttls(query: str) -> Literal["starttls", "none"]:
    params = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(params) - {"starttls"})
    if unknown:
        msg = f"the SMTP URL has unknown parameters; the only one is starttls=true|false{_ENCODE_HINT}"
        raise ValueError(msg)
    value = params.get("starttls", "true").lower()
    if value in _TRUE:
        return "starttls"
    if value in _FALSE:
        return "none"
    msg = "starttls must be true or false"
    raise ValueError(msg)


class RetryPolicy(_Frozen):
    """Retries with exponential backoff and full jitter; a server's ``Retry-After`` wins when given."""

    max_attempts: int = Field(default=6, ge=1, le=100)
    base_delay_seconds: float = Field(default=1.0, gt=0)
    max_delay_seconds: float = Field(default=60.0, gt=0)
    max_retry_after_seconds: float = Field(default=300.0, ge=0, description="longest Retry-After honoured")
    give_up_after_seconds: float = Field(default=900.0, gt=0, description="per message, waits included")


class CircuitBreakerPolicy(_Frozen):
    failure_threshold: int = Field(default=5, ge=1, description="retryable failures in a row that open it")
    reset_timeout_seconds: float = Field(default=30.0, gt=0, description="open this long, then one probe")


class RateLimit(_Frozen):
    per_second: float = Field(default=20.0, gt=0)
    burst: int = Field(default=20, ge=1)


def _whsec(secret: SecretStr) -> SecretStr:
    value = secret.get_secret_value()
    if not value.startswith("whsec_"):
        msg = "a signing secret must look like whsec_<base64>"
        raise ValueError(msg)
    try:
        key = base64.b64decode(value.removeprefix("whsec_"), validate=True)
    except binascii.Error as e:
        msg = "a signing secret's part after whsec_ is not valid base64"
        raise ValueError(msg) from e
    if len(key) < 16:
        msg = "a signing secret must hold at least 16 random bytes (24 to 64 recommended)"
        raise ValueError(msg)
    return secret


class Destination(_Frozen):
    """An allowlisted intranet destination. Only these are ever called."""

    url: SecretStr = Field(description="https URL; Slack and Teams webhook URLs are secrets themselves")
    kind: Literal["webhook", "teams", "slack"] = "webhook"
    local: bool = Field(default=False, description="development only: allows http and loopback/private addresses")
    allow_private: bool = Field(default=False, description="allows private addresses (10/8, 172.16/12, "
                                "192.168/16, fc00::/7, 100.64/10) for an intranet host; never loopback, "
                                "link-local or metadata addresses")
    secrets: list[SecretStr] = Field(default=[], description="whsec_<base64> signing secrets, newest first; "
                                     "every one signs, so receivers can rotate")
    timeout_seconds: float = Field(default=10.0, gt=0)
    rate_limit: RateLimit | None = None

    @field_validator("secrets")
    @classmethod
    def _check_secrets(cls, value: list[SecretStr]) -> list[SecretStr]:
        return [_whsec(s) for s in value]

    @model_validator(mode="after")
    def _check_url(self) -> Destination:
        parts = urlsplit(self.url.get_secret_value())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            msg = "the destination URL must be an absolute https:// URL"
            raise ValueError(msg)
        if parts.scheme == "http" and not self.local:
            msg = "the destination URL must use https (http is only for destinations marked local: true)"
            raise ValueError(msg)
        if parts.username or parts.password:
            msg = "the destination URL must not carry user:password@; use signing secrets"
            raise ValueError(msg)
        if not self.local:
            _check_literal_address(parts.hostname, allow_private=self.allow_private)
        if self.kind == "webhook" and not self.secrets and not self.local:
            msg = "a webhook destination needs at least one signing secret (secrets: [whsec_...])"
            raise ValueError(msg)
        return self


def _check_literal_address(host: str, *, allow_private: bool) -> None:
    address = literal_address(host)
    if address is None:
        return  # a name: checked when it resolves, at every send
    refusal = address_refusal(address, allow_private=allow_private)
    if refusal:
        hint = "allow_private: true (an intranet host) or " if refusal == "private or reserved" else ""
        msg = f"the destination URL points at {refused_address(refusal)}; refused unless marked {hint}local: true"
        raise ValueError(msg)


def _parse_smtp(value: Any) -> Any:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, str):
        return SmtpServer.from_url(value) if value.strip() else None
    return value


class DeliverySettings(BaseSettings):
    """How Wayfinder delivers messages. Environment variables start with ``WAYFINDER_``."""

    model_config = SettingsConfigDict(env_prefix="WAYFINDER_", env_nested_delimiter="__", frozen=True,
                                      extra="forbid", hide_input_in_errors=True)

    smtp_url: Annotated[SmtpServer | None, NoDecode] = Field(default=None, description="smtp://user:pass@host:587 "
                                                              "(STARTTLS) or smtps://user:pass@host (TLS)")
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    smtp_ca_file: Path | None = Field(default=None, description="PEM file of CAs for a relay with a private CA")
    webhook_ca_file: Path | None = Field(default=None, description="PEM file of CAs for intranet destinations "
                                         "with a private CA (trusted besides the system's)")
    smtp_helo_name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9.-]{1,253}$",
                                       description="name given in EHLO [this host's FQDN]; relays that check it "
                                       "want a real DNS name")
    sender: str | None = Field(default=None, description="From: 'People Team <people@example.com>'")
    message_id_domain: str | None = Field(default=None, description="right side of Message-ID [sender's domain]")
    email_connector: str = Field(default="smtp", description="registry name of the email connector")
    destinations: dict[Annotated[str, Field(pattern=_NAME)], Destination] = {}
    intranet_destination: str | None = Field(default=None, description="which destination gets intranet "
                                             "messages [the only one, when there is one]")
    concurrency: int = Field(default=8, ge=1, le=256)
    retry: RetryPolicy = RetryPolicy()
    circuit_breaker: CircuitBreakerPolicy = CircuitBreakerPolicy()
    rate_limit: RateLimit = RateLimit()
    ledger_path: Path | None = Field(default=None, description="SQLite send ledger [next to the messages file]")
    token_secret: SecretStr | None = Field(default=None, description="signs the per-recipient token in every "
                                           "preferences and unsubscribe link; the same secret as wayfinder serve's")
    token_ttl_days: int = Field(default=90, ge=1, le=3650, description="how long a link in an email keeps working")
    in_doubt: Literal["resend", "hold"] = Field(default="resend", description="a message whose last attempt "
                                                "was cut off by a crash: send again, or fail it for a person")

    _parse_smtp_url = field_validator("smtp_url", mode="before")(_parse_smtp)

    @field_validator("sender")
    @classmethod
    def _check_sender(cls, value: str | None) -> str | None:
        if value is not None:
            parse_mailbox(value)
        return value

    @model_validator(mode="after")
    def _check_budget(self) -> DeliverySettings:
        """A message gives up as soon as its connector's circuit stays open past its retry budget, so a budget shorter
        than the circuit's open time would fail every message at once (``circuit_open``) without a try."""
        if self.retry.give_up_after_seconds < self.circuit_breaker.reset_timeout_seconds:
            msg = (f"WAYFINDER_RETRY__GIVE_UP_AFTER_SECONDS ({self.retry.give_up_after_seconds:g}) is shorter than "
                   f"WAYFINDER_CIRCUIT_BREAKER__RESET_TIMEOUT_SECONDS ({self.circuit_breaker.reset_timeout_seconds:g}"
                   "): once a connector's circuit opened, every message would fail at once without waiting for it "
                   "to close; raise the first or lower the second")
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _check_routes(self) -> DeliverySettings:
        if self.intranet_destination is not None and self.intranet_destination not in self.destinations:
            known = ", ".join(sorted(self.destinations)) or "none are configured"
            msg = f"intranet_destination {self.intranet_destination!r} is not in destinations ({known})"
            raise ValueError(msg)
        if self.intranet_destination is None and len(self.destinations) > 1:
            msg = (f"several destinations ({', '.join(sorted(self.destinations))}): set "
                   "WAYFINDER_INTRANET_DESTINATION to the one that gets intranet messages")
            raise ValueError(msg)
        smtp = self.smtp_url
        if smtp is not None and smtp.password is not None and smtp.tls == "none" and not _is_loopback(smtp.host):
            msg = "refusing to send the SMTP password without TLS: use smtps:// or remove ?starttls=false"
            raise ValueError(msg)
        return self

    def recipient_links(self) -> RecipientLinks | None:
        """The link signer when ``WAYFINDER_TOKEN_SECRET`` is set (links then carry the recipient's token)."""
        if self.token_secret is None:
            return None
        return RecipientLinks(self.token_secret, ttl=timedelta(days=self.token_ttl_days))

    def intranet_route(self) -> tuple[str, Destination] | None:
        """The (name, destination) that intranet messages go to, if any."""
        name = self.intranet_destination or next(iter(self.destinations), None)
        return None if name is None else (name, self.destinations[name])

    def rate_limit_for(self, connector: str) -> RateLimit:
        destination = self.destinations.get(connector)
        return destination.rate_limit if destination and destination.rate_limit else self.rate_limit


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
