"""Pages for staff: the review queue, the task inbox, the operations overview and the stop switch."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from wayfinder.connectors.switch import ControlRecord
from wayfinder.journeys.decisions import escalation_task_id, held_because, review_window
from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.layout import says_nothing, split_document
from wayfinder.journeys.model import Journey, Policy
from wayfinder.journeys.profile import gone_by, leaving_at
from wayfinder.journeys.records import Message
from wayfinder.journeys.templates import MAX_OUTPUT_CHARS, split_footer
from wayfinder.web import events as ev
from wayfinder.web import words
from wayfinder.web.access import Staff, acts_for, is_about_self, may_see_message, may_see_task
from wayfinder.web.context import Web, staff_page, web
from wayfinder.web.explain import event_label, explanation_as_sent, trigger_of
from wayfinder.web.security import EMAIL_CSP, check_csrf, read_form, session_csrf
from wayfinder.web.store import Store, TaskView

AGES = {"": None, "1d": timedelta(days=1), "3d": timedelta(days=3), "5d": timedelta(days=5)}
TASK_STATES = ("", "open", "claimed", "completed", "cancelled")  # the task inbox's filter ("": all)
_REASON_MAX = 500
SUBJECT_MAX = 1_000  # characters of an edited subject (one line)
EDIT_MAX = MAX_OUTPUT_CHARS  # characters of an edited text or HTML body: what the engine renders at most


def _visible_pending(w: Web, staff: Staff) -> list[Message]:
    store = w.backend.store
    return [m for m in store.pending() if may_see_message(staff, m, store.profiles.get(m.employee_id),
                                                           store.escalated_to(m.message_id))]


def _queue_filter(values: Mapping[str, Any]) -> dict[str, str]:
    """The review queue's filter (journey, age) as a query names it or a review's form sends it back: a review opened
    from a filtered queue goes back to it as it was (a decision brought back the whole queue). An age the filter does
    not offer is not kept."""
    journey, age = values.get("journey"), values.get("age")
    kept = {"journey": journey} if isinstance(journey, str) and journey else {}
    return kept | ({"age": age} if isinstance(age, str) and age and age in AGES else {})


def _back(staff: Staff, kept: Mapping[str, str]) -> str:
    """Where a review's page goes back to: the queue as it was filtered, or a manager's tasks (they decide only what
    was escalated to them, and the queue is not theirs: they landed on "Not allowed" after a decision that was
    saved)."""
    if not staff.has("reviewer", "hr_partner"):
        return "/tasks"
    return f"/review?{urlencode(kept)}" if kept else "/review"


@staff_page("reviewer", "hr_partner")
async def review_queue(request: Request, staff: Staff) -> Response:
    w = web(request)
    visible = _visible_pending(w, staff)
    journey = request.query_params.get("journey", "")
    age = request.query_params.get("age", "")
    now = w.backend.now()
    shown = [m for m in visible if (not journey or m.journey_id == journey)
             and (AGES.get(age) is None or now - m.created_at >= (AGES[age] or timedelta()))]
    counts: dict[str, int] = {}
    for m in visible:
        counts[m.journey_id] = counts.get(m.journey_id, 0) + 1
    if journey in w.backend.world.defs.current():  # the filter stays chosen when its last message was decided
        counts.setdefault(journey, 0)
    return w.render(request, "review_queue.html", messages=shown, counts=counts, total=len(visible),
                    escalation={m.message_id: escalation_of(w.backend.store, w.backend.world.defs.policy, m)
                                for m in shown},
                    journey=journey, age=age, ages=list(AGES), now=now, csrf=session_csrf(request),
                    kept=urlencode(_queue_filter(request.query_params)),
                    about_self={m.message_id for m in shown if is_about_self(staff, m)},
                    decided=DECIDED.get(request.query_params.get("decided", "")), outcome=_outcome(request, staff))


@dataclass(frozen=True)
class Escalation:
    """When a waiting message's review is escalated (SPEC §11 ``review_window``): ``done`` once the task is open,
    ``at`` its time (else when it will be, with no decision by then), ``to`` whom the task asks (None: the
    reviewers, nobody by name), ``window`` the policy's review window in words."""

    at: datetime
    done: bool
    to: str | None
    window: str


