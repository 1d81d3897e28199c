"""Context (issue 16, item 4): while a person is on a sensitive leave, other journeys' messages to them wait for
the leave to end (``deferred``, reason ``on_leave``) or are suppressed; essential journeys and the journey about
the leave still go. Through ``simulate`` (the embedded runner) and the worker's stages on dicts."""

from __future__ import annotations

import json
from pathlib import Path

from tests.pipeline.stages import DictTable, Pipeline, events_through_stages
from tests.support import WriteFiles, at, read_jsonl, world_defs
from wayfinder.cli import main
from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.records import Message
from wayfinder.journeys.state import EmployeeState
from wayfinder.streams.embedded import EmbeddedRunner

HEAD = "apiVersion: wayfinder/v1\nkind: Journey\nname: Test journey\nowner: hr@example.com\n"
POLICY = """apiVersion: wayfinder/v1
kind: Policy
quiet_hours: {start: "20:00", end: "08:00", weekends: false}
leave_pause: {leave_types: [bereavement, medical]}
"""

# A promotion congratulation: cheerful, and wrong to send to someone who has just lost a person.
CHEER = """id: cheer
trigger: {event: hris.job.changed}
exit_on: [{event: hris.employee.terminated}]
steps:
  - id: congrats
    send: {channel: email, subject: "Congratulations", body: "Well done."}
"""
# The same, but it makes no sense any more a week later: suppressed instead of deferred.
TIMELY = CHEER.replace("id: cheer", "id: timely").replace("steps:", "on_leave: suppress\nsteps:")
# Payroll must always reach people.
PAYROLL = CHEER.replace("id: cheer", "id: payroll").replace("steps:", "essential: true\nsteps:")
# The journey about the leave itself.
SUPPORT = """id: support
trigger: {event: hris.leave.started, when: 'event.data.leave_type == "bereavement"'}
steps:
  - id: hello
    send: {channel: email, subject: "We are sorry", body: "Take the time you need."}
"""
# Messages to the manager about a report.
TO_MANAGER = """id: tell-manager
trigger: {event: hris.job.changed}
steps:
  - id: note
    send: {channel: email, to: manager, subject: "Your report moved", body: "Say hello."}
"""


def ev(eid: str, etype: str, time: str, subject: str = "E1", **data: object) -> CloudEvent:
    return CloudEvent(specversion="1.0", id=eid, source="test", type=etype, time=at(time), subject=subject,
                      data=dict(data))


def person(subject: str, manager: str = "M1") -> CloudEvent:
    return ev(f"p-{subject}", "hris.employee.upserted", "2026-02-01T00:00:00Z", subject, id=subject,
              given_name=subject.title(), email=f"{subject.lower()}@example.com", country="DE",
              timezone="Europe/Berlin", locale="en-GB", employment_type="employee", manager_id=manager)


def leave(subject: str = "E1", kind: str = "bereavement", expected: str | None = "2026-03-09",
          time: str = "2026-03-02T07:00:00Z") -> CloudEvent:
    data: dict[str, object] = {"leave_type": kind, "start_date": "2026-03-02"}
    if expected is not None:
        data["expected_return_date"] = expected
    return ev(f"ls-{subject}", "hris.leave.started", time, subject, **data)


def back(subject: str = "E1", kind: str = "bereavement", date: str = "2026-03-06") -> CloudEvent:
    return ev(f"le-{subject}", "hris.leave.ended", "2026-03-04T09:00:00Z", subject, leave_type=kind,
              return_date=date)


def promoted(subject: str = "E1") -> CloudEvent:
    return ev(f"jc-{subject}", "hris.job.changed", "2026-03-03T10:00:00Z", subject, change="promotion",
              new_role="Lead")


def defs_for(write_files: WriteFiles, *journeys: str, policy: str = POLICY) -> tuple[Path, Path]:
    files = {f"journeys/j{i}.yaml": HEAD + body for i, body in enumerate(journeys)}
    files["policy.yaml"] = policy
    root = write_files(files)
    return root / "journeys", root / "policy.yaml"


def run(write_files: WriteFiles, journeys: list[str], events: list[CloudEvent], until: str,
        policy: str = POLICY) -> EmbeddedRunner:
    runner = EmbeddedRunner(world_defs(*defs_for(write_files, *journeys, policy=policy)))
    runner.run(events, at(until))
    return runner


def one(runner: EmbeddedRunner, journey: str) -> Message:
    [message] = [m for m in runner.messages.values() if m.journey_id == journey]
    return message


