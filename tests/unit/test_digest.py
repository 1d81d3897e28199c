"""Digests for role recipients (README "Digests"): when a digest closes, its id, rendering, cancels, pauses,
opt-outs, and the policy's validation."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import pytest

from tests.support import WriteFiles, at
from wayfinder import examples_dir
from wayfinder.journeys.digest import Digests, DigestState, digest_rule
from wayfinder.journeys.effects import (
    CancelPending,
    Decide,
    Diagnostic,
    DigestTimer,
    ForgetMailbox,
    Gather,
    LeaveChanged,
    Preferences,
    Schedule,
)
from wayfinder.journeys.loader import Definitions, Sources, load, load_or_raise
from wayfinder.journeys.model import DigestRule, Policy
from wayfinder.journeys.records import Message
from wayfinder.journeys.state import Placing
from wayfinder.journeys.templates import footer_explanation

BERLIN = "Europe/Berlin"


def _defs(policy: Policy) -> Definitions:
    ex = examples_dir()
    defs = load_or_raise(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                                 policy=ex / "policy.yaml"))
    defs.policy = policy
    return defs


POLICY = Policy.model_validate({
    "quiet_hours": {"start": "20:00", "end": "08:00", "weekends": True},
    "digests": {"manager": {"every": "daily", "at": "09:00"},
                "hr_partner": {"every": "weekly", "day": "wednesday", "journeys": ["onboarding"]}},
})


@pytest.fixture(scope="module")
def core() -> Digests:
    defs = _defs(POLICY)
    return Digests(defs.policy, defs.templates)


def _msg(n: int, when: datetime, *, employee: str = "E1", journey: str = "onboarding", role: str = "manager",
         locale: str | None = "en-GB", topics: list[str] | None = None) -> Message:
    return Message(message_id=f"m-{n}", employee_id=employee, recipient_id="M1", recipient_role=role,
                   journey_id=journey, journey_version=1, step_id="s", channel="email", status="deferred",
                   scheduled_for=when, created_at=when, subject=f"About {employee} ({n})", text=f"Body {n}",
                   locale=locale, recipient_name="Mo", topics=topics or [])


def _gather(core: Digests, state: DigestState | None, n: int, when: datetime, **kw: Any) -> DigestState:
    out = core.on_input(state, Gather("M1", _msg(n, when, **kw), BERLIN, None), when)
    assert out.state is not None
    return out.state


def test_which_messages_are_gathered_by_role_journey_and_channel() -> None:
    assert digest_rule(POLICY, "manager", "new-parent", "email") is not None
    assert digest_rule(POLICY, "manager", "new-parent", "intranet") is None  # the rule's channel only
    assert digest_rule(POLICY, "employee", "new-parent", "email") is None  # never an employee's own messages
    assert digest_rule(POLICY, "hr_partner", "onboarding", "email") is not None
    assert digest_rule(POLICY, "hr_partner", "new-parent", "email") is None  # not among its journeys
    assert digest_rule(Policy(), "manager", "onboarding", "email") is None


def test_a_daily_digest_closes_at_the_next_local_time_outside_quiet_hours(core: Digests) -> None:
    rule = POLICY.digests["manager"]
    # Tuesday 10:00 in Berlin (09:00 UTC): the next 09:00 Berlin is Wednesday.
    assert core.closes_at(rule, at("2026-03-03T09:00"), BERLIN, None) == at("2026-03-04T08:00")
    # Tuesday 07:30 Berlin: 09:00 the same day.
    assert core.closes_at(rule, at("2026-03-03T06:30"), BERLIN, None) == at("2026-03-03T08:00")
    # Friday afternoon: weekends are quiet, so Monday.
    assert core.closes_at(rule, at("2026-03-06T14:00"), BERLIN, None) == at("2026-03-09T08:00")
    weekly = POLICY.digests["hr_partner"]
    assert core.closes_at(weekly, at("2026-03-04T09:00"), BERLIN, None) == at("2026-03-11T08:00")


def test_messages_of_one_day_share_one_digest_whose_id_is_deterministic(core: Digests) -> None:
    state = _gather(core, None, 1, at("2026-03-03T09:00"))
    state = _gather(core, state, 2, at("2026-03-03T15:00"), employee="E2")
    state = _gather(core, state, 3, at("2026-03-04T09:00"))  # after Wednesday's close: Thursday's digest
    assert [len(d.items) for d in state.open.values()] == [2, 1]
    again = _gather(core, None, 1, at("2026-03-03T10:00"))
    assert list(again.open) == list(state.open)[:1]  # same recipient, role and closing time: same id
    assert all(i.digest_id == d and i.reason == "digest" and i.status == "deferred"
               for d, box in state.open.items() for i in box.items)


def test_the_digest_id_is_the_readmes_formula() -> None:
    """README "Its id": SHA-256 over recipient, role and closing time joined by U+001F, the time as +00:00; the
    README's example is this one (Tuesday 09:00 in Berlin)."""
    core = Digests(POLICY, {})
    state = _gather(core, None, 1, at("2026-03-02T10:00"))
    (digest_id,) = state.open
    assert state.open[digest_id].closes_at == at("2026-03-03T08:00")
    said = "\x1f".join(("M1", "manager", "2026-03-03T08:00:00+00:00")).encode("utf-8")
    assert digest_id == "d-" + hashlib.sha256(said).hexdigest()[:24] == "d-3b14fdfb7e88896c0045f0bc"


