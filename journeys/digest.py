"""Digests for role recipients: messages to a manager or HR partner gathered into one message a day or a week.

A recipient's digest box is beside their mailbox (its own state, its own timers). The policy's ``digests``
say, per recipient role, which journeys' messages are gathered and when a digest closes. A gathered message is
recorded ``deferred`` (reason ``digest``, ``scheduled_for`` the closing time, ``digest_id`` set); when the
digest closes it is rendered from its template as one message and recorded ``sent``, and every message in it is
recorded ``sent`` at that time with the same ``digest_id`` (delivery sends the digest, not them). The rules
are in the README ("Digests").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wayfinder.journeys._time import local_at, next_allowed, parse_window, window_text, zone
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
    Diagnostic,
    DigestInput,
    DigestTimer,
    Effect,
    ForgetMailbox,
    Gather,
    LeaveChanged,
    Preferences,
    Schedule,
)
from wayfinder.journeys.explain import Explanation
from wayfinder.journeys.i18n import gettext
from wayfinder.journeys.model import DigestRule, Policy, to_time
from wayfinder.journeys.records import Gathered, Message, stable_id
from wayfinder.journeys.state import LeavePeriod, Placing, unset
from wayfinder.journeys.templates import MessageTemplate, RenderError, TooLong, footer_explanation, split_footer

__all__ = ["DigestOutcome", "DigestState", "Digests", "OpenDigest", "digest_rule"]

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SEARCH_DAYS = 15  # a closing day outside quiet hours is always found within two weeks


class OpenDigest(BaseModel):
    """One digest still gathering: what it holds, in the order it came."""

    model_config = ConfigDict(extra="forbid")

    digest_id: str
    role: str
    closes_at: datetime
    items: list[Message] = Field(default_factory=list)
    paused: bool = Field(False, exclude_if=unset)  # its time came during a pause: held to the pause's end
    on_leave: bool = Field(False, exclude_if=unset)  # its time came during the recipient's leave: held to its end
    # the messages whose journey says otherwise for the recipient's leave (``send``: essential; ``suppress``)
    leave_rules: dict[str, Literal["send", "suppress"]] = Field(default_factory=dict, exclude_if=unset)


class DigestState(BaseModel):
    """A recipient's digest box: open digests by id, and the recipient's opt-outs and pause (SPEC §11)."""

    model_config = ConfigDict(extra="forbid")

    recipient_id: str
    open: dict[str, OpenDigest] = Field(default_factory=dict, exclude_if=unset)
    opt_out_channels: list[str] = Field(default_factory=list, exclude_if=unset)
    opt_out_topics: list[str] = Field(default_factory=list, exclude_if=unset)
    paused_until: datetime | None = Field(None, exclude_if=unset)
    # the messages gathered into digests that closed, with when they closed (for ``REPLAY_WINDOW``): a copy of one
    # that comes again (a replay after a crash) is not gathered into a second digest
    gone: dict[str, datetime] = Field(default_factory=dict, exclude_if=unset)
    # where the recipient was at the last gather or change of preferences (their timezone, own quiet hours as
    # "HH:MM:SS-HH:MM:SS"): a digest a pause held goes at the first allowed time after it
    timezone: str | None = Field(None, exclude_if=unset)
    quiet_hours: str | None = Field(None, exclude_if=unset)
    weekend_country: str | None = Field(None, exclude_if=unset)  # and the weekend they keep (``Placing``)
    # the recipient's sensitive leave (Policy.leave_pause), as LeaveChanged said: it holds their digests
    leave: LeavePeriod | None = Field(None, exclude_if=unset)
    # when the recipient's termination takes effect, as ``Departure`` said: what closes then or later about someone
    # else does not go (README "Leavers")
    left_at: datetime | None = Field(None, exclude_if=unset)


REPLAY_WINDOW = timedelta(days=8)
"""How long a digest box remembers the messages of a digest that closed: longer than a weekly digest's week."""


