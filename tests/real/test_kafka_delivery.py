"""``wayfinder deliver --kafka``: from outbound.messages on the real broker to a real SMTP server, twice."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.real.kafka_world import WAYFINDER, KafkaWorld, kafka_world, simulate_messages
from tests.real.test_kafka import EVENTS, UNTIL, eventually, statuses
from tests.servers import MailServer
from tests.support import at

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]  # above the waits below, on a loaded machine too


@pytest.fixture
def world(kafka_broker: str, tmp_path: Path) -> Iterator[KafkaWorld]:
    yield from kafka_world(kafka_broker, tmp_path)


def deliver(world: KafkaWorld, mail: MailServer, ledger: Path, group: str = "") -> subprocess.CompletedProcess[str]:
    env = world.env() | {"WAYFINDER_SMTP_URL": mail.url, "WAYFINDER_SENDER": "People Team <people@example.com>",
                         "WAYFINDER_LEDGER_PATH": str(ledger), "WAYFINDER_APP_ID": world.app_id + group}
    return subprocess.run([WAYFINDER, "deliver", "--kafka", "--idle", "3"], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_deliver_from_kafka_sends_each_email_once_and_a_second_run_sends_nothing(world: KafkaWorld,
                                                                               tmp_path: Path) -> None:
    expected, _ = simulate_messages(EVENTS, UNTIL, tmp_path / "sim")
    world.start_worker()
    world.publish_file(EVENTS)
    world.tick(at(UNTIL))
    assert eventually(lambda: statuses(world), lambda s: s == expected) == expected
    latest, _ = world.messages()
    emails = {mid for mid, m in latest.items()
              if m["status"] == "sent" and m["channel"] == "email" and m["recipient_email"]}
    with MailServer() as mail:
        first = deliver(world, mail, tmp_path / "ledger.sqlite3")
        assert "delivered" in first.stdout, first.stderr[-2000:]
        ids = mail.handler.message_ids()
        assert len(ids) == len(set(ids)) == len(emails)
        assert {i.strip("<>").split("@")[0] for i in ids} == emails
        again = deliver(world, mail, tmp_path / "ledger.sqlite3")  # same group: its offsets were committed
        assert re.search(r"^deliver \S+: 0 records read", again.stdout, re.MULTILINE), again.stdout
        replay = deliver(world, mail, tmp_path / "ledger.sqlite3", group="-replay")  # reads it all again
        assert len(mail.handler.message_ids()) == len(emails)
        skipped = re.search(r"skipped, already delivered\s+(\d+)", replay.stdout)
        assert skipped is not None and int(skipped.group(1)) == len(emails), replay.stdout
    receipts = [json.loads(v or b"{}") for _, v in world.read("delivery.receipts")]
    assert {r["message_id"] for r in receipts if r["status"] == "delivered"} == emails
