"""CloudEvents in, typed events or dead letters out (SPEC §2)."""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from types import UnionType
from typing import Annotated, Any, Literal, NoReturn, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
)
from pydantic.fields import FieldInfo

from wayfinder.journeys import layout
from wayfinder.journeys.profile import (
    RFC3339,
    Country,
    DateText,
    Locale,
    ProfileUpdate,
    QuietHours,
    RfcInstant,
    Timezone,
)
from wayfinder.vocabulary import EventType, iso

__all__ = ["EARLIEST", "ERASURE", "LATEST", "RATING_EVENTS", "SENSITIVE_EVENT_TYPES", "CloudEvent", "DecodeError",
           "decode_event", "distinct", "iso", "rating_of"]


_RFC3339 = RFC3339


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _no_control(value: str) -> str:
    """CloudEvents 1.0's String type disallows the control characters U+0000-U+001F and U+007F-U+009F: an
    employee id with a line break in it is no id (it was taken, keyed a person's state and went into the logs)."""
    if _CONTROL.search(value) is not None:
        msg = "holds a control character (a line break, a tab, U+0000...), which CloudEvents does not allow"
        raise ValueError(msg)
    return value


Attribute = Annotated[str, Field(min_length=1), AfterValidator(_no_control)]


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 structured-mode event. Extension attributes are kept."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"]
    id: Attribute
    source: Attribute
    type: Attribute
    time: RfcInstant
    subject: Attribute
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("data", mode="before")
    @classmethod
    def _null_data_is_none(cls, value: Any) -> Any:
        """``"data": null`` is an event with no data, as one without the key is (what producers write for an event
        that carries none, such as SPEC §2's erasure request: so written it was a dead letter, and the person was
        not forgotten). A type whose data has required fields then names them, as for an event without ``data``."""
        return {} if value is None else value

    @property
    def key(self) -> tuple[str, str]:
        """The idempotency key: the same (source, id) has the effect of once."""
        return (self.source, self.id)


def distinct(events: Iterable[CloudEvent]) -> Iterator[CloudEvent]:
    """Each event the first time its key comes; later copies are left out (SPEC §2: the same (source, id)
    processed twice has the effect of once). For readers of a whole file or topic, such as the reports."""
    seen: set[tuple[str, str]] = set()
    for event in events:
        if event.key not in seen:
            seen.add(event.key)
            yield event


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow")


class Hired(_Data):
    start_date: DateText
    role: str | None = None
    department: str | None = None
    location: str | None = None
    manager_id: str | None = None


class Started(_Data):
    date: DateText


class DependentAdded(_Data):
    relationship: str
    reason: Literal["birth", "adoption", "foster", "marriage"] | None = None
    date: DateText


LeaveType = Literal["parental", "medical", "bereavement", "sabbatical", "other"]


class LeaveStarted(_Data):
    leave_type: LeaveType
    start_date: DateText
    expected_return_date: DateText | None = None


class LeaveEnded(_Data):
    leave_type: LeaveType
    return_date: DateText


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
    old_country: Country | None = None  # an extension (README): the import writes it, a journey may compare
    new_country: Country | None = None
    new_timezone: Timezone | None = None


class Terminated(_Data):
    date: DateText
    reason: str | None = None


class TaskCompleted(_Data):
    task_id: Annotated[str, Field(min_length=1)]


Rating = Annotated[StrictInt, Field(ge=-1, le=1)]


class Engagement(_Data):
    message_id: str | None = None
    resource_id: str | None = None
    rating: Rating | None = None


class ResourceRated(_Data):
    """A person rates a resource (-1, 0 or 1), wherever they met it."""

    resource_id: Annotated[str, Field(min_length=1)]
    rating: Rating
    message_id: str | None = None


class WellbeingSignal(_Data):
    signal: Annotated[str, Field(min_length=1)]
    score: Annotated[float, Field(ge=0, le=1, strict=True)]
    evidence: str | None = None


class ErasureRequested(_Data):
    pass


class OriginalEvent(_Data):
    source: Annotated[str, Field(min_length=1)]
    id: Annotated[str, Field(min_length=1)]


