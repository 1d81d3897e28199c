"""The webhook intake over real HTTP (uvicorn, httpx) in its embedded mode: events appended to a file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.real.hris_intake_server import (
    NEW_HIRE,
    NEW_MANAGER,
    SECRETS,
    bamboohr_body,
    bamboohr_headers,
    intake_process,
    personio_headers,
    post,
    post_bamboohr,
    serve,
)
from tests.support import free_port, read_jsonl
from wayfinder.hris.sinks import FileSink
from wayfinder.journeys.events import decode_event


def test_signed_bamboohr_webhook_becomes_events(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    with serve(FileSink(out)) as url:
        r = post_bamboohr(url, bamboohr_body(NEW_HIRE, NEW_MANAGER))
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 4, "duplicates": 0, "rejected": []}
    events = read_jsonl(out)
    assert [(e["subject"], e["type"], e["time"], e["data"]) for e in events] == [
        ("201", "hris.employee.upserted", "2026-03-02T09:15:00Z", {
            "country": "US", "department": "Finance", "email": "ivy.ito@example.com", "employment_type": "employee",
            "family_name": "Ito", "given_name": "Ivy", "location": "Denver, CO", "manager_id": "140",
            "role": "Analyst", "start_date": "2026-03-16"}),
        ("201", "hris.employee.hired", "2026-03-02T09:15:00Z", {
            "start_date": "2026-03-16", "role": "Analyst", "department": "Finance", "location": "Denver, CO",
            "manager_id": "140"}),
        ("101", "hris.employee.upserted", "2026-03-02T10:00:00Z", {"manager_id": "150"}),
        ("101", "hris.manager.changed", "2026-03-02T10:00:00Z", {"old_manager_id": None, "new_manager_id": "150"}),
    ]
    assert {e["source"] for e in events} == {"hris/bamboohr"}
    for e in events:
        decode_event(json.dumps(e))


def test_bad_signatures_and_stale_timestamps_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    body = bamboohr_body(NEW_HIRE)
    with serve(FileSink(out)) as url:
        wrong = post_bamboohr(url, body, secret=SECRETS["wrong"])
        stale = post_bamboohr(url, body, at=time.time() - 3600)
        bare = post(f"{url}/webhooks/bamboohr", body, {"content-type": "application/json"})
        tampered_headers = bamboohr_headers(body)
        tampered = post(f"{url}/webhooks/bamboohr", body.replace(b"Analyst", b"Director"), tampered_headers)
    assert [r.status_code for r in (wrong, stale, bare, tampered)] == [401, 401, 401, 401]
    assert "X-BambooHR-Signature does not match" in wrong.json()["error"]
    assert "more than 300s away from our clock" in stale.json()["error"]
    assert bare.json()["error"] == "missing X-BambooHR-Timestamp header"
    assert not out.exists()


def test_a_replayed_delivery_produces_nothing_twice(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    body = bamboohr_body(NEW_HIRE)
    with serve(FileSink(out)) as url:
        first = post_bamboohr(url, body)
        again = post_bamboohr(url, body, at=time.time() + 1)
    assert first.json()["accepted"] == 2
    assert again.status_code == 200
    assert again.json() == {"accepted": 0, "duplicates": 2, "rejected": []}
    assert len(read_jsonl(out)) == 2


def test_personio_webhook_and_rejected_items(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    attributes = {"status": "inactive", "termination_date": "2026-03-31"}
    left = json.dumps({"id": "evt-1", "type": "employee.updated", "created_at": "2026-03-02T08:00:00+01:00",
                       "data": {"employee_id": 77, "attributes": attributes,
                                "changed_attributes": ["status", "termination_date"]}}).encode()
    unreadable = json.dumps({"id": "evt-2", "type": "employee.created", "created_at": "2026-03-02T08:00:00Z",
                             "data": {"employee_id": 78, "attributes": {"hire_date": "1 April"}}}).encode()
    with serve(FileSink(out)) as url:
        r = post(f"{url}/webhooks/personio", left, personio_headers(left))
        bad = post(f"{url}/webhooks/personio", unreadable, personio_headers(unreadable))
        wrong = post(f"{url}/webhooks/personio", left, personio_headers(left, secret=SECRETS["bamboohr"]))
    assert r.status_code == 200 and r.json()["accepted"] == 1
    assert [(e["subject"], e["type"], e["time"], e["data"]) for e in read_jsonl(out)] == [
        ("77", "hris.employee.terminated", "2026-03-02T07:00:00Z", {"date": "2026-03-31", "reason": None})]
    assert bad.status_code == 200
    assert bad.json()["rejected"] == [{"item": 0, "employee_id": "78", "code": "bad_value",
                                       "reason": "column hire_date (start_date): matches none of the date formats "
                                                 "%Y-%m-%d; add one under dates"}]
    assert wrong.status_code == 401


def test_an_item_that_cannot_be_read_is_rejected_alone_and_the_delivery_goes(tmp_path: Path) -> None:
    """A delivery with a good item and one with no employee id: 200, the good one's events written, the bad one
    listed as rejected (it was a 400 for the whole delivery, and the good item was lost)."""
    out = tmp_path / "events.jsonl"
    with serve(FileSink(out)) as url:
        r = post_bamboohr(url, bamboohr_body({"action": "Updated", "fields": {}}, NEW_MANAGER))
    assert r.status_code == 200, r.text
    assert r.json()["rejected"] == [{"item": 0, "employee_id": None, "code": "no_employee_id",
                                     "reason": "employees[0]: no employee id"}]
    assert r.json()["accepted"] == 2
    assert {(e["subject"], e["type"]) for e in read_jsonl(out)} == {
        ("101", "hris.employee.upserted"), ("101", "hris.manager.changed")}


def test_rate_limit_unknown_system_and_bad_json(tmp_path: Path) -> None:
    body = b"{not json"
    with serve(FileSink(tmp_path / "events.jsonl"), burst=2, rate_per_second=0.05) as url:
        unknown = post(f"{url}/webhooks/workday", body, {})
        statuses = [post_bamboohr(url, body) for _ in range(3)]
    assert unknown.status_code == 404
    assert [r.status_code for r in statuses] == [400, 400, 429]  # a burst of 2, then 1 every 20 s
    assert statuses[0].json() == {"error": "the body is not JSON"}
    assert 1 <= int(statuses[2].headers["retry-after"]) <= 20


def test_the_intake_command_in_embedded_mode(tmp_path: Path) -> None:
    out, port = tmp_path / "events.jsonl", free_port()
    with intake_process(port, "--out", str(out)) as url:
        health = httpx.get(f"{url}/healthz", timeout=2)
        assert health.json() == {"status": "ok", "webhooks": ["bamboohr"]}
        ready = httpx.get(f"{url}/readyz", timeout=5)
        assert (ready.status_code, ready.json()) == (200, {"status": "ok", "reasons": []})
        body = bamboohr_body(NEW_MANAGER)
        assert post_bamboohr(url, body).status_code == 200
        assert [e["type"] for e in read_jsonl(out)] == ["hris.employee.upserted", "hris.manager.changed"]
        personio = post(f"{url}/webhooks/personio", body, personio_headers(body))
        assert personio.status_code == 404
        families = {f.name: f for f in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=2).text)}
    [info] = families["wayfinder_build_info"].samples
    assert info.labels["role"] == "intake"
    assert "process_start_time_seconds" in families
    answered = {(s.labels["system"], s.labels["status"]): s.value for s in families["wayfinder_intake_requests"].samples
                if s.name.endswith("_total") and s.value}
    assert answered == {("bamboohr", "200"): 1, ("other", "404"): 1}


def test_personio_documented_envelope_over_http(tmp_path: Path) -> None:
    """The fixture in Personio's documented envelope (event_name, occurred_at, payload), signed as we assume,
    becomes events; a dataless notification (ids only) is rejected per item and produces nothing."""
    out = tmp_path / "events.jsonl"
    body = (Path(__file__).parents[1] / "data" / "hris" / "personio-webhook-person-updated.json").read_bytes()
    dataless = json.dumps({"company_id": "4711", "event_name": "person.updated",
                           "occurred_at": "2026-03-02T09:00:00Z", "payload": {"id": "6"}}).encode()
    with serve(FileSink(out)) as url:
        r = post(f"{url}/webhooks/personio", body, personio_headers(body))
        empty = post(f"{url}/webhooks/personio", dataless, personio_headers(dataless))
    assert r.status_code == 200, r.text
    assert [(e["subject"], e["type"], e["time"]) for e in read_jsonl(out)] == [
        ("5", "hris.employee.upserted", "2026-03-02T08:00:00Z"), ("5", "hris.job.changed", "2026-03-02T08:00:00Z"),
        ("5", "hris.leave.started", "2026-03-02T08:00:00Z")]
    assert empty.status_code == 200
    assert empty.json()["accepted"] == 0
    assert "dataless notification" in empty.json()["rejected"][0]["reason"]
