"""Per-recipient link tokens: signing, expiry, tampering, and the email headers that carry them."""

from __future__ import annotations

import email as email_package
from datetime import timedelta
from email.headerregistry import Address
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from tests.support import at
from wayfinder.connectors.email import build_email, smtp_bytes
from wayfinder.connectors.links import LinkError, RecipientLinks
from wayfinder.journeys.records import Message

SECRET = SecretStr("a-test-secret-of-enough-length")
NOW = at("2026-03-02T09:00")


def _links(secret: SecretStr = SECRET, days: int = 90) -> RecipientLinks:
    return RecipientLinks(secret, ttl=timedelta(days=days))


def test_a_token_names_its_recipient_and_message_until_it_expires() -> None:
    token = _links().sign("E1001", "m-1", NOW)
    claims = _links().verify(token, NOW + timedelta(days=89))
    assert (claims.recipient_id, claims.message_id) == ("E1001", "m-1")
    with pytest.raises(LinkError, match="expired") as e:
        _links().verify(token, NOW + timedelta(days=90))
    assert e.value.reason == "expired"


@pytest.mark.parametrize("change", ["payload", "signature", "truncate", "garbage"])
def test_a_changed_token_is_refused(change: str) -> None:
    token = _links().sign("E1001", "m-1", NOW)
    payload, signature = token.split(".")
    other = _links().sign("E1002", "m-1", NOW).split(".")[0]
    forged = {"payload": f"{other}.{signature}", "signature": f"{payload}.{signature[:-2]}AA",
              "truncate": payload, "garbage": "not-a-token"}[change]
    with pytest.raises(LinkError) as e:
        _links().verify(forged, NOW)
    assert e.value.reason in ("tampered", "malformed")
    assert forged not in str(e.value)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = _links(SecretStr("another-secret-of-enough-length")).sign("E1001", None, NOW)
    with pytest.raises(LinkError, match="not valid"):
        _links().verify(token, NOW)


def test_a_short_secret_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="WAYFINDER_TOKEN_SECRET must be at least 16"):
        RecipientLinks(SecretStr("short"))


def _message() -> Message:
    url = "https://people.example.com/preferences"
    return Message(message_id="m-abc", employee_id="E1001", recipient_id="E1001", journey_id="new-parent",
                   journey_version=1, step_id="welcome", channel="email", status="sent", scheduled_for=NOW,
                   created_at=NOW, subject="Hello", text=f"Hi\n\nTo change or stop these messages: {url}\n",
                   html=f'<p>Hi</p><p><a href="{url}">preferences</a></p>', preferences_url=url,
                   recipient_email="e1001@example.com")


def test_the_email_links_carry_the_recipients_token() -> None:
    email = build_email(_message(), sender=Address("People", "people", "example.com"), date=NOW, links=_links())
    header = str(email["List-Unsubscribe"]).strip("<>")
    parts = urlsplit(header)
    assert parts.path == "/preferences/unsubscribe"
    token = parse_qs(parts.query)["t"][0]
    assert _links().verify(token, NOW).recipient_id == "E1001"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body = email.get_body(("plain",))
    assert body is not None
    assert f"https://people.example.com/preferences?t={token}\n" in body.get_content()
    html = email.get_body(("html",))
    assert html is not None
    assert f'href="https://people.example.com/preferences?t={token}"' in html.get_content()


def test_the_signed_unsubscribe_header_is_one_bracketed_url_not_encoded_words() -> None:
    """RFC 2369/8058 need ``<https://...>`` as it is; folding the long signed URL used to encode it."""
    _, raw = smtp_bytes(_message(), sender=Address("People", "people", "example.com"), date=NOW, links=_links())
    header = email_package.message_from_bytes(raw)["List-Unsubscribe"]  # compat32: the raw header value
    assert isinstance(header, str)
    token = _links().sign("E1001", "m-abc", NOW)
    assert header == f"<https://people.example.com/preferences/unsubscribe?t={token}>"
    assert f"List-Unsubscribe: {header}\r\n".encode("ascii") in raw


def test_without_a_secret_the_links_are_as_the_engine_wrote_them() -> None:
    email = build_email(_message(), sender=Address("People", "people", "example.com"), date=NOW)
    assert str(email["List-Unsubscribe"]) == "<https://people.example.com/preferences>"
    assert str(email["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"  # issue 4: on every email
