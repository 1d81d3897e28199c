"""The recipient mailbox on a fake clock: quiet hours, the frequency cap, order, timers, exits and erasure.

2026-03-02 is a Monday; Berlin is on CET (UTC+1) until 2026-03-29.
"""

from __future__ import annotations

import heapq
import random
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest

from wayfinder.journeys.effects import Decide, Dispatch, Effect, MailboxTimer, Preferences, Schedule
from wayfinder.journeys.mailbox import Mailbox, MailboxOutcome
from wayfinder.journeys.model import FrequencyCap, Policy, QuietHoursPolicy, WorkingDays
from wayfinder.journeys.records import Message
from wayfinder.journeys.state import MailboxState

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
POLICY = Policy(frequency_cap=FrequencyCap(max=3, per="7d"),
                quiet_hours=QuietHoursPolicy(start="20:00", end="08:00", weekends=True))


def berlin(text: str) -> datetime:
    """A fixed instant from a Berlin wall-clock time, as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).astimezone(UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def message(mid: str, now: datetime, *, employee: str = "E1", recipient: str = "E1",
            journey: str = "new-parent") -> Message:
    return Message(
        message_id=mid, employee_id=employee, recipient_id=recipient, journey_id=journey, journey_version=1,
        step_id="welcome", channel="email", status="deferred", scheduled_for=now, created_at=now,
        subject=f"Hello {mid}", text="Some text", html="<p>Some text</p>", resources=["parent-network"],
        explanation="Because.", recipient_email="e1@example.com", recipient_name="Anna",
    )


class Box:
    """One recipient's mailbox, with the timers it asked for (fired in due order, ties in the order set)."""

    def __init__(self, policy: Policy = POLICY, recipient: str = "E1", timezone: str = "Europe/Berlin",
                 own: tuple[time, time] | None = None) -> None:
        self.mailbox = Mailbox(policy)
        self.state = MailboxState(recipient_id=recipient)
        self.recipient = recipient
        self.timezone = timezone
        self.own = own
        self.timers: list[tuple[datetime, int, MailboxTimer]] = []
        self.seq = 0

    def send(self, mid: str, now: datetime, **kw: str) -> Message:
        """Dispatch one message and return the one decision about it."""
        m = message(mid, now, recipient=self.recipient, **kw)
        out = self.mailbox.dispatch(self.state, Dispatch(self.recipient, m, self.timezone, self.own), now)
        got = decisions(out)
        assert [m.message_id for m in got] == [mid]
        self._keep_timers(out)
        return got[0]

    def _keep_timers(self, out: MailboxOutcome) -> None:
        for effect in out.effects:
            if isinstance(effect, Schedule):
                assert isinstance(effect.timer, MailboxTimer)
                heapq.heappush(self.timers, (effect.due, self.seq, effect.timer))
                self.seq += 1

    def fire_until(self, until: datetime) -> list[Message]:
        sent: list[Message] = []
        while self.timers and self.timers[0][0] <= until:
            due, _, timer = heapq.heappop(self.timers)
            out = self.mailbox.on_timer(self.state, timer, due)
            self._keep_timers(out)
            sent.extend(decisions(out))
        return sent


def decisions(out: MailboxOutcome) -> list[Message]:
    return [e.message for e in out.effects if isinstance(e, Decide)]


def schedules(out: MailboxOutcome) -> list[Schedule]:
    return [e for e in out.effects if isinstance(e, Schedule)]


# -- sent at once ---------------------------------------------------------------------------------


def test_sent_at_once_when_allowed() -> None:
    mailbox = Mailbox(POLICY)
    state = MailboxState(recipient_id="E1")
    now = berlin("2026-03-03T10:00")  # Tuesday morning
    out = mailbox.dispatch(state, Dispatch("E1", message("m-1", now), "Europe/Berlin", None), now)
    assert schedules(out) == []
    [sent] = decisions(out)
    assert sent.message_id == "m-1"
    assert sent.status == "sent"
    assert sent.reason is None
    assert sent.scheduled_for == now
    assert sent.subject == "Hello m-1"
    assert state.pending == {}
    assert [s.message_id for s in state.slots] == ["m-1"]


def test_without_a_policy_everything_goes_at_once() -> None:
    box = Box(Policy())
    for i, now in enumerate([berlin("2026-03-08T03:00"), berlin("2026-03-08T03:01"), berlin("2026-03-08T23:00"),
                             berlin("2026-03-09T02:00"), berlin("2026-03-09T02:00")]):
        m = box.send(f"m-{i}", now)
        assert (m.status, m.reason, m.scheduled_for) == ("sent", None, now)
    assert box.timers == []


