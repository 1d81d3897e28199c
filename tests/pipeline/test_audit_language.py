"""Small scenarios of the journey language (SPEC §4, §6, §7, §11) through `wayfinder simulate`, on the shared world.

An audit of 2026-12-06 wrote about 200 scenarios from SPEC before running them (README "Two commands"; where SPEC
is silent, README "Decisions where the contract is silent" was the reference). These are the ones no other test held:
the order of a `wait_for`'s timeout and its event at one instant, waits and timeouts across DST, `reentry` by
duration, versions that pause or draft, a cap window ending in quiet hours, decisions at the instant of their
message, language fallback, and the like.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support import WORLD, read_jsonl
from wayfinder.cli import main

Event = dict[str, Any]
# (journey, step, status, scheduled_for, reason or None when not checked)
Expected = tuple[str, str, str, str, str | None]

QUIET = 'quiet_hours: {start: "20:00", end: "08:00"}\n'
WEEKENDS = 'quiet_hours: {start: "20:00", end: "08:00", weekends: true}\n'
UNTIL = "2026-12-31T00:00:00Z"
T0 = "2026-03-02T10:00:00Z"  # a Monday; Berlin is UTC+1 until 2026-03-29, New York UTC-5 until 2026-03-08


def _event(eid: str, etype: str, time: str, subject: str = "E1", source: str = "hris/audit", **data: Any) -> Event:
    return {"specversion": "1.0", "id": eid, "source": source, "type": etype, "time": time, "subject": subject,
            "data": data}


def _profile(subject: str = "E1", country: str = "DE", **fields: Any) -> Event:
    places = {"DE": {"country": "DE", "location": "Berlin", "timezone": "Europe/Berlin", "locale": "de-DE"},
              "US": {"country": "US", "location": "New York", "timezone": "America/New_York", "locale": "en-US"}}
    data: dict[str, Any] = {"id": subject, "given_name": "Anna", "email": f"{subject.lower()}@example.com",
                            **places[country], "employment_type": "employee", "department": "Engineering",
                            "work_mode": "hybrid", "manager_id": "M1", "hr_partner_id": "H1"}
    data.update(fields)
    return _event(f"p-{subject}", "hris.employee.upserted", "2025-12-01T00:00:00Z", subject, **data)


def _job(eid: str, time: str, subject: str = "E1") -> Event:
    return _event(eid, "hris.job.changed", time, subject, change="promotion", new_role="Lead")


def _leave(eid: str, kind: str, time: str, leave_type: str) -> Event:
    if kind == "started":
        return _event(eid, "hris.leave.started", time, leave_type=leave_type, start_date=time[:10],
                      expected_return_date="2026-06-01")
    return _event(eid, "hris.leave.ended", time, leave_type=leave_type, return_date=time[:10])


def _journey(jid: str, head: str, *steps: str, version: int = 1) -> str:
    """A journey document: its keys before `steps` (indented as written), then each step (a YAML list item)."""
    body = textwrap.dedent(head).strip("\n") + "\nsteps:\n"
    body += "".join(textwrap.indent(textwrap.dedent(step).strip("\n") + "\n", "  ") for step in steps)
    return (f"apiVersion: wayfinder/v1\nkind: Journey\nid: {jid}\nname: Audit\nowner: hr@example.com\n"
            f"version: {version}\n" + body)


def _send(step: str, extra: str = "") -> str:
    return f"- id: {step}\n  send: {{channel: email, subject: s, body: b{extra}}}\n"


END = "- id: stop\n  end: {}\n"


WAIT_FOR_TASK = _journey(
    "wf", "trigger: {event: hris.employee.hired}",
    """
    - id: w
      wait_for: {event: onboarding.task.completed, when: 'event.data.task_id == "laptop"', timeout: 14d,
                 on_timeout: late}
    """, _send("done"), END, _send("late"))
HIRED = _event("h1", "hris.employee.hired", T0, start_date="2026-03-02", role="Eng", department="Engineering",
               location="Berlin", manager_id="M1")
ONE = _journey("one", "trigger: {event: hris.job.changed}\nreentry: always", _send("a"))
SENSITIVE = _journey("sens", "trigger: {event: hris.job.changed}\nsensitivity: sensitive",
                     _send("a", ", resources: {topics: [flexible-work]}"))
WAIT_10D = _journey("wt", "trigger: {event: hris.job.changed}", "- id: w\n  wait: {for: 10d}", _send("b"))
SALES_ONLY = _journey("tie", """trigger: {event: hris.job.changed, when: 'employee.department == "Sales"'}""",
                      _send("a"))
WELCOME = _journey("np", "trigger: {event: hris.job.changed}",
                   "- id: a\n  send: {channel: email, template: new-parent/welcome}")


def _versioned(version: int, status: str) -> dict[str, str]:
    return {f"v{version}.yaml": _journey("vj", f"status: {status}\ntrigger: {{event: hris.job.changed}}", _send("a"),
                                         version=version)}


def _wait(jid: str, wait: str) -> dict[str, str]:
    return {f"{jid}.yaml": _journey(jid, "trigger: {event: hris.job.changed}", f"- id: w\n  wait: {wait}", _send("b"))}


@dataclass(frozen=True)
class Scenario:
    name: str
    journeys: dict[str, str]
    events: list[Event]
    expected: list[Expected]
    policy: str = ""
    until: str | None = UNTIL
    letters: list[str] = field(default_factory=list)
    # decisions made on the first run's messages: (time, step id, data besides message_id)
    decisions: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    subject: str | None = None  # the subject of the one message, where the language picks it


SCENARIOS = [
    # SPEC §7: before each event, every timer due at or before its time fires: the timeout wins the tie.
    Scenario("wait_for timeout at the instant of the awaited event", {"wf.yaml": WAIT_FOR_TASK},
             [_profile(), HIRED, _event("t1", "onboarding.task.completed", "2026-03-16T10:00:00Z", task_id="laptop")],
             [("wf", "late", "sent", "2026-03-16T10:00:00Z", None)]),
    Scenario("wait_for event one second before its timeout", {"wf.yaml": WAIT_FOR_TASK},
             [_profile(), HIRED, _event("t1", "onboarding.task.completed", "2026-03-16T09:59:59Z", task_id="laptop")],
             [("wf", "done", "sent", "2026-03-16T09:59:59Z", None)]),
    # Days are local calendar days (README "Durations"): 14d from 11:00 CET is 11:00 CEST.
    Scenario("wait_for timeout across DST keeps the local time", {"wf.yaml": WAIT_FOR_TASK},
             [_profile(), {**HIRED, "time": "2026-03-20T10:00:00Z"}],
             [("wf", "late", "sent", "2026-04-03T09:00:00Z", None)]),
    Scenario("wait_for when reads the trigger; the step after it sees the awaited event",
             {"wt.yaml": _journey("wt", "trigger: {event: hris.leave.started}", """
              - id: w
                wait_for: {event: hris.leave.ended, when: 'event.data.leave_type == trigger.data.leave_type',
                           timeout: 30d}
              - id: back
                send: {channel: email, subject: "back {{ event.data.return_date }}", body: b}
              """)},
             [_profile(), _leave("l1", "started", T0, "sabbatical"),
              _leave("l2", "ended", "2026-03-05T10:00:00Z", "parental"),
              _leave("l3", "ended", "2026-03-06T10:00:00Z", "sabbatical")],
             [("wt", "back", "sent", "2026-03-06T10:00:00Z", None)], subject="back 2026-03-06"),
    Scenario("an exit and a wait_for on the same event: the exit wins",
             {"x.yaml": _journey("x", """
              trigger: {event: hris.leave.started}
              exit_on:
                - {event: hris.leave.ended, when: 'event.data.leave_type == "medical"'}
              """, "- id: w\n  wait_for: {event: hris.leave.ended, timeout: 60d}", _send("back"))},
             [_profile(), _leave("l1", "started", T0, "medical"),
              _leave("l2", "ended", "2026-03-10T10:00:00Z", "medical")],
             []),
    Scenario("on_timeout jumps back: a reminder each week until the event",
             {"lp.yaml": _journey("lp", "trigger: {event: hris.leave.started}", _send("ping"),
                                  "- id: w\n  wait_for: {event: hris.leave.ended, timeout: 7d, on_timeout: ping}",
                                  _send("done"))},
             [_profile(), _leave("l1", "started", T0, "other"), _leave("l2", "ended", "2026-03-20T10:00:00Z", "other")],
             [("lp", "ping", "sent", T0, None), ("lp", "ping", "sent", "2026-03-09T10:00:00Z", None),
              ("lp", "ping", "sent", "2026-03-16T10:00:00Z", None),
              ("lp", "done", "sent", "2026-03-20T10:00:00Z", None)]),
    Scenario("a branch whose condition fails takes else",
             {"br.yaml": _journey("br", "trigger: {event: hris.job.changed}",
                                  "- id: br\n  branch: {if: 'employee.attributes.level > 3', then: hi, else: lo}",
                                  _send("hi"), END, _send("lo"))},
             [_profile(), _job("j1", T0)], [("br", "lo", "sent", T0, None)]),
    # reentry 30d: from the last entry; a trigger while the enrollment is active never enrolls a second time.
    Scenario("reentry by duration: refused inside the window and while active",
             {"rd.yaml": _journey("rd", "trigger: {event: hris.job.changed}\nreentry: 30d", _send("a"),
                                  "- id: w\n  wait: {for: 40d}", _send("b"))},
             [_profile(), _job("j1", T0), _job("j2", "2026-03-22T10:00:00Z"), _job("j3", "2026-04-06T10:00:00Z"),
              _job("j4", "2026-04-16T10:00:00Z")],
             [("rd", "a", "sent", T0, None), ("rd", "b", "sent", "2026-04-11T09:00:00Z", None),
              ("rd", "a", "sent", "2026-04-16T10:00:00Z", None)], until="2026-04-17T00:00:00Z"),
    Scenario("reentry never: an exit does not open the journey again",
             {"rn.yaml": _journey("rn", "trigger: {event: hris.job.changed}\nexit_on: [{event: hris.leave.started}]",
                                  "- id: w\n  wait: {for: 10d}", _send("a"))},
             [_profile(), _job("j1", T0), _leave("l1", "started", "2026-03-03T10:00:00Z", "other"),
              _job("j2", "2026-03-04T10:00:00Z")], []),
    # README "Versions and status": the newest version that is not a draft says whether the journey enrolls.
    Scenario("a paused version 2 pauses the journey", {**_versioned(1, "active"), **_versioned(2, "paused")},
             [_profile(), _job("j1", T0)], []),
    Scenario("a draft version 2 leaves version 1 enrolling", {**_versioned(1, "active"), **_versioned(2, "draft")},
             [_profile(), _job("j1", T0)], [("vj", "a", "sent", T0, None)]),
    # A timestamp with `at`: the local day of that instant (23:30Z on May 1 is May 2 in Berlin), at 09:00 there.
    Scenario("wait until a timestamp with at: the instant's local day",
             _wait("wu", """{until: 'timestamp("2026-05-01T23:30:00Z")', at: "09:00"}"""),
             [_profile(), _job("j1", T0)], [("wu", "b", "sent", "2026-05-02T07:00:00Z", None)]),
    Scenario("wait until now with a negative offset: already past, continues at once",
             _wait("wn", '{until: now, offset: -1d, at: "07:30"}'),
             [_profile(), _job("j1", T0)], [("wn", "b", "sent", T0, None)]),
    Scenario("--until exactly at a timer fires it", {"wt.yaml": WAIT_10D},
             [_profile(), _job("j1", T0)], [("wt", "b", "sent", "2026-03-12T10:00:00Z", None)],
             until="2026-03-12T10:00:00Z"),
    Scenario("--until a second before a timer leaves it", {"wt.yaml": WAIT_10D},
             [_profile(), _job("j1", T0)], [], until="2026-03-12T09:59:59Z"),
    # The window of 25h ends at 20:30 Berlin time, inside quiet hours: the message goes the next morning.
    Scenario("a cap window that ends in quiet hours", {"one.yaml": ONE},
             [_profile(), _job("j1", "2026-03-02T18:30:00Z"), _job("j2", "2026-03-02T18:45:00Z")],
             [("one", "a", "sent", "2026-03-02T18:30:00Z", None), ("one", "a", "sent", "2026-03-04T07:00:00Z", None)],
             policy="frequency_cap: {max: 1, per: 25h}\n" + QUIET),
    Scenario("a cap of two: each deferred message waits for its own oldest", {"one.yaml": ONE},
             [_profile(), _job("j1", "2026-03-02T10:00:00Z"), _job("j2", "2026-03-02T15:00:00Z"),
              _job("j3", "2026-03-02T16:00:00Z"), _job("j4", "2026-03-02T17:00:00Z")],
             [("one", "a", "sent", "2026-03-02T10:00:00Z", None), ("one", "a", "sent", "2026-03-02T15:00:00Z", None),
              ("one", "a", "sent", "2026-03-03T10:00:00Z", None), ("one", "a", "sent", "2026-03-03T15:00:00Z", None)],
             policy="frequency_cap: {max: 2, per: 1d}\n"),
    # Friday 21:00 in New York is quiet; the weekend too; Monday 08:00 is EDT after the change of 2026-03-08.
    Scenario("weekend quiet hours across a DST change, in the recipient's zone", {"one.yaml": ONE},
             [_profile("E2", "US"), _job("j1", "2026-03-07T02:00:00Z", "E2")],
             [("one", "a", "sent", "2026-03-09T12:00:00Z", None)], policy=WEEKENDS),
    # SPEC §7 ties in file order: a decision read after its message (same instant) finds it pending.
    Scenario("a decision at the instant of its message, read after it", {"sens.yaml": SENSITIVE},
             [_profile(), _job("j1", T0)], [("sens", "a", "approved", T0, None)],
             decisions=[(T0, "a", {"decision": "approve", "reviewer_id": "R1"})]),
    Scenario("a reviewer's approval during the employee's pause goes at its end", {"sens.yaml": SENSITIVE},
             [_profile(), _job("j1", T0),
              _event("pc1", "wayfinder.preferences.changed", "2026-03-02T10:30:00Z", source="prefs",
                     paused_until="2026-03-05T09:00:00Z")],
             [("sens", "a", "approved", "2026-03-05T09:00:00Z", None)],
             decisions=[("2026-03-02T11:00:00Z", "a", {"decision": "approve", "reviewer_id": "R1"})]),
    Scenario("a rejected message gives its resources back",
             {"sens.yaml": SENSITIVE.replace("sensitivity:", "reentry: always\nsensitivity:")},
             [_profile(), _job("j1", T0), _job("j2", "2026-03-03T10:00:00Z")],
             [("sens", "a", "rejected", "2026-03-02T11:00:00Z", "rejected_by_reviewer"),
              ("sens", "a", "pending_approval", "2026-03-03T10:00:00Z", "sensitive")],
             decisions=[("2026-03-02T11:00:00Z", "a", {"decision": "reject", "reviewer_id": "R1"})]),
    Scenario("an event sent again later under its (source, id) does nothing", {"one.yaml": ONE},
             [_profile(), _job("j1", T0), _job("j1", "2026-03-04T10:00:00Z")], [("one", "a", "sent", T0, None)]),
    Scenario("ties in file order: the profile change before the trigger counts", {"tie.yaml": SALES_ONLY},
             [_profile(), {**_profile(department="Sales"), "id": "p2", "time": T0}, _job("j1", T0)],
             [("tie", "a", "sent", T0, None)]),
    Scenario("ties in file order: the profile change after the trigger does not", {"tie.yaml": SALES_ONLY},
             [_profile(), _job("j1", T0), {**_profile(department="Sales"), "id": "p2", "time": T0}], []),
    # SPEC §4: the locale picks, else its language; a template with only de-DE serves de-CH in German.
    Scenario("language fallback: de-CH reads the de-DE text", {"np.yaml": WELCOME},
             [_profile(locale="de-CH"), _job("j1", T0)], [("np", "a", "sent", T0, None)],
             subject="Herzlichen Glückwunsch, Anna!"),
    Scenario("a locale of another language reads the default text", {"np.yaml": WELCOME},
             [_profile(locale="fr-FR"), _job("j1", T0)], [("np", "a", "sent", T0, None)],
             subject="Congratulations, Anna!"),
    Scenario("a manager's message: the wait in the employee's zone, quiet hours in the manager's",
             {"mj.yaml": _journey("mj", "trigger: {event: hris.dependent.added}",
                                  '- id: w\n  wait: {until: trigger.data.date, at: "09:00"}',
                                  "- id: a\n  send: {channel: email, to: manager, subject: s, body: b}")},
             [_profile(), _profile("M1", "US"),
              _event("d1", "hris.dependent.added", T0, relationship="child", reason="birth", date="2026-03-05")],
             [("mj", "a", "sent", "2026-03-05T13:00:00Z", None)], policy=QUIET),
]


def _simulate(tmp: Path, scenario: Scenario, events: list[Event], run: str) -> Path:
    journeys = tmp / "journeys"
    journeys.mkdir(exist_ok=True)
    for name, text in scenario.journeys.items():
        (journeys / name).write_text(text, encoding="utf-8")
    policy = tmp / "policy.yaml"
    policy.write_text("apiVersion: wayfinder/v1\nkind: Policy\n" + scenario.policy, encoding="utf-8")
    events_file = tmp / f"{run}.jsonl"
    events_file.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    out = tmp / run
    args = ["simulate", "--events", str(events_file), "--journeys", str(journeys), "--catalog",
            str(WORLD / "catalog"), "--templates", str(WORLD / "templates"), "--policy", str(policy), "--out", str(out)]
    assert main([*args, *(["--until", scenario.until] if scenario.until else [])]) == 0
    return out


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_audit_scenario(scenario: Scenario, tmp_path: Path) -> None:
    events = list(scenario.events)
    if scenario.decisions:
        first = read_jsonl(_simulate(tmp_path, scenario, events, "first") / "messages.jsonl")
        ids = {m["step_id"]: m["message_id"] for m in sorted(first, key=lambda m: m["scheduled_for"], reverse=True)}
        events += [_event(f"dec-{n}", "wayfinder.review.decided", time, source="review", message_id=ids[step], **data)
                   for n, (time, step, data) in enumerate(scenario.decisions)]
    out = _simulate(tmp_path, scenario, events, "run")
    messages = read_jsonl(out / "messages.jsonl")
    got = sorted((m["journey_id"], m["step_id"], m["status"], _instant(m["scheduled_for"])) for m in messages)
    assert got == sorted((j, s, st, _instant(t)) for j, s, st, t, _ in scenario.expected)
    reasons = {(m["journey_id"], m["step_id"], m["status"]): m["reason"] for m in messages}
    for j, s, st, _, reason in scenario.expected:
        if reason is not None:
            assert reasons[(j, s, st)] == reason
    assert [d["reason"] for d in read_jsonl(out / "dead_letters.jsonl")] == scenario.letters
    if scenario.subject is not None:
        assert [m["subject"] for m in messages] == [scenario.subject]
