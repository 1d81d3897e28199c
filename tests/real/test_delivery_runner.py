"""The delivery runner end to end against real servers: statuses, ledger and replays, retries,
dead letters, an SMTP outage in the middle of a run, and ``wayfinder deliver`` twice."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from prometheus_client import CollectorRegistry

from tests.servers import NOW, HookServer, MailServer, Reply, make_message
from wayfinder.cli import main
from wayfinder.connectors.base import Connector, ConnectorDeps, build_connectors
from wayfinder.connectors.ledger import SqliteLedger
from wayfinder.connectors.metrics import DeliveryMetrics
from wayfinder.connectors.receipts import JsonlSink
from wayfinder.connectors.reliability import Clock
from wayfinder.connectors.runner import DeliveryRunner, DeliverySummary
from wayfinder.connectors.settings import DeliverySettings
from wayfinder.journeys.records import Message
from wayfinder.vocabulary import Channel

T = TypeVar("T")


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(scenario())


class FakeClock:
    """Monotonic time that only moves when the runner sleeps; every sleep is recorded."""

    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []

    def now(self) -> datetime:
        return NOW + timedelta(seconds=self.t)

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds
        await asyncio.sleep(0)

    def clock(self) -> Clock:
        return Clock(now=self.now, monotonic=self.monotonic, sleep=self.sleep)


@dataclass
class Outcome:
    summary: DeliverySummary
    receipts: list[dict[str, Any]]
    dead_letters: list[dict[str, Any]]
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0


def settings_for(mail: MailServer | None = None, hook: HookServer | None = None, **fields: Any) -> DeliverySettings:
    base: dict[str, Any] = {"sender": "Wayfinder HR <hr@example.com>", "smtp_timeout_seconds": 5,
                            "retry": {"base_delay_seconds": 0.01, "max_delay_seconds": 0.05}}
    if mail is not None:
        base["smtp_url"] = mail.url
    if hook is not None:
        base["destinations"] = {"portal": {"url": hook.url(), "kind": "slack", "local": True, "timeout_seconds": 2}}
    base.update(fields)
    return DeliverySettings(**base)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def aiter(messages: Iterable[Message]) -> AsyncIterator[Message]:
    for message in messages:
        yield message


async def deliver(settings: DeliverySettings, messages: Iterable[Message] | AsyncIterator[Message], tmp_path: Path,
                  *, clock: Clock | None = None, retry_failed: bool = False,
                  connectors: dict[Channel, Connector] | None = None) -> Outcome:
    """One run with a ledger, receipts and dead letters in ``tmp_path`` (they persist between runs)."""
    registry = CollectorRegistry()
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    receipts, dead = JsonlSink(tmp_path / "receipts.jsonl"), JsonlSink(tmp_path / "dead.jsonl")
    before = len(read_jsonl(receipts.path)), len(read_jsonl(dead.path))
    async with httpx.AsyncClient() as http:
        built = connectors if connectors is not None else build_connectors(settings, ConnectorDeps(http=http))
        runner = DeliveryRunner(built, ledger=ledger, receipts=receipts, dead_letters=dead, settings=settings,
                                metrics=DeliveryMetrics(registry), clock=clock, rand=lambda: 0.5,
                                retry_failed=retry_failed)
        try:
            source = messages if isinstance(messages, AsyncIterator) else aiter(messages)
            summary = await runner.run(source)
        finally:
            for connector in built.values():
                await connector.close()
            await receipts.close()
            await dead.close()
            ledger.close()
    return Outcome(summary, read_jsonl(receipts.path)[before[0]:], read_jsonl(dead.path)[before[1]:], registry)


@pytest.fixture
def mail() -> Any:
    with MailServer() as server:
        yield server


# -- what gets delivered -------------------------------------------------------------------------------------
def test_only_sent_and_approved_messages_go_out_each_on_its_channel(mail: MailServer, tmp_path: Path) -> None:
    messages = [make_message(1), make_message(2, status="approved"), make_message(3, channel="intranet"),
                make_message(4, status="pending_approval"), make_message(5, status="suppressed"),
                make_message(6, status="deferred"), make_message(7, status="rejected")]

    async def scenario() -> tuple[Outcome, int]:
        async with HookServer() as hook:
            outcome = await deliver(settings_for(mail, hook), messages, tmp_path)
            return outcome, len(hook.hits)

    outcome, hook_hits = run(scenario)
    s = outcome.summary
    assert (s.delivered, dict(s.delivered_by_channel)) == (3, {"email": 2, "intranet": 1})
    assert dict(s.skipped_by_status) == {"pending_approval": 1, "suppressed": 1, "deferred": 1, "rejected": 1}
    assert len(mail.handler.received) == 2 and hook_hits == 1
    by_id = {r["message_id"]: r for r in outcome.receipts}
    assert set(by_id) == {messages[0].message_id, messages[1].message_id, messages[2].message_id}
    receipt = by_id[messages[2].message_id]
    assert (receipt["status"], receipt["attempts"], receipt["connector"], receipt["reason"]) == \
        ("delivered", 1, "portal", None)
    assert receipt["latency_seconds"] >= 0 and receipt["at"].endswith("Z")
    assert outcome.metric("wayfinder_delivery_attempts_total", connector="smtp", outcome="accepted") == 2
    assert outcome.metric("wayfinder_delivery_skipped_total", reason="status_pending_approval") == 1
    # event to delivery (SPEC §10): one observation per message delivered, from its created_at
    assert outcome.metric("wayfinder_event_to_delivery_seconds_count", connector="smtp") == 2
    assert outcome.metric("wayfinder_event_to_delivery_seconds_count", connector="portal") == 1
    waited = (datetime.fromisoformat(receipt["at"]) - NOW).total_seconds()
    assert outcome.metric("wayfinder_event_to_delivery_seconds_sum", connector="portal") == pytest.approx(waited,
                                                                                                        abs=1e-3)


def test_a_channel_without_a_connector_is_skipped_and_left_for_a_later_run(mail: MailServer, tmp_path: Path) -> None:
    outcome = run(lambda: deliver(settings_for(mail), [make_message(1, channel="intranet")], tmp_path))
    assert dict(outcome.summary.skipped_no_connector) == {"intranet": 1}
    assert outcome.receipts == []


# -- never twice -------------------------------------------------------------------------------------------------
def test_a_replay_sends_nothing_twice(mail: MailServer, tmp_path: Path) -> None:
    messages = [make_message(n) for n in range(20)]
    first = run(lambda: deliver(settings_for(mail), messages, tmp_path))
    second = run(lambda: deliver(settings_for(mail), messages, tmp_path))
    assert first.summary.delivered == 20
    assert (second.summary.delivered, second.summary.skipped_already_delivered) == (0, 20)
    assert second.receipts == []
    ids = mail.handler.message_ids()
    assert len(ids) == 20 and len(set(ids)) == 20


def test_the_same_message_arriving_several_times_at_once_is_sent_once(mail: MailServer, tmp_path: Path) -> None:
    same = make_message(1)
    outcome = run(lambda: deliver(settings_for(mail, concurrency=8), [same] * 6 + [make_message(2)], tmp_path))
    assert (outcome.summary.delivered, outcome.summary.skipped_already_delivered) == (2, 5)
    assert sorted(mail.handler.message_ids()) == ["<m-000000000000000000000001@example.com>",
                                                  "<m-000000000000000000000002@example.com>"]


def test_a_message_cut_off_by_a_crash_is_sent_again_or_held(mail: MailServer, tmp_path: Path) -> None:
    """The one duplicate window: a row left ``sending`` by a crash. ``resend`` sends it, ``hold`` fails it."""
    crashed = make_message(1)
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    ledger.begin_attempt(crashed.message_id, "smtp")
    ledger.close()
    held = run(lambda: deliver(settings_for(mail, in_doubt="hold"), [crashed], tmp_path))
    assert dict(held.summary.failed) == {"in_doubt": 1}
    assert held.dead_letters[0]["reason"].startswith("in_doubt: an earlier run stopped while sending")
    assert mail.handler.received == []
    resent = run(lambda: deliver(settings_for(mail), [crashed], tmp_path, retry_failed=True))
    assert resent.summary.delivered == 1

    other = make_message(2)
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    ledger.begin_attempt(other.message_id, "smtp")
    ledger.close()
    again = run(lambda: deliver(settings_for(mail), [other], tmp_path))
    assert (again.summary.delivered, again.summary.resent_in_doubt) == (1, 1)
    assert again.receipts[0]["attempts"] == 2


# -- retries, giving up, dead letters ------------------------------------------------------------------------------
def test_retry_after_is_honoured_and_5xx_backs_off_with_jitter(tmp_path: Path) -> None:
    fake = FakeClock()

    async def scenario() -> tuple[Outcome, int]:
        async with HookServer() as hook:
            hook.replies.extend([Reply(429, {"retry-after": "3"}), Reply(503), Reply(200)])
            outcome = await deliver(settings_for(hook=hook, retry={"base_delay_seconds": 1, "max_delay_seconds": 60}),
                                    [make_message(1, channel="intranet")], tmp_path, clock=fake.clock())
            return outcome, len(hook.hits)

    outcome, hits = run(scenario)
    assert hits == 3
    assert fake.slept == [3.0, 1.0]  # Retry-After 3 s; then full jitter: 0.5 x min(60, 1 x 2**1)
    assert outcome.receipts[0]["status"] == "delivered" and outcome.receipts[0]["attempts"] == 3


def test_a_permanent_failure_is_dead_lettered_once_and_not_retried_unless_asked(tmp_path: Path) -> None:
    fake = FakeClock()

    async def scenario() -> tuple[Outcome, Outcome, Outcome, int]:
        async with HookServer() as hook:
            hook.replies.extend([Reply(400, body="invalid_blocks"), Reply(400, body="invalid_blocks")])
            settings = settings_for(hook=hook)
            message = make_message(1, channel="intranet")
            first = await deliver(settings, [message], tmp_path, clock=fake.clock())
            second = await deliver(settings, [message], tmp_path, clock=fake.clock())
            third = await deliver(settings, [message], tmp_path, clock=fake.clock(), retry_failed=True)
            return first, second, third, len(hook.hits)

    first, second, third, hits = run(scenario)
    assert dict(first.summary.failed) == {"http_rejected": 1} and fake.slept == []
    (receipt,) = first.receipts
    assert (receipt["status"], receipt["reason"], receipt["attempts"]) == ("failed", "http_rejected", 1)
    assert "400 invalid_blocks" in receipt["detail"]
    (letter,) = first.dead_letters
    assert letter["source"] == "delivery/portal" and letter["reason"].startswith("http_rejected: ")
    raw = json.loads(letter["raw"])
    assert (raw["message_id"], raw["status"], raw["reason"]) == ("m-000000000000000000000001", "failed",
                                                                 "http_rejected")
    assert first.metric("wayfinder_delivery_dead_letters_total", connector="portal", reason="http_rejected") == 1
    assert (second.summary.skipped_already_failed, second.dead_letters) == (1, [])
    assert third.summary.failed_total == 1 and third.receipts[0]["attempts"] == 2
    assert hits == 2


def test_retries_stop_at_max_attempts(tmp_path: Path) -> None:
    fake = FakeClock()

    async def scenario() -> Outcome:
        async with HookServer() as hook:
            hook.replies.extend([Reply(500)] * 5)
            return await deliver(settings_for(hook=hook, retry={"max_attempts": 3, "base_delay_seconds": 1}),
                                 [make_message(1, channel="intranet")], tmp_path, clock=fake.clock())

    outcome = run(scenario)
    (receipt,) = outcome.receipts
    assert receipt["attempts"] == 3 and receipt["reason"] == "http_server_error"
    assert receipt["detail"] == "destination portal answered 500; gave up: 3 attempts (WAYFINDER_RETRY__MAX_ATTEMPTS)"
    assert fake.slept == [0.5, 1.0]


def test_a_retry_after_longer_than_we_wait_fails_now_and_says_which_setting_to_raise(tmp_path: Path) -> None:
    fake = FakeClock()

    async def scenario() -> Outcome:
        async with HookServer() as hook:
            hook.replies.append(Reply(429, {"retry-after": "3600"}))
            return await deliver(settings_for(hook=hook), [make_message(1, channel="intranet")], tmp_path,
                                 clock=fake.clock())

    (receipt,) = run(scenario).receipts
    assert receipt["reason"] == "http_rate_limited" and fake.slept == []
    assert "asked to wait 3600s, more than WAYFINDER_RETRY__MAX_RETRY_AFTER_SECONDS" in receipt["detail"]


def test_a_server_that_stays_down_is_given_up_on_after_the_retry_budget(tmp_path: Path) -> None:
    fake = FakeClock()
    server = MailServer().start()
    server.stop()
    # One at a time: the fake clock adds up every sleep, so concurrent sleeps would count as if in a row.
    settings = settings_for(server, concurrency=1,
                            retry={"max_attempts": 100, "base_delay_seconds": 1, "max_delay_seconds": 4,
                                   "give_up_after_seconds": 60},
                            circuit_breaker={"failure_threshold": 2, "reset_timeout_seconds": 10})
    outcome = run(lambda: deliver(settings, [make_message(n) for n in range(3)], tmp_path, clock=fake.clock()))
    assert outcome.summary.failed_total == 3
    assert set(outcome.summary.failed) <= {"circuit_open", "smtp_connection"}
    # each message is given up on within its budget (plus at most one backoff that started before it ran out)
    latencies = [r["latency_seconds"] for r in outcome.receipts]
    assert all(seconds <= 60 + 4 for seconds in latencies), latencies
    attempts = outcome.metric("wayfinder_delivery_attempts_total", connector="smtp", outcome="retryable_error")
    assert attempts < 3 * 20, "an open breaker must stop the hammering"


def test_stopping_finishes_sends_under_way_and_leaves_waiting_retries_for_the_next_run(tmp_path: Path) -> None:
    messages = [make_message(n, channel="intranet") for n in range(5)]

    async def first_run(hook: HookServer) -> DeliverySummary:
        settings = settings_for(hook=hook, concurrency=1, retry={"base_delay_seconds": 60, "max_delay_seconds": 60})
        ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
        receipts, dead = JsonlSink(tmp_path / "receipts.jsonl"), JsonlSink(tmp_path / "dead.jsonl")
        async with httpx.AsyncClient() as http:
            runner = DeliveryRunner(build_connectors(settings, ConnectorDeps(http=http)), ledger=ledger,
                                    receipts=receipts, dead_letters=dead, settings=settings)

            async def stop_after_the_first_hit() -> None:
                while not hook.hits:
                    await asyncio.sleep(0.01)
                runner.stop()

            stopper = asyncio.ensure_future(stop_after_the_first_hit())
            summary = await asyncio.wait_for(runner.run(aiter(messages)), timeout=10)
            await stopper
        await receipts.close()
        await dead.close()
        entry = ledger.lookup(messages[0].message_id)
        assert entry is not None and entry.state == "retrying"
        ledger.close()
        return summary

    async def scenario() -> tuple[DeliverySummary, Outcome, int]:
        async with HookServer() as hook:
            hook.replies.append(Reply(503))
            stopped = await first_run(hook)
            second = await deliver(settings_for(hook=hook), messages, tmp_path)
            return stopped, second, len(hook.hits)

    started = time.monotonic()
    stopped, second, hits = run(scenario)
    assert time.monotonic() - started < 10, "a stop must not wait out a 30 s backoff"
    assert (stopped.delivered, stopped.failed_total, stopped.left_for_next_run, stopped.stopped) == (0, 0, 1, True)
    # the others were read and never reached: counted, and said (an audit found them in no line of the summary)
    assert stopped.not_reached == 4, stopped
    assert second.summary.delivered == 5 and hits == 1 + 5


# -- an outage in the middle of a run ------------------------------------------------------------------------------
@pytest.mark.timeout(300)
def test_an_smtp_outage_mid_run_loses_nothing_and_sends_nothing_twice(tmp_path: Path) -> None:
    messages = [make_message(n) for n in range(30)]
    server = MailServer().start()
    settings = settings_for(server, concurrency=4,
                            retry={"max_attempts": 100, "base_delay_seconds": 0.05, "max_delay_seconds": 1.0,
                                   "give_up_after_seconds": 120},
                            circuit_breaker={"failure_threshold": 3, "reset_timeout_seconds": 0.2})

    async def source() -> AsyncIterator[Message]:
        for message in messages[:10]:
            yield message
        while len(server.handler.received) < 10:
            await asyncio.sleep(0.01)
        await asyncio.to_thread(server.stop)  # down: the rest arrive while the relay is away
        # down for 30 seconds, as in the issue: long enough for the breaker to open and half-open many times
        asyncio.get_running_loop().call_later(30.0, lambda: asyncio.ensure_future(asyncio.to_thread(server.start)))
        for message in messages[10:]:
            yield message

    try:
        outcome = run(lambda: deliver(settings, source(), tmp_path))
    finally:
        server.stop()
    ids = server.handler.message_ids()
    assert sorted(ids) == sorted(f"<{m.message_id}@example.com>" for m in messages)  # none lost, none twice
    assert outcome.summary.delivered == 30 and outcome.summary.failed_total == 0
    assert outcome.metric("wayfinder_delivery_attempts_total", connector="smtp", outcome="retryable_error") > 0
    assert outcome.metric("wayfinder_delivery_circuit_state", connector="smtp") == 0  # closed again


# -- the command ------------------------------------------------------------------------------------------------------
def test_wayfinder_deliver_is_safe_to_run_twice(mail: MailServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    mail.handler.refuse["gone@example.com"] = "550 5.1.1 no such user"
    lines = [make_message(1), make_message(2), make_message(3, recipient_email="gone@example.com"),
             make_message(4, status="pending_approval"), make_message(5, channel="intranet")]
    out = tmp_path / "out"
    out.mkdir()
    (out / "messages.jsonl").write_text("\n".join(m.model_dump_json() for m in lines) + "\n{not json\n")
    monkeypatch.setenv("WAYFINDER_SMTP_URL", mail.url)
    monkeypatch.setenv("WAYFINDER_SENDER", "People Team <people@example.com>")
    metrics = tmp_path / "metrics.prom"

    assert main(["deliver", "--messages", str(out), "--metrics-file", str(metrics)]) == 1
    first = " ".join(capsys.readouterr().out.split())
    assert main(["deliver", "--messages", str(out / "messages.jsonl")]) == 1
    second = " ".join(capsys.readouterr().out.split())

    assert len(mail.handler.received) == 2
    assert "delivered 2 (email 2)" in first
    assert "failed (in the dead letters) 1 (smtp_recipient_refused 1)" in first
    assert "skipped, channel not set up 1 (intranet 1)" in first
    assert "1 line(s) were not message records" in first
    assert "skipped, already delivered 2" in second
    assert "skipped, already failed 1 (--retry-failed tries them again)" in second
    receipts = read_jsonl(out / "receipts.jsonl")
    assert [r["status"] for r in receipts].count("delivered") == 2 and len(receipts) == 3
    letters = read_jsonl(out / "delivery_dead_letters.jsonl")
    assert any(d["line"] == 6 and d["reason"].startswith("not a message record") for d in letters)
    assert "gone@example.com" not in first + second
    assert 'wayfinder_delivery_attempts_total{connector="smtp",outcome="accepted"} 2.0' in metrics.read_text()


def test_wayfinder_deliver_names_the_setting_that_is_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "messages.jsonl").write_text("")
    monkeypatch.setenv("WAYFINDER_SMTP_URL", "http://user:hunter2@smtp.example.com")
    assert main(["deliver", "--messages", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "configuration error: WAYFINDER_SMTP_URL: the SMTP URL must start with smtp://" in err
    assert "hunter2" not in err
    monkeypatch.delenv("WAYFINDER_SMTP_URL")
    assert main(["deliver", "--messages", str(tmp_path)]) == 2
    assert "nothing to deliver to: set WAYFINDER_SMTP_URL" in capsys.readouterr().err
