"""What comes out of the engine (SPEC §6): every decision is a record, and every record says why."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from wayfinder.catalog.graph import RankReason
from wayfinder.vocabulary import Channel, RecipientRole, iso, parse_instant

# Aware only (STYLE): a record whose time has no offset is not a record (deliver compares it with its clock).
Instant = Annotated[AwareDatetime, PlainSerializer(iso, return_type=str, when_used="json")]
Status = Literal["sent", "pending_approval", "approved", "rejected", "suppressed", "deferred", "failed"]


def stable_id(prefix: str, *parts: object) -> str:
    """A short id that is the same for the same parts, on every run and every machine."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return f"{prefix}-{digest[:24]}"


def enrollment_id(source: str, event_id: str) -> str:
    """An enrollment's id: from the (source, id) of the event that started it."""
    return stable_id("e", source, event_id)


def message_key(employee_id: str, journey_id: str, version: int, enrollment: str, step_id: str, visit: int = 1) -> str:
    """A message's id (SPEC §6): deterministic from (employee, journey, version, enrollment, step), and the visit
    of the step after its first."""
    parts: list[object] = [employee_id, journey_id, version, enrollment, step_id]
    if visit > 1:
        parts.append(visit)
    return stable_id("m", *parts)


WENT: frozenset[str] = frozenset({"sent", "approved"})
"""The statuses of a message that went (or goes) to its recipient."""


