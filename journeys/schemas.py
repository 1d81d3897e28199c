"""What expressions and templates can read: the shape of the profile, of each event type's ``data``, of a
catalog resource and of the template context, in one place (SPEC §2, §3, §4, §5).

A field is *required* when SPEC lists it for that value: expressions and templates may read it as it is.
A field that may be absent (SPEC says "optional", a profile ``attributes`` entry, a custom event field
declared ``required: false``) must be guarded: ``has(...)`` in CEL, ``|default(...)`` (or a test) in a
template.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel

from wayfinder.journeys.events import DATA_MODELS
from wayfinder.journeys.profile import KNOWN_FIELDS, Preferences, ProfileUpdate


@dataclass(frozen=True)
class Field:
    """One field: whether it is always there, and the shape of its value when that has fields of its own."""

    required: bool = True
    shape: Shape | None = None
    items: Shape | None = None  # a list whose items have this shape
    # a value of the one type SPEC gives it, as an event's JSON or a profile carries it (a date is its text), for
    # ``validate``'s type check (``example_context``); None: not one type (a number may be an int or a double)
    example: Any = None


@dataclass(frozen=True)
class Shape:
    """A mapping as expressions see it. An ``open`` shape takes any name (each may be absent)."""

    name: str
    fields: Mapping[str, Field] = field(default_factory=dict)
    open: bool = False
    # Names beyond ``fields`` may be there (SPEC §2, a built-in event's data: "fields beyond these are kept"): one
    # is read as a field that may be absent, and an unguarded read names the fields it might have meant.
    kept: bool = False


def _all(names: Iterable[str], *, required: bool = True, model: type[BaseModel] | None = None) -> dict[str, Field]:
    """Fields by name; with ``model``, each with an example of the type the model gives it."""
    examples = _examples(model) if model is not None else {}
    return {n: Field(required, example=examples.get(n)) for n in names}


_EXAMPLE_TEXT = "x"
_EXAMPLE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def _examples(model: type[BaseModel]) -> dict[str, Any]:
    """A value for each field of ``model`` of one JSON type: text (a date, an instant, a choice of words: as text),
    or a list of such values. Numbers are left out (JSON's ``3`` and ``3.0`` are an int and a double to CEL), and so
    are booleans, mappings and unions of types."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        value = _example(info.annotation)
        if value is not None:
            out[info.alias or name] = value
    return out


def _example(annotation: Any) -> Any:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _example(args[0])
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        return _example(members[0]) if len(members) == 1 else None
    if origin is typing.Literal:
        return args[0] if all(isinstance(a, str) for a in args) else None
    if origin is list:
        item = _example(args[0]) if args else None
        return [item] if item is not None else None
    if annotation is str:
        return _EXAMPLE_TEXT
    if annotation is datetime:
        return "2026-01-01T00:00:00Z"
    if annotation is date:
        return "2026-01-01"
    return None


def _profile(reported_elsewhere: Iterable[str] = ()) -> Shape:
    attributes = Shape("employee.attributes", _all(reported_elsewhere), open=True)
    return Shape("the employee profile", {
        **_all(KNOWN_FIELDS, model=ProfileUpdate), "preferences": Field(shape=PREFERENCES),
        "attributes": Field(shape=attributes),
    })


# What HR systems and spreadsheets call a profile field SPEC §3 names otherwise: "did you mean" goes by these first
# (spelling alone took ``first_name`` for ``family_name``).
PROFILE_SYNONYMS: Mapping[str, str] = {
    "first_name": "given_name", "firstname": "given_name", "forename": "given_name", "name": "given_name",
    "last_name": "family_name", "lastname": "family_name", "surname": "family_name",
    "nickname": "preferred_name", "email_address": "email", "work_email": "email",
    "manager": "manager_id", "hr_partner": "hr_partner_id", "hrbp": "hr_partner_id",
    "title": "role", "job_title": "role", "position": "role", "level": "job_level", "grade": "job_level",
    "team": "department", "tz": "timezone", "time_zone": "timezone", "language": "locale",
    "hire_date": "start_date", "employee_id": "id", "office": "location",
}


PREFERENCES = Shape("the profile's preferences", {
    **_all(("opt_out_channels", "opt_out_topics"), model=Preferences),
    **_all(("quiet_hours", "locale", "paused_until"), required=False, model=Preferences),
})
PROFILE = _profile()


def profile_with_protected(protected: Iterable[str]) -> Shape:
    """The profile, where reading a protected attribute is reported by the protected-attribute check only
    (not also as a field that may be absent)."""
    return _profile(protected) if protected else PROFILE

# SPEC §2: the data fields of each event type the engine understands; optional ones are marked so.
_SPEC_DATA: dict[str, tuple[str, ...]] = {
    "hris.employee.hired": ("start_date", "role", "department", "location", "manager_id"),
    "hris.employee.started": ("date",),
    "hris.dependent.added": ("relationship", "reason", "date"),
    "hris.leave.started": ("leave_type", "start_date", "expected_return_date"),
    "hris.leave.ended": ("leave_type", "return_date"),
    "hris.job.changed": ("change", "old_role", "new_role", "old_department", "new_department"),
    "hris.manager.changed": ("old_manager_id", "new_manager_id"),
    "hris.employee.relocated": ("old_location", "new_location", "new_country", "new_timezone?", "old_country?"),
    "hris.employee.terminated": ("date", "reason"),
    "onboarding.task.completed": ("task_id",),
    "engagement.message.opened": ("message_id", "resource_id", "rating"),
    "engagement.message.clicked": ("message_id", "resource_id", "rating"),
    "engagement.message.feedback": ("message_id", "resource_id", "rating"),
    "engagement.resource.rated": ("resource_id", "rating", "message_id?"),
    "wellbeing.signal": ("signal", "score", "evidence"),
    "privacy.erasure.requested": (),
    "wayfinder.review.decided": ("message_id", "decision", "reviewer_id", "reason?", "edits?"),
    "wayfinder.preferences.changed": ("opt_out_channels?", "opt_out_topics?", "quiet_hours?", "locale?",
                                      "paused_until?"),
    # extensions: a person works a task (wayfinder serve), an HR system corrects an earlier event
    "wayfinder.task.claimed": ("task_id", "actor_id", "journey_id", "step_id", "note?", "on_behalf_of?"),
    "wayfinder.task.completed": ("task_id", "actor_id", "journey_id", "step_id", "note?", "on_behalf_of?"),
    "hris.correction": ("original", "original_type?", "action", "reason?", "changes?"),
}


def _data_shape(event_type: str, names: Iterable[str]) -> Shape:
    model = DATA_MODELS.get(event_type)
    examples = _examples(model) if model is not None else {}
    return Shape(f"the data of {event_type}", {n.rstrip("?"): Field(not n.endswith("?"), example=examples.get(
        n.rstrip("?"))) for n in names}, kept=True)


BUILT_IN_EVENTS: dict[str, Shape] = {t: _data_shape(t, names) for t, names in _SPEC_DATA.items()}
# An upsert carries any part of a profile.
BUILT_IN_EVENTS["hris.employee.upserted"] = Shape(
    "the data of hris.employee.upserted",
    {**_all(KNOWN_FIELDS, required=False, model=ProfileUpdate), "preferences": Field(False, PREFERENCES)},
    kept=True,
)


def custom_event(event_type: str, fields: Mapping[str, bool]) -> Shape:
    """The data shape of a type declared in a ``kind: EventType`` document (name -> required)."""
    return Shape(f"the data of {event_type}", {n: Field(req) for n, req in fields.items()})


def extended(built_in: Shape, fields: Mapping[str, bool]) -> Shape:
    """A built-in type's data with the fields an organisation's events carry beyond SPEC's (name -> required)."""
    return Shape(built_in.name, {**built_in.fields, **{n: Field(req) for n, req in fields.items()}}, built_in.open,
                 built_in.kept)


def envelope(data: Shape | None, name: str = "the event") -> Shape:
    """A CloudEvent as expressions see it (``event`` and ``trigger``); ``data`` None: not checked."""
    return Shape(name, {**{n: Field(example=_EXAMPLE_TEXT) for n in ("id", "source", "type", "subject")},
                        "time": Field(example=_EXAMPLE_TIME), "data": Field(shape=data)})


def with_present(event: Shape, names: Iterable[str]) -> Shape:
    """An event envelope whose ``data`` fields ``names`` count as present (the trigger, once its ``when`` tested
    them with ``has()``): only fields its data has or may have (a built-in type's kept ones); others stay unknown."""
    data_field = event.fields.get("data")
    data = data_field.shape if data_field is not None else None
    if data_field is None or data is None:
        return event
    present = {n: replace(data.fields.get(n, Field()), required=True) for n in names if n in data.fields or data.kept}
    if not present:
        return event
    inner = replace(data, fields={**data.fields, **present})
    return replace(event, fields={**event.fields, "data": replace(data_field, shape=inner)})


def merge(shapes: list[Shape]) -> Shape:
    """What a value of any of these shapes offers: every field of any; required only where all require it."""
    if len(shapes) == 1:
        return shapes[0]
    names = sorted({n for s in shapes for n in s.fields})
    out: dict[str, Field] = {}
    for n in names:
        have = [s.fields[n] for s in shapes if n in s.fields]
        inner = [f.shape for f in have if f.shape is not None]
        kinds = {type(f.example) for f in have}
        out[n] = Field(len(have) == len(shapes) and all(f.required for f in have),
                       merge(inner) if inner else None, example=have[0].example if len(kinds) == 1 else None)
    return Shape(" or ".join(dict.fromkeys(s.name for s in shapes)), out, any(s.open for s in shapes),
                 any(s.kept for s in shapes))


RESOURCE = Shape("a catalog resource", _all((
    "id", "type", "title", "titles", "url", "topics", "group", "locale", "day", "requires", "related", "departments",
    "locations", "roles", "format", "teaches", "requires_skills",
)))
RESOURCE_RULE = Shape("a catalog resource", {**RESOURCE.fields, **_all(("url", "group", "locale", "day", "format"),
                                                                     required=False)})
"""A resource as its eligibility rule sees it: a field the catalog does not give it is absent (guard it with has())."""
ROADMAP_ITEM = Shape("a roadmap item", _all(("id", "title", "titles", "url", "type", "day", "date",
                                                                     "requires", "teaches", "format")))


def template_context(event: Shape | None, trigger: Shape | None) -> dict[str, Field]:
    """SPEC §4: what a template sees."""
    return {
        "employee": Field(shape=PROFILE), "recipient": Field(shape=PROFILE), "event": Field(shape=event),
        "trigger": Field(shape=trigger), "resources": Field(items=RESOURCE), "roadmap": Field(items=ROADMAP_ITEM),
        "explanation": Field(), "preferences_url": Field(),
    }


def example_context(scope: Mapping[str, Field]) -> dict[str, Any]:
    """Values of the types SPEC gives for what ``scope`` offers (each field with an example, guarded or not), and
    ``now``: what ``validate`` evaluates a condition on once, to find a type error the library only reports when it
    runs (a date's text compared with ``now``: false for every person, SPEC §4)."""
    def value(f: Field) -> Any:
        if f.shape is not None:
            return {n: v for n, sub in f.shape.fields.items() if (v := value(sub)) is not None}
        return f.example

    return {"now": _EXAMPLE_TIME, **{n: v for n, f in scope.items() if (v := value(f)) is not None}}
