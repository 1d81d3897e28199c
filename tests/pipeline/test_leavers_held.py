"""Leavers (README "Leavers") through ``wayfinder simulate``: a message to a manager held by quiet hours when the
manager leaves does not go; one that went before they left went; a termination dated ahead stops only what would go
after it; a rescinded or moved termination and a rehire let it go; the leaver's own goodbye still goes; an HR
partner who leaves gets no digest about the people they supported. ``test_runners_agree`` runs the same world
through the worker's stages. 2026-03-10 is a Tuesday; Berlin is on CET (UTC+1)."""

from __future__ import annotations

from pathlib import Path

from tests.pipeline.test_runner_rules import ev, person
from tests.support import WriteFiles, read_jsonl
from wayfinder import examples_dir
from wayfinder.cli import main
from wayfinder.journeys.events import CloudEvent
from wayfinder.journeys.loader import Definitions, Sources, load_or_raise

HEAD = "apiVersion: wayfinder/v1\nkind: Journey\nname: Test journey\nowner: hr@example.com\n"
JOURNEYS = {
    "moved": HEAD + """id: moved
reentry: always
trigger: {event: hris.job.changed}
steps:
  - id: tell-manager
    send: {channel: intranet, to: manager, subject: "A move", body: "Someone in your team moved."}
  - id: tell-partner
    send: {channel: email, to: hr_partner, subject: "A move", body: "Someone you support moved."}
""",
    "goodbye": HEAD + """id: goodbye
trigger: {event: hris.employee.terminated}
steps:
  - id: bye
    send: {channel: intranet, subject: "Goodbye", body: "Thank you."}
""",
}
POLICY = """apiVersion: wayfinder/v1
kind: Policy
quiet_hours: {start: "20:00", end: "08:00", weekends: false}
digests:
  hr_partner: {every: daily, at: "09:00"}
"""
UNTIL = "2026-03-14T00:00:00Z"


def _moved(subject: str, time: str) -> CloudEvent:
    return ev(f"j-{subject}-{time}", "hris.job.changed", time, subject, change="transfer")


def _terminated(subject: str, time: str, day: str) -> CloudEvent:
    return ev(f"x-{subject}", "hris.employee.terminated", time, subject, date=day)


def _corrected(subject: str, time: str, action: str, **data: object) -> CloudEvent:
    return ev(f"c-{subject}", "hris.correction", time, subject, original={"source": "test", "id": f"x-{subject}"},
              original_type="hris.employee.terminated", action=action, **data)


def leavers_world() -> list[CloudEvent]:
    """E1..E6 report to M1..M6; E1's HR partner is H1, the others' H2. Each move at 21:00 in Berlin is told to the
    manager at 08:00 the next day (quiet hours), and gathered into the HR partner's digest of 09:00."""
    people = [person(f"E{n}", manager_id=f"M{n}", hr_partner_id="H1" if n == 1 else "H2") for n in range(1, 7)]
    people += [person(p, manager_id=None, hr_partner_id=None) for p in (*(f"M{n}" for n in range(1, 7)), "H1", "H2")]
    evening = "2026-03-10T20:00:00Z"
    return [*people,
            _terminated("M3", "2026-03-02T09:00:00Z", "2026-03-12"),  # dated ahead: from 2026-03-11T23:00Z
            *(_moved(f"E{n}", evening) for n in range(1, 7)),
            *(_terminated(p, "2026-03-10T22:00:00Z", "2026-03-10") for p in ("M1", "M4", "M5", "M6", "H1")),
            _corrected("M4", "2026-03-11T06:00:00Z", "rescind"),
            _corrected("M5", "2026-03-11T06:00:00Z", "amend", changes={"date": {"old": "2026-03-10",
                                                                                 "new": "2026-03-13"}}),
            ev("h-M6", "hris.employee.hired", "2026-03-11T06:00:00Z", "M6", start_date="2026-03-11"),
            _terminated("M2", "2026-03-11T09:00:00Z", "2026-03-11"),  # after the message went
            _moved("E3", "2026-03-11T20:00:00Z")]  # to go on the 12th, after M3 has left


CATALOG = Path(__file__).resolve().parents[1] / "data" / "world" / "catalog"


def world_files(write_files: WriteFiles) -> tuple[Path, Path]:
    root = write_files({**{f"journeys/{name}.yaml": body for name, body in JOURNEYS.items()},
                        "policy.yaml": POLICY})
    return root / "journeys", root / "policy.yaml"


def leavers_defs(write_files: WriteFiles) -> Definitions:
    """The journeys and policy above, the test catalog, and the bundled templates (the digest's among them)."""
    journeys, policy = world_files(write_files)
    return load_or_raise(Sources(paths=[journeys, CATALOG], templates=[examples_dir() / "templates"], policy=policy))


def test_simulate_sends_nothing_held_about_others_to_someone_who_has_left(write_files: WriteFiles, tmp_path: Path
                                                                          ) -> None:
    journeys, policy = world_files(write_files)
    events = tmp_path / "events.jsonl"
    events.write_text("".join(e.model_dump_json() + "\n" for e in leavers_world()), encoding="utf-8")
    assert main(["simulate", "--events", str(events), "--journeys", str(journeys), "--catalog", str(CATALOG),
                 "--templates", str(examples_dir() / "templates"), "--policy", str(policy),
                 "--out", str(tmp_path / "out"), "--until", UNTIL]) == 0
    messages = read_jsonl(tmp_path / "out" / "messages.jsonl")
    to_managers = {(m["employee_id"], m["created_at"][8:10]): (m["status"], m["reason"], m["scheduled_for"])
                   for m in messages if m["step_id"] == "tell-manager"}
    assert to_managers == {
        ("E1", "10"): ("suppressed", "no_recipient", "2026-03-11T07:00:00Z"),  # M1 left at 22:00, before it went
        ("E2", "10"): ("sent", None, "2026-03-11T07:00:00Z"),  # M2 left after it went
        ("E3", "10"): ("sent", None, "2026-03-11T07:00:00Z"),  # M3's termination takes effect on the 12th
        ("E3", "11"): ("suppressed", "no_recipient", "2026-03-12T07:00:00Z"),  # made before then, due after
        ("E4", "10"): ("sent", None, "2026-03-11T07:00:00Z"),  # M4's termination rescinded
        ("E5", "10"): ("sent", None, "2026-03-11T07:00:00Z"),  # M5's moved to the 13th
        ("E6", "10"): ("sent", None, "2026-03-11T07:00:00Z")}  # M6 hired again
    [withheld] = [m for m in messages if m["employee_id"] == "E1" and m["step_id"] == "tell-manager"]
    assert (withheld["recipient_id"], withheld.get("subject"), withheld.get("text")) == ("M1", None, None)
    byes = {m["employee_id"]: (m["status"], m["scheduled_for"]) for m in messages if m["step_id"] == "bye"}
    assert byes["M1"] == ("sent", "2026-03-11T07:00:00Z")  # about themselves: still goes, after quiet hours
    partners = {m["employee_id"]: (m["status"], m["reason"]) for m in messages
                if m["step_id"] == "tell-partner" and m["created_at"][8:10] == "10"}
    assert partners == {"E1": ("suppressed", "no_recipient"), **{f"E{n}": ("sent", None) for n in range(2, 7)}}
    digests = {m["recipient_id"] for m in messages if m["journey_id"] == "digest" and m["status"] == "sent"}
    assert digests == {"H2"}  # H1 left before theirs closed: none went
