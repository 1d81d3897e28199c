"""Everyone's feedback on the catalog: ``wayfinder feedback aggregate`` turns engagement events into the
``kind: CatalogFeedback`` document that ranking reads (see ``wayfinder.catalog.feedback`` for the rule)."""

from wayfinder.feedback.aggregate import CLICK_EVENT, OPEN_EVENT, aggregate, feedback_document
from wayfinder.journeys.events import RATING_EVENTS

__all__ = ["CLICK_EVENT", "OPEN_EVENT", "RATING_EVENTS", "aggregate", "feedback_document"]