class FieldChange(_Data):
    old: Any = None
    new: Any


class Correction(_Data):
    """An HR system corrects an earlier event, named by its ``source`` and ``id`` (README: an extension to SPEC
    §2): it did not happen (``rescind``), or it did with ``changes`` ``{field: {old, new}}`` (``amend``)."""

    original: OriginalEvent
    action: Literal["rescind", "amend"]
    original_type: str | None = None
    reason: str | None = None
    changes: dict[str, FieldChange] | None = None


def _one_line(text: str) -> str:
    """A subject is one line: a line break in an email header would start another header (a reviewer's edit
    ``"Hi\\r\\nBcc: ..."`` was approved, then failed the whole outbox in simulate and every send in deliver)."""
    if any(c in text for c in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"):
        msg = "must be one line"
        raise ValueError(msg)
    return text


def _says_something(part: str) -> str:
    """An edited part says something: approved, a text of spaces went with only its footer, a subject of spaces with
    none (a template's part that renders so is a render error: ``layout.says_nothing``)."""
    if layout.says_nothing(part):
        msg = "says nothing (only spaces): leave it out of edits to keep the original"
        raise ValueError(msg)
    return part


_EDITED = Annotated[str, Field(min_length=1), AfterValidator(_says_something)]


def _names_someone(person_id: str) -> str:
    """A reviewer's id says who decided (SPEC §11: the record keeps ``reviewer_id``): one of only spaces was taken,
    and the message went approved by nobody anyone could name, where an empty id was refused."""
    if layout.says_nothing(person_id):
        msg = "names nobody (only spaces)"
        raise ValueError(msg)
    return person_id


class ReviewEdits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: Annotated[_EDITED, AfterValidator(_one_line)] | None = None
    text: _EDITED | None = None
    html: _EDITED | None = None


class ReviewDecided(_Data):
    """SPEC §11: a reviewer approves (optionally with edits) or rejects a message waiting for a person."""

    message_id: Annotated[str, Field(min_length=1)]
    decision: Literal["approve", "reject"]
    reviewer_id: Annotated[str, Field(min_length=1), AfterValidator(_names_someone)]
    reason: str | None = None
    edits: ReviewEdits | None = None


class HumanTask(_Data):
    """``wayfinder.task.claimed`` / ``wayfinder.task.completed`` (an extension, README): a person works a journey's
    task. A completion that names no task closed none while a ``wait_for`` on it went on, and one with no actor left
    no one as having done it."""

    task_id: Annotated[str, Field(min_length=1)]
    actor_id: Annotated[str, Field(min_length=1)]
    journey_id: str | None = None
    step_id: str | None = None
    note: str | None = None
    on_behalf_of: str | None = None  # the assignee, when the actor is not (an HR partner covering for a manager)


class PreferencesChanged(_Data):
    """SPEC §11: each field present replaces that preference."""

    opt_out_channels: list[Literal["email", "intranet"]] | None = None
    opt_out_topics: list[Annotated[str, Field(min_length=1)]] | None = None
    quiet_hours: QuietHours | None = None
    locale: Locale | None = None
    paused_until: RfcInstant | None = None


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
    "engagement.resource.rated": ResourceRated,
    "wellbeing.signal": WellbeingSignal,
    "privacy.erasure.requested": ErasureRequested,
    "hris.correction": Correction,
    "wayfinder.review.decided": ReviewDecided,
    "wayfinder.preferences.changed": PreferencesChanged,
    "wayfinder.task.claimed": HumanTask,
    "wayfinder.task.completed": HumanTask,
}

ERASURE = EventType.ERASURE_REQUESTED.value
RATING_EVENTS = frozenset({EventType.MESSAGE_FEEDBACK.value, EventType.RESOURCE_RATED.value})


def rating_of(event: CloudEvent) -> int | None:
    """The rating an event gives (-1, 0 or 1): only a rating event's; the engine's ranking, the fairness report
    and ``wayfinder feedback aggregate`` all count by this."""
    if event.type not in RATING_EVENTS:
        return None
    value = event.data.get("rating")
    return value if isinstance(value, int) and not isinstance(value, bool) and -1 <= value <= 1 else None

