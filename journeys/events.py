"""CloudEvents in, typed events or dead letters out (SPEC §2)."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal, NoReturn

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, ValidationError

from wayfinder.journeys.profile import Locale, ProfileUpdate, QuietHours, Timezone
from wayfinder.vocabulary import EventType, iso

__all__ = ["ERASURE", "SENSITIVE_EVENT_TYPES", "CloudEvent", "DecodeError", "decode_event", "iso"]


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 structured-mode event. Extension attributes are kept."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"]
    id: Annotated[str, Field(min_length=1)]
    source: Annotated[str, Field(min_length=1)]
    type: Annotated[str, Field(min_length=1)]
    time: AwareDatetime
    subject: Annotated[str, Field(min_length=1)]
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        """The idempotency key: the same (source, id) has the effect of once."""
        return (self.source, self.id)


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow")


class Hired(_Data):
    start_date: date
    role: str | None = None
    department: str | None = None
    location: str | None = None
    manager_id: str | None = None


class Started(_Data):
    date: date


class DependentAdded(_Data):
    relationship: str
    reason: str | None = None
    date: date


LeaveType = Literal["parental", "medical", "bereavement", "sabbatical", "other"]


class LeaveStarted(_Data):
    leave_type: LeaveType
    start_date: date
    expected_return_date: date | None = None


class LeaveEnded(_Data):
    leave_type: LeaveType
    return_date: date


class JobChanged(_Data):
    change: Literal["promotion", "transfer", "demotion"]
    old_role: str | None = None
    new_role: str | None = None
    old_department: str | None = None
    new_department: str | None = None


class ManagerChanged(_Data):
    old_manager_id: str | None = None
    new_manager_id: str


class Relocated(_Data):
    old_location: str | None = None
    new_location: str
    new_country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    new_timezone: Timezone | None = None


class Terminated(_Data):
    date: date
    reason: str | None = None


class TaskCompleted(_Data):
    task_id: Annotated[str, Field(min_length=1)]


class Engagement(_Data):
    message_id: str | None = None
    resource_id: str | None = None
    rating: Annotated[StrictInt, Field(ge=-1, le=1)] | None = None


class WellbeingSignal(_Data):
    signal: Annotated[str, Field(min_length=1)]
    score: Annotated[float, Field(ge=0, le=1, strict=True)]
    evidence: str | None = None


class ErasureRequested(_Data):
    pass


class ReviewEdits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: Annotated[str, Field(min_length=1)] | None = None
    text: Annotated[str, Field(min_length=1)] | None = None
    html: Annotated[str, Field(min_length=1)] | None = None


class ReviewDecided(_Data):
    """SPEC §11: a reviewer approves (optionally with edits) or rejects a message waiting for a person."""

    message_id: Annotated[str, Field(min_length=1)]
    decision: Literal["approve", "reject"]
    reviewer_id: Annotated[str, Field(min_length=1)]
    reason: str | None = None
    edits: ReviewEdits | None = None


class PreferencesChanged(_Data):
    """SPEC §11: each field present replaces that preference."""

    opt_out_channels: list[Literal["email", "intranet"]] | None = None
    opt_out_topics: list[Annotated[str, Field(min_length=1)]] | None = None
    quiet_hours: QuietHours | None = None
    locale: Locale | None = None
    paused_until: AwareDatetime | None = None


DATA_MODELS: dict[str, type[BaseModel]] = {
    "hris.employee.upserted": ProfileUpdate,
    "hris.employee.hired": Hired,
    "hris.employee.started": Started,
    "hris.dependent.added": DependentAdded,
    "hris.leave.started": LeaveStarted,
    "hris.leave.ended": LeaveEnded,
    "hris.job.changed": JobChanged,
    "hris.manager.changed": ManagerChanged,
    "hris.employee.relocated": Relocated,
    "hris.employee.terminated": Terminated,
    "onboarding.task.completed": TaskCompleted,
    "engagement.message.opened": Engagement,
    "engagement.message.clicked": Engagement,
    "engagement.message.feedback": Engagement,
    "wellbeing.signal": WellbeingSignal,
    "privacy.erasure.requested": ErasureRequested,
    "wayfinder.review.decided": ReviewDecided,
    "wayfinder.preferences.changed": PreferencesChanged,
}

ERASURE = EventType.ERASURE_REQUESTED.value
SENSITIVE_EVENT_TYPES = frozenset({EventType.WELLBEING_SIGNAL.value})


class DecodeError(ValueError):
    """Why a raw event cannot be used; the text names fields, never their values."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def _describe(e: ValidationError, prefix: str = "") -> str:
    parts = []
    for err in e.errors(include_url=False, include_input=False)[:5]:
        loc = ".".join(str(x) for x in err["loc"])
        parts.append(f"{prefix}{loc}: {err['msg']}" if loc else f"{prefix}{err['msg']}")
    more = len(e.errors()) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _reject_constant(name: str) -> NoReturn:
    msg = f"{name} is not a JSON value"
    raise ValueError(msg)


def _parse_json(raw: bytes | str, max_bytes: int) -> Any:
    if isinstance(raw, str):
        try:
            raw = raw.encode("utf-8")
        except UnicodeEncodeError as e:
            raise DecodeError(code="invalid_json", detail="the text is not valid Unicode") from e
    if len(raw) > max_bytes:
        raise DecodeError(code="too_large", detail=f"event is {len(raw)} bytes, the limit is {max_bytes}")
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except RecursionError as e:
        raise DecodeError(code="invalid_json", detail="nested too deeply") from e
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError and refused constants
        raise DecodeError(code="invalid_json", detail=str(e)) from e


def decode_event(raw: bytes | str, *, max_bytes: int = 1_000_000) -> CloudEvent:
    """Parse and validate one event, or raise :class:`DecodeError` with a reason fit for a dead letter."""
    obj = _parse_json(raw, max_bytes)
    if not isinstance(obj, dict):
        raise DecodeError(code="invalid_cloudevent", detail=f"expected a JSON object, got {type(obj).__name__}")
    try:
        event = CloudEvent.model_validate(obj)
    except ValidationError as e:
        raise DecodeError(code="invalid_cloudevent", detail=_describe(e)) from e
    model = DATA_MODELS.get(event.type)
    if model is not None:
        try:
            model.model_validate(event.data)
        except ValidationError as e:
            raise DecodeError(code="invalid_data", detail=f"{event.type}: " + _describe(e, "data.")) from e
    return event





