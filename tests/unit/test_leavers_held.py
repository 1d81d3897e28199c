"""Leavers (README "Leavers"): what already waits in a leaver's mailbox or digest box when they leave. A message about
someone else whose time comes at or after their ``left_at`` does not go (``suppressed``, ``no_recipient``, nothing of
it kept, as the core decides a message made for them then); a message about themselves still goes. The boxes learn
``left_at`` from ``Departure``, which the person's own state sends when it changes (a termination, its correction, a
rehire), and judge what they hold when it goes. 2026-03-02 is a Monday; Berlin is on CET (UTC+1) until 03-29."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from tests.support import at, world_defs
from wayfinder import examples_dir
from wayfinder.journeys import effects as fx
from wayfinder.journeys.digest import Digests, DigestState
from wayfinder.journeys.engine import Engine
from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.loader import Sources, load_or_raise
from wayfinder.journeys.mailbox import Mailbox, MailboxOutcome
from wayfinder.journeys.model import FrequencyCap, Policy, QuietHoursPolicy
from wayfinder.journeys.records import Message
from wayfinder.journeys.state import MailboxState
from wayfinder.streams.wire import decode_digest_input, decode_mailbox_input, encode_digest_input, encode_mailbox_input

BERLIN = "Europe/Berlin"
QUIET = Policy(quiet_hours=QuietHoursPolicy(start="20:00", end="08:00", weekends=False))
EVENING = at("2026-03-10T20:00")  # 21:00 in Berlin: held until 08:00 (07:00 UTC) the next day
MORNING = at("2026-03-11T07:00")


def note(mid: str, when: datetime, *, about: str = "E1", role: str = "manager") -> Message:
    """A message to M1: about a report (``manager``), or about M1 themselves (``employee``)."""
    return Message(message_id=mid, employee_id=about, recipient_id="M1", recipient_role=role,
                   journey_id="j", journey_version=1, step_id="s", channel="email", status="deferred",
                   scheduled_for=when, created_at=when, subject=f"About {about}", text="Some text",
                   html="<p>Some text</p>", recipient_email="m1@example.com", recipient_name="Mo")


def dispatch(box: Mailbox, state: MailboxState, mid: str, when: datetime, **kw: str) -> MailboxOutcome:
    return box.on_input(state, fx.Dispatch("M1", note(mid, when, **kw), BERLIN, None), when)


def decided(out: MailboxOutcome) -> dict[str, tuple[str, str | None, datetime]]:
    return {e.message.message_id: (e.message.status, e.message.reason, e.message.scheduled_for)
            for e in out.effects if isinstance(e, fx.Decide)}


def left(when: datetime | None, now: datetime) -> fx.Departure:
    return fx.Departure("M1", when, now)


# -- the mailbox ---------------------------------------------------------------------------------------------


def test_a_message_held_by_quiet_hours_for_a_manager_who_leaves_before_it_goes_is_no_recipient() -> None:
    box, state = Mailbox(QUIET), MailboxState(recipient_id="M1")
    assert decided(dispatch(box, state, "about-e1", EVENING)) == {"about-e1": ("deferred", "quiet_hours", MORNING)}
    assert decided(dispatch(box, state, "own", EVENING, about="M1", role="employee"))["own"][0] == "deferred"
    told = box.on_input(state, left(at("2026-03-10T22:00"), at("2026-03-10T22:00")), at("2026-03-10T22:00"))
    assert told.state is state and told.effects == []  # judged when it goes: a correction may come first
    assert state.left_at == at("2026-03-10T22:00")
    gone = box.on_timer(state, fx.MailboxTimer("M1", "about-e1"), MORNING)
    # their own message (about themselves) still goes, at the same time (it waited behind the other one)
    assert decided(gone) == {"about-e1": ("suppressed", "no_recipient", MORNING), "own": ("sent", None, MORNING)}
    [record] = [e.message for e in gone.effects if isinstance(e, fx.Decide) and e.message.message_id == "about-e1"]
    assert record.recipient_id == "M1"
    assert (record.subject, record.text, record.html, record.recipient_email, record.recipient_name) == (
        None, None, None, None, None)  # nothing of it kept, as for an approval after they left
    assert state.pending == {} and [s.message_id for s in state.slots] == ["own"]  # no place in the cap for it


def test_a_manager_who_leaves_after_the_message_went_got_it() -> None:
    box, state = Mailbox(QUIET), MailboxState(recipient_id="M1")
    dispatch(box, state, "about-e1", EVENING)
    box.on_input(state, left(at("2026-03-11T09:00"), at("2026-03-10T22:00")), at("2026-03-10T22:00"))
    assert decided(box.on_timer(state, fx.MailboxTimer("M1", "about-e1"), MORNING)) == {
        "about-e1": ("sent", None, MORNING)}


def test_a_termination_dated_ahead_stops_only_what_goes_at_or_after_it_takes_effect() -> None:
    """Held by the cap (one a day): the first goes before M1's last day ends, the next two would go after."""
    box = Mailbox(Policy(frequency_cap=FrequencyCap(max=1, per="1d")))
    state = MailboxState(recipient_id="M1")
    now = at("2026-03-09T10:00")
    box.on_input(state, left(at("2026-03-10T23:00"), now), now)  # their date: the 11th, midnight in Berlin
    assert [decided(dispatch(box, state, mid, now))[mid][:2] for mid in ("m1", "m2", "m3")] == [
        ("sent", None), ("deferred", "frequency_cap"), ("deferred", "frequency_cap")]
    assert decided(box.on_timer(state, fx.MailboxTimer("M1", "m2"), at("2026-03-10T10:00"))) == {
        "m2": ("sent", None, at("2026-03-10T10:00"))}
    assert decided(box.on_timer(state, fx.MailboxTimer("M1", "m3"), at("2026-03-11T10:00"))) == {
        "m3": ("suppressed", "no_recipient", at("2026-03-11T10:00"))}
    # made for them after they left (a worker whose directory had not heard yet): not held, no_recipient at once
    late = at("2026-03-12T10:00")
    assert decided(dispatch(box, state, "m4", late)) == {"m4": ("suppressed", "no_recipient", late)}


