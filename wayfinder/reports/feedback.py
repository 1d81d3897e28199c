"""Feedback per resource: how often it was offered, clicked and rated, and which are offered often but rated poorly.

Ratings come from ``engagement.message.feedback`` (``rating`` -1, 0 or 1) and, under the name the
issue uses, ``engagement.resource.rated``; clicks from ``engagement.message.clicked``. An event
counts for the resource in ``data.resource_id``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from wayfinder.reports.inputs import ReportInputs
from wayfinder.reports.people import DELIVERED

RATING_EVENTS = frozenset({"engagement.message.feedback", "engagement.resource.rated"})
CLICK_EVENT = "engagement.message.clicked"


@dataclass(frozen=True)
class ResourceFeedback:
    resource_id: str
    offered_people: int  # distinct people who got it in a delivered message
    offered_messages: int
    clicks: int
    ratings: int
    mean_rating: float | None
    negative: int
    poorly_rated: bool


def _rating(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and -1 <= value <= 1 else None


def feedback_rollup(inputs: ReportInputs) -> list[ResourceFeedback]:
    """Every resource offered or rated, most offered first."""
    rules = inputs.fairness.feedback
    people: dict[str, set[str]] = defaultdict(set)
    messages: dict[str, int] = defaultdict(int)
    for m in inputs.messages:
        if m.status in DELIVERED:
            for r in m.resources:
                people[r].add(m.employee_id)
                messages[r] += 1
    clicks: dict[str, int] = defaultdict(int)
    ratings: dict[str, list[int]] = defaultdict(list)
    for e in inputs.events:
        resource = e.data.get("resource_id")
        if not isinstance(resource, str):
            continue
        if e.type == CLICK_EVENT:
            clicks[resource] += 1
        elif e.type in RATING_EVENTS and (rating := _rating(e.data.get("rating"))) is not None:
            ratings[resource].append(rating)
    out = []
    for r in set(people) | set(ratings) | set(clicks):
        given = ratings.get(r, [])
        mean = sum(given) / len(given) if given else None
        poor = (len(people[r]) >= rules.min_offered and len(given) >= rules.min_ratings and mean is not None
                and mean < rules.poor_below)
        out.append(ResourceFeedback(r, len(people[r]), messages[r], clicks[r], len(given), mean,
                                    sum(1 for g in given if g < 0), poor))
    return sorted(out, key=lambda f: (-f.offered_people, -f.offered_messages, f.resource_id))