def test_a_replayed_message_is_not_placed_twice() -> None:
    mailbox = Mailbox(POLICY)
    state = MailboxState(recipient_id="E1")
    night = berlin("2026-03-03T21:00")
    first = mailbox.dispatch(state, Dispatch("E1", message("m-1", night), "Europe/Berlin", None), night)
    assert len(decisions(first)) == 1
    again = mailbox.dispatch(state, Dispatch("E1", message("m-1", night), "Europe/Berlin", None), night)
    assert again.effects == []
    morning = berlin("2026-03-04T10:00")
    later = mailbox.dispatch(state, Dispatch("E1", message("m-1", morning), "Europe/Berlin", None), morning)
    assert later.effects == []
    assert list(state.pending) == ["m-1"]
    assert [s.message_id for s in state.slots] == ["m-1"]


def test_a_message_that_went_is_not_placed_again_by_a_clock_that_went_back() -> None:
    """The worker's clock is its partition's: after a restart (another machine, or a tick that had moved it on) it
    can be behind a slot a message went in. Its dispatch, produced again by a replay, was placed as new (only slots up
    to ``now`` were looked at): counted against the cap twice and recorded ``sent`` a week later (a kill -9 audit
    on the wall clock, 2026-12-05)."""
    mailbox = Mailbox(POLICY)
    state = MailboxState(recipient_id="E1")
    made, went = berlin("2026-03-03T21:00"), berlin("2026-03-04T08:00")
    dispatch = Dispatch("E1", message("m-1", made), "Europe/Berlin", None)
    mailbox.dispatch(state, dispatch, made)
    [gone] = decisions(mailbox.on_timer(state, MailboxTimer("E1", "m-1"), went))
    assert gone.status == "sent" and state.pending == {}
    assert mailbox.dispatch(state, dispatch, berlin("2026-03-03T22:00")).effects == []
    assert mailbox.dispatch(state, dispatch, went + timedelta(days=1)).effects == []
    assert [s.message_id for s in state.slots] == ["m-1"]


# -- quiet hours ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("now", "expected"), [
    ("2026-03-03T21:00", "2026-03-04T08:00"),  # Tuesday evening
    ("2026-03-03T20:00", "2026-03-04T08:00"),  # the window starts at 20:00
    ("2026-03-04T06:30", "2026-03-04T08:00"),  # early Wednesday
    ("2026-03-07T12:00", "2026-03-09T08:00"),  # Saturday
    ("2026-03-06T22:00", "2026-03-09T08:00"),  # Friday night runs into the weekend
    ("2026-03-27T21:00", "2026-03-30T08:00"),  # over the EU change: 08:00 CEST on Monday
])
def test_quiet_hours_defer_to_the_next_allowed_time(now: str, expected: str) -> None:
    mailbox = Mailbox(POLICY)
    state = MailboxState(recipient_id="E1")
    t = berlin(now)
    out = mailbox.dispatch(state, Dispatch("E1", message("m-1", t), "Europe/Berlin", None), t)
    [deferred] = decisions(out)
    assert deferred.status == "deferred"
    assert deferred.reason == "quiet_hours"
    assert deferred.scheduled_for == berlin(expected)
    assert schedules(out) == [Schedule(berlin(expected), MailboxTimer("E1", "m-1"))]
    assert list(state.pending) == ["m-1"]
    assert state.pending["m-1"].status == "deferred"


def test_the_end_of_the_window_is_allowed() -> None:
    box = Box()
    assert box.send("m-1", berlin("2026-03-04T08:00")).status == "sent"
    assert box.send("m-2", berlin("2026-03-04T19:59")).status == "sent"


def test_quiet_hours_are_in_the_recipients_timezone() -> None:
    ny = Box(timezone="America/New_York")
    # Monday 21:00 EST: quiet until Tuesday 08:00 EST (13:00Z)
    m = ny.send("m-1", utc("2026-03-03T02:00"))
    assert (m.status, m.reason, m.scheduled_for) == ("deferred", "quiet_hours", utc("2026-03-03T13:00"))
    # 21:30 in Berlin is 15:30 in New York: allowed there
    other = Box(timezone="America/New_York", recipient="E2")
    assert other.send("m-2", utc("2026-03-03T20:30")).status == "sent"
    berliner = Box(recipient="E3")
    assert berliner.send("m-3", utc("2026-03-03T20:30")).status == "deferred"


def test_an_unknown_timezone_means_utc() -> None:
    box = Box(timezone="Nowhere/Atlantis")
    m = box.send("m-1", utc("2026-03-03T21:00"))
    assert (m.status, m.scheduled_for) == ("deferred", utc("2026-03-04T08:00"))


# -- a recipient's own quiet hours ----------------------------------------------------------------


def test_own_quiet_hours_override_the_policy_window() -> None:
    box = Box(own=(time(22, 0), time(6, 0)))
    assert box.send("m-1", berlin("2026-03-03T21:00")).status == "sent"  # quiet for the policy, not for them
    m = box.send("m-2", berlin("2026-03-03T23:00"))
    assert (m.status, m.reason, m.scheduled_for) == ("deferred", "quiet_hours", berlin("2026-03-04T06:00"))