class Gathered(BaseModel):
    """A message that went inside a digest, as the digest's record names it (README "Digests"): its id, the person
    it is about and when it was made; nothing of what it said. ``deliver --kafka`` reads a digest alone, so the
    digest says whom it speaks of (an erasure after it was made holds it back: :func:`erased_since`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    message_id: str
    employee_id: str
    created_at: Instant


class Message(BaseModel):
    """One message decision. A deferred message that goes out later keeps its ``message_id``."""

    model_config = ConfigDict(extra="forbid")

    message_id: str
    employee_id: str
    recipient_id: str | None
    recipient_role: RecipientRole = "employee"
    journey_id: str
    journey_version: int
    step_id: str
    channel: Channel
    status: Status
    reason: str | None = None
    scheduled_for: Instant
    created_at: Instant
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    resources: list[str] = []
    topics: list[str] = []
    explanation: str | None = None
    preferences_url: str | None = None
    locale: str | None = None
    recipient_email: str | None = None
    recipient_name: str | None = None
    reviewer_id: str | None = None
    reviewed_at: Instant | None = None
    original: dict[str, str | None] | None = None  # what a reviewer's edits replaced (SPEC §11), for the audit
    digest_id: str | None = None  # gathered into this digest: it goes inside that message, never on its own
    # a digest's own record: the messages that went in it (written only on a digest)
    gathered: list[Gathered] = Field(default_factory=list, exclude_if=lambda v: not v)
    # why each resource was chosen, as the ranking said when the message was made (README "Learning style, learning
    # paths and everyone's feedback"): by resource id, the ranking's reasons and their points; only for resources a
    # send step ranked (a roadmap's and a learning path's items are in their own order)
    ranking: dict[str, list[RankReason]] = Field(default_factory=dict, exclude_if=lambda v: not v)

    @property
    def delivers_to_employee(self) -> bool:
        """Whether its resources count as delivered to the employee it is about (SPEC §5: "not already delivered to
        this employee"): a message to them, not one to their manager or HR partner about them."""
        return self.recipient_role == "employee"

    @property
    def mailbox(self) -> str:
        """The mailbox it goes through, decided here alone: its recipient's, else (no recipient named) that of the
        employee it is about. Quiet hours, the cap and a recipient's links are that mailbox's."""
        return self.recipient_id or self.employee_id

    @property
    def about_someone_else(self) -> bool:
        """Whether it goes to someone other than the person it is about (their manager or HR partner): a recipient
        who has left is no recipient for it (README "Leavers")."""
        return self.recipient_id not in (None, self.employee_id)

    @property
    def may_name_its_journey(self) -> bool:
        """Whether what goes out may carry its journey's and step's ids (a mail header, a webhook's fields): to the
        employee it is about, or a digest. To a manager or HR partner about someone the ids may say what their
        explanation is careful not to ("medical-return"; README "What a message carries about its recipient")."""
        return self.delivers_to_employee or self.is_digest

    @property
    def is_digest(self) -> bool:
        """A digest's own record (README "Digests"): one email holding the messages gathered into it, not a
        journey's message."""
        return self.journey_id == "digest" and self.message_id.startswith("d-")

    @property
    def goes_out(self) -> bool:
        """Whether delivery sends this message itself: it went (``sent``, or ``approved`` by a reviewer), and
        not inside a digest (the digest is the message that goes)."""
        return self.status in WENT and self.digest_id is None

    def without_content(self) -> Message:
        """The record of a message made before its person's erasure, or its recipient's: what happened (ids,
        status, reason, times, resources), nothing of what it said or whom it was to (``CONTENT``)."""
        return self.model_copy(update={**dict.fromkeys(CONTENT), **_NO_RANKING,
                                       "reason": kept_reason(self.status, self.reason)})

    @property
    def content_erased(self) -> bool:
        """A record whose content was taken out by an erasure (``redacted``, or a file's record about or to a
        person erased later in the run: ``wayfinder.safety.erasure``): nothing of it can go out."""
        return self.text is None and self.html is None and self.subject is None

    def with_status(self, status: Status, *, reason: str | None = None, at: datetime | None = None) -> Message:
        update: dict[str, Any] = {"status": status, "reason": reason}
        if at is not None:
            update["scheduled_for"] = at
        return self.model_copy(update=update)

    def redacted(self, reason: str, at: datetime) -> Message:
        """The record that stays after erasure: ids and outcome only, no content."""
        return self.model_copy(update={"status": "suppressed", "reason": reason, "scheduled_for": at,
                                       **dict.fromkeys(CONTENT), **_NO_RANKING})


def note_erasure(erased: dict[str, datetime], entry: Mapping[str, Any]) -> bool:
    """Keep one audit entry's erasure in ``erased`` (id -> the latest erasure); other entries change nothing. Says
    whether ``erased`` changed (a person not erased before, or a later erasure of one), so a reader of a whole topic
    acts on a new erasure without comparing the map record by record. Raises ``ValueError`` for an erasure whose
    ``at`` is not a time (the callers that read a topic pass such a record over)."""
    person = entry.get("employee_id")
    if entry.get("action") != "privacy.erasure" or not isinstance(person, str):
        return False
    at = parse_instant(str(entry.get("at")))
    if person in erased and erased[person] >= at:
        return False
    erased[person] = at
    return True


def erased_since(erased: Mapping[str, datetime], message: Message) -> bool:
    """Whether ``message`` says something of a person erased (``erased``: id -> the latest erasure) at or after it
    was made: it is about them or to them, or it is a digest that went with such a message in it (README
    "Erasure"). What was made after an erasure (a hire re-created the person) is new data."""

    def of_erased(people: tuple[str | None, ...], made: datetime) -> bool:
        return any(p is not None and p in erased and made <= erased[p] for p in people)

    return of_erased((message.employee_id, message.recipient_id), message.created_at) or any(
        of_erased((item.employee_id, message.recipient_id), item.created_at) for item in message.gathered)


CONTENT = ("subject", "text", "html", "explanation", "locale", "recipient_email", "recipient_name", "original")
"""What a message record says of a person (``Message.without_content``)."""
RANKING = "ranking"
"""What a message record says of a person besides ``CONTENT``: why its resources ranked where they did, from the
person's profile and engagement (``Message.ranking``), emptied by an erasure (absent from its JSON line)."""
_NO_RANKING: dict[str, Any] = {RANKING: {}}
_CODE = re.compile(r"[a-z][a-z0-9_]*")


def kept_reason(status: object, reason: str | None) -> str | None:
    """What an erasure keeps of a record's ``reason``: the engine's code (``opted_out_topic``) as it is; a rejection's
    reason is the reviewer's own words (SPEC §11: free text about the person, a single word too: "pregnant"), so it
    becomes the default code whatever it says (an erasure kept "Perpetua is grieving her husband")."""
    if status == "rejected":
        return "rejected_by_reviewer"
    return reason if reason is None or _CODE.fullmatch(reason) else "erased"


class Task(BaseModel):
    """A task for a person (an HR partner or a manager) instead of an automated message."""

    model_config = ConfigDict(extra="forbid")

    task_id: str
    employee_id: str
    assignee: Literal["hr_partner", "manager", "review_escalation"]
    assignee_id: str | None
    journey_id: str
    journey_version: int
    step_id: str
    title: str
    note: str
    created_at: Instant
    # An extension (SPEC §7 is silent on a task's life): ``cancelled`` when the event that started the journey
    # was rescinded by a correction (``reason: rescinded``), ``completed`` when a person said it is done
    # (``wayfinder.task.completed``, by ``closed_by``); the latest record of a ``task_id`` is its state.
    status: Literal["open", "cancelled", "completed"] = "open"
    reason: str | None = None
    closed_at: Instant | None = None
    closed_by: str | None = Field(default=None, exclude_if=lambda v: v is None)  # only a completed task has one

    def completed(self, actor_id: str | None, at: datetime) -> Task:
        return self.model_copy(update={"status": "completed", "closed_at": at, "closed_by": actor_id})

    def cancelled(self, reason: str, at: datetime) -> Task:
        return self.model_copy(update={"status": "cancelled", "reason": reason, "closed_at": at})

    def erased(self, at: datetime) -> Task:
        """The record that stays after the employee's erasure: cancelled, with ids only (a title or note may have
        been rendered from their profile)."""
        return self.without_content().model_copy(update={"status": "cancelled", "reason": "erased", "closed_at": at})

    def without_content(self) -> Task:
        """The record of a task about a person erased since it was opened: what happened to it (ids, status, times,
        who closed it), nothing of what it said (a title or note may have been rendered from their profile or the
        event, a wellbeing signal's evidence)."""
        return self.model_copy(update={"title": ERASED_TITLE, "note": ""})

    def closing_record(self) -> Task:
        """The close as the worker writes it to ``tasks``: what happened (status, times, ids, who closed it) and no
        title or note. The employee's partition does not learn of an erasure made on the assignee's, so the text its
        state kept could name a person erased since the task was opened; the open record before it has the text
        (:func:`task_as_read`). A task already without its content keeps its ``(erased)``."""
        if self.status == "open" or self.content_erased:
            return self
        return self.model_copy(update={"title": "", "note": ""})

    @property
    def content_erased(self) -> bool:
        return self.title == ERASED_TITLE and not self.note


ERASED_TITLE = "(erased)"
"""The title of a task about a person erased since it was opened (``Task.without_content``)."""


def task_as_read(previous: Task | None, record: Task) -> Task:
    """A record of the ``tasks`` topic as its readers keep it, given the one they kept before for that ``task_id``: a
    close carries no text (:meth:`Task.closing_record`), so it takes the title and note the task was opened with."""
    if previous is None or record.status == "open" or record.title or record.note:
        return record
    return record.model_copy(update={"title": previous.title, "note": previous.note})


def task_erased_since(erased: Mapping[str, datetime], task: Task) -> bool:
    """Whether ``task`` says something of a person erased (``erased``: id -> the latest erasure) at or after it was
    opened, as :func:`erased_since` says of a message: it is about them, or for them (its title and note read its
    assignee as ``recipient``: "Mara, please call ..."; 2026-12-06, they were kept after Mara's erasure). A task
    opened after the erasure or a rehire is new data."""
    return any(p is not None and p in erased and task.created_at <= erased[p]
               for p in (task.employee_id, task.assignee_id))


MAX_DEAD_LETTER_RAW = 65_536


def _bounded_raw(raw: str) -> str:
    """The first :data:`MAX_DEAD_LETTER_RAW` characters of a raw input, and how long it was: a 50 MB line does not
    become a 50 MB dead letter (and a second copy in every store it goes to)."""
    if len(raw) <= MAX_DEAD_LETTER_RAW:
        return raw
    return cut(raw[:MAX_DEAD_LETTER_RAW], len(raw))


def cut(head: str, characters: int) -> str:
    """The ``raw`` of an input of ``characters`` characters of which ``head`` is kept."""
    return f"{head}… [cut: {characters} characters in all]"


ERASED_INPUT = "[redacted: the person this input was about was erased]"
"""The ``raw`` of a dead letter about an erased person: the reason, time and position stay, the input does not."""


class DeadLetter(BaseModel):
    """An input that could not be used, with why, and the original bytes (as text; at most
    :data:`MAX_DEAD_LETTER_RAW` characters of them). Bytes that are not UTF-8 are also kept as they were, in
    ``raw_base64`` (the first :data:`MAX_DEAD_LETTER_RAW` of them), a field written only then: ``raw`` shows
    U+FFFD where such a byte was."""

    model_config = ConfigDict(extra="forbid")

    reason: str
    raw: Annotated[str, AfterValidator(_bounded_raw)]
    received_at: Instant
    source: str | None = None
    line: int | None = None
    raw_base64: str | None = None

    @classmethod
    def of(cls, reason: str, raw: bytes | str, received_at: datetime, *, source: str | None = None,
           line: int | None = None, characters: int | None = None) -> DeadLetter:
        """The dead letter of an input as it came (bytes, or text already); with ``characters``, ``raw`` is the
        first part of an input of that many characters (a line read past, never held whole)."""
        if characters is not None:
            letter = cls.of(reason, raw, received_at, source=source, line=line)
            return letter.model_copy(update={"raw": cut(letter.raw, characters)})
        if isinstance(raw, str):
            return cls(reason=reason, raw=raw, received_at=received_at, source=source, line=line)
        try:
            return cls(reason=reason, raw=raw.decode("utf-8"), received_at=received_at, source=source, line=line)
        except UnicodeDecodeError:
            return cls(reason=reason, raw=raw.decode("utf-8", "replace"), received_at=received_at, source=source,
                       line=line, raw_base64=base64.b64encode(raw[:MAX_DEAD_LETTER_RAW]).decode("ascii"))

    @model_serializer(mode="wrap")
    def _without_empty_bytes(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("raw_base64") is None:
            data.pop("raw_base64", None)
        return data