def test_a_replayed_gather_is_not_gathered_twice(core: Digests) -> None:
    state = _gather(core, None, 1, at("2026-03-03T09:00"))
    out = core.on_input(state, Gather("M1", _msg(1, at("2026-03-03T09:00")), BERLIN, None), at("2026-03-03T09:05"))
    assert out.effects == [] and len(next(iter(state.open.values())).items) == 1


def test_the_digest_closes_as_one_rendered_message_and_its_items_go_in_it(core: Digests) -> None:
    state = _gather(core, None, 1, at("2026-03-03T09:00"))
    state = _gather(core, state, 2, at("2026-03-03T11:00"), employee="E2")
    digest_id, box = next(iter(state.open.items()))
    out = core.on_timer(state, DigestTimer("M1", digest_id), box.closes_at)
    decided = [e.message for e in out.effects if isinstance(e, Decide)]
    digest, *items = decided
    assert digest.message_id == digest_id and digest.status == "sent" and digest.journey_id == "digest"
    assert digest.subject == "2 updates about your people"
    assert digest.text is not None and "About E1 (1)" in digest.text and "Body 2" in digest.text
    assert "gathered into one message a day" in digest.text  # the explanation, as on every message
    assert [(m.status, m.digest_id, m.scheduled_for) for m in items] == [("sent", digest_id, box.closes_at)] * 2
    assert out.state is not None and out.state.open == {}  # nothing left open
    assert set(out.state.gone) == {"m-1", "m-2"}  # what went, remembered against a replay (REPLAY_WINDOW)
    again = core.on_input(out.state, Gather("M1", _msg(1, at("2026-03-03T09:00")), BERLIN, None), box.closes_at)
    assert again.effects == [] and again.state is not None and again.state.open == {}  # not in a second digest


def test_the_digest_is_in_the_recipients_language(core: Digests) -> None:
    state = _gather(core, None, 1, at("2026-03-03T09:00"), locale="de-DE")
    digest_id, box = next(iter(state.open.items()))
    digest = core.on_timer(state, DigestTimer("M1", digest_id), box.closes_at).effects[0]
    assert isinstance(digest, Decide) and digest.message.subject == "1 Neuigkeit zu deinen Leuten"
    assert digest.message.text is not None and "Zusammenfassung" in digest.message.text


@pytest.mark.parametrize(("locale", "footer"), [
    ("de-DE", "Du erhältst diese Zusammenfassung, weil Nachrichten an dich als Führungskraft zu einer Nachricht am "
              "Tag gesammelt werden."),
    ("fr-FR", "Vous recevez ce récapitulatif car les messages qui vous sont adressés en tant que manager sont "
              "regroupés en un message par jour.")])
def test_the_digests_recorded_explanation_is_english_and_its_footer_in_the_readers_language(
        core: Digests, locale: str, footer: str) -> None:
    """README "Language": the explanation recorded in messages.jsonl is English, the footer in the message's
    language. A German or French digest's record had the footer's sentence (found by a digest audit on
    2026-12-05)."""
    state = _gather(core, None, 1, at("2026-03-03T09:00"), locale=locale)
    digest_id, box = next(iter(state.open.items()))
    digest = core.on_timer(state, DigestTimer("M1", digest_id), box.closes_at).effects[0]
    assert isinstance(digest, Decide) and digest.message.text is not None
    assert digest.message.explanation == ("You received this digest because messages to you as a manager are "
                                          "gathered into one message a day.")
    assert type(digest.message.explanation) is str  # the record's own, not a sentence that says itself again
    assert footer_explanation(digest.message.text) == footer


@pytest.mark.parametrize(("locale", "greeting"), [("en-GB", "Hi there,"), ("de-DE", "Hallo,"), ("fr-FR", "Bonjour,")])
def test_a_digest_to_a_recipient_with_no_name_on_file_greets_without_a_dangling_comma(
        core: Digests, locale: str, greeting: str) -> None:
    """The bundled digest printed "Hallo ," and "Bonjour ," for a manager the directory had no name for yet."""
    message = _msg(1, at("2026-03-03T09:00"), locale=locale).model_copy(update={"recipient_name": None})
    out = core.on_input(None, Gather("M1", message, BERLIN, None), at("2026-03-03T09:00"))
    assert out.state is not None
    digest_id, box = next(iter(out.state.open.items()))
    digest = core.on_timer(out.state, DigestTimer("M1", digest_id), box.closes_at).effects[0]
    assert isinstance(digest, Decide) and digest.message.text is not None
    assert digest.message.text.splitlines()[0] == greeting


