"""Digests in both runners: with a digest policy the embedded runner (simulate) and the worker's stages leave
the same digest boxes, timers and records behind for the bundled events, and ``simulate`` writes the digests."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline.stages import UNTIL, DictTable, Pipeline, bundled_through_stages
from tests.support import read_jsonl
from wayfinder import examples_dir
from wayfinder.cli import main
from wayfinder.journeys.digest import DigestState
from wayfinder.journeys.events import iso
from wayfinder.journeys.loader import Definitions, Sources, load_or_raise
from wayfinder.streams.embedded import EmbeddedRunner, read_event_file
from wayfinder.streams.wire import decode_timer, timer_key

POLICY = """\
apiVersion: wayfinder/v1
kind: Policy
frequency_cap: {max: 3, per: 7d}
quiet_hours: {start: "20:00", end: "08:00", weekends: true}
sensitive_topics: [bereavement, medical, wellbeing]
digests:
  manager: {every: weekly, day: tuesday, at: "10:00"}
"""


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("digest") / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return path


def _defs(policy: Path) -> Definitions:
    ex = examples_dir()
    return load_or_raise(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                                 policy=policy))


@pytest.fixture(scope="module")
def both(policy_file: Path) -> tuple[EmbeddedRunner, Pipeline]:
    defs = _defs(policy_file)
    runner = EmbeddedRunner(defs)
    runner.run(read_event_file(examples_dir() / "events.jsonl").events, UNTIL)
    return runner, bundled_through_stages(defs)


def _latest(records: list[Any], topic: str) -> dict[str, Any]:
    return {json.loads(r.value)["message_id"]: json.loads(r.value) for r in records
            if r.topic == topic and r.value is not None}


def test_both_runners_gather_and_close_the_same_digests(both: tuple[EmbeddedRunner, Pipeline]) -> None:
    runner, p = both
    digests = [m for m in runner.messages.values() if m.journey_id == "digest"]
    assert len(digests) >= 3
    assert all(m.scheduled_for.weekday() == 1 for m in digests)  # Tuesdays
    assert _latest(p.records, "outbound.messages") == {
        mid: json.loads(m.model_dump_json()) for mid, m in runner.messages.items()}
    assert isinstance(p.mailboxes.table, DictTable)
    boxes = {k[2:]: DigestState.model_validate_json(v) for k, v in p.mailboxes.table.items() if k.startswith("g:")}
    assert boxes == runner.digest_boxes
    assert isinstance(p.employees.table, DictTable)
    staged_timers = sorted((iso(due), timer_key(t)) for table in (p.employees.table, p.mailboxes.table)
                           for k, v in table.items() if k.startswith("t:") for t, due in [decode_timer(v)])
    assert staged_timers == sorted((iso(due), timer_key(t)) for due, t in runner.timers())


def test_every_gathered_message_went_inside_a_digest_that_went(both: tuple[EmbeddedRunner, Pipeline]) -> None:
    runner, _ = both
    sent = {m.message_id for m in runner.messages.values() if m.journey_id == "digest" and m.status == "sent"}
    gathered = [m for m in runner.messages.values() if m.digest_id is not None and m.journey_id != "digest"]
    assert gathered and all(m.recipient_role == "manager" for m in gathered)
    assert Counter(m.status for m in gathered if m.digest_id in sent)["sent"] >= len(sent)
    for m in gathered:
        assert m.status in ("sent", "suppressed", "deferred"), m.status
        if m.status == "sent":
            assert m.digest_id in sent


def test_simulate_writes_the_digests_with_a_digest_policy(tmp_path: Path,
                                                          policy_file: Path) -> None:
    out = tmp_path / "out"
    code = main(["simulate", "--events", str(examples_dir() / "events.jsonl"), "--policy", str(policy_file),
                 "--until", "2027-03-01T00:00:00Z", "--out", str(out)])
    assert code == 0
    rows = read_jsonl(out / "messages.jsonl")
    digests = [r for r in rows if r["journey_id"] == "digest"]
    assert digests and all(r["status"] == "sent" and r["text"] for r in digests)
    to_managers = [r for r in rows if r["recipient_role"] == "manager" and r["journey_id"] != "digest"]
    assert to_managers and all(r["digest_id"] for r in to_managers)


def test_the_outbox_holds_the_digests_and_not_the_messages_inside_them(both: tuple[EmbeddedRunner, Pipeline],
                                                                      tmp_path: Path) -> None:
    from wayfinder.connectors.outbox import write_outbox

    runner, _ = both
    write_outbox(runner.messages.values(), tmp_path)
    written = {p.stem for p in (tmp_path / "email").glob("*.eml")}
    digests = {m.message_id for m in runner.messages.values() if m.journey_id == "digest" and m.recipient_email}
    gathered = {m.message_id for m in runner.messages.values() if m.digest_id is not None}
    assert digests and digests <= written
    assert not gathered & written


def _event(n: int, kind: str, subject: str, time: str, data: dict[str, Any]) -> str:
    return json.dumps({"specversion": "1.0", "id": f"t-{n}", "source": "test", "type": kind, "time": time,
                       "subject": subject, "data": data})


def test_simulate_an_erasure_takes_the_person_out_of_the_managers_open_digest(tmp_path: Path,
                                                                             policy_file: Path) -> None:
    def person(pid: str, given: str, manager: str | None) -> dict[str, Any]:
        return {"id": pid, "given_name": given, "family_name": "Doe", "email": f"{pid.lower()}@example.com",
                "manager_id": manager, "timezone": "Europe/Berlin", "locale": "en-GB", "country": "DE",
                "employment_type": "employee", "work_mode": "remote"}

    lines = [
        _event(1, "hris.employee.upserted", "M1", "2026-03-02T08:00:00Z", person("M1", "Mona", None)),
        _event(2, "hris.employee.upserted", "E1", "2026-03-02T09:00:00Z", person("E1", "Quirinus", "M1")),
        _event(3, "hris.employee.hired", "E1", "2026-03-02T09:01:00Z", {
            "start_date": "2026-03-16", "role": "Analyst", "department": "Finance", "location": "Berlin",
            "manager_id": "M1"}),
        _event(4, "hris.employee.upserted", "E2", "2026-03-02T10:00:00Z", person("E2", "Philippa", "M1")),
        _event(5, "hris.employee.hired", "E2", "2026-03-02T10:01:00Z", {
            "start_date": "2026-03-16", "role": "Analyst", "department": "Finance", "location": "Berlin",
            "manager_id": "M1"}),
        _event(6, "privacy.erasure.requested", "E1", "2026-03-02T12:00:00Z", {}),
    ]
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["simulate", "--events", str(events), "--policy", str(policy_file),
                 "--until", "2026-03-12T00:00:00Z", "--out", str(out)]) == 0
    rows = {(r["employee_id"], r["step_id"]): r for r in read_jsonl(out / "messages.jsonl")}
    erased = rows[("E1", "manager-heads-up")]
    assert (erased["status"], erased["reason"], erased["subject"], erased["text"]) == (
        "suppressed", "erased", None, None)
    kept = rows[("E2", "manager-heads-up")]
    digest = next(r for r in rows.values() if r["journey_id"] == "digest")
    assert kept["status"] == "sent" and kept["digest_id"] == digest["message_id"]
    assert digest["scheduled_for"] == "2026-03-03T09:00:00Z"  # the next Tuesday, 10:00 in Berlin
    assert "Philippa" in digest["text"] and "Quirinus" not in digest["text"]


def test_a_digest_template_that_does_not_greet_by_name_leaves_the_name_out_of_every_record(
        tmp_path: Path) -> None:
    """Data minimisation (SPEC §3), found by an audit on 2026-12-04: every message gathered for a digest, and the
    digest, carried the recipient's name even when the digest's template never printed it."""
    templates = tmp_path / "templates"
    for source in (examples_dir() / "templates").rglob("*.yaml"):
        target = templates / source.relative_to(examples_dir() / "templates")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
    (templates / "digest" / "plain.yaml").write_text(
        'apiVersion: wayfinder/v1\nkind: Template\nsubject: "{{ count }} updates"\n'
        'text: "{% for item in items %}- {{ item.subject }}\\n{% endfor %}"\n', encoding="utf-8")
    runs = {}
    for name, template in (("plain", "digest/plain"), ("bundled", "digest/summary")):
        policy = tmp_path / f"{name}.yaml"
        rule = f'day: tuesday, at: "10:00", template: {template}'
        policy.write_text(POLICY.replace('day: tuesday, at: "10:00"', rule), encoding="utf-8")
        out = tmp_path / name
        ex = examples_dir()
        assert main(["simulate", "--events", str(ex / "events.jsonl"), "--journeys", str(ex / "journeys"),
                     "--templates", str(templates), "--policy", str(policy), "--until", UNTIL.isoformat(),
                     "--out", str(out)]) == 0
        runs[name] = read_jsonl(out / "messages.jsonl")
    gathered = [m for m in runs["plain"] if m["digest_id"] is not None or m["journey_id"] == "digest"]
    assert len(gathered) >= 6
    assert [m["message_id"] for m in runs["plain"] if m["recipient_name"] is not None] == []
    named = [m for m in runs["bundled"] if m["recipient_name"] is not None]
    assert named and all(m["digest_id"] is not None or m["journey_id"] == "digest" for m in named)
