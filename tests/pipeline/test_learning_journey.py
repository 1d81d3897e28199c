"""The bundled promotion into a first management role end to end: ``simulate`` builds each new manager's learning
path, the worker's stages decide the same, ``feedback aggregate`` writes what ranking reads, and ``preview``
shows why a resource was chosen (or demoted)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline.stages import Pipeline
from tests.support import at, read_jsonl
from wayfinder import examples_dir
from wayfinder.catalog import skill_key
from wayfinder.cli import main
from wayfinder.journeys.loader import Sources, load_or_raise
from wayfinder.streams.embedded import EmbeddedRunner

ROLE_SKILLS = {"one-on-ones", "giving-feedback", "delegation", "coaching", "structured-interviewing",
               "performance-reviews"}


def _catalog() -> dict[str, Any]:
    defs = load_or_raise(Sources(paths=[examples_dir()]))
    return {rid: r for rid, r in defs.catalog.resources.items()}


def _check_path(resources: list[str], have: set[str], *, covers: bool = True) -> None:
    catalog = _catalog()
    known = {skill_key(s) for s in have}
    for rid in resources:  # every required skill is held or taught before
        assert {skill_key(s) for s in catalog[rid].requires_skills} <= known, rid
        known |= {skill_key(s) for s in catalog[rid].teaches}
    assert ROLE_SKILLS <= known or not covers


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundled")
    assert main(["simulate", "--events", str(examples_dir() / "events.jsonl"), "--until", "2027-03-01T00:00:00Z",
                 "--out", str(out)]) == 0
    return out


def test_each_promotion_to_a_first_management_role_gets_a_path_a_week_later(bundled: Path) -> None:
    paths = [m for m in read_jsonl(bundled / "messages.jsonl") if m["journey_id"] == "first-time-manager"]
    assert sorted(m["employee_id"] for m in paths) == ["E1030", "E1069"]  # the two promotions to job level M1
    promoted = {"E1030": at("2026-03-05T04:54:00Z"), "E1069": at("2026-09-04T04:55:00Z")}
    for m in paths:
        assert m["step_id"] == "path" and m["status"] == "sent"
        assert at(m["scheduled_for"]) - promoted[m["employee_id"]] == timedelta(days=7)
        _check_path(m["resources"], set())  # neither has a management skill on their profile
        assert len(m["resources"]) == 4  # the bootcamp teaches three skills at once: the smallest cover
        assert "manager-bootcamp" in m["resources"]
        assert m["text"].count("- By ") == 4


def _events(*extra: dict[str, Any]) -> list[str]:
    base = [
        {"type": "hris.employee.upserted", "time": "2026-03-01T08:00:00Z",
         "data": {"given_name": "Ada", "email": "ada@example.com", "country": "GB", "timezone": "Europe/London",
                  "locale": "en-GB", "job_level": "M1", "learning_style": "visual",
                  "skills": ["One-on-ones", "Giving feedback", "Delegation", "Python"], "employment_type": "employee"}},
        {"type": "hris.job.changed", "time": "2026-03-02T09:00:00Z",
         "data": {"change": "promotion", "old_role": "Senior Software Engineer", "new_role": "Engineering Manager",
                  "old_department": "Engineering", "new_department": "Engineering"}},
        *extra,
    ]
    return [json.dumps({"specversion": "1.0", "id": f"t-{n}", "source": "test", "subject": "E9001", **e})
            for n, e in enumerate(base)]


def test_a_visual_learner_with_some_skills_gets_only_what_is_missing_in_video_where_there_is_one(
        tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(_events()) + "\n", encoding="utf-8")
    assert main(["simulate", "--events", str(events), "--until", "2026-04-01T00:00:00Z", "--out",
                 str(tmp_path / "out")]) == 0
    [path] = [m for m in read_jsonl(tmp_path / "out" / "messages.jsonl") if m["journey_id"] == "first-time-manager"]
    assert path["resources"] == ["hiring-training-video", "coaching-for-managers", "performance-reviews-guide"]
    _check_path(path["resources"], {"one-on-ones", "giving-feedback", "delegation"})
    assert "(you will learn structured interviewing)" in path["text"]
    assert "By 23 March 2026: Fair and structured interviewing, the video course" in path["text"]


def test_the_worker_stages_decide_the_same_path_as_simulate() -> None:
    defs = load_or_raise(Sources(paths=[examples_dir()]))
    lines = _events()
    runner = EmbeddedRunner(defs)
    from wayfinder.journeys.events import decode_event

    until = at("2026-04-01T00:00:00Z")
    runner.run([decode_event(line) for line in lines], until)
    p = Pipeline(committed=lambda topic, partition: 1 << 62, defs=defs)
    for line in lines:
        p.tick(decode_event(line).time)
        p.feed(p.employees, "hris", None, line.encode())
        p.drain()
    p.tick(until)
    staged = {}
    for r in p.records:
        if r.topic == "outbound.messages" and r.value is not None:
            m = json.loads(r.value)
            staged[m["message_id"]] = (m["journey_id"], m["status"], m["resources"], m["scheduled_for"])
    simulated = {mid: (m.journey_id, m.status, m.resources, m.scheduled_for.isoformat().replace("+00:00", "Z"))
                 for mid, m in runner.messages.items()}
    assert any(v[0] == "first-time-manager" for v in simulated.values())
    assert staged == simulated


def test_feedback_aggregate_writes_what_ranking_reads_and_preview_shows_the_demotion(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "mine"
    assert main(["examples", "--copy", str(copy)]) == 0
    ratings = [{"type": "engagement.message.feedback", "time": f"2026-02-{day:02d}T10:00:00Z",
                "subject": f"P{day}", "data": {"message_id": "m-x", "resource_id": "first-90-days-manager",
                                               "rating": -1}} for day in range(1, 21)]
    ratings += [{"type": "engagement.message.feedback", "time": f"2026-02-{day:02d}T11:00:00Z",
                 "subject": f"P{day}", "data": {"message_id": "m-y", "resource_id": "manager-bootcamp", "rating": 1}}
                for day in range(1, 21)]
    events = tmp_path / "engagement.jsonl"
    events.write_text("\n".join(json.dumps({"specversion": "1.0", "id": f"f{n}", "source": "test", **e})
                                for n, e in enumerate(ratings)) + "\n", encoding="utf-8")
    feedback = copy / "catalog" / "feedback.yaml"
    assert main(["feedback", "aggregate", "--events", str(events), "--until", "2026-03-01T00:00:00Z",
                 "--out", str(feedback)]) == 0
    assert "ratings: 20\n  rating_sum: -20" in feedback.read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["preview", "promotion", "--employee", "E1030", "--journeys", str(copy / "journeys"), "--catalog",
                 str(copy / "catalog"), "--templates", str(copy / "templates"), "--policy",
                 str(copy / "policy.yaml")]) == 0
    out = capsys.readouterr().out
    kit = out[out.index("== manager-kit"):out.index("== first-month")]
    line = next(x for x in kit.splitlines() if x.startswith("  - first-90-days-manager: "))
    assert "colleagues rated it poorly or rarely clicked it -1.33" in line
    assert "colleagues' feedback: 20 ratings, smoothed mean -0.67 against the catalog's +0.00" in line
    listed = [x.split(":")[0].strip("- ") for x in kit.splitlines() if x.startswith("  - ")]
    assert listed.index("first-90-days-manager") == len(listed) - 1  # from first to last of the five


ASPIRING = """\
apiVersion: wayfinder/v1
kind: Journey
id: growth
name: Growing into the role you want
owner: people@example.com
trigger: {event: hris.employee.upserted}
steps:
  - id: path
    learning_path: {channel: email, template: first-time-manager/learning-path, pace: 1w, horizon: 21d}
