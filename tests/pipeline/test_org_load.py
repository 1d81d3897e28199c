"""The organisation-shaped load generator: deterministic by seed, the shape it promises, and simulate reads it."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.org_load import generate, main
from benchmarks.org_scale import print_breakdown
from tests.support import read_jsonl
from wayfinder.cli import main as cli_main


def test_the_same_seed_writes_the_same_events_and_another_seed_others() -> None:
    first = list(generate(400, seed=3))
    assert first == list(generate(400, seed=3))
    assert first != list(generate(400, seed=4))


def test_the_shape_spans_of_control_hr_partners_a_busy_hiring_manager_and_time_order() -> None:
    events = [json.loads(line) for line in generate(2000, seed=7)]
    times = [e["time"] for e in events]
    assert times == sorted(times)
    first = {e["subject"]: e["data"] for e in events if e["type"] == "hris.employee.upserted"
             and e["time"] < "2026-01-01"}
    assert len(first) == 2000
    reports = Counter(d["manager_id"] for d in first.values() if d["manager_id"])
    span = sum(reports.values()) / len(reports)
    assert 6 <= span <= 10, span
    partners = {d["hr_partner_id"] for d in first.values()}
    assert len(partners) == 10  # 1:200
    hires = Counter(e["data"]["manager_id"] for e in events if e["type"] == "hris.employee.hired")
    assert 350 <= sum(hires.values()) <= 450  # about 20% of the headcount a year
    (_, n), (_, runner_up) = hires.most_common(2)
    assert n >= 5 * runner_up
    kinds = Counter(e["type"] for e in events)
    for kind in ("hris.leave.started", "hris.dependent.added", "hris.job.changed", "hris.manager.changed",
                 "hris.employee.terminated", "wellbeing.signal", "onboarding.task.completed",
                 "engagement.message.clicked"):
        assert kinds[kind] > 0, kind
    assert 8 <= len(events) / 2000 <= 14


def test_simulate_reads_the_file_with_no_dead_letters(tmp_path: Path) -> None:
    events = tmp_path / "org.jsonl"
    assert main(["--employees", "300", "--seed", "1", "--out", str(events)]) == 0
    out = tmp_path / "out"
    assert cli_main(["simulate", "--events", str(events), "--until", "2027-01-31T00:00:00Z", "--out", str(out)]) == 0
    assert read_jsonl(out / "dead_letters.jsonl") == []
    statuses = Counter(m["status"] for m in read_jsonl(out / "messages.jsonl"))
    assert statuses["sent"] > 100
    assert read_jsonl(out / "tasks.jsonl")


def test_the_breakdown_of_an_events_file_reports_the_rate_and_the_bytes_per_person(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "org.jsonl"
    events.write_text("".join(line + "\n" for line in generate(300, seed=5)), encoding="utf-8")
    print_breakdown(0, 0, events)
    out = capsys.readouterr().out
    count = len(events.read_text(encoding="utf-8").splitlines())
    assert f"simulate of {count:,} events in " in out
    people = int(re.search(r"bytes per person kept \(([\d,]+) people", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert people >= 300
    assert "  employee.profile " in out

    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    print_breakdown(0, 0, empty)
    assert "nobody was kept" in capsys.readouterr().out
