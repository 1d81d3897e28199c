"""``wayfinder serve --kafka`` on the real broker: the review queue is read from the workers' topics, and a
reviewer's approval made in the web service goes through the decisions topic into the worker, which
dispatches the message (``approved``); a task completed and the stop switch reach their topics too."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from starlette.testclient import TestClient

from tests.real.kafka_world import WAYFINDER, KafkaWorld, kafka_world
from tests.real.test_kafka import eventually
from tests.support import free_port
from wayfinder import examples_dir
from wayfinder.journeys.records import Gathered, Message
from wayfinder.streams.app import load_definitions
from wayfinder.streams.embedded import read_event_file
from wayfinder.web.app import create_app
from wayfinder.web.backend import World
from wayfinder.web.kafka_backend import KafkaBackend
from wayfinder.web.settings import WebSettings

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]
EMPLOYEE = "E1032"  # bereavement (sensitive): HR partner E1006, manager E1009
REVIEWER = "E1003"


@pytest.fixture
def world(kafka_broker: str, tmp_path: Path) -> Iterator[KafkaWorld]:
    yield from kafka_world(kafka_broker, tmp_path, partitions=2)


def _events(folder: Path) -> Path:
    """Every profile of the bundled world and the events of one person, so the worker is quick."""
    path = folder / "events.jsonl"
    lines = [line for line in (examples_dir() / "events.jsonl").read_text(encoding="utf-8").splitlines()
             if '"hris.employee.upserted"' in line or json.loads(line)["subject"] == EMPLOYEE]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found[1]


def _sign_in(client: TestClient, person: str, *roles: str) -> str:
    client.cookies.clear()
    form = {"csrf": _csrf(client.get("/login").text), "person_id": person} | {f"role_{r}": "on" for r in roles}
    assert client.post("/login", data=form).status_code == 303
    return _csrf(client.get("/tasks").text)


def test_an_approval_in_serve_reaches_the_worker_and_the_message_is_dispatched(world: KafkaWorld,
                                                                               tmp_path: Path) -> None:
    events = _events(tmp_path)
    decided_at = max(e.time for e in read_event_file(events).events) + timedelta(days=1)
    world.start_worker()
    world.publish_file(events)
    world.tick(decided_at - timedelta(seconds=1))

    backend = KafkaBackend(world.settings, World(defs=load_definitions(world.settings)), now=lambda: decided_at)
    assert backend.start(timeout=60), "serve did not read the topics to their end"
    assert backend.ready_reasons() == []
    try:
        pending = eventually(lambda: [m for m in backend.store.pending() if m.employee_id == EMPLOYEE], bool)
        assert pending, "the worker's pending review did not reach serve"
        message = pending[0]
        tasks = [t for t in backend.store.tasks.values() if t.employee_id == EMPLOYEE]
        assert tasks, "the worker's task did not reach serve"
        settings = WebSettings(token_secret=SecretStr("token-secret-for-the-tests"),
                               session_secret=SecretStr("session-secret-for-the-tests"), cookie_secure=True)
        app = create_app(settings, backend, registry=CollectorRegistry(), now=lambda: decided_at, dev_login=True)
        with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
            csrf = _sign_in(client, REVIEWER, "reviewer", "operator")
            assert message.message_id in client.get("/review").text
            decided = client.post(f"/review/{message.message_id}/decide", data={"csrf": csrf, "action": "approve"})
            assert decided.status_code == 303
            assert message.message_id not in client.get("/review").text  # decided here, at once
            done = client.post(f"/tasks/{tasks[0].task_id}", data={"csrf": csrf, "action": "complete",
                                                                   "note": "called"})
            assert done.status_code == 303
            paused = client.post("/overview/switch", data={"csrf": csrf, "action": "pause", "journey": "bereavement",
                                                           "reason": "tone review"})
            assert paused.status_code == 303

        on_topic = [json.loads(v or b"{}") for _, v in world.read("decisions")]
        assert sorted((d["type"], d["subject"]) for d in on_topic) == [  # not the switch: it is for delivery
            ("wayfinder.review.decided", EMPLOYEE), ("wayfinder.task.completed", EMPLOYEE)]
        on_topic.sort(key=lambda d: str(d["type"]))
        assert on_topic[0]["data"] == {"message_id": message.message_id, "decision": "approve",
                                       "reviewer_id": REVIEWER}
        control = [json.loads(v or b"{}") for _, v in world.read("control")]
        assert [(c["action"], c["journey_id"], c["operator_id"]) for c in control] == [
            ("pause", "bereavement", REVIEWER)]
        assert set(backend.store.paused()) == {"bereavement"}

        world.tick(decided_at + timedelta(days=3))
        latest = eventually(lambda: world.messages()[0].get(message.message_id, {}),
                            lambda m: m.get("status") == "approved")
        assert (latest["status"], latest["reviewer_id"]) == ("approved", REVIEWER)
        seen = eventually(lambda: backend.store.messages[message.message_id].status, lambda s: s == "approved")
        assert seen == "approved"  # serve follows outbound.messages: the worker's state, read back
    finally:
        backend.close()


def test_what_serve_keeps_of_a_person_erased_since_has_no_content(world: KafkaWorld) -> None:
    """``outbound.messages`` is not rewritten by an erasure, and serve kept every record as it came: a staff page
    showed a sent message's subject, text and address about a person erased since. Now serve follows ``audit``
    too, and keeps such a message (and a digest that went with one) as ``simulate``'s files keep it; a message
    made after the erasure (a rehire) keeps its content."""
    made = datetime(2026, 3, 2, 9, tzinfo=UTC)

    def message(mid: str, about: str, to: str, at: datetime, **more: Any) -> bytes:
        return Message(message_id=mid, employee_id=about, recipient_id=to, journey_id="onboarding", journey_version=1,
                       step_id="welcome", channel="email", status="sent", scheduled_for=at, created_at=at,
                       subject=f"Welcome {about}", text="Dear Jane Roe, welcome.", recipient_email="jane@example.com",
                       recipient_name="Jane Roe", **more).model_dump_json().encode("utf-8")

    digest = message("d-1", "E9100", "E9100", made, recipient_role="manager",
                     gathered=[Gathered(message_id="m-2", employee_id="E9001", created_at=made)])
    world.publish_lines([message("m-1", "E9001", "E9001", made), message("m-3", "E9002", "E9002", made), digest],
                        topic="outbound.messages")
    backend = KafkaBackend(world.settings, World(defs=load_definitions(world.settings)), now=lambda: made)
    assert backend.start(timeout=60), "serve did not read the topics to their end"
    try:
        assert backend.store.messages["m-1"].subject == "Welcome E9001"  # nobody erased yet: as it came
        erasure = {"action": "privacy.erasure", "employee_id": "E9001", "at": "2026-03-05T00:00:00Z"}
        world.publish_lines([json.dumps(erasure).encode("utf-8")], topic="audit")
        world.publish_lines([message("m-4", "E9001", "E9001", made + timedelta(days=10))], topic="outbound.messages")
        kept = eventually(lambda: backend.store.messages, lambda ms: ms["m-1"].subject is None and "m-4" in ms)
        assert (kept["m-1"].text, kept["m-1"].recipient_email, kept["m-1"].status) == (None, None, "sent")
        assert kept["d-1"].content_erased  # a digest that went with a message about them
        assert kept["m-3"].subject == "Welcome E9002"  # someone else's
        assert kept["m-4"].subject == "Welcome E9001"  # made after the erasure: a rehire's, new data
    finally:
        backend.close()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - the test's own server on 127.0.0.1
            return int(answer.status), answer.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8")


def test_serve_answers_healthz_from_start_up_and_nothing_else_until_the_topics_are_read(world: KafkaWorld,
                                                                                        tmp_path: Path) -> None:
    """A restarted ``serve --kafka`` answered nothing while it read the topics (up to 60 s), so a liveness probe
    could kill it in a loop. Now it listens at once: /healthz 200, /readyz 503 with its reason and every page 503
    until the store has read the topics to their end; then /readyz 200 and the whole review queue, never a part.
    The real command, slow to load because its topic holds many pending reviews."""
    made = datetime(2026, 3, 2, 9, tzinfo=UTC)
    count = 40_000
    template = Message(message_id="m-0", employee_id="E0", recipient_id="E0", journey_id="bereavement",
                       journey_version=1, step_id="welcome", channel="email", status="pending_approval",
                       scheduled_for=made, created_at=made, subject="s", text="t" * 200).model_dump()
    producer = KafkaProducer(bootstrap_servers=world.broker, linger_ms=50, batch_size=1 << 20)
    try:
        for n in range(count):
            person = f"E{9000 + n % 500}"
            value = json.dumps(template | {"message_id": f"m-{n:08d}", "employee_id": person, "recipient_id": person},
                               default=str)
            producer.send(world.settings.topic("outbound.messages"), key=person.encode(), value=value.encode())
        producer.flush()
    finally:
        producer.close()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen([WAYFINDER, "serve", "--kafka", "--dev-login", "--port", str(port)], env=world.env(),
                             stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        deadline = time.monotonic() + 60
        while True:  # its first answer
            try:
                health = _get(f"{base}/healthz")
                break
            except OSError:
                assert serve.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.1)
        ready, review, metrics = _get(f"{base}/readyz"), _get(f"{base}/review"), _get(f"{base}/metrics")
        assert health == (200, '{"status":"ok","reasons":[]}')
        assert ready[0] == 503, "serve answered only once it had read the topics"
        assert json.loads(ready[1]) == {"status": "fail", "reasons": ["the Kafka topics are not read to their end yet"]}
        assert review[0] == 503 and "starting" in review[1]
        assert metrics[0] == 503  # no gauge of half the queue
        ready = eventually(lambda: _get(f"{base}/readyz"), lambda r: r[0] == 200, timeout=180)
        assert ready[0] == 200, (tmp_path / "serve.log").read_text()
        assert _get(f"{base}/healthz")[0] == 200
        metrics = _get(f"{base}/metrics")
        assert metrics[0] == 200
        assert f"wayfinder_reviews_pending {float(count)}" in metrics[1]  # the whole queue at its first answer
    finally:
        serve.terminate()
        serve.wait(timeout=30)
