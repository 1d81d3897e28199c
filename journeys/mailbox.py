"""The recipient's mailbox: the frequency cap across journeys and quiet hours (SPEC §4, Policy).

A capped or quiet-hours message is deferred, never dropped: it gets the first slot that is
outside quiet hours and under the cap, and goes out then with the same ``message_id``.
Messages keep their order per recipient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from wayfinder.journeys._durations import parse_duration
from wayfinder.journeys._time import next_allowed, zone
from wayfinder.journeys.effects import (
    Decide,
    Dispatch,
    Effect,
    ForgetMailbox,
    MailboxInput,
    MailboxTimer,
    Schedule,
)
from wayfinder.journeys.model import Policy, to_time
from wayfinder.journeys.state import MailboxState, Slot

_MAX_ROUNDS = 10_000


@dataclass
class MailboxOutcome:
    """The state to keep (None: forget this mailbox) and the effects."""

    state: MailboxState | None
    effects: list[Effect] = field(default_factory=list)


class Mailbox:
    def __init__(self, policy: Policy) -> None:
        self.cap = policy.frequency_cap
        self.per = parse_duration(policy.frequency_cap.per) if policy.frequency_cap else timedelta(0)
        q = policy.quiet_hours
        self.window: tuple[time, time] | None = (to_time(q.start), to_time(q.end)) if q else None
        self.weekends = bool(q and q.weekends)

    def slot(self, state: MailboxState, now: datetime, timezone: str, own_window: tuple[time, time] | None
             ) -> tuple[datetime, str | None]:
        """The first time at or after ``now`` (and after anything already waiting here) that may be used,
        and why it is later than ``now``: quiet_hours, frequency_cap, or queued behind a deferred message."""
        tz = zone(timezone)
        window = own_window or self.window
        waiting = [s.at for s in state.slots if s.message_id in state.pending]
        t = max([now, *waiting])
        reason = "queued" if t > now else None
        for _ in range(_MAX_ROUNDS):
            allowed = next_allowed(t, tz, window, self.weekends)
            if allowed != t:
                t, reason = allowed, reason or "quiet_hours"
            if self.cap is None:
                return t, reason
            in_window = sorted(s.at for s in state.slots if t - self.per < s.at <= t)
            if len(in_window) < self.cap.max:
                return t, reason
            t, reason = in_window[len(in_window) - self.cap.max] + self.per, "frequency_cap"
        return t, reason  # pragma: no cover - a cap always frees a slot within max rounds

    def on_input(self, state: MailboxState | None, item: MailboxInput, now: datetime) -> MailboxOutcome:
        """One input for the mailbox ``item`` is addressed to (a cancel: for ``state``'s recipient)."""
        if isinstance(item, ForgetMailbox):
            return MailboxOutcome(None)
        if isinstance(item, Dispatch):
            return self.dispatch(state or MailboxState(recipient_id=item.mailbox), item, now)
        if state is None:
            return MailboxOutcome(None)  # nothing waits in a mailbox that does not exist
        return self.cancel(state, item.employee_id, item.journey_id, item.reason, now)

    def dispatch(self, state: MailboxState, d: Dispatch, now: datetime) -> MailboxOutcome:
        now = now.astimezone(UTC)  # cap arithmetic on instants, never on a local wall clock
        if any(s.message_id == d.message.message_id for s in state.slots):
            return MailboxOutcome(state)  # a replay of a message already placed
        at, reason = self.slot(state, now, d.timezone, d.quiet_hours)
        self._forget_old(state, now)
        state.slots.append(Slot(at=at, message_id=d.message.message_id))
        if at <= now:
            return MailboxOutcome(state, [Decide(d.message.with_status("sent", at=at))])
        deferred = d.message.with_status("deferred", reason=reason, at=at)
        state.pending[deferred.message_id] = deferred
        return MailboxOutcome(state, [Decide(deferred),
                                      Schedule(at, MailboxTimer(state.recipient_id, deferred.message_id))])

    def _forget_old(self, state: MailboxState, now: datetime) -> None:
        horizon = now - self.per
        state.slots = [s for s in state.slots if s.at > horizon or s.message_id in state.pending]

    def on_timer(self, state: MailboxState | None, timer: MailboxTimer, now: datetime) -> MailboxOutcome:
        """A deferred message's time came (a timer of a forgotten mailbox or a cancelled message does nothing)."""
        if state is None:
            return MailboxOutcome(None)
        message = state.pending.pop(timer.message_id, None)
        if message is None:
            return MailboxOutcome(state)
        return MailboxOutcome(state, [Decide(message.with_status("sent", at=message.scheduled_for))])

    def cancel(self, state: MailboxState, employee_id: str | None, journey_id: str | None, reason: str,
               now: datetime) -> MailboxOutcome:
        """Suppress what waits here about ``employee_id`` (anyone when None), from one journey or all."""
        effects: list[Effect] = []
        for mid, message in list(state.pending.items()):
            if employee_id is not None and message.employee_id != employee_id:
                continue
            if journey_id is not None and message.journey_id != journey_id:
                continue
            del state.pending[mid]
            state.slots = [s for s in state.slots if s.message_id != mid]
            out = message.redacted(reason, now) if reason == "erased" else message.with_status(
                "suppressed", reason=reason, at=now)
            effects.append(Decide(out))
        return MailboxOutcome(state, effects)
