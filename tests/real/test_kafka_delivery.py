"""``wayfinder deliver --kafka``: from outbound.messages on the real broker to a real SMTP server, twice."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP as SMTPServerProtocol
from aiosmtpd.smtp import Envelope, Session
from kafka import KafkaAdminClient, KafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from tests.real.kafka_world import WAYFINDER, KafkaWorld, kafka_world, simulate_messages
from tests.real.test_kafka import EVENTS, UNTIL, eventually, statuses
from tests.servers import MailHandler, MailServer
from tests.support import at, free_port
from wayfinder.journeys.records import Message

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
    outbound = world.settings.topic("outbound.messages")
    producer = KafkaProducer(bootstrap_servers=world.broker)  # two records that are not messages, on partition 0
    try:
        producer.send(outbound, value=b"not json", partition=0)
        producer.send(outbound, value=b'{"message_id": "m-x", "note": "caf\xe9"}', partition=0)  # not UTF-8
        producer.send(outbound, value=b'{"message_id": "m-y", "status": "sent"}', partition=0)
        producer.flush()
    finally:
        producer.close()
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
    # as the worker's dead letters: why (the fields), the bytes as they came, the topic, partition and offset
    letters = [json.loads(v or b"{}") for _, v in world.read("dead-letters")]
    by_offset = {d["offset"]: d for d in letters if d.get("source") == outbound}  # the replay group wrote them again
    mine = [by_offset[n] for n in sorted(by_offset)]
    assert [(d["partition"], d["raw"][:8], "raw_base64" in d) for d in mine] == [
        (0, "not json", False), (0, '{"messag', True), (0, '{"messag', False)]
    assert [d["reason"] for d in mine[:2]] == ["not a message record: (line)"] * 2
    assert mine[2]["reason"].startswith("not a message record: channel, ")  # which fields, never their values
    assert [d["offset"] - mine[0]["offset"] for d in mine] == [0, 1, 2]


@dataclass
class SlowHandler(MailHandler):
    """Takes each message, then answers 250 only after a while, as a relay that queues: a stop in that window
    leaves sends under way."""

    pause: float = 1.5

    async def handle_DATA(self, server: SMTPServerProtocol, session: Session, envelope: Envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(self.pause)
        return answer


def _lag(port: int) -> float | None:
    """deliver's lag gauge summed over its partitions of outbound.messages; None before it has measured one."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode("utf-8")
    except OSError:
        return None
    values = [s.value for family in text_string_to_metric_families(text)
              if family.name == "wayfinder_delivery_lag_messages"
              for s in family.samples if s.labels.get("topic", "").endswith("outbound.messages")]
    return sum(values) if values else None


def _records(world: KafkaWorld, topic: str) -> int:
    return len(world.read(topic))


def _committed(world: KafkaWorld, group: str) -> int:
    """What the group has committed on outbound.messages, summed over its partitions."""
    admin = KafkaAdminClient(bootstrap_servers=world.broker)
    try:
        return sum(max(0, o.offset) for o in admin.list_group_offsets({group: None}).get(group, {}).values())
    finally:
        admin.close()