def test_an_erasure_takes_the_person_out_of_an_open_digest_and_an_empty_digest_goes_nowhere(core: Digests) -> None:
    state = _gather(core, None, 1, at("2026-03-03T09:00"), employee="E1")
    state = _gather(core, state, 2, at("2026-03-03T10:00"), employee="E2")
    out = core.on_input(state, CancelPending("E1", None, "erased", ("M1",), at("2026-03-03T12:00")),
                        at("2026-03-03T12:00"))
    (gone,) = [e.message for e in out.effects if isinstance(e, Decide)]
    assert (gone.message_id, gone.status, gone.reason, gone.subject, gone.text) == (
        "m-1", "suppressed", "erased", None, None)
    assert out.state is not None
    digest_id, box = next(iter(out.state.open.items()))
    assert [m.employee_id for m in box.items] == ["E2"]
    out = core.on_input(out.state, CancelPending("E2", "onboarding", "exited", ("M1",), at("2026-03-03T13:00")),
                        at("2026-03-03T13:00"))
    assert out.state is not None and out.state.open == {}
    closed = core.on_timer(out.state, DigestTimer("M1", digest_id), box.closes_at)
    assert closed.effects == []  # its timer finds nothing: no empty digest


def test_an_erased_recipient_forgets_the_box(core: Digests) -> None:
    state = _gather(core, None, 1, at("2026-03-03T09:00"))
    assert core.on_input(state, ForgetMailbox("M1"), at("2026-03-03T10:00")).state is None


def test_a_pause_holds_the_digest_to_its_end_and_opt_outs_are_checked_when_it_goes(core: Digests) -> None:
    state = _gather(core, None, 1, at("2026-03-03T09:00"), topics=["buddy"])
    state = _gather(core, state, 2, at("2026-03-03T10:00"))
    until = at("2026-03-10T08:00")
    state = core.on_input(state, Preferences("M1", (), ("buddy",), until, at("2026-03-03T11:00")),
                          at("2026-03-03T11:00")).state or state
    digest_id, box = next(iter(state.open.items()))
    held = core.on_timer(state, DigestTimer("M1", digest_id), box.closes_at)
    assert held.effects[-1] == Schedule(until, DigestTimer("M1", digest_id))
    assert {(e.message.status, e.message.reason, e.message.scheduled_for) for e in held.effects
            if isinstance(e, Decide)} == {("deferred", "paused", until)}  # each says when it goes, and why
    out = core.on_timer(held.state, DigestTimer("M1", digest_id), until)
    decided = {e.message.message_id: e.message for e in out.effects if isinstance(e, Decide)}
    assert decided["m-1"].reason == "opted_out_topic"
    assert decided[digest_id].scheduled_for == until and decided["m-2"].status == "sent"
    # the digest's record names what went in it (deliver --kafka reads it alone: README "Erasure"), not m-1
    assert [g.model_dump() for g in decided[digest_id].gathered] == [
        {"message_id": "m-2", "employee_id": "E1", "created_at": at("2026-03-03T10:00")}]


def test_a_pause_lifted_or_shortened_lets_the_digest_it_held_go_sooner_outside_quiet_hours(core: Digests) -> None:
    """The digest stayed held to the old end (16 days after a lift), and went at the pause's exact end even at
    night (found by an audit of issue 10)."""
    state = _gather(core, None, 1, at("2026-03-03T07:00"))
    state = core.on_input(state, Preferences("M1", (), (), at("2026-03-20T23:17"), at("2026-03-03T07:30"),
                                             BERLIN, None), at("2026-03-03T07:30")).state or state
    digest_id, box = next(iter(state.open.items()))
    held = core.on_timer(state, DigestTimer("M1", digest_id), box.closes_at)
    assert held.state is not None
    assert held.effects[-1] == Schedule(at("2026-03-23T07:00"), DigestTimer("M1", digest_id))  # Monday 08:00 Berlin
    lifted = core.on_input(held.state, Preferences("M1", (), (), None, at("2026-03-04T12:00"), BERLIN, None),
                           at("2026-03-04T12:00"))
    assert lifted.effects[-1] == Schedule(at("2026-03-04T12:00"), DigestTimer("M1", digest_id))
    assert {(e.message.reason, e.message.scheduled_for) for e in lifted.effects if isinstance(e, Decide)} == {
        ("digest", at("2026-03-04T12:00"))}
    assert lifted.state is not None
    out = core.on_timer(lifted.state, DigestTimer("M1", digest_id), at("2026-03-04T12:00"))
    assert [e.message.status for e in out.effects if isinstance(e, Decide)] == ["sent", "sent"]
    late = core.on_timer(out.state, DigestTimer("M1", digest_id), at("2026-03-23T07:00"))  # the old timer
    assert late.effects == []


def test_a_recipient_who_moves_gets_the_open_digest_at_the_rules_time_where_they_are_now(core: Digests) -> None:
    """An open digest kept its Berlin closing time after a move to New York (03:00 there), and a second digest went
    the same day (found by an audit of issue 10)."""
    state = _gather(core, None, 1, at("2026-03-02T13:00"))  # closes Tuesday 09:00 Berlin (08:00Z)
    old_id, _ = next(iter(state.open.items()))
    moved = core.on_input(state, Preferences("M1", (), (), None, at("2026-03-02T14:00"), "America/New_York", None),
                          at("2026-03-02T14:00"))
    assert moved.state is not None
    (new_id,) = moved.state.open
    assert new_id != old_id and moved.state.open[new_id].closes_at == at("2026-03-03T14:00")  # 09:00 New York
    assert Schedule(at("2026-03-03T14:00"), DigestTimer("M1", new_id)) in moved.effects
    assert {(e.message.digest_id, e.message.scheduled_for) for e in moved.effects if isinstance(e, Decide)} == {
        (new_id, at("2026-03-03T14:00"))}
    assert core.on_timer(moved.state, DigestTimer("M1", old_id), at("2026-03-03T08:00")).effects == []
    later = core.on_input(moved.state, Gather("M1", _msg(2, at("2026-03-02T15:00")), "America/New_York", None),
                          at("2026-03-02T15:00")).state  # comes after the move: in the same digest
    assert later is not None and len(later.open[new_id].items) == 2
    same = core.on_input(later, Preferences("M1", (), (), None, at("2026-03-02T16:00"), "America/New_York", None),
                         at("2026-03-02T16:00"))
    assert same.effects == []  # nothing moved: nothing said