@dataclass
class DigestOutcome:
    """The state to keep (None: nothing open and nothing to remember) and the effects."""

    state: DigestState | None
    effects: list[Effect] = field(default_factory=list)


def digest_rule(policy: Policy, role: str, journey_id: str, channel: str) -> DigestRule | None:
    """The rule that gathers a message to ``role`` from ``journey_id`` on ``channel``, if any."""
    if role == "employee" or not policy.digests:
        return None
    rule: DigestRule | None = policy.digests.get(role)  # type: ignore[call-overload]
    if rule is None or rule.channel != channel:
        return None
    if rule.journeys is not None and journey_id not in rule.journeys:
        return None
    return rule


def _may_go(state: DigestState, items: list[Message], at: datetime, now: datetime) -> tuple[list[Message],
                                                                                         list[Effect]]:
    """The items of a digest closing at ``at`` that may go, and the records of those that may not (``refusal``: the
    recipient opted out of their channel or every topic since they were gathered, or has left). One check for a
    digest that closes and for the essential items of one closing during a sensitive leave (those went unchecked:
    an opt-out made while on leave was not kept)."""
    going: list[Message] = []
    effects: list[Effect] = []
    for m in items:
        refused = refusal(state, m, at)
        if refused is None:
            going.append(m)
        else:
            effects.append(Decide(withdrawn(m, refused, now)))
    return going, effects


