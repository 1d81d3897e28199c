"""A busy recipient: what one more message costs when the mailbox already holds thousands.

    .venv/bin/python -m benchmarks.mailbox_load                  # 10,000 held messages
    .venv/bin/python -m benchmarks.mailbox_load --held 50000

With the bundled policy's cap (3 a week) one recipient is sent messages until 10,000 wait behind the cap;
then, side by side in one run, the time of a dispatch, of a timer firing (a held message going out) and
of a cancel to that busy mailbox against the same to a mailbox that holds nothing. The ratio is the
figure: the mailbox's work per message should not grow with what it holds (issue 10: within 1.5x). Last, the same
through `simulate`'s runner, at an instant when another timer is due (the runner first fires the box's own timers
due by then).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from benchmarks.core_throughput import bundled
from wayfinder.journeys.effects import Decide, Dispatch, EnrollmentTimer, MailboxTimer
from wayfinder.journeys.mailbox import HeldByPerson, Mailbox
from wayfinder.journeys.records import Message
from wayfinder.journeys.state import MailboxState
from wayfinder.streams.embedded import EmbeddedRunner

START = datetime(2026, 1, 5, 9, tzinfo=UTC)


def message(n: int, at: datetime, recipient: str) -> Message:
    return Message(message_id=f"m-{recipient}-{n:08d}", employee_id=f"E{n % 500}", recipient_id=recipient,
                   journey_id="new-manager", journey_version=1, step_id="heads-up", channel="email",
                   status="deferred", scheduled_for=at, created_at=at, subject="A new report",
                   text="Someone joins your team." * 20, resources=["manager-guide"])


def per_dispatch(mailbox: Mailbox, state: MailboxState, start: datetime, rounds: int, tag: str) -> float:
    """Seconds per dispatch of ``rounds`` new messages (each into a copy of the state, so all see the same)."""
    elapsed = 0.0
    for n in range(rounds):
        box = state.model_copy(deep=False, update={"slots": list(state.slots), "pending": dict(state.pending)})
        d = Dispatch(state.recipient_id, message(10_000_000 + n, start, state.recipient_id + tag),
                     "Europe/Berlin", None)
        t0 = time.perf_counter()
        mailbox.dispatch(box, d, start)
        elapsed += time.perf_counter() - t0
    return elapsed / rounds


def per_fire(mailbox: Mailbox, state: MailboxState, rounds: int) -> float:
    """Seconds per held message going out (its timer firing), for the first ``rounds`` held."""
    box = state.model_copy(deep=False, update={"slots": list(state.slots), "pending": dict(state.pending)})
    due = list(box.pending.values())[:rounds]
    t0 = time.perf_counter()
    for m in due:
        mailbox.on_timer(box, MailboxTimer(box.recipient_id, m.message_id), m.scheduled_for)
    return (time.perf_counter() - t0) / max(1, len(due))


def per_cancel(mailbox: Mailbox, state: MailboxState, now: datetime, rounds: int) -> tuple[float, float]:
    """Seconds per cancel of one person's held messages (an exit or a termination of someone the recipient is
    told about), each into a copy of the state, and how many messages a cancel took on average: what waited
    behind them moves up (README, Mailbox)."""
    elapsed = 0.0
    taken = 0
    people = sorted({m.employee_id for m in state.pending.values()})
    for n in range(rounds):
        box = state.model_copy(deep=False, update={"slots": list(state.slots), "pending": dict(state.pending),
                                                   "on_leave": dict(state.on_leave),
                                                   "leave_rules": dict(state.leave_rules)})
        t0 = time.perf_counter()
        out = mailbox.cancel(box, people[n * 7 % len(people)], None, "exited", now)
        elapsed += time.perf_counter() - t0
        taken += sum(isinstance(e, Decide) and e.message.status == "suppressed" for e in out.effects)
    return elapsed / max(1, rounds), taken / max(1, rounds)


def per_runner_input(held: int, rounds: int) -> tuple[float, float, int]:
    """Seconds per message given to ``simulate``'s runner (``EmbeddedRunner.to_mailbox``) for a mailbox holding
    ``held`` messages and for mailboxes holding none, while a timer of someone else is due at that instant: the
    runner then looks for the box's own timers due first. Also the timers the busy box owns."""
    runner = EmbeddedRunner(bundled())
    runner._now = START  # the runner's clock, as an effect's carrying out sets it
    n = 0
    while len(runner.mailboxes["M-busy"].pending if "M-busy" in runner.mailboxes else ()) < held:
        runner._now = START + timedelta(minutes=n)
        runner.to_mailbox("M-busy", Dispatch("M-busy", message(n, runner._now, "M-busy"), "Europe/Berlin", None))
        n += 1
    now = START + timedelta(minutes=n)
    runner.schedule(now, EnrollmentTimer("E-other", "onboarding", "e-other", 1))  # due, and never fired here
    spent = {"M-busy": 0.0, "M-quiet": 0.0}
    for k in range(rounds):
        for who in spent:
            to = who if who == "M-busy" else f"{who}-{k}"  # a new empty mailbox each time
            d = Dispatch(to, message(10_000_000 + k, now, to), "Europe/Berlin", None)
            runner._now = now
            t0 = time.perf_counter()
            runner.to_mailbox(to, d)
            spent[who] += time.perf_counter() - t0
    return spent["M-busy"] / rounds, spent["M-quiet"] / rounds, runner.pending_timers - 1


