"""What expressions and templates can read: the shape of the profile, of each event type's ``data``, of a
catalog resource and of the template context, in one place (SPEC §2, §3, §4, §5).

A field is *required* when SPEC lists it for that value: expressions and templates may read it as it is.
A field that may be absent (SPEC says "optional", a profile ``attributes`` entry, a custom event field
declared ``required: false``) must be guarded: ``has(...)`` in CEL, ``|default(...)`` (or a test) in a
template.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from wayfinder.journeys.profile import KNOWN_FIELDS


@dataclass(frozen=True)
class Field:
    """One field: whether it is always there, and the shape of its value when that has fields of its own."""

    required: bool = True
    shape: Shape | None = None
    items: Shape | None = None  # a list whose items have this shape


@dataclass(frozen=True)
class Shape:
    """A mapping as expressions see it. An ``open`` shape takes any name (each may be absent)."""

    name: str
    fields: Mapping[str, Field] = field(default_factory=dict)
    open: bool = False
    # Names beyond ``fields`` may be there (SPEC §2, a built-in event's data: "fields beyond these are kept"): one
    # is read as a field that may be absent, and an unguarded read names the fields it might have meant.
    kept: bool = False


def _all(names: Iterable[str], *, required: bool = True) -> dict[str, Field]:
    return {n: Field(required) for n in names}


def _profile(reported_elsewhere: Iterable[str] = ()) -> Shape:
    attributes = Shape("employee.attributes", _all(reported_elsewhere), open=True)
    return Shape("the employee profile", {
        **_all(KNOWN_FIELDS), "preferences": Field(shape=PREFERENCES), "attributes": Field(shape=attributes),
    })


PREFERENCES = Shape("the profile's preferences", {
    **_all(("opt_out_channels", "opt_out_topics")),
    **_all(("quiet_hours", "locale", "paused_until"), required=False),
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
    "hris.employee.relocated": ("old_location", "new_location", "new_country", "new_timezone?"),
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
    return Shape(f"the data of {event_type}", {n.rstrip("?"): Field(not n.endswith("?")) for n in names},
                 kept=True)


BUILT_IN_EVENTS: dict[str, Shape] = {t: _data_shape(t, names) for t, names in _SPEC_DATA.items()}
# An upsert carries any part of a profile.
BUILT_IN_EVENTS["hris.employee.upserted"] = Shape(
    "the data of hris.employee.upserted",
    {**_all(KNOWN_FIELDS, required=False), "preferences": Field(False, PREFERENCES)},
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
    return Shape(name, {**_all(("id", "source", "type", "time", "subject")), "data": Field(shape=data)})


def merge(shapes: list[Shape]) -> Shape:
    """What a value of any of these shapes offers: every field of any; required only where all require it."""
    if len(shapes) == 1:
        return shapes[0]
    names = sorted({n for s in shapes for n in s.fields})
    out: dict[str, Field] = {}
    for n in names:
        have = [s.fields[n] for s in shapes if n in s.fields]
        inner = [f.shape for f in have if f.shape is not None]
        out[n] = Field(len(have) == len(shapes) and all(f.required for f in have),
                       merge(inner) if inner else None)
    return Shape(" or ".join(dict.fromkeys(s.name for s in shapes)), out, any(s.open for s in shapes),
                 any(s.kept for s in shapes))


RESOURCE = Shape("a catalog resource", _all((
    "id", "type", "title", "titles", "url", "topics", "group", "locale", "day", "requires", "related", "departments",
    "locations", "roles", "format", "teaches", "requires_skills",
)))
ROADMAP_ITEM = Shape("a roadmap item", _all(("id", "title", "titles", "url", "type", "day", "date",
                                                                     "requires", "teaches", "format")))


def template_context(event: Shape | None, trigger: Shape | None) -> dict[str, Field]:
    """SPEC §4: what a template sees."""
    return {
        "employee": Field(shape=PROFILE), "recipient": Field(shape=PROFILE), "event": Field(shape=event),
        "trigger": Field(shape=trigger), "resources": Field(items=RESOURCE), "roadmap": Field(items=ROADMAP_ITEM),
        "explanation": Field(), "preferences_url": Field(),
    }