def test_a_digest_closes_by_the_recipients_choices_as_their_mailbox_heard_them_not_by_the_messages_copy(
        core: Digests) -> None:
    """The copy of the recipient's zone and quiet hours a gathered message carries comes from where it was decided
    (on Kafka another partition's directory, days behind or ahead); the mailbox's ``placing`` is what the recipient
    had chosen when it was decided, and the digest closes by it, as the mailbox places by it (issue 12)."""
    when = at("2026-03-02T13:00")  # Monday 14:00 Berlin, 08:00 New York
    own = Placing(timezone="America/New_York", quiet_hours="08:30:00-10:00:00")
    out = core.on_input(None, Gather("M1", _msg(1, when), BERLIN, None), when, own=own)
    assert out.state is not None
    (box,) = out.state.open.values()
    # that day's 09:00 in New York is quiet: 10:00 there, not Tuesday 09:00 Berlin by the copy
    assert box.closes_at == at("2026-03-02T15:00")
    assert (out.state.timezone, out.state.quiet_hours) == ("America/New_York", "08:30:00-10:00:00")
    unheard = core.on_input(None, Gather("M1", _msg(1, when), BERLIN, None), when, own=None).state
    assert unheard is not None and [b.closes_at for b in unheard.open.values()] == [at("2026-03-03T08:00")]


def test_a_digest_a_pause_or_a_leave_holds_goes_at_the_first_allowed_time_where_the_recipient_is_now(
        core: Digests) -> None:
    """A held digest kept the time worked out before a move: a pause ending at 13:00 in Berlin let it go at 07:00
    in New York, inside the quiet hours there, after the mailbox's messages of that pause (08:00); a leave's, at
    03:00 there (found by a digest audit on 2026-12-05)."""
    new_york = "America/New_York"
    until = at("2026-03-04T12:00")
    state = _gather(core, None, 1, at("2026-03-02T10:00"))
    state = core.on_input(state, Preferences("M1", (), (), until, at("2026-03-02T12:00"), BERLIN, None),
                          at("2026-03-02T12:00")).state or state
    digest_id, box = next(iter(state.open.items()))
    held = core.on_timer(state, DigestTimer("M1", digest_id), box.closes_at)  # Tuesday: held to the pause's end
    assert held.state is not None and held.state.open[digest_id].closes_at == until  # 13:00 Berlin
    moved = core.on_input(held.state, Preferences("M1", (), (), until, at("2026-03-03T12:00"), new_york, None),
                          at("2026-03-03T12:00"))
    assert moved.effects[-1] == Schedule(at("2026-03-04T13:00"), DigestTimer("M1", digest_id))  # 08:00 New York
    assert {(e.message.reason, e.message.scheduled_for) for e in moved.effects if isinstance(e, Decide)} == {
        ("paused", at("2026-03-04T13:00"))}

    leave = LeaveChanged("M1", at("2026-03-01T23:00"), at("2026-03-09T23:00"), BERLIN, None, at("2026-03-02T09:00"))
    on_leave = _gather(core, core.on_input(None, leave, at("2026-03-02T09:00")).state, 2, at("2026-03-02T10:00"))
    digest_id, box = next(iter(on_leave.open.items()))
    held = core.on_timer(on_leave, DigestTimer("M1", digest_id), box.closes_at)
    assert held.state is not None
    (later,) = held.state.open
    assert held.state.open[later].closes_at == at("2026-03-10T07:00")  # 08:00 in Berlin, after the leave
    moved = core.on_input(held.state, Preferences("M1", (), (), None, at("2026-03-05T12:00"), new_york, None),
                          at("2026-03-05T12:00"))
    assert moved.effects[-1] == Schedule(at("2026-03-09T23:00"), DigestTimer("M1", later))  # 19:00 in New York
    assert {(e.message.reason, e.message.scheduled_for) for e in moved.effects if isinstance(e, Decide)} == {
        ("on_leave", at("2026-03-09T23:00"))}