def escalation_of(store: Store, policy: Policy, message: Message) -> Escalation:
    """The review window's end for a message waiting for a person, as the engine keeps it (the task it opened, or
    the message's time plus the window): the queue and the page said how long it had waited, not that nobody would
    decide it in time, nor that it had already been passed to someone else (audit 2026-12-06)."""
    window = review_window(policy)
    task = store.tasks.get(escalation_task_id(message.message_id))
    if task is not None and task.assignee == "review_escalation":
        return Escalation(task.created_at, True, task.assignee_id, words.duration(window))
    return Escalation(message.created_at + window, False, None, words.duration(window))


@dataclass(frozen=True)
class Outcome:
    """What the engine made of the reviewer's last decision: the message's status, reason and time after it."""

    status: str
    reason: str | None
    at: datetime


_DECIDED_KEY = "decided_message"  # the session's note of the message the reviewer just decided on


def _outcome(request: Request, staff: Staff) -> Outcome | None:
    """What became of the message the reviewer just decided on (noted in their session by ``review_decide``), once
    the engine has taken the decision: the page said "it goes through the recipient's mailbox: at once, or after
    their quiet hours..." also of an approval that the recipient's opt-out stopped, or that their pause held for
    weeks. None (the general line) when the decision is not theirs or the engine has not taken it yet (on Kafka)."""
    if request.query_params.get("decided") not in DECIDED:
        return None
    message_id = request.session.pop(_DECIDED_KEY, None)
    store = web(request).backend.store
    decision = store.decided().get(str(message_id))
    message = store.messages.get(str(message_id))
    if decision is None or message is None or decision.data.get("reviewer_id") != staff.person_id:
        return None
    if message.status not in ("approved", "deferred", "suppressed", "rejected"):
        return None
    return Outcome(message.status, message.reason, message.scheduled_for)


# What the queue says after a decision (the reviewer is sent back to it): what will happen to the message.
DECIDED = {
    "approve": "Approved. It goes through the recipient's mailbox: at once, or after their quiet hours, pause or "
               "message limit.",
    "reject": "Rejected. It will not be sent.",
}


def _message_for(request: Request, staff: Staff) -> Message:
    w = web(request)
    store = w.backend.store
    message = store.messages.get(request.path_params["message_id"])
    if message is None or not may_see_message(staff, message, store.profiles.get(message.employee_id),
                                              store.escalated_to(message.message_id)):
        raise HTTPException(404, "No such message in your review queue.")
    return message


@staff_page("reviewer", "hr_partner", "manager")  # a manager: the reviews escalated to them
async def review_detail(request: Request, staff: Staff) -> Response:
    return _detail(request, staff, _message_for(request, staff), kept=_queue_filter(request.query_params))


def _detail(request: Request, staff: Staff, message: Message, *, kept: dict[str, str], problem: str | None = None,
            typed: dict[str, str] | None = None, gone: str | None = None, problem_field: str | None = None
            ) -> Response:
    """A message's page; after a refused decision, with the problem and the edits as the reviewer typed them (it was
    a bare error page: only the browser's Back button kept the edits). ``kept``: the queue's filter it came from."""
    w = web(request)
    journey = w.backend.world.defs.current().get(message.journey_id)
    decision = w.backend.store.decided().get(message.message_id)
    resources = [w.backend.world.defs.catalog.resources.get(r) for r in message.resources]
    edit = {name: body for name, (_, body, _) in _editable(message).items()} | (typed or {})
    return w.render(request, "review_detail.html", status=409 if gone else 400 if problem else 200, m=message,
                    edit=edit, journey=journey, decision=decision, problem=problem, edited=typed is not None, gone=gone,
                    problem_field=problem_field,
                    back=_back(staff, kept), to_queue=staff.has("reviewer", "hr_partner"), kept=kept,
                    resources=[r for r in resources if r is not None], csrf=session_csrf(request),
                    about_self=is_about_self(staff, message),
                    # as its reader gets it, from the message's own footer: the record's is English ("January 27,
                    # 2026") where a German or en-IN reader reads their own words, and the approval keeps that footer
                    explanation=explanation_as_sent(message),
                    trigger=trigger_of(w.backend.trigger_events, message, journey),
                    # the event type in words, as the explanation names it (the page showed "hris.leave.started")
                    trigger_label=event_label(journey.trigger.event, str) if journey else None,
                    held=_held_because(w, message, journey),
                    escalation=escalation_of(w.backend.store, w.backend.world.defs.policy, message))


