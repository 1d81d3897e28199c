"""What the core asks its shell to do. The shell (embedded runner, Faust agent) carries them out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Literal

from wayfinder.journeys.records import Message, Task


@dataclass(frozen=True)
class EmployeeTimer:
    """A timer of an employee's journeys (the employee stage runs it)."""

    employee_id: str


@dataclass(frozen=True)
class RecipientTimer:
    """A timer of a recipient's mailbox or digest box (the mailbox stage runs it)."""

    recipient_id: str


@dataclass(frozen=True)
class EnrollmentTimer(EmployeeTimer):
    journey_id: str
    enrollment_id: str
    token: int


@dataclass(frozen=True)
class MailboxTimer(RecipientTimer):
    message_id: str


@dataclass(frozen=True)
class ReviewTimer(EmployeeTimer):
    """The review window of a message waiting for a person ends (SPEC §11): escalate if still undecided."""

    message_id: str


@dataclass(frozen=True)
class DigestTimer(RecipientTimer):
    """A recipient's digest closes: it is rendered and goes."""

    digest_id: str


Timer = EnrollmentTimer | MailboxTimer | ReviewTimer | DigestTimer


@dataclass(frozen=True)
class Schedule:
    """Call back at ``due`` (a timer that fires late or twice is harmless: the core checks its token)."""

    due: datetime
    timer: Timer


@dataclass(frozen=True)
class Unschedule:
    """Forget a timer that can no longer do anything (a review window whose message was decided or withdrawn), so
    pending timers count what may still act. A timer already fired or never set is no matter."""

    timer: Timer


@dataclass(frozen=True)
class Decide:
    """A message decision to record (sent, deferred, pending_approval, suppressed, failed)."""

    message: Message


LeaveRule = Literal["defer", "suppress", "send"]
"""What a message does while its recipient is on a sensitive leave (``journeys/leave.py``)."""


@dataclass(frozen=True)
class MessageForBox:
    """A message for the box ``mailbox`` of its recipient (the recipient's id, decided by the core), with the
    recipient's time zone and quiet hours: a ``Dispatch`` or a ``Gather``."""

    mailbox: str
    message: Message
    timezone: str
    quiet_hours: tuple[time, time] | None
    # the country whose weekend the recipient keeps, where the policy's ``working_days.weekend_by_country`` lists
    # it; None: the policy's ``weekend`` (README "Working days")
    weekend_country: str | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class Dispatch(MessageForBox):
    """A message ready to go: the mailbox applies the frequency cap and quiet hours."""

    on_leave: LeaveRule = "defer"  # while the recipient is on a sensitive leave: wait, suppress, or still go


@dataclass(frozen=True)
class OpenTask:
    task: Task


@dataclass(frozen=True)
class CancelPending:
    """Deferred messages about this employee (from one journey, or all; about anyone when
    ``employee_id`` is None) will not go: the mailboxes of ``recipients`` suppress them."""

    employee_id: str | None
    journey_id: str | None
    reason: str
    recipients: tuple[str, ...]
    at: datetime
    role: str | None = None  # only what goes to the recipient in this role (a manager who stays the HR partner)


@dataclass(frozen=True)
class ForgetMailbox:
    """The recipient was erased: drop their mailbox (after the ``CancelPending`` that empties it)."""

    mailbox: str


@dataclass(frozen=True)
class Preferences:
    """The recipient changed what they get (SPEC §11): the mailbox checks these again when a held message
    goes, and holds everything until ``paused_until``."""

    mailbox: str
    opt_out_channels: tuple[str, ...]
    opt_out_topics: tuple[str, ...]  # with every topic below one opted out (the catalog's hierarchy)
    paused_until: datetime | None
    at: datetime
    timezone: str | None = None  # the recipient's, for placing again what a shortened pause held
    quiet_hours: tuple[time, time] | None = None  # the recipient's own quiet hours, if any
    weekend_country: str | None = None  # as a MessageForBox's: with ``timezone`` only