"""


def test_without_a_role_the_path_leads_to_the_aspiration_and_the_horizon_cuts_it(tmp_path: Path) -> None:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "growth.yaml").write_text(ASPIRING, encoding="utf-8")
    ex = examples_dir()
    defs = load_or_raise(Sources(paths=[tmp_path / "journeys", ex / "catalog"], templates=[ex / "templates"]))
    from wayfinder.journeys.events import decode_event

    lines = [json.dumps({"specversion": "1.0", "id": f"a-{n}", "source": "test", "subject": subject,
                         "type": "hris.employee.upserted", "time": "2026-03-02T09:00:00Z", "data": data})
             for n, (subject, data) in enumerate([
                 ("E1", {"email": "a@example.com", "aspiration": "support team lead", "skills": ["delegation"]}),
                 ("E2", {"email": "b@example.com", "aspiration": "astronaut"}),
             ])]
    runner = EmbeddedRunner(defs)
    runner.run([decode_event(line) for line in lines], at("2026-04-01T00:00:00Z"))
    [m] = runner.messages.values()
    assert m.employee_id == "E1"
    assert len(m.resources) == 3  # 1w pace over 21 days: three of the path's items
    _check_path(m.resources, {"delegation"}, covers=False)  # cut at the horizon: in order, not complete
    assert "first-90-days-manager" not in m.resources  # it teaches only delegation, which E1 has
    assert runner.stats.diagnostics["learning_path_no_target"] == 1  # E2: not a role of the catalog


def test_an_aspiration_naming_the_role_id_in_another_case_or_with_spaces_leads_to_that_role(tmp_path: Path) -> None:
    # An HR system writes "First line manager" or "FIRST-LINE-MANAGER" for the role `first-line-manager`: neither is
    # its title ("First-line people manager") nor one of its `matches`; both got no path (learning_path_no_target).
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "growth.yaml").write_text(ASPIRING, encoding="utf-8")
    ex = examples_dir()
    defs = load_or_raise(Sources(paths=[tmp_path / "journeys", ex / "catalog"], templates=[ex / "templates"]))
    from wayfinder.journeys.events import decode_event

    people = {"E1": "First line manager", "E2": " FIRST-LINE-MANAGER ", "E3": "first_line_manager",
              "E4": "first-line"}
    lines = [json.dumps({"specversion": "1.0", "id": f"a-{n}", "source": "test", "subject": subject,
                         "type": "hris.employee.upserted", "time": "2026-03-02T09:00:00Z",
                         "data": {"email": f"{subject}@example.com", "aspiration": aspiration}})
             for n, (subject, aspiration) in enumerate(people.items())]
    runner = EmbeddedRunner(defs)
    runner.run([decode_event(line) for line in lines], at("2026-04-01T00:00:00Z"))
    assert sorted(m.employee_id for m in runner.messages.values()) == ["E1", "E2", "E3"]
    assert runner.stats.diagnostics["learning_path_no_target"] == 1  # E4: not the role's id, title or matches
    assert defs.catalog.role_for("Team Lead") == defs.catalog.roles["first-line-manager"]  # matches still first


def test_the_bundled_journey_test_catches_a_lost_video_variant(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "mine"
    assert main(["examples", "--copy", str(copy)]) == 0
    learning = copy / "catalog" / "learning.yaml"
    text = learning.read_text(encoding="utf-8")
    assert text.count("    format: video\n    teaches: [structured-interviewing]\n") == 1
    learning.write_text(text.replace("    format: video\n    teaches: [structured-interviewing]\n",
                                     "    teaches: [structured-interviewing]\n"), encoding="utf-8")
    capsys.readouterr()
    assert main(["test", str(copy), "-k", "first-time-manager"]) == 1
    out = capsys.readouterr().out
    assert ("-message at=2026-03-09T09:00:00Z journey=first-time-manager step=path status=sent resources="
            "['hiring-training-video', 'coaching-for-managers', 'performance-reviews-guide']") in out
    assert "+message at=2026-03-09T09:00:00Z journey=first-time-manager step=path status=sent resources=" \
           "['coaching-for-managers', 'hiring-training', 'performance-reviews-guide']" in out
    assert out.endswith("0 passed, 1 failed\n")


def test_a_pace_longer_than_the_horizon_sends_nothing(tmp_path: Path) -> None:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "growth.yaml").write_text(ASPIRING.replace("pace: 1w, horizon: 21d",
                                                                        "pace: 4w, horizon: 21d"), encoding="utf-8")
    ex = examples_dir()
    defs = load_or_raise(Sources(paths=[tmp_path / "journeys", ex / "catalog"], templates=[ex / "templates"]))
    from wayfinder.journeys.events import decode_event

    line = json.dumps({"specversion": "1.0", "id": "a-1", "source": "test", "subject": "E1",
                       "type": "hris.employee.upserted", "time": "2026-03-02T09:00:00Z",
                       "data": {"email": "a@example.com", "aspiration": "first-line-manager"}})
    runner = EmbeddedRunner(defs)
    runner.run([decode_event(line)], at("2026-04-01T00:00:00Z"))
    assert runner.messages == {}
    assert runner.stats.diagnostics["learning_path_no_target"] == 0


def test_preview_says_why_a_learning_path_sent_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({"id": "P1", "email": "p@example.com", "job_level": "M1", "skills": [
        "One-on-ones", "Giving feedback", "Delegation", "Coaching", "Structured interviewing",
        "Performance reviews"]}), encoding="utf-8")
    data = json.dumps({"change": "promotion", "old_role": "a", "new_role": "b", "old_department": "x",
                       "new_department": "y"})
    assert main(["preview", "first-time-manager", "--employee", str(profile), "--data", data,
                 "--at", "2026-03-02T09:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert "0 message(s)" in out
    assert "  - step path: the profile already has every skill role first-line-manager needs" in out
