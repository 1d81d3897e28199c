"""Builders and helpers shared by the test tiers: times, the test world's definitions, JSON lines."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wayfinder.expressions import Expr, forget_inputs
from wayfinder.journeys.loader import Definitions, Sources, load_or_raise
from wayfinder.streams import unit

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
WORLD = TESTS / "data" / "world"

WriteFiles = Callable[[dict[str, str]], Path]


def world_defs(journeys: Path | None = None, policy: Path | None = None) -> Definitions:
    paths = [WORLD / "catalog"]
    if journeys is not None:
        paths.insert(0, journeys)
    return load_or_raise(Sources(paths=paths, templates=[WORLD / "templates"], policy=policy))


def bundled_defs() -> Definitions:
    """The bundled journeys, catalog, templates and policy, as ``wayfinder demo`` loads them."""
    from wayfinder import examples_dir

    ex = examples_dir()
    return load_or_raise(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                                 policy=ex / "policy.yaml"))


def at(text: str) -> datetime:
    """An aware time from ``2026-03-02T09:15`` (UTC) or a full RFC 3339 string."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class DecisionsIn:
    """A mixin for a served world whose decisions (``decisions.jsonl``) are written into the folder ``out``."""

    out: Path

    def decisions(self) -> list[dict[str, Any]]:
        path = self.out / "decisions.jsonl"
        return read_jsonl(path) if path.is_file() else []


def free_port() -> int:
    """A local TCP port free now (the socket that found it is closed: nothing listens there until a test does)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every JSON object in a JSON-lines file (blank lines skipped)."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# The steps of a keyed wait for the laptop task, with a week's timeout that jumps to ``nudge`` (each journey that
# uses them defines its own ``nudge`` after them), in the rule-by-rule tests of the core and of the runner.
LAPTOP_WAIT = """  - id: laptop
    wait_for: {event: onboarding.task.completed, when: 'event.data.task_id == "laptop"', timeout: 7d,
               on_timeout: nudge}
  - id: thanks
    send: {channel: intranet, subject: "Thanks", body: "Laptop done."}
  - id: done
    end: {}
"""

# The public contract case's new-parent journey (bundled templates), for tests that write their own world.
NEW_PARENT = """
apiVersion: wayfinder/v1
kind: Journey
id: new-parent
name: Welcome to parenthood
owner: benefits@example.com
version: 1
trigger:
  event: hris.dependent.added
  when: event.data.relationship == "child"
audience: employee.employment_type != "contractor"
exit_on:
  - event: hris.employee.terminated
steps:
  - id: welcome
    send:
      channel: email
      template: new-parent/welcome
      resources: {topics: [parental-leave, childcare, parent-network], limit: 5}
  - id: before-return
    wait: {until: trigger.data.date, offset: 12w, at: "09:00"}
  - id: return-checkin
    send: {channel: intranet, template: new-parent/return, resources: {topics: [return-to-work], limit: 3}}
"""


def personal_values() -> set[str]:
    """Every name and email address of the bundled people: what must never reach a log line or a label."""
    from wayfinder import examples_dir

    found: set[str] = set()

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and ("name" in key or "email" in key) and len(value) >= 3:
            found.add(value)

    for line in (examples_dir() / "events.jsonl").read_bytes().split(b"\n"):  # not splitlines: U+2028 in text
        try:
            event = json.loads(line)
        except ValueError:  # the bundled events hold a few broken lines on purpose (dead letters)
            continue
        if isinstance(event, dict):
            walk(event.get("data", {}))
    return found


DictTable = unit.DictTable  # the stages' table on a dict (tests/pipeline)


def count_evaluations(expr: Expr) -> list[dict[str, Any]]:
    """The inputs ``expr`` hands to CEL from now on, one per evaluation its cache did not answer. Every result cache
    is emptied first: expressions written alike share theirs, and another test's may hold the answer."""
    forget_inputs()
    program = expr._program
    runs: list[dict[str, Any]] = []

    class Counting:
        def execute(self, context: dict[str, Any]) -> object:
            runs.append(context)
            return program.execute(context)

    expr._program = Counting()  # type: ignore[assignment]
    return runs