def test_own_quiet_hours_not_crossing_midnight() -> None:
    box = Box(own=(time(12, 0), time(13, 0)))
    assert box.send("m-1", berlin("2026-03-03T21:00")).status == "sent"
    assert box.send("m-2", berlin("2026-03-04T07:00")).status == "sent"
    m = box.send("m-3", berlin("2026-03-04T12:30"))
    assert (m.status, m.reason, m.scheduled_for) == ("deferred", "quiet_hours", berlin("2026-03-04T13:00"))


def test_own_quiet_hours_keep_the_policy_weekends() -> None:
    box = Box(own=(time(22, 0), time(6, 0)))
    m = box.send("m-1", berlin("2026-03-07T12:00"))  # Saturday
    assert (m.status, m.reason, m.scheduled_for) == ("deferred", "quiet_hours", berlin("2026-03-09T06:00"))


def test_own_quiet_hours_without_a_policy_window() -> None:
    box = Box(Policy(), own=(time(21, 0), time(7, 0)))
    m = box.send("m-1", berlin("2026-03-03T21:30"))
    assert (m.status, m.reason, m.scheduled_for) == ("deferred", "quiet_hours", berlin("2026-03-04T07:00"))


# -- the frequency cap ----------------------------------------------------------------------------


def test_the_fourth_message_in_seven_days_waits_for_the_oldest_to_leave_the_window() -> None:
    box = Box()
    for mid, now in (("m-1", "2026-03-02T09:00"), ("m-2", "2026-03-03T09:00"), ("m-3", "2026-03-04T09:00")):
        assert box.send(mid, berlin(now)).status == "sent"
    fourth = box.send("m-4", berlin("2026-03-05T10:00"))
    assert fourth.status == "deferred"
    assert fourth.reason == "frequency_cap"
    assert fourth.scheduled_for == berlin("2026-03-02T09:00") + timedelta(days=7)
    assert box.timers[0][:1] == (fourth.scheduled_for,)
    assert box.timers[0][2] == MailboxTimer("E1", "m-4")
    # the fifth waits for the second to leave the window
    fifth = box.send("m-5", berlin("2026-03-05T11:00"))
    assert (fifth.status, fifth.reason) == ("deferred", "frequency_cap")
    assert fifth.scheduled_for == berlin("2026-03-03T09:00") + timedelta(days=7)


def test_the_cap_counts_every_journey_for_one_recipient() -> None:
    box = Box()
    for i, journey in enumerate(("new-parent", "onboarding", "relocation")):
        assert box.send(f"m-{i}", berlin(f"2026-03-0{i + 2}T09:00"), journey=journey).status == "sent"
    m = box.send("m-x", berlin("2026-03-05T09:00"), journey="promotion", employee="E7")
    assert (m.status, m.reason) == ("deferred", "frequency_cap")


def test_the_cap_is_per_recipient() -> None:
    a, b = Box(recipient="E1"), Box(recipient="E2")
    for i in range(3):
        assert a.send(f"a-{i}", berlin(f"2026-03-0{i + 2}T09:00")).status == "sent"
    assert b.send("b-0", berlin("2026-03-05T09:00")).status == "sent"
    assert a.send("a-3", berlin("2026-03-05T09:00")).status == "deferred"


def test_a_slot_freed_by_the_cap_in_quiet_hours_moves_to_the_next_allowed_time() -> None:
    policy = Policy(frequency_cap=FrequencyCap(max=1, per="12h"),
                    quiet_hours=QuietHoursPolicy(start="20:00", end="08:00"))
    box = Box(policy)
    assert box.send("m-1", berlin("2026-03-03T10:00")).status == "sent"
    m = box.send("m-2", berlin("2026-03-03T11:00"))  # the cap frees 22:00, inside quiet hours
    assert m.status == "deferred"
    assert m.reason in {"frequency_cap", "quiet_hours"}
    assert m.scheduled_for == berlin("2026-03-04T08:00")


def test_messages_older_than_the_window_do_not_count() -> None:
    box = Box()
    for i in range(3):
        assert box.send(f"m-{i}", berlin("2026-03-02T09:00") + timedelta(hours=i)).status == "sent"
    assert box.send("m-3", berlin("2026-03-09T11:00")).status == "sent"  # all three left at 09:00-11:00
    assert box.send("m-4", berlin("2026-03-09T11:30")).status == "sent"
    assert box.send("m-5", berlin("2026-03-09T11:45")).status == "sent"
    m = box.send("m-6", berlin("2026-03-09T12:00"))
    assert (m.status, m.reason, m.scheduled_for) == ("deferred", "frequency_cap", berlin("2026-03-16T11:00"))