def test_a_message_due_during_the_leave_waits_for_the_expected_return(write_files: WriteFiles) -> None:
    events = [person("E1"), leave(), promoted()]
    held = one(run(write_files, [CHEER], events, "2026-03-08T00:00:00Z"), "cheer")
    assert (held.status, held.reason) == ("deferred", "on_leave")
    assert held.scheduled_for == at("2026-03-08T23:00:00Z")  # midnight in Berlin on the return date
    went = one(run(write_files, [CHEER], events, "2026-03-10T00:00:00Z"), "cheer")
    assert (went.status, went.reason) == ("sent", None)
    assert went.scheduled_for == at("2026-03-09T07:00:00Z")  # then quiet hours end at 08:00 in Berlin


def test_the_end_of_the_leave_releases_what_it_held(write_files: WriteFiles) -> None:
    """``hris.leave.ended`` names the return date: back earlier than expected, so the message goes earlier."""
    went = one(run(write_files, [CHEER], [person("E1"), leave(), promoted(), back(date="2026-03-06")],
                   "2026-03-07T00:00:00Z"), "cheer")
    assert (went.status, went.scheduled_for) == ("sent", at("2026-03-06T07:00:00Z"))


def test_a_leave_without_a_known_return_holds_until_it_ends(write_files: WriteFiles) -> None:
    events = [person("E1"), leave(expected=None), promoted()]
    held = one(run(write_files, [CHEER], events, "2026-06-01T00:00:00Z"), "cheer")
    assert (held.status, held.reason) == ("deferred", "on_leave")
    went = one(run(write_files, [CHEER], [*events, back(date="2026-03-16")], "2026-06-01T00:00:00Z"), "cheer")
    assert (went.status, went.scheduled_for) == ("sent", at("2026-03-16T07:00:00Z"))


def test_a_journey_that_would_no_longer_make_sense_is_suppressed(write_files: WriteFiles) -> None:
    gone = one(run(write_files, [TIMELY], [person("E1"), leave(), promoted()], "2026-03-10T00:00:00Z"), "timely")
    assert (gone.status, gone.reason) == ("suppressed", "on_leave")


def test_essential_journeys_and_the_leaves_own_journey_still_go(write_files: WriteFiles) -> None:
    runner = run(write_files, [PAYROLL, SUPPORT], [person("E1"), leave(), promoted()], "2026-03-04T00:00:00Z")
    payroll, support = one(runner, "payroll"), one(runner, "support")
    assert (payroll.status, payroll.scheduled_for) == ("sent", at("2026-03-03T10:00:00Z"))
    assert (support.status, support.scheduled_for) == ("sent", at("2026-03-02T07:00:00Z"))


# A journey about another leave: the check-in a parental leave sends twelve days in.
PARENTAL = """id: parental
trigger: {event: hris.leave.started, when: 'event.data.leave_type == "parental"'}
steps:
  - id: enjoy
    send: {channel: email, subject: "Enjoy the time", body: "We will be in touch."}
  - id: later
    wait: {for: 12d}
  - id: checkin
    send: {channel: email, subject: "Welcome back soon", body: "How is it going?"}
"""


def test_the_journey_of_another_leave_waits_for_the_end_of_a_sensitive_one(write_files: WriteFiles) -> None:
    """An audit on 2026-12-06: a parental leave's "welcome back soon" went out during the bereavement leave that
    came after it, as the journey about the leave itself; only the journey about this leave (its type) goes."""
    parental = ev("ls-parental", "hris.leave.started", "2026-02-20T09:00:00Z", leave_type="parental",
                  start_date="2026-02-20", expected_return_date="2026-06-01")
    events = [person("E1"), parental, leave(expected="2026-03-09"),
              ev("ls-again", "hris.leave.started", "2026-03-03T07:00:00Z", leave_type="bereavement",
                 start_date="2026-03-02", expected_return_date="2026-03-10")]
    defs = world_defs(*defs_for(write_files, PARENTAL, SUPPORT))
    until = at("2026-03-20T00:00:00Z")
    runner = EmbeddedRunner(defs)
    runner.run(events, until)
    got = {m.step_id: m for m in runner.messages.values()}
    assert (got["hello"].journey_id, got["hello"].status) == ("support", "sent")  # extended: still its own
    assert (got["checkin"].status, got["checkin"].scheduled_for) == ("sent", at("2026-03-10T07:00:00Z"))
    p = Pipeline(committed=lambda topic, partition: 1 << 62, defs=defs)
    for e in sorted(events, key=lambda e: e.time):
        p.tick(e.time)
        p.feed(p.employees, "hris", None, e.model_dump_json().encode())
        p.drain()
    p.tick(until)
    staged = {}
    for r in p.records:
        if r.topic == "outbound.messages" and r.value is not None:
            m = json.loads(r.value)
            staged[m["message_id"]] = m
    assert staged == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}