def test_the_digests_one_pause_held_go_as_one_when_it_ends(core: Digests) -> None:
    """After a week's pause four digests went at the same instant (found by an audit of issue 10)."""
    until = at("2026-03-09T09:00")
    state = core.on_input(None, Preferences("M1", (), (), until, at("2026-03-02T06:00"), BERLIN, None),
                          at("2026-03-02T06:00")).state
    ids = []
    for n, day in enumerate(("02", "03", "04"), 1):
        state = _gather(core, state, n, at(f"2026-03-{day}T06:30"))
        digest_id, box = next((k, b) for k, b in state.open.items() if not b.paused)
        ids.append(digest_id)
        state = core.on_timer(state, DigestTimer("M1", digest_id), box.closes_at).state
        assert state is not None
    assert state is not None
    (kept,) = state.open.values()  # one digest holds all three
    assert kept.digest_id == ids[0] and [m.message_id for m in kept.items] == ["m-1", "m-2", "m-3"]
    assert kept.closes_at == until
    out = core.on_timer(state, DigestTimer("M1", ids[0]), until)
    sent = [e.message for e in out.effects if isinstance(e, Decide) and e.message.journey_id == "digest"]
    assert len(sent) == 1 and sent[0].subject == "3 updates about your people"


def test_a_weekly_digest_on_a_quiet_day_stays_weekly() -> None:
    """{every: weekly, day: saturday} with quiet weekends closed every day (found by an audit of issue 10)."""
    policy = Policy.model_validate({"quiet_hours": {"start": "20:00", "end": "08:00", "weekends": True},
                                    "digests": {"manager": {"every": "weekly", "day": "saturday", "at": "09:00"}}})
    core = Digests(policy, {})
    rule = policy.digests["manager"]
    closes = {core.closes_at(rule, at(f"2026-03-0{d}T10:00"), BERLIN, None) for d in range(2, 7)}  # Mon..Fri
    assert closes == {at("2026-03-09T07:00")}  # one, the Monday after (08:00 Berlin, the end of the quiet weekend)


def test_a_message_before_an_always_quiet_time_on_its_day_closes_at_the_first_allowed_time_after_it() -> None:
    """A message on a Saturday morning (07:00 Berlin), before a Saturday 09:00 rule's time with quiet weekends, went
    in the digest of the Monday nine days on, and one on a Monday before a daily 22:00 rule's time (quiet from 20:00)
    in Wednesday's: the search for the first time after the message began at the next day's (found by a digest
    audit on 2026-12-05)."""
    quiet = {"start": "20:00", "end": "08:00", "weekends": True}
    weekly = Policy.model_validate({"quiet_hours": quiet,
                                    "digests": {"manager": {"every": "weekly", "day": "saturday"}}})
    daily = Policy.model_validate({"quiet_hours": quiet, "digests": {"manager": {"every": "daily", "at": "22:00"}}})
    saturday_morning = at("2026-03-07T06:00")
    assert Digests(weekly, {}).closes_at(weekly.digests["manager"], saturday_morning, BERLIN, None) == at(
        "2026-03-09T07:00")  # Saturday's 09:00 is quiet: Monday 08:00, not the Monday after
    monday = at("2026-03-02T10:00")
    assert Digests(daily, {}).closes_at(daily.digests["manager"], monday, BERLIN, None) == at(
        "2026-03-03T07:00")  # Monday's 22:00 is quiet: Tuesday 08:00, not Wednesday's
    after = at("2026-03-07T09:00")  # past Saturday's 09:00: the next Saturday's, then Monday 08:00
    assert Digests(weekly, {}).closes_at(weekly.digests["manager"], after, BERLIN, None) == at("2026-03-16T07:00")


def test_a_recipients_sensitive_leave_holds_their_digest_until_they_are_back(core: Digests) -> None:
    """A manager on bereavement leave got the digest about their reports (the leave reached the mailbox only;
    found by an audit of issue 10)."""
    state = core.on_input(None, LeaveChanged("M1", at("2026-03-02T23:00"), None, BERLIN, None, at("2026-03-03T07:00")),
                          at("2026-03-03T07:00")).state
    state = _gather(core, state, 1, at("2026-03-03T07:30"))
    digest_id, box = next(iter(state.open.items()))
    held = core.on_timer(state, DigestTimer("M1", digest_id), box.closes_at)
    assert {(e.message.status, e.message.reason) for e in held.effects if isinstance(e, Decide)} == {
        ("deferred", "on_leave")}
    assert not [e for e in held.effects if isinstance(e, Schedule)]  # its end is not known yet
    assert held.state is not None
    (later,) = held.state.open  # the held messages wait in a digest of their own
    known = core.on_input(held.state, LeaveChanged("M1", at("2026-03-02T23:00"), at("2026-03-19T23:00"), BERLIN,
                                                   None, at("2026-03-05T09:00")), at("2026-03-05T09:00"))
    assert known.effects[-1] == Schedule(at("2026-03-20T07:00"), DigestTimer("M1", later))  # 08:00 Berlin
    assert known.state is not None
    back = core.on_input(known.state, LeaveChanged("M1", at("2026-03-02T23:00"), at("2026-03-09T23:00"), BERLIN,
                                                   None, at("2026-03-10T09:00")), at("2026-03-10T09:00"))
    assert back.effects[-1] == Schedule(at("2026-03-10T09:00"), DigestTimer("M1", later))  # back: it goes
    assert back.state is not None
    out = core.on_timer(back.state, DigestTimer("M1", later), at("2026-03-10T09:00"))
    assert [e.message.status for e in out.effects if isinstance(e, Decide)] == ["sent", "sent"]