@pytest.mark.parametrize("given_in", ["utc", "local"])
def test_the_cap_window_does_not_depend_on_the_zone_the_clock_is_given_in(given_in: str) -> None:
    """The same instants give the same decisions, whether the clock reads UTC or a local time (here across
    the EU change on 2026-03-29)."""

    def run(zone: tzinfo | None) -> datetime:
        box = Box(Policy(frequency_cap=FrequencyCap(max=1, per="7d")))

        def now(text: str) -> datetime:
            t = berlin(text)
            return t.astimezone(zone) if zone is not None else t

        assert box.send("m-1", now("2026-03-25T09:00")).status == "sent"
        m = box.send("m-2", now("2026-03-26T09:00"))
        assert (m.status, m.reason) == ("deferred", "frequency_cap")
        return m.scheduled_for.astimezone(UTC)

    expected = run(None)
    assert expected == berlin("2026-03-25T09:00") + timedelta(days=7)
    assert run(BERLIN if given_in == "local" else UTC) == expected


# -- order ----------------------------------------------------------------------------------------


def test_deferred_messages_keep_fifo_order() -> None:
    box = Box(Policy(frequency_cap=FrequencyCap(max=2, per="7d"),
                     quiet_hours=QuietHoursPolicy(start="20:00", end="08:00", weekends=True)))
    first = box.send("m-1", berlin("2026-03-03T21:00"))
    second = box.send("m-2", berlin("2026-03-03T22:00"))
    third = box.send("m-3", berlin("2026-03-03T23:00"))
    assert (first.reason, first.scheduled_for) == ("quiet_hours", berlin("2026-03-04T08:00"))
    # in the quiet hours itself: deferred for them, though it waits behind the first too (SPEC §6)
    assert (second.reason, second.scheduled_for) == ("quiet_hours", berlin("2026-03-04T08:00"))
    assert (third.reason, third.scheduled_for) == ("frequency_cap", berlin("2026-03-11T08:00"))

    went = box.fire_until(berlin("2026-03-04T10:00"))
    assert [m.message_id for m in went] == ["m-1", "m-2"]

    # a new message never overtakes one still waiting
    fourth = box.send("m-4", berlin("2026-03-04T10:00"))
    assert fourth.status == "deferred"
    assert fourth.reason == "frequency_cap"  # the cap holds it at 10:00, behind the third
    assert fourth.scheduled_for == third.scheduled_for

    went = box.fire_until(berlin("2026-03-31T00:00"))
    assert [m.message_id for m in went] == ["m-3", "m-4"]
    assert [m.status for m in went] == ["sent", "sent"]


def test_a_message_after_the_queue_drained_is_not_queued() -> None:
    box = Box()
    box.send("m-1", berlin("2026-03-03T21:00"))
    box.fire_until(berlin("2026-03-04T09:00"))
    m = box.send("m-2", berlin("2026-03-04T09:00"))
    assert (m.status, m.reason, m.scheduled_for) == ("sent", None, berlin("2026-03-04T09:00"))


# -- timers ---------------------------------------------------------------------------------------


def test_on_timer_sends_the_deferred_message_at_its_slot_with_the_same_id() -> None:
    mailbox = Mailbox(POLICY)
    state = MailboxState(recipient_id="E1")
    night = berlin("2026-03-03T21:00")
    out = mailbox.dispatch(state, Dispatch("E1", message("m-1", night), "Europe/Berlin", None), night)
    [schedule] = schedules(out)
    assert isinstance(schedule.timer, MailboxTimer)
    fired = mailbox.on_timer(state, schedule.timer, schedule.due)
    [sent] = decisions(fired)
    assert sent.message_id == "m-1"
    assert sent.status == "sent"
    assert sent.reason is None
    assert sent.scheduled_for == berlin("2026-03-04T08:00")
    assert (sent.subject, sent.text, sent.resources) == ("Hello m-1", "Some text", ["parent-network"])
    assert state.pending == {}
    assert "m-1" in {s.message_id for s in state.slots}  # it still counts for the cap
    # a timer that fires twice, or late, does nothing more
    assert mailbox.on_timer(state, schedule.timer, schedule.due).effects == []
    assert mailbox.on_timer(state, schedule.timer, schedule.due + timedelta(hours=5)).effects == []


def test_a_late_timer_still_records_the_slot_time() -> None:
    box = Box()
    box.send("m-1", berlin("2026-03-03T21:00"))
    _, _, timer = box.timers[0]
    [sent] = decisions(box.mailbox.on_timer(box.state, timer, berlin("2026-03-04T08:07")))
    assert (sent.status, sent.scheduled_for) == ("sent", berlin("2026-03-04T08:00"))


def test_a_timer_for_an_unknown_message_does_nothing() -> None:
    mailbox = Mailbox(POLICY)
    state = MailboxState(recipient_id="E1")
    assert mailbox.on_timer(state, MailboxTimer("E1", "m-nope"), berlin("2026-03-04T08:00")).effects == []