SENSITIVE_EVENT_TYPES = frozenset({EventType.WELLBEING_SIGNAL.value})
# The field of a known type's data that names the day the event is about (SPEC §2): its ``time`` is when the HR
# system recorded it, often days apart (a return recorded on Friday for the Monday after). One table for the
# explanation's words, a roadmap's day 1 and the why page.
DAY_FIELDS: dict[str, str] = {
    EventType.HIRED.value: "start_date",
    EventType.STARTED.value: "date",
    EventType.DEPENDENT_ADDED.value: "date",
    EventType.LEAVE_STARTED.value: "start_date",
    EventType.LEAVE_ENDED.value: "return_date",
    EventType.TERMINATED.value: "date",
}


def day_fields(event_type: str) -> tuple[str, ...]:
    """Where the day an event is about may be in its data: its type's field (``DAY_FIELDS``), or for another
    type (a job change, a company's own) ``start_date``, then ``date``."""
    field = DAY_FIELDS.get(event_type)
    return (field,) if field is not None else ("start_date", "date")


class DecodeError(ValueError):
    """Why a raw event cannot be used; the text names fields, never their values."""

    def __init__(self, code: str, detail: str, event_type: str | None = None,
                 loc: tuple[int | str, ...] = ()) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.event_type = event_type  # when the envelope was read: the type whose data did not validate
        self.loc = loc  # where in the event's object the (first) fault is, when known: ("data", "date")


def _schema_names(models: Iterable[type[BaseModel]]) -> frozenset[str]:
    """Every field name (and alias) of these models and of the models their fields hold."""
    names: set[str] = set()
    seen: set[type[BaseModel]] = set()
    todo = list(models)
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            names.update(n for n in (name, info.alias) if n)
            stack: list[Any] = [info.annotation]
            while stack:
                annotation = stack.pop()
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                    todo.append(annotation)
                stack.extend(get_args(annotation))
    return frozenset(names)


@functools.cache
def _field_names() -> frozenset[str]:
    return _schema_names([CloudEvent, *DATA_MODELS.values()])


def _key_shown(key: str, position: int) -> str:
    """How a reason names a key of the event's JSON: by its text only when it is a field the schema defines
    (``email``, ``start_date``); any other key is the sender's data, which may be a name or an address (a map of
    ``changes`` or ``emergency_contacts`` keyed by email), so it is named by its place in its object (1 is the
    first key). SPEC §9: what Wayfinder logs and keeps carries no personal data beyond opaque ids."""
    return key if key in _field_names() else f"(key {position})"


def _where(loc: tuple[int | str, ...], value: Any) -> str:
    """A pydantic error location told without the input's own keys. Walks ``value`` along ``loc``: an element
    that is a key of the object there came from the input (:func:`_key_shown`); any other text came from the
    schema (a required field that is missing, a union member's tag such as ``str``) and is shown."""
    parts: list[str] = []
    for x in loc:
        if isinstance(x, int):
            parts.append(f"[{x}]")
            value = value[x] if isinstance(value, list) and -len(value) <= x < len(value) else None
            continue
        if isinstance(value, dict) and x in value:
            shown = _key_shown(x, list(value).index(x) + 1)
            value = value[x]
        else:
            shown = x
        parts.append(f".{shown}" if parts else shown)
    return "".join(parts)


def _describe(e: ValidationError, value: Any, prefix: str = "") -> str:
    """The first errors, each with where it is (never a key that is the sender's data) and pydantic's message,
    which names what was expected, not the value given."""
    parts = []
    for err in e.errors(include_url=False, include_input=False)[:5]:
        loc = _where(err["loc"], value)
        parts.append(f"{prefix}{loc}: {err['msg']}" if loc else f"{prefix}{err['msg']}")
    more = len(e.errors()) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _first_loc(e: ValidationError) -> tuple[int | str, ...]:
    """Where pydantic's first error is (union tags and all: a placement skips what it cannot find)."""
    errors = e.errors(include_url=False, include_input=False)
    return tuple(errors[0]["loc"]) if errors else ()


