"""``wayfinder plan``: what a folder of journeys would change against the current ones, over a history of
events (like ``terraform plan``)."""

from wayfinder.plan.compare import Plan, Run, compare, over_cap, render

__all__ = ["Plan", "Run", "compare", "over_cap", "render"]
