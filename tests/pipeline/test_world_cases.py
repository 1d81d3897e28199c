"""Cases in the contract cases' own format (`expect.json`), on the shared world (tests/data/world).

Each folder in tests/data/world-cases holds `journeys/`, `events.jsonl`, an optional `policy.yaml` and
`expect.json`, written as the held-out contract cases are: the expected decisions were written from SPEC before the
engine ran them (an audit of 2026-12-06, 92 such cases, all agreeing but one documented choice). They run through
`wayfinder simulate` as the contract checker runs them: onboarding roadmaps (dependency order, horizon, eligibility
by work mode and department, a start date ahead, behind or moved), bereavement and wellbeing moments (review,
escalation, approval under a cap, erasure), returns from leave (local-time waits across DST and moves), quiet
hours, caps and bad input lines.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support import WORLD, read_jsonl
from wayfinder.cli import main

CASES = Path(__file__).parent.parent / "data" / "world-cases"


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _key(m: dict[str, Any]) -> tuple[object, ...]:
    return (m["employee_id"], m["journey_id"], m["step_id"], m["channel"], m["status"], _instant(m["scheduled_for"]))


def _simulate(case: Path, out: Path, until: str | None) -> None:
    policy = case / "policy.yaml"
    args = ["simulate", "--events", str(case / "events.jsonl"), "--journeys", str(case / "journeys"),
            "--catalog", str(WORLD / "catalog"), "--templates", str(WORLD / "templates"),
            "--policy", str(policy if policy.is_file() else WORLD.parent / "empty-policy.yaml"), "--out", str(out)]
    assert main([*args, *(["--until", until] if until else [])]) == 0


def _message_problems(expected: list[dict[str, Any]], got: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    left = list(got)
    for e in expected:
        match = next((m for m in left if _key(m) == _key(e)), None)
        if match is None:
            problems.append(f"missing {_key(e)}")
            continue
        left.remove(match)
        if match["recipient_id"] != e["recipient_id"]:
            problems.append(f"{_key(e)}: recipient {match['recipient_id']}")
        if e.get("reason") and match["reason"] != e["reason"]:
            problems.append(f"{_key(e)}: reason {match['reason']}")
        if "resources" in e:
            ids = list(match["resources"] or [])
            if sorted(ids) != e["resources"]:
                problems.append(f"{_key(e)}: resources {ids}")
            problems += [f"{_key(e)}: {after} before {before}" for before, after in e.get("order", [])
                         if before in ids and after in ids and ids.index(before) > ids.index(after)]
    problems += [f"unexpected {_key(m)}" for m in left]
    return problems


def _task_problems(expected: list[dict[str, Any]], got: list[dict[str, Any]]) -> list[str]:
    left = list(got)
    problems: list[str] = []
    for t in expected:
        match = next((a for a in left if all(a.get(k) == v for k, v in t.items())), None)
        if match is None:
            problems.append(f"missing task {t}")
        else:
            left.remove(match)
    return problems + [f"unexpected task {a['employee_id']}/{a['step_id']}" for a in left]


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir()))
def test_world_case(case: str, tmp_path: Path) -> None:
    folder = CASES / case
    expect = json.loads((folder / "expect.json").read_text(encoding="utf-8"))
    _simulate(folder, tmp_path, expect.get("until"))
    messages = read_jsonl(tmp_path / "messages.jsonl")
    tasks = read_jsonl(tmp_path / "tasks.jsonl")
    letters = read_jsonl(tmp_path / "dead_letters.jsonl")
    problems = _message_problems(expect["messages"], messages) + _task_problems(expect.get("tasks", []), tasks)
    if len(letters) != expect.get("dead_letters", 0):
        problems.append(f"{len(letters)} dead letters: {[d['reason'] for d in letters]}")
    if len({m["message_id"] for m in messages}) != len(messages):
        problems.append("a message_id appears more than once")
    erased = expect.get("forbidden_after")
    if erased:
        problems += [f"after the erasure: {_key(m)}" for m in messages if m["employee_id"] == erased["employee_id"]
                     and (_instant(m["scheduled_for"]) > _instant(erased["time"])
                          or m["status"] in ("pending_approval", "deferred"))]
    assert problems == []
