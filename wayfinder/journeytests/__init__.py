"""``wayfinder test``: journey tests kept in git beside the journeys, run like ``pytest``."""

from wayfinder.journeytests.runner import TestOutcome, run_test

__all__ = ["TestOutcome", "run_test"]
