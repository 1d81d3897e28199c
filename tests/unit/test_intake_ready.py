"""``wayfinder intake``'s ``/readyz``: answered as the other processes answer it (README "Health endpoints")."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_intake_metrics import NEW_HIRE, Intake, _intake
from wayfinder.hris.sinks import FileSink, SinkUnavailable


@pytest.fixture
def intake() -> Iterator[Intake]:
    yield from _intake(("bamboohr",), retry_after_seconds=30)


def ready(intake: Intake) -> tuple[int, Any]:
    r = intake.client.get("/readyz")
    return r.status_code, r.json()


def test_ready_while_the_sink_can_store(intake: Intake) -> None:
    assert ready(intake) == (200, {"status": "ok", "reasons": []})


def test_not_ready_while_the_sink_says_why(intake: Intake) -> None:
    intake.sink.why = "Kafka is not reachable (NoBrokersAvailable)"
    assert ready(intake) == (503, {"status": "fail", "reasons": ["Kafka is not reachable (NoBrokersAvailable)"]})


def test_not_ready_for_the_retry_time_after_a_refused_delivery_then_ready_again(intake: Intake) -> None:
    intake.sink.failure = SinkUnavailable("Kafka did not acknowledge the events (KafkaTimeoutError)")
    assert intake.bamboohr(NEW_HIRE).status_code == 503
    status, body = ready(intake)
    assert status == 503 and body["reasons"] == ["the sink did not acknowledge a delivery in the last 30 s"]
    intake.sink.now[0] += 31  # the sender's wait is over: traffic may come back and try the sink again
    assert ready(intake)[0] == 200


def test_a_sink_that_does_not_answer_in_time_is_not_ready(intake: Intake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wayfinder.hris.intake.READY_WAIT_SECONDS", 0.05)

    def slow() -> str | None:
        time.sleep(0.5)
        return None

    monkeypatch.setattr(intake.sink, "unready", slow)
    assert ready(intake) == (503, {"status": "fail", "reasons": ["the sink did not answer within 0.05 s"]})


def test_a_file_sink_is_unready_without_a_writable_folder(tmp_path: Path) -> None:
    assert FileSink(tmp_path / "events.jsonl").unready() is None
    assert FileSink(tmp_path / "missing" / "events.jsonl").unready() == (
        "the events file's folder is missing or not writable")
