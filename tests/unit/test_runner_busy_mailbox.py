"""``simulate``'s runner and a busy mailbox: a cancel about someone with nothing held there, and an input while some
other timer is due, look at what concerns them only (as the worker's mailbox stage does), not at every message or
timer the mailbox holds (README "The busy mailbox in `simulate`")."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.support import at, bundled_defs
from wayfinder.journeys import boxes
from wayfinder.journeys import mailbox as mailbox_module
from wayfinder.journeys.effects import CancelPending, Dispatch, EnrollmentTimer, MailboxTimer
from wayfinder.journeys.mailbox import HeldByPerson
from wayfinder.journeys.records import Message
from wayfinder.streams.embedded import EmbeddedRunner

START = at("2026-03-02T12:00:00Z")
HELD = 60


def message(n: int) -> Message:
    when = START + timedelta(minutes=n)
    return Message(message_id=f"m-{n:04d}", employee_id=f"E{n % 3}", recipient_id="M1", recipient_role="manager",
                   journey_id="new-manager", journey_version=1, step_id="heads-up", channel="email",
                   status="deferred", subject="A new report", text="Someone joins your team.", scheduled_for=when,
                   created_at=when)


def busy_runner() -> EmbeddedRunner:
    """M1's mailbox holding HELD messages behind the bundled cap (3 a week)."""
    runner = EmbeddedRunner(bundled_defs())
    for n in range(HELD + 3):
        runner._now = START + timedelta(minutes=n)
        runner.to_mailbox("M1", Dispatch("M1", message(n), "Europe/Berlin", None))
    assert len(runner.mailboxes["M1"].pending) == HELD
    return runner


def test_a_cancel_about_someone_with_nothing_held_looks_at_no_held_message(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = busy_runner()
    assert isinstance(runner.mailboxes["M1"].pending, HeldByPerson)
    looked: list[str] = []
    real = boxes.cancels

    def counting(m: Message, *args: object) -> bool:
        looked.append(m.message_id)
        return real(m, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(mailbox_module, "cancels", counting)
    runner._now = START + timedelta(hours=5)
    runner.to_mailbox("M1", CancelPending("E-nobody", None, "exited", ("M1",), runner._now))
    assert looked == []  # a plain dict: every held message looked at
    runner.to_mailbox("M1", CancelPending("E1", None, "exited", ("M1",), runner._now))
    assert sorted(looked) == sorted(mid for mid in looked if runner.messages[mid].employee_id == "E1")
    assert all(m.employee_id != "E1" for m in runner.mailboxes["M1"].pending.values())
    assert {runner.messages[mid].status for mid in looked} == {"suppressed"}


def test_an_input_while_another_timer_is_due_fires_the_boxs_own_due_timers_first_and_looks_at_no_other() -> None:
    runner = busy_runner()
    first = next(iter(runner.mailboxes["M1"].pending.values()))
    due = first.scheduled_for
    runner.schedule(due, EnrollmentTimer("E-other", "onboarding", "e-other", 1))  # due too: the look runs
    looked: list[int] = []
    trim = runner._trim

    def counting_trim(box: str) -> tuple[datetime, int] | None:
        top = trim(box)
        if top is not None:
            looked.append(top[1])
        return top

    runner._trim = counting_trim  # type: ignore[method-assign,assignment]
    runner._now = due
    runner.to_mailbox("M1", Dispatch("M1", message(10_000), "Europe/Berlin", None))
    assert runner.messages[first.message_id].status == "sent"  # its timer fired before the input
    assert first.message_id not in runner.mailboxes["M1"].pending
    assert len(looked) == 2  # the due one, then the next (not due): not one look per timer held
    assert MailboxTimer("M1", first.message_id) not in runner._keys
