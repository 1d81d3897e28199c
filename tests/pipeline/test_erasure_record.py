"""After an erasure, the erased-id record refuses the person's events in both runners (README "Erasure"): a
replay of their old events, or a newer one, is a dead letter (``erased_subject``, raw input redacted) with no
profile and no message; a hire after the erasure re-creates the person; the record survives a restart."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline.stages import UNTIL, DictTable, Pipeline
from tests.support import WriteFiles
from wayfinder.journeys.events import CloudEvent, decode_event
from wayfinder.journeys.records import ERASED_INPUT
from wayfinder.journeys.state import EmployeeState
from wayfinder.streams.app import load_definitions
from wayfinder.streams.embedded import EmbeddedRunner
from wayfinder.streams.settings import WorkerSettings

PERSON = "E9"
NAME, EMAIL = "Ottoline", "ottoline.q@example.com"


def _event(eid: str, kind: str, time: str, subject: str = PERSON, **data: Any) -> bytes:
    return json.dumps({"specversion": "1.0", "id": eid, "source": "hris/test", "type": kind, "time": time,
                       "subject": subject, "data": data}).encode()


MANAGER = _event("m1", "hris.employee.upserted", "2026-01-01T09:00:00Z", "E1", id="E1", given_name="Mara",
                 email="mara@example.com", timezone="Europe/Berlin", country="DE")
UPSERT = _event("p1", "hris.employee.upserted", "2026-01-02T09:00:00Z", id=PERSON, given_name=NAME, family_name="Q",
                email=EMAIL,
                timezone="Europe/Berlin", country="DE", manager_id="E1", employment_type="employee")
HIRED = _event("h1", "hris.employee.hired", "2026-01-03T09:00:00Z", start_date="2026-02-02", role="Engineer",
               department="Engineering", location="Berlin", manager_id="E1")
ERASURE = _event("x1", "privacy.erasure.requested", "2026-01-10T09:00:00Z")
BEFORE = [MANAGER, UPSERT, HIRED]
# what comes after the erasure: the old events replayed as they were, an old one with a new id, newer ones
REPLAYS = [UPSERT, HIRED, _event("p2", "hris.employee.upserted", "2026-01-05T09:00:00Z", given_name=NAME),
           _event("p3", "hris.employee.upserted", "2026-01-20T09:00:00Z", email=EMAIL),
           _event("o1", "engagement.message.opened", "2026-01-21T09:00:00Z", message_id="m-1", resource_id="r")]
REHIRE = _event("h2", "hris.employee.hired", "2026-03-02T09:00:00Z", start_date="2026-03-16", role="Engineer",
                department="Engineering", location="Berlin", manager_id="E1")


def _events(*lines: bytes) -> list[CloudEvent]:
    return [decode_event(line) for line in lines]


def _runner() -> EmbeddedRunner:
    return EmbeddedRunner(load_definitions(WorkerSettings(store="memory", clock="event")))


def _through(p: Pipeline, *lines: bytes) -> None:
    for line in lines:
        event = decode_event(line)
        p.tick(event.time)
        p.feed(p.employees, "hris", event.subject.encode(), line)
        p.drain()


def _letters(p: Pipeline) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in p.records if r.topic == "dead-letters" and r.value is not None]


def _messages_about(p: Pipeline) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in p.records if r.topic == "outbound.messages" and r.value is not None
            and json.loads(r.value)["employee_id"] == PERSON]


def _record() -> EmployeeState:
    """The erased-id record: the id, the erasure's time and the erasure's own key (a second copy is a duplicate)."""
    record = EmployeeState.erased_record(PERSON, decode_event(ERASURE).time)
    record.seen = {"hris/test\x1fx1": decode_event(ERASURE).time}
    return record


def _owners(runner: EmbeddedRunner) -> set[str | None]:
    return {getattr(t, "employee_id", None) or getattr(t, "recipient_id", None) for _, t in runner.timers()}


def test_the_embedded_runner_refuses_every_event_of_an_erased_person_and_keeps_only_the_record() -> None:
    runner = _runner()
    runner.run(_events(*BEFORE))
    assert PERSON in _owners(runner)  # the hire's journey waits
    runner.run(_events(ERASURE))
    assert PERSON not in _owners(runner)
    about = {mid for mid, m in runner.messages.items() if m.employee_id == PERSON}
    runner.run(_events(*REPLAYS), UNTIL)
    assert [d.reason for d in runner.dead_letters] == ["erased_subject"] * len(REPLAYS)
    assert {d.raw for d in runner.dead_letters} == {ERASED_INPUT}
    assert PERSON not in runner.states
    assert runner.erased[PERSON] == _record()
    assert {mid for mid, m in runner.messages.items() if m.employee_id == PERSON} == about  # nothing new


@pytest.mark.parametrize("runner_kind", ["embedded", "stages"])
def test_an_erasure_written_with_null_data_forgets_the_person(runner_kind: str) -> None:
    # SPEC §2: the erasure type has no data; ``"data": null`` was a dead letter and the person stayed
    null_data = json.dumps({**json.loads(ERASURE), "data": None}).encode()
    if runner_kind == "embedded":
        runner = _runner()
        runner.run(_events(*BEFORE, null_data))
        assert PERSON not in runner.states and runner.erased[PERSON] == _record()
        assert runner.dead_letters == []
    else:
        table = DictTable()
        p = Pipeline(table)
        _through(p, *BEFORE, null_data)
        assert EmployeeState.model_validate_json(table[f"s:{PERSON}"]) == _record()
        assert _letters(p) == []


@pytest.mark.parametrize("runner_kind", ["embedded", "stages"])
def test_an_erasure_empties_the_expressions_result_caches(runner_kind: str) -> None:
    # Their keys are the fields an expression read: a condition on a name kept the name after the erasure.
    from wayfinder.expressions import Expr

    on_name = Expr(f'employee.given_name == "{NAME}"')
    assert on_name.test({"employee": {"given_name": NAME}}) == (True, None)
    assert any(NAME in key for key in on_name._cache)
    if runner_kind == "embedded":
        _runner().run(_events(*BEFORE, ERASURE))
    else:
        _through(Pipeline(), *BEFORE, ERASURE)
    assert on_name._cache == {}


def test_the_same_erasure_in_the_worker_stages_refuses_replays_after_a_restart_with_tombstones() -> None:
    employees, mailboxes = DictTable(), DictTable()
    p = Pipeline(employees, mailboxes)
    _through(p, *BEFORE)
    assert any(k.startswith("t:") and PERSON in k for k in employees)  # the hire's journey waits
    _through(p, ERASURE)
    assert EmployeeState.model_validate_json(employees[f"s:{PERSON}"]) == _record()
    assert [k for t in (employees, mailboxes) for k in t if PERSON in k] == [f"s:{PERSON}"]
    deleted = {r.key for r in p.records if r.topic == "directory" and r.value is None}
    assert PERSON in deleted
    sent_before = len(_messages_about(p))
    restarted = Pipeline(employees, mailboxes)  # a worker restart: the tables come back from their changelogs
    restarted.offset = p.offset  # the input topic goes on where it was
    _through(restarted, *REPLAYS)
    restarted.tick(UNTIL)
    letters = _letters(restarted)
    assert [d["reason"] for d in letters] == ["erased_subject"] * len(REPLAYS)
    counted = [s for m in restarted.employees.metrics.events.collect() for s in m.samples]
    refused = sum(s.value for s in counted if s.name.endswith("_total") and s.labels["outcome"] == "dead_letter")
    assert refused == len(REPLAYS)  # counted as dead letters, not as processed
    assert {d["raw"] for d in letters} == {ERASED_INPUT}
    assert _messages_about(restarted) == [] and len(_messages_about(p)) == sent_before
    assert not [r for r in restarted.records if r.topic == "directory" and r.key == PERSON and r.value]
    kept = b"".join(v for t in (employees, mailboxes) for v in t.values())
    assert NAME.encode() not in kept and EMAIL.encode() not in kept


@pytest.mark.parametrize("runner_kind", ["embedded", "stages"])
def test_a_hire_after_the_erasure_re_creates_the_person_and_old_events_stay_refused(runner_kind: str) -> None:
    old = _event("p4", "hris.employee.upserted", "2026-01-08T09:00:00Z", given_name=NAME)
    lines = [*BEFORE, ERASURE, REHIRE, old]
    if runner_kind == "embedded":
        runner = _runner()
        runner.run(_events(*lines[:-1]))
        runner.run(_events(old), UNTIL)  # after the rehire, though older: ``run`` would put it first
        state, reasons = runner.states[PERSON], [d.reason for d in runner.dead_letters]
    else:
        table = DictTable()
        p = Pipeline(table)
        _through(p, *lines)
        state = EmployeeState.model_validate_json(table[f"s:{PERSON}"])
        reasons = [d["reason"] for d in _letters(p)]
    assert not state.forgotten and state.erased_at == decode_event(ERASURE).time
    assert state.profile.fields.get("role") == "Engineer" and "given_name" not in state.profile.fields
    assert reasons == ["erased_subject"]


def test_an_erasure_removes_the_bytes_of_a_dead_letter_about_the_person_too() -> None:
    from wayfinder.journeys.records import ERASED_INPUT, DeadLetter
    from wayfinder.safety.erasure import redact_dead_letters

    line = b'{"subject": "E7", "time": "2026-03-01T09:00:00Z", "data": {"note": "\xff private"}'
    letter = DeadLetter.of("invalid_json: ...", line, datetime(2026, 3, 1, 9, tzinfo=UTC), source="events", line=3)
    assert letter.raw_base64 is not None
    audit = [{"action": "privacy.erasure", "employee_id": "E7", "at": "2026-04-01T00:00:00Z"}]
    [redacted] = redact_dead_letters([letter], audit)
    assert (redacted.raw, redacted.raw_base64) == (ERASED_INPUT, None)
    assert "raw_base64" not in redacted.model_dump(mode="json")


def test_a_dead_letter_nested_past_the_parsers_depth_is_read_as_text_when_someone_is_erased() -> None:
    # simulate's end-of-run redaction parsed each dead letter again: RecursionError, and the run lost its tasks,
    # dead letters and audit files to one bad line (found by an audit of issue 11)
    from wayfinder.journeys.records import DeadLetter
    from wayfinder.safety.erasure import redact_dead_letters

    deep = b'{"subject": "E7", "time": "2026-03-01T09:00:00Z", "data": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    other = deep.replace(b'"E7"', b'"E8"')
    letters = [DeadLetter.of("invalid_json: ...", raw, datetime(2026, 3, 1, 9, tzinfo=UTC), source="events", line=n)
               for n, raw in enumerate((deep, other))]
    audit = [{"action": "privacy.erasure", "employee_id": "E7", "at": "2026-04-01T00:00:00Z"}]
    redacted = redact_dead_letters(letters, audit)
    assert [letter.raw == ERASED_INPUT for letter in redacted] == [True, False]


def test_simulate_files_keep_nothing_of_a_person_erased_after_their_messages_were_sent(tmp_path: Path) -> None:
    """Issue 11 asked for erasure of sent messages' content too: simulate wrote a sent message at once and never
    again, so the manager's heads-up ("<name> joins your team") and the person's own emails kept their name and
    address after the erasure, in messages.jsonl and the outbox (an audit of SPEC §9). The records stay (their
    ids, status and times: what happened), their content goes; other people's lines are untouched."""
    from wayfinder.cli import main

    boss = _event("b1", "hris.employee.upserted", "2026-01-01T07:00:00Z", "E2", id="E2", given_name="Gregor",
                  email="gregor@example.com", timezone="Europe/Berlin", country="DE", locale="en-GB",
                  employment_type="employee", job_level="M1")
    person = _event("p1", "hris.employee.upserted", "2026-01-01T07:00:00Z", id=PERSON, given_name=NAME,
                    family_name="Q", email=EMAIL, timezone="Europe/Berlin", country="DE", locale="en-GB",
                    employment_type="employee", manager_id="E8", role="Engineer", job_level="IC2")
    moved = _event("c1", "hris.manager.changed", "2026-01-02T10:00:00Z", old_manager_id="E8", new_manager_id="E2")
    lines = tmp_path / "before.jsonl"
    lines.write_bytes(b"\n".join([boss, person, moved]) + b"\n")
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join([boss, person, moved, ERASURE]) + b"\n")
    before = tmp_path / "before"
    assert main(["simulate", "--events", str(lines), "--until", decode_event(ERASURE).time.isoformat(), "--out",
                 str(before)]) == 0
    sent = [json.loads(line) for line in (before / "messages.jsonl").read_text(encoding="utf-8").splitlines()]
    about = {m["message_id"] for m in sent if PERSON in (m["employee_id"], m["recipient_id"]) and m["text"]}
    assert about and any(NAME in (m["text"] or "") for m in sent)  # what the erasure must take away
    out = tmp_path / "out"
    assert main(["simulate", "--events", str(events), "--out", str(out), "--outbox"]) == 0
    written = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert [name for name, data in written.items() if NAME.encode() in data or EMAIL.encode() in data] == []
    records = {m["message_id"]: m for m in map(json.loads, (out / "messages.jsonl").read_text("utf-8").splitlines())}
    for mid in about:
        assert records[mid]["status"] in ("sent", "approved", "suppressed")
        assert (records[mid]["subject"], records[mid]["text"], records[mid]["recipient_email"]) == (None, None, None)
    assert not any(mid in name for name in written for mid in about)  # no outbox file of them
    others = [line for line in (out / "messages.jsonl").read_text("utf-8").splitlines()
              if json.loads(line)["message_id"] not in about]
    assert others == [line for line in (before / "messages.jsonl").read_text("utf-8").splitlines()
                      if json.loads(line)["message_id"] not in about and json.loads(line)["status"] != "deferred"]


