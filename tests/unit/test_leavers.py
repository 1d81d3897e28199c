"""Leavers (README "Leavers"): a manager or HR partner whose termination has taken effect is no recipient for a
message about someone else (``no_recipient``, as a person nobody has a profile for), and a task for them goes to
someone who is still here, saying so. The core on a fake clock, with a directory made from the people's own states
as ``simulate`` makes it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tests.support import at, world_defs
from wayfinder.journeys import effects as fx
from wayfinder.journeys.engine import Engine
from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.profile import LEFT_AT, Profile, as_recipient, left
from wayfinder.journeys.records import Message, Task
from wayfinder.journeys.state import EmployeeState

HEAD = "apiVersion: wayfinder/v1\nkind: Journey\nowner: hr@example.com\nreentry: always\n"

HEADS_UP = HEAD + """id: heads-up
name: Heads-up
trigger: {event: hris.leave.started}
steps:
  - id: tell-manager
    send: {channel: intranet, to: manager, subject: "A leave", body: "Someone in your team is on leave."}
  - id: tell-partner
    send: {channel: intranet, to: hr_partner, subject: "A leave", body: "Someone you support is on leave."}
  - id: cover
    task: {assignee: manager, title: "Arrange cover", note: "Arrange cover for their work."}
  - id: reach-out
    task: {assignee: hr_partner, title: "Reach out", note: "Call them."}
"""

REVIEWED = HEAD + """id: reviewed
name: Reviewed
sensitivity: sensitive
trigger: {event: wellbeing.signal}
steps:
  - id: tell-manager
    send: {channel: intranet, to: manager, subject: "Check in", body: "Please check in."}
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    root: Path = tmp_path_factory.mktemp("journeys")
    (root / "heads-up.yaml").write_text(HEADS_UP, encoding="utf-8")
    (root / "reviewed.yaml").write_text(REVIEWED, encoding="utf-8")
    return Engine(world_defs(root))


def ev(subject: str, eid: str, etype: str, time: str, **data: object) -> CloudEvent:
    return CloudEvent(specversion="1.0", id=eid, source="test", type=etype, time=at(time), subject=subject,
                      data=dict(data))


class People:
    """States by id, fed through the core; the directory is each person as ``simulate`` shows them to others."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.states: dict[str, EmployeeState] = {}

    def directory(self, person_id: str) -> Profile | None:
        state = self.states.get(person_id)
        return as_recipient(state.profile) if state is not None else None

    def feed(self, event: CloudEvent, now: datetime | None = None) -> list[fx.Effect]:
        out = self.engine.on_event(self.states.get(event.subject), event, now or event.time, self.directory)
        assert out.state is not None
        self.states[event.subject] = out.state
        return out.effects


def upsert(subject: str, time: str = "2026-03-01T09:00:00Z", **fields: object) -> CloudEvent:
    return ev(subject, f"u-{subject}-{time}", "hris.employee.upserted", time, given_name=subject,
              timezone="Europe/Berlin", **fields)


def terminated(subject: str, time: str, day: str) -> CloudEvent:
    return ev(subject, f"x-{subject}-{time}", "hris.employee.terminated", time, date=day, reason="resignation")


def leave(time: str, eid: str = "l1") -> CloudEvent:
    return ev("E1", eid, "hris.leave.started", time, leave_type="other", start_date=time[:10])


def people(engine: Engine, *, partner_lead: str | None = None) -> People:
    p = People(engine)
    p.feed(upsert("E1", manager_id="M1", hr_partner_id="H1"))
    p.feed(upsert("M1", email="m1@example.com"))
    p.feed(upsert("H1", **({"manager_id": partner_lead} if partner_lead else {})))
    if partner_lead:
        p.feed(upsert(partner_lead))
    return p


def messages(effects: list[fx.Effect]) -> dict[str, Message]:
    out: dict[str, Message] = {}
    for e in effects:
        if isinstance(e, fx.Decide | fx.Dispatch):
            out[e.message.step_id] = e.message
    return out


def tasks(effects: list[fx.Effect]) -> dict[str, Task]:
    return {e.task.step_id: e.task for e in effects if isinstance(e, fx.OpenTask)}


# -- when a termination takes effect ------------------------------------------------------------------------


def test_a_termination_takes_effect_at_the_later_of_its_time_and_the_start_of_its_date_where_the_person_is(
        engine: Engine) -> None:
    p = people(engine)
    p.feed(terminated("M1", "2026-03-10T15:00:00Z", "2026-03-31"))  # announced ahead: from local midnight
    profile = p.states["M1"].profile
    assert profile.get(LEFT_AT) == "2026-03-30T22:00:00Z"  # 00:00 in Berlin (summer time)
    assert not left(profile, at("2026-03-30T21:59:59Z")) and left(profile, at("2026-03-30T22:00:00Z"))
    p.feed(terminated("H1", "2026-03-10T15:00:00Z", "2026-03-02"))  # recorded late: from when it is recorded
    assert p.states["H1"].profile.get(LEFT_AT) == "2026-03-10T15:00:00Z"


def test_a_hire_after_the_termination_makes_them_here_again_and_an_older_termination_does_not_undo_it(
        engine: Engine) -> None:
    p = people(engine)
    p.feed(terminated("M1", "2026-03-10T15:00:00Z", "2026-03-10"))
    assert left(p.directory("M1"), at("2026-03-11T00:00:00Z"))
    p.feed(ev("M1", "rehire", "hris.employee.hired", "2026-04-01T09:00:00Z", start_date="2026-04-06"))
    assert LEFT_AT not in p.states["M1"].profile.fields
    # the same termination again, from a backfill long after (its key forgotten): the rehire is newer
    p.feed(ev("M1", "x-again", "hris.employee.terminated", "2026-03-10T15:00:00Z", date="2026-03-10"),
           now=at("2026-06-01T00:00:00Z"))
    assert LEFT_AT not in p.states["M1"].profile.fields


def correction(subject: str, eid: str, time: str, action: str, **data: object) -> CloudEvent:
    return ev(subject, eid, "hris.correction", time, original={"source": "test", "id": f"x-{subject}"},
              original_type="hris.employee.terminated", action=action, **data)


def test_a_termination_rescinded_or_its_date_corrected_moves_when_they_leave(engine: Engine) -> None:
    """The import's ``termination_rescinded`` and ``termination_date_corrected`` (README "hris.correction")."""
    p = people(engine)
    p.feed(terminated("M1", "2026-03-10T15:00:00Z", "2026-03-31"))
    effects = p.feed(correction("M1", "c1", "2026-03-12T09:00:00Z", "amend",
                                changes={"date": {"old": "2026-03-31", "new": "2026-04-30"}}))
    assert p.states["M1"].profile.get(LEFT_AT) == "2026-04-29T22:00:00Z"
    assert not [e for e in effects if isinstance(e, fx.Diagnostic)]  # not "correction_unmatched": it moved this
    p.feed(correction("M1", "c2", "2026-03-13T09:00:00Z", "rescind"))
    assert LEFT_AT not in p.states["M1"].profile.fields
    # a correction of another kind of event, or of a person who has not left, leaves them as they are
    p.feed(terminated("H1", "2026-03-10T15:00:00Z", "2026-03-10"))
    p.feed(ev("H1", "c3", "hris.correction", "2026-03-14T09:00:00Z", original={"source": "test", "id": "h"},
              original_type="hris.employee.hired", action="rescind"))
    assert p.states["H1"].profile.get(LEFT_AT) == "2026-03-10T15:00:00Z"


