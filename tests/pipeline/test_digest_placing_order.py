"""Issue 12 for digests: on Kafka a manager's digest closes by the manager's own quiet hours and time zone as they
stood when the gathered message was decided, as ``simulate`` closes it, whichever partition ran ahead (README "Kafka
order", "Digests for managers and HR partners")."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.pipeline.stages import Pipeline
from tests.pipeline.test_recipient_choices_order import TELL_MANAGER, UNTIL
from tests.pipeline.test_runner_rules import ev, person, runner_for
from tests.support import WriteFiles
from wayfinder.journeys.events import CloudEvent
from wayfinder.streams.routing import partition_of

DAILY = 'digests:\n  manager: {every: daily, at: "09:00"}\n'


def _leave(eid: str, time: str, subject: str) -> CloudEvent:
    return ev(eid, "hris.leave.started", time, subject, leave_type="other", start_date=time[:10],
              expected_return_date="2026-06-25")


def _story(change: CloudEvent) -> list[CloudEvent]:
    """M1 (Berlin, partition 1) gets a daily digest at 09:00 of the notes about E1 and E4 (partition 0), and makes
    ``change`` on 4 June: the note of 1 June closes at 09:00 Berlin, the digest still open then (3 June's note) and
    those after it by the new choice."""
    return [person("M1", manager_id=None), person("E1"), person("E4"), person("H1", manager_id=None),
            _leave("l1", "2026-06-01T08:00:00Z", "E1"), _leave("l4", "2026-06-03T08:00:00Z", "E4"), change,
            _leave("l1b", "2026-06-05T08:00:00Z", "E1"), _leave("l4b", "2026-06-06T08:00:00Z", "E4")]


def _when(m: dict[str, Any]) -> tuple[Any, ...]:
    return m["employee_id"], m["status"], m["reason"], m["scheduled_for"], m.get("digest_id")


QUIET = ev("q1", "wayfinder.preferences.changed", "2026-06-04T00:00:00Z", "M1", quiet_hours="00:00-12:00")
MOVED = person("M1", "2026-06-04T00:00:00Z", manager_id=None, country="US", timezone="America/New_York")


@pytest.mark.parametrize(("change", "closings"), [
    # 09:00 is quiet every day from 4 June: the digest open then, and every one after, closes at noon, Berlin
    (QUIET, ["2026-06-02T07:00:00Z", "2026-06-04T10:00:00Z", "2026-06-06T10:00:00Z", "2026-06-07T10:00:00Z"]),
    # 09:00 in New York from 4 June, the digest open then included
    (MOVED, ["2026-06-02T07:00:00Z", "2026-06-04T13:00:00Z", "2026-06-05T13:00:00Z", "2026-06-06T13:00:00Z"]),
], ids=["quiet-hours", "time-zone"])
def test_a_managers_new_choices_close_the_digests_of_notes_decided_on_another_partition_as_in_simulate(
        write_files: WriteFiles, change: CloudEvent, closings: list[str]) -> None:
    """With the manager's partition ahead, the other partition's directory had the new choice while it decided the
    note of 1 June (its digest closed by it, where ``simulate`` closes it at 09:00 Berlin); with the
    other partition ahead, its directory had the old choice for the notes after the change. The digest box closes
    by what the manager's mailbox heard last, as the mailbox places by it."""
    runner = runner_for(write_files, {"tell-manager": TELL_MANAGER}, DAILY)
    events = _story(change)
    assert partition_of(b"M1", 2) == 1 and {partition_of(e.encode(), 2) for e in ("E1", "E4")} == {0}
    runner.run(sorted(events, key=lambda e: e.time), UNTIL)
    simulated = {mid: _when(json.loads(m.model_dump_json())) for mid, m in runner.messages.items()}
    digests = sorted(w[3] for w in simulated.values() if w[0] == "M1")
    assert digests == closings
    assert sorted(w[3] for w in simulated.values() if w[0] != "M1") == closings  # each note in its own digest
    for ahead in (1, 0):
        p = Pipeline(committed=lambda topic, partition: 1 << 62, defs=runner.engine.defs)
        p.partition_ahead(events, ahead, UNTIL)
        assert {mid: _when(m) for mid, m in p.messages().items()} == simulated, f"partition {ahead} ahead"
