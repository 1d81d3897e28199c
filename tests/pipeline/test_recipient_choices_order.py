"""Issue 12: on Kafka a message is placed by its recipient's quiet hours and time zone as they stood when it was
decided, as ``simulate`` places it, whichever partition ran ahead (README "Kafka order", "A recipient's new quiet
hours")."""

from __future__ import annotations

import json
from typing import Any

from tests.pipeline.stages import Pipeline
from tests.pipeline.test_runner_rules import ev, person, runner_for
from tests.support import WriteFiles, at
from wayfinder.journeys.events import CloudEvent
from wayfinder.streams.routing import partition_of

UNTIL = at("2026-07-01T00:00:00Z")

TELL_MANAGER = """id: tell-manager
trigger: {event: hris.leave.started}
reentry: always
steps:
  - id: note
    send: {channel: email, to: manager, subject: "A leave in your team", body: "Someone is on leave."}
"""


def _story() -> list[CloudEvent]:
    """M1 (Berlin, partition 1) manages E1 and E4 (partition 0). M1 takes quiet hours 00:00-12:00 (Berlin) on 4 June:
    notes of 1-3 June at 10:00 Berlin go at once, those after the change wait for noon."""
    return [person("M1", manager_id=None), person("E1"), person("E4"), person("H1", manager_id=None),
            ev("l1", "hris.leave.started", "2026-06-01T08:00:00Z", "E1", leave_type="other",
               start_date="2026-06-01", expected_return_date="2026-06-20"),
            ev("l4", "hris.leave.started", "2026-06-03T08:00:00Z", "E4", leave_type="other",
               start_date="2026-06-03", expected_return_date="2026-06-20"),
            ev("q1", "wayfinder.preferences.changed", "2026-06-04T00:00:00Z", "M1", quiet_hours="00:00-12:00"),
            ev("l1b", "hris.leave.started", "2026-06-05T08:00:00Z", "E1", leave_type="other",
               start_date="2026-06-05", expected_return_date="2026-06-21"),
            ev("l4b", "hris.leave.started", "2026-06-06T08:00:00Z", "E4", leave_type="other",
               start_date="2026-06-06", expected_return_date="2026-06-21")]


def _when(m: dict[str, Any]) -> tuple[Any, ...]:
    return m["employee_id"], m["status"], m["reason"], m["scheduled_for"]


def _staged(p: Pipeline, events: list[CloudEvent], ahead: int) -> dict[str, tuple[Any, ...]]:
    p.partition_ahead(events, ahead, UNTIL)
    return {mid: _when(m) for mid, m in p.messages().items()}


def test_a_managers_new_quiet_hours_place_the_notes_decided_on_another_partition_as_in_simulate(
        write_files: WriteFiles) -> None:
    """The audit of issue 12: the manager's partition ran ahead, so the other partition's directory had the new quiet
    hours while it decided the notes of 1 and 3 June (held to noon, where ``simulate`` sends them at 10:00); with
    the other partition ahead, the directory there had the old hours for the notes after the change."""
    runner = runner_for(write_files, {"tell-manager": TELL_MANAGER})
    events = _story()
    assert partition_of(b"M1", 2) == 1 and {partition_of(e.encode(), 2) for e in ("E1", "E4")} == {0}
    runner.run(sorted(events, key=lambda e: e.time), UNTIL)
    simulated = {mid: _when(json.loads(m.model_dump_json())) for mid, m in runner.messages.items()}
    assert sorted(w[1:] for w in simulated.values()) == [
        ("sent", None, "2026-06-01T08:00:00Z"), ("sent", None, "2026-06-03T08:00:00Z"),
        ("sent", None, "2026-06-05T10:00:00Z"), ("sent", None, "2026-06-06T10:00:00Z")]
    for ahead in (1, 0):
        p = Pipeline(committed=lambda topic, partition: 1 << 62, defs=runner.engine.defs)
        assert _staged(p, events, ahead) == simulated, f"partition {ahead} ahead"


def test_a_recipient_in_utc_with_the_policys_quiet_hours_is_placed_by_their_own_choices_too(
        write_files: WriteFiles) -> None:
    """A first profile in UTC with no quiet hours of its own reads as no profile does, yet it too reaches the
    mailbox: else the mailbox, having heard nothing, placed by the copy the message carried, and with M1's partition
    ahead that copy had the quiet hours M1 chose three days after the note (sent at 22:00 where ``simulate`` holds it
    to 08:00 by the policy's)."""
    runner = runner_for(write_files, {"tell-manager": TELL_MANAGER},
                        'quiet_hours: {start: "20:00", end: "08:00", weekends: false}\n')
    events = [person("M1", manager_id=None, country="GB", timezone="UTC"), person("E1"), person("H1", manager_id=None),
              ev("l1", "hris.leave.started", "2026-06-01T22:00:00Z", "E1", leave_type="other",
                 start_date="2026-06-01", expected_return_date="2026-06-20"),
              ev("q1", "wayfinder.preferences.changed", "2026-06-04T00:00:00Z", "M1", quiet_hours="12:00-14:00")]
    runner.run(sorted(events, key=lambda e: e.time), UNTIL)
    assert runner.mailboxes["M1"].model_dump(exclude_defaults=True)["placing"] == {"timezone": "UTC",
                                                                                   "quiet_hours": "12:00:00-14:00:00"}
    simulated = {mid: _when(json.loads(m.model_dump_json())) for mid, m in runner.messages.items()}
    assert list(simulated.values()) == [("E1", "sent", None, "2026-06-02T08:00:00Z")]
    for ahead in (1, 0):
        p = Pipeline(committed=lambda topic, partition: 1 << 62, defs=runner.engine.defs)
        assert _staged(p, events, ahead) == simulated, f"partition {ahead} ahead"


