"""``wayfinder feedback aggregate --kafka``: the same document from the real broker's topics as from the file the
events were published from, and errors of one line."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from tests.real.kafka_world import KafkaWorld, kafka_world
from wayfinder import examples_dir
from wayfinder.cli import main

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]

EVENTS = examples_dir() / "events.jsonl"
ERASURE_ID = '"pp-3024ffac73"'  # E1026's erasure request (2026-08-12), after ratings, opens and clicks of theirs
BEFORE_THE_ERASURE = "2026-07-01T00:00:00Z"


@pytest.fixture
def world(kafka_broker: str, tmp_path: Path) -> Iterator[KafkaWorld]:
    yield from kafka_world(kafka_broker, tmp_path, partitions=3)


def _document(argv: list[str], out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["feedback", "aggregate", *argv, "--min-ratings", "3", "--min-opens", "5", "--out", str(out)]) == 0
    capsys.readouterr()
    return out.read_text(encoding="utf-8")


def test_the_document_from_the_topics_equals_the_document_from_the_file(
        world: KafkaWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = EVENTS.read_bytes().splitlines()
    sent = world.publish_file(EVENTS)
    assert sent == len([line for line in lines if line.strip()])
    assert world.publish_file(EVENTS) == sent  # every (source, id) twice on the topics: counted once
    kafka = ["--kafka", world.broker, "--topic-prefix", world.prefix]
    for until in ([], ["--until", BEFORE_THE_ERASURE]):
        from_file = _document(["--events", str(EVENTS), *until], tmp_path / "file.yaml", capsys)
        from_kafka = _document([*kafka, *until], tmp_path / "kafka.yaml", capsys)
        assert from_kafka == from_file
        assert "ratings: " in from_kafka and "clicks: " in from_kafka, "the document counts nothing"
    # the erasure on hris.events (after --until) was read: without it, the erased person's feedback would count
    kept = tmp_path / "not-erased.jsonl"
    kept.write_bytes(b"\n".join(line for line in lines if ERASURE_ID.encode() not in line) + b"\n")
    assert _document(["--events", str(kept), "--until", BEFORE_THE_ERASURE], tmp_path / "kept.yaml", capsys) \
        != from_kafka


def _error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["feedback", "aggregate", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert len(captured.err.splitlines()) == 1, captured.err
    return captured.err.strip()


def test_a_missing_topic_is_one_line(kafka_broker: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = f"feedback-{uuid.uuid4().hex[:8]}."
    assert _error(["--kafka", kafka_broker, "--topic-prefix", prefix, "--out", str(tmp_path / "f.yaml")], capsys) \
        == f"wayfinder feedback aggregate: {prefix}engagement.events: no such topic on the brokers; check --kafka " \
        "and --topic-prefix"
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker)
    try:  # the engagement topic alone: without hris.events the erasure requests are unknown, so nothing is written
        admin.create_topics([NewTopic(prefix + "engagement.events", 1, 1)])
        assert _error(["--kafka", kafka_broker, "--topic-prefix", prefix, "--out", str(tmp_path / "f.yaml")],
                      capsys) == f"wayfinder feedback aggregate: {prefix}hris.events: no such topic on the brokers; " \
            "check --kafka and --topic-prefix"
    finally:
        admin.delete_topics([prefix + "engagement.events"])
        admin.close()
    assert not (tmp_path / "f.yaml").exists()


def test_an_unreachable_broker_is_one_line() -> None:
    """In a process of its own, as a user runs it (kafka-python leaves the sockets of refused connections to the
    garbage collector, an error in this process: pyproject.toml, filterwarnings), with a shorter wait for a broker."""
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = ("import sys, wayfinder.streams.readback as r; r.CONNECT_SECONDS = 2.0; from wayfinder.cli import main; "
           f"sys.exit(main(['feedback', 'aggregate', '--kafka', '127.0.0.1:{port}']))")
    done = subprocess.run([sys.executable, "-c", run], capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == ["wayfinder feedback aggregate: cannot reach the Kafka brokers given with "
                                        "--kafka (KafkaTimeoutError); check the address"]