def test_other_leave_types_and_no_policy_pause_nothing(write_files: WriteFiles) -> None:
    parental = one(run(write_files, [CHEER], [person("E1"), leave(kind="parental"), promoted()],
                       "2026-03-04T00:00:00Z"), "cheer")
    assert parental.status == "sent"
    unpaused = one(run(write_files, [CHEER], [person("E1"), leave(), promoted()], "2026-03-04T00:00:00Z",
                       policy="apiVersion: wayfinder/v1\nkind: Policy\n"), "cheer")
    assert unpaused.status == "sent"


def test_the_pause_follows_the_recipient_not_the_employee(write_files: WriteFiles) -> None:
    """A manager on bereavement leave gets no message about a report until back; the report's own leave does
    not hold what goes to the manager."""
    events = [person("E1"), person("M1", manager="M9"), leave("M1"), promoted("E1")]
    note = one(run(write_files, [TO_MANAGER], events, "2026-03-04T00:00:00Z"), "tell-manager")
    assert (note.recipient_id, note.status, note.reason) == ("M1", "deferred", "on_leave")
    events = [person("E1"), person("M1", manager="M9"), leave("E1"), promoted("E1")]
    note = one(run(write_files, [TO_MANAGER], events, "2026-03-04T00:00:00Z"), "tell-manager")
    assert (note.recipient_id, note.status) == ("M1", "sent")


def test_a_message_already_waiting_when_the_leave_begins_waits_for_its_end(write_files: WriteFiles) -> None:
    """Deferred by quiet hours the evening before; HR records the leave that night, from the next day: the
    message waits for the return."""
    late = ev("jc-late", "hris.job.changed", "2026-03-01T20:00:00Z", "E1", change="promotion")
    events = [person("E1"), late, leave(time="2026-03-01T22:00:00Z")]
    held = one(run(write_files, [CHEER], events, "2026-03-05T00:00:00Z"), "cheer")
    assert (held.status, held.reason, held.scheduled_for) == ("deferred", "on_leave", at("2026-03-08T23:00:00Z"))
    went = one(run(write_files, [CHEER], events, "2026-03-10T00:00:00Z"), "cheer")
    assert (went.status, went.scheduled_for) == ("sent", at("2026-03-09T07:00:00Z"))


def test_an_exit_during_the_leave_suppresses_what_it_held(write_files: WriteFiles) -> None:
    quit_ = ev("t-E1", "hris.employee.terminated", "2026-03-05T09:00:00Z", date="2026-03-31")
    lingering = CHEER + "  - id: linger\n    wait: {for: 30d}\n"  # still enrolled when the exit comes
    gone = one(run(write_files, [lingering], [person("E1"), leave(), promoted(), quit_], "2026-03-10T00:00:00Z"),
               "cheer")
    assert (gone.status, gone.reason) == ("suppressed", "exited")


def test_simulate_writes_the_held_message_and_its_release(write_files: WriteFiles, tmp_path: Path,
                                                          capsys: object) -> None:
    journeys, policy = defs_for(write_files, CHEER, TIMELY, PAYROLL)
    events = tmp_path / "events.jsonl"
    events.write_text("".join(e.model_dump_json() + "\n" for e in [person("E1"), leave(), promoted()]))
    world = Path(__file__).resolve().parents[1] / "data" / "world"
    args = ["simulate", "--events", str(events), "--journeys", str(journeys), "--catalog", str(world / "catalog"),
            "--templates", str(world / "templates"), "--policy", str(policy), "--out"]
    assert main([*args, str(tmp_path / "during"), "--until", "2026-03-05T00:00:00Z"]) == 0
    assert main([*args, str(tmp_path / "after"), "--until", "2026-03-10T00:00:00Z"]) == 0
    during = {m["journey_id"]: (m["status"], m["reason"]) for m in read_jsonl(tmp_path / "during" / "messages.jsonl")}
    after = {m["journey_id"]: (m["status"], m["reason"]) for m in read_jsonl(tmp_path / "after" / "messages.jsonl")}
    assert during == {"cheer": ("deferred", "on_leave"), "timely": ("suppressed", "on_leave"),
                      "payroll": ("sent", None)}
    assert after == {**during, "cheer": ("sent", None)}


