"""Feedback per resource: how often it was offered, clicked and rated, and which are offered often but rated poorly.

Ratings come from ``engagement.message.feedback`` (``rating`` -1, 0 or 1) and, under the name the
issue uses, ``engagement.resource.rated`` (``rating_of``, as the engine counts them), each person's latest rating
of a resource once; clicks from ``engagement.message.clicked``. An event counts for the resource in
``data.resource_id`` (each (``source``, ``id``) once: see ``read_events``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from wayfinder.journeys.events import rating_of
from wayfinder.reports.fairness import shown_count
from wayfinder.reports.inputs import ReportInputs

CLICK_EVENT = "engagement.message.clicked"


@dataclass(frozen=True)
class ResourceFeedback:
    """None where fewer than k people are behind a figure (and for the mean, where no one rated)."""

    resource_id: str
    offered_people: int | None  # distinct recipients of a delivered message with it (a manager too)
    offered_messages: int | None  # shown with the people it went to
    clicks: int | None
    ratings: int | None
    mean_rating: float | None
    poorly_rated: bool


def feedback_rollup(inputs: ReportInputs) -> list[ResourceFeedback]:
    """Every resource offered or rated, most offered first. A count (of people, or of the clicks or ratings of
    people) is shown when it is 0 or at least k people are behind it, as in the rest of the report."""
    rules, k = inputs.fairness.feedback, inputs.fairness.k
    people: dict[str, set[str]] = defaultdict(set)
    messages: dict[str, int] = defaultdict(int)
    for m in inputs.messages:  # the emails that went: a digest once, not again the messages gathered into it
        if m.goes_out and m.recipient_id is not None:
            for r in m.resources:
                people[r].add(m.recipient_id)
                messages[r] += 1
    clicks: dict[str, list[str]] = defaultdict(list)  # resource -> who clicked, once per click
    ratings: dict[str, dict[str, int]] = defaultdict(dict)  # resource -> person -> their latest rating
    for e in inputs.events:  # in time order
        resource = e.data.get("resource_id")
        if not isinstance(resource, str):
            continue
        if e.type == CLICK_EVENT:
            clicks[resource].append(e.subject)
        elif (rating := rating_of(e)) is not None:
            ratings[resource][e.subject] = rating
    out = []
    for r in set(people) | set(ratings) | set(clicks):
        offered = shown_count(len(people[r]), k)
        rated = _behind(len(ratings[r]), set(ratings[r]), k)
        given = list(ratings[r].values()) if rated else []
        mean = sum(given) / len(given) if given else None
        poor = (offered is not None and offered >= rules.min_offered and len(given) >= rules.min_ratings
                and mean is not None and mean < rules.poor_below)
        out.append(ResourceFeedback(r, offered, messages[r] if offered is not None else None,
                                    _behind(len(clicks[r]), set(clicks[r]), k), rated, mean, poor))
    return sorted(out, key=lambda f: (-len(people[f.resource_id]), -messages[f.resource_id], f.resource_id))


def _behind(count: int, who: set[str], k: int) -> int | None:
    """``count`` when the people behind it may be shown (none, or at least k), else None."""
    return count if shown_count(len(who), k) is not None else None
