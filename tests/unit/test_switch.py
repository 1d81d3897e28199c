"""The stop switch's rules: hold while paused, send in order after a resume, drop what a dropping resume says."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from tests.servers import make_message
from tests.support import at
from wayfinder.connectors.base import Accepted
from wayfinder.connectors.ledger import SqliteLedger
from wayfinder.connectors.metrics import DeliveryMetrics
from wayfinder.connectors.receipts import JsonlSink
from wayfinder.connectors.reliability import Clock
from wayfinder.connectors.runner import DeliveryRunner, DeliverySummary
from wayfinder.connectors.settings import DeliverySettings
from wayfinder.connectors.switch import ControlFile, ControlRecord, Switch
from wayfinder.journeys.records import Message


def record(action: str, time: str, journey: str | None = None, *, drop: bool = False) -> ControlRecord:
    return ControlRecord(action=action, journey_id=journey, operator_id="OP1", drop_held=drop, at=at(time))


def switch(*records: ControlRecord) -> Switch:
    s = Switch()
    for r in records:
        s.apply(r)
    return s


def test_a_paused_journey_holds_its_messages_and_no_other() -> None:
    s = switch(record("pause", "2026-05-01T09:00", "new-parent"))
    assert s.verdict(make_message(1, journey_id="new-parent")) == "hold"
    assert s.verdict(make_message(2, journey_id="onboarding")) == "go"
    assert s.state() == {"new-parent": True}


def test_pausing_all_sending_holds_every_journey_until_resumed() -> None:
    paused = switch(record("pause", "2026-05-01T09:00"))
    assert paused.verdict(make_message(1, journey_id="onboarding")) == "hold"
    resumed = switch(record("pause", "2026-05-01T09:00"), record("resume", "2026-05-02T09:00"))
    assert resumed.verdict(make_message(1, journey_id="onboarding")) == "go"
    assert resumed.state() == {"all": False}


def test_a_dropping_resume_drops_exactly_what_delivery_was_asked_to_send_during_the_pause() -> None:
    s = switch(record("pause", "2026-05-01T09:00", "care"), record("resume", "2026-05-03T09:00", "care", drop=True))
    start = at("2026-05-01T09:00")
    message = make_message(1, journey_id="care").with_status("sent", at=start + timedelta(days=1))

    def verdict(offset: timedelta) -> str:
        return s.verdict(message, [start + offset])

    assert verdict(-timedelta(seconds=1)) == "go"
    assert verdict(timedelta(0)) == "drop"
    assert verdict(timedelta(days=2) - timedelta(seconds=1)) == "drop"
    assert verdict(timedelta(days=2)) == "go"
    assert s.verdict(message) == "go"  # its scheduled_for (the engine's clock) is in the pause: not a hold


def test_a_second_pause_while_paused_changes_nothing_and_resume_without_pause_is_harmless() -> None:
    s = switch(record("resume", "2026-04-30T09:00"), record("pause", "2026-05-01T09:00"),
               record("pause", "2026-05-02T09:00"), record("resume", "2026-05-03T09:00", drop=True))
    assert s.records == 4
    assert s.verdict(make_message(1), [at("2026-05-01T12:00")]) == "drop"  # the pause began at the first pause


def test_the_control_file_is_read_again_when_it_changes_and_a_bad_line_names_its_number(tmp_path: Path) -> None:
    control = ControlFile(tmp_path / "control.jsonl")
    assert control.refresh().state() == {}
    control.append(record("pause", "2026-05-01T09:00", "care"))
    assert control.refresh().state() == {"care": True}
    with (tmp_path / "control.jsonl").open("a") as f:
        f.write('{"action": "stop"}\n')
    with pytest.raises(ValueError, match="control log line 2: not a pause or resume record"):
        control.refresh()


class _Sent:
    """A connector that accepts everything and remembers what."""

    name = "smtp"

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def send(self, message: Message) -> Accepted:
        self.ids.append(message.message_id)
        return Accepted("smtp", "250 ok")

    async def close(self) -> None:
        return None


def _deliver(folder: Path, messages: list[Message], wall: datetime,
             registry: CollectorRegistry | None = None) -> tuple[list[str], DeliverySummary]:
    """One `deliver --messages` run at wall-clock time ``wall``, with the ledger and the control log in ``folder``."""
    sent = _Sent()
    ledger = SqliteLedger(folder / "ledger.sqlite3")
    control = ControlFile(folder / "control.jsonl")

    async def messages_in() -> AsyncIterator[Message]:
        for m in messages:
            yield m

    async def run() -> DeliverySummary:
        receipts, dead = JsonlSink(folder / "receipts.jsonl"), JsonlSink(folder / "dead.jsonl")
        runner = DeliveryRunner({"email": sent}, ledger=ledger, receipts=receipts, dead_letters=dead,
                                settings=DeliverySettings(sender="HR <hr@example.com>"),
                                clock=Clock(now=lambda: wall), switch=control.current, hold="skip",
                                metrics=DeliveryMetrics(registry) if registry is not None else None)
        try:
            return await runner.run(messages_in())
        finally:
            await receipts.close()
            await dead.close()

    try:
        return sent.ids, asyncio.run(run())
    finally:
        ledger.close()


def test_a_dropping_resume_drops_what_a_run_held_whatever_the_engines_clock_said(tmp_path: Path) -> None:
    """A folder from simulate: scheduled_for is a simulated spring, the pause is this winter's wall clock."""
    held = [make_message(n, journey_id="care") for n in (1, 2)]
    later = make_message(3, journey_id="care")  # decided after the resume: never held
    control = ControlFile(tmp_path / "control.jsonl")
    control.append(record("pause", "2026-12-01T09:00", "care"))
    assert _deliver(tmp_path, held, at("2026-12-01T10:00"))[1].held_by_switch == 2
    control.append(record("resume", "2026-12-01T11:00", "care", drop=True))
    sent, summary = _deliver(tmp_path, [*held, later], at("2026-12-01T12:00"))
    assert (sent, summary.dropped_by_switch) == ([later.message_id], 2)


