"""Email over SMTP (aiosmtplib): STARTTLS or implicit TLS, optional AUTH, a small connection pool.

Errors are classified the way RFC 5321 means them: a 5xx reply is permanent (a refused address,
refused content, refused credentials), a 4xx reply, a lost connection or a timeout is worth
retrying. Error details carry the reply code and the enhanced status code, never the server's
text, which often repeats the recipient's address.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Callable
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage

import aiosmtplib
from aiosmtplib.protocol import SMTPProtocol

from wayfinder.clock import utc_now
from wayfinder.connectors.base import (
    Accepted,
    ConnectorDeps,
    DeliveryError,
    InvalidMessageError,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from wayfinder.connectors.email import parse_mailbox, smtp_bytes
from wayfinder.connectors.links import RecipientLinks
from wayfinder.connectors.settings import DeliverySettings, SmtpServer
from wayfinder.connectors.tls import caused_by, trusting
from wayfinder.journeys.records import Message

_ENHANCED = re.compile(r"\s*([245]\.\d{1,3}\.\d{1,3})\b")
_QUEUED = re.compile(r"queued as ([A-Za-z0-9._-]{1,64})", re.IGNORECASE)

# exception type -> (reason on 5xx, reason on 4xx, what the reply refused, what to do on 5xx)
_RESPONSE_KINDS: list[tuple[type[aiosmtplib.SMTPResponseException], str, str, str, str]] = [
    (aiosmtplib.SMTPRecipientRefused, "smtp_recipient_refused", "smtp_recipient_deferred", "the recipient address",
     "check the recipient's email address in the HR system"),
    (aiosmtplib.SMTPSenderRefused, "smtp_sender_refused", "smtp_sender_deferred", "the sender address",
     "check that WAYFINDER_SENDER may send through this relay"),
    (aiosmtplib.SMTPDataError, "smtp_message_refused", "smtp_message_deferred", "the message",
     "the relay's policy refused the content or size; ask its operators"),
    (aiosmtplib.SMTPAuthenticationError, "smtp_auth_failed", "smtp_auth_deferred", "the credentials",
     "check the user and password in WAYFINDER_SMTP_URL"),
]


_POLICY_HINT = ("the relay's policy (RFC 3463 x.7: relaying, authentication or a restricted recipient), not the "
                "address: check that the account in WAYFINDER_SMTP_URL may send to this recipient, or ask the relay's "
                "operators")


def _codes(code: int, text: str) -> str:
    match = _ENHANCED.match(text or "")
    return f"{code} {match.group(1)}" if match else str(code)


def _response_error(exc: aiosmtplib.SMTPResponseException) -> DeliveryError:
    permanent, transient, what, fix = "smtp_refused", "smtp_deferred", "a command", "see the relay's logs"
    for kind, perm, temp, thing, hint in _RESPONSE_KINDS:
        if isinstance(exc, kind):
            permanent, transient, what, fix = perm, temp, thing, hint
            break
    enhanced = _ENHANCED.match(exc.message or "")
    if enhanced is not None and not isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        # RFC 3463 says what was refused, whichever command the relay refused it at (a 550 5.1.1 "no such user"
        # after DATA was explained as the relay's policy on content)
        _, subject, detail = (int(n) for n in enhanced.group(1).split("."))
        if subject == 1 and detail in (7, 8):
            permanent, transient, what, fix = _RESPONSE_KINDS[1][1:]
        elif subject == 1:
            permanent, transient, what, fix = _RESPONSE_KINDS[0][1:]
        elif subject == 7 and permanent == "smtp_recipient_refused":
            # x.7.y is security or policy (relaying denied, authentication required, a restricted list), not a
            # wrong address: "check the recipient's email address" sent people to the HR system for a relay setting
            what, fix = "the recipient", _POLICY_HINT
    codes = _codes(exc.code, exc.message)
    if 500 <= exc.code < 600:
        return PermanentDeliveryError(permanent, f"the SMTP relay refused {what} ({codes}); {fix}")
    return RetryableDeliveryError(transient, f"the SMTP relay deferred {what} ({codes})")




def classify_smtp_error(exc: Exception, where: str) -> DeliveryError:
    """A delivery error for what aiosmtplib (or the network) raised; ``where`` is ``host:port``."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        return _response_error(exc.recipients[0])
    if caused_by(exc, ssl.SSLCertVerificationError):
        return PermanentDeliveryError("smtp_tls_failed", f"the TLS certificate of {where} did not verify; for a "
                                      "relay with a private CA set WAYFINDER_SMTP_CA_FILE")
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return RetryableDeliveryError("smtp_timeout", f"{where} did not answer in time")
    if isinstance(exc, aiosmtplib.SMTPConnectResponseError):  # a connect error with the relay's reply: by its code
        return _response_error(exc)  # (554 5.7.1 at the greeting was retried as "could not talk to the relay")
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected | ConnectionError | OSError):
        return RetryableDeliveryError("smtp_connection", f"could not talk to the SMTP relay at {where} "
                                      f"({type(exc).__name__})")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _response_error(exc)
    if isinstance(exc, aiosmtplib.SMTPException):  # the relay lacks what the settings ask for (AUTH, STARTTLS)
        return PermanentDeliveryError("smtp_not_supported", f"{exc.message.rstrip('.')}; check WAYFINDER_SMTP_URL "
                                      "(smtps:// or ?starttls=true for TLS, ?starttls=false for a local test relay "
                                      "without TLS; credentials only where AUTH is offered)")
    return RetryableDeliveryError("smtp_error", f"unexpected {type(exc).__name__} from the SMTP client")