@pytest.mark.parametrize("runner_kind", ["simulate", "embedded"])
def test_a_digest_that_went_before_an_erasure_keeps_nothing_of_the_person(tmp_path: Path, runner_kind: str) -> None:
    """An audit on 2026-12-04: a manager's daily digest sent before a report's erasure still said "<name> now
    reports to you" in messages.jsonl and the outbox, and ``deliver`` sent it (a digest's ids are its recipient's,
    so the pass that takes content out never looked at the people inside it)."""
    from wayfinder.cli import main

    boss = _event("b1", "hris.employee.upserted", "2026-01-01T07:00:00Z", "E2", id="E2", given_name="Gregor",
                  email="gregor@example.com", timezone="Europe/London", country="GB", employment_type="employee")
    person = _event("p1", "hris.employee.upserted", "2026-01-01T07:00:01Z", id=PERSON, given_name=NAME,
                    family_name="Q", email=EMAIL, timezone="Europe/London", country="GB", employment_type="employee",
                    manager_id="E8")
    moved = _event("c1", "hris.manager.changed", "2026-01-05T10:00:00Z", old_manager_id="E8", new_manager_id="E2")
    erasure = _event("x1", "privacy.erasure.requested", "2026-01-09T12:00:00Z")
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join([boss, person, moved, erasure]) + b"\n")
    from wayfinder import examples_dir

    policy = tmp_path / "policy.yaml"
    policy.write_text((examples_dir() / "policy.yaml").read_text(encoding="utf-8")
                      + 'digests: {manager: {every: daily, at: "09:00"}}\n', encoding="utf-8")
    if runner_kind == "embedded":
        from wayfinder.journeys.loader import Sources, load_or_raise

        defs = load_or_raise(Sources(paths=[examples_dir() / "journeys", examples_dir() / "catalog"],
                                     templates=[examples_dir() / "templates"], policy=policy))
        runner = EmbeddedRunner(defs)
        runner.run([decode_event(line) for line in events.read_bytes().splitlines()],
                   datetime(2026, 1, 12, tzinfo=UTC))
        held = [m for m in runner.messages.values() if m.is_digest]
        assert held and all(m.content_erased for m in held)
        return
    out = tmp_path / "out"
    assert main(["simulate", "--events", str(events), "--policy", str(policy), "--out", str(out), "--outbox",
                 "--until", "2026-01-12T00:00:00Z"]) == 0
    records = [json.loads(line) for line in (out / "messages.jsonl").read_text("utf-8").splitlines()]
    digests = [m for m in records if m["journey_id"] == "digest"]
    assert digests and all(m["status"] == "sent" and m["text"] is None for m in digests)
    written = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert [name for name, data in written.items() if NAME.encode() in data or EMAIL.encode() in data] == []


