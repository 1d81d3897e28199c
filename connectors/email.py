"""Build the email for a message decision, the way a careful mail team would."""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime

from journeys.records import Message

_FORBIDDEN = re.compile(r"[\r\n\x00\u2028\u2029\x85]")


class HeaderInjectionError(ValueError):
    """A header-bound value held a line break or NUL; the message is refused, not cleaned."""


def _header_safe(name: str, value: str) -> str:
    if _FORBIDDEN.search(value):
        msg = f"{name} contains a line break or NUL character"
        raise HeaderInjectionError(msg)
    return value


def parse_address(value: str, display_name: str | None = None) -> Address:
    """Parse an address strictly: exactly one ``local@domain``, nothing else."""
    _header_safe("address", value)
    if value.count("@") != 1 or any(c in value for c in " <>,;\"'()[]\\"):
        msg = "not a plain email address"
        raise ValueError(msg)
    local, domain = value.split("@")
    if not local or not domain or "." not in domain or domain.startswith(".") or domain.endswith("."):
        msg = "not a plain email address"
        raise ValueError(msg)
    return Address(display_name=_header_safe("display name", display_name or ""), username=local, domain=domain)


def build_email(message: Message, *, sender: Address, domain: str = "wayfinder.example.com") -> EmailMessage:
    """A ``multipart/alternative`` email (text, then HTML) with unsubscribe headers (RFC 2369, RFC 8058)."""
    if message.recipient_email is None:
        msg = "the message has no recipient address"
        raise ValueError(msg)
    email = EmailMessage(policy=default_policy)
    email["From"] = sender
    email["To"] = parse_address(message.recipient_email, message.recipient_name)
    email["Subject"] = _header_safe("subject", message.subject or "")
    email["Date"] = format_datetime(message.scheduled_for)
    email["Message-ID"] = f"<{_header_safe('message_id', message.message_id)}@{domain}>"
    if message.preferences_url:
        url = _header_safe("preferences_url", message.preferences_url)
        email["List-Unsubscribe"] = f"<{url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email["X-Wayfinder-Journey"] = _header_safe("journey_id", message.journey_id)
    email.set_content(message.text or "", subtype="plain", cte="quoted-printable")
    email.add_alternative(message.html or "", subtype="html", cte="quoted-printable")
    return email
