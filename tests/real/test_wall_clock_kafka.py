"""The worker on the wall clock (production's default) on the real broker: an event dated ahead of the clock is
decided at its time, not when it is read (SPEC §4: a step runs at the later of the two; README "the wall clock")."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.real.kafka_world import KafkaWorld, kafka_world
from tests.real.test_kafka import eventually
from wayfinder import examples_dir

pytestmark = [pytest.mark.kafka]

HELLO = """apiVersion: wayfinder/v1
kind: Journey
id: hello
name: Hello
owner: hr@example.com
version: 1
trigger: {event: hris.leave.started}
steps:
  - id: hi
    send: {channel: intranet, subject: "Hello", body: "Hello."}
"""
LEAD = timedelta(seconds=25)  # how far ahead of the wall clock the first leave is dated


@pytest.fixture
def world(kafka_broker: str, tmp_path: Path) -> Iterator[KafkaWorld]:
    defs = tmp_path / "defs"
    (defs / "journeys").mkdir(parents=True)
    (defs / "journeys" / "hello.yaml").write_text(HELLO, encoding="utf-8")
    (defs / "policy.yaml").write_text("apiVersion: wayfinder/v1\nkind: Policy\n", encoding="utf-8")
    for part in ("catalog", "templates"):
        shutil.copytree(examples_dir() / part, defs / part)
    yield from kafka_world(kafka_broker, tmp_path, partitions=2,
                           extra_env={"WAYFINDER_CLOCK": "wall", "WAYFINDER_DEFINITIONS": str(defs)})


def _event(eid: str, etype: str, time_: datetime, subject: str, **data: Any) -> bytes:
    return json.dumps({"specversion": "1.0", "id": eid, "source": "test", "type": etype,
                       "time": time_.isoformat(timespec="seconds").replace("+00:00", "Z"), "subject": subject,
                       "data": data}).encode("utf-8")


def _profile(subject: str, time_: datetime) -> bytes:
    return _event(f"u-{subject}", "hris.employee.upserted", time_, subject, id=subject, given_name=subject,
                  email=f"{subject.lower()}@example.com", timezone="UTC", country="DE", employment_type="employee")


def test_an_event_dated_ahead_of_the_wall_clock_is_decided_at_its_time_not_when_read(world: KafkaWorld) -> None:
    """Read at once, a leave dated 25 s ahead was decided then: its message recorded ``sent`` at the future time
    went out at once (and the timers due by that time fired early). It waits for its time now; a leave dated now,
    read after it, goes at once and shows the worker has read both."""
    world.start_worker()
    now = datetime.now(UTC).replace(microsecond=0)
    ahead = now + LEAD
    world.publish_lines([_profile("E1", now - timedelta(minutes=1)), _profile("E2", now - timedelta(minutes=1)),
                         _event("l1", "hris.leave.started", ahead, "E1", leave_type="other",
                                start_date=ahead.date().isoformat()),
                         _event("l2", "hris.leave.started", now, "E2", leave_type="other",
                                start_date=now.date().isoformat())])

    def by_employee() -> dict[str, dict[str, Any]]:
        return {m["employee_id"]: m for m in world.messages()[0].values()}

    first = eventually(by_employee, lambda got: "E2" in got, timeout=60)
    assert first["E2"]["status"] == "sent"
    assert "E1" not in first or datetime.now(UTC) >= ahead, first  # not decided before its time
    later = eventually(by_employee, lambda got: "E1" in got, timeout=90)
    seen = datetime.now(UTC)
    went = datetime.fromisoformat(later["E1"]["scheduled_for"])
    assert later["E1"]["status"] == "sent" and seen >= ahead
    assert ahead <= went <= ahead + timedelta(seconds=10)  # the wake-up after its time: the later of the two
