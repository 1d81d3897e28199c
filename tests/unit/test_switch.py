"""The stop switch's rules: hold while paused, send in order after a resume, drop what a dropping resume says."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.servers import make_message
from tests.support import at
from wayfinder.connectors.switch import ControlFile, ControlRecord, Switch


def record(action: str, time: str, journey: str | None = None, *, drop: bool = False) -> ControlRecord:
    return ControlRecord(action=action, journey_id=journey, operator_id="OP1", drop_held=drop, at=at(time))


def switch(*records: ControlRecord) -> Switch:
    s = Switch()
    for r in records:
        s.apply(r)
    return s


def test_a_paused_journey_holds_its_messages_and_no_other() -> None:
    s = switch(record("pause", "2026-05-01T09:00", "new-parent"))
    assert s.verdict(make_message(1, journey_id="new-parent")) == "hold"
    assert s.verdict(make_message(2, journey_id="onboarding")) == "go"
    assert s.state() == {"new-parent": True}


def test_pausing_all_sending_holds_every_journey_until_resumed() -> None:
    paused = switch(record("pause", "2026-05-01T09:00"))
    assert paused.verdict(make_message(1, journey_id="onboarding")) == "hold"
    resumed = switch(record("pause", "2026-05-01T09:00"), record("resume", "2026-05-02T09:00"))
    assert resumed.verdict(make_message(1, journey_id="onboarding")) == "go"
    assert resumed.state() == {"all": False}


def test_a_dropping_resume_drops_exactly_what_went_during_the_pause() -> None:
    s = switch(record("pause", "2026-05-01T09:00", "care"), record("resume", "2026-05-03T09:00", "care", drop=True))
    start = at("2026-05-01T09:00")

    def verdict(offset: timedelta) -> str:
        return s.verdict(make_message(1, journey_id="care").with_status("sent", at=start + offset))

    assert verdict(-timedelta(seconds=1)) == "go"
    assert verdict(timedelta(0)) == "drop"
    assert verdict(timedelta(days=2) - timedelta(seconds=1)) == "drop"
    assert verdict(timedelta(days=2)) == "go"


def test_a_second_pause_while_paused_changes_nothing_and_resume_without_pause_is_harmless() -> None:
    s = switch(record("resume", "2026-04-30T09:00"), record("pause", "2026-05-01T09:00"),
               record("pause", "2026-05-02T09:00"), record("resume", "2026-05-03T09:00", drop=True))
    assert s.records == 4
    early = make_message(1).with_status("sent", at=at("2026-05-01T12:00"))
    assert s.verdict(early) == "drop"  # the pause began at the first pause


def test_the_control_file_is_read_again_when_it_changes_and_a_bad_line_names_its_number(tmp_path: Path) -> None:
    control = ControlFile(tmp_path / "control.jsonl")
    assert control.refresh().state() == {}
    control.append(record("pause", "2026-05-01T09:00", "care"))
    assert control.refresh().state() == {"care": True}
    with (tmp_path / "control.jsonl").open("a") as f:
        f.write('{"action": "stop"}\n')
    with pytest.raises(ValueError, match="control log line 2: not a pause or resume record"):
        control.refresh()
