"""The recipient's mailbox: the frequency cap across journeys and quiet hours (SPEC §4, Policy).

A capped or quiet-hours message is deferred, never dropped: it gets the first slot that is
outside quiet hours and under the cap, and goes out then with the same ``message_id``.
Messages keep their order per recipient.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from itertools import islice
from typing import Any

from wayfinder.journeys._durations import parse_duration
from wayfinder.journeys._time import next_allowed, parse_window, window_text, zone
from wayfinder.journeys.boxes import (
    QuietWeekends,
    cancels,
    keep_choices,
    leaves_later,
    nothing_to_keep,
    placing,
    refusal,
    withdrawn,
)
from wayfinder.journeys.effects import (
    CancelPending,
    Decide,
    Departure,
    Dispatch,
    Effect,
    ForgetMailbox,
    LeaveChanged,
    LeaveRule,
    MailboxInput,
    MailboxTimer,
    Preferences,
    Schedule,
)
from wayfinder.journeys.model import Policy, to_time
from wayfinder.journeys.records import Message
from wayfinder.journeys.state import LeavePeriod, MailboxState, Placing, Slot

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
        self.weekends = QuietWeekends(policy)

    def slot(self, state: MailboxState, now: datetime, timezone: str, own_window: tuple[time, time] | None,
             after: datetime | None = None, *, why_only: bool = False, weekend_country: str | None = None
             ) -> tuple[datetime, str | None]:
        """The first time at or after ``now`` (and after anything already waiting here, or ``after``: the time of the
        message it is placed behind) that may be used, and why it is later than ``now``: paused, quiet_hours
        or frequency_cap (what holds it at ``now``, also behind a deferred message), else queued (only the order).
        ``why_only``: only the reason is wanted, so the walk stops at the cap's first refusal (nothing after it
        changes the reason): asking it of a mailbox that holds months behind its cap walks one window, not all of
        them (README "The busy mailbox in `simulate`"). ``weekend_country``: the recipient's weekend when quiet
        (``QuietWeekends``)."""
        tz = zone(timezone)
        window = own_window or self.window
        weekends = self.weekends.of(weekend_country)
        # Held messages are queued in order, so the last one held is the latest (see MailboxState).
        if after is None:
            after = next(reversed(state.pending.values())).scheduled_for if state.pending else now
        t = max(now, after)
        reason = None
        if t > now:
            # Behind a held message, but it says what holds this one (SPEC §6: a message deferred by quiet hours or
            # the cap says so, also when another waits before it for the same reason); "queued" only when nothing
            # but the order does.
            reason = self.slot(state, now, timezone, own_window, after=now, why_only=True,
                               weekend_country=weekend_country)[1] or "queued"
        if state.paused_until is not None and state.paused_until > now:
            # Held by the pause, also behind another message it holds, even when that one waits past the pause's
            # end (its end in quiet hours, the cap): a message that comes during a pause is "paused", not "queued".
            t, reason = max(t, state.paused_until), "paused"
        for _ in range(_MAX_ROUNDS):
            allowed = next_allowed(t, tz, window, weekends)
            if allowed != t:
                t, reason = allowed, reason or "quiet_hours"
            if self.cap is None:
                return t, reason
            # Slots are in time order: the ones in (t - per, t] by bisection, not by a scan.
            hi = bisect_right(state.slots, t, key=_at)
            if hi - bisect_right(state.slots, t - self.per, key=_at) < self.cap.max:
                return t, reason
            t, reason = state.slots[hi - self.cap.max].at + self.per, "frequency_cap"
            if why_only:
                return t, reason
        return t, reason  # pragma: no cover - a cap always frees a slot within max rounds

    def on_input(self, state: MailboxState | None, item: MailboxInput, now: datetime) -> MailboxOutcome:
        """One input for the mailbox ``item`` is addressed to (a cancel: for ``state``'s recipient)."""
        if isinstance(item, ForgetMailbox):
            return MailboxOutcome(None)
        if isinstance(item, CancelPending):
            if state is None:
                return MailboxOutcome(None)  # nothing waits in a mailbox that does not exist
            return self.cancel(state, item.employee_id, item.journey_id, item.reason, now, item.role)
        if state is None and isinstance(item, Preferences) and nothing_to_keep(item) and item.timezone is None:
            return MailboxOutcome(None)
        if state is None and isinstance(item, Departure) and not leaves_later(item.left_at, now):
            return MailboxOutcome(None)
        box = state or MailboxState(recipient_id=item.mailbox)
        if isinstance(item, Departure):
            box.left_at = item.left_at  # what it holds is judged when it goes (a rehire, a correction may come first)
            return MailboxOutcome(box)
        if isinstance(item, Dispatch):
            return self.dispatch(box, item, now)
        if isinstance(item, Preferences):
            return self.prefer(box, item, now)
        return self.leave_changed(box, item, now)

    def dispatch(self, state: MailboxState, d: Dispatch, now: datetime, *, held: bool = False) -> MailboxOutcome:
        """Place a message: it goes now, or is held for its time. A message placed again while it waits here
        (``held``: new preferences) is checked against the opt-outs only if it goes now; one held on is checked
        when its time comes (SPEC §11), so an opt-out taken back before then loses nothing."""
        now = now.astimezone(UTC)  # cap arithmetic on instants, never on a local wall clock
        if self._placed(state, d.message, now):
            return MailboxOutcome(state)  # a replay of a message already placed
        refused = None if held else refusal(state, d.message, now)  # choices made since it was made (a review)
        if refused is not None:
            return MailboxOutcome(state, [Decide(withdrawn(d.message, refused, now))])
        timezone, quiet, country = placing(state.placing, d.timezone, d.quiet_hours, d.weekend_country)
        at, reason = self.slot(state, now, timezone, quiet, weekend_country=country)
        if held and at <= now and (refused := refusal(state, d.message, at)) is not None:
            return MailboxOutcome(state, [Decide(withdrawn(d.message, refused, now))])
        if d.on_leave != "send" and state.leave is not None and state.leave.covers(at):
            return MailboxOutcome(state, _hold_on_leave(state, d.message, d.on_leave, at, now))
        self._forget_old(state, now)
        state.slots.append(Slot(at=at, message_id=d.message.message_id))
        if at <= now:
            return MailboxOutcome(state, [Decide(_gone(d.message, at))])
        deferred = d.message.with_status("deferred", reason=reason, at=at)
        state.pending[deferred.message_id] = deferred
        state.timezone = timezone
        state.quiet_hours = window_text(quiet)
        state.weekend_country = country
        if d.on_leave != "defer":
            state.leave_rules[deferred.message_id] = d.on_leave
        return MailboxOutcome(state, [Decide(deferred),
                                      Schedule(at, MailboxTimer(state.recipient_id, deferred.message_id))])

    @staticmethod
    def _placed(state: MailboxState, message: Message, now: datetime) -> bool:
        """Whether this message already has a slot: held here, or sent since it was made (a slot is never
        earlier than the message; one that went is at or before now, and before the held ones, ``MailboxState``).
        Not bounded by ``now`` alone: a worker's clock can be behind a slot that went (a restart on another machine,
        or after a tick that had moved it on), and a replayed dispatch was then placed again."""
        if message.message_id in state.pending or message.message_id in state.on_leave:
            return True
        lo = bisect_left(state.slots, message.created_at, key=_at)
        hi = max(bisect_right(state.slots, now, key=_at), len(state.slots) - len(state.pending))
        return any(s.message_id == message.message_id for s in state.slots[lo:hi])

    def _forget_old(self, state: MailboxState, now: datetime) -> None:
        """Drop the slots that no cap window can reach again (a held message keeps its slot)."""
        old = bisect_right(state.slots, now - self.per, key=_at)
        if old:
            state.slots[:old] = [s for s in state.slots[:old] if s.message_id in state.pending]

    def on_timer(self, state: MailboxState | None, timer: MailboxTimer, now: datetime) -> MailboxOutcome:
        """A deferred message's time came (a timer of a forgotten mailbox or a cancelled message does nothing)."""
        if state is None:
            return MailboxOutcome(None)
        if timer.message_id in state.on_leave:
            return MailboxOutcome(state, self._release(state, now))
        message = state.pending.get(timer.message_id)
        if message is None or message.scheduled_for > now:
            return MailboxOutcome(state)  # cancelled, or held later since (a newer timer waits)
        if timer.message_id == state.stale_from:
            # it goes at the latest time it had, at one instant with the message before it (whose timer comes next)
            queue = list(state.pending)
            after = queue.index(timer.message_id) + 1
            state.stale_from = queue[after] if after < len(queue) else None
        del state.pending[timer.message_id]
        rule = state.leave_rules.pop(message.message_id, "defer")
        refused = refusal(state, message, message.scheduled_for)
        if refused is None and rule != "send" and state.leave is not None and state.leave.covers(
                message.scheduled_for):
            refused = "on_leave"  # a sensitive leave began while it waited here
        effects: list[Effect]
        if refused is None:
            effects = [Decide(_gone(message, message.scheduled_for))]
        else:
            state.slots = [s for s in state.slots if s.message_id != message.message_id]
            if refused == "on_leave":
                effects = _hold_on_leave(state, message, rule, message.scheduled_for, now)
            else:
                effects = [Decide(withdrawn(message, refused, now))]
            if state.pending:
                # it did not go, so it takes no place in the cap: what waited behind it moves up, as behind a
                # message withdrawn earlier (``cancel``)
                return MailboxOutcome(state, effects + self._move_up(state, 0, now.astimezone(UTC)))
        if state.stale_from is not None and next(iter(state.pending), None) == state.stale_from:
            # what waited behind withdrawn messages comes up: placed again from when the one before it left
            effects += self._move_up(state, 0, message.scheduled_for)
        return MailboxOutcome(state, effects)

    def leave_changed(self, state: MailboxState, item: LeaveChanged, now: datetime) -> MailboxOutcome:
        """The recipient's sensitive leave began or its end moved: what it holds waits for the new end, or goes
        now when the recipient is not on leave now: the leave is over (an end before its start too), or the one that
        replaced it has not begun (what it holds goes through the mailbox, and is held again if its time falls in
        the new period, as the digest box does)."""
        state.leave = LeavePeriod(leave_type="", start=item.start, end=item.end, timezone=item.timezone,
                                  quiet_hours=item.quiet_hours, weekend_country=item.weekend_country)
        if not state.leave.covers(now.astimezone(UTC)):
            return MailboxOutcome(state, self._release(state, now))
        effects: list[Effect] = []
        end = item.end
        for mid, held in list(state.on_leave.items()):
            if end is not None and held.scheduled_for != end:
                state.on_leave[mid] = held.with_status("deferred", reason="on_leave", at=end)
                effects += [Decide(state.on_leave[mid]), Schedule(end, MailboxTimer(state.recipient_id, mid))]
        return MailboxOutcome(state, effects)

    def _release(self, state: MailboxState, now: datetime) -> list[Effect]:
        """The leave is over (a timer of a leave that goes on does nothing): everything held for it goes through
        the mailbox from now, in the order it was held, opt-outs checked again."""
        leave = state.leave
        now = now.astimezone(UTC)
        if leave is None or leave.covers(now):
            return []
        quiet = parse_window(leave.quiet_hours) if leave.quiet_hours else None
        effects: list[Effect] = []
        held, state.on_leave = state.on_leave, {}
        for message in held.values():
            refused = refusal(state, message, now)
            if refused is not None:
                effects.append(Decide(withdrawn(message, refused, now)))
                continue
            effects += self.dispatch(state, Dispatch(state.recipient_id, message, leave.timezone, quiet,
                                                     weekend_country=leave.weekend_country), now).effects
        return effects

    def prefer(self, state: MailboxState, p: Preferences, now: datetime) -> MailboxOutcome:
        """New preferences: everything waiting here is placed again, in order, from now, under the new pause, quiet
        hours and timezone, with the cap (a pause holds what is due before its end until then, or later if quiet
        hours or the cap say so; one shortened or lifted lets what it held go sooner). A message whose time comes
        out as before keeps its record and its timer."""
        now = now.astimezone(UTC)
        keep_choices(state, p)
        if p.timezone is None:
            return MailboxOutcome(state)
        state.placing = Placing(timezone=p.timezone, quiet_hours=window_text(p.quiet_hours),
                                weekend_country=p.weekend_country)
        if state.leave is not None:  # what the leave holds goes, at its end, where the recipient is now
            state.leave = state.leave.model_copy(update={"timezone": p.timezone,
                                                          "quiet_hours": window_text(p.quiet_hours),
                                                          "weekend_country": p.weekend_country})
        return MailboxOutcome(state, self._place_again(state, p.timezone, p.quiet_hours, now, p.weekend_country))

    def _place_again(self, state: MailboxState, timezone: str, quiet: tuple[time, time] | None,
                     now: datetime, weekend_country: str | None = None) -> list[Effect]:
        """Everything waiting here, dispatched again in order from ``now`` (a message whose time comes out as
        before keeps its record and its timer)."""
        state.stale_from = None
        if not state.pending:
            return []
        waiting, state.pending = list(state.pending.values()), {}
        gone = {m.message_id for m in waiting}
        state.slots = [s for s in state.slots if s.message_id not in gone]
        effects: list[Effect] = []
        for message in waiting:
            rule: LeaveRule = state.leave_rules.pop(message.message_id, "defer")
            placed = self.dispatch(state, Dispatch(state.recipient_id, message, timezone, quiet, rule,
                                                   weekend_country=weekend_country), now, held=True)
            now_held = state.pending.get(message.message_id)
            if now_held is not None and now_held.scheduled_for == message.scheduled_for:
                state.pending[message.message_id] = message  # as before: its record and its timer stand
            else:
                effects += placed.effects
        return effects

    def cancel(self, state: MailboxState, employee_id: str | None, journey_id: str | None, reason: str,
               now: datetime, role: str | None = None) -> MailboxOutcome:
        """Suppress what waits here about ``employee_id`` (anyone when None), from one journey or all; what waited
        behind a withdrawn message moves up (``_move_up``)."""
        # One pass over what is held, or over what is about that person where the held messages are indexed so (a
        # cancel about someone with nothing here is common: every exit and termination of a person a busy manager
        # is told about comes to the manager's mailbox).
        taken = [(mid, m) for held in (state.pending, state.on_leave) for mid, m in _about(held, employee_id)
                 if cancels(m, employee_id, journey_id, role)]
        if not taken:
            return MailboxOutcome(state)
        gone = {mid for mid, _ in taken}
        ids = list(state.pending)
        positions = [i for i, mid in enumerate(ids) if mid in gone]
        stale = ids.index(state.stale_from) if state.stale_from in state.pending else None
        _drop_slots(state, ids, positions)
        effects: list[Effect] = []
        for mid, message in taken:
            state.pending.pop(mid, None)
            state.on_leave.pop(mid, None)
            state.leave_rules.pop(mid, None)
            effects.append(Decide(withdrawn(message, reason, now)))
        if not positions:  # only messages held for a leave: nothing waited behind them
            return MailboxOutcome(state, effects)
        if not state.pending:
            state.stale_from = None
            return MailboxOutcome(state, effects)
        if stale is not None and positions[0] >= stale:
            # withdrawn from the stale part, which moves up when its turn comes (it begins where it began)
            state.stale_from = next(islice(state.pending, stale, None), None)
            return MailboxOutcome(state, effects)
        # What waited behind a withdrawn message may go sooner: it never went, so it takes no place in the cap.
        effects += self._move_up(state, positions[0], now.astimezone(UTC))
        return MailboxOutcome(state, effects)

    # How many held messages behind one that left the queue are placed again at once (README, Mailbox).
    at_once = 20

    def _move_up(self, state: MailboxState, start: int, now: datetime) -> list[Effect]:
        """Place again, from ``now`` and in order, the held messages from position ``start`` on (the one before
        them left the queue, or they were held behind it): the first ``at_once`` of them, and on while one would
        still go later than the next is held for. The rest keep their records and timers, and the time in them is
        the latest they will go; ``stale_from`` marks the first of them, placed again when the message before it
        leaves. A message whose time comes out as before keeps its record and its timer."""
        if state.timezone is None:  # pragma: no cover - a held message always left its timezone here
            return []
        quiet = parse_window(state.quiet_hours) if state.quiet_hours else None
        behind = _cut_slots(state, start)
        after = next(islice(state.pending.values(), start - 1, None)).scheduled_for if start else now
        state.stale_from = None
        effects: list[Effect] = []
        left: list[str] = []  # out of the queue; taken out of it after the walk, which walks the queue itself
        for i, (mid, message) in enumerate(islice(state.pending.items(), start, None)):
            if i >= self.at_once and now < after <= message.scheduled_for:  # (the one before it is still held)
                state.slots.extend(behind[i:])
                state.stale_from = mid
                break
            rule = state.leave_rules.get(mid, "defer")
            at, reason = self.slot(state, now, state.timezone, quiet, after, weekend_country=state.weekend_country)
            # the opt-outs are checked when it goes (now, or at its timer), not while it waits
            refused = refusal(state, message, at) if at <= now else None
            if refused is None and rule != "send" and state.leave is not None and state.leave.covers(at):
                refused = "on_leave"
            if refused is not None:
                left.append(mid)
                effects += (_hold_on_leave(state, message, rule, at, now) if refused == "on_leave" else
                            [Decide(withdrawn(message, refused, now))])
                continue
            state.slots.append(behind[i] if at == behind[i].at else Slot(at=at, message_id=mid))
            after = at
            if at <= now:
                left.append(mid)
                effects.append(Decide(_gone(message, at)))
            elif at != message.scheduled_for:
                moved = message.with_status("deferred", reason=reason, at=at)
                state.pending[mid] = moved  # the same key: the walk goes on
                effects += [Decide(moved), Schedule(at, MailboxTimer(state.recipient_id, mid))]
        for mid in left:
            del state.pending[mid]
            state.leave_rules.pop(mid, None)
        return effects


class HeldByPerson(dict[str, Message]):
    """Held messages that can say which of them are about a person, in the order held (:meth:`about`): a cancel about
    someone then looks at their messages only, not at every one held (a busy manager's mailbox hears of every exit
    of someone it was told about). The index is made when first asked and kept up by every way of changing the dict
    (the mailbox uses item assignment, ``del`` and ``pop``). Both runners hold a mailbox's messages so: ``simulate``
    (``streams.embedded``) and the worker's stage (``streams.held.HeldDict``, which also notes what changed)."""

    __slots__ = ("_by",)

    def __init__(self, items: Mapping[str, Message] | None = None) -> None:
        super().__init__(items or {})
        self._by: dict[str, dict[str, None]] | None = None

    def about(self, employee_id: str) -> list[str]:
        """The ids of the held messages about ``employee_id``, in the order held."""
        if self._by is None:
            self._by = {}
            for mid, message in self.items():
                self._by.setdefault(message.employee_id, {})[mid] = None
        return list(self._by.get(employee_id, ()))

    def _unindex(self, key: str) -> None:
        if self._by is not None:
            self._by.get(dict.__getitem__(self, key).employee_id, {}).pop(key, None)

    def __setitem__(self, key: str, value: Message) -> None:
        if self._by is not None:
            old = dict.get(self, key)
            if old is None:
                self._by.setdefault(value.employee_id, {})[key] = None  # at the end, as in the dict
            elif old.employee_id != value.employee_id:
                self._by = None  # (a message never changes whom it is about; were it to, the index is made again)
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        if dict.__contains__(self, key):
            self._unindex(key)
        super().__delitem__(key)

    def pop(self, key: str, *default: Any) -> Any:
        if dict.__contains__(self, key):
            self._unindex(key)
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, Message]:
        if self:
            self._unindex(next(reversed(self)))
        return super().popitem()

    def clear(self) -> None:
        self._by = None
        super().clear()

    def setdefault(self, key: str, default: Message) -> Message:
        if not dict.__contains__(self, key):
            self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: Message) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __ior__(self, other: Any) -> HeldByPerson:  # type: ignore[override,misc]
        self.update(other)
        return self