WEEKEND_POLICY = """quiet_hours: {start: "20:00", end: "08:00", weekends: true}
working_days: {weekend: [saturday, sunday], weekend_by_country: {IL: [friday, saturday]}}
"""


def _note(eid: str, time: str) -> CloudEvent:
    return ev(eid, "hris.leave.started", time, "E1", leave_type="other", start_date=time[:10],
              expected_return_date="2026-06-30")


def test_a_recipient_in_israel_keeps_a_friday_saturday_weekend_in_both_runners(write_files: WriteFiles) -> None:
    """README "Working days": with quiet weekends, a recipient in a country the policy gives its own weekend keeps
    it. M1 is in Israel: a note decided on Friday 5 June waits for Sunday 08:00 in Jerusalem, one on Sunday 7 June
    goes at once. M1 moves to Germany on 10 June (their weekend is the policy's again, and the move reaches their
    mailbox): a note on Friday 12 June goes at once, one on Sunday 14 June waits for Monday 08:00 in Berlin. The
    worker's stages place them as ``simulate`` does, whichever partition runs ahead."""
    runner = runner_for(write_files, {"tell-manager": TELL_MANAGER}, WEEKEND_POLICY)
    events = [person("M1", manager_id=None, country="IL", timezone="Asia/Jerusalem", locale="he-IL"), person("E1"),
              person("H1", manager_id=None),
              _note("f1", "2026-06-05T08:00:00Z"), _note("s1", "2026-06-07T08:00:00Z"),
              ev("r1", "hris.employee.relocated", "2026-06-10T08:00:00Z", "M1", old_location="Tel Aviv",
                 new_location="Berlin", new_country="DE", new_timezone="Europe/Berlin"),
              _note("f2", "2026-06-12T08:00:00Z"), _note("s2", "2026-06-14T08:00:00Z")]
    assert partition_of(b"M1", 2) == 1 and partition_of(b"E1", 2) == 0
    runner.run(sorted(events, key=lambda e: e.time), UNTIL)
    simulated = {mid: _when(json.loads(m.model_dump_json())) for mid, m in runner.messages.items()}
    assert sorted(w[1:] for w in simulated.values()) == [
        ("sent", None, "2026-06-07T05:00:00Z"),  # Friday in Israel: Sunday 08:00 in Jerusalem
        ("sent", None, "2026-06-07T08:00:00Z"),  # Sunday in Israel: a working day
        ("sent", None, "2026-06-12T08:00:00Z"),  # Friday in Germany: a working day
        ("sent", None, "2026-06-15T06:00:00Z")]  # Sunday in Germany: Monday 08:00 in Berlin
    assert runner.mailboxes["M1"].model_dump(exclude_defaults=True)["placing"] == {"timezone": "Europe/Berlin"}
    for ahead in (1, 0):
        p = Pipeline(committed=lambda topic, partition: 1 << 62, defs=runner.engine.defs)
        assert _staged(p, events, ahead) == simulated, f"partition {ahead} ahead"


def test_a_country_put_right_reaches_the_mailbox_when_it_changes_the_weekend(write_files: WriteFiles) -> None:
    """HR puts M1's country right (DE to IL) and nothing else: the zone and quiet hours are as they were, yet the
    weekend is not, so the change reaches M1's mailbox, and Friday's note waits for Sunday in both runners."""
    runner = runner_for(write_files, {"tell-manager": TELL_MANAGER}, WEEKEND_POLICY)
    events = [person("M1", manager_id=None, country="DE", timezone="Asia/Jerusalem"), person("E1"),
              person("H1", manager_id=None),
              ev("c1", "hris.employee.upserted", "2026-06-03T08:00:00Z", "M1", country="IL"),
              _note("f1", "2026-06-05T08:00:00Z")]
    runner.run(sorted(events, key=lambda e: e.time), UNTIL)
    simulated = {mid: _when(json.loads(m.model_dump_json())) for mid, m in runner.messages.items()}
    assert [w[1:] for w in simulated.values()] == [("sent", None, "2026-06-07T05:00:00Z")]
    assert runner.mailboxes["M1"].model_dump(exclude_defaults=True)["placing"] == {
        "timezone": "Asia/Jerusalem", "weekend_country": "IL"}
    for ahead in (1, 0):
        p = Pipeline(committed=lambda topic, partition: 1 << 62, defs=runner.engine.defs)
        assert _staged(p, events, ahead) == simulated, f"partition {ahead} ahead"
