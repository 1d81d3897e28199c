"""Per-recipient links: signed, expiring tokens for the preferences page and one-click unsubscribe.

A token is ``<payload>.<signature>``: the payload is base64url JSON with the recipient id (``r``),
the message id (``m``) and the expiry as Unix seconds (``e``); the signature is HMAC-SHA256 over
the payload with a key derived from ``WAYFINDER_TOKEN_SECRET``. ``wayfinder deliver`` signs,
``wayfinder serve`` checks; both read the same secret. The clock is always passed in.
Ids are opaque (no names, no addresses); errors never repeat a token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html as _html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

from wayfinder.journeys.records import Message

_CONTEXT = b"wayfinder-recipient-link-v1"
_WHY = {"malformed": "malformed", "tampered": "not valid (changed, or signed with another secret)",
        "expired": "expired"}
_MALFORMED, _TAMPERED, _EXPIRED = "malformed", "tampered", "expired"
_URL_TAIL = r"(?![A-Za-z0-9/?#&=._~%+-])"


class LinkError(ValueError):
    """A token that is malformed, tampered with or expired; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the link is {_WHY[reason]}: open the link in a more recent message")
        self.reason = reason


@dataclass(frozen=True)
class LinkClaims:
    recipient_id: str
    message_id: str | None
    expires: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class RecipientLinks:
    """Signs and checks per-recipient tokens, and builds the links that carry them."""

    def __init__(self, secret: SecretStr, *, ttl: timedelta = timedelta(days=90)) -> None:
        raw = secret.get_secret_value().encode("utf-8")
        if len(raw) < 16:
            msg = "WAYFINDER_TOKEN_SECRET must be at least 16 characters (32 random bytes recommended)"
            raise ValueError(msg)
        self._key = hmac.new(raw, _CONTEXT, hashlib.sha256).digest()
        self.ttl = ttl

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def sign(self, recipient_id: str, message_id: str | None, now: datetime) -> str:
        expires = int((now + self.ttl).timestamp())
        body = {"r": recipient_id, "e": expires} | ({"m": message_id} if message_id else {})
        payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8"))
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str, now: datetime) -> LinkClaims:
        payload, dot, signature = token.partition(".")
        if not dot or not payload or not signature or not token.isascii():  # a token we signed is base64url
            raise LinkError(_MALFORMED)
        if not hmac.compare_digest(self._mac(payload), signature):
            raise LinkError(_TAMPERED)
        try:
            body = json.loads(_unb64(payload))
            claims = LinkClaims(recipient_id=str(body["r"]), message_id=body.get("m"),
                                expires=datetime.fromtimestamp(int(body["e"]), UTC))
        except (binascii.Error, ValueError, KeyError, TypeError) as e:
            raise LinkError(_MALFORMED) from e
        if now >= claims.expires:
            raise LinkError(_EXPIRED)
        return claims

    def preferences_link(self, base_url: str, token: str) -> str:
        return _with_token(base_url, token)

    def unsubscribe_link(self, base_url: str, token: str) -> str:
        parts = urlsplit(base_url)
        return _with_token(urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/unsubscribe")), token)

    def personalize(self, message: Message, now: datetime) -> tuple[Message, str | None]:
        """The message with its preferences link carrying the recipient's token, and its unsubscribe link."""
        base = message.preferences_url
        if not base:
            return message, None
        token = self.sign(message.mailbox, message.message_id, now)
        link = self.preferences_link(base, token)
        pattern = re.compile(re.escape(base) + _URL_TAIL)
        html_pattern = re.compile(re.escape(base.replace("&", "&amp;")) + _URL_TAIL)
        update = {
            "preferences_url": link,
            "text": pattern.sub(lambda _: link, message.text) if message.text else message.text,
            "html": html_pattern.sub(lambda _: _html.escape(link), message.html) if message.html else message.html,
        }
        return message.model_copy(update=update), self.unsubscribe_link(base, token)


def _with_token(url: str, token: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&t={token}" if parts.query else f"t={token}"
    return urlunsplit(parts._replace(query=query))
