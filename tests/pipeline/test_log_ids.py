"""Issue 13, logs: a diagnostic's JSON line carries the ids that find its input again, the event id and, on a
worker, the topic, partition and offset it was read at (it had only the person, journey and step)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from tests.pipeline.stages import Pipeline
from tests.pipeline.test_ops import FAILING_JOURNEY
from wayfinder import examples_dir
from wayfinder.journeys.loader import Sources, load_or_raise
from wayfinder.telemetry.logs import JsonFormatter

UPSERT = {"specversion": "1.0", "id": "wd-log-1", "source": "hris/workday", "type": "hris.employee.upserted",
          "time": "2026-03-02T09:15:00Z", "subject": "E77", "data": {"id": "E77", "timezone": "Europe/Berlin"}}


def test_a_workers_diagnostic_names_its_event_and_where_it_was_read(tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    ex = examples_dir()
    journeys = tmp_path / "journeys"
    shutil.copytree(ex / "journeys", journeys)
    (journeys / "zz-ops-log-check.yaml").write_text(FAILING_JOURNEY, encoding="utf-8")
    defs = load_or_raise(Sources(paths=[journeys, ex / "catalog"], templates=[ex / "templates"],
                                 policy=ex / "policy.yaml"))
    p = Pipeline(defs=defs)
    with caplog.at_level(logging.INFO, "wayfinder.streams.interpreter"):
        p.feed(p.employees, "hris.events", b"E77", json.dumps(UPSERT).encode(), offset=41, partition=0)
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records
             if r.getMessage().startswith("expression_failed")]
    assert lines, "the failing trigger should have been logged"
    assert {k: lines[0].get(k) for k in ("event_id", "topic", "partition", "offset", "employee_id", "journey")} == {
        "event_id": "wd-log-1", "topic": "hris.events", "partition": 0, "offset": 41, "employee_id": "E77",
        "journey": "ops-log-check"}