def test_an_erasure_keeps_the_code_of_a_rejection_not_the_reviewers_words() -> None:
    """An audit on 2026-12-04: a rejected message erased kept ``"reason": "Perpetua is grieving her husband Bob"``,
    a reviewer's words about the person (SPEC §11: ``reason`` is free text); codes stay as they are."""
    from wayfinder.journeys.records import Message

    at = datetime(2026, 3, 4, tzinfo=UTC)
    base = Message(message_id="m-1", employee_id=PERSON, recipient_id=PERSON, journey_id="j", journey_version=1,
                   step_id="s", channel="email", status="rejected", reason=f"{NAME} is grieving", scheduled_for=at,
                   created_at=at, subject="s", text="t")
    assert base.without_content().reason == "rejected_by_reviewer"
    one_word = base.model_copy(update={"reason": "pregnant"})  # a word of a reviewer's is no code (a review's find)
    assert one_word.without_content().reason == "rejected_by_reviewer"
    suppressed = base.model_copy(update={"status": "suppressed", "reason": "opted_out_topic"})
    assert suppressed.without_content().reason == "opted_out_topic"


def test_deliver_from_the_topic_holds_back_the_digest_the_worker_sent_with_a_person_erased_since(
        tmp_path: Path) -> None:
    """README "Erasure": ``deliver --kafka`` checked a digest by its own ids (its recipient's), so a manager's
    digest that went with "<name> now reports to you" was sent after that person's erasure, where ``simulate``'s
    file took its content out. The worker's digest record names the messages in it: the manager's digest is held
    back whole (the other report's item with it); another manager's digest, with nobody erased in it, goes."""
    import asyncio

    from tests.pipeline.stages import events_through_stages
    from wayfinder import examples_dir
    from wayfinder.connectors.base import Accepted
    from wayfinder.connectors.erasures import note
    from wayfinder.connectors.ledger import SqliteLedger
    from wayfinder.connectors.receipts import JsonlSink
    from wayfinder.connectors.runner import DeliveryRunner
    from wayfinder.connectors.settings import DeliverySettings
    from wayfinder.journeys.loader import Sources, load_or_raise
    from wayfinder.journeys.records import Message, erased_since

    def boss(eid: str, n: str) -> bytes:
        return _event(f"b{n}", "hris.employee.upserted", "2026-01-01T07:00:00Z", eid, id=eid, given_name=f"Boss{n}",
                      email=f"boss{n}@example.com", timezone="Europe/London", country="GB",
                      employment_type="employee")

    def report(eid: str, n: str, name: str, to: str) -> list[bytes]:
        return [_event(f"p{n}", "hris.employee.upserted", "2026-01-01T07:00:01Z", eid, id=eid, given_name=name,
                       family_name="Q", email=f"{name.lower()}@example.com", timezone="Europe/London", country="GB",
                       employment_type="employee", manager_id="E8"),
                _event(f"c{n}", "hris.manager.changed", "2026-01-05T10:00:00Z", eid, old_manager_id="E8",
                       new_manager_id=to)]

    lines = [boss("E2", "1"), boss("E3", "2"), *report(PERSON, "1", NAME, "E2"), *report("E10", "2", "Wendel", "E2"),
             *report("E11", "3", "Ysolde", "E3"), _event("x1", "privacy.erasure.requested", "2026-01-09T12:00:00Z")]
    policy = tmp_path / "policy.yaml"
    policy.write_text((examples_dir() / "policy.yaml").read_text(encoding="utf-8")
                      + 'digests: {manager: {every: daily, at: "09:00"}}\n', encoding="utf-8")
    ex = examples_dir()
    defs = load_or_raise(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                                 policy=policy))
    p, _ = events_through_stages(defs, _events(*lines), datetime(2026, 1, 12, tzinfo=UTC))
    outbound = [Message.model_validate_json(r.value) for r in p.records  # the topic as deliver reads it
                if r.topic == "outbound.messages" and r.value is not None]
    digests = {m.recipient_id: m for m in outbound if m.is_digest and m.status == "sent"}
    assert set(digests) == {"E2", "E3"} and NAME in (digests["E2"].text or "")  # what must not go
    erased: dict[str, datetime] = {}
    for r in p.records:
        if r.topic == "audit":
            note(erased, r.value)
    assert set(erased) == {PERSON}

    class Outbox:
        name = "outbox"

        def __init__(self) -> None:
            self.sent: list[Message] = []

        async def send(self, message: Message) -> Accepted:
            self.sent.append(message)
            return Accepted(self.name, "ok")

        async def close(self) -> None:
            return None

    async def deliver(outbox: Outbox) -> None:
        async def messages() -> Any:
            for m in outbound:
                yield m

        async def about_erased(m: Message) -> bool:  # as KafkaErasures.about_erased, once it has read the audit
            return erased_since(erased, m)

        receipts, dead = JsonlSink(tmp_path / "receipts.jsonl"), JsonlSink(tmp_path / "dead.jsonl")
        ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
        try:
            runner = DeliveryRunner({"email": outbox}, ledger=ledger, receipts=receipts, dead_letters=dead,
                                    settings=DeliverySettings(), erased=about_erased)
            summary = await runner.run(messages())
            await receipts.close()
            await dead.close()
        finally:
            ledger.close()
        assert summary.skipped_by_status["erased"] >= 1

    outbox = Outbox()
    asyncio.run(deliver(outbox))
    assert digests["E3"].message_id in {m.message_id for m in outbox.sent}
    assert digests["E2"].message_id not in {m.message_id for m in outbox.sent}
    assert not [m for m in outbox.sent if NAME in (m.text or "") + (m.subject or "") + (m.html or "")]
    # one rule: the digests simulate's file empties are the ones deliver held back
    from wayfinder.cli import main

    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(lines) + b"\n")
    assert main(["simulate", "--events", str(events), "--policy", str(policy), "--out", str(tmp_path / "out"),
                 "--until", "2026-01-12T00:00:00Z"]) == 0
    written = [json.loads(line) for line in (tmp_path / "out" / "messages.jsonl").read_text("utf-8").splitlines()]
    assert {m["message_id"] for m in written if m["journey_id"] == "digest" and m["text"] is None} == {
        digests["E2"].message_id}


