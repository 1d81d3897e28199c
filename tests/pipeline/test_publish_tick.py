"""``wayfinder publish --tick``: the tick waits for the workers, and not catching up in time is an error.

Kafka is an edge here: a recording producer stands in for it, and the wait for the workers is injected.
"""

from __future__ import annotations

import json
import sys
import tracemalloc
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
    with pytest.raises(PublishError, match=r"the workers \(group grp\) did not catch up within 300 s \(--wait\), so "
                       r"the stream clock was not advanced"):
        publish(SETTINGS, events, tick=AT, progress=None, connect=lambda s: producer, wait=lambda s: False)
    assert ticks(producer) == []
    assert len(producer.sent) == 3  # the events themselves are published
    assert producer.closed


def test_the_command_exits_non_zero_when_the_workers_do_not_catch_up(
        events: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    producer = RecordingProducer()
    monkeypatch.setattr(publishing, "_producer", lambda s: producer)
    monkeypatch.setattr(publishing, "wait_caught_up", lambda s, timeout: False)
    code = main(["publish", str(events), "--tick", "2027-01-01T00:00:00Z", "--topic-prefix", "p."])
    assert code == 1
    assert "did not catch up within 300 s" in capsys.readouterr().err
    assert ticks(producer) == []
    monkeypatch.setattr(publishing, "wait_caught_up", lambda s, timeout: True)
    assert main(["publish", str(events), "--tick", "2027-01-01T00:00:00Z", "--topic-prefix", "p."]) == 0
    assert len(ticks(producer)) == 4


def test_the_wait_for_the_workers_is_wait_seconds_and_300_when_not_given(
        events: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """README "publish --tick": a backfill of a year takes the workers longer than the fixed 300 s, and a test on a
    small file should not wait as long; ``--wait SECONDS`` is how long, and an error that names it says so."""
    producer = RecordingProducer()
    waited: list[float] = []

    def caught_up(settings: WorkerSettings, timeout: float) -> bool:
        waited.append(timeout)
        return timeout > 100

    monkeypatch.setattr(publishing, "_producer", lambda s: producer)
    monkeypatch.setattr(publishing, "wait_caught_up", caught_up)
    tick = ["--tick", "2027-01-01T00:00:00Z", "--topic-prefix", "p."]
    assert main(["publish", str(events), *tick, "--wait", "1800"]) == 0
    assert main(["publish", str(events), *tick]) == 0
    assert main(["publish", str(events), *tick, "--wait", "2.5"]) == 1
    assert waited == [1800.0, 300.0, 2.5]
    assert "did not catch up within 2.5 s (--wait)" in capsys.readouterr().err


@pytest.mark.parametrize(("value", "error"), [
    ("0", "--wait: 0 is not a positive number of seconds"), ("-5", "--wait: -5 is not a positive number of seconds"),
    ("soon", "--wait: 'soon' is not a number of seconds"), ("nan", "--wait: 'nan' is not a number of seconds"),
    ("inf", "--wait: 'inf' is not a number of seconds")])
def test_wait_must_be_a_positive_number_of_seconds(
        events: Path, value: str, error: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["publish", str(events), "--tick", "2027-01-01T00:00:00Z", "--wait", value])
    assert exited.value.code == 2
    assert error in capsys.readouterr().err


def test_wait_without_a_tick_is_refused_and_help_shows_it(
        events: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without ``--tick`` nothing waits for the workers; a ``--wait`` there would be read as a wait that happened."""
    assert main(["publish", str(events), "--wait", "60"]) == 2
    assert "--wait: only with --tick" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["publish", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "--wait SECONDS" in shown and "default 300" in shown


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


class CountingProducer(RecordingProducer):
    """Counts what was sent and keeps nothing; one send in ``refuse_every`` is refused."""

    def __init__(self, refuse_every: int = 0) -> None:
        super().__init__()
        self.count = 0
        self.flushes = 0
        self.refuse_every = refuse_every

    def send(self, topic: str, key: bytes | None = None, value: bytes | None = None,
             partition: int | None = None) -> Sent:
        self.count += 1
        return Refused() if self.refuse_every and self.count % self.refuse_every == 0 else Sent()

    def flush(self) -> None:
        self.flushes += 1


class Refused(Sent):
    exception = RuntimeError("refused by the test")

    def failed(self) -> bool:
        return True


def test_a_large_file_is_published_a_line_at_a_time_not_held_whole(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 10: an organisation's year is millions of lines; publish read the whole file into a list (and kept a
    future per line) before it sent anything, so its memory grew with the file."""
    path = tmp_path / "year.jsonl"
    line = {"specversion": "1.0", "source": "t", "type": "hris.employee.upserted", "time": "2026-01-01T00:00:00Z",
            "data": {"note": "x" * 200}}
    with path.open("w", encoding="utf-8") as f:
        for i in range(60_000):
            f.write(json.dumps(line | {"id": str(i), "subject": f"E{i}"}) + "\n")
    assert path.stat().st_size > 18_000_000
    producer = CountingProducer()
    tracemalloc.start()
    try:
        result = publish(SETTINGS, path, progress=sys.stderr, connect=lambda s: producer)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.sent == producer.count == 60_000
    assert peak < 4_000_000, peak  # the file is 18 MB
    assert producer.flushes >= 6  # what Kafka accepted is checked as it goes
    assert capsys.readouterr().err.rstrip().endswith("] 60,000 events")

    with pytest.raises(PublishError, match=r"^6 of 60,000 events were not accepted by Kafka: refused by the test$"):
        publish(SETTINGS, path, progress=None, connect=lambda s: CountingProducer(refuse_every=10_000))


def test_publish_reads_a_line_as_simulate_does(tmp_path: Path) -> None:
    """An audit on Kafka (2026-12-04): a file saved with a byte order mark had its first event dead-lettered by the
    worker ("invalid_json"; simulate took it), and a carriage return inside an event's JSON (whitespace) cut it
    into two records, two dead letters (simulate took it whole)."""
    one = {"specversion": "1.0", "id": "u1", "source": "t", "type": "hris.employee.upserted",
           "time": "2026-01-01T00:00:00Z", "subject": "E1", "data": {}}
    two = json.dumps({**one, "id": "u2", "subject": "E2"}).replace(', "source"', ',\r"source"')
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(one).encode() + b"\r\n" + "\u00a0\x1c\n".encode() + two.encode()
                     + b"\n")  # a line of a no-break space and a separator is blank to simulate too (a review's find)
    producer = KeepingProducer()
    result = publish(SETTINGS, path, progress=None, connect=lambda s: producer)
    assert result.sent == 2 and result.unkeyed == 0
    assert [(topic, key) for topic, key, _ in producer.values] == [("p.hris.events", b"E1"), ("p.hris.events", b"E2")]
    assert [json.loads(value or b"")["id"] for _, _, value in producer.values] == ["u1", "u2"]