def test_what_waited_behind_a_message_that_did_not_go_moves_up() -> None:
    """The cap counts what went: M1's own message, queued behind one about a report that no longer goes, goes in
    its place."""
    box = Mailbox(Policy(frequency_cap=FrequencyCap(max=1, per="1d")))
    state = MailboxState(recipient_id="M1")
    now = at("2026-03-09T10:00")
    dispatch(box, state, "m1", now)
    dispatch(box, state, "m2", now)
    assert decided(dispatch(box, state, "own", now, about="M1", role="employee")) == {
        "own": ("deferred", "frequency_cap", at("2026-03-11T10:00"))}
    box.on_input(state, left(at("2026-03-09T22:00"), now), now)
    out = box.on_timer(state, fx.MailboxTimer("M1", "m2"), at("2026-03-10T10:00"))
    assert decided(out) == {"m2": ("suppressed", "no_recipient", at("2026-03-10T10:00")),
                            "own": ("sent", None, at("2026-03-10T10:00"))}


def test_a_rehire_or_a_rescinded_termination_lets_it_go_and_a_moved_one_moves_the_line() -> None:
    box, state = Mailbox(QUIET), MailboxState(recipient_id="M1")
    dispatch(box, state, "m1", EVENING)
    dispatch(box, state, "m2", at("2026-03-11T20:00"))
    box.on_input(state, left(at("2026-03-10T22:00"), at("2026-03-10T22:00")), at("2026-03-10T22:00"))
    # a correction: they leave from the 12th (midnight in Berlin), so m1 (the 11th) goes and m2 (the 12th) does not
    box.on_input(state, left(at("2026-03-11T23:00"), at("2026-03-11T06:00")), at("2026-03-11T06:00"))
    assert decided(box.on_timer(state, fx.MailboxTimer("M1", "m1"), MORNING))["m1"][0] == "sent"
    box.on_input(state, left(None, at("2026-03-12T06:00")), at("2026-03-12T06:00"))  # rescinded, or hired again
    assert state.left_at is None
    assert decided(box.on_timer(state, fx.MailboxTimer("M1", "m2"), at("2026-03-12T07:00")))["m2"][0] == "sent"


