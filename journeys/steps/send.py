"""``send``: a message from a template (or inline text) on a channel, with catalog ``resources`` picked for
this employee; ``when`` false skips it."""

from __future__ import annotations

from typing import Any

from wayfinder.catalog.graph import Selection
from wayfinder.journeys.definitions import Part
from wayfinder.journeys.model import Journey, SendStep
from wayfinder.journeys.state import Enrollment
from wayfinder.journeys.steps.context import Next, Run, skipped
from wayfinder.journeys.steps.message import deliver
from wayfinder.journeys.templates import MessageTemplate


def run_send(run: Run, journey: Journey, e: Enrollment, step: SendStep, scope: dict[str, Any]) -> Next:
    action = step.send
    if not skipped(run, journey, step.id, action.when, scope):
        deliver(run, journey, e, step, scope, action.channel, action.to,
                lambda opted: _select(run, step, opted), lambda: _template(run, journey, step))
    return e.step + 1


def _select(run: Run, step: SendStep, opt_out_topics: list[str]) -> Selection:
    """The resources for the employee, less the topics the message's recipient opted out of."""
    request = step.send.resources
    if request is None:
        return Selection()
    return run.defs.catalog.select(request.topics, run.employee, limit=request.limit,
                                   delivered=run.state.delivered, opt_out_topics=opt_out_topics,
                                   feedback=run.state.feedback)


def _template(run: Run, journey: Journey, step: SendStep) -> MessageTemplate:
    if step.send.template is not None:
        return run.defs.templates[step.send.template]
    return run.defs.inline_template(journey, step.id, Part.MESSAGE)