def test_an_erased_persons_records_keep_no_field_of_their_profile(tmp_path: Path) -> None:
    """SPEC §9 removes the profile (an audit, 2026-12-06): a sent message's record kept, after its person's erasure,
    ``"locale": "cy-GB"``, the language and region of their profile, on their own messages and on those to them as a
    manager. The record keeps what happened (README "Erasure"); the reader's language went with the text."""
    from wayfinder.cli import main

    boss = _event("b1", "hris.employee.upserted", "2026-01-01T07:00:00Z", "E2", id="E2", given_name="Gregor",
                  email="gregor@example.com", timezone="Europe/London", country="GB", locale="cy-GB",
                  employment_type="employee", job_level="M1")
    person = _event("p1", "hris.employee.upserted", "2026-01-01T07:00:00Z", id=PERSON, given_name=NAME,
                    family_name="Q", email=EMAIL, timezone="Europe/London", country="GB", locale="cy-GB",
                    employment_type="employee", manager_id="E8", role="Engineer", job_level="IC2")
    moved = _event("c1", "hris.manager.changed", "2026-01-02T10:00:00Z", old_manager_id="E8", new_manager_id="E2")
    boss_gone = _event("x2", "privacy.erasure.requested", "2026-01-10T09:00:00Z", "E2")
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join([boss, person, moved, ERASURE, boss_gone]) + b"\n")
    out = tmp_path / "out"
    assert main(["simulate", "--events", str(events), "--out", str(out)]) == 0
    records = [json.loads(line) for line in (out / "messages.jsonl").read_text("utf-8").splitlines()]
    assert {(m["employee_id"], m["recipient_id"]) for m in records} >= {(PERSON, PERSON), (PERSON, "E2")}
    assert all(m["locale"] is None and m["text"] is None for m in records)
    written = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert [name for name, data in written.items() if b"cy-GB" in data] == []