def test_an_essential_message_in_a_digest_still_goes_during_the_leave_and_the_rest_waits(core: Digests) -> None:
    state = core.on_input(None, LeaveChanged("M1", at("2026-03-02T23:00"), at("2026-03-19T23:00"), BERLIN, None,
                                             at("2026-03-03T07:00")), at("2026-03-03T07:00")).state
    for n, rule in ((1, "send"), (2, "defer"), (3, "suppress")):
        out = core.on_input(state, Gather("M1", _msg(n, at("2026-03-03T07:30")), BERLIN, None, rule),  # type: ignore[arg-type]
                            at("2026-03-03T07:30"))
        state = out.state
    assert state is not None
    digest_id, box = next(iter(state.open.items()))
    closed = core.on_timer(state, DigestTimer("M1", digest_id), box.closes_at)
    decided = {e.message.message_id: (e.message.status, e.message.reason) for e in closed.effects
               if isinstance(e, Decide)}
    assert decided == {"m-1": ("sent", None), digest_id: ("sent", None), "m-2": ("deferred", "on_leave"),
                       "m-3": ("suppressed", "on_leave")}


def test_an_essential_message_closing_during_the_leave_still_meets_the_opt_outs_made_since(core: Digests) -> None:
    """An essential item goes during the recipient's sensitive leave, but not past their opt-outs: a manager on leave
    who opted out of the item's only topic got it in the digest anyway (the leave's path sent it unchecked; the
    mailbox checks it)."""
    state = core.on_input(None, LeaveChanged("M1", at("2026-03-02T23:00"), at("2026-03-19T23:00"), BERLIN, None,
                                             at("2026-03-03T07:00")), at("2026-03-03T07:00")).state
    for n, topics in ((1, ["buddy"]), (2, ["payroll"])):
        state = core.on_input(state, Gather("M1", _msg(n, at("2026-03-03T07:30"), topics=topics), BERLIN, None,
                                            "send"), at("2026-03-03T07:30")).state
    state = core.on_input(state, Preferences("M1", (), ("buddy",), None, at("2026-03-03T08:00")),
                          at("2026-03-03T08:00")).state
    assert state is not None
    digest_id, box = next(iter(state.open.items()))
    closed = core.on_timer(state, DigestTimer("M1", digest_id), box.closes_at)
    decided = {e.message.message_id: (e.message.status, e.message.reason) for e in closed.effects
               if isinstance(e, Decide)}
    assert decided == {"m-1": ("suppressed", "opted_out_topic"), "m-2": ("sent", None), digest_id: ("sent", None)}


def test_a_weekly_rule_only_takes_a_day() -> None:
    with pytest.raises(ValueError, match="'day' is for a weekly digest"):
        DigestRule.model_validate({"every": "daily", "day": "monday"})
    assert DigestRule(every="weekly").at == "09:00"


def test_validation_names_an_unknown_digest_template_and_journey_by_file_line_column(write_files: WriteFiles
                                                                                   ) -> None:
    root = write_files({"policy.yaml": (
        "apiVersion: wayfinder/v1\nkind: Policy\ndigests:\n"
        "  manager: {every: daily, template: digest/nope}\n"
        "  hr_partner:\n    every: weekly\n    journeys: [onboardin]\n")})
    ex = examples_dir()
    _, problems = load(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                               policy=root / "policy.yaml"))
    text = sorted(str(p) for p in problems if p.severity == "error")
    assert any(":4:37:" in t and "unknown template 'digest/nope'" in t for t in text), text
    assert any(":7:16:" in t and "unknown journey 'onboardin'; did you mean 'onboarding'?" in t for t in text), text


def test_a_listed_journey_that_sends_nothing_to_the_rules_role_on_its_channel_is_a_warning(write_files: WriteFiles
                                                                                           ) -> None:
    """Found by a session on 2026-12-05: ``hr_partner: {journeys: [onboarding]}`` validated without a word, though the
    bundled onboarding sends nothing to the HR partner, so the rule gathered nothing. The bundled journeys send to
    the manager in onboarding (email), parental-return and new-manager; relocation to no one but the employee."""
    root = write_files({"policy.yaml": (
        "apiVersion: wayfinder/v1\nkind: Policy\ndigests:\n"
        "  manager: {every: daily, journeys: [onboarding, relocation]}\n"
        "  hr_partner: {every: weekly, journeys: [onboarding]}\n")})
    ex = examples_dir()
    _, problems = load(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                               policy=root / "policy.yaml"))
    shown = sorted(str(p).split("policy.yaml:", 1)[1] for p in problems if p.file.endswith("policy.yaml"))
    assert shown == [
        "4:50: warning: journey 'relocation' sends no message to the manager on email (no step with to: manager, "
        "channel: email): this rule gathers nothing from it",
        "5:42: warning: journey 'onboarding' sends no message to the hr_partner on email (no step with to: "
        "hr_partner, channel: email): this rule gathers nothing from it"]
    intranet = write_files({"policy.yaml": (
        "apiVersion: wayfinder/v1\nkind: Policy\ndigests:\n"
        "  manager: {every: daily, channel: intranet, journeys: [onboarding]}\n")})
    _, problems = load(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                               policy=intranet / "policy.yaml"))
    assert [str(p).split(": ", 1)[1] for p in problems if p.file.endswith("policy.yaml")] == [
        "warning: journey 'onboarding' sends no message to the manager on intranet (no step with to: manager, "
        "channel: intranet): this rule gathers nothing from it"]