def test_the_worker_stages_agree_with_simulate_on_a_leave(write_files: WriteFiles) -> None:
    """The stages on dicts leave the same states, mailboxes and records as the embedded runner."""
    defs = world_defs(*defs_for(write_files, CHEER, TIMELY, PAYROLL, TO_MANAGER))
    events = [person("E1"), person("M1", manager="M9"), leave("M1"), leave("E1"), promoted("E1"),
              back("E1", date="2026-03-06")]
    until = at("2026-03-12T00:00:00Z")
    runner = EmbeddedRunner(defs)
    runner.run(events, until)
    p = Pipeline(committed=lambda topic, partition: 1 << 62, defs=defs)
    for e in sorted(events, key=lambda e: e.time):
        p.tick(e.time)
        p.feed(p.employees, "hris", None, e.model_dump_json().encode())
        p.drain()
    p.tick(until)
    p.employees.prune()
    p.mailboxes.prune()
    assert isinstance(p.employees.table, DictTable) and isinstance(p.mailboxes.table, DictTable)
    states = {k[2:]: EmployeeState.model_validate_json(v) for k, v in p.employees.table.items() if k[:2] == "s:"}
    boxes = {k[2:]: p.mailboxes.stored(k[2:]) for k in p.mailboxes.table.keys() if k[:2] == "s:"}
    assert states == runner.states and boxes == runner.mailboxes
    staged = {}
    for r in p.records:
        if r.topic == "outbound.messages" and r.value is not None:
            m = json.loads(r.value)
            staged[m["message_id"]] = m
    assert staged == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}
    statuses = sorted((m.journey_id, m.recipient_id, m.status, m.reason) for m in runner.messages.values())
    assert statuses == [("cheer", "E1", "sent", None), ("payroll", "E1", "sent", None),
                        ("tell-manager", "M1", "sent", None), ("timely", "E1", "suppressed", "on_leave")]
    manager_box = boxes["M1"]
    assert manager_box is not None and manager_box.leave is not None and not manager_box.on_leave


def test_an_approved_message_follows_the_rule_of_its_journey(write_files: WriteFiles) -> None:
    """A reviewer approves during the leave: the support message about the leave goes, a sensitive message of
    another journey waits for the return."""
    sensitive_support = SUPPORT.replace("steps:", "sensitivity: sensitive\nsteps:")
    sensitive_cheer = CHEER.replace("steps:", "sensitivity: sensitive\nsteps:")
    events = [person("E1"), leave(), promoted()]
    first = run(write_files, [sensitive_support, sensitive_cheer], events, "2026-03-03T12:00:00Z")
    waiting = {m.journey_id: m.message_id for m in first.messages.values() if m.status == "pending_approval"}
    assert set(waiting) == {"support", "cheer"}
    decisions = [ev(f"r-{j}", "wayfinder.review.decided", "2026-03-04T10:00:00Z", message_id=mid,
                    decision="approve", reviewer_id="H1") for j, mid in waiting.items()]
    runner = run(write_files, [sensitive_support, sensitive_cheer], [*events, *decisions], "2026-03-05T00:00:00Z")
    support, cheer = one(runner, "support"), one(runner, "cheer")
    assert (support.status, support.scheduled_for) == ("approved", at("2026-03-04T10:00:00Z"))
    assert (cheer.status, cheer.reason, cheer.scheduled_for) == ("deferred", "on_leave", at("2026-03-08T23:00:00Z"))


def rescind(eid: str, original: CloudEvent, time: str) -> CloudEvent:
    return ev(eid, "hris.correction", time, original.subject, original={"source": original.source, "id": original.id},
              original_type=original.type, action="rescind", reason="entered_in_error")