def test_a_task_completed_before_the_persons_erasure_keeps_nothing_of_them(tmp_path: Path) -> None:
    """SPEC §9 (an audit, 2026-12-06): only open tasks were taken out at an erasure; one an HR partner had completed
    kept its title ("Call Ottoline Q") and its note (a wellbeing signal's evidence) in ``tasks.jsonl``. It keeps what
    happened (completed, when, by whom), and nothing of what it said."""
    from wayfinder.cli import main

    journeys = tmp_path / "journeys"
    journeys.mkdir()
    (journeys / "care.yaml").write_text(
        "apiVersion: wayfinder/v1\nkind: Journey\nid: care\nname: Care\nowner: hr@example.com\nversion: 1\n"
        "status: active\ntrigger: {event: wellbeing.signal}\nsteps:\n  - id: call\n    task:\n"
        "      assignee: hr_partner\n      title: 'Call {{ employee.given_name }} {{ employee.family_name }}'\n"
        "      note: 'Evidence: {{ trigger.data.evidence }}'\n", encoding="utf-8")
    partner = _event("h1", "hris.employee.upserted", "2026-01-01T07:00:00Z", "H1", id="H1", given_name="Hella",
                     email="hella@example.com", timezone="Europe/Berlin", country="DE")
    person = _event("p1", "hris.employee.upserted", "2026-01-01T07:00:00Z", id=PERSON, given_name=NAME,
                    family_name="Q", email=EMAIL, timezone="Europe/Berlin", country="DE", hr_partner_id="H1")
    signal = _event("w1", "wellbeing.signal", "2026-01-05T09:00:00Z", signal="workload_spike", score=0.9,
                    evidence="Zorblax overtime")
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join([partner, person, signal]) + b"\n")
    out = tmp_path / "out"
    assert main(["simulate", "--events", str(events), "--journeys", str(journeys), "--out", str(out)]) == 0
    [opened] = map(json.loads, (out / "tasks.jsonl").read_text("utf-8").splitlines())
    assert opened["title"] == f"Call {NAME} Q"
    done = _event("c1", "wayfinder.task.completed", "2026-01-06T09:00:00Z", task_id=opened["task_id"], actor_id="H1")
    events.write_bytes(b"\n".join([partner, person, signal, done, ERASURE]) + b"\n")
    assert main(["simulate", "--events", str(events), "--journeys", str(journeys), "--out", str(out)]) == 0
    [task] = map(json.loads, (out / "tasks.jsonl").read_text("utf-8").splitlines())
    assert (task["status"], task["closed_by"], task["title"], task["note"]) == ("completed", "H1", "(erased)", "")
    written = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert [name for name, data in written.items() if NAME.encode() in data or b"Zorblax" in data] == []


