"""The journey core: (state, event or timer, time) -> (new state, effects). No I/O, no clock of its own.

The core takes ownership of the state it is given and returns the state to keep (after an erasure, only
the erased-id record, ``EmployeeState.erased_record``). Given the same definitions, state, input and time it always
returns the same result, which is what makes replays, Kafka restarts and tests agree.

This module holds the entry points, what an event does before and around the steps (exits, waits it
ends, triggers, erasure) and the step loop; each step kind's rules live in ``journeys/steps/<kind>.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from wayfinder.journeys import corrections, decisions
from wayfinder.journeys._durations import parse_duration
from wayfinder.journeys._time import local_at, shift
from wayfinder.journeys._time import zone as tz_zone
from wayfinder.journeys.audience import AudienceIndex
from wayfinder.journeys.definitions import Definitions
from wayfinder.journeys.effects import (
    CancelPending,
    Decide,
    Departure,
    Diagnostic,
    Effect,
    EnrollmentTimer,
    Erase,
    ForgetMailbox,
    Lifecycle,
    OpenTask,
    Refuse,
    ReviewTimer,
    part,
)
from wayfinder.journeys.events import ERASURE, RATING_EVENTS, SENSITIVE_EVENT_TYPES, CloudEvent, rating_of
from wayfinder.journeys.leave import amend_leave, note_leave, rescind_leave, rule_for
from wayfinder.journeys.model import Journey, Step, WaitForStep, WaitStep
from wayfinder.journeys.profile import LEFT_AT, Profile, changes_profile, leaving_at, present
from wayfinder.journeys.records import ERASED_INPUT, enrollment_id
from wayfinder.journeys.state import EmployeeState, Enrollment
from wayfinder.journeys.steps import Directory, Run, run_step
from wayfinder.journeys.steps.context import finish, schedule, test
from wayfinder.journeys.steps.wait import wait_due
from wayfinder.journeys.steps.wait_for import after_timeout, resumed_by
from wayfinder.vocabulary import EventType, Topic, input_topic

HUMAN_TASK_COMPLETED = "wayfinder.task.completed"  # an extension: a person completed a journey's task
# Inputs the engine decides by rules of their own first (SPEC §11, corrections), then as any event: journeys that
# trigger on, exit on or wait for their type act on them too.
_DECIDED_FIRST = frozenset({EventType.REVIEW_DECIDED.value, EventType.PREFERENCES_CHANGED.value,
                            EventType.CORRECTION.value})

__all__ = ["MAX_STEPS_PER_RUN", "Directory", "Engine", "Outcome", "event_view"]

MAX_STEPS_PER_RUN = 200
_ENGAGEMENT_BONUS = {EventType.MESSAGE_OPENED.value: 0.1, EventType.MESSAGE_CLICKED.value: 0.5}
_ENGAGEMENT_TYPES = frozenset(_ENGAGEMENT_BONUS) | RATING_EVENTS  # what moves this person's ranking


@dataclass
class Outcome:
    state: EmployeeState | None
    effects: list[Effect] = field(default_factory=list)


def event_view(event: CloudEvent) -> dict[str, Any]:
    return {"id": event.id, "source": event.source, "type": event.type, "time": event.time.astimezone(UTC),
            "subject": event.subject, "data": event.data}


def _no_directory(_: str) -> Profile | None:
    return None


def refused_after_erasure(erased_at: datetime | None, forgotten: bool, event: CloudEvent) -> bool:
    """An event of an erased employee (README "Erasure"): one from up to the erasure (by event time: a replay, a
    late copy) is refused for good; a later one is refused while only the erased-id record is kept
    (``forgotten``), except a hire (``hris.employee.hired``), which re-creates the person. The reports replay
    events by the same rule."""
    if erased_at is None:
        return False
    if event.time <= erased_at:
        return True
    return forgotten and event.type != EventType.HIRED


def _refused_as_erased(state: EmployeeState, event: CloudEvent) -> bool:
    return refused_after_erasure(state.erased_at, state.forgotten, event)


_ENTRIES_KEPT = 64
"""How many of its entries into one journey a person's state keeps the ids of (a late copy of an older trigger
enters again, as it would have without the list; README "Idempotency")."""


class Engine:
    """Journeys over definitions that do not change while it runs."""

    def __init__(self, defs: Definitions, *, include_drafts: bool = False) -> None:
        self.defs = defs
        self.policy = defs.policy
        self.max_event_age = parse_duration(defs.policy.max_event_age)
        newest = defs.in_force(include_drafts=include_drafts)
        self.by_trigger: dict[str, list[Journey]] = {}
        for j in newest.values():
            if j.status in ("active", "draft"):
                self.by_trigger.setdefault(j.trigger.event, []).append(j)
        # What ends a journey's held messages once its enrollment is over (completed): its newest version's exits.
        self.finished_exits: dict[str, Journey] = {jid: j for jid, j in newest.items() if j.exit_on}
        self._exit_types = frozenset(rule.event for j in self.finished_exits.values() for rule in j.exit_on)
        self.audiences = AudienceIndex(self.by_trigger)
        # The types some journey (any version loaded: an enrollment may be on an older one) triggers on, exits on or
        # waits for: a decision by a person is also an event journeys may act on (SPEC §2: "journeys may trigger on
        # any type"; §11: people act "through events like any other").
        self._acted_on = frozenset(
            {j.trigger.event for j in defs.journeys.values()}
            | {rule.event for j in defs.journeys.values() for rule in j.exit_on}
            | {step.wait_for.event for j in defs.journeys.values() for step in j.steps
               if isinstance(step, WaitForStep)})

    # -- entry points -----------------------------------------------------------------------
    def on_event(self, state: EmployeeState | None, event: CloudEvent, now: datetime,
                 directory: Directory = _no_directory, known: Directory | None = None) -> Outcome:
        """Apply one event for its subject. ``now`` is the clock; steps run at the later of it and the event.
        ``directory`` finds other people (a worker may hold the input until it knows them); ``known``: who is known
        now, never waiting (whether a task's assignee has left; default: ``directory``).

        An event whose key is still kept (for ``max_event_age``) is only counted as a duplicate; an erasure
        forgets the subject whatever its age, and the subject's events are then refused (``_refused_as_erased``);
        an event older than ``max_event_age`` is stale (``_stale``).
        """
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
            # The tasks about them that are still open: closed, with nothing of them left in the title or note.
            effects.extend(OpenTask(ref.task.erased(at)) for _, ref in sorted(state.open_tasks.items()))
            effects.extend(Lifecycle("erased", jid) for jid in sorted(state.enrollments))  # ended by it (counted)
            effects.append(Erase(state.employee_id, at, len(state.enrollments)))
            erased_at = max(event.time, state.erased_at) if state.erased_at is not None else event.time
            record = EmployeeState.erased_record(state.employee_id, erased_at)
            record.remember(key, event.time, at, self.max_event_age)  # the same request again is a duplicate
            return Outcome(record, effects)
        if _refused_as_erased(state, event):  # a decision finds nothing pending (SPEC §11), the rest is refused
            reason = "not_pending" if event.type == EventType.REVIEW_DECIDED else "erased_subject"
            return Outcome(state, [Refuse(reason, ERASED_INPUT, event.source, at)])
        if state.forgotten:  # a hire after the erasure: a new person under the old id; the record stays
            state = EmployeeState(employee_id=state.employee_id, profile=Profile(id=state.employee_id),
                                  erased_at=state.erased_at)
        # The state's own clock, not only the caller's: a replay after a crash comes with its old event time (the
        # worker's event clock), and must be judged against how far this person's state has already moved. Only
        # HRIS events move it: engagement events and decisions come on topics of their own, at their own pace,
        # and may run ahead of the HRIS events still to come for this person.
        clock = max(now, state.clock) if state.clock is not None else now
        if input_topic(event.type) is Topic.HRIS_EVENTS:
            state.clock = clock
        stale = self._stale(event, clock)
        state.remember(key, event.time, clock, self.max_event_age)
        if event.type in _DECIDED_FIRST:
            return self._decided_first(state, event, at, directory, known or directory, stale=stale)
        done = corrections.task_done(state, event.data, at) if event.type == HUMAN_TASK_COMPLETED else None
        # What the person's mailbox keeps or places by may change: their preferences, or their timezone (a move, an
        # upsert). Every change reaches it, a first profile's too: it places what it gets by them as they stand
        # then, not by the copy a message carries from where it was decided (README "Kafka order").
        profile_event = changes_profile(event.type)  # most events (engagement) leave the profile as it is
        before = decisions.kept_choices(state, self.policy) if profile_event else None
        unheard = profile_event and not state.profile.fields  # a first profile: their mailbox knows nothing of them
        zone = state.profile.timezone
        people = (state.profile.get("manager_id"), state.profile.get("hr_partner_id")) if profile_event else None
        leaving = state.profile.get(LEFT_AT)
        state.update_profile(event.type, event.data, event.time, stale=stale)
        run = self._run(state, at, directory, known or directory)
        after = decisions.kept_choices(state, self.policy) if before is not None else None
        if after != before or (unheard and state.profile.fields):
            # A first profile's too, also one in UTC with the policy's quiet hours (as an empty profile reads): a
            # mailbox that heard nothing places by the copy a message carries. Before the waits: one the change
            # lets go at once (below) may send the person a message, placed by these.
            run.effects.append(decisions.choices(state, at, self.defs.catalog.subtopics, self.policy))
        if state.profile.timezone != zone:
            self._moved_zone(run, zone)
        if profile_event:
            self._profile_changed(run)
        if people is not None and people != (None, None) and people != (state.profile.get("manager_id"),
                                                                         state.profile.get("hr_partner_id")):
            run.effects.extend(self._recipients_changed(state, people, at))  # (a first manager changes nothing)
        if done is not None:
            run.effects.append(OpenTask(done))  # the task's latest state: completed
        run.effects.extend(note_leave(state, event.type, event.data, self.policy, at, stale=stale,
                                      key=(event.source, event.id)))
        run.effects.extend(_departure(state, leaving, at))
        view = event_view(event)
        if done is not None and not {"journey_id", "step_id"} <= event.data.keys():
            # a completion that names only its task: the task's journey and step, as the task records them
            view["data"] = {"journey_id": done.journey_id, "step_id": done.step_id, **event.data}
        # A stale exit still ends what began strictly before it happened: sending less is the safe side of a late
        # event. What began at or after it (a rehire; a hire at the same instant, which may have come after) is not
        # ended by a replay of the old exit.
        self._exits(run, event, view, stale=stale)
        resumed: set[str] = set()
        if not stale:
            self._note_engagement(state, event)
            resumed = self._resume_waiting(run, event, view)
        self._triggers(run, event, view, stale=stale, resumed=resumed)
        return Outcome(state, run.effects)

    def _decided_first(self, state: EmployeeState, event: CloudEvent, at: datetime, directory: Directory,
                       known: Directory, *,
                       stale: bool) -> Outcome:
        """A review decision, a preference change or a correction: decided by its own rules, then, unless refused,
        acted on by the journeys that trigger on, exit on or wait for its type (they never fired: SPEC §2 lets a
        journey trigger on any type)."""
        if event.type == EventType.REVIEW_DECIDED:
            effects = self._review(state, event, at, directory, self.defs)
        elif event.type == EventType.PREFERENCES_CHANGED:
            effects = decisions.preferences_changed(state, event, at, self.defs.catalog.subtopics, self.policy)
        else:
            effects = self._correct(state, event, at, directory, known, stale=stale)
        if event.type not in self._acted_on or any(isinstance(e, Refuse) for e in effects):
            return Outcome(state, effects)  # (a refused decision is a dead letter: nothing acts on it)
        run = self._run(state, at, directory, known)
        run.effects.extend(effects)
        view = event_view(event)
        self._exits(run, event, view, stale=stale)
        resumed = self._resume_waiting(run, event, view) if not stale else set()
        self._triggers(run, event, view, stale=stale, resumed=resumed)
        return Outcome(state, run.effects)

    @staticmethod
    def _review(state: EmployeeState, event: CloudEvent, at: datetime, directory: Directory,
                defs: Definitions) -> list[Effect]:
        """A reviewer's decision (SPEC §11), with the recipient's profile for the mailbox (quiet hours) and what
        the message does while the recipient is on leave; none for a recipient who has left since (``present``)."""
        message = state.awaiting_approval.get(str(event.data.get("message_id")))
        rid = message.recipient_id if message is not None else None
        recipient = state.profile if rid in (None, state.employee_id) else present(directory(rid or ""), at)
        journey = defs.journeys.get((message.journey_id, message.journey_version)) if message is not None else None
        enrollment = state.enrollments.get(message.journey_id) if message is not None else None
        rule = rule_for(journey, message.recipient_role if message is not None else "employee",
                        enrollment.trigger if enrollment is not None else None, state.leave)
        weekend = defs.policy.working_days.weekend_country((recipient or state.profile).get("country"))
        return decisions.review_decided(state, event, at, recipient, rule, weekend_country=weekend)

    def _correct(self, state: EmployeeState, event: CloudEvent, at: datetime, directory: Directory,
                 known: Directory, *, stale: bool) -> list[Effect]:
        """A correction: a rescinded trigger ends what it started (what waits to go is suppressed, reason
        ``rescinded``); an amended one changes the kept trigger, and a pending ``wait`` is worked out again. One of
        a termination moves when the person leaves, or takes it back (README "Leavers")."""
        run = self._run(state, at, directory, known)
        leaving = state.profile.get(LEFT_AT)
        state.update_profile(event.type, event.data, event.time, stale=stale)
        matches = corrections.started_by(state, event.data.get("original"),
                                         event.data if event.data.get("action") == "amend" else None)
        closed = (corrections.close_tasks(state, event.data.get("original"), "rescinded", at)
                  if event.data.get("action") == "rescind" else [])
        run.effects.extend(OpenTask(task) for task in closed)  # the task's latest state: cancelled
        weekend = self.policy.working_days.weekend_country(state.profile.get("country"))
        lifted = (rescind_leave(state, event.data.get("original"), at, weekend)
                  if event.data.get("action") == "rescind" else amend_leave(state, event.data, at, weekend))
        run.effects.extend(lifted)
        run.effects.extend(_departure(state, leaving, at))
        if not matches and not closed and not lifted and state.profile.get(LEFT_AT) == leaving:
            run.effects.append(Diagnostic("correction_unmatched", None, None, "no active enrollment was started "
                                          "by the corrected event"))
        for e in matches:
            if event.data.get("action") == "rescind":
                del state.enrollments[e.journey_id]
                # An entry that did not happen is no entry for ``reentry``: the real event (a hire entered again)
                # enrolls (it was refused under the default ``never``). ``entered_by`` stays: the rescinded event
                # itself, come again, still enters nothing.
                if state.entered_by.get(e.journey_id, [""])[-1] == e.enrollment_id:
                    state.last_entry.pop(e.journey_id, None)
                run.effects.append(Lifecycle("exited", e.journey_id))
                run.effects.extend(self._cancel(state, e.journey_id, "rescinded", at))
                continue
            e.trigger = corrections.amended_trigger(e.trigger, event.data.get("changes"))
            journey = self.defs.journeys.get((e.journey_id, e.version))
            step = _step_at(journey, e.step) if journey is not None and e.waiting == "timer" else None
            # a wait dated from a field (``until``) is worked out again; ``for`` is dated from no field and keeps its
            # instant, as ``now`` would move it; after a ``wait_for`` it reads the awaited event, not the trigger
            if (journey is not None and isinstance(step, WaitStep) and step.wait.until is not None
                    and not step.wait.until.reads("now") and not _after_wait_for(journey, e.step)):
                self._wait_again(run, journey, e)
        return run.effects

    def _wait_again(self, run: Run, journey: Journey, e: Enrollment) -> None:
        """Work a pending ``wait`` out again (its date changed, or the timezone it is read in): the old timer is
        stale, and a time already past continues at once."""
        e.stop_waiting()
        e.token += 1
        self._advance(run, journey, e, e.trigger)

    def _moved_zone(self, run: Run, old: str) -> None:
        """The person's timezone changed: a pending ``wait: until`` is a local date or time of day (SPEC §4), in the
        timezone where they are when it comes, so it is worked out again; one after a ``wait_for`` (which may read
        the awaited event, not kept) keeps its local date and time of day in the new timezone, or its instant when
        it came to a timestamp without ``at``. A ``wait: for`` keeps its instant."""
        for jid in sorted(run.state.enrollments):
            e = run.state.enrollments[jid]
            journey = self.defs.journeys.get((e.journey_id, e.version))
            if journey is None or e.waiting != "timer" or e.step >= len(journey.steps):
                continue
            step = journey.steps[e.step]
            if not isinstance(step, WaitStep) or step.wait.until is None:
                continue
            if not _after_wait_for(journey, e.step):
                self._wait_again(run, journey, e)
            elif e.wake_at is not None and not e.wake_instant:  # a timestamp is the same instant anywhere
                local = e.wake_at.astimezone(tz_zone(old))
                due = local_at(local.date(), local.time(), tz_zone(run.state.profile.timezone))
                e.token += 1
                if due > run.now:
                    schedule(run, e, due)
                else:  # already past where they are now: on at once
                    e.stop_waiting()
                    e.step += 1
                    self._advance(run, journey, e, e.trigger)

    def _profile_changed(self, run: Run) -> None:
        """A pending ``wait: until`` that reads the profile (``until: employee.start_date``) follows it: a start date
        an upsert moves moves the wait, and one moved into the past continues at once. One that reads ``now``
        stays as it was (it would move on every update), and so does one after a ``wait_for`` that reads ``event``
        (the awaited event is not kept). When the profile no longer gives a time (the field was removed), the
        wait keeps the time it had; the failure is counted."""
        for jid in sorted(run.state.enrollments):
            e = run.state.enrollments[jid]
            journey = self.defs.journeys.get((e.journey_id, e.version))
            step = _step_at(journey, e.step) if journey is not None and e.waiting == "timer" else None
            if journey is None or not isinstance(step, WaitStep) or step.wait.until is None:
                continue
            until = step.wait.until
            if (not until.reads("employee") or until.reads("now")
                    or (until.reads("event") and _after_wait_for(journey, e.step))):
                continue
            due = wait_due(run, journey, step, {"event": e.trigger, "trigger": e.trigger})
            if due is not None and due != e.wake_at:
                self._wait_again(run, journey, e)

    def _stale(self, event: CloudEvent, now: datetime) -> bool:
        """Older than ``max_event_age`` when it comes: a backfill, or a replay whose key is forgotten. It
        updates the profile (where no newer event did), may end enrollments (an exit), and starts or resumes
        nothing (SPEC §4: counted as stale)."""
        return event.time < now - self.max_event_age

    def on_timer(self, state: EmployeeState | None, timer: EnrollmentTimer | ReviewTimer, now: datetime,
                 directory: Directory = _no_directory, known: Directory | None = None) -> Outcome:
        """A wait ended, a wait_for timed out, or a review window ended. A stale timer (enrollment gone or
        moved on, message decided) does nothing."""
        if state is None:
            return Outcome(None)
        if isinstance(timer, ReviewTimer):
            return Outcome(state, decisions.escalate(state, timer, now.astimezone(UTC), self.policy, directory))
        e = state.enrollments.get(timer.journey_id)
        if e is None or e.enrollment_id != timer.enrollment_id or e.token != timer.token or e.waiting == "no":
            return Outcome(state)
        run = self._run(state, now.astimezone(UTC), directory, known or directory)
        journey = self._journey_of(run, e)
        if journey is None:
            return Outcome(state, run.effects)
        step = journey.steps[e.step]
        if e.waiting == "event" and isinstance(step, WaitForStep):
            e.step = after_timeout(journey, e, step)
        else:
            e.step += 1
        e.stop_waiting()
        self._advance(run, journey, e, e.trigger)
        return Outcome(state, run.effects)

    def _run(self, state: EmployeeState, now: datetime, directory: Directory, known: Directory) -> Run:
        return Run(self.defs, state, now, directory, None, [], known)

    # -- event handling ---------------------------------------------------------------------
    @staticmethod
    def _note_engagement(state: EmployeeState, event: CloudEvent) -> None:
        """An open or a click of a resource, and a rating of one (-1, 0 or 1, by a rating event only, as the
        fairness report and ``wayfinder feedback aggregate`` count them), move it for this person; no other
        ``engagement.*`` type does."""
        if event.type not in _ENGAGEMENT_TYPES:
            return
        rid = event.data.get("resource_id")
        if not isinstance(rid, str):
            return
        bonus = _ENGAGEMENT_BONUS.get(event.type, 0.0)
        rating = rating_of(event)
        if rating is not None:  # the latest rating counts, once (as the reports count ratings)
            bonus += rating - state.ratings.get(rid, 0)
            state.ratings[rid] = rating
        state.feedback[rid] = state.feedback.get(rid, 0.0) + bonus

    def _exits(self, run: Run, event: CloudEvent, view: dict[str, Any], *, stale: bool) -> None:
        active = list(run.state.enrollments.items())
        for jid, e in active:
            journey = self.defs.journeys.get((jid, e.version))
            if journey is None or (stale and e.started_at >= event.time):
                continue
            for n, rule in enumerate(journey.exit_on):
                if rule.event != event.type:
                    continue
                if rule.when is not None and not test(run, rule.when, journey, part(f"exit_on[{n}].when"),
                                                      {"event": view, "trigger": e.trigger}):
                    continue
                del run.state.enrollments[jid]
                run.effects.append(Lifecycle("exited", jid))
                run.effects.extend(self._cancel(run.state, jid, "exited", run.now))
                break
        self._exits_after_the_end(run, event, view, {jid for jid, _ in active}, stale=stale)

    def _exits_after_the_end(self, run: Run, event: CloudEvent, view: dict[str, Any], active: set[str], *,
                             stale: bool) -> None:
        """An exit also stops what a finished enrollment left waiting (for a reviewer, for quiet hours or the cap):
        the journey is over for this person, so are its messages. An exit's ``when`` sees the trigger of the last
        enrollment, kept when the journey's exits read it (``finished_triggers``), else an empty ``trigger``. A stale
        exit (a backfill, a replay whose key is forgotten) leaves them: what it was to stop, it stopped when it first
        came."""
        if stale or event.type not in self._exit_types:  # most events end nothing (engagement: most of all)
            return
        state = run.state
        for jid in state.last_entry:
            journey = self.finished_exits.get(jid)
            if journey is None or jid in active:
                continue
            if not state.mailboxes and not any(m.journey_id == jid for m in state.awaiting_approval.values()):
                continue
            for n, rule in enumerate(journey.exit_on):
                trigger = state.finished_triggers.get(jid, {})
                if rule.event == event.type and (rule.when is None or test(
                        run, rule.when, journey, part(f"exit_on[{n}].when"), {"event": view, "trigger": trigger})):
                    run.effects.extend(self._cancel(state, jid, "exited", run.now))
                    break

    def _resume_waiting(self, run: Run, event: CloudEvent, view: dict[str, Any]) -> set[str]:
        """Continue the enrollments waiting for this event; the ids of their journeys."""
        resumed: set[str] = set()
        for jid, e in list(run.state.enrollments.items()):
            if e.waiting != "event":
                continue
            journey = self.defs.journeys.get((jid, e.version))
            if journey is None:
                continue
            if e.wake_at is not None and event.time >= e.wake_at:
                # its timeout came first (at the same instant too, as timers due by an event fire before it): that
                # timer moves it on, whenever it is fired (an engagement event may be read before it is)
                continue
            step = _step_at(journey, e.step)
            if not isinstance(step, WaitForStep) or not resumed_by(run, journey, e, step, event.type, view):
                continue
            e.stop_waiting()
            e.token += 1
            e.step += 1
            if event.type in SENSITIVE_EVENT_TYPES:  # what follows from a wellbeing signal waits for a person
                e.sensitive = True
            resumed.add(jid)
            self._advance(run, journey, e, view)
        return resumed

    @staticmethod
    def _recipients_changed(state: EmployeeState, before: tuple[Any, Any], now: datetime) -> list[Effect]:
        """A new manager or HR partner: what waits to go to the one before about this person (for review, or
        in their mailbox or digest) will not go to them, reason ``recipient_changed`` (an approval sent a
        report's wellbeing message to the manager they had left)."""
        current = (state.profile.get("manager_id"), state.profile.get("hr_partner_id"))
        effects: list[Effect] = []
        for role, old, new in zip(("manager", "hr_partner"), before, current, strict=True):
            if not isinstance(old, str) or old == new:
                continue
            for mid, held in list(state.awaiting_approval.items()):
                if held.recipient_role == role and held.recipient_id == old:
                    del state.awaiting_approval[mid]
                    effects.append(Decide(held.with_status("suppressed", reason="recipient_changed", at=now)))
                    effects.extend(decisions.review_ended(state, held, "recipient_changed", now))
            if old in state.mailboxes and old != state.employee_id:
                effects.append(CancelPending(state.employee_id, None, "recipient_changed", (old,), now, role))
                if old not in current:  # they hold no role for this person any more
                    state.mailboxes.discard(old)
        return effects

    @staticmethod
    def _cancel(state: EmployeeState, journey_id: str | None, reason: str, now: datetime) -> list[Effect]:
        """Suppress what waits for approval here (its review window ends: ``decisions.review_ended``), and
        ask the mailboxes to drop what they hold."""
        effects: list[Effect] = []
        for mid, held in list(state.awaiting_approval.items()):
            if journey_id is None or held.journey_id == journey_id:
                del state.awaiting_approval[mid]
                if held.delivers_to_employee:
                    state.delivered.difference_update(held.resources)  # never delivered (SPEC §5)
                out = held.redacted(reason, now) if reason == "erased" else held.with_status(
                    "suppressed", reason=reason, at=now)
                effects.append(Decide(out))
                effects.extend(decisions.review_ended(state, held, reason, now))
        if state.mailboxes:
            effects.append(CancelPending(state.employee_id, journey_id, reason, tuple(sorted(state.mailboxes)), now))
        return effects

    def _triggers(self, run: Run, event: CloudEvent, view: dict[str, Any], *, stale: bool,
                  resumed: set[str]) -> None:
        """Enroll in the journeys this event starts. Not in one whose enrollment it continued (``resumed``): that
        enrollment was active when the event came (SPEC §4: one active enrollment per employee and journey), though
        the event may have taken it to its end."""
        if not self.by_trigger.get(event.type):
            return
        if stale:
            run.effects.append(Lifecycle("stale", None))
            return
        state = run.state
        entered_by = enrollment_id(event.source, event.id)
        for journey in self.audiences.candidates(event.type, run.employee, view):
            if (journey.id in state.enrollments or journey.id in resumed
                    or not self._may_reenter(state, journey, run.now)):
                continue
            if entered_by in state.entered_by.get(journey.id, ()):
                continue  # this very event entered it before: the same (source, id) has the effect of once
            scope = {"event": view, "trigger": view}
            if journey.trigger.when is not None and not test(run, journey.trigger.when, journey, part("trigger.when"),
                                                             scope):
                continue
            if journey.audience is not None and not test(run, journey.audience, journey, part("audience"), scope):
                continue
            e = Enrollment(journey_id=journey.id, version=journey.version, started_at=run.now,
                           enrollment_id=entered_by, trigger=view)
            state.enrollments[journey.id] = e
            state.last_entry[journey.id] = run.now
            entries = state.entered_by.setdefault(journey.id, [])
            entries.append(entered_by)
            del entries[:-_ENTRIES_KEPT]  # a journey entered again and again keeps a bounded state
            run.effects.append(Lifecycle("enrolled", journey.id))
            self._advance(run, journey, e, view)

    @staticmethod
    def _may_reenter(state: EmployeeState, journey: Journey, now: datetime) -> bool:
        last = state.last_entry.get(journey.id)
        if last is None:
            return True
        after = journey.reentry_after
        if after is None:
            return False
        # days and weeks on the employee's local calendar, as every duration (README, Durations): ``reentry: 1d``
        # from 10:00 on the day before a DST change is 10:00 the next day, not 24 hours
        return now >= shift(last, journey.reentry, tz_zone(state.profile.timezone)) if after else True

    def _journey_of(self, run: Run, e: Enrollment) -> Journey | None:
        """The enrollment's journey version, or None after ending the enrollment with a diagnostic: that version is
        no longer loaded, or it was edited without a new version so that the step the enrollment waits at is gone or
        is no longer a wait (a timer of it raised IndexError on every tick of the partition)."""
        journey = self.defs.journeys.get((e.journey_id, e.version))
        if journey is None:
            kind, detail = "journey_version_gone", f"version {e.version} is no longer loaded; enrollment ended"
        elif e.waiting != "no" and not isinstance(_step_at(journey, e.step),
                                                  WaitStep if e.waiting == "timer" else WaitForStep):
            kind, detail = "journey_definition_changed", (f"version {e.version} was edited without a new version: "
                                                          f"step {e.step + 1} is no longer the wait this enrollment "
                                                          "was at; enrollment ended")
        else:
            return journey
        del run.state.enrollments[e.journey_id]
        run.effects.append(Diagnostic(kind, e.journey_id, None, detail))
        return None

    # -- the step loop ----------------------------------------------------------------------
    @staticmethod
    def _advance(run: Run, journey: Journey, e: Enrollment, event: dict[str, Any]) -> None:
        """Run steps from the enrollment's current step until it waits, ends or completes."""
        for _ in range(MAX_STEPS_PER_RUN):
            if e.step >= len(journey.steps):
                finish(run, journey, "completed")
                return
            step = journey.steps[e.step]
            e.visits[step.id] = e.visits.get(step.id, 0) + 1
            nxt = run_step(run, journey, e, step, {"event": event, "trigger": e.trigger})
            if nxt == "stop":
                return
            if nxt == "end":
                finish(run, journey, "completed")
                return
            e.step = nxt
        run.effects.append(Diagnostic("step_budget_exceeded", journey.id, None,
                                      f"more than {MAX_STEPS_PER_RUN} steps without waiting; enrollment ended"))
        finish(run, journey, "exited")


def _departure(state: EmployeeState, before: Any, at: datetime) -> list[Effect]:
    """When the person leaves changed (a termination, its correction, a rehire: ``before`` was their ``left_at``):
    their own mailbox and digest box learn it, for what they hold about others (README "Leavers")."""
    if state.profile.get(LEFT_AT) == before:
        return []
    return [Departure(state.employee_id, leaving_at(state.profile), at)]


def _step_at(journey: Journey, index: int) -> Step | None:
    """Step ``index`` of ``journey``, or None past its end (a version edited in place may have fewer steps)."""
    return journey.steps[index] if index < len(journey.steps) else None


def _after_wait_for(journey: Journey, index: int) -> bool:
    """Whether a ``wait_for`` comes before step ``index``: what ``event`` is there may be the event it waited for."""
    return any(isinstance(step, WaitForStep) for step in journey.steps[:index])
