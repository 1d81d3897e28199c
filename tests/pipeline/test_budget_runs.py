"""A journey whose template and condition explode fails only its own messages: the run goes on (issue 11)."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support import ROOT, read_jsonl
from wayfinder.cli import main

EXAMPLES = ROOT / "wayfinder" / "examples"
LIMIT_S = 90.0  # the whole simulate on a loaded machine; without budgets one render alone takes minutes

BOMB = """\
apiVersion: wayfinder/v1
kind: Journey
id: bomb
name: A journey written by someone in a hurry
owner: people-experience@example.com
version: 1
status: active
trigger:
  event: hris.job.changed
steps:
  - id: explode
    send:
      channel: email
      subject: "Hello {{ recipient.given_name|default('') }}"
      body: >-
        {% macro d(s, n) %}{% if n %}{{ d(s ~ s, n - 1) }}{% else %}{{ s }}{% endif %}{% endmacro %}
        {{ d('ab', 40) }}
  - id: loop
    send:
      channel: email
      subject: "Hello again"
      body: "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
  - id: fine
    send:
      channel: email
      when: "[1, 2, 3].exists(x, x == 2)"
      subject: "Still here"
      body: "This one renders."
"""


def simulate(folder: Path, out: Path) -> float:
    started = time.perf_counter()
    code = main(["simulate", "--events", str(EXAMPLES / "events.jsonl"), "--journeys", str(folder / "journeys"),
                 "--catalog", str(folder / "catalog"), "--templates", str(folder / "templates"),
                 "--policy", str(folder / "policy.yaml"), "--out", str(out)])
    assert code == 0
    return time.perf_counter() - started


def test_exploding_steps_fail_alone_and_the_run_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "defs"
    for part in ("journeys", "catalog", "templates"):
        shutil.copytree(EXAMPLES / part, folder / part)
    shutil.copy(EXAMPLES / "policy.yaml", folder / "policy.yaml")
    simulate(folder, tmp_path / "before")
    (folder / "journeys" / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    capsys.readouterr()
    took = simulate(folder, tmp_path / "after")
    summary = capsys.readouterr().out
    # Counted, with the position of the step in its file.
    assert re.search(r"bomb\.yaml:11:9: journey bomb step explode: render_failed \d+", summary), summary
    assert re.search(r"bomb\.yaml:18:9: journey bomb step loop: render_failed \d+", summary), summary

    assert took < LIMIT_S
    before = read_jsonl(tmp_path / "before" / "messages.jsonl")
    after = read_jsonl(tmp_path / "after" / "messages.jsonl")
    bomb = [m for m in after if m["journey_id"] == "bomb"]
    by_step = Counter((m["step_id"], m["status"], m["reason"]) for m in bomb)
    promotions = by_step[("fine", "sent", None)] + by_step[("fine", "deferred", "quiet_hours")]
    assert promotions > 0
    assert by_step[("explode", "failed", "render_error")] == by_step[("loop", "failed", "render_error")] > 0
    # Every other journey decided exactly what it decided without the bomb.
    assert sorted((m["message_id"], m["status"]) for m in after if m["journey_id"] != "bomb") == sorted(
        (m["message_id"], m["status"]) for m in before)


def test_a_50_megabyte_line_is_a_short_dead_letter_and_the_rest_is_simulated(tmp_path: Path) -> None:
    import resource

    lines = (EXAMPLES / "events.jsonl").read_text(encoding="utf-8").splitlines()
    huge = '{"specversion": "1.0", "id": "huge", "data": {"x": "' + "A" * 50_000_000 + '"}}'
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join([*lines[:10], huge, *lines[10:]]) + "\n", encoding="utf-8")
    del huge
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert main(["simulate", "--events", str(events), "--out", str(tmp_path / "out")]) == 0
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    letters = read_jsonl(tmp_path / "out" / "dead_letters.jsonl")
    [letter] = [d for d in letters if d["line"] == 11]
    assert letter["reason"].startswith("too_large")
    assert len(letter["raw"]) < 70_000 and letter["raw"].endswith("[cut: 50000055 characters in all]")
    assert (tmp_path / "out" / "dead_letters.jsonl").stat().st_size < 1_000_000
    assert len(read_jsonl(tmp_path / "out" / "messages.jsonl")) > 100
    assert grown_mb < 600  # the line is read once (with its decoding); no copy per store


SURROGATE = """\
apiVersion: wayfinder/v1
kind: Journey
id: surrogate
name: A string escape that is no character
owner: people-experience@example.com
version: 1
status: active
trigger:
  event: hris.job.changed
steps:
  - id: broken
    send:
      channel: email
      subject: "Hello{{ '\\\\ud800' }}"
      body: "A half of a pair{{ '\\\\udc80' }}"
  - id: fine
    send: {channel: email, subject: "Still here", body: "This one renders."}
"""


def test_a_lone_surrogate_a_template_prints_fails_its_message_and_the_run_goes_on(tmp_path: Path) -> None:
    """An audit on 2026-12-06: a Jinja string escape made a lone surrogate, which UTF-8 cannot write, and
    ``simulate`` ended with a traceback while writing messages.jsonl (every later event lost)."""
    journeys = tmp_path / "journeys"
    journeys.mkdir()
    (journeys / "surrogate.yaml").write_text(SURROGATE, encoding="utf-8")
    def ev(n: int, etype: str, data: dict[str, str], when: str) -> str:
        return json.dumps({"specversion": "1.0", "id": f"s-{n}", "source": "tests/surrogate", "type": etype,
                           "time": when, "subject": "E1", "data": data})
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join([
        ev(1, "hris.employee.upserted", {"id": "E1", "given_name": "Ana", "email": "ana@example.com",
                                         "timezone": "Europe/Berlin"}, "2026-03-01T09:00:00Z"),
        ev(2, "hris.job.changed", {"change": "promotion", "new_role": "Lead"}, "2026-03-02T10:00:00Z"),
    ]) + "\n", encoding="utf-8")
    assert main(["simulate", "--events", str(events), "--journeys", str(journeys), "--policy",
                 str(EXAMPLES / "policy.yaml"), "--out", str(tmp_path / "out")]) == 0
    by_step = {m["step_id"]: m for m in read_jsonl(tmp_path / "out" / "messages.jsonl")}
    assert (by_step["broken"]["status"], by_step["broken"]["reason"]) == ("failed", "render_error")
    assert by_step["fine"]["status"] in ("sent", "deferred")
