"""The one interpreter of the core's effects. Each runner implements the small ``Port``; no runner holds a
journey or mailbox rule, and none decides where a message goes (the core does, in the effect)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol, assert_never

from wayfinder.expressions import forget_inputs
from wayfinder.journeys.effects import (
    CancelPending,
    Decide,
    Departure,
    Diagnostic,
    DigestInput,
    Dispatch,
    Effect,
    Erase,
    ForgetMailbox,
    Gather,
    LeaveChanged,
    Lifecycle,
    MailboxInput,
    OpenTask,
    Preferences,
    Refuse,
    Schedule,
    Skipped,
    Timer,
    Unschedule,
)
from wayfinder.journeys.events import iso
from wayfinder.journeys.records import Message, Task

__all__ = ["Port", "audit_record", "carry_out", "diagnostic_position", "gave_up", "log_diagnostic"]

log = logging.getLogger(__name__)


class Port(Protocol):
    """What a runner does with effects: keep a timer, record a decision, pass an input to a mailbox, open a
    task, write an audit record, and count what happened."""

    def schedule(self, due: datetime, timer: Timer) -> None: ...
    def unschedule(self, timer: Timer) -> None: ...
    def record(self, message: Message) -> None: ...
    def to_mailbox(self, mailbox: str, item: MailboxInput) -> None: ...
    def to_digest(self, mailbox: str, item: DigestInput) -> None: ...
    @property
    def digests(self) -> bool:
        """Whether the policy has digests: cancels, erasure and preferences then reach digest boxes too."""
    def open_task(self, task: Task) -> None: ...
    def audit(self, entry: dict[str, Any]) -> None: ...
    def refuse(self, effect: Refuse) -> None: ...
    def observe(self, effect: Lifecycle | Diagnostic, subject: str) -> None:
        """Count what happened; log a diagnostic (``log_diagnostic``)."""
    def skipped(self, effect: Skipped, subject: str) -> None:
        """A step its ``when`` skipped: kept by a runner that shows an employee's path (preview), else nothing."""


def diagnostic_position(effect: Diagnostic, positions: Mapping[tuple[str, str], str]) -> str | None:
    """``file:line:column`` of what a diagnostic is about (``Definitions.positions``): its step or condition, else
    its journey; None for what no journey file holds (a digest)."""
    if effect.journey_id is None:
        return None
    return positions.get((effect.journey_id, effect.step_id or "")) or positions.get((effect.journey_id, ""))


def log_diagnostic(effect: Diagnostic, subject: str, where: str | None = None,
                   ids: Mapping[str, str | int] | None = None) -> None:
    """A diagnostic's log lines: which journey and step, for whom (an opaque id), and where the journey file says
    it (``diagnostic_position``, issue 9: a run-time failure points at the source); its detail only at DEBUG.
    ``ids``: what the runner knows of the input being decided (``event_id``; on a worker ``topic``, ``partition``,
    ``offset``), keys of a JSON line so that one can be found from the other (issue 13)."""
    # The detail may quote an input value: never at INFO, where workers log in production.
    extra = {**(ids or {}), "employee_id": subject, "journey": effect.journey_id, "step": effect.step_id}
    if where is None:
        log.info("%s subject=%s journey=%s step=%s", effect.kind, subject, effect.journey_id, effect.step_id,
                 extra=extra)
    else:
        log.info("%s subject=%s journey=%s step=%s at=%s", effect.kind, subject, effect.journey_id, effect.step_id,
                 where, extra=extra)
    log.debug("%s detail: %s", effect.kind, effect.detail)


def audit_record(effect: Erase) -> dict[str, Any]:
    """The audit record of an erasure: ids and counts, no personal data."""
    return {"action": "privacy.erasure", "employee_id": effect.employee_id, "at": iso(effect.at),
            "enrollments_removed": effect.enrollments}


GAVE_UP_FIELDS = ("message_id", "employee_id", "recipient_id", "recipient_role", "journey_id", "journey_version",
                  "step_id", "channel", "status", "reason")


def gave_up(message: Message) -> Refuse:
    """The dead letter of a message the engine gave up on (its template did not render): what identifies it, never
    its text, which may be about a person."""
    record = message.model_dump(mode="json", include=set(GAVE_UP_FIELDS))
    raw = json.dumps({k: record[k] for k in GAVE_UP_FIELDS}, ensure_ascii=False)
    return Refuse(message.reason or "failed", raw, "wayfinder", message.scheduled_for, of_input=False)


def _to_recipients(effect: Dispatch | Gather | ForgetMailbox | Preferences | CancelPending, port: Port) -> None:
    """A mailbox's input to the mailbox, a gathered message to the digest box; a cancel, an erasure and new
    preferences to both when the policy has digests."""
    if isinstance(effect, Gather):
        port.to_digest(effect.mailbox, effect)
        return
    if isinstance(effect, Dispatch):
        port.to_mailbox(effect.mailbox, effect)
        return
    for mailbox in effect.recipients if isinstance(effect, CancelPending) else (effect.mailbox,):
        port.to_mailbox(mailbox, effect)
        if port.digests:
            port.to_digest(mailbox, effect)


def carry_out(effects: list[Effect], port: Port, subject: str) -> None:
    """Apply ``effects`` in order through ``port``; ``subject`` (an opaque id) is only for the log."""
    for effect in effects:
        match effect:
            case Schedule(due=due, timer=timer):
                port.schedule(due, timer)
            case Unschedule(timer=timer):
                port.unschedule(timer)
            case Decide(message=message):
                port.record(message)
                if message.status == "failed":  # SPEC §6: a failed message is in the dead letters too
                    port.refuse(gave_up(message))
            case LeaveChanged(mailbox=mailbox) | Departure(mailbox=mailbox):
                port.to_mailbox(mailbox, effect)
                if port.digests:  # a recipient's leave holds their digests too, and their leaving stops them
                    port.to_digest(mailbox, effect)
            case Dispatch() | Gather() | ForgetMailbox() | Preferences() | CancelPending():
                _to_recipients(effect, port)
            case OpenTask(task=task):
                port.open_task(task)
            case Erase():
                forget_inputs()  # the expressions' result caches may hold what the person's fields said
                port.audit(audit_record(effect))
            case Refuse():
                port.refuse(effect)
            case Diagnostic() | Lifecycle():
                port.observe(effect, subject)
            case Skipped():
                port.skipped(effect, subject)
            case _:
                assert_never(effect)
