"""Per journey, what happened to each person: the unit every rate counts (people, not messages).

A message counts for the employee it is about (``employee_id``) in the rates (delivery, suppression,
review: the journey acted for them, whoever it wrote to, such as their manager), and for its recipient
(``recipient_id``) in what a person received (resources offered, time to the first message they got).
Ids stay in here: nothing of this module leaves a report except counts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.holdout import in_holdout
from wayfinder.journeys.records import WENT, Message, Task
from wayfinder.reports.inputs import ReportInputs

DELIVERED = WENT
REVIEWED = frozenset({"pending_approval", "approved", "rejected"})
HOLDOUT = "holdout"


@dataclass
class Person:
    """One person's outcome in one journey."""

    in_audience: bool = False
    enrolled: bool = False
    held_out: bool = False
    delivered: bool = False
    suppressed: bool = False
    reviewed: bool = False
    rejected: bool = False
    started: datetime | None = None
    first_delivery: datetime | None = None
    resources: set[str] = field(default_factory=set)

    @property
    def reached(self) -> bool:
        """Enrolled and not in the control group: the people the journey meant to message."""
        return self.enrolled and not self.held_out

    @property
    def hours_to_first(self) -> float | None:
        if self.started is None or self.first_delivery is None:
            return None
        return max(0.0, (self.first_delivery - self.started).total_seconds() / 3600)


def _note_message(person: Person, m: Message) -> None:
    if m.status in DELIVERED:
        person.delivered = True
        if m.recipient_id == m.employee_id:  # what the employee received, not what their manager did
            person.resources.update(m.resources)
            if person.first_delivery is None or m.scheduled_for < person.first_delivery:
                person.first_delivery = m.scheduled_for
    if m.status == "suppressed" and m.reason != HOLDOUT:
        person.suppressed = True
    if m.status in REVIEWED:
        person.reviewed = True
    if m.status == "rejected":
        person.rejected = True


def _first_record(messages: list[Message], tasks: list[Task]) -> datetime:
    return min([m.created_at for m in messages] + [t.created_at for t in tasks])


def _start(triggers: list[datetime], first_record: datetime) -> datetime:
    """When the enrollment began: the last trigger event at or before the first record, else that record."""
    before = [t for t in triggers if t <= first_record]
    return max(before) if before else first_record


def journey_people(inputs: ReportInputs, journey_id: str) -> dict[str, Person]:
    """Everyone in the journey's audience (had its trigger, ``when`` included) or with a record of it. Held out: a
    message of theirs was suppressed for the holdout, or the journey's hash (``in_holdout``) puts them in its control
    group and nothing so far says otherwise (only tasks, or messages that went to a person for review, which the
    engine never holds out): they stay in the control group (intention to treat)."""
    journey = inputs.journeys.get(journey_id)
    share = journey.holdout_share if journey is not None else 0.0
    triggers = inputs.triggered.get(journey_id, {})
    messages: dict[str, list[Message]] = defaultdict(list)
    tasks: dict[str, list[Task]] = defaultdict(list)
    for m in inputs.messages:
        if m.journey_id == journey_id:
            messages[m.employee_id].append(m)
    for t in inputs.tasks:
        if t.journey_id == journey_id:
            tasks[t.employee_id].append(t)
    people: dict[str, Person] = {}
    for pid in set(triggers) | set(messages) | set(tasks):
        person = Person(in_audience=True)
        mine, my_tasks = messages.get(pid, []), tasks.get(pid, [])
        if mine or my_tasks:
            person.enrolled = True
            person.held_out = any(m.status == "suppressed" and m.reason == HOLDOUT for m in mine) or (
                share > 0 and in_holdout(pid, journey_id, share) and all(m.status in REVIEWED for m in mine))
            person.started = _start(sorted(triggers.get(pid, [])), _first_record(mine, my_tasks))
        for m in mine:
            _note_message(person, m)
        people[pid] = person
    return people


def events_by_person(events: list[CloudEvent]) -> dict[str, list[CloudEvent]]:
    out: dict[str, list[CloudEvent]] = defaultdict(list)
    for e in events:
        out[e.subject].append(e)
    return out