class Digests:
    """The digest core: pure, like the mailbox (state in, state and effects out)."""

    def __init__(self, policy: Policy, templates: Mapping[str, MessageTemplate]) -> None:
        self.policy = policy
        self.templates = templates
        q = policy.quiet_hours
        self.window: tuple[time, time] | None = (to_time(q.start), to_time(q.end)) if q else None
        self.weekends = QuietWeekends(policy)

    @property
    def enabled(self) -> bool:
        return bool(self.policy.digests)

    # -- when a digest closes -------------------------------------------------------------------
    def closes_at(self, rule: DigestRule, now: datetime, timezone: str, own_window: tuple[time, time] | None,
                  weekend_country: str | None = None) -> datetime:
        """The first closing time after ``now``: the rule's local time on a day it goes (weekly: its day), on
        the first such day whose time is outside the recipient's quiet hours (and weekends when quiet: those of
        ``weekend_country`` when the policy lists it)."""
        tz = zone(timezone)
        window = own_window or self.window
        weekends = self.weekends.of(weekend_country)
        at = to_time(rule.at)
        local = now.astimezone(tz)
        weekday = _WEEKDAYS.index(rule.day or "monday") if rule.every == "weekly" else None
        first: datetime | None = None  # the rule's first time after ``now``, quiet or not
        for offset in range(_SEARCH_DAYS * (7 if weekday is not None else 1)):
            day = local.date() + timedelta(days=offset)
            if weekday is not None and day.weekday() != weekday:
                continue
            candidate = local_at(day, at, tz).astimezone(UTC)
            if candidate <= now:
                continue
            if next_allowed(candidate, tz, window, weekends) == candidate:
                return candidate
            first = first or candidate
        # Every candidate is quiet (the time of day is inside the quiet window, or a weekly rule's day is a quiet
        # weekend day): the first allowed time after the rule's first time after ``now``, so a weekly digest stays
        # weekly. (Its search began at tomorrow's: a message on a Saturday morning, before a Saturday rule's time,
        # waited a week more than one after it.)
        # (the search spans more than a week, so the rule's day is in it: ``first`` is always found)
        return next_allowed(first or now, tz, window, weekends)

    # -- inputs ---------------------------------------------------------------------------------
    def on_input(self, state: DigestState | None, item: DigestInput, now: datetime, *,
                 own: Placing | None = None) -> DigestOutcome:
        """One input for the digest box ``item`` is addressed to. ``own``: the recipient's time zone and quiet hours
        as their mailbox keeps them (``MailboxState.placing``; None: it has not heard of them), which a gathered
        message's digest closes by, as the mailbox places by them (``boxes.placing``); the runners hand them over,
        as the mailbox and the digest box of one recipient are kept side by side."""
        if isinstance(item, ForgetMailbox):
            return DigestOutcome(None)
        if isinstance(item, CancelPending):
            return DigestOutcome(None) if state is None else self.cancel(state, item, now)
        if state is None and isinstance(item, Preferences) and nothing_to_keep(item):
            return DigestOutcome(None)
        if state is None and isinstance(item, Departure) and not leaves_later(item.left_at, now):
            return DigestOutcome(None)
        box = state or DigestState(recipient_id=item.mailbox)
        if isinstance(item, Departure):
            box.left_at = item.left_at  # a digest is judged when it closes (a rehire, a correction may come first)
            return DigestOutcome(box)
        if isinstance(item, Gather):
            return self.gather(box, item, now, own)
        if isinstance(item, LeaveChanged):
            return self.leave_changed(box, item, now)
        return self.prefer(box, item, now)

    def _on_leave(self, state: DigestState, leave: LeavePeriod, box: OpenDigest, now: datetime) -> list[Effect]:
        """A digest closing during the recipient's sensitive leave, as the mailbox treats each message: the
        essential ones (``send``) go now, in this digest, checked as every item is when a digest closes (``_may_go``:
        the recipient's opt-outs, or their leaving); the ``suppress`` ones are suppressed; the rest wait in a digest
        of their own until the first allowed time after the leave's end (held, ``on_leave``, while the end is not
        known)."""
        rules = box.leave_rules
        going, effects = _may_go(state, [m for m in box.items if rules.get(m.message_id) == "send"], box.closes_at,
                                 now)
        effects += [Decide(m.with_status("suppressed", reason="on_leave", at=now)) for m in box.items
                    if rules.get(m.message_id) == "suppress"]
        waiting = [m for m in box.items if rules.get(m.message_id) not in ("send", "suppress")]
        del state.open[box.digest_id]
        if waiting:
            later = OpenDigest(digest_id=stable_id("d", state.recipient_id, box.role, "leave", box.digest_id),
                               role=box.role, closes_at=now, on_leave=True,
                               items=[m.model_copy(update={"digest_id": None}) for m in waiting])
            state.open[later.digest_id] = later
            later.items = [m.model_copy(update={"digest_id": later.digest_id}) for m in later.items]
            if leave.end is None:
                effects += [Decide(m.with_status("deferred", reason="on_leave", at=now)) for m in later.items]
            else:
                effects += self._hold(state, later, self._after_pause(state, leave.end), paused=False,
                                      reason="on_leave")
                later.on_leave = True
        if going:
            state.gone.update(dict.fromkeys((m.message_id for m in going), now))
            effects += self._close(state.recipient_id, box, going, now)
        return effects

    def leave_changed(self, state: DigestState, item: LeaveChanged, now: datetime) -> DigestOutcome:
        """The recipient's sensitive leave began or its end moved (README "Digests"): a digest whose time comes
        during it waits for its end; one it held goes at the first allowed time after it ends."""
        now = now.astimezone(UTC)
        state.leave = LeavePeriod(leave_type="", start=item.start, end=item.end, timezone=item.timezone,
                                  quiet_hours=item.quiet_hours, weekend_country=item.weekend_country)
        effects: list[Effect] = []
        for box in state.open.values():
            if not box.on_leave:
                continue
            if not state.leave.covers(now):
                effects += self._hold(state, box, self._after_pause(state, now), paused=False)
                box.on_leave = False
            elif state.leave.end is not None and (at := self._after_pause(state, state.leave.end)) != box.closes_at:
                effects += self._hold(state, box, at, paused=False, reason="on_leave")
                box.on_leave = True
        return DigestOutcome(state, effects)

    def _after_pause(self, state: DigestState, now: datetime) -> datetime:
        """When a digest a pause held goes: the first time at or after the pause's end (or now, when the pause is
        over) outside the recipient's quiet hours and quiet weekends."""
        start = max(now, state.paused_until) if state.paused_until is not None else now
        window = parse_window(state.quiet_hours) if state.quiet_hours else None
        return next_allowed(start.astimezone(UTC), zone(state.timezone or "UTC"), window or self.window,
                            self.weekends.of(state.weekend_country))

    @staticmethod
    def _hold(state: DigestState, box: OpenDigest, at: datetime, *, paused: bool = True,
              reason: str | None = None) -> list[Effect]:
        """Move ``box`` to ``at`` (a pause or a leave holds it, or one lifted lets it go sooner): its messages say
        when they go, and why (``paused``, ``on_leave``, else ``digest``)."""
        box.closes_at, box.paused = at, paused
        why = reason or ("paused" if paused else "digest")
        items = [m.with_status("deferred", reason=why, at=at) for m in box.items]
        box.items = items
        return [*(Decide(m) for m in items), Schedule(at, DigestTimer(state.recipient_id, box.digest_id))]

    def gather(self, state: DigestState, g: Gather, now: datetime, own: Placing | None = None) -> DigestOutcome:
        """Gather ``g``'s message into the digest that closes at the rule's first time after ``now`` where the
        recipient is (``own``, else the copy the message carries: ``boxes.placing``)."""
        now = now.astimezone(UTC)
        message = g.message
        role = message.recipient_role
        rule = digest_rule(self.policy, role, message.journey_id, message.channel)
        if rule is None:  # the policy changed between the decision and here: gather with the role's usual time
            rule = DigestRule(every="daily")
        if message.message_id in state.gone or any(
                message.message_id == m.message_id for d in state.open.values() for m in d.items):
            return DigestOutcome(state)  # a replay of a message already gathered (its digest may have gone)
        timezone, quiet, country = placing(own, g.timezone, g.quiet_hours, g.weekend_country)
        state.timezone = timezone
        state.quiet_hours = window_text(quiet)
        state.weekend_country = country
        closes = self.closes_at(rule, now, timezone, quiet, country)
        digest_id = stable_id("d", state.recipient_id, role, closes.isoformat())
        effects: list[Effect] = []
        box = state.open.get(digest_id)
        if box is None:
            box = state.open[digest_id] = OpenDigest(digest_id=digest_id, role=role, closes_at=closes)
            effects.append(Schedule(closes, DigestTimer(state.recipient_id, digest_id)))
        held = message.model_copy(update={"status": "deferred", "reason": "digest", "scheduled_for": box.closes_at,
                                          "digest_id": digest_id})
        box.items.append(held)
        if g.on_leave != "defer":
            box.leave_rules[held.message_id] = g.on_leave
        effects.insert(0, Decide(held))
        return DigestOutcome(state, effects)

    def prefer(self, state: DigestState, p: Preferences, now: datetime) -> DigestOutcome:
        """New preferences: kept for the closing; a digest a pause holds goes sooner when the pause is lifted or
        shortened (at the first allowed time from then), as the mailbox lets what a pause held go."""
        keep_choices(state, p)
        now = now.astimezone(UTC)
        effects: list[Effect] = []
        moved = False
        if p.timezone is not None:
            quiet = window_text(p.quiet_hours)
            where = (p.timezone, quiet, p.weekend_country)
            moved = (state.timezone, state.quiet_hours, state.weekend_country) != where and state.timezone is not None
            state.timezone, state.quiet_hours, state.weekend_country = p.timezone, quiet, p.weekend_country
            if moved:
                effects += self._moved(state, p.timezone, p.quiet_hours, now)
        return DigestOutcome(state, effects + self._place_held(state, now, moved=moved))

    def _place_held(self, state: DigestState, now: datetime, *, moved: bool) -> list[Effect]:
        """The digests a pause or a sensitive leave holds, placed again: one a pause holds goes sooner when the pause
        is lifted or shortened; after a move or new quiet hours (``moved``), each held one goes at the first allowed
        time after its pause or leave where the recipient is now (it kept the time worked out where they were: 07:00
        in New York, inside its quiet hours, for a pause ending at 13:00 in Berlin)."""
        effects: list[Effect] = []
        leave = state.leave
        for box in state.open.values():
            if box.paused:
                at = self._after_pause(state, now)
                still = state.paused_until is not None and state.paused_until > now
                if at < box.closes_at or (moved and at != box.closes_at):
                    effects += self._hold(state, box, at, paused=still)
            elif (box.on_leave and moved and leave is not None and leave.end is not None and leave.covers(now)
                  and (at := self._after_pause(state, leave.end)) != box.closes_at):
                effects += self._hold(state, box, at, paused=False, reason="on_leave")
        return effects

    def _moved(self, state: DigestState, timezone: str, quiet: tuple[time, time] | None, now: datetime
               ) -> list[Effect]:
        """The recipient moved timezone or weekend (a country the policy gives its own) or changed their quiet hours:
        each open digest not held closes at its rule's next time where they are now, under the digest id of that time
        (merged with one already open for it), as a digest opened there would (an open digest kept its old time: 03:00
        in the new place)."""
        effects: list[Effect] = []
        for old_id, box in list(state.open.items()):
            if box.paused or box.on_leave or old_id not in state.open:
                continue
            rule = self.policy.digests.get(box.role) or DigestRule(every="daily")  # type: ignore[call-overload]
            at = self.closes_at(rule, now, timezone, quiet, state.weekend_country)
            if at == box.closes_at:
                continue
            new_id = stable_id("d", state.recipient_id, box.role, at.isoformat())
            del state.open[old_id]
            target = state.open.get(new_id)
            if target is None:
                target = state.open[new_id] = OpenDigest(digest_id=new_id, role=box.role, closes_at=at)
                effects.append(Schedule(at, DigestTimer(state.recipient_id, new_id)))
            target.leave_rules.update(box.leave_rules)
            moved = [m.model_copy(update={"digest_id": new_id, "scheduled_for": at}) for m in box.items]
            target.items.extend(moved)
            effects += [Decide(m) for m in moved]
        return effects

    @staticmethod
    def cancel(state: DigestState, c: CancelPending, now: datetime) -> DigestOutcome:
        """Take out what is about ``c.employee_id`` (anyone when None), from one journey or all. An open digest
        left empty goes nowhere (its timer finds nothing)."""
        effects: list[Effect] = []
        for box in state.open.values():
            keep: list[Message] = []
            for m in box.items:
                if cancels(m, c.employee_id, c.journey_id, c.role):
                    effects.append(Decide(withdrawn(m, c.reason, now)))
                else:
                    keep.append(m)
            box.items = keep
        state.open = {k: b for k, b in state.open.items() if b.items}
        return DigestOutcome(state, effects)

    # -- closing --------------------------------------------------------------------------------
    def on_timer(self, state: DigestState | None, timer: DigestTimer, now: datetime) -> DigestOutcome:
        """The digest closes: its messages (opt-outs checked again) go as one message, rendered now."""
        if state is None or timer.digest_id not in state.open:
            return DigestOutcome(state)
        box = state.open[timer.digest_id]
        if box.closes_at > now:
            return DigestOutcome(state)  # held later since (a pause): its own timer comes then
        if state.paused_until is not None and state.paused_until > now:
            # held to the end of the pause (the first allowed time after it), gathering nothing new; a digest the
            # pause holds already for that time takes its messages (one email when the pause ends, not one a day)
            at = self._after_pause(state, now)
            into = next((b for b in state.open.values() if b is not box and b.paused and b.closes_at == at
                         and b.role == box.role), None)
            if into is None:
                return DigestOutcome(state, self._hold(state, box, at))
            del state.open[box.digest_id]
            into.leave_rules.update(box.leave_rules)
            moved = [m.model_copy(update={"digest_id": into.digest_id}) for m in box.items]
            into.items.extend(moved)
            return DigestOutcome(state, [Decide(m.with_status("deferred", reason="paused", at=at)) for m in moved])
        leave = state.leave
        if leave is not None and leave.covers(now):
            if not box.on_leave:
                return DigestOutcome(state, self._on_leave(state, leave, box, now))
            if leave.end is None:  # held already: a LeaveChanged says when it may go
                return DigestOutcome(state)
            return DigestOutcome(state, self._hold(state, box, self._after_pause(state, leave.end), paused=False,
                                                   reason="on_leave"))
        del state.open[timer.digest_id]
        state.gone = {mid: at for mid, at in state.gone.items() if at > now - REPLAY_WINDOW}
        state.gone.update(dict.fromkeys((m.message_id for m in box.items), now))
        going, effects = _may_go(state, box.items, box.closes_at, now)
        if going:
            effects += self._close(state.recipient_id, box, going, now)
        return DigestOutcome(state if state.open or state.paused_until or state.opt_out_channels
                             or state.opt_out_topics or state.gone or state.leave
                             or leaves_later(state.left_at, now) else None, effects)

    def _close(self, recipient_id: str, box: OpenDigest, items: list[Message], now: datetime) -> list[Effect]:
        """The digest goes as one message; one whose items do not fit in one message's output budget goes as several
        at the same time, in order (the first under the digest's id, the next ones under ids made from it and their
        number): each part as many items as fit. Before 2026-12-06 such a digest failed whole (``render_error``),
        and every message in it with it: a busy manager's day of onboarding notes reached no one."""
        effects: list[Effect] = []
        rest, number = items, 1
        while rest:
            part_id = box.digest_id if number == 1 else stable_id("d", recipient_id, box.role, box.digest_id,
                                                                    "part", number)
            fits = len(rest)
            try:
                effects += self._close_part(recipient_id, box, part_id, rest, now)
            except TooLong:
                fits = self._fitting(recipient_id, box, part_id, rest, now)
                if fits == 0:  # one item alone is too long for a digest: it fails as a digest that does not render
                    effects += self._failed(part_id, recipient_id, box, rest[:1], now, "one item is longer than a "
                                            "digest may be")
                    fits = 1
                else:
                    effects += self._close_part(recipient_id, box, part_id, rest[:fits], now)
            except RenderError as err:  # said in the run's summary and log, as a message's render failure is
                return effects + self._failed(part_id, recipient_id, box, rest, now, str(err))
            rest, number = rest[fits:], number + 1
        return effects

    def _fitting(self, recipient_id: str, box: OpenDigest, part_id: str, items: list[Message], now: datetime) -> int:
        """How many of ``items``, from the first, fit in one digest (a search by halves; 0: not even the first)."""
        low, high = 0, len(items) - 1  # ``high + 1`` items are known not to fit
        while low < high:
            mid = (low + high + 1) // 2
            try:
                self._close_part(recipient_id, box, part_id, items[:mid], now)
            except TooLong:
                high = mid - 1
            else:
                low = mid
        return low

    def _failed(self, part_id: str, recipient_id: str, box: OpenDigest, items: list[Message], now: datetime,
                why: str) -> list[Effect]:
        every = self._every_of(box.role)
        failed = self._record(part_id, recipient_id, box, items, now).with_status("failed", reason="render_error")
        return [Diagnostic("render_failed", "digest", every, why), Decide(failed),
                *(Decide(m.with_status("failed", reason="render_error", at=now)) for m in items)]

    def _record(self, part_id: str, recipient_id: str, box: OpenDigest, items: list[Message], now: datetime
                ) -> Message:
        last = items[-1]
        return Message(
            message_id=part_id, employee_id=recipient_id, recipient_id=recipient_id,
            recipient_role=last.recipient_role, journey_id="digest", journey_version=1,
            step_id=self._every_of(box.role), channel=last.channel, status="sent", scheduled_for=now,
            created_at=now, preferences_url=self.policy.preferences_url, locale=last.locale,
            recipient_email=last.recipient_email, recipient_name=last.recipient_name,
            resources=sorted({r for m in items for r in m.resources}),
            topics=sorted({t for m in items for t in m.topics}),
            gathered=[Gathered(message_id=m.message_id, employee_id=m.employee_id, created_at=m.created_at)
                      for m in items])

    def _every_of(self, role: str) -> str:
        rule: DigestRule | None = self.policy.digests.get(role)  # type: ignore[call-overload]
        return rule.every if rule is not None else "daily"

    def _close_part(self, recipient_id: str, box: OpenDigest, part_id: str, items: list[Message], now: datetime
                    ) -> list[Effect]:
        """One digest message of ``items``, rendered now, and its items ``sent`` in it (raises ``RenderError``)."""
        last = items[-1]
        rule: DigestRule | None = self.policy.digests.get(box.role)  # type: ignore[call-overload]
        every = self._every_of(box.role)
        digest = self._record(part_id, recipient_id, box, items, now)
        template = self.templates.get(rule.template if rule is not None else "digest/summary")
        # English in the record (what reviewers and audits read, as every message's), said in the digest's language
        # in its footer and its template's ``explanation`` (the record was in the reader's language)
        sentence = _EXPLAIN[(box.role, every)]
        explanation = Explanation(lambda locale: gettext(locale, sentence), None)
        if template is None:
            msg = f"template {rule.template if rule else 'digest/summary'} is not loaded"
            raise RenderError(msg)
        rendered = template.render(_context(digest, items, every, explanation), last.locale,
                                   footer=(explanation, self.policy.preferences_url))
        sent = digest.model_copy(update={"subject": rendered.subject, "text": rendered.text, "html": rendered.html,
                                         "explanation": str(explanation)})
        moved = {"digest_id": part_id} if part_id != box.digest_id else {}
        return [Decide(sent), *(Decide(m.with_status("sent", at=now).model_copy(update=moved)) for m in items)]


