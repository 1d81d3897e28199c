"""Why a message was sent, in one sentence the recipient can read (SPEC §6, §9)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from wayfinder.journeys.templates import RenderError

if TYPE_CHECKING:
    from wayfinder.journeys.definitions import Definitions
    from wayfinder.journeys.model import Journey

Phrase = Callable[[Mapping[str, Any]], str]


def _on(d: Mapping[str, Any], key: str) -> str:
    value = d.get(key)
    return f" on {value}" if value else ""


# What happened, said of the employee ("your ...").
_PHRASES: dict[str, Phrase] = {
    "hris.dependent.added": lambda d: f"a new {d.get('relationship') or 'dependent'} was added to your "
                                      f"family record{_on(d, 'date')}",
    "hris.employee.hired": lambda d: f"you are joining us{_on(d, 'start_date')}",
    "hris.employee.started": lambda d: f"you started with us{_on(d, 'date')}",
    "hris.leave.started": lambda d: f"your {d.get('leave_type') or ''} leave started{_on(d, 'start_date')}",
    "hris.leave.ended": lambda d: f"your {d.get('leave_type') or ''} leave ended{_on(d, 'return_date')}",
    "hris.job.changed": lambda d: f"your job changed ({d.get('change') or 'change'}"
                                  + (f" to {d['new_role']}" if d.get("new_role") else "") + ")",
    "hris.manager.changed": lambda d: "your manager changed",
    "hris.employee.relocated": lambda d: "your work location changed"
                                         + (f" to {d['new_location']}" if d.get("new_location") else ""),
    "onboarding.task.completed": lambda d: "you completed an onboarding task",
}


def _phrase(trigger: Mapping[str, Any]) -> str:
    data = trigger.get("data") or {}
    phrase = _PHRASES.get(str(trigger.get("type")))
    if phrase is not None:
        return " ".join(phrase(data).split())
    return f"of a change in your employee record ({trigger.get('type')})"


def explain(journey: Journey, trigger: Mapping[str, Any], role: str, employee: Mapping[str, Any],
            defs: Definitions, scope: Mapping[str, Any]) -> str:
    """The journey's own explanation if it has one, else one made from the trigger and the recipient's role."""
    own = defs.inline.get((journey.id, journey.version, "", "explanation"))
    if own is not None:
        try:
            return own.render_text({**scope, "employee": employee})
        except RenderError:
            pass
    phrase = _phrase(trigger)
    if role == "employee":
        because = phrase
    else:
        who = "their manager" if role == "manager" else "their HR partner"
        person = employee.get("preferred_name") or employee.get("given_name") or "a colleague"
        because = f"you are {who} and, for {person}, " + phrase.replace("your ", "their ").replace(
            "you are joining", "they are joining").replace("you started", "they started")
    return f"You received this because {because}. It is part of \u201c{journey.name}\u201d."
