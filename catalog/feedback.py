"""Feedback of every employee on the catalog: how aggregated ratings and clicks demote a resource for everyone.

The counts come from a ``kind: CatalogFeedback`` document (``wayfinder feedback aggregate`` writes it from
the engagement events up to a point in time); it is loaded with the catalog, so ``simulate`` and every worker
partition rank with the same numbers. The rule, with ``C`` the document's ``prior_weight``:

- ratings: the smoothed mean ``(C * m + sum) / (C + n)`` pulls a resource's ``n`` ratings toward the
  catalog-wide mean ``m``; with at least ``min_ratings`` ratings, a smoothed mean below ``m`` costs
  ``RATING_WEIGHT * (m - smoothed)`` ranking points;
- clicks: the smoothed click rate ``(C * p + clicks) / (C + opens)`` pulls toward the catalog-wide rate ``p``;
  with at least ``min_opens`` opens, a smoothed rate below ``p`` costs ``CLICK_WEIGHT * (p - smoothed) / p``.

Only demotions: a well-liked resource is not pushed further up (what is shown most would be clicked most).
"""

from __future__ import annotations

from dataclasses import dataclass

from wayfinder.catalog.model import CatalogFeedbackDoc, ResourceCounts

RATING_WEIGHT = 2.0
CLICK_WEIGHT = 1.0


@dataclass(frozen=True)
class Standing:
    """How everyone's feedback moves one resource; ``points`` is zero or negative."""

    points: float
    ratings: int
    smoothed_rating: float | None  # None: too few ratings to count
    prior_rating: float
    opens: int
    clicks: int
    smoothed_click_rate: float | None  # None: too few opens to count
    prior_click_rate: float

    def describe(self) -> str:
        """One line for ``preview``: what the counts say and what they cost."""
        parts = []
        ratings, opens = _counted(self.ratings, "rating"), _counted(self.opens, "open")
        if self.smoothed_rating is not None:
            parts.append(f"{ratings}, smoothed mean {self.smoothed_rating:+.2f} against the catalog's "
                         f"{self.prior_rating:+.2f}")
        else:
            parts.append(f"{ratings} (too few to count)")
        if self.smoothed_click_rate is not None:
            parts.append(f"{_counted(self.clicks, 'click')} of {opens}, smoothed rate "
                         f"{self.smoothed_click_rate:.0%} against {self.prior_click_rate:.0%}")
        else:
            parts.append(f"{opens} (too few to count)")
        return "; ".join(parts)


class CatalogFeedback:
    """Per-resource standing from a ``CatalogFeedback`` document (none: nobody is demoted)."""

    def __init__(self, doc: CatalogFeedbackDoc | None = None) -> None:
        self.doc = doc
        counts = doc.resources if doc is not None else []
        self.counts: dict[str, ResourceCounts] = {c.id: c for c in counts}
        ratings = sum(c.ratings for c in counts)
        opens = sum(c.opens for c in counts)
        self.prior_rating = sum(c.rating_sum for c in counts) / ratings if ratings else 0.0
        self.prior_click_rate = min(1.0, sum(c.clicks for c in counts) / opens) if opens else 0.0
        self._standing = {rid: self._work_out(c) for rid, c in self.counts.items()}

    def _work_out(self, c: ResourceCounts) -> Standing:
        doc = self.doc or CatalogFeedbackDoc(api_version="wayfinder/v1", kind="CatalogFeedback", as_of="")
        weight = doc.prior_weight
        rating = click_rate = None
        points = 0.0
        if c.ratings >= doc.min_ratings:
            rating = (weight * self.prior_rating + c.rating_sum) / (weight + c.ratings)
            points -= RATING_WEIGHT * max(0.0, self.prior_rating - rating)
        if c.opens >= doc.min_opens and self.prior_click_rate > 0:
            click_rate = (weight * self.prior_click_rate + c.clicks) / (weight + c.opens)
            points -= CLICK_WEIGHT * max(0.0, self.prior_click_rate - click_rate) / self.prior_click_rate
        return Standing(round(points, 6), c.ratings, rating, self.prior_rating, c.opens, c.clicks, click_rate,
                        self.prior_click_rate)

    def standing(self, resource_id: str) -> Standing | None:
        return self._standing.get(resource_id)

    def points(self, resource_id: str) -> float:
        """Ranking points everyone's feedback costs this resource (0.0 when it is not demoted)."""
        found = self._standing.get(resource_id)
        return found.points if found is not None else 0.0


def _counted(n: int, thing: str) -> str:
    """``1 rating``, ``0 ratings``, ``20 ratings``."""
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"
