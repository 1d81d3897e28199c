"""The journey core: (state, event or timer, time) -> (new state, effects). No I/O, no clock of its own.

The core takes ownership of the state it is given and returns the state to keep (or None when
the employee is to be forgotten). Given the same definitions, state, input and time it always
returns the same result, which is what makes replays, Kafka restarts and tests agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from wayfinder.catalog.graph import Selection
from wayfinder.journeys import decisions
from wayfinder.journeys._durations import parse_duration
from wayfinder.journeys._time import parse_window, set_time_of_day, shift, to_instant, zone
from wayfinder.journeys.effects import (
    CancelPending,
    Decide,
    Diagnostic,
    Dispatch,
    Effect,
    EnrollmentTimer,
    Erase,
    ForgetMailbox,
    Lifecycle,
    OpenTask,
    ReviewTimer,
    Schedule,
)
from wayfinder.journeys.events import ERASURE, SENSITIVE_EVENT_TYPES, CloudEvent
from wayfinder.journeys.explain import explain
from wayfinder.journeys.loader import Definitions
from wayfinder.journeys.model import (
    BranchStep,
    EndStep,
    Journey,
    RoadmapStep,
    SendStep,
    TaskStep,
    WaitForStep,
    WaitStep,
    to_time,
)
from wayfinder.journeys.profile import Profile, apply_event
from wayfinder.journeys.records import Message, Task, stable_id
from wayfinder.journeys.state import EmployeeState, Enrollment
from wayfinder.journeys.templates import MessageTemplate, RenderError
from wayfinder.vocabulary import EventType

Directory = Callable[[str], Profile | None]
MAX_STEPS_PER_RUN = 200


@dataclass
class Outcome:
    state: EmployeeState | None
    effects: list[Effect] = field(default_factory=list)


def event_view(event: CloudEvent) -> dict[str, Any]:
    return {"id": event.id, "source": event.source, "type": event.type, "time": event.time.astimezone(UTC),
            "subject": event.subject, "data": event.data}


def _no_directory(_: str) -> Profile | None:
    return None


@dataclass
class _Run:
    """What one call works with."""

    state: EmployeeState
    now: datetime
    directory: Directory
    employee: dict[str, Any]
    effects: list[Effect]


class Engine:
    """Journeys over definitions that do not change while it runs."""

    def __init__(self, defs: Definitions, *, include_drafts: bool = False) -> None:
        self.defs = defs
        self.policy = defs.policy
        self.max_event_age = parse_duration(defs.policy.max_event_age)
        enrolling = ("active", "draft") if include_drafts else ("active",)
        self.by_trigger: dict[str, list[Journey]] = {}
        for j in defs.current().values():
            if j.status in enrolling:
                self.by_trigger.setdefault(j.trigger.event, []).append(j)
        self.sensitive_topics = frozenset(defs.policy.sensitive_topics)

    # -- entry points -----------------------------------------------------------------------
    def on_event(self, state: EmployeeState | None, event: CloudEvent, now: datetime,
                 directory: Directory = _no_directory) -> Outcome:
        """Apply one event for its subject. ``now`` is the clock; steps run at the later of it and the event."""
        at = max(now, event.time).astimezone(UTC)
        state = state or EmployeeState.new(event.subject)
        key = f"{event.source}\x1f{event.id}"
        if key in state.seen:
            return Outcome(state, [Lifecycle("duplicate", None)])
        if event.type == ERASURE:
            effects = self._cancel(state, None, "erased", at)
            # Nothing waiting to go to the erased person goes either, whoever it was about.
            effects.append(CancelPending(None, None, "erased", (state.employee_id,), at))
            effects.append(ForgetMailbox(state.employee_id))
            effects.append(Erase(state.employee_id, at, len(state.enrollments)))
            return Outcome(None, effects)
        state.seen.add(key)
        if event.type == EventType.REVIEW_DECIDED:
            message = state.awaiting_approval.get(str(event.data.get("message_id")))
            rid = message.recipient_id if message is not None else None
            recipient = state.profile if rid in (None, state.employee_id) else directory(rid or "")
            return Outcome(state, decisions.review_decided(state, event, at, recipient))
        if event.type == EventType.PREFERENCES_CHANGED:
            return Outcome(state, decisions.preferences_changed(state, event, at))
        apply_event(state.profile, event.type, event.data)
        self._note_engagement(state, event)
        run = _Run(state, at, directory, state.profile.view(), [])
        view = event_view(event)
        self._exits(run, event, view)
        self._resume_waiting(run, event, view)
        self._triggers(run, event, view)
        return Outcome(state, run.effects)

    def on_timer(self, state: EmployeeState | None, timer: EnrollmentTimer | ReviewTimer, now: datetime,
                 directory: Directory = _no_directory) -> Outcome:
        """A wait ended, a wait_for timed out, or a review window ended. A stale timer (enrollment gone or
        moved on, message decided) does nothing."""
        if state is None:
            return Outcome(None)
        if isinstance(timer, ReviewTimer):
            return Outcome(state, decisions.escalate(state, timer, now.astimezone(UTC), self.policy))
        e = state.enrollments.get(timer.journey_id)
        if e is None or e.enrollment_id != timer.enrollment_id or e.token != timer.token or e.waiting == "no":
            return Outcome(state)
        run = _Run(state, now.astimezone(UTC), directory, state.profile.view(), [])
        journey = self._journey_of(run, e)
        if journey is None:
            return Outcome(state, run.effects)
        step = journey.steps[e.step]
        if e.waiting == "event" and isinstance(step, WaitForStep) and step.wait_for.on_timeout:
            e.step = journey.step_index[step.wait_for.on_timeout]
        else:
            e.step += 1
        e.waiting, e.wake_at = "no", None
        self._advance(run, journey, e, e.trigger)
        return Outcome(state, run.effects)

    # -- event handling ---------------------------------------------------------------------
    def _note_engagement(self, state: EmployeeState, event: CloudEvent) -> None:
        if not event.type.startswith("engagement."):
            return
        rid = event.data.get("resource_id")
        if not isinstance(rid, str):
            return
        bonus = {"engagement.message.opened": 0.1, "engagement.message.clicked": 0.5}.get(event.type, 0.0)
        rating = event.data.get("rating")
        if isinstance(rating, int):
            bonus += float(rating)
        state.feedback[rid] = state.feedback.get(rid, 0.0) + bonus

    def _exits(self, run: _Run, event: CloudEvent, view: dict[str, Any]) -> None:
        for jid, e in list(run.state.enrollments.items()):
            journey = self.defs.journeys.get((jid, e.version))
            if journey is None:
                continue
            for rule in journey.exit_on:
                if rule.event != event.type:
                    continue
                if rule.when is not None and not self._test(run, rule.when, journey, None,
                                                            {"event": view, "trigger": e.trigger}):
                    continue
                del run.state.enrollments[jid]
                run.effects.append(Lifecycle("exited", jid))
                run.effects.extend(self._cancel(run.state, jid, "exited", run.now))
                break

    def _resume_waiting(self, run: _Run, event: CloudEvent, view: dict[str, Any]) -> None:
        for jid, e in list(run.state.enrollments.items()):
            if e.waiting != "event":
                continue
            journey = self.defs.journeys.get((jid, e.version))
            if journey is None:
                continue
            step = journey.steps[e.step]
            if not isinstance(step, WaitForStep) or step.wait_for.event != event.type:
                continue
            if step.wait_for.when is not None and not self._test(run, step.wait_for.when, journey, step.id,
                                                                 {"event": view, "trigger": e.trigger}):
                continue
            e.waiting, e.wake_at = "no", None
            e.token += 1
            e.step += 1
            self._advance(run, journey, e, view)

    @staticmethod
    def _cancel(state: EmployeeState, journey_id: str | None, reason: str, now: datetime) -> list[Effect]:
        """Suppress what waits for approval here, and ask the mailboxes to drop what they hold."""
        effects: list[Effect] = []
        for mid, held in list(state.awaiting_approval.items()):
            if journey_id is None or held.journey_id == journey_id:
                del state.awaiting_approval[mid]
                out = held.redacted(reason, now) if reason == "erased" else held.with_status(
                    "suppressed", reason=reason, at=now)
                effects.append(Decide(out))
        if state.mailboxes:
            effects.append(CancelPending(state.employee_id, journey_id, reason, tuple(sorted(state.mailboxes)), now))
        return effects

    def _triggers(self, run: _Run, event: CloudEvent, view: dict[str, Any]) -> None:
        journeys = self.by_trigger.get(event.type)
        if not journeys:
            return
        if run.now - event.time > self.max_event_age:
            run.effects.append(Lifecycle("stale", None))
            return
        state = run.state
        for journey in journeys:
            if journey.id in state.enrollments or not self._may_reenter(state, journey, run.now):
                continue
            scope = {"event": view, "trigger": view}
            if journey.trigger.when is not None and not self._test(run, journey.trigger.when, journey, None, scope):
                continue
            if journey.audience is not None and not self._test(run, journey.audience, journey, None, scope):
                continue
            e = Enrollment(journey_id=journey.id, version=journey.version, started_at=run.now,
                           enrollment_id=stable_id("e", event.source, event.id), trigger=view)
            state.enrollments[journey.id] = e
            state.last_entry[journey.id] = run.now
            run.effects.append(Lifecycle("enrolled", journey.id))
            self._advance(run, journey, e, view)

    @staticmethod
    def _may_reenter(state: EmployeeState, journey: Journey, now: datetime) -> bool:
        last = state.last_entry.get(journey.id)
        if last is None:
            return True
        after = journey.reentry_after
        return after is not None and now - last >= after

    def _journey_of(self, run: _Run, e: Enrollment) -> Journey | None:
        journey = self.defs.journeys.get((e.journey_id, e.version))
        if journey is None:
            del run.state.enrollments[e.journey_id]
            run.effects.append(Diagnostic("journey_version_gone", e.journey_id, None,
                                          f"version {e.version} is no longer loaded; enrollment ended"))
        return journey

    # -- expressions ------------------------------------------------------------------------
    def _scope(self, run: _Run, extra: dict[str, Any]) -> dict[str, Any]:
        return {"employee": run.employee, "now": run.now, **extra}

    def _test(self, run: _Run, expr: Any, journey: Journey, step_id: str | None, extra: dict[str, Any]) -> bool:
        ok, error = expr.test(self._scope(run, extra))
        if error is not None:
            run.effects.append(Diagnostic("expression_failed", journey.id, step_id, error))
        return bool(ok)

    # -- steps ------------------------------------------------------------------------------
    def _advance(self, run: _Run, journey: Journey, e: Enrollment, event: dict[str, Any]) -> None:
        """Run steps from the enrollment's current step until it waits, ends or completes."""
        for _ in range(MAX_STEPS_PER_RUN):
            if e.step >= len(journey.steps):
                self._finish(run, journey, "completed")
                return
            step = journey.steps[e.step]
            e.visits[step.id] = e.visits.get(step.id, 0) + 1
            scope = {"event": event, "trigger": e.trigger}
            nxt: int | None = e.step + 1
            if isinstance(step, SendStep | RoadmapStep):
                self._send(run, journey, e, step, scope)
            elif isinstance(step, TaskStep):
                self._task(run, journey, e, step, scope)
            elif isinstance(step, WaitStep):
                if self._wait(run, journey, e, step, scope):
                    return
            elif isinstance(step, WaitForStep):
                e.waiting = "event"
                e.token += 1
                if step.wait_for.timeout is not None:
                    self._schedule(run, e, shift(run.now, step.wait_for.timeout, zone(run.state.profile.timezone)))
                return
            elif isinstance(step, BranchStep):
                ok = self._test(run, step.branch.if_, journey, step.id, scope)
                target = step.branch.then if ok else step.branch.else_
                nxt = journey.step_index[target] if target is not None else e.step + 1
            elif isinstance(step, EndStep):
                nxt = None
            if nxt is None:
                self._finish(run, journey, "completed")
                return
            e.step = nxt
        run.effects.append(Diagnostic("step_budget_exceeded", journey.id, None,
                                      f"more than {MAX_STEPS_PER_RUN} steps without waiting; enrollment ended"))
        self._finish(run, journey, "exited")

    def _finish(self, run: _Run, journey: Journey, kind: str) -> None:
        run.state.enrollments.pop(journey.id, None)
        run.effects.append(Lifecycle("completed" if kind == "completed" else "exited", journey.id))

    def _schedule(self, run: _Run, e: Enrollment, due: datetime) -> None:
        e.wake_at = due
        run.effects.append(Schedule(due, EnrollmentTimer(run.state.employee_id, e.journey_id,
                                                         e.enrollment_id, e.token)))

    def _wait(self, run: _Run, journey: Journey, e: Enrollment, step: WaitStep, scope: dict[str, Any]) -> bool:
        """Start waiting; False when the time is already past (continue at once)."""
        tz = zone(run.state.profile.timezone)
        w = step.wait
        if w.until is None:
            due = shift(run.now, w.for_ or "0s", tz)
        else:
            value, error = w.until.evaluate(self._scope(run, scope))
            try:
                if error is not None:
                    raise ValueError(error)
                due = to_instant(value, tz)
            except ValueError as err:
                run.effects.append(Diagnostic("expression_failed", journey.id, step.id, f"wait until: {err}"))
                self._finish(run, journey, "exited")
                return True
            if w.offset is not None:
                due = shift(due, w.offset, tz)
            if w.at is not None:
                due = set_time_of_day(due, to_time(w.at), tz)
        if due <= run.now:
            return False
        e.waiting = "timer"
        e.token += 1
        self._schedule(run, e, due)
        return True

    def _recipient(self, run: _Run, role: str) -> tuple[str | None, Profile | None]:
        profile = run.state.profile
        if role == "employee":
            return profile.id, profile
        rid = profile.get("manager_id" if role == "manager" else "hr_partner_id")
        if not isinstance(rid, str) or not rid:
            return None, None
        return rid, run.directory(rid)

    def _message_id(self, run: _Run, journey: Journey, e: Enrollment, step_id: str) -> str:
        visit = e.visits.get(step_id, 1)
        parts: list[object] = [run.state.employee_id, journey.id, journey.version, e.enrollment_id, step_id]
        if visit > 1:
            parts.append(visit)
        return stable_id("m", *parts)

    def _send(self, run: _Run, journey: Journey, e: Enrollment, step: SendStep | RoadmapStep,
              scope: dict[str, Any]) -> None:
        if isinstance(step, SendStep):
            action = step.send
            if action.when is not None and not self._test(run, action.when, journey, step.id, scope):
                return
            channel, role = action.channel, action.to
        else:
            channel, role = step.roadmap.channel, step.roadmap.to
        recipient_id, recipient = self._recipient(run, role)
        base = Message(
            message_id=self._message_id(run, journey, e, step.id), employee_id=run.state.employee_id,
            recipient_id=recipient_id, recipient_role=role, journey_id=journey.id, journey_version=journey.version,
            step_id=step.id, channel=channel, status="suppressed", scheduled_for=run.now, created_at=run.now,
            preferences_url=self.policy.preferences_url,
        )
        if recipient_id is None:
            run.effects.append(Decide(base.with_status("suppressed", reason="no_recipient")))
            return
        if recipient is not None and channel in recipient.opt_out_channels:
            run.effects.append(Decide(base.with_status("suppressed", reason="opted_out_channel")))
            return
        selection = self._select(run, step, e)
        if selection.all_opted_out:
            run.effects.append(Decide(base.with_status("suppressed", reason="opted_out_topic")))
            return
        for err in selection.errors:
            run.effects.append(Diagnostic("expression_failed", journey.id, step.id, err))
        self._render_and_route(run, journey, e, step, scope, base, recipient, selection)

    def _select(self, run: _Run, step: SendStep | RoadmapStep, e: Enrollment) -> Selection:
        catalog = self.defs.catalog
        profile = run.state.profile
        if isinstance(step, RoadmapStep):
            start = _start_date(profile, e, run.now)
            horizon = max(1, parse_duration(step.roadmap.horizon) // timedelta(days=1))
            return catalog.roadmap(step.roadmap.topics, run.employee, start=start, horizon_days=horizon,
                                   delivered=run.state.delivered, opt_out_topics=profile.opt_out_topics)
        request = step.send.resources
        if request is None:
            return Selection()
        return catalog.select(request.topics, run.employee, limit=request.limit, delivered=run.state.delivered,
                              opt_out_topics=profile.opt_out_topics, feedback=run.state.feedback)

    def _render_and_route(self, run: _Run, journey: Journey, e: Enrollment, step: SendStep | RoadmapStep,
                          scope: dict[str, Any], base: Message, recipient: Profile | None,
                          selection: Selection) -> None:
        catalog = self.defs.catalog
        resources = [catalog.view(r.id) for r in selection.resources]
        topics = sorted({t for r in selection.resources for t in r.topics})
        recipient_view = recipient.view() if recipient is not None else {"id": base.recipient_id}
        explanation = explain(journey, e.trigger, base.recipient_role, run.employee, self.defs, scope)
        context = {
            **scope, "employee": run.employee, "recipient": recipient_view, "resources": resources,
            "roadmap": [item.view() for item in selection.roadmap], "explanation": explanation,
            "preferences_url": self.policy.preferences_url,
        }
        locale = recipient.locale if recipient is not None else run.state.profile.locale
        try:
            rendered = self._template(journey, step).render(context, locale, footer=(explanation,
                                                                                     self.policy.preferences_url))
        except RenderError as err:
            run.effects.append(Diagnostic("render_failed", journey.id, step.id, str(err)))
            run.effects.append(Decide(base.with_status("failed", reason="render_error")))
            return
        name = None
        if recipient is not None:
            name = " ".join(str(x) for x in (recipient.get("preferred_name") or recipient.get("given_name"),
                                             recipient.get("family_name")) if x) or None
        message = base.model_copy(update={
            "subject": rendered.subject, "text": rendered.text, "html": rendered.html,
            "resources": [r.id for r in selection.resources], "topics": topics, "explanation": explanation,
            "locale": locale, "recipient_email": recipient.get("email") if recipient is not None else None,
            "recipient_name": name,
        })
        run.state.delivered.update(message.resources)
        if self._sensitive(journey, e, topics):
            run.effects.extend(decisions.hold_for_review(run.state, message, run.now, self.policy))
            return
        mailbox = message.recipient_id or run.state.employee_id
        run.state.mailboxes.add(mailbox)
        tz = recipient.timezone if recipient is not None else run.state.profile.timezone
        own_quiet = recipient.quiet_hours if recipient is not None else None
        run.effects.append(Dispatch(mailbox, message.with_status("deferred"), tz,
                                    parse_window(own_quiet) if own_quiet else None))

    def _template(self, journey: Journey, step: SendStep | RoadmapStep) -> MessageTemplate:
        if isinstance(step, RoadmapStep):
            return self.defs.templates[step.roadmap.template]
        if step.send.template is not None:
            return self.defs.templates[step.send.template]
        return self.defs.inline[(journey.id, journey.version, step.id, "message")]

    def _sensitive(self, journey: Journey, e: Enrollment, topics: list[str]) -> bool:
        if journey.sensitivity == "sensitive" or e.trigger.get("type") in SENSITIVE_EVENT_TYPES:
            return True
        catalog = self.defs.catalog
        return any(catalog.lineage(t) & self.sensitive_topics for t in topics)

    def _task(self, run: _Run, journey: Journey, e: Enrollment, step: TaskStep, scope: dict[str, Any]) -> None:
        action = step.task
        if action.when is not None and not self._test(run, action.when, journey, step.id, scope):
            return
        assignee_id, _ = self._recipient(run, action.assignee)
        context = {**scope, "employee": run.employee, "recipient": {}, "resources": [], "roadmap": [],
                   "explanation": "", "preferences_url": self.policy.preferences_url}
        texts = []
        for name in ("title", "note"):
            template = self.defs.inline[(journey.id, journey.version, step.id, name)]
            try:
                texts.append(template.render_text(context))
            except RenderError as err:
                run.effects.append(Diagnostic("render_failed", journey.id, step.id, str(err)))
                texts.append(getattr(action, name))
        task_id = stable_id("t", run.state.employee_id, journey.id, journey.version, e.enrollment_id, step.id,
                            e.visits.get(step.id, 1))
        run.effects.append(OpenTask(Task(
            task_id=task_id, employee_id=run.state.employee_id, assignee=action.assignee, assignee_id=assignee_id,
            journey_id=journey.id, journey_version=journey.version, step_id=step.id, title=texts[0],
            note=texts[1], created_at=run.now)))


def _start_date(profile: Profile, e: Enrollment, now: datetime) -> date:
    for value in (profile.get("start_date"), e.trigger.get("data", {}).get("start_date")):
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                continue
        if isinstance(value, date):
            return value
    return now.astimezone(zone(profile.timezone)).date()