# -- messages -----------------------------------------------------------------------------------------------


def test_a_message_to_a_manager_or_hr_partner_who_has_left_is_no_recipient(engine: Engine) -> None:
    p = people(engine)
    p.feed(terminated("M1", "2026-03-10T15:00:00Z", "2026-03-31"))
    p.feed(terminated("H1", "2026-03-10T15:00:00Z", "2026-03-31"))
    before = messages(p.feed(leave("2026-03-20T09:00:00Z")))  # announced, not yet gone: still here
    assert {s: (m.status, m.recipient_id) for s, m in before.items()} == {
        "tell-manager": ("deferred", "M1"), "tell-partner": ("deferred", "H1")}
    after = messages(p.feed(leave("2026-04-20T09:00:00Z", "l2")))
    assert {s: (m.status, m.reason, m.recipient_id) for s, m in after.items()} == {
        "tell-manager": ("suppressed", "no_recipient", "M1"), "tell-partner": ("suppressed", "no_recipient", "H1")}


def test_a_rehired_manager_is_a_recipient_again(engine: Engine) -> None:
    p = people(engine)
    p.feed(terminated("M1", "2026-03-10T15:00:00Z", "2026-03-10"))
    p.feed(ev("M1", "rehire", "hris.employee.hired", "2026-04-01T09:00:00Z", start_date="2026-04-06"))
    sent = messages(p.feed(leave("2026-04-20T09:00:00Z")))
    assert (sent["tell-manager"].status, sent["tell-manager"].recipient_id) == ("deferred", "M1")


def test_an_approval_after_the_recipient_left_sends_nothing_and_a_window_ending_then_opens_no_task(
        engine: Engine) -> None:
    p = people(engine)
    held = messages(p.feed(ev("E1", "w1", "wellbeing.signal", "2026-03-20T09:00:00Z", signal="workload_spike",
                              score=0.9)))["tell-manager"]
    assert held.status == "pending_approval"
    p.feed(terminated("M1", "2026-03-21T09:00:00Z", "2026-03-21"))
    decided = messages(p.feed(ev("E1", "d1", "wayfinder.review.decided", "2026-03-22T09:00:00Z",
                                 message_id=held.message_id, decision="approve", reviewer_id="R1")))
    assert (decided["tell-manager"].status, decided["tell-manager"].reason) == ("suppressed", "no_recipient")
    # the same message with nobody deciding: the review window's end withdraws it instead of escalating it
    q = people(engine)
    held = messages(q.feed(ev("E1", "w1", "wellbeing.signal", "2026-03-20T09:00:00Z", signal="workload_spike",
                              score=0.9)))["tell-manager"]
    q.feed(terminated("M1", "2026-03-21T09:00:00Z", "2026-03-21"))
    out = engine.on_timer(q.states["E1"], fx.ReviewTimer("E1", held.message_id), at("2026-03-25T09:00:00Z"),
                          q.directory)
    assert [(m.status, m.reason) for m in messages(out.effects).values()] == [("suppressed", "no_recipient")]
    assert tasks(out.effects) == {}