def test_a_misspelt_key_is_told_the_closest_field_of_its_own_mapping(write_files: WriteFiles) -> None:
    """``foo`` in a digest rule was told "did you mean 'for'?" (a field of the steps) and ``windw`` in the cap
    "did you mean 'kind'?": the closest name among every document's fields. Now among the fields of the mapping the
    key is in, where the model says which (found by the digest audit, 2026-12-05)."""
    root = write_files({"policy.yaml": (
        "apiVersion: wayfinder/v1\nkind: Policy\ndigests:\n"
        "  manager: {every: daily, foo: 1}\n"
        "  hr_partner: {every: weekly, tempalte: digest/summary}\n"
        "frequency_cap: {max: 3, per: 7d, windw: 1}\n")})
    ex = examples_dir()
    _, problems = load(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                               policy=root / "policy.yaml"))
    text = sorted(str(p).split(": ", 1)[1] for p in problems if p.severity == "error")
    assert text == ["policy: digests.hr_partner: unknown field 'tempalte' (did you mean 'template'?)",
                    "policy: digests.manager: unknown field 'foo'; it takes at, channel, day, every, journeys, "
                    "template",
                    "policy: frequency_cap: unknown field 'windw'; it takes max, per"]


def test_a_digest_that_does_not_render_fails_with_its_messages_and_says_why() -> None:
    """The failure was in the dead letters only: simulate's summary and the log said nothing (found by an audit of
    issue 10)."""
    core = Digests(POLICY, {})  # the template is not loaded
    state = _gather(core, None, 1, at("2026-03-03T09:00"))
    digest_id, box = next(iter(state.open.items()))
    out = core.on_timer(state, DigestTimer("M1", digest_id), box.closes_at)
    (said,) = [e for e in out.effects if isinstance(e, Diagnostic)]
    assert (said.kind, said.journey_id, said.step_id) == ("render_failed", "digest", "daily")
    assert "digest/summary" in said.detail
    assert {(e.message.message_id, e.message.status, e.message.reason) for e in out.effects
            if isinstance(e, Decide)} == {(digest_id, "failed", "render_error"), ("m-1", "failed", "render_error")}


def test_validation_names_a_message_template_given_to_a_digest(write_files: WriteFiles) -> None:
    """It passed validate, and every digest and message in it then failed to render (found by an audit of
    issue 10)."""
    root = write_files({"policy.yaml": ("apiVersion: wayfinder/v1\nkind: Policy\ndigests:\n"
                                        "  manager: {every: daily, template: onboarding/manager-heads-up}\n")})
    ex = examples_dir()
    _, problems = load(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                               policy=root / "policy.yaml"))
    (line,) = [str(p) for p in problems if p.severity == "error"]
    assert ":4:37:" in line and "'onboarding/manager-heads-up' is not a digest template" in line


def test_validation_names_a_day_on_a_daily_digest_and_an_unknown_period_by_position(write_files: WriteFiles
                                                                                    ) -> None:
    root = write_files({"policy.yaml": (
        "apiVersion: wayfinder/v1\nkind: Policy\ndigests:\n"
        "  manager: {every: daily, day: monday}\n  hr_partner: {every: hourly}\n")})
    ex = examples_dir()
    _, problems = load(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                               policy=root / "policy.yaml"))
    text = [str(p) for p in problems if p.severity == "error"]
    assert any(t.endswith("policy.yaml:4:12: policy: digests.manager: 'day' is for a weekly digest; a daily one "
                          "goes every day at 'at'") for t in text), text
    assert any(":5:23:" in t and "digests.hr_partner.every" in t for t in text), text


def test_each_item_is_its_body_and_its_reason_not_its_whole_footer_again(core: Digests) -> None:
    """Found by an audit of issue 9: every gathered message's footer ("-- ... To change or stop these messages: ...")
    ran into the digest's body; an item is its body and the line that says why, in its own language."""
    footer = "\n\n-- \nDu erhältst diese Nachricht als Führungskraft von Ana, weil sie anfängt.\n" \
             "Ihr Team weiß Bescheid.\n" \
             "Diese Nachrichten ändern oder abbestellen: https://example.com/p\n"  # an own explanation of two lines
    message = _msg(1, at("2026-03-03T09:00")).model_copy(update={"text": "Ana beginnt am Montag." + footer})
    out = core.on_input(None, Gather("M1", message, BERLIN, None), at("2026-03-03T09:00"))
    assert out.state is not None
    digest_id, box = next(iter(out.state.open.items()))
    closed = core.on_timer(out.state, DigestTimer("M1", digest_id), box.closes_at)
    digest = next(e.message for e in closed.effects if isinstance(e, Decide) and e.message.message_id == digest_id)
    assert digest.text is not None
    assert "Ana beginnt am Montag." in digest.text
    assert "Du erhältst diese Nachricht als Führungskraft von Ana, weil sie anfängt." in digest.text
    assert "Ihr Team weiß Bescheid." in digest.text  # the whole reason (its first line only until 2026-12-05)
    assert digest.text.count("ändern oder abbestellen") == 0 and digest.text.count("To change or stop") == 1
    assert digest.text.count("\n-- \n") == 1  # the digest's own footer only


