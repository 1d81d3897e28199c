"""``end: {}``: the enrollment is complete."""

from __future__ import annotations

from wayfinder.journeys.model import EndStep
from wayfinder.journeys.steps.context import Next


def run_end(_: EndStep) -> Next:
    return "end"