class SmtpConnector:
    """Sends each message as one SMTP transaction, reusing up to ``pool_size`` connections."""

    def __init__(self, server: SmtpServer, *, sender: Address, message_id_domain: str | None = None,
                 name: str = "smtp", timeout: float = 30.0, pool_size: int = 8,
                 tls_context: ssl.SSLContext | None = None, now: Callable[[], datetime] = utc_now,
                 max_messages_per_connection: int = 100, helo_name: str | None = None,
                 links: RecipientLinks | None = None) -> None:
        self.name = name
        self.server = server
        self.sender = sender
        self.message_id_domain = message_id_domain or sender.domain
        self.timeout = timeout
        self.tls_context = tls_context
        self.max_messages_per_connection = max_messages_per_connection
        self.helo_name = helo_name
        self.links = links
        self._now = now
        self._slots = asyncio.Semaphore(pool_size)
        self._idle: list[tuple[aiosmtplib.SMTP, int]] = []
        self._retiring: set[asyncio.Task[None]] = set()
        self._where = f"{server.host}:{server.port}"

    def _email(self, message: Message) -> tuple[EmailMessage, bytes]:
        if not message.recipient_email:
            error = InvalidMessageError("no_recipient_address", "the message has no recipient email address "
                                           "(the recipient's profile has none)")
            raise error
        try:
            return smtp_bytes(message, sender=self.sender, domain=self.message_id_domain, date=self._now(),
                              links=self.links)
        except ValueError as e:
            error = InvalidMessageError("invalid_message", str(e))
            raise error from e

    def _client(self) -> aiosmtplib.SMTP:
        s = self.server
        return aiosmtplib.SMTP(hostname=s.host, port=s.port, use_tls=s.tls == "implicit",
                               start_tls=s.tls == "starttls", timeout=self.timeout, tls_context=self.tls_context,
                               local_hostname=self.helo_name)

    async def _checkout(self) -> tuple[aiosmtplib.SMTP, int]:
        while self._idle:
            client, used = self._idle.pop()
            if client.is_connected:
                return client, used
            await _close(client)
        client = self._client()
        protocol = None
        try:
            await client.connect()
            protocol = client.protocol  # kept: a failed login drops it, and the close must be waited for
            if self.server.username is not None:
                password = self.server.password.get_secret_value() if self.server.password else ""
                await client.login(self.server.username.get_secret_value(), password)
        except Exception as e:
            await _close(client, protocol)
            raise classify_smtp_error(e, self._where) from e
        return client, 0

    async def send(self, message: Message) -> Accepted:
        email, raw = self._email(message)
        recipient = email["To"].addresses[0].addr_spec
        async with self._slots:
            client, used = await self._checkout()
            try:
                _, reply = await client.sendmail(self.sender.addr_spec, [recipient], raw)
            except Exception as e:
                if isinstance(e, aiosmtplib.SMTPResponseException | aiosmtplib.SMTPRecipientsRefused) \
                        and client.is_connected:
                    self._idle.append((client, used + 1))  # aiosmtplib sent RSET: the connection is reusable
                else:
                    await _close(client)
                raise classify_smtp_error(e, self._where) from e
            except BaseException:
                client.close()
                raise
            if used + 1 < self.max_messages_per_connection:
                self._idle.append((client, used + 1))
            else:
                self._retire(client)
        queued = _QUEUED.search(reply or "")
        return Accepted(self.name, f"250 queued as {queued.group(1)}" if queued else "250")

    def _retire(self, client: aiosmtplib.SMTP) -> None:
        """QUIT a used-up connection in the background: awaiting it here would put the QUIT (up to 5 s with a slow
        relay) between the server's 250 and the ledger's ``accepted`` row, the one window where a kill sends the
        message twice (see connectors.ledger). ``close`` waits for it."""
        task = asyncio.create_task(_quit(client))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        await asyncio.gather(*(_quit(client) for client, _ in idle), *self._retiring)


async def _quit(client: aiosmtplib.SMTP) -> None:
    protocol = client.protocol
    try:
        await asyncio.wait_for(client.quit(), timeout=5)
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        pass
    finally:
        await _close(client, protocol)


async def _close(client: aiosmtplib.SMTP, protocol: SMTPProtocol | None = None, *, patience: float = 2.0) -> None:
    """Close and wait (a little) until the connection is really gone: over TLS, closing is a
    close_notify exchange, and a socket still closing when the event loop ends is leaked."""
    protocol = protocol or client.protocol
    client.close()
    deadline = asyncio.get_running_loop().time() + patience
    while protocol is not None and protocol.transport is not None and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.005)


def smtp_from_settings(settings: DeliverySettings, name: str, deps: ConnectorDeps) -> SmtpConnector:
    if settings.smtp_url is None:
        msg = "email delivery needs WAYFINDER_SMTP_URL, e.g. smtp://user:pass@smtp.example.com:587"
        raise ValueError(msg)
    if settings.sender is None:
        msg = "email delivery needs WAYFINDER_SENDER, e.g. 'People Team <people@example.com>'"
        raise ValueError(msg)
    context = trusting(settings.smtp_ca_file, "WAYFINDER_SMTP_CA_FILE") if settings.smtp_ca_file else None
    return SmtpConnector(settings.smtp_url, sender=parse_mailbox(settings.sender), name=name,
                         message_id_domain=settings.message_id_domain, timeout=settings.smtp_timeout_seconds,
                         pool_size=settings.concurrency, tls_context=context, now=deps.now,
                         helo_name=settings.smtp_helo_name, links=settings.recipient_links())