def _held_because(w: Web, message: Message, journey: Journey | None) -> list[str]:
    """Why the engine held this message for a person, in words, by the engine's own rule (``held_because``): the
    page said only "sensitive", and a reviewer could not tell a journey marked sensitive from a resource of a
    sensitive topic that a standard journey picked (which an edit could take out). Empty for a message that was not
    held, or when what held it is not known here (a wellbeing signal that moved an enrollment on at a ``wait_for``)."""
    if message.status != "pending_approval" and message.reviewer_id is None:
        return []
    defs = w.backend.world.defs
    made_by = defs.journeys.get((message.journey_id, message.journey_version)) or journey
    trigger = made_by.trigger.event if made_by is not None else None
    held = held_because(made_by.sensitivity if made_by is not None else "standard", trigger, False,
                        message.topics, defs.catalog.lineage, defs.policy)
    said = []
    if held.journey and made_by is not None:
        said.append(f"its journey, “{made_by.name}”, is marked sensitive: each of its messages waits "
                    "for a person")
    if held.event:
        said.append("it follows a wellbeing signal: what follows one always waits for a person")
    if held.topics:
        titles = [t.title_for(None) if (t := defs.catalog.topics.get(topic)) else topic for topic in held.topics]
        said.append(f"its resources are about {_and(titles)}, which the policy holds for review (sensitive topics)")
    return said


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@staff_page("reviewer", "hr_partner", "manager")  # a manager: the reviews escalated to them
async def review_html(request: Request, staff: Staff) -> Response:
    message = _message_for(request, staff)
    return Response(message.html or "", media_type="text/html",
                    headers={"Content-Security-Policy": EMAIL_CSP, "X-Frame-Options": "SAMEORIGIN"})


def _editable(message: Message) -> dict[str, tuple[str, str, str]]:
    """Each part a reviewer may edit as ``(before, body, after)``: the form offers the body only, since the
    engine adds the explanation, the preferences link and the HTML document again on approval (SPEC §11)."""
    text, footer = split_footer(message.text or "")
    return {"subject": ("", message.subject or "", ""), "text": ("", text, footer),
            "html": split_document(message.html or "")}


def _edits(form: Any, message: Message) -> dict[str, str]:
    """The parts the reviewer changed; a part sent back whole (footer, document and all) counts by its body."""
    edits: dict[str, str] = {}
    for name, (before, body, after) in _editable(message).items():
        value = form.get(name)
        if not isinstance(value, str):
            continue
        value = value.replace("\r\n", "\n")
        wrapped = len(value) >= len(before) + len(after) and value.startswith(before) and value.endswith(after)
        if wrapped and (before or after):
            value = value[len(before):len(value) - len(after)]
        if value != body:
            edits[name] = value
    for name, value in edits.items():
        if says_nothing(value):  # SPEC §11: an edit replaces a part, never removes it
            msg = f"An edited {_PARTS[name]} cannot be empty."
            raise EditRefused(msg, name)
    subject = edits.get("subject")
    if subject is not None and subject.splitlines() != [subject]:  # any line break (a header is one line)
        msg = "The subject must be one line."
        raise EditRefused(msg, "subject")
    if subject is not None and len(subject) > SUBJECT_MAX:
        msg = f"The subject can be at most {SUBJECT_MAX:,} characters."
        raise EditRefused(msg, "subject")
    for name in ("text", "html"):
        if len(edits.get(name) or "") > EDIT_MAX:
            msg = (f"An edited text or HTML can be at most {EDIT_MAX:,} characters (the most the engine renders for "
                   "a message).")
            raise EditRefused(msg, name)
    return edits


_PARTS = {"subject": "subject", "text": "text", "html": "HTML"}  # a part of a message as a refusal names it