def build_parser() -> argparse.ArgumentParser:
    """The command line (the README's commands of this benchmark are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--held", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2_000)
    return parser


def main() -> None:
    cli = build_parser()
    args = cli.parse_args()
    policy = bundled().policy
    cap = policy.frequency_cap
    if cap is not None and args.held <= cap.max:  # the cancels' second mailbox would hold none of what it is given
        cli.error(f"--held must be more than the bundled policy's cap ({cap.max} per {cap.per}): the mailbox "
                  "holding a few is given the busy one's first messages, and the cap lets that many go at once")
    mailbox = Mailbox(policy)
    busy = MailboxState(recipient_id="M-busy")
    busy.pending = HeldByPerson()  # as both runners hold a mailbox's messages: with an index by person
    t0 = time.perf_counter()
    n = 0
    while len(busy.pending) < args.held:
        at = START + timedelta(minutes=n)
        mailbox.dispatch(busy, Dispatch("M-busy", message(n, at, "M-busy"), "Europe/Berlin", None), at)
        n += 1
    fill = time.perf_counter() - t0
    now = START + timedelta(minutes=n)
    empty = MailboxState(recipient_id="M-quiet")
    quiet_d = per_dispatch(mailbox, empty, now, args.rounds, "")
    busy_d = per_dispatch(mailbox, busy, now, args.rounds, "")
    last = next(reversed(busy.pending.values())).scheduled_for
    print(f"one recipient holding {len(busy.pending):,} messages (held until {last:%Y-%m-%d}); filled in "
          f"{fill:.1f}s ({fill / n * 1e6:.0f} µs a message on average)")
    print(f"dispatch to an empty mailbox:   {quiet_d * 1e6:8.1f} µs")
    print(f"dispatch to the busy mailbox:   {busy_d * 1e6:8.1f} µs   ratio {busy_d / quiet_d:.2f}x")
    print(f"a held message going out (busy): {per_fire(mailbox, busy, args.rounds) * 1e6:7.1f} µs")
    few = MailboxState(recipient_id="M-few")  # the busy one's first 50 messages, all but the cap's first held
    few.pending = HeldByPerson()
    for m in list(busy.pending.values())[:50]:
        mailbox.dispatch(few, Dispatch("M-few", m.model_copy(update={"recipient_id": "M-few"}), "Europe/Berlin", None),
                         m.created_at)
    rounds = max(1, args.rounds // 100)
    (few_c, few_n), (busy_c, busy_n) = per_cancel(mailbox, few, now, rounds), per_cancel(mailbox, busy, now, rounds)
    print(f"cancel of one person's messages, a mailbox holding {len(few.pending)}: {few_c * 1e6:9.1f} µs "
          f"(takes {few_n:.1f} messages)")
    print(f"cancel of one person's messages, the busy mailbox: {busy_c * 1e6:9.1f} µs (takes {busy_n:.1f})   "
          f"ratio {busy_c / few_c:.1f}x; per message taken {busy_c / busy_n / (few_c / few_n):.1f}x")
    t0 = time.perf_counter()
    for _ in range(rounds * 10):  # about someone with nothing held there: changes nothing
        mailbox.cancel(busy, "E-nobody", None, "exited", now)
    nothing = (time.perf_counter() - t0) / (rounds * 10)
    print(f"cancel taking nothing, the busy mailbox:           {nothing * 1e6:9.1f} µs")
    busy_r, quiet_r, timers = per_runner_input(args.held, rounds * 10)
    print(f"simulate, another timer due: a message to the busy mailbox ({timers:,} timers) {busy_r * 1e6:.1f} µs, "
          f"to an empty one {quiet_r * 1e6:.1f} µs   ratio {busy_r / quiet_r:.2f}x")


if __name__ == "__main__":
    main()