# -- exits and erasure ----------------------------------------------------------------------------


def manager_box() -> Box:
    """A manager's mailbox with messages about two employees from two journeys, all waiting overnight."""
    box = Box(Policy(frequency_cap=FrequencyCap(max=10, per="7d"),
                     quiet_hours=QuietHoursPolicy(start="20:00", end="08:00", weekends=True)), recipient="M1")
    box.send("m-sent", berlin("2026-03-03T10:00"), employee="E1", journey="new-parent")
    box.send("m-e1-np", berlin("2026-03-03T21:00"), employee="E1", journey="new-parent")
    box.send("m-e1-ob", berlin("2026-03-03T21:05"), employee="E1", journey="onboarding")
    box.send("m-e2-np", berlin("2026-03-03T21:10"), employee="E2", journey="new-parent")
    assert set(box.state.pending) == {"m-e1-np", "m-e1-ob", "m-e2-np"}
    return box


def test_cancel_suppresses_one_employees_messages_from_one_journey() -> None:
    box = manager_box()
    now = berlin("2026-03-03T22:00")
    out = box.mailbox.cancel(box.state, "E1", "new-parent", "exited", now)
    [gone] = decisions(out)
    assert gone.message_id == "m-e1-np"
    assert (gone.status, gone.reason, gone.scheduled_for) == ("suppressed", "exited", now)
    assert gone.subject == "Hello m-e1-np"  # an exit keeps the content
    assert set(box.state.pending) == {"m-e1-ob", "m-e2-np"}
    assert "m-e1-np" not in {s.message_id for s in box.state.slots}
    # its timer fires harmlessly; the others still go, in order
    went = box.fire_until(berlin("2026-03-04T09:00"))
    assert [m.message_id for m in went] == ["m-e1-ob", "m-e2-np"]


def test_cancel_for_every_journey_of_an_employee() -> None:
    box = manager_box()
    out = box.mailbox.cancel(box.state, "E1", None, "exited", berlin("2026-03-03T22:00"))
    assert sorted(m.message_id for m in decisions(out)) == ["m-e1-np", "m-e1-ob"]
    assert all((m.status, m.reason) == ("suppressed", "exited") for m in decisions(out))
    assert set(box.state.pending) == {"m-e2-np"}


def test_cancel_leaves_sent_messages_and_other_employees_alone() -> None:
    box = manager_box()
    out = box.mailbox.cancel(box.state, "E3", None, "exited", berlin("2026-03-03T22:00"))
    assert out.effects == []
    assert len(box.state.pending) == 3


def test_erasure_redacts_what_was_waiting() -> None:
    box = manager_box()
    now = berlin("2026-03-03T22:00")
    out = box.mailbox.cancel(box.state, "E1", None, "erased", now)
    gone = decisions(out)
    assert sorted(m.message_id for m in gone) == ["m-e1-np", "m-e1-ob"]
    for m in gone:
        assert (m.status, m.reason, m.scheduled_for) == ("suppressed", "erased", now)
        assert (m.subject, m.text, m.html, m.explanation) == (None, None, None, None)
        assert (m.recipient_email, m.recipient_name) == (None, None)
        assert m.employee_id == "E1"
    assert set(box.state.pending) == {"m-e2-np"}


def test_a_cancelled_message_frees_its_place_in_the_queue() -> None:
    box = Box(Policy(frequency_cap=FrequencyCap(max=1, per="7d")))
    assert box.send("m-1", berlin("2026-03-03T10:00")).status == "sent"
    waiting = box.send("m-2", berlin("2026-03-03T11:00"))
    assert waiting.scheduled_for == berlin("2026-03-10T10:00")
    box.mailbox.cancel(box.state, "E1", "new-parent", "exited", berlin("2026-03-03T12:00"))
    m = box.send("m-3", berlin("2026-03-03T13:00"), journey="onboarding")
    assert (m.status, m.reason, m.scheduled_for) == ("deferred", "frequency_cap", berlin("2026-03-10T10:00"))


# -- a long queue behind a withdrawn message (README, Mailbox) --------------------------------------


class PlaceEverything(Mailbox):
    """The rule as it reads, for a reference: after a withdrawal, every held message is placed again from then."""

    def cancel(self, state: MailboxState, employee_id: str | None, journey_id: str | None, reason: str,
               now: datetime, role: str | None = None) -> MailboxOutcome:
        taken = [m for m in state.pending.values() if employee_id in (None, m.employee_id)
                 and journey_id in (None, m.journey_id) and role in (None, m.recipient_role)]
        for m in taken:
            del state.pending[m.message_id]
        state.slots = [s for s in state.slots if s.message_id not in {m.message_id for m in taken}]
        effects: list[Effect] = [Decide(m.with_status("suppressed", reason=reason, at=now)) for m in taken]
        if state.timezone is None:
            return MailboxOutcome(state, effects)  # nothing was ever held
        quiet = (time.fromisoformat(state.quiet_hours[:8]), time.fromisoformat(state.quiet_hours[9:])) \
            if state.quiet_hours else None
        return MailboxOutcome(state, effects + self._place_again(state, state.timezone, quiet, now))