_EXPLAIN = {
    ("manager", "daily"): "You received this digest because messages to you as a manager are gathered into one "
                          "message a day.",
    ("manager", "weekly"): "You received this digest because messages to you as a manager are gathered into one "
                           "message a week.",
    ("hr_partner", "daily"): "You received this digest because messages to you as an HR partner are gathered into "
                             "one message a day.",
    ("hr_partner", "weekly"): "You received this digest because messages to you as an HR partner are gathered "
                              "into one message a week.",
}


def _why(message: Message) -> str:
    """Why the gathered message was made, as its own footer says it (in its language): a digest's item is its body
    and this line, not its whole footer again (each item repeated "To change or stop these messages: ..." run into
    its text, before the digest's own footer)."""
    return footer_explanation(message.text or "") or message.explanation or ""


_GREETING_WORDS = 6  # "Dear Dr. Ana María López," is a greeting; a longer first line is the message


def _body(text: str) -> str:
    """A gathered message's text without its greeting: each item of a digest began "Hi Sam," again under the
    digest's own "Hi Sam,". The greeting is a first paragraph of one short line ending in a comma."""
    first, gap, rest = text.partition("\n\n")
    line = first.strip()
    if gap and rest.strip() and "\n" not in line and line.endswith(",") and len(line.split()) <= _GREETING_WORDS:
        return rest.strip("\n")
    return text


def _context(digest: Message, items: list[Message], every: str, explanation: str) -> dict[str, Any]:
    return {
        "recipient": {"id": digest.recipient_id, "name": digest.recipient_name or ""},
        "items": [{"subject": m.subject or "", "text": (text := split_footer(m.text or "")[0].rstrip()),
                   "body": _body(text), "why": _why(m),
                   "employee_id": m.employee_id, "journey_id": m.journey_id, "step_id": m.step_id,
                   "created_at": m.created_at, "explanation": m.explanation or ""} for m in items],
        "count": len(items), "every": every, "explanation": explanation,
        "preferences_url": digest.preferences_url,
    }
