"""What a message was built from: the trigger event, and which profile fields its rules read."""

from __future__ import annotations

import re
from collections.abc import Iterable

from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.model import Journey
from wayfinder.journeys.records import Message

_FIELD = re.compile(r"(?<![\w.])employee\.(?:attributes\.)?([A-Za-z_][A-Za-z0-9_]*)")


def trigger_of(events: Iterable[CloudEvent], message: Message, journey: Journey | None) -> CloudEvent | None:
    """The latest event of the journey's trigger type for this employee at or before the message."""
    if journey is None:
        return None
    found = None
    for e in events:
        if e.subject == message.employee_id and e.type == journey.trigger.event and e.time <= message.created_at:
            found = e if found is None or e.time >= found.time else found
    return found


def fields_used(journey: Journey | None, rules: Iterable[str] = ()) -> list[str]:
    """Profile fields named in the journey's conditions and in ``rules`` (the resources' eligibility)."""
    if journey is None:
        return []
    texts: list[str] = [repr(journey), *rules]
    names: set[str] = set()
    for text in texts:
        names.update(_FIELD.findall(text))
    return sorted(names - {"attributes"})

