"""A small world, written by hand, for the fairness and impact reports (figures in the tests are worked out by hand).

50 people hired on 2026-03-02 09:00Z. Journey ``welcome`` (one email):

| group         | gender            | enrolled               | outcome                               |
|---------------|-------------------|------------------------|---------------------------------------|
| Sales S01-S20 | f S01-S10, m rest | all but S10, S20 (18)  | S01, S11 suppressed; others sent +1h  |
| Eng G01-G20   | f G01-G10, m rest | G01, G02, G11-G19 (11) | G19 held out; the others sent +25h    |
| Ops O01-O06   | not recorded      | all (6)                | O01 pending approval; others sent +1h |
| Legal L01-L04 | not recorded      | all (4)                | L01 rejected; others sent +1h         |

Sales messages offer r-a and r-b, the others r-a. Journey ``checkin`` (holdout 30%, outcome
``onboarding.task.completed`` within 30d) enrolls Sales and Eng: control S01-S06 and G01-G06
(all suppressed, reason holdout); 3 of the control complete (S01, G01, G02), 21 of the 28 reached
complete within 30 days (S07-S17, G07-G16), and S18 completes on day 31 (too late).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HIRED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

SALES = [f"S{i:02d}" for i in range(1, 21)]
ENG = [f"G{i:02d}" for i in range(1, 21)]
OPS = [f"O{i:02d}" for i in range(1, 7)]
LEGAL = [f"L{i:02d}" for i in range(1, 5)]
EVERYONE = SALES + ENG + OPS + LEGAL
NAMES = {pid: f"Person{pid}" for pid in EVERYONE}  # given names that must never appear in a report

WELCOME_ENROLLED = [p for p in SALES if p not in ("S10", "S20")] + ["G01", "G02", *ENG[10:19]] + OPS + LEGAL
WELCOME_STATUS = {"S01": ("suppressed", "opted_out_channel"), "S11": ("suppressed", "opted_out_channel"),
                  "G19": ("suppressed", "holdout"), "O01": ("pending_approval", "sensitive"),
                  "L01": ("rejected", "rejected_by_reviewer")}
CHECKIN_CONTROL = SALES[:6] + ENG[:6]
COMPLETED_IN_TIME = ["S01", "G01", "G02", *SALES[6:17], *ENG[6:16]]
COMPLETED_LATE = ["S18"]
RATINGS = {"r-b": [-1, -1, -1, -1, -1, -1, -1, 0, 0, 0], "r-a": [1, 1, 0]}  # r-a: 3 people, fewer than k
CLICKS_ON_R_A = 10

JOURNEYS = {
    "journeys/welcome.yaml": """
        apiVersion: wayfinder/v1
        kind: Journey
        id: welcome
        name: Welcome
        owner: people@example.com
        trigger: {event: hris.employee.hired}
        steps:
          - id: hello
            send: {channel: email, subject: Hello, body: Welcome aboard, resources: {topics: [start]}}
        """,
    "journeys/checkin.yaml": """
        apiVersion: wayfinder/v1
        kind: Journey
        id: checkin
        name: Check-in
        owner: people@example.com
        holdout: 30%
        outcomes:
          - {event: onboarding.task.completed, within: 30d}
        trigger: {event: hris.employee.hired}
        steps:
          - id: nudge
            send: {channel: email, subject: How is it going, body: Tell us}
        """,
    "catalog/catalog.yaml": """
        apiVersion: wayfinder/v1
        kind: Catalog
        topics: [{id: start}]
        resources:
          - {id: r-a, type: document, title: Handbook, topics: [start]}
          - {id: r-b, type: document, title: Glossary, topics: [start]}
        """,
    "fairness.yaml": """
        apiVersion: wayfinder/v1
        kind: Fairness
        attributes: [department, gender]
        protected: [gender]
        k: 10
        """,
}


def _event(n: int, kind: str, subject: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"specversion": "1.0", "id": f"ev-{n}", "source": "test/hris", "type": kind,
            "time": at.isoformat().replace("+00:00", "Z"), "subject": subject, "data": data}


def _department(pid: str) -> str:
    return {"S": "Sales", "G": "Eng", "O": "Ops", "L": "Legal"}[pid[0]]


def _gender(pid: str) -> str | None:
    if pid[0] not in "SG":
        return None
    return "f" if int(pid[1:]) <= 10 else "m"


def events() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for pid in EVERYONE:
        profile: dict[str, Any] = {"id": pid, "given_name": NAMES[pid], "email": f"{pid.lower()}@example.com",
                                   "department": _department(pid), "employment_type": "employee"}
        if (g := _gender(pid)) is not None:
            profile["gender"] = g
        out.append(_event(len(out), "hris.employee.upserted", pid, HIRED - timedelta(days=1), profile))
        out.append(_event(len(out), "hris.employee.hired", pid, HIRED, {"start_date": "2026-03-16"}))
    for pid in COMPLETED_IN_TIME:
        out.append(_event(len(out), "onboarding.task.completed", pid, HIRED + timedelta(days=20), {"task_id": "t"}))
    for pid in COMPLETED_LATE:
        out.append(_event(len(out), "onboarding.task.completed", pid, HIRED + timedelta(days=31), {"task_id": "t"}))
    for resource, ratings in RATINGS.items():
        for i, rating in enumerate(ratings):
            out.append(_event(len(out), "engagement.message.feedback", SALES[i], HIRED + timedelta(days=2),
                              {"resource_id": resource, "rating": rating}))
    for i in range(CLICKS_ON_R_A):
        out.append(_event(len(out), "engagement.message.clicked", ENG[10 + i], HIRED + timedelta(days=2),
                          {"resource_id": "r-a"}))
    return out


def _message(pid: str, journey: str, status: str, reason: str | None, hours: int,
             resources: list[str]) -> dict[str, Any]:
    return {"message_id": f"m-{journey}-{pid}", "employee_id": pid, "recipient_id": pid, "journey_id": journey,
            "journey_version": 1, "step_id": "hello" if journey == "welcome" else "nudge", "channel": "email",
            "status": status, "reason": reason,
            "scheduled_for": (HIRED + timedelta(hours=hours)).isoformat().replace("+00:00", "Z"),
            "created_at": HIRED.isoformat().replace("+00:00", "Z"), "subject": "Hello", "text": NAMES[pid],
            "resources": resources if status in ("sent", "approved") else [], "recipient_name": NAMES[pid],
            "recipient_email": f"{pid.lower()}@example.com"}


def messages() -> list[dict[str, Any]]:
    out = []
    for pid in WELCOME_ENROLLED:
        status, reason = WELCOME_STATUS.get(pid, ("sent", None))
        hours = 25 if pid[0] == "G" else 1
        out.append(_message(pid, "welcome", status, reason, hours, ["r-a", "r-b"] if pid[0] == "S" else ["r-a"]))
    for pid in SALES + ENG:
        held = pid in CHECKIN_CONTROL
        out.append(_message(pid, "checkin", "suppressed" if held else "sent", "holdout" if held else None, 2, []))
    return out


def write(folder: Path) -> Path:
    """Definitions, events and simulate-like results under ``folder``; returns it."""
    import textwrap

    for rel, text in JOURNEYS.items():
        path = folder / "defs" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    (folder / "results").mkdir(parents=True, exist_ok=True)
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events()), encoding="utf-8")
    (folder / "results" / "messages.jsonl").write_text("".join(json.dumps(m) + "\n" for m in messages()),
                                                       encoding="utf-8")
    (folder / "results" / "tasks.jsonl").write_text("", encoding="utf-8")
    return folder


def with_k(folder: Path, k: int) -> None:
    """The world written to ``folder`` (``write``) with another ``k`` in its fairness settings."""
    fairness = folder / "defs" / "fairness.yaml"
    fairness.write_text(fairness.read_text(encoding="utf-8").replace("k: 10", f"k: {k}"), encoding="utf-8")
