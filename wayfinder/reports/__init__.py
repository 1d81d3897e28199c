"""Reports over what Wayfinder decided: fairness across groups, impact against a control group, feedback."""

from wayfinder.reports.fairness import FairnessReport, fairness_report
from wayfinder.reports.feedback import ResourceFeedback, feedback_rollup
from wayfinder.reports.impact import ImpactReport, impact_report
from wayfinder.reports.inputs import InputError, ReportInputs, assemble

__all__ = [
    "FairnessReport",
    "ImpactReport",
    "InputError",
    "ReportInputs",
    "ResourceFeedback",
    "assemble",
    "fairness_report",
    "feedback_rollup",
    "impact_report",
]