def test_what_a_sensitive_leave_held_for_a_manager_who_left_meanwhile_does_not_go_when_it_ends() -> None:
    box, state = Mailbox(Policy()), MailboxState(recipient_id="M1")
    start, now = at("2026-03-02T00:00"), at("2026-03-03T10:00")
    box.on_input(state, fx.LeaveChanged("M1", start, None, "UTC", None, start), start)
    assert decided(dispatch(box, state, "m1", now))["m1"][:2] == ("deferred", "on_leave")
    box.on_input(state, left(at("2026-03-05T00:00"), at("2026-03-04T00:00")), at("2026-03-04T00:00"))
    back = at("2026-03-06T00:00")
    out = box.on_input(state, fx.LeaveChanged("M1", start, at("2026-03-06T00:00"), "UTC", None, back), back)
    assert decided(out) == {"m1": ("suppressed", "no_recipient", back)}


def test_a_mailbox_is_made_for_a_termination_dated_ahead_only_and_keeps_one_field() -> None:
    box, now = Mailbox(QUIET), at("2026-03-10T10:00")
    assert box.on_input(None, left(at("2026-03-10T09:00"), now), now).state is None  # in effect: nothing waits
    assert box.on_input(None, left(None, now), now).state is None  # a hire of someone with no mailbox
    made = box.on_input(None, left(at("2026-03-11T23:00"), now), now).state
    assert made is not None
    assert json.loads(made.model_dump_json()) == {"recipient_id": "M1", "left_at": "2026-03-11T23:00:00Z"}
    assert "left_at" not in MailboxState(recipient_id="M1").model_dump_json()  # unset: not kept at rest
    # the message decided the evening before their last day ends waits past it: not sent
    dispatch(box, made, "m1", at("2026-03-11T20:00"))
    assert decided(box.on_timer(made, fx.MailboxTimer("M1", "m1"), at("2026-03-12T07:00")))["m1"][:2] == (
        "suppressed", "no_recipient")


def test_the_wire_keeps_the_departure() -> None:
    now = at("2026-03-10T22:00")
    for item in (left(at("2026-03-11T23:00"), now), left(None, now)):
        assert decode_mailbox_input(json.loads(encode_mailbox_input(item, now))) == (item, now)
        assert decode_digest_input(json.loads(encode_digest_input(item, now))) == (item, now)


# -- the digest box ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digests() -> Digests:
    ex = examples_dir()
    defs = load_or_raise(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                                 policy=ex / "policy.yaml"))
    return Digests(Policy.model_validate({"digests": {"manager": {"every": "daily", "at": "09:00"}}}),
                   defs.templates)


def gather(core: Digests, state: DigestState | None, mid: str, when: datetime, rule: fx.LeaveRule = "defer"
           ) -> DigestState:
    out = core.on_input(state, fx.Gather("M1", note(mid, when), BERLIN, None, rule), when)
    assert out.state is not None
    return out.state


def close(core: Digests, state: DigestState) -> dict[str, tuple[str, str | None]]:
    digest_id, box = next(iter(state.open.items()))
    out = core.on_timer(state, fx.DigestTimer("M1", digest_id), box.closes_at)
    return {e.message.message_id: (e.message.status, e.message.reason) for e in out.effects
            if isinstance(e, fx.Decide)}


def test_a_digest_that_closes_after_its_recipient_left_sends_nothing_about_others(digests: Digests) -> None:
    state = gather(digests, None, "m1", EVENING)
    state = gather(digests, state, "m2", EVENING)
    digests.on_input(state, left(at("2026-03-10T22:00"), at("2026-03-10T22:00")), at("2026-03-10T22:00"))
    assert close(digests, state) == {"m1": ("suppressed", "no_recipient"), "m2": ("suppressed", "no_recipient")}
    # one that closes before they leave goes, with both
    state = gather(digests, None, "m1", EVENING)
    state = gather(digests, state, "m2", EVENING)
    digests.on_input(state, left(at("2026-03-11T09:00"), at("2026-03-10T22:00")), at("2026-03-10T22:00"))
    went = close(digests, state)
    assert (went.pop("m1"), went.pop("m2"), list(went.values())) == (("sent", None), ("sent", None), [("sent", None)])


