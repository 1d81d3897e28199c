"""What the stages do per input that ``simulate`` does not, cut where it changed nothing they send or write
(README "Where issue 10 stands", 2026-12-05, fifth session): each test here pins one such cut; the stages' records
and writes are the same as before (``benchmarks.stage_digest`` over the 2,000-employee year)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from benchmarks import org_load
from benchmarks.stage_digest import fingerprint
from benchmarks.worker_scale import drive_stages
from wayfinder.journeys.state import EmployeeState
from wayfinder.streams.stage import Stage
from wayfinder.streams.unit import Work


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 600 events of an organisation's year of 60 people: hires, engagement events parked for their time
    (the event clock, one tick at the end), timers."""
    path = tmp_path_factory.mktemp("year") / "org.jsonl"
    path.write_text("\n".join(itertools.islice(org_load.generate(60, 7), 600)) + "\n", encoding="utf-8")
    return path


def test_a_state_the_unit_wrote_is_not_parsed_back_in_the_same_unit(year: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """An employee's timer fired before their event, or several of their parked inputs decided at one tick, touch
    their state twice in a unit: the second takes the object the first wrote, not a parse of its bytes (every state
    of this run is made in it, so none is read from the table at all)."""
    parsed = []
    original = EmployeeState.model_validate_json

    def counting(raw: Any, *args: Any, **kwargs: Any) -> EmployeeState:
        parsed.append(raw)
        return original(raw, *args, **kwargs)

    monkeypatch.setattr(EmployeeState, "model_validate_json", counting)
    done = drive_stages(year)
    assert done.count == 600 and done.changelog > 600
    assert parsed == []


def test_taking_the_written_state_again_sends_and_writes_what_parsing_it_back_did(
        year: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = fingerprint(year)

    def parsed_back(stage: Stage, work: Work, partition: int, key: str, obj: Any) -> None:  # as before the cut
        work.writes[key] = obj.model_dump_json().encode("utf-8")
        stage.remember(partition, key, obj)

    monkeypatch.setattr(Stage, "keep_model", parsed_back)
    before = fingerprint(year)
    assert (found.raw.hexdigest(), found.records, found.writes) == (before.raw.hexdigest(), before.records,
                                                                     before.writes)
