"""``wayfinder intake``'s ``/metrics``: each family moves as it should, in process (Starlette's TestClient), on a
fake clock and a fake sink."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from starlette.testclient import TestClient

from tests.support import TESTS
from wayfinder.hris.intake import IntakeConfig, IntakeSettings, create_app
from wayfinder.hris.mapping import load_mapping
from wayfinder.hris.metrics import STATUSES
from wayfinder.hris.sinks import SinkUnavailable
from wayfinder.hris.webhooks import REJECT_CODES, sign_bamboohr, sign_personio

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRETS = {"bamboohr": "bamboo-test-key", "personio": "personio-test-key", "wrong": "not-the-key"}
MAPPINGS = {"bamboohr": TESTS / "data" / "hris" / "bamboohr-mapping.yaml",
            "personio": TESTS / "data" / "hris" / "personio-webhook-mapping.yaml"}
ACK_SECONDS = 0.2  # what the fake sink takes to store a delivery, on the fake monotonic clock
NEW_HIRE = {"id": "201", "action": "Created", "timestamp": "2026-03-02T08:15:00Z",
            "fields": {"First Name": "Ivy", "Last Name": "Ito", "Work Email": "ivy.ito@example.com",
                       "Status": "Active", "Employment Status": "Full-Time", "Hire Date": "03/16/2026",
                       "Job Title": "Analyst", "Department": "Finance", "Location": "Denver, CO",
                       "Country": "United States", "Supervisor EID": "140"}}
NEW_MANAGER = {"id": "101", "action": "Updated", "timestamp": "2026-03-02T08:30:00Z",
               "fields": {"Supervisor EID": "150"}, "changedFields": ["Supervisor EID"]}
# One item for each reason code, in REJECT_CODES' order
REJECTED_ITEMS: list[dict[str, Any]] = [
    {"action": "Updated", "fields": {"Job Title": "Lead"}},
    {"id": {"a": 1}, "action": "Updated", "fields": {"Job Title": "Lead"}},
    {"id": "2", "action": "Updated", "fields": "x"},
    {"id": "3", "action": "Merged", "fields": {"Job Title": "Lead"}},
    {"id": "4", "action": "Updated", "timestamp": "yesterday", "fields": {"Job Title": "Lead"}},
    {"id": "5", "action": "Updated", "fields": {}},
    {"id": "6", "action": "Created", "fields": {"First Name": "Bo", "Hire Date": "March 16"}},
]


class FakeSink:
    """Stores what it is given, taking ACK_SECONDS of the fake monotonic clock; ``failure`` makes it raise."""

    def __init__(self, now: list[float]) -> None:
        self.now = now
        self.events: list[dict[str, Any]] = []
        self.failure: Exception | None = None
        self.why: str | None = None  # what ``unready`` says

    def unready(self) -> str | None:
        return self.why

    def produce(self, events: list[dict[str, Any]]) -> None:
        self.now[0] += ACK_SECONDS
        if self.failure is not None:
            raise self.failure
        self.events.extend(events)

    def close(self) -> None:
        return None


class Intake:
    def __init__(self, client: TestClient, registry: CollectorRegistry, sink: FakeSink) -> None:
        self.client, self.registry, self.sink = client, registry, sink

    def value(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, labels)

    def requests(self, system: str, status: int) -> float | None:
        return self.value("wayfinder_intake_requests_total", system=system, status=str(status))

    def events(self, event_type: str) -> float | None:
        return self.value("wayfinder_intake_events_total", system="bamboohr", type=event_type)

    def acks(self) -> float | None:
        return self.value("wayfinder_intake_ack_seconds_count", system="bamboohr")

    def bamboohr(self, *employees: dict[str, Any], secret: str = SECRETS["bamboohr"], at: datetime = NOW) -> Any:
        body = json.dumps({"employees": list(employees)}).encode()
        stamp = str(int(at.timestamp()))
        headers = {"content-type": "application/json", "x-bamboohr-timestamp": stamp,
                   "x-bamboohr-signature": sign_bamboohr(secret, body, stamp)}
        return self.client.post("/webhooks/bamboohr", content=body, headers=headers)


def _intake(systems: tuple[str, ...], **settings: Any) -> Iterator[Intake]:
    now = [100.0]
    sink = FakeSink(now)
    registry = CollectorRegistry()
    values: dict[str, Any] = {"bamboohr_secret": SecretStr(SECRETS["bamboohr"]),
                              "personio_secret": SecretStr(SECRETS["personio"]), **settings}
    config = IntakeConfig({s: load_mapping(MAPPINGS[s]) for s in systems}, IntakeSettings(**values))
    app = create_app(config, sink, clock=lambda: NOW, monotonic=lambda: now[0], registry=registry)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Intake(client, registry, sink)


@pytest.fixture
def intake() -> Iterator[Intake]:
    yield from _intake(("bamboohr", "personio"))


def test_an_accepted_delivery_counts_its_answer_its_events_by_type_and_the_time_to_the_acknowledgement(
        intake: Intake) -> None:
    assert intake.requests("bamboohr", 200) == 0 and intake.acks() == 0  # there from the start
    r = intake.bamboohr(NEW_HIRE, NEW_MANAGER)
    assert r.status_code == 200 and r.json()["accepted"] == 4
    assert intake.requests("bamboohr", 200) == 1
    assert {t: intake.events(t) for t in ("hris.employee.upserted", "hris.employee.hired",
                                          "hris.manager.changed")} == {"hris.employee.upserted": 2,
                                                                       "hris.employee.hired": 1,
                                                                       "hris.manager.changed": 1}
    assert intake.acks() == 1
    assert intake.value("wayfinder_intake_ack_seconds_sum", system="bamboohr") == pytest.approx(ACK_SECONDS)
    assert intake.value("wayfinder_intake_ack_seconds_bucket", system="bamboohr", le="0.1") == 0
    assert intake.value("wayfinder_intake_ack_seconds_bucket", system="bamboohr", le="0.25") == 1
    assert intake.value("wayfinder_intake_duplicates_total", system="bamboohr") == 0
    assert intake.requests("personio", 200) == 0


def test_a_bad_signature_is_a_401_that_produces_and_times_nothing(intake: Intake) -> None:
    r = intake.bamboohr(NEW_HIRE, secret=SECRETS["wrong"])
    assert r.status_code == 401
    assert intake.requests("bamboohr", 401) == 1 and intake.requests("bamboohr", 200) == 0
    assert intake.events("hris.employee.hired") is None and intake.acks() == 0
    assert intake.bamboohr(NEW_HIRE, at=datetime(2026, 3, 2, 8, tzinfo=UTC)).status_code == 401  # stale
    assert intake.requests("bamboohr", 401) == 2


def test_a_rate_limited_sender_is_counted_as_429() -> None:
    for intake in _intake(("bamboohr",), burst=1, rate_per_second=0.01):
        assert [intake.bamboohr(NEW_MANAGER).status_code for _ in range(3)] == [200, 429, 429]
        assert intake.requests("bamboohr", 429) == 2 and intake.requests("bamboohr", 200) == 1
        assert intake.events("hris.manager.changed") == 1


def test_a_sink_that_does_not_acknowledge_is_a_503_with_no_event_counted_then_the_retry_is(intake: Intake) -> None:
    intake.sink.failure = SinkUnavailable("Kafka did not acknowledge the events (KafkaTimeoutError)")
    failed = intake.bamboohr(NEW_HIRE, {"id": "9", "action": "Merged", "fields": {"x": 1}})
    assert failed.status_code == 503
    assert intake.requests("bamboohr", 503) == 1
    assert intake.events("hris.employee.hired") is None and intake.acks() == 0
    assert intake.value("wayfinder_intake_items_rejected_total", system="bamboohr", reason="unknown_action") == 0
    intake.sink.failure = None
    retried = intake.bamboohr(NEW_HIRE, {"id": "9", "action": "Merged", "fields": {"x": 1}})
    assert retried.status_code == 200
    assert intake.events("hris.employee.hired") == 1 and intake.acks() == 1
    assert intake.value("wayfinder_intake_items_rejected_total", system="bamboohr", reason="unknown_action") == 1


def test_a_delivery_that_raises_is_counted_as_500(intake: Intake) -> None:
    intake.sink.failure = RuntimeError("a bug")
    assert intake.bamboohr(NEW_HIRE).status_code == 500
    assert intake.requests("bamboohr", 500) == 1 and intake.acks() == 0


def test_each_rejected_item_is_counted_by_its_reason_code(intake: Intake) -> None:
    r = intake.bamboohr(*REJECTED_ITEMS, NEW_MANAGER)
    assert r.status_code == 200
    assert [item["item"] for item in r.json()["rejected"]] == list(range(len(REJECTED_ITEMS)))
    assert r.json()["rejected"][0] == {"item": 0, "employee_id": None, "code": "no_employee_id",
                                       "reason": "employees[0]: no employee id"}
    # each item's code in the answer, as the metric counts it (since 2026-12-05; the sender had the text only)
    assert sorted(item["code"] for item in r.json()["rejected"]) == sorted(REJECT_CODES)
    assert {code: intake.value("wayfinder_intake_items_rejected_total", system="bamboohr", reason=code)
            for code in REJECT_CODES} == dict.fromkeys(REJECT_CODES, 1)
    assert intake.events("hris.manager.changed") == 1  # the good item still went


def test_a_dataless_personio_notification_is_rejected_as_dataless(intake: Intake) -> None:
    body = json.dumps({"company_id": "1", "event_name": "person.updated", "occurred_at": "2026-03-02T08:00:00Z",
                       "payload": {"id": "6"}}).encode()
    stamp = str(int(NOW.timestamp()))
    r = intake.client.post("/webhooks/personio", content=body, headers={
        "x-personio-timestamp": stamp, "x-personio-signature": sign_personio(SECRETS["personio"], body, stamp)})
    assert r.status_code == 200 and r.json()["accepted"] == 0
    assert intake.value("wayfinder_intake_items_rejected_total", system="personio", reason="dataless") == 1
    assert intake.requests("personio", 200) == 1 and intake.requests("bamboohr", 200) == 0


def test_a_replay_counts_duplicates_and_no_event_twice(intake: Intake) -> None:
    first = intake.bamboohr(NEW_HIRE)
    again = intake.bamboohr(NEW_HIRE, at=NOW.replace(second=30))
    assert (first.json()["accepted"], again.json()["duplicates"]) == (2, 2)
    assert intake.requests("bamboohr", 200) == 2
    assert intake.value("wayfinder_intake_duplicates_total", system="bamboohr") == 2
    assert intake.events("hris.employee.hired") == 1 and intake.acks() == 1  # the replay reached no sink


def test_an_unknown_or_unconfigured_system_is_404_under_other_and_makes_no_label_of_its_own() -> None:
    for intake in _intake(("bamboohr",)):
        for path in ("workday", "personio", "Ada%20Lovelace"):
            assert intake.client.post(f"/webhooks/{path}", content=b"{}").status_code == 404
        assert intake.requests("other", 404) == 3
        text = intake.client.get("/metrics").text
        systems = {s.labels["system"] for f in text_string_to_metric_families(text) for s in f.samples
                   if "system" in s.labels}
        assert systems == {"bamboohr", "other"}


def test_the_metrics_text_parses_and_carries_no_id_or_personal_data(intake: Intake) -> None:
    intake.bamboohr(NEW_HIRE, *REJECTED_ITEMS)
    intake.bamboohr(NEW_HIRE, secret=SECRETS["wrong"])
    r = intake.client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    assert {name: families[name].type for name in (
        "wayfinder_intake_requests", "wayfinder_intake_events", "wayfinder_intake_items_rejected",
        "wayfinder_intake_duplicates", "wayfinder_intake_ack_seconds")} == {
        "wayfinder_intake_requests": "counter", "wayfinder_intake_events": "counter",
        "wayfinder_intake_items_rejected": "counter", "wayfinder_intake_duplicates": "counter",
        "wayfinder_intake_ack_seconds": "histogram"}
    labels = {(k, v) for f in families.values() if f.name.startswith("wayfinder_intake_") for s in f.samples
              for k, v in s.labels.items() if k != "le"}
    assert {v for k, v in labels if k == "system"} == {"bamboohr", "personio", "other"}
    assert {v for k, v in labels if k == "status"} == {str(s) for s in STATUSES} | {"404"}
    assert {v for k, v in labels if k == "reason"} == set(REJECT_CODES)
    assert {v for k, v in labels if k == "type"} == {"hris.employee.upserted", "hris.employee.hired"}
    assert not any(word in r.text for word in ("Ivy", "Ito", "example.com", "Finance", "Denver"))
