"""The test servers themselves: they keep what arrives, check signatures with their own code, answer as told."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from tests.servers import NEW_SECRET, NOW, OLD_SECRET, HookServer, MailServer, Reply, verify_standard_webhook


@pytest.fixture
def mail() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server


def test_mail_server_keeps_what_arrives_and_refuses_what_it_is_told(mail: MailServer) -> None:
    import smtplib

    mail.handler.refuse["nobody@example.com"] = "550 5.1.1 no such user"
    with smtplib.SMTP("127.0.0.1", mail.port, timeout=5) as client:
        client.sendmail("a@example.com", ["b@example.com"], b"Subject: hi\r\n\r\nbody\r\n")
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("a@example.com", ["nobody@example.com"], b"Subject: hi\r\n\r\nbody\r\n")
    assert [r.recipients for r in mail.handler.received] == [["b@example.com"]]


def test_the_receivers_signature_check_rejects_a_wrong_secret_a_changed_body_and_an_old_timestamp() -> None:
    stamp = int(NOW.timestamp())
    body = b'{"a":1}'
    key = base64.b64decode(NEW_SECRET.split("_", 1)[1])
    sig = base64.b64encode(hmac.new(key, f"m-1.{stamp}.".encode() + body, hashlib.sha256).digest()).decode()
    headers = {"webhook-id": "m-1", "webhook-timestamp": str(stamp), "webhook-signature": f"v1,{sig}"}
    assert verify_standard_webhook(NEW_SECRET, headers, body, NOW)
    assert not verify_standard_webhook(OLD_SECRET, headers, body, NOW)
    assert not verify_standard_webhook(NEW_SECRET, headers, b'{"a":2}', NOW)
    assert not verify_standard_webhook(NEW_SECRET, headers, body, NOW + timedelta(minutes=6))


def test_the_http_server_answers_as_told_and_records_hits() -> None:

    async def scenario() -> None:
        async with HookServer() as hook, httpx.AsyncClient() as client:
            hook.replies.append(Reply(status=503, headers={"retry-after": "7"}))
            first = await client.post(hook.url(), content=b"x")
            second = await client.post(hook.url(), content=b"y")
        assert (first.status_code, first.headers["retry-after"], second.status_code) == (503, "7", 200)
        assert [h.body for h in hook.hits] == [b"x", b"y"]

    started = time.monotonic()
    asyncio.run(scenario())
    assert time.monotonic() - started < 10