def check_orders(state: MailboxState) -> None:
    """The orders the mailbox relies on (MailboxState): slots in time order, the last ones the held messages'."""
    times = [s.at for s in state.slots]
    assert times == sorted(times)
    held = list(state.pending)
    assert [s.message_id for s in state.slots[len(state.slots) - len(held):]] == held
    assert [s.at for s in state.slots[len(state.slots) - len(held):]] == [m.scheduled_for for m in
                                                                          state.pending.values()]
    assert state.stale_from is None or state.stale_from in state.pending


def busy_manager(seed: int, box: Box) -> dict[str, Message]:
    """A manager told about 30 people over half a year, under a cap of 3 a week, while some of them leave;
    every timer fired at the end. The latest record of every message."""
    rng = random.Random(seed)  # noqa: S311 - test data only
    latest: dict[str, Message] = {}

    def keep(records: list[Message]) -> None:
        latest.update((m.message_id, m) for m in records)

    now = berlin("2026-01-05T09:00")
    for n in range(160):
        now += timedelta(minutes=rng.randrange(30, 1_800))
        keep(box.fire_until(now))
        if rng.random() < 0.2:
            out = box.mailbox.cancel(box.state, f"E{rng.randrange(30)}", None, "exited", now)
            assert len(decisions(out)) <= 2 * 30 + 2 * box.mailbox.at_once  # at most one journey's worth, moved
            box._keep_timers(out)
            keep(decisions(out))
        else:
            keep([box.send(f"m-{n}", now, employee=f"E{rng.randrange(30)}")])
        check_orders(box.state)
    keep(box.fire_until(now + timedelta(days=3_000)))
    assert box.state.pending == {}
    return latest


@pytest.mark.parametrize("at_once", [1, 3])
@pytest.mark.parametrize(("seed", "policy"), [
    (0, POLICY), (1, POLICY), (2, POLICY), (3, POLICY), (9, POLICY), (12, POLICY),
    (4, Policy(frequency_cap=FrequencyCap(max=1, per="3d"))),
    (5, Policy(frequency_cap=FrequencyCap(max=2, per="7d"), quiet_hours=QuietHoursPolicy(start="18:00", end="09:00"))),
])
def test_a_long_queue_moves_up_in_parts_and_everything_goes_when_placing_all_of_it_again_would_send_it(
        seed: int, policy: Policy, at_once: int) -> None:
    """Behind a withdrawn message only the next few are placed again at once; the rest when their turn comes. Every
    message still goes at the time placing the whole queue again at every withdrawal gives."""
    lazy = Box(policy, recipient="M1")
    lazy.mailbox.at_once = at_once
    exact = Box(policy, recipient="M1")
    exact.mailbox = PlaceEverything(policy)
    got, want = busy_manager(seed, lazy), busy_manager(seed, exact)
    assert {mid: (m.status, m.reason, m.scheduled_for) for mid, m in got.items()} == \
        {mid: (m.status, m.reason, m.scheduled_for) for mid, m in want.items()}
    assert sum(m.status == "sent" for m in got.values()) > 60  # a long queue, and it went


def test_behind_a_withdrawal_the_next_ones_get_their_new_time_at_once_and_the_rest_keep_the_latest_they_go() -> None:
    box = Box(Policy(frequency_cap=FrequencyCap(max=1, per="7d")), recipient="M1")
    box.mailbox.at_once = 2
    start = utc("2026-03-02T10:00:00")
    box.send("m-0", start, employee="E0")
    held = [box.send(f"m-{n}", start + timedelta(minutes=n), employee=f"E{n}") for n in range(1, 6)]
    assert [m.scheduled_for for m in held] == [start + timedelta(days=7 * n) for n in range(1, 6)]
    out = box.mailbox.cancel(box.state, "E1", None, "exited", start + timedelta(hours=1))
    box._keep_timers(out)
    assert [(m.message_id, m.status, m.scheduled_for) for m in decisions(out)] == [
        ("m-1", "suppressed", start + timedelta(hours=1)),
        ("m-2", "deferred", start + timedelta(days=7)), ("m-3", "deferred", start + timedelta(days=14))]
    assert box.state.stale_from == "m-4"
    assert box.state.pending["m-4"].scheduled_for == start + timedelta(days=28)  # the latest it will go
    went = box.fire_until(start + timedelta(days=60))
    assert [(m.message_id, m.status, m.scheduled_for) for m in went] == [
        ("m-2", "sent", start + timedelta(days=7)),
        ("m-3", "sent", start + timedelta(days=14)),
        ("m-4", "deferred", start + timedelta(days=21)), ("m-5", "deferred", start + timedelta(days=28)),
        ("m-4", "sent", start + timedelta(days=21)), ("m-5", "sent", start + timedelta(days=28))]
    assert box.state.stale_from is None


