"""``wayfinder feedback aggregate`` takes its events from a file (``--events``) or from Kafka (``--kafka``): exactly
one of the two, said by argparse in one line before anything is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from wayfinder.cli import main


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as raised:
        main(["feedback", "aggregate", *argv])
    assert raised.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err.splitlines()[-1]


def test_neither_source_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert _refused([], capsys) == \
        "wayfinder feedback aggregate: error: one of the arguments --events --kafka is required"


def test_both_sources_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("", encoding="utf-8")
    assert _refused(["--events", str(events), "--kafka", "127.0.0.1:9"], capsys) == \
        "wayfinder feedback aggregate: error: argument --kafka: not allowed with argument --events"


def test_kafka_without_a_broker_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert _refused(["--kafka", " , "], capsys) == \
        "wayfinder feedback aggregate: error: argument --kafka: give the brokers as host:port, comma separated"


def test_the_help_says_one_source_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["feedback", "aggregate", "--help"])
    assert raised.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "(--events EVENTS | --kafka HOST:PORT[,...])" in text
    assert "one of the two is required, not both" in text