def _about(held: dict[str, Message], employee_id: str | None) -> Iterable[tuple[str, Message]]:
    """The held messages a cancel about ``employee_id`` (anyone when None) may take, in the order held: all of them,
    or, where the dict keeps an index by person, those about that person (``cancels`` still decides)."""
    if employee_id is None or not isinstance(held, HeldByPerson):
        return held.items()
    return [(mid, held[mid]) for mid in held.about(employee_id)]


def _drop_slots(state: MailboxState, ids: list[str], positions: list[int]) -> None:
    """Take out the slots of the held messages at ``positions`` of the queue ``ids`` (in order): the last slots are
    the held messages' (MailboxState), so by index; by id if that order does not hold (two messages that went at one
    instant)."""
    if not positions:
        return
    base = len(state.slots) - len(ids)
    if base >= 0 and all(state.slots[base + i].message_id == ids[i] for i in positions):
        for i in reversed(positions):
            del state.slots[base + i]
        return
    gone = {ids[i] for i in positions}
    state.slots = [s for s in state.slots if s.message_id not in gone]


def _cut_slots(state: MailboxState, start: int) -> list[Slot]:
    """Take out the slots of the held messages from position ``start`` on and return them in order: the last slots,
    as MailboxState says (checked at both ends), else found by id."""
    base = len(state.slots) - len(state.pending) + start
    first = next(islice(state.pending, start, None), None)
    if first is None:
        return []  # nothing behind
    if base >= 0 and state.slots[base].message_id == first and state.slots[-1].message_id == next(
            reversed(state.pending)):
        behind = state.slots[base:]
        del state.slots[base:]
        return behind
    mids = list(islice(state.pending, start, None))
    wanted = set(mids)
    mine = {s.message_id: s for s in state.slots if s.message_id in wanted}
    state.slots = [s for s in state.slots if s.message_id not in wanted]
    return [mine.get(mid) or Slot(at=state.pending[mid].scheduled_for, message_id=mid) for mid in mids]


def _hold_on_leave(state: MailboxState, message: Message, rule: str, due: datetime, now: datetime) -> list[Effect]:
    """A message due during the recipient's sensitive leave: suppressed, or held (reason ``on_leave``) until the
    leave ends; while its end is not known, ``scheduled_for`` stays the time it was due."""
    if rule == "suppress":
        return [Decide(message.with_status("suppressed", reason="on_leave", at=now))]
    end = state.leave.end if state.leave is not None else None
    held = message.with_status("deferred", reason="on_leave", at=end or due)
    state.on_leave[held.message_id] = held
    if end is None:
        return [Decide(held)]
    return [Decide(held), Schedule(end, MailboxTimer(state.recipient_id, held.message_id))]


def _at(slot: Slot) -> datetime:
    return slot.at


def _gone(message: Message, at: datetime) -> Message:
    """The message goes out: ``approved`` when a person approved it (SPEC §11), else ``sent``."""
    return message.with_status("approved" if message.reviewer_id is not None else "sent", at=at)
