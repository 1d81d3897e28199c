"""Backoff, circuit breaker, token bucket (fake clock), the send ledger, SMTP connection retirement, settings, the
registry, and `wayfinder deliver` refusing what it could not record."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sqlite3
import unicodedata
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from unittest.mock import create_autospec

import aiosmtplib
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from tests.servers import NOW, make_message
from wayfinder.cli import main
from wayfinder.connectors import base
from wayfinder.connectors.base import (
    Accepted,
    ConnectorDeps,
    DeliveryError,
    PermanentDeliveryError,
    RetryableDeliveryError,
    build_connectors,
    connector_factory,
    register_connector,
)
from wayfinder.connectors.email import parse_mailbox
from wayfinder.connectors.ledger import SqliteLedger
from wayfinder.connectors.metrics import DeliveryMetrics
from wayfinder.connectors.payloads import slack_payload, webhook_payload
from wayfinder.connectors.receipts import JsonlSink
from wayfinder.connectors.reliability import Backoff, BreakerState, CircuitBreaker, TokenBucket
from wayfinder.connectors.runner import DeliveryRunner, DeliverySummary
from wayfinder.connectors.settings import DeliverySettings, SmtpServer
from wayfinder.connectors.smtp import SmtpConnector, classify_smtp_error
from wayfinder.journeys.records import ERASED_INPUT, Message
from wayfinder.vocabulary import Channel


def state_of(breaker: CircuitBreaker) -> BreakerState:
    return breaker.state  # a call, so the type checker does not narrow the state between steps


class FakeTime:
    def __init__(self) -> None:
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


# -- backoff ---------------------------------------------------------------------------------------------
def test_backoff_ceilings_double_up_to_the_maximum() -> None:
    backoff = Backoff(0.5, 4.0, rand=lambda: 1.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


@given(failures=st.integers(1, 10_000), draw=st.floats(0, 1, exclude_max=True))
def test_full_jitter_stays_between_zero_and_the_ceiling(failures: int, draw: float) -> None:
    backoff = Backoff(1.0, 60.0, rand=lambda: draw)
    assert 0.0 <= backoff.delay(failures) <= min(60.0, 2.0 ** min(failures - 1, 100))


def test_full_jitter_spreads_retries() -> None:
    backoff = Backoff(1.0, 60.0, rand=random.Random(7).random)  # noqa: S311
    delays = [backoff.delay(5) for _ in range(200)]
    assert min(delays) < 2 and max(delays) > 14 and len(set(delays)) == 200


# -- circuit breaker ---------------------------------------------------------------------------------------
def test_breaker_opens_after_the_threshold_probes_after_the_timeout_and_closes_on_success() -> None:
    clock, changes = FakeTime(), []

    def note(state: BreakerState) -> None:
        changes.append(state)

    breaker = CircuitBreaker(3, 10.0, monotonic=clock.monotonic, on_change=note)
    for _ in range(2):
        assert breaker.try_acquire() is None
        breaker.record_failure()
    assert state_of(breaker) == "closed"
    breaker.record_failure()
    assert state_of(breaker) == "open"
    assert breaker.try_acquire() == 10.0
    clock.advance(4)
    assert breaker.try_acquire() == 6.0
    clock.advance(6)
    assert breaker.try_acquire() is None  # the probe
    assert state_of(breaker) == "half_open"
    assert breaker.try_acquire() == 0.05  # others wait for the probe
    breaker.record_failure()
    assert state_of(breaker) == "open" and breaker.try_acquire() == 10.0
    clock.advance(10)
    assert breaker.try_acquire() is None
    breaker.record_success()
    assert state_of(breaker) == "closed" and breaker.try_acquire() is None
    assert changes == ["open", "half_open", "open", "half_open", "closed"]


def test_a_success_resets_the_count_and_a_neutral_probe_lets_another_probe_go() -> None:
    clock = FakeTime()
    breaker = CircuitBreaker(2, 1.0, monotonic=clock.monotonic)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert state_of(breaker) == "closed"
    breaker.record_failure()
    clock.advance(1)
    assert breaker.try_acquire() is None
    breaker.record_neutral()
    assert state_of(breaker) == "half_open" and breaker.try_acquire() is None


# -- token bucket ------------------------------------------------------------------------------------------
def test_token_bucket_allows_a_burst_then_spaces_callers_out() -> None:
    clock = FakeTime()
    bucket = TokenBucket(2.0, 3, monotonic=clock.monotonic)
    assert [bucket.reserve() for _ in range(5)] == [0.0, 0.0, 0.0, 0.5, 1.0]
    clock.advance(10)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]


@given(steps=st.lists(st.floats(0, 5), min_size=1, max_size=60))
def test_token_bucket_never_lets_more_through_than_burst_plus_rate_times_time(steps: list[float]) -> None:
    clock = FakeTime()
    bucket = TokenBucket(4.0, 2, monotonic=clock.monotonic)
    starts = []
    for gap in steps:
        clock.advance(gap)
        starts.append(clock.t + bucket.reserve())
    for i, a in enumerate(starts):
        window = [b for b in starts[i:] if b - a <= 1.0]
        assert len(window) <= 2 + 4 * 1.0 + 1e-9


# -- ledger ---------------------------------------------------------------------------------------------------
def test_ledger_keeps_one_row_per_message_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ledger = SqliteLedger(path, now=lambda: NOW)
    assert ledger.begin_attempt("m-1", "smtp") == 1
    ledger.retrying("m-1", "smtp_connection")
    assert ledger.begin_attempt("m-1", "smtp") == 2
    ledger.accepted("m-1")
    ledger.begin_attempt("m-2", "portal")
    ledger.failed("m-2", "http_gone", "portal")
    ledger.begin_attempt("m-3", "smtp")
    ledger.failed("m-5", "circuit_open", "smtp")  # never attempted: still recorded
    ledger.close()
    again = SqliteLedger(path, now=lambda: NOW + timedelta(hours=1))
    one, two, three = (again.lookup(m) for m in ("m-1", "m-2", "m-3"))
    assert one is not None and (one.state, one.attempts, one.accepted_at) == ("accepted", 2, "2026-03-02T09:15:00Z")
    assert two is not None and (two.state, two.reason) == ("failed", "http_gone")
    assert three is not None and three.state == "sending"  # a crash mid-send leaves evidence
    assert again.lookup("m-4") is None
    five = again.lookup("m-5")
    assert five is not None and (five.state, five.attempts, five.reason) == ("failed", 0, "circuit_open")
    assert again.counts() == {"accepted": 1, "failed": 2, "sending": 1}
    again.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()


def test_a_file_that_is_not_a_ledger_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, just text that is long enough to not look like sqlite at all\n" * 20)
    with pytest.raises(ValueError, match="is not a Wayfinder send ledger"):
        SqliteLedger(path)


# -- SMTP: nothing between the server's 250 and the ledger row ------------------------------------------------------
class _SlowQuitClient:
    """Stands in for aiosmtplib.SMTP: accepts every message, and its QUIT hangs until ``answer`` is set."""

    protocol = None

    def __init__(self) -> None:
        self.is_connected = False
        self.answer = asyncio.Event()
        self.quit_answered = False

    async def connect(self) -> None:
        self.is_connected = True

    async def sendmail(self, sender: str, recipients: list[str], raw: bytes) -> tuple[dict[str, Any], str]:
        return {}, "2.0.0 Ok: queued as ABC123"

    async def quit(self) -> None:
        await self.answer.wait()
        self.quit_answered = True

    def close(self) -> None:
        self.is_connected = False


def test_smtp_returns_the_acceptance_before_quitting_a_used_up_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    client = _SlowQuitClient()
    connector = SmtpConnector(SmtpServer.from_url("smtp://127.0.0.1:9?starttls=false"),
                              sender=parse_mailbox("hr@example.com"), max_messages_per_connection=1)
    monkeypatch.setattr(connector, "_client", lambda: client)

    async def scenario() -> Accepted:
        accepted = await asyncio.wait_for(connector.send(make_message(1)), timeout=2)  # QUIT is still unanswered
        assert not client.quit_answered
        client.answer.set()
        await connector.close()  # waits for the connection it retired
        return accepted

    assert asyncio.run(scenario()) == Accepted("smtp", "250 queued as ABC123")
    assert client.quit_answered and not client.is_connected


# -- the runner: one connector down does not stall the others -------------------------------------------------------
async def _each(messages: list[Message]) -> AsyncIterator[Message]:
    for m in messages:
        yield m


class _Down:
    """An email relay that refuses every connection."""

    name = "smtp"

    def __init__(self) -> None:
        self.tries = 0

    async def send(self, message: Message) -> Accepted:
        self.tries += 1
        refused = RetryableDeliveryError("smtp_connection", "could not talk to the SMTP relay")
        raise refused

    async def close(self) -> None:
        return None


class _Portal:
    """An intranet destination that works; ``all_in`` is set once ``expected`` messages arrived."""

    name = "portal"

    def __init__(self, expected: int) -> None:
        self.ids: list[str] = []
        self.expected = expected
        self.all_in = asyncio.Event()

    async def send(self, message: Message) -> Accepted:
        self.ids.append(message.message_id)
        if len(self.ids) == self.expected:
            self.all_in.set()
        return Accepted(self.name, "200")

    async def close(self) -> None:
        return None


def test_messages_waiting_on_an_open_circuit_leave_the_slots_to_other_connectors(tmp_path: Path) -> None:
    emails = [make_message(n) for n in range(6)]
    posts = [make_message(n, channel="intranet") for n in range(6, 9)]
    down, portal = _Down(), _Portal(len(posts))
    settings = DeliverySettings(concurrency=2, circuit_breaker={"failure_threshold": 1, "reset_timeout_seconds": 60},
                                retry={"give_up_after_seconds": 600})
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    settled: list[str] = []

    async def source() -> AsyncIterator[Message]:
        for m in [*emails, *posts]:  # the email first: in the past they took every slot
            yield m

    async def scenario() -> DeliverySummary:
        receipts, dead = JsonlSink(tmp_path / "receipts.jsonl"), JsonlSink(tmp_path / "dead.jsonl")
        runner = DeliveryRunner({"email": down, "intranet": portal}, ledger=ledger, receipts=receipts,
                                dead_letters=dead, settings=settings, rand=lambda: 0.5)
        running = asyncio.create_task(runner.run(source(), settled=lambda m: settled.append(m.message_id)))
        await asyncio.wait_for(portal.all_in.wait(), timeout=5)  # while the email circuit is still open
        runner.stop()
        summary = await running
        await receipts.close()
        await dead.close()
        return summary

    try:
        summary = asyncio.run(scenario())
    finally:
        ledger.close()
    assert portal.ids == [m.message_id for m in posts]
    # the two emails in email's slots were waiting (to retry, for the circuit); the other four had not started
    assert (summary.delivered, summary.left_for_next_run, summary.failed_total) == (3, 2, 0)
    assert down.tries == 1  # the circuit opened at the first refusal
    assert not set(settled) & {m.message_id for m in emails}  # left for the next run: deliver --kafka rereads them


def test_a_message_refused_before_sending_is_failed_without_counting_an_attempt(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    refused = [make_message(1, subject="Hi\r\nBcc: evil@attacker.example"), make_message(2, recipient_email=None)]
    connector = SmtpConnector(SmtpServer.from_url("smtp://127.0.0.1:9?starttls=false"),  # never reached
                              sender=parse_mailbox("hr@example.com"))
    registry = CollectorRegistry()
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")

    async def source() -> AsyncIterator[Message]:
        for m in refused:
            yield m

    async def scenario() -> DeliverySummary:
        receipts, dead = JsonlSink(tmp_path / "receipts.jsonl"), JsonlSink(tmp_path / "dead.jsonl")
        runner = DeliveryRunner({"email": connector}, ledger=ledger, receipts=receipts, dead_letters=dead,
                                settings=DeliverySettings(), metrics=DeliveryMetrics(registry))
        summary = await runner.run(source(), settled=lambda m: settled.append(m.message_id))
        await receipts.close()
        await dead.close()
        return summary

    settled: list[str] = []
    try:
        with caplog.at_level(logging.WARNING, logger="wayfinder.connectors.runner"):
            summary = asyncio.run(scenario())
        rows = [ledger.lookup(m.message_id) for m in refused]
    finally:
        ledger.close()
    assert summary.attempts == 0 and summary.failed == {"invalid_message": 1, "no_recipient_address": 1}
    assert sorted(settled) == sorted(m.message_id for m in refused)  # failed for good: settled
    # the ids are keys of the log record (the JSON log lines carry them), not only words in the text
    assert sorted((r.message_id, r.connector, r.reason) for r in caplog.records) == sorted(  # type: ignore[attr-defined]
        [(refused[0].message_id, "smtp", "invalid_message"), (refused[1].message_id, "smtp", "no_recipient_address")])
    assert [(r.state, r.attempts) for r in rows if r] == [("failed", 0), ("failed", 0)]
    receipts = [json.loads(line) for line in (tmp_path / "receipts.jsonl").read_text().splitlines()]
    assert [(r["status"], r["attempts"]) for r in receipts] == [("failed", 0), ("failed", 0)]
    assert registry.get_sample_value("wayfinder_delivery_attempts_total",
                                     {"connector": "smtp", "outcome": "permanent_error"}) == 0.0  # there, uncounted
    assert registry.get_sample_value("wayfinder_delivery_attempt_duration_seconds_count",
                                     {"connector": "smtp"}) == 0.0  # there from the start, no attempt timed
    assert registry.get_sample_value("wayfinder_delivery_failures_total",
                                     {"connector": "smtp", "reason": "invalid_message"}) == 1.0
    assert registry.get_sample_value("wayfinder_delivery_messages_total",
                                     {"connector": "smtp", "status": "failed"}) == 2.0


@pytest.mark.parametrize("unrouted", ["skip", "fail"])
def test_a_channel_without_a_connector_read_from_a_topic_is_failed_for_good_and_retried_once_set_up(
        tmp_path: Path, unrouted: Literal["skip", "fail"]) -> None:
    # From a topic (deliver --kafka) the offsets move past a skipped message: it was lost for good, with no receipt,
    # no dead letter and nothing for --retry-failed to find. From a file the next run reads it again: skipped.
    post = make_message(1, channel="intranet")
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")

    async def once(connectors: dict[Channel, Any], retry: bool) -> DeliverySummary:
        receipts, dead = JsonlSink(tmp_path / "receipts.jsonl"), JsonlSink(tmp_path / "dead.jsonl")
        runner = DeliveryRunner(connectors, ledger=ledger, receipts=receipts, dead_letters=dead,
                                settings=DeliverySettings(), retry_failed=retry, unrouted=unrouted)
        summary = await runner.run(_each([post]))
        await receipts.close()
        await dead.close()
        return summary

    portal = _Portal(1)
    try:
        first = asyncio.run(once({}, retry=False))
        row = ledger.lookup(post.message_id)
        retried = asyncio.run(once({"intranet": portal}, retry=True))
    finally:
        ledger.close()
    letters = tmp_path / "dead.jsonl"
    dead = letters.read_text(encoding="utf-8").splitlines() if letters.exists() else []
    if unrouted == "skip":  # nothing recorded: the next run over the file sends it
        assert (dict(first.skipped_no_connector), row, dead) == ({"intranet": 1}, None, [])
        assert retried.delivered == 1 and portal.ids == [post.message_id]
        return
    assert dict(first.failed) == {"no_connector": 1} and row is not None and row.state == "failed"
    assert [json.loads(line)["reason"].split(":")[0] for line in dead] == ["no_connector"]
    assert retried.delivered == 1 and portal.ids == [post.message_id]


@pytest.mark.parametrize(("code", "kind", "reason"), [(554, PermanentDeliveryError, "smtp_refused"),
                                                      (421, RetryableDeliveryError, "smtp_deferred")])
def test_a_relay_that_refuses_at_its_greeting_is_classified_by_its_reply(
        code: int, kind: type[DeliveryError], reason: str) -> None:
    # aiosmtplib's SMTPConnectResponseError is a connect error too: a 554 greeting was retried as smtp_connection
    error = classify_smtp_error(aiosmtplib.SMTPConnectResponseError(code, "5.7.1 Access denied"), "relay:25")
    assert isinstance(error, kind) and error.reason == reason and str(code) in error.detail


@pytest.mark.parametrize(("error", "reason", "says"), [
    (aiosmtplib.SMTPDataError(550, "5.1.1 user unknown"), "smtp_recipient_refused", "check the recipient's email"),
    (aiosmtplib.SMTPDataError(550, "5.1.8 bad sender domain"), "smtp_sender_refused", "WAYFINDER_SENDER"),
    (aiosmtplib.SMTPDataError(554, "5.7.1 spam"), "smtp_message_refused", "the relay's policy refused the content"),
    (aiosmtplib.SMTPDataError(550, "no enhanced code"), "smtp_message_refused", "the relay's policy"),
    (aiosmtplib.SMTPRecipientRefused(550, "5.7.1 relay denied", "a@b.c"), "smtp_recipient_refused", "recipient"),
    (aiosmtplib.SMTPRecipientRefused(550, "5.7.1 relay denied", "a@b.c"), "smtp_recipient_refused",
     "the relay's policy (RFC 3463 x.7"),
    (aiosmtplib.SMTPRecipientRefused(550, "5.1.1 no such user", "a@b.c"), "smtp_recipient_refused",
     "check the recipient's email"),
])
def test_an_enhanced_status_code_says_what_was_refused_whatever_the_command(
        error: aiosmtplib.SMTPResponseException, reason: str, says: str) -> None:
    """An audit on 2026-12-04: a 550 5.1.1 (no such mailbox) at the end of DATA was explained as "the relay's policy
    refused the content or size"; RFC 3463's x.1.y codes are about addresses."""
    classified = classify_smtp_error(error, "relay:25")
    assert classified.reason == reason and says in classified.detail


