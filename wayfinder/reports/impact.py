"""Does a journey help? Outcome events of those reached against the journey's control group (holdout).

The comparison is by intention to treat: "reached" is everyone enrolled and not held out, whether
or not a message got through, and "control" is everyone held out. A person counts for an outcome
only when their whole window (enrollment start + ``within``) ended by the last event read, so that
both groups had the same time to show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase

from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.model import Outcome
from wayfinder.reports.fairness import shown_count
from wayfinder.reports.inputs import ReportInputs
from wayfinder.reports.people import Person, events_by_person, journey_people
from wayfinder.reports.stats import difference, wilson


@dataclass(frozen=True)
class Arm:
    n: int
    count: int
    rate: float
    low: float
    high: float


@dataclass(frozen=True)
class OutcomeImpact:
    event: str
    within: str
    reached: Arm | None  # None when fewer than k people
    control: Arm | None
    difference: float | None  # reached rate - control rate
    low: float | None
    high: float | None
    significant: bool
    window_open: int | None  # people left out because their window had not ended by the last event (None: 1 to k-1)
    note: str


@dataclass(frozen=True)
class JourneyImpact:
    journey_id: str
    holdout: str | None
    outcomes: list[OutcomeImpact]


@dataclass(frozen=True)
class ImpactReport:
    k: int
    as_of: str
    journeys: list[JourneyImpact]


def _happened(events: list[CloudEvent], pattern: str, start: datetime, end: datetime) -> bool:
    return any(start < e.time <= end and fnmatchcase(e.type, pattern) for e in events)


def _arm(people: list[tuple[Person, bool]], k: int) -> Arm | None:
    """A group's outcome rate, or None when it holds fewer than k people (the fairness report's rule: the group must
    hold k people, whatever number of them had the outcome)."""
    n = len(people)
    count = sum(hit for _, hit in people)
    if n < k:
        return None
    ci = wilson(count, n)
    return Arm(n, count, count / n, ci.low, ci.high)


def outcome_impact(people: dict[str, Person], events: dict[str, list[CloudEvent]], outcome: Outcome,
                   last_event: datetime | None, k: int) -> OutcomeImpact:
    window = outcome.window
    reached: list[tuple[Person, bool]] = []
    control: list[tuple[Person, bool]] = []
    still_open = 0
    for pid, p in people.items():
        if not p.enrolled or p.started is None:
            continue
        end = p.started + window
        if last_event is None or end > last_event:
            still_open += 1
            continue
        hit = _happened(events.get(pid, []), outcome.event, p.started, end)
        (control if p.held_out else reached).append((p, hit))
    a, b = _arm(reached, k), _arm(control, k)
    if a is None or b is None:
        which = "reached group" if a is None else "control group"
        return OutcomeImpact(outcome.event, outcome.within, a, b, None, None, None, False, shown_count(still_open, k),
                             f"not compared: fewer than {k} people in the {which}")
    d = difference(a.count, a.n, b.count, b.n)
    note = "a meaningful difference (95% interval leaves out zero)" if d.significant else \
        "no meaningful difference (95% interval includes zero)"
    return OutcomeImpact(outcome.event, outcome.within, a, b, d.value, d.low, d.high, d.significant,
                         shown_count(still_open, k), note)


def impact_report(inputs: ReportInputs) -> ImpactReport:
    """For every journey that names outcomes."""
    k = inputs.fairness.k
    by_person = events_by_person(inputs.events)
    journeys = []
    for jid, journey in sorted(inputs.journeys.items()):
        if not journey.outcomes:
            continue
        people = journey_people(inputs, jid)
        rows = [outcome_impact(people, by_person, o, inputs.last_event, k) for o in journey.outcomes]
        journeys.append(JourneyImpact(jid, journey.holdout, rows))
    return ImpactReport(k, inputs.as_of.isoformat(), journeys)