def _reject_constant(name: str) -> NoReturn:
    msg = f"{name} is not a JSON value"
    raise DecodeError(code="invalid_json", detail=msg)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise DecodeError(code="invalid_json", detail="a number is too large to be a float (such as 1e999)")
    return value


def _float_sized_int(text: str) -> int:
    """An integer as JSON writes it, refused when it is past what a float holds (more than 308 digits), as
    ``1e999`` is: CEL cannot take it (every condition over the object holding it failed, also one that did not
    read it), and past 4,300 digits Python cannot read it."""
    if len(text) > 308 and not math.isfinite(float(text)):  # a float holds at most 1.8e308: 309 digits
        raise DecodeError(code="invalid_json", detail="a number is too large to be a float (such as 1e999)")
    return int(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        at = next(i for i, (k, _) in enumerate(pairs) if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        key = pairs[at][0]
        if key in _field_names():
            raise DecodeError(code="invalid_json", detail=f"the key {key!r} appears twice in one object")
        first = next(i for i, (k, _) in enumerate(pairs) if k == key)
        msg = f"keys {first + 1} and {at + 1} of one object are the same key"
        raise DecodeError(code="invalid_json", detail=msg)
    return out


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float, parse_int=_float_sized_int,
                            object_pairs_hook=_unique_keys)


def json_value(text: str) -> Any:
    """JSON text read as an event's is: a key twice in one object, ``NaN`` and a number too large for a float are a
    ``DecodeError`` (a profile file previews what an upsert of it would do: ``simulate`` refuses such an event);
    bad syntax is a ``json.JSONDecodeError``."""
    return _DECODER.decode(text)


def _parse_json(raw: bytes | str, max_bytes: int) -> tuple[Any, str]:
    """The parsed value, and the text it was parsed from."""
    if isinstance(raw, str):
        try:
            raw = raw.encode("utf-8")
        except UnicodeEncodeError as e:
            raise DecodeError(code="invalid_json", detail="the text is not valid Unicode") from e
    if len(raw) > max_bytes:
        raise DecodeError(code="too_large", detail=f"event is {len(raw)} bytes, the limit is {max_bytes}")
    try:
        text = raw.decode("utf-8")  # strict: one invalid byte, even inside a string, refuses the event
    except UnicodeDecodeError as e:
        raise DecodeError(code="invalid_json", detail=f"invalid UTF-8 at byte {e.start}") from e
    try:
        return _DECODER.decode(text), text
    except DecodeError:
        raise
    except RecursionError as e:
        raise DecodeError(code="invalid_json", detail="nested too deeply") from e
    except ValueError as e:  # JSONDecodeError and integers too long to convert
        raise DecodeError(code="invalid_json", detail=str(e)) from e


EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
"""Dates and times Wayfinder schedules: a date outside (``0001-01-01``, ``9999-12-31``, placeholders HR
systems use for "no date") would overflow a wait or a timer, so an event whose ``time`` or typed date field
holds one is a dead letter; such text in a field the engine keeps as text is kept (a wait that reads it ends
its enrollment, as for any date it cannot use)."""

_OUT_OF_RANGE = f"a date outside {EARLIEST.isoformat()}..{LATEST.isoformat()}, which Wayfinder cannot schedule"


def _suspect(text: str) -> bool:
    """Cheap first look: only text that is not ASCII needs the full check."""
    return not text.isascii()


def _text_problem(text: str, path: str) -> DecodeError | None:
    if not text.isascii() or "\\" in text:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return DecodeError(code="invalid_json", detail=f"{path or '(key)'}: a lone surrogate (\\udXXX) is "
                               "not Unicode text")
        return None
    return None


def _check_values(obj: Any) -> None:
    """Refuse text that is not Unicode anywhere in the event. (A date the engine cannot schedule is refused where
    the engine reads a date: the event's ``time`` and the typed date fields, ``_check_dates``; text that looks like
    one elsewhere, such as an HR system's ``contract_end: "9999-12-31"`` kept beside a profile, is kept as text.)"""
    stack: list[tuple[Any, str]] = [(obj, "")]
    while stack:
        value, path = stack.pop()
        problem = None
        if isinstance(value, dict):
            for i, (key, child) in enumerate(value.items(), 1):
                if not key.isascii():
                    problem = problem or _text_problem(key, path)
                if isinstance(child, dict | list) or (isinstance(child, str) and _suspect(child)):
                    shown = _key_shown(key, i)
                    stack.append((child, f"{path}.{shown}" if path else shown))
        elif isinstance(value, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(value)
                         if isinstance(child, dict | list) or (isinstance(child, str) and _suspect(child)))
        elif isinstance(value, str):
            problem = _text_problem(value, path)
        if problem is not None:
            raise problem


def _clean_as_written(text: str) -> bool:
    """:func:`_plainly_clean`'s answer told from the JSON text alone, where that is easy (True: nothing to check;
    False: look at the values). Text that is ASCII and holds no backslash has no escapes, so every key and text in
    it is ASCII."""
    return text.isascii() and "\\" not in text


def _plainly_clean(obj: dict[str, Any]) -> bool:
    """True when ``_check_values`` would find nothing, told cheaply: every key and text is ASCII. False sends the
    event to ``_check_values``, which finds the first problem (if there is one) and names where it is."""
    stack: list[dict[str, Any] | list[Any]] = [obj]
    while stack:
        container = stack.pop()
        if isinstance(container, dict):
            for key in container:
                if not key.isascii():
                    return False
            children: Any = container.values()
        else:
            children = container
        for child in children:
            if isinstance(child, str):
                if not child.isascii():
                    return False
            elif isinstance(child, dict | list):
                stack.append(child)
    return True


def _may_hold_date(annotation: Any) -> bool:
    """Whether a field of this type can hold a date or datetime once validated; True when not sure."""
    if annotation is None:
        return False
    if isinstance(annotation, type):
        return not issubclass(annotation, BaseModel | str | int | float | list | dict | type(None))
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:  # a validator might turn a value into anything
        return not all(isinstance(m, FieldInfo) for m in annotation.__metadata__) or _may_hold_date(args[0])
    if origin in (Union, UnionType):
        return any(_may_hold_date(a) for a in args)
    return origin not in (Literal, list, dict)


@functools.cache
def _date_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The declared fields of ``model`` that may hold a date: the only ones :func:`_check_dates` need look at."""
    return tuple(name for name, f in model.model_fields.items() if _may_hold_date(f.annotation))


@functools.cache
def _nested_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The declared fields of ``model`` that may hold a model of their own (an upsert's ``preferences``)."""
    def nests(annotation: Any) -> bool:
        if isinstance(annotation, type):
            return issubclass(annotation, BaseModel)
        return any(nests(a) for a in get_args(annotation))
    return tuple(name for name, f in model.model_fields.items() if nests(f.annotation))


def _check_dates(model: BaseModel, prefix: str) -> None:
    """Typed date fields, also in a nested model (an upsert's ``preferences.paused_until``): what they became is
    in the range Wayfinder schedules (a date may have been given as a number, a Unix time)."""
    values = vars(model)  # declared fields only: extra fields stay as they came
    for name in _date_fields(type(model)):
        value = values[name]
        if not isinstance(value, date):  # a datetime is a date too
            continue
        day = value.date() if isinstance(value, datetime) else value
        if not EARLIEST <= day <= LATEST:
            raise DecodeError(code="date_out_of_range", detail=f"{prefix}{name}: {_OUT_OF_RANGE}",
                              loc=(*(part for part in prefix.split(".") if part), name))
    for name in _nested_fields(type(model)):
        if isinstance(values[name], BaseModel):
            _check_dates(values[name], f"{prefix}{name}.")


def stated_time(text: str) -> datetime | None:
    """The ``time`` a line that is not a usable event still states, when it is an RFC 3339 time with an offset:
    ``simulate`` runs its clock to the last event's time, and such a line is an event in the file."""
    try:
        obj = json.loads(text)
        value = obj.get("time") if isinstance(obj, dict) else None
        if isinstance(value, str) and _RFC3339.fullmatch(value):
            when = datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
            return when if when.tzinfo is not None else None
    except (ValueError, RecursionError):
        return None
    return None


_EXTENSION_NAME = re.compile(r"[a-z0-9]+")
_JSON_MEDIA = re.compile(r"\s*(?:application/json|text/json|[\w.+-]+/[\w.-]+\+json)\s*(?:;.*)?", re.IGNORECASE)


def _check_attributes(extra: dict[str, Any], obj: dict[str, Any]) -> None:
    """The optional attributes and extensions of CloudEvents 1.0 (the JSON event format): ``data_base64`` is
    binary data, not the JSON object SPEC §2 asks for; ``datacontenttype``, when given, says JSON; ``dataschema``
    is a URI; an extension's name is lower-case letters and digits and its value a string, number or boolean.
    An optional attribute written as ``null`` is unset (the JSON format: "a null value ... MUST be treated as the
    equivalent of unset or omitted"), as many SDKs write what they do not set.
    An extension attribute is named when its name is one (CloudEvents' attribute names, such as ``traceparent``);
    any other key is named by its place in the event (:func:`_key_shown`): it may be the sender's data."""
    for name, value in extra.items():
        if name == "data_base64":
            msg = "data_base64: binary data; an event's data is a JSON object in 'data' (SPEC §2)"
        elif name == "datacontenttype":
            if value is None or (isinstance(value, str) and _JSON_MEDIA.fullmatch(value)):
                continue
            msg = "datacontenttype: an event's data is a JSON object, so its content type, if given, is JSON"
        elif name == "dataschema":
            if value is None or (isinstance(value, str) and value):
                continue
            msg = "dataschema: a URI, as text"
        elif not _EXTENSION_NAME.fullmatch(name):
            shown = _key_shown(name, list(obj).index(name) + 1)
            msg = f"{shown}: an extension attribute's name is lower-case letters and digits (CloudEvents 1.0)"
        elif value is None or isinstance(value, str | int | float | bool):
            continue
        else:
            msg = f"{name}: an extension attribute's value is a string, a number or a boolean, not {_kind(value)}"
        raise DecodeError(code="invalid_cloudevent", detail=msg)


def _kind(value: Any) -> str:
    return "an object" if isinstance(value, dict) else "a list" if isinstance(value, list) else "that"


MAX_EVENT_BYTES = 1_000_000  # an event's largest JSON text, in bytes (``too_large`` past it)


def decode_event(raw: bytes | str, *, max_bytes: int = MAX_EVENT_BYTES) -> CloudEvent:
    """Parse and validate one event, or raise :class:`DecodeError` with a reason fit for a dead letter."""
    obj, text = _parse_json(raw, max_bytes)
    if not isinstance(obj, dict):
        raise DecodeError(code="invalid_cloudevent", detail=f"expected a JSON object, got {type(obj).__name__}")
    if not _clean_as_written(text) and not _plainly_clean(obj):
        _check_values(obj)
    try:
        event = CloudEvent.model_validate(obj)
    except ValidationError as e:
        raise DecodeError(code="invalid_cloudevent", detail=_describe(e, obj), loc=_first_loc(e)) from e
    if event.model_extra:
        _check_attributes(event.model_extra, obj)
    _check_dates(event, "")
    model = DATA_MODELS.get(event.type)
    if model is not None:
        try:
            data = model.model_validate(event.data)
        except ValidationError as e:
            raise DecodeError(code="invalid_data", detail=f"{event.type}: " + _describe(e, event.data, "data."),
                              event_type=event.type, loc=("data", *_first_loc(e))) from e
        _check_dates(data, "data.")
        if isinstance(data, ProfileUpdate) and data.id is not None and data.id != event.subject:
            # The profile of someone else: merged, it would put another person's name and address in the
            # subject's messages (SPEC §2: the subject is the employee).
            raise DecodeError(code="invalid_data", detail=f"{event.type}: data.id: not the event's subject",
                              event_type=event.type, loc=("data", "id"))
    return event
