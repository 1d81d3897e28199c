"""Counts per resource from engagement events, up to a point in time, without any person in them.

- Ratings (``engagement.message.feedback``, ``engagement.resource.rated``: ``rating`` -1, 0 or 1): each
  person's latest rating of a resource counts once, so one person cannot swing a resource by rating it often.
- Opens and clicks (``engagement.message.opened`` / ``.clicked``): each person counts once per resource.
- An event counts for the resource in ``data.resource_id``; the same (``source``, ``id``) counts once; events
  after ``until`` do not count; an employee who asked to be forgotten (``privacy.erasure.requested``) is left
  out altogether, also when they asked after ``until``: a document aggregated as of an earlier date is still
  written now, and must not hold the rating of someone who has asked to be erased.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wayfinder.journeys.events import CloudEvent, distinct, iso, rating_of

OPEN_EVENT = "engagement.message.opened"
CLICK_EVENT = "engagement.message.clicked"
ERASURE_EVENT = "privacy.erasure.requested"


@dataclass
class _Counts:
    ratings: dict[str, int] = field(default_factory=dict)  # person -> latest rating
    opened: set[str] = field(default_factory=set)
    clicked: set[str] = field(default_factory=set)


def aggregate(events: Iterable[CloudEvent], until: datetime | None = None) -> dict[str, dict[str, int]]:
    """Resource id -> ``ratings``, ``rating_sum``, ``opens``, ``clicks`` (events taken in time order)."""
    erased: set[str] = set()
    per_resource: dict[str, _Counts] = {}
    for event in distinct(sorted(events, key=lambda e: e.time)):  # stable: ties keep their order
        if event.type == ERASURE_EVENT:  # before the ``until`` test: an erasure after it still erases
            erased.add(event.subject)
            continue
        if until is not None and event.time > until:
            continue
        rid = event.data.get("resource_id")
        if not isinstance(rid, str) or not rid:
            continue
        counts = per_resource.setdefault(rid, _Counts())
        rating = rating_of(event)
        if rating is not None:
            counts.ratings[event.subject] = rating
        elif event.type == OPEN_EVENT:
            counts.opened.add(event.subject)
        elif event.type == CLICK_EVENT:
            counts.clicked.add(event.subject)
    out: dict[str, dict[str, int]] = {}
    for rid, c in sorted(per_resource.items()):
        ratings = [r for person, r in c.ratings.items() if person not in erased]
        out[rid] = {"ratings": len(ratings), "rating_sum": sum(ratings),
                    "opens": len(c.opened - erased), "clicks": len(c.clicked - erased)}
    return {rid: c for rid, c in out.items() if any(c.values())}


def feedback_document(counts: dict[str, dict[str, int]], as_of: datetime, *, min_ratings: int = 5,
                      min_opens: int = 20, prior_weight: float = 10.0) -> dict[str, Any]:
    """The ``kind: CatalogFeedback`` document for the catalog folder."""
    return {
        "apiVersion": "wayfinder/v1", "kind": "CatalogFeedback", "as_of": iso(as_of),
        "min_ratings": min_ratings, "min_opens": min_opens, "prior_weight": prior_weight,
        "resources": [{"id": rid, **c} for rid, c in sorted(counts.items())],
    }
