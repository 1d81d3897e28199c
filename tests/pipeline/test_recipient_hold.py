"""Issue 9 in the worker: an input whose message goes to a person the directory does not know yet is held
(sent round again on the ticks topic) until the directory knows them, with the employee's later inputs behind
it; past the wait it is decided as simulate decides (``no_recipient``). The stage runs on a dict."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry

from tests.pipeline.stages import DictTable
from tests.pipeline.test_runner_rules import BEREAVEMENT, HEAD, ev, person
from tests.support import WriteFiles, at, world_defs
from wayfinder.journeys.engine import Engine
from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.profile import Profile
from wayfinder.streams.clock import StreamClock
from wayfinder.streams.metrics import StreamMetrics
from wayfinder.streams.stage import EmployeeStage, Incoming
from wayfinder.streams.wire import Record

JOURNEY = BEREAVEMENT.replace("sensitivity: sensitive", "")
LEAVE = ev("b1", "hris.leave.started", "2026-04-01T09:00:00Z", leave_type="bereavement", start_date="2026-04-01")


class Wall:
    def __init__(self) -> None:
        self.value = at("2026-11-29T10:00:00Z")

    def __call__(self) -> datetime:
        return self.value


def _stage(write_files: WriteFiles, wall: Wall, directory: dict[str, Profile]) -> EmployeeStage:
    root = write_files({"journeys/bereavement.yaml": HEAD + JOURNEY})
    return EmployeeStage(DictTable(), StreamClock("event", wall), StreamMetrics(CollectorRegistry()),
                         lambda topic, partition: None, Engine(world_defs(root / "journeys")), ticks_topic="ticks",
                         max_event_bytes=1_000_000, directory=directory, recipient_wait_seconds=30)


class Feed:
    def __init__(self, stage: EmployeeStage) -> None:
        self.stage = stage
        self.offset = 0

    def event(self, e: CloudEvent) -> list[Record]:
        raw = json.dumps(e.model_dump(mode="json") | {"time": e.time.isoformat()}).encode()
        return self.raw("hris.events", e.subject.encode(), raw)

    def again(self, record: Record) -> list[Record]:
        assert record.topic == "employee-ticks" and record.partition == 0
        return self.raw("ticks", None, record.value or b"")

    def raw(self, topic: str, key: bytes | None, value: bytes) -> list[Record]:
        self.offset += 1
        return self.stage.process(Incoming(topic, 0, self.offset, key, value, None), self.stage.handle)


def _manager_status(records: list[Record]) -> tuple[str, str | None] | None:
    for r in records:
        if r.topic == "outbound.messages" and r.value is not None:
            m = json.loads(r.value)
            if m["step_id"] == "manager":
                return m["status"], m["reason"]
    return None


def test_a_message_waits_for_the_directory_to_know_its_recipient_with_the_employees_later_inputs_behind(
        write_files: WriteFiles) -> None:
    wall, directory = Wall(), dict[str, Profile]()
    feed = Feed(_stage(write_files, wall, directory))
    feed.event(person("E1"))
    [held] = feed.event(LEAVE)  # the manager M1 is not known here yet: nothing decided, the input goes round
    assert json.loads(held.value or b"")["head"] is True
    [behind] = feed.event(ev("u1", "hris.employee.upserted", "2026-04-02T09:00:00Z", given_name="Eve"))
    assert json.loads(behind.value or b"")["head"] is False  # the same employee's next input waits behind it
    [still] = feed.again(held)  # round again: still not known
    wall.value += timedelta(seconds=10)
    directory["M1"] = Profile(id="M1", fields={"email": "m1@example.com", "given_name": "Mo"})
    [behind_again] = feed.again(behind)  # comes round before the first: it goes behind again
    decided = feed.again(still)
    assert "M1" in [r.key for r in decided if r.topic == "mailbox"]  # to the manager's mailbox, not suppressed
    assert _manager_status(decided) is None
    assert not any(r.topic == "employee-ticks" for r in decided)
    assert not any(r.topic == "employee-ticks" for r in feed.again(behind_again))
    assert feed.stage.table.get("s:E1") is not None


def test_past_the_wait_the_message_is_no_recipient_as_simulate_decides(write_files: WriteFiles) -> None:
    wall = Wall()
    feed = Feed(_stage(write_files, wall, {}))
    feed.event(person("E1"))
    [held] = feed.event(LEAVE)
    wall.value += timedelta(seconds=31)
    decided = feed.again(held)
    assert _manager_status(decided) == ("suppressed", "no_recipient")
    assert not any(r.topic == "employee-ticks" for r in decided)
