"""Logs carry no personal data on the real broker too (issue 11): a worker at DEBUG, one in each log format (each
in a world of its own topics), runs all the bundled events (broken lines and an erasure included) to the end so
every timer fires, ``wayfinder deliver --kafka`` at DEBUG sends the emails to a real SMTP server, and every line of
every log is searched for every name, email and free-text value of the input, as written and as a log may escape
it (JSON ``\\u00e9``, bytes ``\\xc3``)."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.real.kafka_world import WAYFINDER, KafkaWorld, kafka_world
from tests.real.test_hostile_logs import ERASED, EXAMPLES, personal_values
from tests.servers import MailServer
from tests.support import at

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]  # the run itself takes well under that
EVENTS = EXAMPLES / "events.jsonl"
UNTIL = "2027-03-01T00:00:00Z"  # past every timer of the bundled journeys
DEBUG = {"WAYFINDER_LOG_LEVEL": "DEBUG"}


FORMATS = ("text", "json")


@pytest.fixture
def worlds(kafka_broker: str, tmp_path: Path) -> Iterator[dict[str, KafkaWorld]]:
    """Two worlds of their own (topics, group), one for each log format, so each format sees every event."""
    with contextlib.ExitStack() as stack:
        found = {}
        for fmt in FORMATS:
            (tmp_path / fmt).mkdir()
            found[fmt] = stack.enter_context(contextlib.contextmanager(kafka_world)(kafka_broker, tmp_path / fmt,
                                                                                      partitions=2))
        yield found


def spellings(value: str) -> set[str]:
    """``value`` as written, as JSON with ASCII escapes writes it, and as the repr of its UTF-8 bytes shows it
    (a framework logging a raw record prints ``b'...\\xc3\\xa9...'``), with a backslash doubled or not."""
    as_json = json.dumps(value)[1:-1]
    as_bytes = repr(value.encode("utf-8"))[2:-1]
    return {value, as_json, as_json.replace("\\", "\\\\"), as_bytes, as_bytes.replace("\\", "\\\\")}


def leaked(lines: list[str], values: set[str]) -> list[tuple[str, str]]:
    """(value, the line it is in) for every value found in a line, in any of its spellings; a JSON line is also
    searched decoded."""
    wanted = {form: value for value in values for form in spellings(value)}
    search = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, sorted(wanted, key=len, reverse=True))) + r")(?!\w)")
    found: list[tuple[str, str]] = []
    for line in lines:
        texts = [line]
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                texts.append(json.dumps(json.loads(line), ensure_ascii=False))
        hits = {wanted[m.group(0)] for text in texts for m in search.finditer(text)}
        found.extend((value, line[:300]) for value in sorted(hits))
    return found


def deliver(world: KafkaWorld, mail: MailServer, fmt: str) -> str:
    env = world.env() | DEBUG | {"WAYFINDER_LOG_FORMAT": fmt, "WAYFINDER_SMTP_URL": mail.url,
                                 "WAYFINDER_SENDER": "People Team <people@example.com>",
                                 "WAYFINDER_LEDGER_PATH": str(world.folder / "ledger.sqlite3")}
    done = subprocess.run([WAYFINDER, "deliver", "--kafka", "--idle", "3", "-v"], env=env, capture_output=True,
                          text=True, timeout=180, check=False)
    (world.folder / "deliver.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    assert "delivered" in done.stdout, done.stderr[-3000:]
    return done.stdout + done.stderr


def test_the_search_finds_a_value_however_a_log_line_spells_it() -> None:
    erased = sorted(personal_values(ERASED))
    name = next(v for v in sorted(personal_values()) if not v.isascii())
    record = json.dumps({"given_name": name}, ensure_ascii=False).encode()
    planted = [f"DEBUG aiokafka: Sending (key=b's:E1001' value={record!r}) to TopicPartition(topic='t.directory')",
               json.dumps({"message": "Sending value=" + repr(f'{{"email": "{erased[0]}"}}'.encode())}),
               json.dumps({"message": f"sent to {erased[1]}"}, ensure_ascii=False),
               "DEBUG aiokafka: Sending (key=b's:E1001' value=<812 bytes>) to TopicPartition(topic='t.directory')"]
    assert [v for v, _ in leaked(planted, personal_values())] == [name, erased[0], erased[1]]


def test_a_worker_and_deliver_on_kafka_at_debug_log_no_personal_data(worlds: dict[str, KafkaWorld]) -> None:
    workers = {fmt: world.start_worker(**DEBUG, WAYFINDER_LOG_FORMAT=fmt) for fmt, world in worlds.items()}
    for world in worlds.values():
        world.publish_file(EVENTS)
    logs = {}
    with MailServer() as mail:
        for fmt, world in worlds.items():
            world.tick(at(UNTIL))  # the other world's worker goes on meanwhile
            latest, _ = world.messages()
            emails = {mid for mid, m in latest.items() if m["status"] == "sent" and m["channel"] == "email"}
            logs[f"deliver ({fmt})"] = deliver(world, mail, fmt)
            assert emails and emails <= {i.strip("<>").split("@")[0] for i in mail.handler.message_ids()}
    for fmt, world in worlds.items():
        world.stop()
        logs[f"worker ({fmt})"] = workers[fmt].text()
    # The records themselves hold the names, as a client logging them would print them: the search sees them.
    assert leaked([repr(value) for _, value in worlds["json"].read("directory")], personal_values())
    for name, log in logs.items():
        lines = log.splitlines()
        assert leaked(lines, personal_values()) == [], name
        # At DEBUG the Kafka client logs every record it sends: by key and size, never by value.
        assert sum("Sending (key=" in line and "bytes>)" in line for line in lines) > 0, name
