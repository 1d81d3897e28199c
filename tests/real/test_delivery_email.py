"""Email delivery against a real SMTP server (aiosmtpd on 127.0.0.1): structure, encodings,
headers, TLS and AUTH, error classification, and header injection (with Hypothesis)."""

from __future__ import annotations

import asyncio
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.servers import NOW, MailServer, client_ca_file, make_message
from wayfinder.connectors.base import Accepted, ConnectorDeps, PermanentDeliveryError, RetryableDeliveryError
from wayfinder.connectors.email import HeaderInjectionError, build_email, parse_address, parse_mailbox
from wayfinder.connectors.settings import DeliverySettings
from wayfinder.connectors.smtp import smtp_from_settings
from wayfinder.journeys.records import Message

SENDER = Address("Wayfinder HR", "hr", "example.com")
EXPECTED_HEADERS = ["From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post",
                    "Auto-Submitted", "X-Wayfinder-Journey", "MIME-Version", "Content-Type"]
BREAKS = ["\r", "\n", "\r\n", "\x00", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c"]
ENCODED_BREAKS = ["=?utf-8?q?x=0D=0ABcc:_evil@attacker.example?=",
                  "=?utf-8?b?eA0KQmNjOiBldmlsQGF0dGFja2VyLmV4YW1wbGU=?="]


def send(server: MailServer, message: Message, **overrides: Any) -> Accepted:
    fields: dict[str, Any] = {"smtp_url": server.url, "sender": "Wayfinder HR <hr@example.com>",
                              "smtp_timeout_seconds": 5}
    fields.update(overrides)
    connector = smtp_from_settings(DeliverySettings(**fields), "smtp", ConnectorDeps(now=lambda: NOW))

    async def go() -> Accepted:
        try:
            return await connector.send(message)
        finally:
            await connector.close()

    return asyncio.run(go())


@pytest.fixture
def mail() -> Any:
    with MailServer() as server:
        yield server


# -- what arrives ------------------------------------------------------------------------------------
def test_an_email_arrives_as_text_and_html_with_names_and_subject_in_any_script(mail: MailServer) -> None:
    message = make_message(1, subject="Bienvenue, Chloé — 日本語のお知らせ", recipient_name="Zoë 日本語",
                           text="Bonjour Chloé,\n\nZoë says 日本語.", html="<p>Bonjour Chloé, 日本語</p>")
    accepted = send(mail, message)
    assert accepted == Accepted("smtp", "250 queued as Q42")
    (got,) = mail.handler.received
    assert got.sender == "hr@example.com"
    assert got.recipients == ["e1@example.com"]
    header_block = got.data.split(b"\r\n\r\n", 1)[0]
    assert header_block.isascii(), "headers must be 7-bit: non-ASCII goes in RFC 2047 encoded words"
    assert all(len(line) <= 998 for line in header_block.split(b"\r\n"))
    email = got.email()
    assert email["Subject"] == "Bienvenue, Chloé — 日本語のお知らせ"
    assert email["To"].addresses[0].display_name == "Zoë 日本語"
    assert email["From"].addresses[0] == SENDER
    assert email.get_content_type() == "multipart/alternative"
    text, html = email.iter_parts()
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert text.get_content().replace("\r\n", "\n") == "Bonjour Chloé,\n\nZoë says 日本語.\n"
    assert "日本語" in html.get_content()


def test_headers_carry_a_stable_message_id_unsubscribe_and_the_send_time(mail: MailServer) -> None:
    send(mail, make_message(2))
    email = mail.handler.received[0].email()
    assert email["Message-ID"] == "<m-000000000000000000000002@example.com>"
    assert email["List-Unsubscribe"] == "<https://intranet.example.com/preferences>"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email["Auto-Submitted"] == "auto-generated"
    assert email["Date"].datetime == NOW
    assert list(email.keys()) == EXPECTED_HEADERS


def test_the_ehlo_name_can_be_set_for_relays_that_check_it(mail: MailServer) -> None:
    send(mail, make_message(3), smtp_helo_name="wayfinder.example.com")
    assert mail.handler.received[0].helo == "wayfinder.example.com"


def test_an_internationalized_domain_goes_on_the_wire_as_idna(mail: MailServer) -> None:
    send(mail, make_message(3, recipient_email="zoe@例え.jp"))
    (got,) = mail.handler.received
    assert got.recipients == ["zoe@xn--r8jz45g.jp"]
    assert got.email()["To"].addresses[0].domain == "xn--r8jz45g.jp"


def test_a_message_without_html_is_a_single_text_part() -> None:
    email = build_email(make_message(4, html=None), sender=SENDER)
    assert email.get_content_type() == "text/plain"


def test_a_plain_http_preferences_link_gets_no_one_click_header() -> None:
    email = build_email(make_message(5, preferences_url="http://intranet.example.com/p"), sender=SENDER)
    assert email["List-Unsubscribe"] == "<http://intranet.example.com/p>"
    assert "List-Unsubscribe-Post" not in email


# -- TLS and AUTH -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_tls_with_auth_delivers(tls: str, tmp_path: Path) -> None:
    with MailServer(tls=tls) as server:
        send(server, make_message(6), smtp_ca_file=client_ca_file(tmp_path))
        assert len(server.handler.received) == 1


def test_wrong_credentials_are_a_permanent_error_that_names_the_setting(tmp_path: Path) -> None:
    with MailServer(tls="starttls") as server:
        url = server.url.replace("s3cret", "wrong")
        with pytest.raises(PermanentDeliveryError, match="WAYFINDER_SMTP_URL") as caught:
            send(server, make_message(7), smtp_url=url, smtp_ca_file=client_ca_file(tmp_path))
    assert caught.value.reason == "smtp_auth_failed"
    assert "wrong" not in str(caught.value)


def test_an_untrusted_certificate_is_a_permanent_error_that_says_what_to_set() -> None:
    with MailServer(tls="implicit") as server, pytest.raises(PermanentDeliveryError, match="SMTP_CA_FILE") as caught:
        send(server, make_message(8))
    assert caught.value.reason == "smtp_tls_failed"


# -- classification --------------------------------------------------------------------------------------------
def test_a_refused_recipient_is_permanent_and_the_error_does_not_repeat_the_address(mail: MailServer) -> None:
    mail.handler.refuse["gone@example.com"] = "550 5.1.1 <gone@example.com>: Recipient address rejected"
    with pytest.raises(PermanentDeliveryError, match=r"550 5\.1\.1") as caught:
        send(mail, make_message(9, recipient_email="gone@example.com"))
    assert caught.value.reason == "smtp_recipient_refused"
    assert "gone@" not in str(caught.value)
    assert mail.handler.received == []


def test_a_deferred_message_is_retryable(mail: MailServer) -> None:
    mail.handler.defer_data = 1
    with pytest.raises(RetryableDeliveryError, match="451") as caught:
        send(mail, make_message(10))
    assert caught.value.reason == "smtp_message_deferred"


def test_a_server_that_is_down_is_retryable() -> None:
    server = MailServer().start()
    server.stop()
    with pytest.raises(RetryableDeliveryError) as caught:
        send(server, make_message(11))
    assert caught.value.reason == "smtp_connection"


@pytest.mark.parametrize("address", ["no-at-sign", "a@b@example.com", "a b@example.com", "<a@example.com>",
                                     "a@example", "a@-x.example.com", "\"a\"@example.com", "a@example.com,b@c.com",
                                     "chloé@example.com", ".a@example.com", "a..b@example.com"])
def test_addresses_are_parsed_strictly_and_errors_do_not_repeat_them(address: str) -> None:
    with pytest.raises(ValueError, match="not a plain email address") as caught:
        parse_address(address)
    assert address not in str(caught.value)


def test_a_bad_address_is_a_permanent_error_and_nothing_is_sent(mail: MailServer) -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        send(mail, make_message(12, recipient_email="a@b@example.com"))
    assert caught.value.reason == "invalid_message"
    with pytest.raises(PermanentDeliveryError) as missing:
        send(mail, make_message(13, recipient_email=None))
    assert missing.value.reason == "no_recipient_address"
    assert mail.handler.received == []


def test_the_sender_setting_is_a_mailbox() -> None:
    assert parse_mailbox("People Team <people@example.com>") == Address("People Team", "people", "example.com")
    assert parse_mailbox("people@example.com") == Address("", "people", "example.com")
    with pytest.raises(ValueError, match="not a mailbox"):
        parse_mailbox("People <people@example.com> extra")


# -- header injection ----------------------------------------------------------------------------------------
def test_an_injected_bcc_in_the_subject_is_refused_and_nothing_reaches_the_server(mail: MailServer) -> None:
    with pytest.raises(PermanentDeliveryError, match="subject contains a line break") as caught:
        send(mail, make_message(14, subject="Hi\r\nBcc: evil@attacker.example"))
    assert caught.value.reason == "invalid_message"
    assert mail.handler.received == []


_FIELDS = ["subject", "recipient_name", "preferences_url"]
_injected = st.tuples(st.text(max_size=20), st.sampled_from(BREAKS + ENCODED_BREAKS), st.text(max_size=20))


@given(field=st.sampled_from(_FIELDS), parts=_injected)
@settings(max_examples=150, deadline=None)
def test_a_line_break_or_encoded_line_break_in_any_header_field_is_refused(field: str, parts: tuple[str, str, str]
                                                                          ) -> None:
    value = "".join(parts)
    if field == "preferences_url":
        value = "https://intranet.example.com/p?" + value
    with pytest.raises(HeaderInjectionError):
        build_email(make_message(15, **{field: value}), sender=SENDER)


@given(subject=st.text(max_size=80), name=st.text(max_size=40))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_whatever_the_subject_and_name_the_header_block_is_exactly_ours(subject: str, name: str) -> None:
    """Either refused, or the written message parses back to exactly our headers with the same values."""
    try:
        email = build_email(make_message(16, subject=subject, recipient_name=name), sender=SENDER)
        raw = bytes(email)
    except (HeaderInjectionError, UnicodeError):
        return
    parsed = BytesHeaderParser(policy=default_policy).parsebytes(raw, headersonly=True)
    assert list(parsed.keys()) == EXPECTED_HEADERS
    assert " ".join(str(parsed["Subject"]).split()) == " ".join(subject.split())
    assert parsed["To"].addresses[0].addr_spec == "e16@example.com"
    assert len(parsed["To"].addresses) == 1
    # CPython's parser puts a space between adjacent encoded words in a display name (RFC 2047 6.2 says
    # to drop it), so the name is compared without whitespace
    assert "".join(parsed["To"].addresses[0].display_name.split()) == "".join(name.split())