def test_an_item_does_not_greet_the_reader_again_under_the_digests_greeting(core: Digests) -> None:
    """Found by an audit of issue 10: a manager's daily digest read "Hi Sam, ... 1. Ana starts Monday / Hi Sam, ...
    2. ... / Hi Sam, ...". An item's body is its text without its greeting; a first line that is the message (no
    comma, or long) is kept."""
    texts = ["Hallo Sam,\n\nAna beginnt am Montag.", "Dear Dr. Ana María López,\n\nBen moved to Lyon.",
             "Cleo started today, and this line is not a greeting at all,\n\nso it stays."]
    state: DigestState | None = None
    for n, text in enumerate(texts):
        message = _msg(n, at("2026-03-03T09:00")).model_copy(update={"text": text})
        out = core.on_input(state, Gather("M1", message, BERLIN, None), at("2026-03-03T09:00"))
        state = out.state
    assert state is not None
    digest_id, box = next(iter(state.open.items()))
    closed = core.on_timer(state, DigestTimer("M1", digest_id), box.closes_at)
    digest = next(e.message for e in closed.effects if isinstance(e, Decide) and e.message.message_id == digest_id)
    assert digest.text is not None
    assert "Hallo Sam," not in digest.text and "Dear Dr." not in digest.text
    assert "Ana beginnt am Montag." in digest.text and "Ben moved to Lyon." in digest.text
    assert "Cleo started today, and this line is not a greeting at all," in digest.text


def test_a_digest_too_long_for_one_message_goes_as_several_and_loses_no_item(core: Digests) -> None:
    """A busy manager's day: 60 messages of 1,500 characters do not fit in one message's output budget (text and
    HTML, 100,000 characters). The digest failed whole, `render_error`, and every message in it with it (found by a
    digest audit on 2026-12-06: 170 onboarding notes to one manager). Now it goes as several digests at the closing
    time, in order, the first under the digest's id; each item is `sent` in the one whose `gathered` names it."""
    when = at("2026-03-03T09:00")
    state: DigestState | None = None
    for n in range(60):
        out = core.on_input(state, Gather("M1", _msg(n, when).model_copy(update={"text": f"Hi Mo,\n\n{'x' * 1500}"}),
                                          BERLIN, None), when)
        state = out.state
    assert state is not None
    digest_id, box = next(iter(state.open.items()))
    out = core.on_timer(state, DigestTimer("M1", digest_id), box.closes_at)
    records = [e.message for e in out.effects if isinstance(e, Decide)]
    digests = [m for m in records if m.journey_id == "digest"]
    items = [m for m in records if m.journey_id != "digest"]
    assert not [e for e in out.effects if isinstance(e, Diagnostic)]
    assert len(digests) > 1 and digests[0].message_id == digest_id
    assert all(d.status == "sent" and d.scheduled_for == box.closes_at for d in digests)
    assert sorted(m.message_id for m in items) == sorted(f"m-{n}" for n in range(60))
    assert all(m.status == "sent" for m in items)
    inside = {g.message_id: d.message_id for d in digests for g in d.gathered}
    assert {m.message_id: m.digest_id for m in items} == inside
    assert [g.message_id for d in digests for g in d.gathered] == [f"m-{n}" for n in range(60)]  # in order
    assert all(d.text is not None and len(d.text) + len(d.html or "") <= 100_000 + 2_000 for d in digests)


def test_a_digest_closes_on_a_working_day_of_the_recipients_weekend() -> None:
    """README "Working days": a daily 09:00 digest for a manager in Israel, where the policy gives Friday and
    Saturday as the weekend, gathers a Thursday afternoon's message into Sunday's digest, as their mailbox keeps
    it (``Placing.weekend_country``), or by the copy the message carries when the mailbox has not heard; the
    policy's weekend again (a country put right to one not listed) closes it on the Friday."""
    policy = POLICY.model_copy(update={"working_days": Policy.model_validate(
        {"working_days": {"weekend_by_country": {"IL": ["friday", "saturday"]}}}).working_days})
    box = Digests(policy, _defs(policy).templates)
    thursday = at("2026-06-04T13:00")  # 16:00 in Jerusalem
    israel = Placing(timezone="Asia/Jerusalem", weekend_country="IL")
    out = box.on_input(None, Gather("M1", _msg(1, thursday), "Asia/Jerusalem", None), thursday, own=israel)
    assert out.state is not None and [b.closes_at for b in out.state.open.values()] == [at("2026-06-07T06:00")]
    copy = box.on_input(None, Gather("M1", _msg(1, thursday), "Asia/Jerusalem", None, weekend_country="IL"),
                        thursday).state
    assert copy is not None and [b.closes_at for b in copy.open.values()] == [at("2026-06-07T06:00")]
    default = box.on_input(None, Gather("M1", _msg(1, thursday), "Asia/Jerusalem", None), thursday).state
    assert default is not None and [b.closes_at for b in default.open.values()] == [at("2026-06-05T06:00")]
    moved = box.on_input(out.state, Preferences("M1", (), (), None, at("2026-06-04T14:00"), "Asia/Jerusalem", None),
                         at("2026-06-04T14:00")).state  # the same zone, the policy's weekend: Friday is a working day
    assert moved is not None and [b.closes_at for b in moved.open.values()] == [at("2026-06-05T06:00")]
