"""Context: while a person is on a sensitive leave (``Policy.leave_pause``), other journeys' messages to them wait
for the leave to end, or are suppressed when the journey says they would no longer make sense then.

The employee's state learns the leave from HRIS events (``note_leave``) and tells the person's own mailbox
(``LeaveChanged``); each message carries what it does during a leave (``rule_for``), and the mailbox applies it
(``journeys/mailbox.py``). Essential journeys, and a journey started by the person's own ``hris.leave.started``
(the one about the leave), still go.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from wayfinder.journeys._time import to_instant, zone
from wayfinder.journeys.effects import Effect, LeaveChanged, LeaveRule
from wayfinder.journeys.model import Journey, Policy
from wayfinder.journeys.state import EmployeeState, LeavePeriod
from wayfinder.vocabulary import EventType

__all__ = ["amend_leave", "note_leave", "rescind_leave", "rule_for"]


def rule_for(journey: Journey | None, recipient_role: str, trigger: Mapping[str, Any] | None = None,
             leave: LeavePeriod | None = None) -> LeaveRule:
    """What a message of ``journey`` to the person with ``recipient_role`` does while that person is on leave.

    A journey started by the person's own ``hris.leave.started`` (``trigger``) is about that leave and still goes
    during it; during a sensitive leave (``leave``: the person's current one) of another type that began after
    it, it waits like any other journey: a parental leave's "welcome back soon" went out during the bereavement
    leave that came after it."""
    if journey is None:
        return "defer"
    if journey.essential:
        return "send"
    if recipient_role == "employee" and journey.trigger.event == EventType.LEAVE_STARTED and _about(trigger, leave):
        return "send"  # the journey about the leave itself (bereavement support, say)
    return journey.on_leave


def _about(trigger: Mapping[str, Any] | None, leave: LeavePeriod | None) -> bool:
    """Whether a journey started by ``trigger`` (a ``hris.leave.started``) may go during the person's current
    leave: none, one of the trigger's own type (that leave, or it extended), or one that had begun when the trigger
    came (the journey's leave came during it). True when the trigger is not known (a finished enrollment)."""
    if leave is None or trigger is None:
        return True
    data = trigger.get("data")
    if isinstance(data, Mapping) and data.get("leave_type") == leave.leave_type:
        return True
    came = trigger.get("time")
    if isinstance(came, str):  # a state read back from its JSON form
        try:
            came = to_instant(came, zone("UTC"))
        except ValueError:
            return True
    return not isinstance(came, datetime) or leave.start <= came


def note_leave(state: EmployeeState, event_type: str, data: dict[str, Any], policy: Policy, now: datetime, *,
               stale: bool, key: tuple[str, str] | None = None) -> list[Effect]:
    """Keep the period of a sensitive leave from ``hris.leave.started`` / ``.ended`` and tell the person's mailbox.

    A start of another type leaves a sensitive leave as it is; an end applies to the current leave of its type
    only. A stale start (a backfill) is ignored: an old leave must not hold today's messages; a stale end still
    applies (ending a hold is the safe side of a late event)."""
    pause = policy.leave_pause
    if pause is None or event_type not in (EventType.LEAVE_STARTED, EventType.LEAVE_ENDED):
        return []
    kind = data.get("leave_type")
    tz_name = state.profile.timezone
    tz = zone(tz_name)
    if event_type == EventType.LEAVE_STARTED:
        if stale or kind not in pause.leave_types:
            return []
        expected = data.get("expected_return_date")
        state.leave = LeavePeriod(leave_type=str(kind), start=to_instant(data["start_date"], tz),
                                  end=to_instant(expected, tz) if expected else None, started_by=key)
    else:
        if state.leave is None or state.leave.leave_type != kind:
            return []
        state.leave = state.leave.model_copy(update={"end": to_instant(data["return_date"], tz), "returned": True})
    leave = state.leave
    state.mailboxes.add(state.employee_id)
    return [LeaveChanged(state.employee_id, leave.start, leave.end, tz_name, state.profile.quiet_hours, now,
                         policy.working_days.weekend_country(state.profile.get("country")))]


def rescind_leave(state: EmployeeState, original: Any, now: datetime, weekend_country: str | None = None
                  ) -> list[Effect]:
    """A correction rescinds the ``hris.leave.started`` that began the current sensitive leave: it never happened,
    so it holds nothing from now on, and what it held goes through the mailbox now (as at a leave's end)."""
    leave = state.leave
    if leave is None or leave.started_by is None or not isinstance(original, dict):
        return []
    if (original.get("source"), original.get("id")) != leave.started_by:
        return []
    state.leave = None
    state.mailboxes.add(state.employee_id)
    return [LeaveChanged(state.employee_id, min(leave.start, now), now, state.profile.timezone,
                         state.profile.quiet_hours, now, weekend_country)]


def amend_leave(state: EmployeeState, data: Mapping[str, Any], now: datetime, weekend_country: str | None = None
                ) -> list[Effect]:
    """A correction amends the ``hris.leave.started`` that began the current sensitive leave (its ``start_date`` or
    ``expected_return_date``: a leave extended, back sooner, a date mistyped): the period moves with it, and what it
    holds with the period, as with a later ``hris.leave.ended``. The leave is the one named (by source and id), or,
    for a correction naming an id no event had (an import's second correction of one date), the current leave from
    that source whose dates are the ``old`` values it changes."""
    leave, original, changes = state.leave, data.get("original"), data.get("changes")
    if leave is None or leave.started_by is None or not isinstance(original, Mapping) or not isinstance(
            changes, Mapping):
        return []
    tz_name = state.profile.timezone
    tz = zone(tz_name)
    # once the person is back (``hris.leave.ended``), the day they came back ends the period, whatever the leave's
    # record later says it was expected to be: a corrected expectation held their messages again
    dates: dict[str, datetime | None] = {"start_date": leave.start}
    if not leave.returned:
        dates["expected_return_date"] = leave.end
    moved = {f: c for f, c in changes.items() if f in dates and isinstance(c, Mapping) and "new" in c}
    named = (original.get("source"), original.get("id")) == leave.started_by
    try:
        same = (original.get("source") == leave.started_by[0] and data.get("original_type") == EventType.LEAVE_STARTED
                and all("old" in c and dates[f] is not None and to_instant(c["old"], tz) == dates[f]
                        for f, c in moved.items()))
        start = to_instant(moved["start_date"]["new"], tz) if "start_date" in moved else leave.start
        end = leave.end
        if "expected_return_date" in moved:
            new_end = moved["expected_return_date"]["new"]
            end = to_instant(new_end, tz) if new_end else None
    except (TypeError, ValueError):  # not a date: the correction's data was checked, but not as times
        return []
    if not moved or not (named or same):
        return []
    state.leave = leave.model_copy(update={"start": start, "end": end})
    state.mailboxes.add(state.employee_id)
    return [LeaveChanged(state.employee_id, start, end, tz_name, state.profile.quiet_hours, now, weekend_country)]