class EditRefused(HTTPException):
    """An edit the message cannot carry (400), and the part it is about (``subject``, ``text``, ``html``): the page
    says it above the cards and again beside that part, whose box it marks invalid."""

    def __init__(self, detail: str, field: str) -> None:
        super().__init__(400, detail)
        self.field = field


NOT_PENDING = "This message is not waiting for a decision any more."


def _undecided(message_id: str) -> Callable[[Store], None]:
    """The check ``record`` makes under its lock: a message decided meanwhile (by another reviewer) is refused."""
    def check(store: Store) -> None:
        if message_id in store.decided():
            raise HTTPException(409, NOT_PENDING)
    return check


def _not_pending(request: Request, staff: Staff, message_id: str, form: Any) -> Response:
    """A decision on a message decided (or withdrawn) while the reviewer had it open: its page as it is now, saying
    what became of it, by whom, and that nothing of theirs was recorded (status 409). It was a bare error page: the
    reviewer's reason was lost, nothing said who had decided or how, and the only way on was the menu."""
    store = web(request).backend.store
    message = store.messages.get(message_id)
    if message is None or not may_see_message(staff, message, store.profiles.get(message.employee_id),
                                              store.escalated_to(message_id)):
        # gone from the run (an erasure), or no longer theirs to see (an escalation's access ends with the decision)
        raise HTTPException(409, NOT_PENDING)
    decision = store.decided().get(message_id)
    if decision is None:  # withdrawn (an exit, a correction, a recipient changed): its status says why
        said = f"{NOT_PENDING} Its status below says why. What you chose was not recorded."
    else:
        verdict = "approved" if decision.data.get("decision") == "approve" else "rejected"
        who = decision.data.get("reviewer_id")
        said = (f"You had already {verdict} this message: this second decision was not recorded."
                if who == staff.person_id else
                f"{NOT_PENDING} {who} {verdict} it while you had it open. What you chose was not recorded.")
    return _detail(request, staff, message, kept=_queue_filter(form), gone=said)


@staff_page("reviewer", "hr_partner", "manager")  # a manager: the reviews escalated to them
async def review_decide(request: Request, staff: Staff) -> Response:
    w = web(request)
    form = await read_form(request)
    check_csrf(session_csrf(request), form)
    message = _message_for(request, staff)
    if is_about_self(staff, message):
        raise HTTPException(403, "You cannot decide on a message to you or about you; another reviewer must.")
    if message.status != "pending_approval" or message.message_id in w.backend.store.decided():
        return _not_pending(request, staff, message.message_id, form)
    action = form.get("action")
    if action not in ("approve", "reject"):
        raise HTTPException(400, "Choose approve or reject.")
    decision: Literal["approve", "reject"] = "approve" if action == "approve" else "reject"
    reason = str(form.get("reason") or "").strip()[:_REASON_MAX] or None
    if decision == "reject" and reason is None:
        raise HTTPException(400, "Give a reason when you reject a message.")
    try:
        edits = _edits(form, message) if decision == "approve" else {}
    except EditRefused as refused:
        typed = {k: str(v).replace("\r\n", "\n") for k in ("subject", "text", "html")
                 if isinstance(v := form.get(k), str)}
        return _detail(request, staff, message, kept=_queue_filter(form), problem=str(refused.detail), typed=typed,
                       problem_field=refused.field)
    at = w.backend.now(not_before=message.created_at)
    event = ev.review_decided(employee_id=message.employee_id, message_id=message.message_id, decision=decision,
                              reviewer_id=staff.person_id, at=at, reason=reason, edits=edits or None)
    try:
        recorded = await run_in_threadpool(functools.partial(w.backend.record, event,
                                                             check=_undecided(message.message_id)))
    except HTTPException as refused:
        if refused.status_code != 409:
            raise
        return _not_pending(request, staff, message.message_id, form)
    if recorded:
        outcome = "reject" if decision == "reject" else "approve_edited" if edits else "approve"
        w.metrics.decisions.labels(outcome).inc()
        w.metrics.time_to_decision.observe(max(0.0, (at - message.created_at).total_seconds()))
    # back where they came from, told what happens next: the queue as it was filtered, or a manager's tasks
    request.session[_DECIDED_KEY] = message.message_id
    back = _back(staff, _queue_filter(form))
    return RedirectResponse(f"{back}{'&' if '?' in back else '?'}decided={decision}", status_code=303)


