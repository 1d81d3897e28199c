"""A task cancelled by a correction (issue 15) shows as cancelled in the task inbox's store."""

from __future__ import annotations

from tests.support import at
from wayfinder.journeys.records import Task
from wayfinder.web.store import Store


def _task(tid: str) -> Task:
    return Task(task_id=tid, employee_id="E1", assignee="hr_partner", assignee_id="H1", journey_id="care",
                journey_version=1, step_id="call", title="Call", note="Reach out.", created_at=at("2026-03-02T09:00"))


def test_a_cancelled_task_is_cancelled_and_an_open_one_open() -> None:
    cancelled = _task("t-1").cancelled("rescinded", at("2026-03-05T09:00"))
    store = Store(tasks={"t-1": cancelled, "t-2": _task("t-2")})
    assert {v.task.task_id: v.state for v in store.task_views()} == {"t-1": "cancelled", "t-2": "open"}
    assert (cancelled.status, cancelled.reason, cancelled.closed_at) == ("cancelled", "rescinded",
                                                                          at("2026-03-05T09:00"))


def test_a_task_the_engine_recorded_completed_is_completed_in_the_inbox() -> None:
    """Completed through another writer (a decisions file, another serve): the engine's latest record says so."""
    done = _task("t-1").completed("H2", at("2026-03-05T09:00"))
    store = Store(tasks={"t-1": done})
    assert [v.state for v in store.task_views()] == ["completed"]
    assert '"closed_by":"H2"' in done.model_dump_json() and "closed_by" not in _task("t-2").model_dump_json()
