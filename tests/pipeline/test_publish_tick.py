"""``wayfinder publish --tick``: the tick waits for the workers, and not catching up in time is an error.

Kafka is an edge here: a recording producer stands in for it, and the wait for the workers is injected.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

import wayfinder.streams.publish as publishing
from wayfinder.cli import main
from wayfinder.streams.publish import PublishError, publish
from wayfinder.streams.settings import WorkerSettings

AT = datetime(2027, 1, 1, tzinfo=UTC)
SETTINGS = WorkerSettings(topic_prefix="p.", app_id="grp")


class Sent:
    def failed(self) -> bool:
        return False


class RecordingProducer:
    """The calls ``publish`` makes of kafka-python's producer, recorded."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int | None]] = []
        self.closed = False

    def send(self, topic: str, key: bytes | None = None, value: bytes | None = None,
             partition: int | None = None) -> Sent:
        self.sent.append((topic, partition))
        return Sent()

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def partitions_for(self, topic: str) -> set[int]:
        return {0, 1}


@pytest.fixture
def events(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    lines = [{"specversion": "1.0", "id": str(i), "source": "t", "type": "hris.employee.upserted",
              "time": "2026-01-01T00:00:00Z", "subject": f"E{i}", "data": {}} for i in range(3)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def ticks(producer: RecordingProducer) -> list[tuple[str, int | None]]:
    return [(t, p) for t, p in producer.sent if t.endswith("-ticks")]


def test_a_tick_after_the_workers_caught_up_reaches_every_partition(events: Path) -> None:
    producer = RecordingProducer()
    waited: list[str] = []

    def caught_up(settings: WorkerSettings) -> bool:
        waited.append(settings.app_id)
        return True

    result = publish(SETTINGS, events, tick=AT, progress=None, connect=lambda s: producer, wait=caught_up)
    assert result.sent == 3
    assert waited == ["grp"]
    assert sorted(ticks(producer)) == [("p.employee-ticks", 0), ("p.employee-ticks", 1),
                                       ("p.mailbox-ticks", 0), ("p.mailbox-ticks", 1)]


def test_workers_that_do_not_catch_up_are_an_error_and_no_tick_is_sent(events: Path) -> None:
    producer = RecordingProducer()
    with pytest.raises(PublishError, match=r"the workers \(group grp\) did not catch up in time, so the stream "
                       r"clock was not advanced"):
        publish(SETTINGS, events, tick=AT, progress=None, connect=lambda s: producer, wait=lambda s: False)
    assert ticks(producer) == []
    assert len(producer.sent) == 3  # the events themselves are published
    assert producer.closed


def test_the_command_exits_non_zero_when_the_workers_do_not_catch_up(
        events: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    producer = RecordingProducer()
    monkeypatch.setattr(publishing, "_producer", lambda s: producer)
    monkeypatch.setattr(publishing, "wait_caught_up", lambda s: False)
    code = main(["publish", str(events), "--tick", "2027-01-01T00:00:00Z", "--topic-prefix", "p."])
    assert code == 1
    assert "did not catch up in time" in capsys.readouterr().err
    assert ticks(producer) == []
    monkeypatch.setattr(publishing, "wait_caught_up", lambda s: True)
    assert main(["publish", str(events), "--tick", "2027-01-01T00:00:00Z", "--topic-prefix", "p."]) == 0
    assert len(ticks(producer)) == 4


def test_an_empty_file_with_a_tick_only_ticks(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    producer = RecordingProducer()
    result = publish(SETTINGS, empty, tick=AT, progress=None, connect=lambda s: producer, wait=lambda s: True)
    assert result.sent == 0
    assert len(producer.sent) == len(ticks(producer)) == 4


class KeepingProducer(RecordingProducer):
    """The recording producer, keeping what was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[tuple[str, bytes | None, bytes | None]] = []

    def send(self, topic: str, key: bytes | None = None, value: bytes | None = None,
             partition: int | None = None) -> Sent:
        self.values.append((topic, key, value))
        return super().send(topic, key, value, partition)


def test_a_line_longer_than_the_workers_take_goes_to_the_dead_letters_and_the_rest_is_published(
        events: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It is read past in pieces (never held whole) and dead-lettered ``too_large`` with the file and line, as
    simulate writes it; the events around it are published as they were."""
    good = events.read_bytes().splitlines(keepends=True)
    huge = b'{"specversion": "1.0", "data": "' + b"x" * 3_000_000 + b'"}'
    events.write_bytes(good[0] + huge + b"\n" + b"".join(good[1:]))
    producer = KeepingProducer()
    clock = datetime(2027, 2, 3, 4, 5, 6, tzinfo=UTC)
    result = publish(SETTINGS, events, progress=None, connect=lambda s: producer, now=lambda: clock)
    assert (result.sent, result.too_large) == (3, 1)
    published = [json.loads(v or b"")["id"] for t, _, v in producer.values if t == "p.hris.events"]
    assert published == ["0", "1", "2"]
    [(_, key, value)] = [s for s in producer.values if s[0] == "p.dead-letters"]
    letter = json.loads(value or b"")
    assert (key, letter["reason"], letter["source"], letter["line"], letter["received_at"]) == (
        None, f"too_large: event is {len(huge)} bytes, the limit is 1000000", "events.jsonl", 2,
        "2027-02-03T04:05:06Z")
    assert letter["raw"].startswith('{"specversion": "1.0", "data": "xxx') and len(letter["raw"]) < 70_000

    monkey = pytest.MonkeyPatch()
    monkey.setattr(publishing, "_producer", lambda s: KeepingProducer())
    try:
        assert main(["publish", str(events), "--topic-prefix", "p."]) == 0
    finally:
        monkey.undo()
    assert "1 line(s) longer than an event may be (1,000,000 bytes) to p.dead-letters" in capsys.readouterr().out