def test_sigterm_lets_sends_under_way_finish_and_what_is_settled_is_committed_as_it_goes(world: KafkaWorld,
                                                                                       tmp_path: Path) -> None:
    """Kubernetes stops deliver with SIGTERM: sends under way finish (exit 130), nothing is sent twice by the next
    run, nothing is lost; and offsets are committed while it runs (``wayfinder status`` reads them), not only
    when it ends. Its lag gauge (``wayfinder_delivery_lag_messages``) says how many records of outbound.messages
    are not settled yet, and goes down as the slow sends are made (since 2026-12-04)."""
    world.start_worker()
    world.publish_file(EVENTS)
    world.tick(at(UNTIL))
    expected, _ = simulate_messages(EVENTS, UNTIL, tmp_path / "sim")
    assert eventually(lambda: statuses(world), lambda s: s == expected) == expected
    latest, _ = world.messages()
    emails = {mid for mid, m in latest.items()
              if m["status"] == "sent" and m["channel"] == "email" and m["recipient_email"]}
    ledger = tmp_path / "ledger.sqlite3"
    env = world.env() | {"WAYFINDER_SENDER": "People Team <people@example.com>", "WAYFINDER_LEDGER_PATH": str(ledger),
                         "WAYFINDER_APP_ID": world.app_id, "WAYFINDER_CONCURRENCY": "2"}  # about 80 s for them all
    slow = SlowHandler()
    with MailServer(handler=slow) as mail:
        env["WAYFINDER_SMTP_URL"] = mail.url
        port = free_port()
        first = subprocess.Popen([WAYFINDER, "deliver", "--kafka", "--idle", "60", "--metrics-port", str(port)],
                                 env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            records = _records(world, "outbound.messages")
            early = eventually(lambda: _lag(port), lambda lag: lag is not None and lag > 0, timeout=120)
            assert early is not None and 0 < early <= records
            eventually(lambda: len(mail.handler.message_ids()), lambda n: n >= 4, timeout=120)
            later = eventually(lambda: _lag(port), lambda lag: lag is not None and lag < early, timeout=60)
            assert later is not None and later < early  # goes down as messages are settled
            committed = eventually(lambda: _committed(world, f"{world.app_id}-delivery"), lambda n: n > 0,
                                   timeout=30)
            assert committed > 0  # while it runs
            first.send_signal(signal.SIGTERM)
            _, err = first.communicate(timeout=60)
        finally:
            if first.poll() is None:
                first.kill()
        assert first.returncode == 130, err[-2000:]
        assert "stopping: finishing the sends under way" in err
        sent_before = len(mail.handler.message_ids())
        assert sent_before < len(emails)  # it stopped before the end
        slow.pause = 0.0
        second = deliver(world, mail, ledger)
        assert "delivered" in second.stdout, second.stderr[-2000:]
        assert "sent again" not in second.stdout + second.stderr  # nothing was in doubt
        ids = mail.handler.message_ids()
        assert len(ids) == len(set(ids)) == len(emails)  # each once: none twice, none lost
    receipts = [json.loads(v or b"{}") for _, v in world.read("delivery.receipts")]
    assert {r["message_id"] for r in receipts if r["status"] == "delivered"} == emails


def test_retry_failed_sends_again_from_the_topic_what_failed_for_good_once_each(world: KafkaWorld,
                                                                               tmp_path: Path) -> None:
    """RUNBOOK "WayfinderDeliveryFailing": the relay was down, messages failed for good (settled, so the group's
    offsets went past them); once it is up, ``deliver --kafka --retry-failed`` sends them, each once, though one is
    on the topic twice (a worker's repeat); a message that is not to be sent stays unsent; a second retry sends
    nothing. Before 2026-12-03 it read from the committed offsets: 0 records, nothing sent."""
    from tests.servers import make_message

    emails = [make_message(n) for n in range(4)]
    waiting = make_message(9, status="pending_approval")
    producer = KafkaProducer(bootstrap_servers=world.broker)
    try:
        for m in [*emails, waiting, emails[0]]:
            producer.send(world.settings.topic("outbound.messages"), key=m.employee_id.encode(),
                          value=m.model_dump_json().encode())
        producer.flush()
    finally:
        producer.close()
    ledger = tmp_path / "ledger.sqlite3"
    env = world.env() | {"WAYFINDER_SENDER": "People Team <people@example.com>", "WAYFINDER_LEDGER_PATH": str(ledger),
                         "WAYFINDER_RETRY__MAX_ATTEMPTS": "2", "WAYFINDER_RETRY__BASE_DELAY_SECONDS": "0.1",
                         "WAYFINDER_RETRY__GIVE_UP_AFTER_SECONDS": "2",
                         "WAYFINDER_CIRCUIT_BREAKER__RESET_TIMEOUT_SECONDS": "1"}

    def run(url: str, *flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([WAYFINDER, "deliver", "--kafka", "--idle", "3", *flags],
                              env=env | {"WAYFINDER_SMTP_URL": url}, capture_output=True, text=True, timeout=240,
                              check=False)

    with MailServer() as mail:
        down = mail.url
    first = run(down)  # the relay's port, nothing listening: refused, then given up
    assert first.returncode == 1, first.stdout + first.stderr[-2000:]
    failed = re.search(r"failed \(in the dead letters\)\s+(\d+)", first.stdout)
    assert failed is not None and int(failed.group(1)) == len(emails), first.stdout
    with MailServer() as mail:
        retried = run(mail.url, "--retry-failed")
        assert retried.returncode == 0, retried.stdout + retried.stderr[-2000:]
        ids = mail.handler.message_ids()
        assert ids, retried.stdout + retried.stderr[-3000:]
        assert sorted(i.strip("<>").split("@")[0] for i in ids) == sorted(m.message_id for m in emails)
        assert "4 message(s) that had failed found again on the topic" in retried.stdout, retried.stdout
        again = run(mail.url, "--retry-failed")  # nothing failed is left: nothing is sent
        assert again.returncode == 0, again.stdout + again.stderr[-2000:]
        assert len(mail.handler.message_ids()) == len(emails)
        assert "0 message(s) that had failed found again" in again.stdout, again.stdout
    receipts = [json.loads(v or b"{}") for _, v in world.read("delivery.receipts")]
    assert sorted(r["message_id"] for r in receipts if r["status"] == "delivered") == sorted(
        m.message_id for m in emails)


def test_a_message_about_or_to_a_person_erased_since_is_not_sent_from_the_topic(world: KafkaWorld,
                                                                                  tmp_path: Path) -> None:
    """SPEC §9: the worker erased E1 (its audit record) after E1's message and a message to E1 about E3 were made,
    but outbound.messages is not rewritten: a deliver lagging behind sent them. A message made after the erasure (a
    rehire) goes, as do the others'."""
    from tests.servers import NOW, make_message

    about_e1, to_e1, other = make_message(1), make_message(3, recipient_id="E1"), make_message(2)
    later = make_message(4, employee_id="E1", recipient_id="E1", created_at=NOW + timedelta(days=2))
    done, sent = _delivered_after_erasure_of_e1(world, tmp_path, [about_e1, to_e1, other, later])
    assert sent == sorted([other.message_id, later.message_id])
    assert re.search(r"erased\s+2", done.stdout), done.stdout


def _delivered_after_erasure_of_e1(world: KafkaWorld, tmp_path: Path,
                                   messages: list[Message]) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """The worker's audit record of E1's erasure, then ``messages`` on outbound.messages (keyed by their employee),
    then one ``deliver --kafka`` run to a real SMTP server: its result and the ids of the messages it sent."""
    erasure = {"action": "privacy.erasure", "employee_id": "E1", "at": "2026-03-03T09:00:00Z",
               "enrollments_removed": 1}
    producer = KafkaProducer(bootstrap_servers=world.broker)
    try:
        producer.send(world.settings.topic("audit"), key=b"E1", value=json.dumps(erasure).encode())
        for m in messages:
            producer.send(world.settings.topic("outbound.messages"), key=m.employee_id.encode(),
                          value=m.model_dump_json().encode())
        producer.flush()
    finally:
        producer.close()
    with MailServer() as mail:
        done = deliver(world, mail, tmp_path / "ledger.sqlite3")
        assert done.returncode == 0, done.stdout + done.stderr[-2000:]
        return done, sorted(i.strip("<>").split("@")[0] for i in mail.handler.message_ids())

def test_a_digest_that_went_with_a_message_about_a_person_erased_since_is_not_sent_from_the_topic(
        world: KafkaWorld, tmp_path: Path) -> None:
    """README "Erasure": deliver --kafka checked a digest by its own ids (its recipient's) and sent a manager's
    digest holding E1's message after E1's erasure. The digest's record names the messages in it: E5's digest
    (E1's message in it) is held back whole, E6's (nobody erased in it) goes."""
    from tests.servers import NOW, make_message
    from wayfinder.journeys.records import Gathered

    def digest_of(n: int, item: Message) -> tuple[Message, Message]:
        digest_id = f"d-{n:024x}"
        went = item.model_copy(update={"digest_id": digest_id})
        digest = make_message(n, message_id=digest_id, journey_id="digest", step_id="daily",
                              recipient_role="manager", created_at=NOW + timedelta(hours=1),
                              gathered=[Gathered(message_id=went.message_id, employee_id=went.employee_id,
                                                 created_at=went.created_at)])
        return digest, went

    held, about_e1 = digest_of(5, make_message(1, recipient_id="E5", recipient_role="manager"))
    goes, about_e2 = digest_of(6, make_message(2, recipient_id="E6", recipient_role="manager"))
    done, sent = _delivered_after_erasure_of_e1(world, tmp_path, [held, goes, about_e1, about_e2])
    assert sent == [goes.message_id]
    assert re.search(r"erased\s+1", done.stdout), done.stdout