def test_a_message_refused_when_its_time_comes_frees_its_place_for_the_one_behind_it() -> None:
    """Found by an audit on 2026-12-04: the recipient opted out of the first message's topics while it waited for
    quiet hours to end; it was suppressed then, yet the message capped behind it still waited a whole window, as
    if the first had gone (a withdrawn message already freed its place)."""
    policy = Policy(frequency_cap=FrequencyCap(max=1, per="1d"),
                    quiet_hours=QuietHoursPolicy(start="20:00", end="08:00", weekends=False))
    box = Box(policy, timezone="UTC")
    first = box.send("m-1", utc("2026-03-02T21:00"))
    assert (first.status, first.reason, first.scheduled_for) == ("deferred", "quiet_hours", utc("2026-03-03T08:00"))
    second = box.send("m-2", utc("2026-03-02T21:10"), journey="onboarding")
    assert (second.status, second.reason, second.scheduled_for) == (
        "deferred", "frequency_cap", utc("2026-03-04T08:00"))
    box.mailbox.on_input(box.state, Preferences("E1", (), ("parental-leave",), None, utc("2026-03-02T22:00")),
                         utc("2026-03-02T22:00"))
    box.state.pending["m-1"] = box.state.pending["m-1"].model_copy(update={"topics": ["parental-leave"]})
    went = box.fire_until(utc("2026-03-10T00:00"))
    assert [(m.message_id, m.status, m.reason, m.scheduled_for) for m in went] == [
        ("m-1", "suppressed", "opted_out_topic", utc("2026-03-03T08:00")),
        ("m-2", "sent", None, utc("2026-03-03T08:00")),
    ]
    check_orders(box.state)


def test_a_message_is_placed_by_the_recipients_choices_the_mailbox_heard_not_by_the_copy_it_carries() -> None:
    """Issue 12: a message decided on another partition carries the recipient's time zone and quiet hours as that
    partition's directory had them, which may be ahead of or behind the mailbox's clock. The mailbox places it by
    the latest choices that reached it (in decision order); a mailbox that never heard of them (a state stored
    before 2026-12-06) by the copy, as before."""
    box = Mailbox(Policy())
    state = MailboxState(recipient_id="M1")
    own = Preferences("M1", (), (), None, utc("2026-03-01T00:00:00"), "Europe/Berlin", None)
    learned = box.on_input(state, own, utc("2026-03-01T00:00:00")).state
    assert learned is not None and learned.placing is not None
    later_copy = (time(0), time(12))  # quiet hours the recipient chose after this message was decided
    outcome = box.on_input(learned, Dispatch("M1", message("m-1", utc("2026-03-02T08:00:00"), recipient="M1"),
                                             "Europe/Berlin", later_copy), utc("2026-03-02T08:00:00"))
    [decided] = [e.message for e in outcome.effects if isinstance(e, Decide)]
    assert (decided.status, decided.scheduled_for) == ("sent", utc("2026-03-02T08:00:00"))
    unheard = box.on_input(MailboxState(recipient_id="M1"), Dispatch(
        "M1", message("m-2", utc("2026-03-02T08:00:00"), recipient="M1"), "Europe/Berlin", later_copy),
        utc("2026-03-02T08:00:00"))
    [held] = [e.message for e in unheard.effects if isinstance(e, Decide)]
    assert (held.status, held.reason, held.scheduled_for) == ("deferred", "quiet_hours", utc("2026-03-02T11:00:00"))


def test_a_first_profile_makes_a_mailbox_that_keeps_only_where_and_when_the_recipient_may_be_reached() -> None:
    box = Mailbox(POLICY)
    first = Preferences("M1", (), (), None, utc("2026-03-01T00:00:00"), "Asia/Tokyo", (time(21), time(7)))
    state = box.on_input(None, first, utc("2026-03-01T00:00:00")).state
    assert state is not None and state.model_dump(exclude_defaults=True) == {
        "recipient_id": "M1", "placing": {"timezone": "Asia/Tokyo", "quiet_hours": "21:00:00-07:00:00"}}
    assert box.on_input(None, Preferences("M1", (), (), None, utc("2026-03-01T00:00:00")),
                        utc("2026-03-01T00:00:00")).state is None  # nothing to place by: no mailbox, as before