def test_a_task_for_a_person_erased_since_keeps_nothing_of_them(tmp_path: Path) -> None:
    """SPEC §9 (an audit of tasks.jsonl, 2026-12-06): a task's title and note read its assignee as ``recipient``
    (since 2026-12-05), so a manager's task said "Mara, please call Ottoline" and kept saying it in ``tasks.jsonl``
    after the manager's erasure, as did a later completion of the task; a message to an erased person already kept
    nothing of them. The task about the employee stays (open, then completed, with its ids and times) without its
    title and note; one opened after the erasure names nobody and keeps its text."""
    from wayfinder.cli import main

    journeys = tmp_path / "journeys"
    journeys.mkdir()
    (journeys / "care.yaml").write_text(
        "apiVersion: wayfinder/v1\nkind: Journey\nid: care\nname: Care\nowner: hr@example.com\nversion: 1\n"
        "status: active\nreentry: always\ntrigger: {event: wellbeing.signal}\nsteps:\n  - id: call\n    task:\n"
        "      assignee: manager\n      title: '{{ recipient.given_name }}, please call {{ employee.given_name }}'\n"
        "      note: 'Write to {{ recipient.email }} when done'\n", encoding="utf-8")
    signal = _event("w1", "wellbeing.signal", "2026-01-05T09:00:00Z", signal="workload_spike", score=0.9)
    erased = _event("x2", "privacy.erasure.requested", "2026-01-06T09:00:00Z", "E1")
    done = _event("c1", "wayfinder.task.completed", "2026-01-07T09:00:00Z", task_id="__TASK__", actor_id="H1")
    again = _event("w2", "wellbeing.signal", "2026-01-08T09:00:00Z", signal="workload_spike", score=0.9)
    events = tmp_path / "events.jsonl"
    out = tmp_path / "out"
    events.write_bytes(b"\n".join([MANAGER, UPSERT, signal]) + b"\n")
    assert main(["simulate", "--events", str(events), "--journeys", str(journeys), "--out", str(out)]) == 0
    [opened] = map(json.loads, (out / "tasks.jsonl").read_text("utf-8").splitlines())
    assert (opened["assignee_id"], opened["title"]) == ("E1", f"Mara, please call {NAME}")
    done = done.replace(b"__TASK__", opened["task_id"].encode())
    events.write_bytes(b"\n".join([MANAGER, UPSERT, signal, erased, done, again]) + b"\n")
    assert main(["simulate", "--events", str(events), "--journeys", str(journeys), "--out", str(out)]) == 0
    tasks = {t["created_at"]: t for t in map(json.loads, (out / "tasks.jsonl").read_text("utf-8").splitlines())}
    first, later = tasks["2026-01-05T09:00:00Z"], tasks["2026-01-08T09:00:00Z"]
    assert (first["task_id"], first["assignee_id"], first["status"], first["closed_by"]) == (
        opened["task_id"], "E1", "completed", "H1")
    assert (first["title"], first["note"]) == ("(erased)", "")
    # opened after the erasure: the manager is nobody the directory knows, and their fields print as nothing
    assert (later["assignee_id"], later["title"], later["note"]) == (
        "E1", f", please call {NAME}", "Write to  when done")
    written = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert [name for name, data in written.items() if b"Mara" in data or b"mara@example.com" in data] == []


