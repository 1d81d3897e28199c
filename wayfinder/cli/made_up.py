"""The trigger event ``wayfinder preview`` makes up when the employee has none: data a real event of that type
could carry, so that ``preview JOURNEY --employee FILE|ID`` shows what the journey sends without ``--data``.

Each built-in type has a few candidates (a child's birth, then an adoption, ...; each leave type; each kind of job
change); preview takes the first one the journey's trigger condition accepts, else the first. Dates are the day the
event is made up for; names of roles, departments and places come from the employee's own profile where it has
them. ``--data`` replaces all of this.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

LEAVE_TYPES = ("parental", "medical", "bereavement", "sabbatical", "other")


def candidates(event_type: str, day: date, profile: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Made-up ``data`` for an event of ``event_type`` on ``day`` for an employee with ``profile`` (first: the
    likeliest); ``[{}]`` for a type without built-in data (a custom type)."""
    d = day.isoformat()
    role = _text(profile, "role", "their role")
    department = _text(profile, "department", "their department")
    location = _text(profile, "location", "their location")
    if event_type == "hris.employee.hired":
        return [{"start_date": d, "role": role, "department": department, "location": location,
                 **({"manager_id": profile["manager_id"]} if isinstance(profile.get("manager_id"), str) else {})}]
    if event_type in ("hris.employee.started", "hris.employee.terminated"):
        return [{"date": d}]
    if event_type == "hris.dependent.added":
        return [{"relationship": "child", "reason": reason, "date": d} for reason in ("birth", "adoption", "foster")] \
            + [{"relationship": "spouse", "reason": "marriage", "date": d}]
    if event_type == "hris.leave.started":
        back = (day + timedelta(weeks=12)).isoformat()
        return [{"leave_type": t, "start_date": d, "expected_return_date": back} for t in LEAVE_TYPES]
    if event_type == "hris.leave.ended":
        return [{"leave_type": t, "return_date": d} for t in LEAVE_TYPES]
    if event_type == "hris.job.changed":
        return [{"change": change, "old_role": "their previous role", "new_role": role,
                 "old_department": department, "new_department": department}
                for change in ("promotion", "transfer", "demotion")]
    if event_type == "hris.manager.changed":
        return [{"old_manager_id": "their previous manager",
                 "new_manager_id": _text(profile, "manager_id", "their new manager")}]
    if event_type == "hris.employee.relocated":
        moved: dict[str, Any] = {"old_location": "their previous location", "new_location": location}
        if isinstance(profile.get("country"), str):
            moved["new_country"] = profile["country"]
        if isinstance(profile.get("timezone"), str):
            moved["new_timezone"] = profile["timezone"]
        return [moved]
    if event_type == "onboarding.task.completed":
        return [{"task_id": "preview-task"}]
    if event_type.startswith("engagement.message."):
        return [{"message_id": "m-preview", "resource_id": "preview-resource", "rating": 1}]
    if event_type == "wellbeing.signal":
        return [{"signal": "workload_spike", "score": score, "evidence": "made up by wayfinder preview"}
                for score in (0.8, 1.0, 0.5)]
    return [{}]


def _text(profile: Mapping[str, Any], name: str, otherwise: str) -> str:
    value = profile.get(name)
    return value if isinstance(value, str) and value else otherwise
