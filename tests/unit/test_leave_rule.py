"""The leave pause rule on its own: which message does what during a sensitive leave, what the employee state
keeps from the HRIS leave events, how the mailbox holds and releases, the wire form, and the YAML errors."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from tests.support import WORLD, WriteFiles
from wayfinder.journeys.effects import Decide, Dispatch, LeaveChanged, MailboxTimer, Preferences, Schedule
from wayfinder.journeys.leave import note_leave, rule_for
from wayfinder.journeys.loader import Sources, load
from wayfinder.journeys.mailbox import Mailbox
from wayfinder.journeys.model import Journey, LeavePause, Policy
from wayfinder.journeys.records import Message
from wayfinder.journeys.state import EmployeeState, LeavePeriod, MailboxState
from wayfinder.streams.wire import decode_mailbox_input, encode_mailbox_input

POLICY = Policy(leave_pause=LeavePause())


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def journey(trigger: str = "hris.job.changed", **extra: object) -> Journey:
    return Journey.model_validate({
        "apiVersion": "wayfinder/v1", "kind": "Journey", "id": "j", "name": "J", "owner": "hr@example.com",
        "trigger": {"event": trigger}, "steps": [{"id": "s", "end": {}}], **extra})


@pytest.mark.parametrize(("extra", "trigger", "role", "rule"), [
    ({}, "hris.job.changed", "employee", "defer"),
    ({"on_leave": "suppress"}, "hris.job.changed", "employee", "suppress"),
    ({"essential": True}, "hris.job.changed", "manager", "send"),
    ({}, "hris.leave.started", "employee", "send"),     # the journey about the person's own leave
    ({}, "hris.leave.started", "manager", "defer"),     # ... is not about the manager's leave
    ({}, "hris.leave.ended", "employee", "defer"),      # a return journey is paused by a new leave
])
def test_what_a_message_does_during_a_leave(extra: dict[str, object], trigger: str, role: str, rule: str) -> None:
    assert rule_for(journey(trigger, **extra), role) == rule


def test_the_journey_of_a_leave_goes_during_that_leave_only() -> None:
    """The journey about a leave still goes during it (or its extension), not during a sensitive leave of another
    type that began after it: a parental leave's check-in went out during the bereavement leave after it (audit,
    2026-12-06)."""
    about = journey("hris.leave.started")
    bereavement = LeavePeriod(leave_type="bereavement", start=utc("2026-03-01T23:00:00"))
    assert rule_for(about, "employee", {"data": {"leave_type": "bereavement"}}, bereavement) == "send"
    assert rule_for(about, "employee", {"data": {"leave_type": "parental"}}, None) == "send"  # no leave to wait for
    assert rule_for(about, "employee", None, bereavement) == "send"  # its trigger unknown (a finished enrollment)
    # a parental leave that began before the bereavement waits; a bereavement during a medical leave still goes
    assert rule_for(about, "employee", {"data": {"leave_type": "parental"}, "time": utc("2026-02-20T09:00:00")},
                    bereavement) == "defer"
    assert rule_for(about, "employee", {"data": {"leave_type": "parental"}, "time": "2026-02-20T09:00:00Z"},
                    bereavement) == "defer"  # a state read back from JSON
    medical = LeavePeriod(leave_type="medical", start=utc("2026-02-01T23:00:00"))
    assert rule_for(about, "employee", {"data": {"leave_type": "bereavement"}, "time": utc("2026-03-03T09:00:00")},
                    medical) == "send"


def test_an_unknown_journey_version_defers() -> None:
    assert rule_for(None, "employee") == "defer"


def test_the_state_keeps_the_leave_and_tells_the_persons_mailbox() -> None:
    state = EmployeeState.new("E1")
    state.profile.fields["timezone"] = "Europe/Berlin"
    now = utc("2026-03-02T07:00:00")
    [started] = note_leave(state, "hris.leave.started", {"leave_type": "medical", "start_date": "2026-03-02",
                                                          "expected_return_date": "2026-03-30"}, POLICY, now,
                           stale=False)
    assert started == LeaveChanged("E1", utc("2026-03-01T23:00:00"), utc("2026-03-29T22:00:00"), "Europe/Berlin",
                                   None, now)
    assert "E1" in state.mailboxes
    # the end of another type of leave does not end this one; its own end sets the return date
    assert note_leave(state, "hris.leave.ended", {"leave_type": "parental", "return_date": "2026-03-03"}, POLICY,
                      now, stale=False) == []
    [ended] = note_leave(state, "hris.leave.ended", {"leave_type": "medical", "return_date": "2026-03-16"},
                         POLICY, now, stale=False)
    assert isinstance(ended, LeaveChanged) and ended.end == utc("2026-03-15T23:00:00")
    assert state.leave is not None and state.leave.end == ended.end


@pytest.mark.parametrize(("data", "policy", "stale"), [
    ({"leave_type": "parental", "start_date": "2026-03-02"}, POLICY, False),    # not a sensitive type
    ({"leave_type": "medical", "start_date": "2026-03-02"}, Policy(), False),  # no pause in the policy
    ({"leave_type": "medical", "start_date": "2025-03-02"}, POLICY, True),     # a backfill
])
def test_leaves_that_pause_nothing(data: dict[str, object], policy: Policy, stale: bool) -> None:
    state = EmployeeState.new("E1")
    assert note_leave(state, "hris.leave.started", data, policy, utc("2026-03-02T07:00:00"), stale=stale) == []
    assert state.leave is None


def message(mid: str, at: datetime) -> Message:
    return Message(message_id=mid, employee_id="E1", recipient_id="E1", journey_id="j", journey_version=1,
                   step_id="s", channel="email", status="deferred", scheduled_for=at, created_at=at)


def test_the_mailbox_holds_then_moves_the_hold_when_the_return_moves_then_releases() -> None:
    box, state = Mailbox(Policy()), MailboxState(recipient_id="E1")
    start, now = utc("2026-03-02T00:00:00"), utc("2026-03-03T10:00:00")
    box.on_input(state, LeaveChanged("E1", start, utc("2026-03-09T00:00:00"), "UTC", None, start), start)
    first = box.on_input(state, Dispatch("E1", message("m1", now), "UTC", None), now)
    assert first.effects == [Decide(message("m1", now).with_status("deferred", reason="on_leave",
                                                                   at=utc("2026-03-09T00:00:00"))),
                             Schedule(utc("2026-03-09T00:00:00"), MailboxTimer("E1", "m1"))]
    essential = box.on_input(state, Dispatch("E1", message("m2", now), "UTC", None, "send"), now)
    assert [e.message.status for e in essential.effects if isinstance(e, Decide)] == ["sent"]
    # extended by a week: the hold moves, and the old timer finds the leave still on
    later = utc("2026-03-16T00:00:00")
    moved = box.on_input(state, LeaveChanged("E1", start, later, "UTC", None, now), now)
    assert [e.message.scheduled_for for e in moved.effects if isinstance(e, Decide)] == [later]
    assert box.on_timer(state, MailboxTimer("E1", "m1"), utc("2026-03-09T00:00:00")).effects == []
    released = box.on_timer(state, MailboxTimer("E1", "m1"), later)
    assert [(e.message.message_id, e.message.status, e.message.scheduled_for) for e in released.effects
            if isinstance(e, Decide)] == [("m1", "sent", later)]
    assert state.on_leave == {}


def test_what_a_leave_held_goes_at_its_end_where_the_recipient_is_now() -> None:
    """A manager in Berlin (quiet 20:00-08:00) on leave until local midnight moves to New York meanwhile: what the
    leave held goes at its end, 18:00 in New York. It went by the quiet hours of Berlin, where the leave began:
    at 08:00 there, 02:00 in New York (found by the digest audit, 2026-12-05; the digests already went by where the
    recipient is now)."""
    box, state = Mailbox(Policy()), MailboxState(recipient_id="M1")
    quiet = (time(20, 0), time(8, 0))
    start, now, end = utc("2026-03-01T23:00:00"), utc("2026-03-02T10:00:00"), utc("2026-03-09T23:00:00")
    box.on_input(state, LeaveChanged("M1", start, end, "Europe/Berlin", "20:00-08:00", start), start)
    held = box.on_input(state, Dispatch("M1", message("m1", now), "Europe/Berlin", quiet), now)
    assert [e.message.reason for e in held.effects if isinstance(e, Decide)] == ["on_leave"]
    moved = utc("2026-03-05T12:00:00")
    box.on_input(state, Preferences("M1", (), (), None, moved, "America/New_York", quiet), moved)
    released = box.on_timer(state, MailboxTimer("M1", "m1"), end)
    assert [(e.message.status, e.message.scheduled_for) for e in released.effects if isinstance(e, Decide)] == [
        ("sent", end)]


def test_a_leave_ended_already_releases_at_once() -> None:
    box, state = Mailbox(Policy()), MailboxState(recipient_id="E1")
    start, now = utc("2026-03-02T00:00:00"), utc("2026-03-03T10:00:00")
    box.on_input(state, LeaveChanged("E1", start, None, "UTC", None, start), start)
    held = box.on_input(state, Dispatch("E1", message("m1", now), "UTC", None), now)
    assert [e.message.reason for e in held.effects if isinstance(e, Decide)] == ["on_leave"]
    assert not any(isinstance(e, Schedule) for e in held.effects)  # no end known: nothing to wake
    back = utc("2026-03-05T00:00:00")
    out = box.on_input(state, LeaveChanged("E1", start, utc("2026-03-04T00:00:00"), "UTC", None, back), back)
    assert [(e.message.status, e.message.scheduled_for) for e in out.effects if isinstance(e, Decide)] == [
        ("sent", back)]


def test_a_leave_replaced_by_one_that_has_not_begun_lets_what_it_held_go_and_holds_what_falls_in_the_new_one() -> None:
    """The first leave is replaced by one that starts next week: the recipient is not on leave now, so what the first
    held goes now; a message whose time falls in the new period is held to its end. The mailbox moved everything to
    the new leave's end (the digest box let it go: found by the runners' fuzz, 2026-12-05)."""
    box, state = Mailbox(Policy()), MailboxState(recipient_id="E1")
    start, now = utc("2026-03-02T00:00:00"), utc("2026-03-03T10:00:00")
    box.on_input(state, LeaveChanged("E1", start, None, "UTC", None, start), start)
    box.on_input(state, Dispatch("E1", message("m1", now), "UTC", None), now)
    later, end = utc("2026-03-10T00:00:00"), utc("2026-03-20T00:00:00")
    changed = utc("2026-03-04T09:00:00")
    out = box.on_input(state, LeaveChanged("E1", later, end, "UTC", None, changed), changed)
    assert [(e.message.status, e.message.scheduled_for) for e in out.effects if isinstance(e, Decide)] == [
        ("sent", changed)]
    due = utc("2026-03-12T10:00:00")
    held = box.on_input(state, Dispatch("E1", message("m2", due), "UTC", None), due)
    assert [(e.message.reason, e.message.scheduled_for) for e in held.effects if isinstance(e, Decide)] == [
        ("on_leave", end)]


def test_the_wire_keeps_the_leave_and_the_rule() -> None:
    at = utc("2026-03-02T00:00:00")
    for item in (LeaveChanged("E1", at, None, "Europe/Berlin", "21:00-07:00", at),
                 LeaveChanged("E1", at, utc("2026-03-09T00:00:00"), "UTC", None, at),
                 Dispatch("E1", message("m1", at), "UTC", (time(20), time(8)), "suppress")):
        assert decode_mailbox_input(json.loads(encode_mailbox_input(item, at))) == (item, at)


HEAD = """apiVersion: wayfinder/v1
kind: Journey
id: j
name: J
owner: hr@example.com
trigger: {event: hris.job.changed}
"""


def problems(write_files: WriteFiles, files: dict[str, str], policy: bool = False) -> list[str]:
    root = write_files(files)
    _, found = load(Sources(paths=[root / "journeys", WORLD / "catalog"], templates=[WORLD / "templates"],
                            policy=root / "policy.yaml" if policy else None))
    return [re.sub(r"^.*?journeys/|^.*?policy", lambda m: "journeys/" if "journeys" in m[0] else "policy", str(p))
            for p in found]


def test_an_essential_journey_cannot_be_suppressed_on_leave(write_files: WriteFiles) -> None:
    found = problems(write_files, {"journeys/j.yaml": HEAD + "essential: true\non_leave: suppress\n"
                                   "steps:\n  - {id: s, end: {}}\n"})
    assert len(found) == 1
    assert re.fullmatch(r"journeys/j\.yaml:8:11: .*an essential journey's messages go during a leave; remove "
                        r"on_leave or essential", found[0]), found


def test_yaml_fields_are_checked_with_positions(write_files: WriteFiles) -> None:
    found = problems(write_files, {"journeys/j.yaml": HEAD + "essential: maybe\non_leave: later\n"
                                   "steps:\n  - {id: s, end: {}}\n",
                                   "policy.yaml": "apiVersion: wayfinder/v1\nkind: Policy\n"
                                   "leave_pause: {leave_types: [medical, holiday]}\n"}, policy=True)
    assert any(re.match(r"journeys/j\.yaml:7:12: .*essential", p) for p in found), found
    assert any(re.match(r"journeys/j\.yaml:8:11: .*on_leave.*'defer' or 'suppress'", p) for p in found), found
    assert any(re.match(r"policy\.yaml:3:38: .*leave_types.*'bereavement'", p) for p in found), found


def test_the_bundled_policy_pauses_bereavement_and_medical_leaves() -> None:
    from wayfinder import examples_dir

    policy_file: Path = examples_dir() / "policy.yaml"
    _, found = load(Sources(paths=[examples_dir() / "catalog"], policy=policy_file))
    assert [p for p in found if p.severity == "error"] == []
    assert "leave_pause: {leave_types: [bereavement, medical]}" in policy_file.read_text()
