"""Per-employee and per-recipient state. Plain pydantic models, so any store can keep them as JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wayfinder.journeys.profile import Profile
from wayfinder.journeys.records import Message


class Enrollment(BaseModel):
    """One employee in one journey. It keeps the journey version it started with."""

    model_config = ConfigDict(extra="forbid")

    journey_id: str
    version: int
    enrollment_id: str
    trigger: dict[str, Any]
    started_at: datetime
    step: int = 0
    waiting: Literal["no", "timer", "event"] = "no"
    wake_at: datetime | None = None
    token: int = 0
    visits: dict[str, int] = Field(default_factory=dict)


class EmployeeState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employee_id: str
    profile: Profile
    enrollments: dict[str, Enrollment] = Field(default_factory=dict)
    last_entry: dict[str, datetime] = Field(default_factory=dict)
    delivered: set[str] = Field(default_factory=set)
    feedback: dict[str, float] = Field(default_factory=dict)
    seen: set[str] = Field(default_factory=set)
    mailboxes: set[str] = Field(default_factory=set)
    awaiting_approval: dict[str, Message] = Field(default_factory=dict)

    @classmethod
    def new(cls, employee_id: str) -> EmployeeState:
        return cls(employee_id=employee_id, profile=Profile(id=employee_id))


class Slot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: datetime
    message_id: str


class MailboxState(BaseModel):
    """What one recipient has been sent and what waits for them (frequency cap, quiet hours).

    Two orders hold, and the mailbox relies on them to work without scanning: ``slots`` are in time order
    (each new slot is at or after every slot before it), and ``pending`` is in the order the messages were
    held, which is also the order of their times."""

    model_config = ConfigDict(extra="forbid")

    recipient_id: str
    slots: list[Slot] = Field(default_factory=list)
    pending: dict[str, Message] = Field(default_factory=dict)
    opt_out_channels: list[str] = Field(default_factory=list)
    opt_out_topics: list[str] = Field(default_factory=list)
    paused_until: datetime | None = None