@dataclass(frozen=True)
class LeaveChanged:
    """The recipient's sensitive leave (Policy.leave_pause) began, or its end became known or moved: from
    ``start`` until ``end`` (None: not known yet) the mailbox holds what may not go during it. ``timezone`` and
    ``quiet_hours`` are the recipient's, for the messages released when it ends."""

    mailbox: str
    start: datetime
    end: datetime | None
    timezone: str
    quiet_hours: str | None
    at: datetime
    weekend_country: str | None = None  # as a MessageForBox's


@dataclass(frozen=True)
class Departure:
    """The recipient's termination takes effect at ``left_at`` (None: they have not left, or are hired again; README
    "Leavers"): a message about someone else still held in their mailbox or digest box when its time comes at or
    after then does not go (``no_recipient``)."""

    mailbox: str
    left_at: datetime | None
    at: datetime


@dataclass(frozen=True)
class Gather(MessageForBox):
    """A message for a role recipient whose policy gathers it into a digest (README "Digests"): the recipient's
    digest box keeps it until the digest closes."""

    on_leave: LeaveRule = "defer"  # while the recipient is on a sensitive leave: wait, suppress, or still go


DigestInput = Gather | CancelPending | ForgetMailbox | Preferences | LeaveChanged | Departure
"""What reaches a recipient's digest box: gathered messages, and the cancels, erasure, preferences, sensitive leave
and termination that the mailbox gets too."""


MailboxInput = Dispatch | CancelPending | ForgetMailbox | Preferences | LeaveChanged | Departure
"""What reaches a recipient's mailbox (each is addressed to one mailbox; a cancel to several)."""


@dataclass(frozen=True)
class Erase:
    """Forget this employee everywhere; leave an audit record with no personal data."""

    employee_id: str
    at: datetime
    enrollments: int


@dataclass(frozen=True)
class Refuse:
    """An input the core will not act on (a decision about a message that is not pending, a self-review):
    the runner writes it to the dead letters with ``reason``. ``of_input`` is false for a letter that is not the
    input's (a message the engine gave up on): a runner that knows where the input was read does not put that
    place on it, since the input itself was processed."""

    reason: str
    raw: str
    source: str
    at: datetime
    of_input: bool = True


@dataclass(frozen=True)
class Lifecycle:
    kind: Literal["enrolled", "exited", "completed", "erased", "stale", "duplicate"]
    journey_id: str | None


@dataclass(frozen=True)
class Diagnostic:
    """Something to log and count (an expression that failed, a template that did not render)."""

    kind: str
    journey_id: str | None
    step_id: str | None
    detail: str


@dataclass(frozen=True)
class Skipped:
    """A ``send`` or ``task`` step its ``when`` skipped (false, or failed and so counted false): nothing to carry out
    and nothing to count; a runner that shows an employee's path through a journey (``preview``) keeps it."""

    journey_id: str
    step_id: str
    at: datetime
    condition: str  # the ``when`` as written
    failed: str | None = None  # why the ``when`` failed and so counted false (its diagnostic's detail); None: false


def part(name: str) -> str:
    """The ``step_id`` of a diagnostic about one of the journey's own conditions (``audience``, ``trigger.when``,
    ``exit_on[0].when``): ``#`` and its name, which no step id can be (``vocabulary.ID_PATTERN``)."""
    return f"#{name}"


def part_name(step_id: str | None) -> str | None:
    """The condition a diagnostic's ``step_id`` names (:func:`part`), or None for a step (or none)."""
    return step_id[1:] if step_id is not None and step_id.startswith("#") else None


Effect = (Schedule | Unschedule | Decide | Dispatch | Gather | OpenTask | CancelPending | ForgetMailbox | Preferences
          | LeaveChanged | Departure | Erase | Refuse | Lifecycle | Diagnostic | Skipped)