def test_a_rescinded_leave_never_happened_what_it_held_goes_and_it_holds_nothing_more(
        write_files: WriteFiles) -> None:
    """Issue 15: a correction cancels what the rescinded event started. A leave entered in error holds nothing from
    the correction on, and what it held goes through the mailbox then (quiet hours still apply), in simulate and in
    the worker's stages alike."""
    later = CHEER.replace("id: cheer", "id: later").replace("hris.job.changed", "onboarding.task.completed")
    defs = world_defs(*defs_for(write_files, CHEER, TIMELY, later))
    started = leave("E1", kind="medical", expected="2026-03-20")
    events = [person("E1"), started, promoted("E1"), rescind("c1", started, "2026-03-04T12:00:00Z"),
              ev("t1", "onboarding.task.completed", "2026-03-05T10:00:00Z", "E1", task_id="x")]
    until = at("2026-03-06T00:00:00Z")
    runner = EmbeddedRunner(defs)
    runner.run(events, until)
    got = sorted((m.journey_id, m.status, m.reason, m.scheduled_for) for m in runner.messages.values())
    assert got == [
        ("cheer", "sent", None, at("2026-03-04T12:00:00Z")),  # held, and released by the correction
        ("later", "sent", None, at("2026-03-05T10:00:00Z")),  # nothing held any more
        ("timely", "suppressed", "on_leave", at("2026-03-03T10:00:00Z"))]  # decided while the leave stood
    assert runner.states["E1"].leave is None and runner.stats.diagnostics["correction_unmatched"] == 0
    _, staged = events_through_stages(defs, events, until)
    assert staged == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}


def test_an_amended_leave_moves_the_period_it_holds(write_files: WriteFiles) -> None:
    """An audit of issue 15 (2026-12-06): a leave extended in the HR system (its expected return moved) changed
    nothing, so what the leave held went out at the first expected return, while the person was still on leave. The
    import now writes the extension as an amendment of the leave's ``hris.leave.started``; the hold moves with it (by
    the named event, or for a second correction by the dates it changes), in simulate and the worker's stages alike."""
    defs = world_defs(*defs_for(write_files, CHEER))
    started = leave("E1", kind="medical", expected="2026-03-09")

    def amend(eid: str, original: str, old: str, new: str, time: str) -> CloudEvent:
        return ev(eid, "hris.correction", time, "E1", original={"source": "test", "id": original},
                  original_type="hris.leave.started", action="amend", reason="leave_dates_corrected",
                  changes={"expected_return_date": {"old": old, "new": new}})

    extended = amend("c1", started.id, "2026-03-09", "2026-03-16", "2026-03-05T12:00:00Z")
    again = amend("c2", "no-such-event", "2026-03-16", "2026-03-23", "2026-03-06T12:00:00Z")
    stale = amend("c3", "no-such-event", "2026-03-09", "2026-03-11", "2026-03-07T12:00:00Z")
    for events, due in [([extended], "2026-03-16T07:00:00Z"), ([extended, again, stale], "2026-03-23T07:00:00Z")]:
        everything = [person("E1"), started, promoted("E1"), *events]
        until = at("2026-03-31T00:00:00Z")
        runner = EmbeddedRunner(defs)
        runner.run(everything, until)
        cheer = one(runner, "cheer")
        assert (cheer.status, cheer.scheduled_for) == ("sent", at(due))  # 08:00 in Berlin on the return date
        _, staged = events_through_stages(defs, everything, until)
        assert staged == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}


def test_an_amended_expected_return_does_not_hold_again_after_the_person_came_back(write_files: WriteFiles) -> None:
    """The leave ended (``hris.leave.ended``: back on 6 March); the HR system's record of the leave then has its
    expected return corrected (9 to 16 March). The person is back: a promotion on 10 March is congratulated that
    day, in simulate and the worker's stages alike. Found by a second reading of 2026-12-06's leave amendments: the
    expected date replaced the return, and the message waited until 16 March."""
    defs = world_defs(*defs_for(write_files, CHEER))
    started = leave("E1", kind="medical", expected="2026-03-09")
    fixed = ev("c1", "hris.correction", "2026-03-05T12:00:00Z", "E1", original={"source": "test", "id": started.id},
               original_type="hris.leave.started", action="amend", reason="leave_dates_corrected",
               changes={"expected_return_date": {"old": "2026-03-09", "new": "2026-03-16"}})
    later = ev("jc-E1", "hris.job.changed", "2026-03-10T10:00:00Z", "E1", change="promotion", new_role="Lead")
    everything = [person("E1"), started, back("E1", kind="medical"), fixed, later]
    until = at("2026-03-31T00:00:00Z")
    runner = EmbeddedRunner(defs)
    runner.run(everything, until)
    cheer = one(runner, "cheer")
    assert (cheer.status, cheer.scheduled_for) == ("sent", at("2026-03-10T10:00:00Z"))
    _, staged = events_through_stages(defs, everything, until)
    assert staged == {mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}
