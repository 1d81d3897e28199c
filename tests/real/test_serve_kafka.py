"""``wayfinder serve --kafka`` on the real broker: the review queue is read from the workers' topics, and a
reviewer's approval made in the web service goes through the decisions topic into the worker, which
dispatches the message (``approved``); a task completed and the stop switch reach their topics too."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from starlette.testclient import TestClient

from tests.real.kafka_world import KafkaWorld, kafka_world
from tests.real.test_kafka import eventually
from wayfinder import examples_dir
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