def test_the_worker_closes_a_task_on_the_tasks_topic_with_no_title_or_note(write_files: WriteFiles) -> None:
    """README "Exits and erasure" (a review, 2026-12-06): the employee's partition does not learn of an erasure made
    on the assignee's, so the close of "Mara, please call ..." was written to ``tasks`` from the employee's state, a
    day after Mara's erasure, with her name and address. A close says what happened (status, times, ids) and no
    text; the topic's readers take the title and note from the task as opened."""
    from wayfinder.journeys.loader import Sources, load_or_raise
    from wayfinder.journeys.records import Task, task_as_read

    root = write_files({"journeys/care.yaml": (
        "apiVersion: wayfinder/v1\nkind: Journey\nid: care\nname: Care\nowner: hr@example.com\nversion: 1\n"
        "status: active\ntrigger: {event: wellbeing.signal}\nsteps:\n  - id: call\n    task:\n"
        "      assignee: manager\n      title: '{{ recipient.given_name }}, please call {{ employee.given_name }}'\n"
        "      note: 'Write to {{ recipient.email }} when done'\n")})
    defs = load_or_raise(Sources(paths=[root / "journeys"]))
    p = Pipeline(defs=defs)
    signal = _event("w1", "wellbeing.signal", "2026-01-05T09:00:00Z", signal="workload_spike", score=0.9)
    _through(p, MANAGER, UPSERT, signal)
    [opened] = [json.loads(r.value) for r in p.records if r.topic == "tasks" and r.value is not None]
    assert opened["title"] == f"Mara, please call {NAME}"  # written before the erasure: the topic keeps it
    done = _event("c1", "wayfinder.task.completed", "2026-01-07T09:00:00Z", task_id=opened["task_id"], actor_id="H1")
    before = len(p.records)
    _through(p, _event("x2", "privacy.erasure.requested", "2026-01-06T09:00:00Z", "E1"), done)
    [closed] = [json.loads(r.value) for r in p.records[before:] if r.topic == "tasks" and r.value is not None]
    assert (closed["task_id"], closed["status"], closed["closed_by"], closed["assignee_id"]) == (
        opened["task_id"], "completed", "H1", "E1")
    assert (closed["title"], closed["note"]) == ("", "")
    # a reader of the topic (serve --kafka) shows the completed task with the text it was opened with
    read = task_as_read(Task.model_validate(opened), Task.model_validate(closed))
    assert (read.status, read.title, read.note) == ("completed", opened["title"], opened["note"])