# -- tasks -----------------------------------------------------------------------------------
def run_clock(w: Web) -> datetime | None:
    """Where a simulated world's clock stands when it is ahead of the wall clock (``serve`` on a demo folder: the end
    of its run): what people do on these pages is stamped then (the backend's ``now``), and the page says so. None
    when they are stamped by the wall clock (on Kafka; a folder whose run ended before today)."""
    stamp = w.backend.now()
    return stamp if stamp > w.now() else None


@staff_page("reviewer", "hr_partner", "manager")
async def task_inbox(request: Request, staff: Staff) -> Response:
    w = web(request)
    store = w.backend.store
    views = [v for v in store.task_views() if may_see_task(staff, v.task, store.profiles.get(v.task.employee_id))]
    state = request.query_params.get("state", "")
    shown = [v for v in views if not state or v.state == state]
    pending = store.pending()
    escalated = {escalation_task_id(m.message_id): m.message_id for m in pending}  # task -> its message
    # A task beside a message of the same person and journey waiting for review ("review the condolence message
    # waiting for your approval"): linked, for whoever may see that message.
    waiting: dict[tuple[str, str], list[Message]] = {}
    for m in pending:
        if may_see_message(staff, m, store.profiles.get(m.employee_id), store.escalated_to(m.message_id)):
            waiting.setdefault((m.employee_id, m.journey_id), []).append(m)
    beside = {v.task.task_id: waiting.get((v.task.employee_id, v.task.journey_id), []) for v in shown
              if v.task.task_id not in escalated and v.state != "cancelled"}
    reviewed = _reviewed(store, staff)
    settled = {v.task.task_id: reviewed.get((v.task.employee_id, v.task.journey_id), []) for v in shown
               if v.state != "cancelled"}
    # An open task for a manager or HR partner the HR data does not know (erased, or an id no record filled) reaches
    # nobody but whoever reads it here: said so on its card (it looked like any other).
    unknown = {v.task.task_id for v in shown if v.state == "open" and v.task.assignee_id is not None
               and not store.knows(v.task.assignee_id)}
    # An open task about someone who has left since (README "Leavers"): the HR data says so and the card does too, so
    # nobody calls a person who is gone about their wellbeing or their leave without knowing it (decided 2026-12-06:
    # the card looked like any other; the task stays open, as an offboarding task made by the leaving is still due).
    stamp = w.backend.now()
    left = {v.task.task_id: when for v in shown if v.state in ("open", "claimed")
            and gone_by(when := leaving_at(store.profiles.get(v.task.employee_id)), stamp)}
    # An open task whose assignee has left since it was opened (one for a leaver is not opened for them, README
    # "Leavers", but one opened before stays theirs): it reaches nobody unless someone here takes it, as a task for
    # someone the HR data does not know (decided 2026-12-06: its card looked like any other).
    gone = {v.task.task_id: when for v in shown if v.state == "open" and v.task.assignee_id is not None
            and v.task.task_id not in unknown
            and gone_by(when := leaving_at(store.profiles.get(v.task.assignee_id)), stamp)}
    # a task the reader may work but is not assigned (a reviewer; an HR partner covering for a manager): the card
    # says, above its buttons, that what they do is recorded as done for its assignee
    covering = {v.task.task_id: who for v in shown
                if v.state in ("open", "claimed") and (who := acts_for(staff, v.task)) is not None}
    return w.render(request, "tasks.html", tasks=shown, total=len(views), state=state, states=TASK_STATES,
                    escalation_notes=_escalation_notes(w, shown),
                    csrf=session_csrf(request), covering=covering, run_clock=run_clock(w),
                    decided=DECIDED.get(request.query_params.get("decided", "")), outcome=_outcome(request, staff),
                    done=_done(request, views), escalated=escalated, beside=beside, settled=settled,
                    unknown=unknown, left=left, gone=gone)