# -- settings ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("url", "host", "port", "tls"), [
    ("smtp://smtp.example.com", "smtp.example.com", 587, "starttls"),
    ("smtp://smtp.example.com:2525?starttls=true", "smtp.example.com", 2525, "starttls"),
    ("smtps://smtp.example.com", "smtp.example.com", 465, "implicit"),
    ("smtp://localhost:1025?starttls=false", "localhost", 1025, "none"),
])
def test_smtp_urls(url: str, host: str, port: int, tls: str) -> None:
    server = DeliverySettings(smtp_url=url).smtp_url
    assert server is not None and (server.host, server.port, server.tls) == (host, port, tls)


def test_smtp_credentials_are_percent_decoded_and_never_printed() -> None:
    settings = DeliverySettings(smtp_url="smtp://relay%40corp:p%40ss%3Aword@smtp.example.com:587")
    server = settings.smtp_url
    assert server is not None and server.username is not None and server.password is not None
    assert (server.username.get_secret_value(), server.password.get_secret_value()) == ("relay@corp", "p@ss:word")
    shown = repr(settings) + str(server)
    assert "p@ss" not in shown and "relay" not in shown


@pytest.mark.parametrize(("fields", "message"), [
    ({"smtp_url": "http://smtp.example.com"}, "must start with smtp://"),
    ({"smtp_url": "smtp://smtp.example.com?tls=yes"}, "the SMTP URL has unknown parameters"),
    ({"smtp_url": "smtp://u:secretpw@smtp.example.com?starttls=false"}, "without TLS"),
    ({"sender": "not an address"}, "not a mailbox|not a plain email address"),
    ({"destinations": {"a": {"url": "https://a.example.com", "kind": "slack"},
                       "b": {"url": "https://b.example.com", "kind": "slack"}}}, "WAYFINDER_INTRANET_DESTINATION"),
    ({"intranet_destination": "teams"}, "not in destinations"),
    ({"concurrency": 0}, "greater than or equal to 1"),
    ({"retry": {"give_up_after_seconds": 10}, "circuit_breaker": {"reset_timeout_seconds": 30}},
     r"WAYFINDER_RETRY__GIVE_UP_AFTER_SECONDS \(10\) is shorter than WAYFINDER_CIRCUIT_BREAKER__RESET_TIMEOUT_SECONDS "
     r"\(30\): once a connector's circuit opened, every message would fail at once"),
    ({"destinations": {"Bad Name": {"url": "https://a.example.com", "kind": "slack"}}}, "should match pattern"),
])
def test_bad_settings_say_what_is_wrong_without_echoing_secrets(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        DeliverySettings(**fields)
    assert "secretpw" not in str(caught.value)


def test_settings_come_from_the_environment_next_to_other_wayfinder_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAYFINDER_SMTP_URL", "smtps://relay.example.com")
    monkeypatch.setenv("WAYFINDER_SENDER", "People Team <people@example.com>")
    monkeypatch.setenv("WAYFINDER_RETRY__MAX_ATTEMPTS", "9")
    monkeypatch.setenv("WAYFINDER_DESTINATIONS", '{"teams": {"url": "https://x.example.com/h", "kind": "teams"}}')
    monkeypatch.setenv("WAYFINDER_BROKER", "kafka://127.0.0.1:9092")  # the worker's, not ours
    settings = DeliverySettings()
    assert settings.smtp_url is not None and settings.smtp_url.tls == "implicit"
    assert settings.retry.max_attempts == 9
    assert settings.intranet_route() is not None
    with pytest.raises(ValidationError, match="frozen"):
        settings.concurrency = 3  # type: ignore[misc]


HOOK_URL = "https://hooks.example.com/T0/B0/s3cr3tpath"


@pytest.mark.parametrize(("env", "line"), [
    ({"WAYFINDER_DESTINATIONS": f'{{"t": {{"kind": "teams", "url": "{HOOK_URL}"}},}}'},
     "configuration error: WAYFINDER_DESTINATIONS: not valid JSON (Expecting property name enclosed in double "
     "quotes at line 1 column 78)"),
    ({"WAYFINDER_RETRY": "{bad"}, "configuration error: WAYFINDER_RETRY: not valid JSON"),
    ({"WAYFINDER_SMTP_CA_FILE": "{tmp}/nonexistent.pem"},
     "configuration error: WAYFINDER_SMTP_CA_FILE: cannot read {tmp}/nonexistent.pem (No such file or directory)"),
    ({"WAYFINDER_SMTP_CA_FILE": "{tmp}/messages.jsonl"},
     "configuration error: WAYFINDER_SMTP_CA_FILE: {tmp}/messages.jsonl holds no PEM CA certificate"),
    ({"WAYFINDER_LEDGER_PATH": "/proc/nope/x.sqlite3"}, "configuration error: cannot open the send ledger "
     "/proc/nope/x.sqlite3 (No such file or directory); point WAYFINDER_LEDGER_PATH elsewhere"),
    ({"WAYFINDER_LEDGER_PATH": "{tmp}/folder/"}, "configuration error: cannot open the send ledger {tmp}/folder "
     "(SQLite said: unable to open database file)"),
    ({"WAYFINDER_PARTITIONS": "many", "--kafka": ""}, "configuration error: WAYFINDER_PARTITIONS: Input should be a "
     "valid integer"),
    ({"WAYFINDER_RETRY__MAX_ATTEMPTS": "x"}, "configuration error: WAYFINDER_RETRY__MAX_ATTEMPTS: Input should be a "
     "valid integer"),  # was named WAYFINDER_RETRY (max_attempts), a variable not set
    ({"WAYFINDER_RETRY": '{"max_attempts": "x"}'}, "configuration error: WAYFINDER_RETRY (max_attempts): Input "
     "should be a valid integer"),
], ids=["json-trailing-comma", "json-broken", "ca-missing", "ca-not-pem", "ledger-no-folder", "ledger-a-folder",
        "worker-setting", "nested-variable", "nested-in-json"])
def test_a_wrong_setting_is_one_line_naming_the_variable_and_exit_2(
        env: dict[str, str], line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "messages.jsonl").write_text(make_message(1).model_dump_json() + "\n")
    (tmp_path / "folder").mkdir()
    monkeypatch.setenv("WAYFINDER_SMTP_URL", "smtp://127.0.0.1:9?starttls=false")  # never reached
    monkeypatch.setenv("WAYFINDER_SENDER", "People Team <people@example.com>")
    for name, value in env.items():
        monkeypatch.setenv(name, value.replace("{tmp}", str(tmp_path)))
    source = ["--kafka"] if "--kafka" in env else ["--messages", str(tmp_path)]
    assert main(["deliver", *source]) == 2
    err = capsys.readouterr().err
    assert err.startswith(line.replace("{tmp}", str(tmp_path))) and err.count("\n") == 1, err
    assert "s3cr3t" not in err and "hooks.example.com" not in err
    assert not (tmp_path / "receipts.jsonl").exists()


# -- registry and metrics -----------------------------------------------------------------------------------------
class _Pigeon:
    name = "pigeon"

    async def send(self, message: Message) -> Accepted:
        return Accepted(self.name, "coo")

    async def close(self) -> None:
        return None


def test_connectors_are_picked_by_name_and_plugins_can_register(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "_FACTORIES", dict(base._FACTORIES))
    with pytest.raises(LookupError, match=r"unknown connector 'carrier'; known connectors: .*smtp"):
        connector_factory("carrier")
    register_connector("pigeon", lambda settings, name, deps: _Pigeon())
    connectors = build_connectors(DeliverySettings(email_connector="pigeon"), ConnectorDeps())
    assert list(connectors) == ["email"] and connectors["email"].name == "pigeon"


def test_metrics_live_in_the_registry_they_are_given() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    DeliveryMetrics(first).attempts.labels("smtp", "accepted").inc()
    DeliveryMetrics(second)
    assert first.get_sample_value("wayfinder_delivery_attempts_total", {"connector": "smtp",
                                                                        "outcome": "accepted"}) == 1.0
    assert second.get_sample_value("wayfinder_delivery_attempts_total", {"connector": "smtp",
                                                                         "outcome": "accepted"}) is None


def test_a_connectors_attempts_messages_and_breaker_are_there_at_zero_before_its_first_send(tmp_path: Path) -> None:
    """A relay failing from start-up: its first retryable errors were a new series, which ``increase()`` does not
    count, and the breaker had no sample until it first opened (a platform audit, 2026-12-05)."""
    registry = CollectorRegistry()
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    try:
        DeliveryRunner({"email": _Pigeon()}, ledger=ledger, receipts=JsonlSink(tmp_path / "r.jsonl"),
                       dead_letters=JsonlSink(tmp_path / "d.jsonl"), settings=DeliverySettings(),
                       metrics=DeliveryMetrics(registry))
    finally:
        ledger.close()
    for outcome in ("accepted", "retryable_error", "permanent_error"):
        assert registry.get_sample_value("wayfinder_delivery_attempts_total",
                                         {"connector": "pigeon", "outcome": outcome}) == 0.0
    for status in ("delivered", "failed"):
        assert registry.get_sample_value("wayfinder_delivery_messages_total",
                                         {"connector": "pigeon", "status": status}) == 0.0
    assert registry.get_sample_value("wayfinder_delivery_circuit_state", {"connector": "pigeon"}) == 0.0
    for histogram in ("wayfinder_delivery_latency_seconds", "wayfinder_event_to_delivery_seconds",  # the dashboard's
                      "wayfinder_delivery_attempt_duration_seconds"):  # (its "attempt duration, p95" panel too)
        assert registry.get_sample_value(f"{histogram}_count", {"connector": "pigeon"}) == 0.0


# -- the command: nothing is sent that could not be recorded ---------------------------------------------------
@pytest.mark.parametrize("flag", ["--receipts", "--dead-letters"])
def test_a_receipt_that_could_not_be_written_stops_the_run_before_anything_is_sent(
        flag: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    sent: list[str] = []

    class Recorder(_Pigeon):
        async def send(self, message: Message) -> Accepted:
            sent.append(message.message_id)
            return await super().send(message)

    monkeypatch.setattr(base, "_FACTORIES", dict(base._FACTORIES))
    register_connector("recorder", lambda settings, name, deps: Recorder())
    monkeypatch.setenv("WAYFINDER_SMTP_URL", "smtp://127.0.0.1:9?starttls=false")
    monkeypatch.setenv("WAYFINDER_EMAIL_CONNECTOR", "recorder")
    (tmp_path / "messages.jsonl").write_text(make_message(1).model_dump_json() + "\n")

    assert main(["deliver", "--messages", str(tmp_path), flag, "/proc/nope/out.jsonl"]) == 2
    assert capsys.readouterr().err == (f"configuration error: cannot write /proc/nope/out.jsonl (No such file or "
                                       f"directory); give another {flag}\n")
    assert sent == []
    ledger = SqliteLedger(tmp_path / "delivery_ledger.sqlite3")
    assert ledger.counts() == {}  # nothing accepted that a rerun would skip without its receipt
    ledger.close()
    assert main(["deliver", "--messages", str(tmp_path)]) == 0
    assert sent == [make_message(1).message_id]
    assert '"status":"delivered"' in (tmp_path / "receipts.jsonl").read_text()


def test_lines_of_the_messages_file_that_are_not_messages_are_counted_as_dead_letters(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SPEC §10 counts dead letters by reason: deliver wrote these to its dead letters and counted them nowhere, so
    no metric (and no alert) saw a producer writing what is not a message (a platform audit, 2026-12-05)."""
    monkeypatch.setattr(base, "_FACTORIES", dict(base._FACTORIES))
    register_connector("pigeon", lambda settings, name, deps: _Pigeon())
    monkeypatch.setenv("WAYFINDER_SMTP_URL", "smtp://127.0.0.1:9?starttls=false")
    monkeypatch.setenv("WAYFINDER_EMAIL_CONNECTOR", "pigeon")
    (tmp_path / "messages.jsonl").write_bytes(make_message(1).model_dump_json().encode() + b"\n{not json\n"
                                              + b'{"message_id": "m-x", "note": "caf\xe9"}\n')
    metrics = tmp_path / "metrics.prom"

    assert main(["deliver", "--messages", str(tmp_path), "--metrics-file", str(metrics)]) == 1
    letters = (tmp_path / "delivery_dead_letters.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(letters) == 2
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(metrics.read_text(encoding="utf-8"))
               for s in family.samples}
    assert samples[("wayfinder_delivery_dead_letters_total", (("connector", "-"), ("reason", "not_a_message")))] == 2
    assert samples[("wayfinder_delivery_messages_total", (("connector", "pigeon"), ("status", "delivered")))] == 1


def test_records_of_the_topic_that_are_not_messages_are_counted_once_their_dead_letters_are_written() -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.structs import ConsumerRecord

    from wayfinder.connectors.kafka import KafkaMessages, KafkaSink

    tp = TopicPartition("wayfinder.outbound.messages", 0)
    values = [b"not json", make_message(1).model_dump_json().encode(), b'{"message_id": "m-y", "status": "sent"}']
    records = [ConsumerRecord(tp.topic, 0, n, 1_800_000_000_000, 0, None, value, None, 0, len(value), [])
               for n, value in enumerate(values)]
    consumer = create_autospec(AIOKafkaConsumer, spec_set=True, instance=True)
    consumer.getmany.side_effect = [{tp: records}] + [{}] * 5
    sink = create_autospec(KafkaSink, spec_set=True, instance=True)
    registry = CollectorRegistry()
    metrics = DeliveryMetrics(registry)
    source = KafkaMessages(["127.0.0.1:9"], tp.topic, "g", idle_seconds=2, on_rejected=metrics.not_a_message)
    source._consumer = consumer  # as __aenter__ leaves it, without a broker

    async def scenario() -> tuple[list[str], float | None]:
        read = [m.message_id async for m in source]
        before = registry.get_sample_value("wayfinder_delivery_dead_letters_total",
                                           {"connector": "-", "reason": "not_a_message"})
        await source.write_rejected(sink)
        return read, before

    read, before = asyncio.run(scenario())
    assert read == [make_message(1).message_id]
    assert before == 0.0  # there from the start; counted once written, as the records are settled
    assert sink.write_data.await_count == 2
    assert registry.get_sample_value("wayfinder_delivery_dead_letters_total",
                                     {"connector": "-", "reason": "not_a_message"}) == 2.0


# -- deliver --kafka: what may be committed ----------------------------------------------------------------
def test_offsets_are_committable_up_to_the_first_record_not_settled() -> None:
    from aiokafka import TopicPartition

    from wayfinder.connectors.kafka import Settled

    a, b = TopicPartition("t", 0), TopicPartition("t", 1)
    settled = Settled()
    for offset in range(5):
        settled.read(a, offset)
    settled.read(b, 7)
    assert settled.committable() == {a: 0, b: 7}
    for offset in (0, 1, 3):
        settled.settle(a, offset)
    assert settled.committable() == {a: 2, b: 7}  # 2 is not settled: a restart reads it (and 3, 4) again
    settled.settle(a, 2)
    settled.settle(b, 7)
    assert settled.committable() == {a: 4, b: 8}
    settled.settle(a, 4)
    assert settled.committable() == {a: 5, b: 8}


def test_a_slack_notification_text_is_escaped_as_its_blocks_are() -> None:
    payload = slack_payload(make_message(subject="Hi <!channel> & <@U123>"))
    assert payload["text"] == "Hi &lt;!channel&gt; &amp; &lt;@U123&gt;"
    assert payload["blocks"][0]["text"]["type"] == "plain_text"  # the header shows the subject as written


def test_a_long_slack_subject_and_paragraph_are_cut_between_words() -> None:
    """Read as their recipients would on 2026-12-06: a subject past Slack's 150 characters was cut mid-word
    ("... your tea…"), and a paragraph past 3,000 characters with no line break split a word across two sections."""
    subject = " ".join(["welcome"] * 30)  # 239 characters
    paragraph = " ".join(["onboarding"] * 400)  # 4,399 characters, no line break
    payload = slack_payload(make_message(1, channel="intranet", subject=subject, text=paragraph))
    header = payload["blocks"][0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("welcome…")
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert len(sections) == 2 and all(len(s) <= 3000 for s in sections)
    assert all(word == "onboarding" for s in sections for word in s.split(" "))


_FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # man, ZWJ, woman, ZWJ, girl: one emoji


@pytest.mark.parametrize(("subject", "whole"), [
    ("家" * 148 + _FAMILY + "家" * 9, _FAMILY),
    ("a" * 148 + "\U0001f1e9\U0001f1ea" * 2, "\U0001f1e9\U0001f1ea"),  # a flag is two indicators
    ("e" * 148 + "e\u0301" + "zz", "e\u0301"),  # é as e and a combining acute
    ("क" * 148 + "क्षा" + "x" * 9, "क्षा"),  # a Devanagari conjunct
])
def test_a_slack_subject_with_no_space_to_cut_at_is_cut_between_characters_as_read(subject: str,
                                                                                    whole: str) -> None:
    """An audit on 2026-12-06: a subject with no space in its second half (Chinese, Japanese, Thai, an emoji run)
    was cut at 149 code points, inside what a reader sees as one character: half a family emoji, one letter of a
    flag, an ``e`` without its accent, a Devanagari conjunct without its second consonant."""
    header = slack_payload(make_message(subject=subject))["blocks"][0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("…")
    kept = header[:-1]
    assert subject.startswith(kept) and (whole in kept or subject[len(kept):].startswith(whole))


def test_a_slack_section_of_thai_with_no_space_never_starts_with_a_mark() -> None:
    """An audit on 2026-12-06: Thai has no spaces between words; a paragraph past 3,000 characters was cut at the
    limit, and the second section began with the tone mark of the first one's last letter."""
    text = "ก" * 2998 + "ที่" + "ข" * 10
    sections = [b["text"]["text"] for b in slack_payload(make_message(1, channel="intranet", text=text))["blocks"]
                if b["type"] == "section"]
    assert "".join(sections) == text and all(len(s) <= 3000 for s in sections)
    assert not any(unicodedata.category(s[0]).startswith("M") for s in sections)


@pytest.mark.parametrize(("locale", "label"), [("de-DE", "Diese Nachrichten ändern oder abbestellen"),
                                               ("fr-FR", "Modifier ou arrêter ces messages"),
                                               ("pt-BR", "Change or stop these messages"),
                                               (None, "Change or stop these messages")])
def test_the_teams_and_slack_preferences_button_speaks_the_messages_language(locale: str | None, label: str) -> None:
    """Read as their recipients would on 2026-12-06: a German message posted to Teams or Slack had its text and
    footer in German under an English "Change or stop these messages" button. The button says what the footer's
    link says; a message with no footer of Wayfinder's (HTML of its own) keeps the English words."""
    from wayfinder.connectors.payloads import teams_payload
    from wayfinder.journeys.templates import with_footer

    text, html = with_footer("Hallo.", "<p>Hallo.</p>", "Weil.", "https://intranet.example.com/preferences",
                             locale=locale, title="Hallo")
    message = make_message(1, channel="intranet", text=text, html=html)
    card = teams_payload(message)["attachments"][0]["content"]
    assert card["actions"][0]["title"] == label
    assert slack_payload(message)["blocks"][-1]["elements"][0]["text"]["text"] == label
    bare = make_message(2, channel="intranet", html="<p>Hallo.</p>")
    assert slack_payload(bare)["blocks"][-1]["elements"][0]["text"]["text"] == "Change or stop these messages"


@pytest.mark.parametrize("field", ["created_at", "scheduled_for", "reviewed_at"])
def test_a_record_whose_time_has_no_offset_is_not_a_message_record(field: str) -> None:
    # deliver sent such a line and then crashed comparing it with its aware clock, losing the receipt
    record = json.loads(make_message(1).model_dump_json())
    record[field] = "2026-01-06T10:00:00"
    with pytest.raises(ValidationError) as raised:
        Message.model_validate(record)
    assert raised.value.errors()[0]["loc"] == (field,)


def test_the_erasures_deliver_honours_are_the_audit_records_latest_per_person() -> None:
    from wayfinder.connectors.erasures import note
    from wayfinder.journeys.records import erased_since

    erased: dict[str, datetime] = {}
    changed = [note(erased, value) for value in (
        b'{"action": "privacy.erasure", "employee_id": "E1", "at": "2026-03-03T09:00:00Z"}',
        b'{"action": "privacy.erasure", "employee_id": "E1", "at": "2026-03-01T09:00:00Z"}',  # older
        b'{"action": "privacy.erasure", "employee_id": "E1", "at": "2026-03-03T09:00:00Z"}',  # the same again
        b'{"action": "something.else", "employee_id": "E2", "at": "2026-03-03T09:00:00Z"}',
        b"not json", None, b'{"action": "privacy.erasure", "employee_id": "E5"}')]
    assert erased == {"E1": NOW.replace(day=3, hour=9, minute=0)}
    assert changed == [True, False, False, False, False, False, False]  # whether the map changed (since 2026-12-05)
    assert note(erased, b'{"action": "privacy.erasure", "employee_id": "E1", "at": "2026-03-04T09:00:00Z"}')
    assert erased == {"E1": NOW.replace(day=4, hour=9, minute=0)}
    assert erased_since(erased, make_message(1))  # about E1, made before the erasure
    assert erased_since(erased, make_message(3, recipient_id="E1"))  # to E1
    assert not erased_since(erased, make_message(1, created_at=NOW + timedelta(days=2)))  # a rehire's
    assert not erased_since(erased, make_message(2))


def test_a_digest_that_went_with_a_message_about_a_person_erased_since_is_held_back_whole() -> None:
    """README "Erasure": a digest that gathered an erased person's message loses its content, the other items in
    it with it. ``deliver --kafka`` reads the digest alone (its ids are its recipient's), so it goes by the messages
    the digest names; before, it checked the recipient only and sent the erased person's content."""
    from wayfinder.journeys.records import Gathered, erased_since

    def item(n: int, made: datetime) -> Gathered:
        return Gathered(message_id=make_message(n).message_id, employee_id=f"E{n}", created_at=made)

    digest = make_message(7, message_id="d-" + "0" * 24, journey_id="digest", step_id="daily",
                          created_at=NOW + timedelta(days=1), gathered=[item(1, NOW), item(2, NOW)])
    assert erased_since({"E1": NOW + timedelta(days=2)}, digest)  # about E1, erased after it went
    assert erased_since({"E2": NOW}, digest)  # at the very time it was made
    assert not erased_since({"E1": NOW - timedelta(days=1)}, digest)  # made after E1's erasure: a rehire's
    assert not erased_since({"E3": NOW + timedelta(days=2)}, digest)  # nobody in it
    assert erased_since({"E7": NOW + timedelta(days=2)}, digest)  # its recipient, as any message's
    assert not erased_since({"E1": NOW + timedelta(days=2)}, digest.model_copy(update={"gathered": []}))


def test_a_message_that_failed_before_its_person_was_erased_leaves_nothing_of_them_in_the_dead_letters(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SPEC §9 (an audit, 2026-12-06): a message that failed for good kept its whole record, name, address and text,
    as the raw of its line in ``delivery_dead_letters.jsonl``; once ``simulate`` had taken the content out of the
    record after the person's erasure, the next ``deliver`` passed it over as ``erased`` and left that line as it
    was. Now its raw is the erasure's stub; the dead letter of a message of someone else stays byte for byte."""

    class Refusing(_Pigeon):
        async def send(self, message: Message) -> Accepted:
            reason = "smtp_recipient_refused"
            raise PermanentDeliveryError(reason, "the SMTP relay refused the recipient address")

    monkeypatch.setattr(base, "_FACTORIES", dict(base._FACTORIES))
    register_connector("refusing", lambda settings, name, deps: Refusing())
    monkeypatch.setenv("WAYFINDER_SMTP_URL", "smtp://127.0.0.1:9?starttls=false")
    monkeypatch.setenv("WAYFINDER_EMAIL_CONNECTOR", "refusing")
    erased = make_message(1, subject="Congratulations, Perpetua!", recipient_email="perpetua.q@example.com")
    other = make_message(2, subject="Congratulations, Sam!")
    messages = tmp_path / "messages.jsonl"
    messages.write_text(erased.model_dump_json() + "\n" + other.model_dump_json() + "\n")
    assert main(["deliver", "--messages", str(tmp_path)]) == 1  # failed for good
    letters = tmp_path / "delivery_dead_letters.jsonl"
    first, second = letters.read_bytes().splitlines(keepends=True)
    assert b"Perpetua" in first and b"perpetua.q@" in first

    # the next run's file, after the erasure: the record is kept without its content (README "Erasure")
    messages.write_text(erased.without_content().model_dump_json() + "\n" + other.model_dump_json() + "\n")
    assert main(["deliver", "--messages", str(tmp_path)]) == 0
    kept = letters.read_bytes()
    assert b"Perpetua" not in kept and b"perpetua.q@" not in kept
    redacted, same = kept.splitlines(keepends=True)
    assert same == second
    letter = json.loads(redacted)
    assert letter["raw"] == ERASED_INPUT and letter["source"] == "delivery/pigeon"
    assert letter["reason"].startswith("smtp_recipient_refused")


def test_the_dead_letters_of_a_delivery_are_about_the_messages_people_when_read_with_the_audit() -> None:
    """``redact_dead_letters`` (for a reader of the dead-letters topic) read a delivery's dead letter as an event, and
    its ``subject`` is the email's subject line, never an erased id: the message's content stayed."""
    from wayfinder.journeys.records import DeadLetter
    from wayfinder.safety.erasure import redact_dead_letters

    def failed(message: Message) -> DeadLetter:
        return DeadLetter(reason="smtp_recipient_refused: ...", raw=message.model_dump_json(), received_at=NOW,
                          source="delivery/smtp")

    letters = [failed(make_message(1)), failed(make_message(2)), failed(make_message(3, recipient_id="E1"))]
    audit = [{"action": "privacy.erasure", "employee_id": "E1", "at": (NOW + timedelta(days=1)).isoformat()}]
    assert [letter.raw == ERASED_INPUT for letter in redact_dead_letters(letters, audit)] == [True, False, True]


def test_an_intranet_post_to_a_manager_about_someone_does_not_name_the_journey() -> None:
    """SPEC §3 data minimisation (an audit, 2026-12-06): the generic webhook's JSON carried ``journey_id`` and
    ``step_id`` on every post, so the intranet showed a manager "medical-return" about their report, which the email
    header stopped saying on 2026-12-04 and their explanation never says. To the employee, or a digest, they stay."""
    own = webhook_payload(make_message(1, channel="intranet", journey_id="medical-return"), NOW)["data"]
    assert (own["journey_id"], own["step_id"]) == ("medical-return", "welcome")
    for role in ("manager", "hr_partner"):
        about = make_message(1, channel="intranet", journey_id="medical-return", step_id="medical-manager-note",
                             recipient_id="M1", recipient_role=role)
        data = webhook_payload(about, NOW)["data"]
        assert "journey_id" not in data and "step_id" not in data
        assert "medical" not in json.dumps(webhook_payload(about, NOW))


def test_an_interrupted_delivery_exits_130_and_says_the_messages_in_flight_are_in_doubt(
        capsys: pytest.CaptureFixture[str]) -> None:
    from wayfinder.cli.delivery import _run

    async def interrupted() -> None:
        raise asyncio.CancelledError

    assert _run(interrupted(), "sends them again") == 130
    assert capsys.readouterr().err == ("abandoned: the messages that were being sent are in doubt; the next run sends "
                                       "them again (WAYFINDER_IN_DOUBT=hold fails them for a person instead)\n")