def test_a_digest_box_is_kept_for_a_termination_dated_ahead_until_it_takes_effect(digests: Digests) -> None:
    now = at("2026-03-09T10:00")
    assert digests.on_input(None, left(at("2026-03-09T09:00"), now), now).state is None
    state = digests.on_input(None, left(at("2026-03-11T23:00"), now), now).state
    assert state is not None and json.loads(state.model_dump_json()) == {
        "recipient_id": "M1", "left_at": "2026-03-11T23:00:00Z"}
    state = gather(digests, state, "m1", at("2026-03-10T10:00"))  # closes the 11th at 09:00: before
    went = close(digests, state)
    assert went["m1"] == ("sent", None)
    assert state.left_at is not None  # kept: what it gathers until the 12th must meet it
    state = gather(digests, state, "m2", at("2026-03-11T10:00"))  # closes the 12th: after
    assert close(digests, state) == {"m2": ("suppressed", "no_recipient")}


def test_an_essential_message_closing_during_a_sensitive_leave_does_not_go_to_a_leaver(digests: Digests) -> None:
    now = at("2026-03-03T07:00")
    state = digests.on_input(None, fx.LeaveChanged("M1", at("2026-03-02T23:00"), None, BERLIN, None, now), now).state
    state = gather(digests, state, "m1", at("2026-03-03T07:30"), "send")
    digests.on_input(state, left(at("2026-03-03T07:45"), now), now)
    assert close(digests, state) == {"m1": ("suppressed", "no_recipient")}


# -- the core tells the person's own boxes -------------------------------------------------------------------

HEAD = "apiVersion: wayfinder/v1\nkind: Journey\nowner: hr@example.com\n"


def ev(eid: str, etype: str, time: str, **data: object) -> CloudEvent:
    return CloudEvent(specversion="1.0", id=eid, source="test", type=etype, time=at(time), subject="M1",
                      data=dict(data))


def departures(effects: list[fx.Effect]) -> list[fx.Departure]:
    return [e for e in effects if isinstance(e, fx.Departure)]


def test_the_core_sends_departure_when_left_at_changes(tmp_path: Path) -> None:
    engine = Engine(world_defs(tmp_path))
    out = engine.on_event(None, ev("u1", "hris.employee.upserted", "2026-03-01T09:00Z", timezone=BERLIN), at(
        "2026-03-01T09:00Z"))
    assert departures(out.effects) == []
    state = out.state
    steps = [(ev("x1", "hris.employee.terminated", "2026-03-02T09:00Z", date="2026-03-31"), at("2026-03-30T22:00")),
             (ev("c1", "hris.correction", "2026-03-03T09:00Z", original={"source": "test", "id": "x1"},
                 original_type="hris.employee.terminated", action="amend",
                 changes={"date": {"old": "2026-03-31", "new": "2026-04-30"}}), at("2026-04-29T22:00")),
             (ev("c2", "hris.correction", "2026-03-04T09:00Z", original={"source": "test", "id": "x1"},
                 original_type="hris.employee.terminated", action="rescind"), None),
             (ev("x2", "hris.employee.terminated", "2026-03-05T09:00Z", date="2026-03-05"), at("2026-03-05T09:00")),
             (ev("h1", "hris.employee.hired", "2026-03-06T09:00Z", start_date="2026-03-09"), None)]
    for event, left_at in steps:
        out = engine.on_event(state, event, event.time)
        assert departures(out.effects) == [fx.Departure("M1", left_at, event.time)], event.id
        state = out.state
    again = engine.on_event(state, ev("u2", "hris.employee.upserted", "2026-03-07T09:00Z", role="Lead"),
                            at("2026-03-07T09:00Z"))
    assert departures(again.effects) == []  # nothing about leaving changed


def test_a_mailbox_input_of_a_kind_the_release_does_not_know_is_refused_not_read_as_an_erasure() -> None:
    """Every unknown kind was read as ``forget`` (the recipient's erasure): a worker of an earlier release that read
    a ``departure`` dropped the leaver's mailbox and what it held. Now it is a processing error (a dead letter, the
    stream goes on) that names the kind; ``forget`` is read only as itself."""
    now = at("2026-03-10T22:00")
    forget = fx.ForgetMailbox("M1")
    assert decode_mailbox_input(json.loads(encode_mailbox_input(forget, now))) == (forget, now)
    for kind in ("goodbye", "Departure"):
        with pytest.raises(ValueError, match=f"unknown kind '{kind}'"):
            decode_mailbox_input({"kind": kind, "mailbox": "M1", "at": "2026-03-10T22:00:00Z"})
        with pytest.raises(ValueError, match=f"unknown kind '{kind}'"):
            decode_digest_input({"box": "digest", "kind": kind, "mailbox": "M1", "at": "2026-03-10T22:00:00Z"})