def _escalation_notes(w: Web, shown: list[TaskView]) -> dict[str, str]:
    """An escalated review's task in words, by the message it is about: the record's note names the message by its
    id and the review window as the policy writes it ("Message m-03c9c9c824d3b4a4afc764d0 ... for 5d"), which the
    card showed as it was; what the card says is the message's subject and the window in days."""
    asked = {v.task.task_id for v in shown if v.task.assignee == "review_escalation"}
    if not asked:
        return {}
    window = words.duration(review_window(w.backend.world.defs.policy))
    notes: dict[str, str] = {}
    for message in w.backend.store.messages.values():
        task_id = escalation_task_id(message.message_id)
        if task_id in asked:
            # what happens to it is said while it waits; once decided or withdrawn, the card says that instead
            waits = " It will not be sent unless someone approves it." if message.status == "pending_approval" else ""
            notes[task_id] = (f"The message “{message.subject or '(no subject)'}” ({message.journey_id}, step "
                              f"{message.step_id}) had no decision within {window}.{waits}")
    return notes


@dataclass(frozen=True)
class Reviewed:
    """A message that waited for review and was decided: how, by whom and when (as far as it is known)."""

    message_id: str
    subject: str | None  # which message: a person's journey may have had several reviewed (a card said only
    step_id: str  # "the message ... was approved" and "... was rejected", one under the other)
    verdict: Literal["approved", "rejected"]
    reviewer_id: str | None
    at: datetime | None


def _reviewed(store: Store, staff: Staff) -> dict[tuple[str, str], list[Reviewed]]:
    """(employee, journey) -> the messages about them that were decided, for whoever may see them: a task's note
    written for the review ("review the condolence message waiting for your approval") is then told what became of
    it (the card said it was waiting after it had been decided). A decision made on these pages is read from its
    event; one the engine has from elsewhere, from the message's record."""
    decided = store.decided()
    out: dict[tuple[str, str], list[Reviewed]] = {}
    for m in sorted(store.messages.values(), key=lambda m: (m.created_at, m.message_id)):
        event = decided.get(m.message_id)
        at: datetime | None
        if event is not None:
            rejected = event.data.get("decision") == "reject"
            reviewer, at = str(event.data.get("reviewer_id") or "") or None, event.time
        elif m.reviewer_id is not None:
            rejected, reviewer, at = m.status == "rejected", m.reviewer_id, m.reviewed_at
        else:
            continue
        if may_see_message(staff, m, store.profiles.get(m.employee_id)):
            out.setdefault((m.employee_id, m.journey_id), []).append(
                Reviewed(m.message_id, m.subject, m.step_id, "rejected" if rejected else "approved", reviewer, at))
    return out


# What the inbox says after a claim or a completion (the person is sent back to it): what they did, to which task.
_DONE = {"claimed": "You claimed the task “{title}”.", "completed": "Marked done: “{title}”."}


def _done(request: Request, views: list[TaskView]) -> str | None:
    """The line confirming the action named in the query (``?done=claimed&task=<id>``), for a task the reader may
    see; None for anything else (a made-up query names no task of theirs, and says nothing)."""
    said = _DONE.get(request.query_params.get("done", ""))
    task_id = request.query_params.get("task", "")
    view = next((v for v in views if v.task.task_id == task_id), None)
    return said.format(title=view.task.title) if said is not None and view is not None else None


@staff_page("reviewer", "hr_partner", "manager")
async def task_act(request: Request, staff: Staff) -> Response:
    w = web(request)
    form = await read_form(request)
    check_csrf(session_csrf(request), form)
    store = w.backend.store
    view = next((v for v in store.task_views() if v.task.task_id == request.path_params["task_id"]), None)
    if view is None or not may_see_task(staff, view.task, store.profiles.get(view.task.employee_id)):
        raise HTTPException(404, "No such task in your inbox.")
    action = form.get("action")
    if action not in ("claim", "complete"):
        raise HTTPException(400, "A task can be claimed or completed (each with an optional note).")
    note = str(form.get("note") or "").strip()[:2000] or None
    kind: Literal["claimed", "completed"] = "completed" if action == "complete" else "claimed"
    _task_open(view.task.task_id, kind)(store)
    event = ev.task_event(kind, employee_id=view.task.employee_id, task_id=view.task.task_id,
                          journey_id=view.task.journey_id, step_id=view.task.step_id,
                          actor_id=staff.person_id, at=w.backend.now(not_before=view.task.created_at), note=note,
                          after=store.last_about(view.task.employee_id), on_behalf_of=acts_for(staff, view.task))
    await run_in_threadpool(functools.partial(w.backend.record, event, check=_task_open(view.task.task_id, kind)))
    # back to the inbox, told what happened (it came back to the list as it was, saying nothing), with the state
    # filter the form was sent from (it came back unfiltered: "open" became "all")
    state = form.get("state")
    kept = {"state": state} if isinstance(state, str) and state in TASK_STATES and state else {}
    return RedirectResponse(f"/tasks?{urlencode(kept | {'done': kind, 'task': view.task.task_id})}", status_code=303)