# -- tasks --------------------------------------------------------------------------------------------------


def test_a_task_for_a_manager_who_has_left_goes_to_the_hr_partner_and_says_so(engine: Engine) -> None:
    p = people(engine)
    p.feed(terminated("M1", "2026-03-10T15:00:00Z", "2026-03-10"))
    opened = tasks(p.feed(leave("2026-03-20T09:00:00Z")))
    cover = opened["cover"]
    assert (cover.assignee, cover.assignee_id, cover.status, cover.reason) == (
        "hr_partner", "H1", "open", "assignee_left")
    assert cover.note == ("Arrange cover for their work.\n\n(This task was for the employee's manager, who has "
                          "left; it came to you instead.)")
    assert (opened["reach-out"].assignee_id, opened["reach-out"].reason) == ("H1", None)  # H1 is still here


def test_a_task_whose_assignee_left_goes_to_the_escalation_contact_else_to_nobody_by_name(engine: Engine) -> None:
    # the HR partner has left too: a manager's task and the HR partner's go to the HR partner's lead (as a review
    # nobody made in time is escalated, without Policy.review_escalation)
    p = people(engine, partner_lead="L1")
    for who in ("M1", "H1"):
        p.feed(terminated(who, "2026-03-10T15:00:00Z", "2026-03-10"))
    opened = tasks(p.feed(leave("2026-03-20T09:00:00Z")))
    assert {s: (t.assignee, t.assignee_id, t.reason) for s, t in opened.items()} == {
        "cover": ("review_escalation", "L1", "assignee_left"),
        "reach-out": ("review_escalation", "L1", "assignee_left")}
    assert opened["reach-out"].note.endswith("(This task was for the employee's HR partner, who has left; it came "
                                             "to you instead.)")
    # with no lead on file, nobody by name: never the person who left
    q = people(engine)
    for who in ("M1", "H1"):
        q.feed(terminated(who, "2026-03-10T15:00:00Z", "2026-03-10"))
    opened = tasks(q.feed(leave("2026-03-20T09:00:00Z")))
    assert {s: (t.assignee, t.assignee_id, t.reason) for s, t in opened.items()} == {
        "cover": ("manager", None, "assignee_left"), "reach-out": ("hr_partner", None, "assignee_left")}


def test_a_task_goes_to_the_policys_escalation_contact_when_it_names_one(tmp_path: Path) -> None:
    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "heads-up.yaml").write_text(HEADS_UP, encoding="utf-8")
    (tmp_path / "policy.yaml").write_text("apiVersion: wayfinder/v1\nkind: Policy\nreview_escalation: hr-leads\n",
                                          encoding="utf-8")
    p = people(Engine(world_defs(tmp_path / "j", tmp_path / "policy.yaml")), partner_lead="L1")
    p.feed(terminated("H1", "2026-03-10T15:00:00Z", "2026-03-10"))
    opened = tasks(p.feed(leave("2026-03-20T09:00:00Z")))
    assert {s: (t.assignee, t.assignee_id) for s, t in opened.items()} == {
        "cover": ("manager", "M1"), "reach-out": ("review_escalation", "hr-leads")}


def test_a_person_named_as_their_own_manager_or_hr_partner_holds_neither_role_for_themselves(engine: Engine) -> None:
    """An HR system may make the head of a tree their own manager. A note to "the manager" that someone in their team
    is on leave, and the task to arrange that person's cover, went to the person on leave themselves (found by the
    digest audit, 2026-12-05): now as for someone with no manager, the note goes to nobody (``no_recipient``) and
    the task to nobody by name; their HR partner is still told."""
    p = People(engine)
    p.feed(upsert("E1", manager_id="E1", hr_partner_id="H1"))
    p.feed(upsert("H1"))
    effects = p.feed(leave("2026-03-02T09:00:00Z"))
    sent = messages(effects)
    assert (sent["tell-manager"].status, sent["tell-manager"].reason) == ("suppressed", "no_recipient")
    assert sent["tell-partner"].recipient_id == "H1"
    opened = tasks(effects)
    assert (opened["cover"].assignee, opened["cover"].assignee_id) == ("manager", None)
    assert opened["reach-out"].assignee_id == "H1"
    q = People(engine)
    q.feed(upsert("E1", manager_id="M1", hr_partner_id="E1"))
    q.feed(upsert("M1", email="m1@example.com"))
    sent = messages(q.feed(leave("2026-03-02T09:00:00Z")))
    assert sent["tell-manager"].recipient_id == "M1"
    assert sent["tell-partner"].reason == "no_recipient"
