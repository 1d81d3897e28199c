"""The step kinds of a journey, one module each, behind one dispatch (``run_step``)."""

from __future__ import annotations

from typing import Any, assert_never

from wayfinder.journeys.model import (
    BranchStep,
    EndStep,
    Journey,
    LearningPathStep,
    RoadmapStep,
    SendStep,
    Step,
    TaskStep,
    WaitForStep,
    WaitStep,
)
from wayfinder.journeys.state import Enrollment
from wayfinder.journeys.steps.branch import run_branch
from wayfinder.journeys.steps.context import Directory, Next, Run
from wayfinder.journeys.steps.end import run_end
from wayfinder.journeys.steps.learning_path import run_learning_path
from wayfinder.journeys.steps.roadmap import run_roadmap
from wayfinder.journeys.steps.send import run_send
from wayfinder.journeys.steps.task import run_task
from wayfinder.journeys.steps.wait import run_wait
from wayfinder.journeys.steps.wait_for import run_wait_for

__all__ = ["Directory", "Next", "Run", "run_step"]


def run_step(run: Run, journey: Journey, e: Enrollment, step: Step, scope: dict[str, Any]) -> Next:
    """Run the enrollment's current step; say what comes next."""
    match step:
        case SendStep():
            return run_send(run, journey, e, step, scope)
        case RoadmapStep():
            return run_roadmap(run, journey, e, step, scope)
        case TaskStep():
            return run_task(run, journey, e, step, scope)
        case WaitStep():
            return run_wait(run, journey, e, step, scope)
        case WaitForStep():
            return run_wait_for(run, e, step)
        case BranchStep():
            return run_branch(run, journey, e, step, scope)
        case EndStep():
            return run_end(step)
        case LearningPathStep():
            return run_learning_path(run, journey, e, step, scope)
        case _:
            assert_never(step)