def _task_open(task_id: str, kind: Literal["claimed", "completed"]) -> Callable[[Store], None]:
    """The task can still be claimed (or completed): checked on the page, and again under ``record``'s lock."""
    def check(store: Store) -> None:
        view = next((v for v in store.task_views() if v.task.task_id == task_id), None)
        if view is None or view.state == "completed":
            raise HTTPException(409, "This task is already completed.")
        if view.state == "cancelled":
            why = words.cancelled_because(view.task.reason)
            raise HTTPException(409, f"This task was cancelled: {why}.")
        if kind == "claimed" and view.claimed_by is not None:
            raise HTTPException(409, "This task is already claimed.")
    return check


# -- operations ------------------------------------------------------------------------------
@staff_page("operator", "reviewer")
async def overview(request: Request, staff: Staff) -> Response:
    w = web(request)
    store = w.backend.store
    rows = store.overview(w.backend.lifecycle, w.backend.world.defs.current())
    paused = await run_in_threadpool(store.paused)
    return w.render(request, "overview.html", rows=rows, paused=paused, csrf=session_csrf(request),
                    may_switch=staff.has("operator"))


@staff_page("operator")
async def switch(request: Request, staff: Staff) -> Response:
    w = web(request)
    form = await read_form(request)
    check_csrf(session_csrf(request), form)
    target = str(form.get("journey") or ev.ALL_JOURNEYS)
    if target != ev.ALL_JOURNEYS and target not in w.backend.world.defs.current():
        raise HTTPException(400, "Unknown journey.")
    action = form.get("action")
    if action not in ("pause", "resume"):
        raise HTTPException(400, "Choose pause or resume.")
    paused = action == "pause"
    drop_held = form.get("drop_held") in ("on", "true", "1")  # resuming: what the pause held is dropped, not sent
    if drop_held and paused:
        raise HTTPException(400, "Dropping what was held goes with resume.")
    reason = str(form.get("reason") or "").strip()[:_REASON_MAX] or None
    # the wall clock (the app's), as `wayfinder sending` stamps the control log: deliver's --drop-held compares
    # the pause with when it was asked to send by it, never with the simulated clock of a demo folder
    event: CloudEvent = ev.sending_switched(paused=paused, journey_id=None if target == ev.ALL_JOURNEYS else target,
                                            actor_id=staff.person_id, at=w.now(), reason=reason,
                                            after=w.backend.store.last_about(target))
    if (target in await run_in_threadpool(w.backend.store.paused)) != paused:
        await run_in_threadpool(w.backend.record, event)
        # ... and the switch that `wayfinder deliver` reads (beside the messages, or the control topic)
        record = ControlRecord(action="pause" if paused else "resume",
                               journey_id=None if target == ev.ALL_JOURNEYS else target,
                               operator_id=staff.person_id, reason=reason, drop_held=drop_held, at=event.time)
        await run_in_threadpool(w.backend.control, record)
    return RedirectResponse("/overview", status_code=303)


ROUTES = [
    Route("/review", review_queue),
    Route("/review/{message_id}", review_detail),
    Route("/review/{message_id}/html", review_html),
    Route("/review/{message_id}/decide", review_decide, methods=["POST"]),
    Route("/tasks", task_inbox),
    Route("/tasks/{task_id}", task_act, methods=["POST"]),
    Route("/overview", overview),
    Route("/overview/switch", switch, methods=["POST"]),
]