def test_a_plain_resume_sends_what_a_run_held(tmp_path: Path) -> None:
    held = [make_message(n, journey_id="care") for n in (1, 2)]
    control = ControlFile(tmp_path / "control.jsonl")
    control.append(record("pause", "2026-12-01T09:00", "care"))
    _deliver(tmp_path, held, at("2026-12-01T10:00"))
    control.append(record("resume", "2026-12-01T11:00", "care"))
    assert _deliver(tmp_path, held, at("2026-12-01T12:00"))[0] == [m.message_id for m in held]


def test_the_paused_gauge_has_a_sample_from_the_start_and_shows_the_switch_without_messages(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    DeliveryMetrics(registry)
    assert registry.get_sample_value("wayfinder_sending_paused", {"journey": "all"}) == 0.0
    ControlFile(tmp_path / "control.jsonl").append(record("pause", "2026-12-01T09:00"))
    registry = CollectorRegistry()
    _deliver(tmp_path, [], at("2026-12-01T10:00"), registry)
    assert registry.get_sample_value("wayfinder_sending_paused", {"journey": "all"}) == 1.0


def test_a_running_deliver_shows_a_pause_made_while_no_message_comes(tmp_path: Path) -> None:
    """Issue 13's "stop switch on" alert reads this gauge: a `deliver --kafka` waiting for messages showed a pause
    made meanwhile only once a message came (it read the switch at start and per message), so an operator's pause
    during a quiet spell, or an incident that stopped the messages, left it at 0 and the alert silent."""
    registry = CollectorRegistry()
    control = ControlFile(tmp_path / "control.jsonl")
    nothing: list[Message] = []

    async def run() -> tuple[float | None, float | None]:
        arrived = asyncio.Event()

        async def messages_in() -> AsyncIterator[Message]:
            await arrived.wait()  # no message comes while the pause is made
            for m in nothing:
                yield m

        ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
        receipts, dead = JsonlSink(tmp_path / "receipts.jsonl"), JsonlSink(tmp_path / "dead.jsonl")
        runner = DeliveryRunner({"email": _Sent()}, ledger=ledger, receipts=receipts, dead_letters=dead,
                                settings=DeliverySettings(sender="HR <hr@example.com>"), switch=control.current,
                                hold="wait", switch_poll_seconds=0.05, metrics=DeliveryMetrics(registry))
        running = asyncio.create_task(runner.run(messages_in()))
        try:
            await asyncio.sleep(0.1)
            before = registry.get_sample_value("wayfinder_sending_paused", {"journey": "all"})
            control.append(record("pause", "2026-12-01T09:00"))
            for _ in range(100):
                await asyncio.sleep(0.02)
                if registry.get_sample_value("wayfinder_sending_paused", {"journey": "all"}) == 1.0:
                    break
            return before, registry.get_sample_value("wayfinder_sending_paused", {"journey": "all"})
        finally:
            arrived.set()
            await running
            await receipts.close()
            await dead.close()
            ledger.close()

    assert asyncio.run(run()) == (0.0, 1.0)