def test_an_erasure_takes_the_ranking_reasons_out_of_the_persons_records(tmp_path: Path) -> None:
    """Why each resource ranked where it did (``Message.ranking``: their department, learning style, clicks) is read
    from the person's profile and engagement, so an erasure takes it out with the text (2026-12-06: the reasons came
    with the why page's line per resource and stayed in an erased person's records). The bundled year, with E1036
    (a new parent whose welcome was ranked by their own clicks) erased at its end."""
    from wayfinder import examples_dir
    from wayfinder.cli import main

    bundled = (examples_dir() / "events.jsonl").read_bytes()
    erasure = _event("x-why", "privacy.erasure.requested", "2026-12-01T00:00:00Z", "E1036")
    events = tmp_path / "events.jsonl"
    events.write_bytes(bundled.rstrip(b"\n") + b"\n" + erasure + b"\n")
    kept, erased = tmp_path / "kept", tmp_path / "erased"
    assert main(["simulate", "--events", str(examples_dir() / "events.jsonl"), "--until", "2026-12-01T00:00:00Z",
                 "--out", str(kept)]) == 0
    assert main(["simulate", "--events", str(events), "--out", str(erased)]) == 0

    def about(folder: Path) -> list[dict[str, Any]]:
        return [m for m in map(json.loads, (folder / "messages.jsonl").read_text("utf-8").splitlines())
                if "E1036" in (m["employee_id"], m["recipient_id"])]

    before = about(kept)
    assert any(r["why"] == "engagement" for m in before for rs in m.get("ranking", {}).values() for r in rs)
    after = about(erased)
    assert {m["message_id"] for m in after} >= {m["message_id"] for m in before if m["status"] == "sent"}
    assert [m["message_id"] for m in after if "ranking" in m or m["text"] is not None] == []