def test_a_message_behind_a_long_queue_asks_why_it_waits_without_walking_the_whole_queue(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 10: one more message to a mailbox months behind its cap costs the same whatever it holds. The reason a
    message held behind others gives (what holds it now) stops at the cap's first refusal: before, the walk went on
    to the end of the queue, a round per cap window, for every message placed (quadratic in what the box holds)."""
    import wayfinder.journeys.mailbox as mailbox_module
    from wayfinder.journeys._time import next_allowed

    box = Box()
    now = berlin("2026-03-02 10:00")
    for n in range(600):  # 200 weeks behind the cap of 3 a week
        box.send(f"m{n:04d}", now)
    walked = 0

    def counted(instant: datetime, tz: ZoneInfo, window: tuple[time, time] | None, weekends: frozenset[int]
                ) -> datetime:
        nonlocal walked
        walked += 1
        return next_allowed(instant, tz, window, weekends)

    monkeypatch.setattr(mailbox_module, "next_allowed", counted)
    last = box.send("m-last", now)
    assert last.status == "deferred" and last.reason == "frequency_cap"
    assert last.scheduled_for > box.state.pending["m0599"].scheduled_for
    assert walked <= 6, walked


def test_a_recipient_keeps_the_weekend_of_the_country_the_policy_lists_and_an_old_placing_the_policys() -> None:
    """README "Working days": with quiet weekends, a recipient whose mailbox heard they keep Israel's weekend (Friday
    and Saturday) gets a message decided on a Friday on Sunday at 08:00, outside the quiet hours; a placing stored
    before 2026-12-06 has no weekend and reads as the policy's (Saturday and Sunday), and one of a recipient in a
    country not listed stores none."""
    policy = Policy(quiet_hours=QuietHoursPolicy(start="20:00", end="08:00", weekends=True),
                    working_days=WorkingDays(weekend_by_country={"IL": ["friday", "saturday"]}))
    box = Mailbox(policy)
    friday = utc("2026-06-05T08:00:00")  # 11:00 in Jerusalem
    own = Preferences("M1", (), (), None, utc("2026-06-01T00:00:00"), "Asia/Jerusalem", None, "IL")
    israel = box.on_input(None, own, utc("2026-06-01T00:00:00")).state
    assert israel is not None and israel.model_dump(exclude_defaults=True)["placing"] == {
        "timezone": "Asia/Jerusalem", "weekend_country": "IL"}
    israel = MailboxState.model_validate_json(israel.model_dump_json())  # as kept at rest
    note = Dispatch("M1", message("m-1", friday, recipient="M1"), "Asia/Jerusalem", None)
    [held] = [e.message for e in box.on_input(israel, note, friday).effects if isinstance(e, Decide)]
    assert (held.status, held.reason, held.scheduled_for) == ("deferred", "quiet_hours", utc("2026-06-07T05:00:00"))
    old = MailboxState.model_validate_json('{"recipient_id":"M1","placing":{"timezone":"Asia/Jerusalem"}}')
    [went] = [e.message for e in box.on_input(old, note, friday).effects if isinstance(e, Decide)]
    assert (went.status, went.scheduled_for) == ("sent", friday)  # a Friday is no weekend day of the policy's
    sunday = utc("2026-06-07T08:00:00")
    on_sunday = Dispatch("M1", message("m-2", sunday, recipient="M1"), "Asia/Jerusalem", None)
    [waits] = [e.message for e in box.on_input(old, on_sunday, sunday).effects if isinstance(e, Decide)]
    assert waits.scheduled_for == utc("2026-06-08T05:00:00")
    elsewhere = Preferences("M2", (), (), None, utc("2026-06-01T00:00:00"), "Europe/Berlin", None)
    state = box.on_input(None, elsewhere, utc("2026-06-01T00:00:00")).state
    assert state is not None and state.model_dump_json() == (
        '{"recipient_id":"M2","placing":{"timezone":"Europe/Berlin"}}')


def test_a_held_message_is_placed_again_when_the_recipients_weekend_changes() -> None:
    """A move to a country with another weekend reaches the mailbox (``Preferences``): what waits for the old
    weekend's end is placed again by the new one."""
    policy = Policy(quiet_hours=QuietHoursPolicy(start="20:00", end="08:00", weekends=True),
                    working_days=WorkingDays(weekend_by_country={"IL": ["friday", "saturday"]}))
    box = Mailbox(policy)
    start = utc("2026-06-01T00:00:00")
    state = box.on_input(None, Preferences("M1", (), (), None, start, "Asia/Jerusalem", None), start).state
    sunday = utc("2026-06-07T08:00:00")  # quiet by the policy's weekend
    outcome = box.on_input(state, Dispatch("M1", message("m-1", sunday, recipient="M1"), "Asia/Jerusalem", None),
                           sunday)
    [held] = [e.message for e in outcome.effects if isinstance(e, Decide)]
    assert held.scheduled_for == utc("2026-06-08T05:00:00")
    moved = box.on_input(outcome.state, Preferences("M1", (), (), None, sunday, "Asia/Jerusalem", None, "IL"), sunday)
    assert [(e.message.status, e.message.scheduled_for) for e in moved.effects if isinstance(e, Decide)] == [
        ("sent", sunday)]
