"""Run one journey test on the embedded engine and compare what it decided with what the test expects."""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel

from wayfinder.journeys.events import CloudEvent, DecodeError, decode_event, iso
from wayfinder.journeys.loader import Definitions
from wayfinder.journeys.model import ExpectedMessage, ExpectedTask, JourneyTestDoc
from wayfinder.journeys.records import Message, Task
from wayfinder.vocabulary import parse_instant

R = TypeVar("R", Message, Task)


@dataclass
class TestOutcome:
    """One test's result: a readable diff (expected ``-``, actual ``+``) when it failed."""

    __test__ = False  # not a pytest test class

    test_id: str
    where: str
    diff: list[str] = field(default_factory=list)
    error: str | None = None
    # ``file:line:column: ...`` of each expectation that failed (and of the list an ``exact`` test found more in)
    failed_at: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.diff and self.error is None


def _events(test: JourneyTestDoc) -> list[CloudEvent]:
    """The test's events, decoded as ``simulate`` decodes a line: one it would refuse is an error of the test."""
    out = []
    for n, e in enumerate(test.events, 1):
        try:
            out.append(decode_event(e.raw(f"{test.id}-{n}")))
        except DecodeError as error:
            msg = f"event {n} ({e.type}) is one simulate refuses: {error.code}: {error.detail}"
            raise ValueError(msg) from error
    return out


# How an expectation's fields read an actual record, in the order a line shows them.
_MESSAGE_FIELDS: dict[str, Callable[[Message], object]] = {
    "at": lambda m: iso(m.scheduled_for), "journey": lambda m: m.journey_id, "step": lambda m: m.step_id,
    "recipient": lambda m: m.recipient_id, "role": lambda m: m.recipient_role, "channel": lambda m: m.channel,
    "status": lambda m: m.status, "reason": lambda m: m.reason, "resources": lambda m: m.resources,
    "locale": lambda m: m.locale, "subject": lambda m: m.subject,
}
_TASK_FIELDS: dict[str, Callable[[Task], object]] = {
    "at": lambda t: iso(t.created_at), "journey": lambda t: t.journey_id, "step": lambda t: t.step_id,
    "assignee": lambda t: t.assignee, "assignee_id": lambda t: t.assignee_id,
}


def _expected_value(name: str, value: object) -> object:
    return iso(parse_instant(value)) if name == "at" and isinstance(value, str) else value


def _line(kind: str, values: dict[str, object]) -> str:
    return f"{kind} " + " ".join(f"{k}={_shown(v)}" for k, v in values.items())


def _shown(value: object) -> str:
    """A value as the test file writes it (YAML): ``null``, ``true``; it printed Python's ``None``."""
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _matches(name: str, expected: object, actual: object) -> bool:
    if name == "subject":
        return isinstance(actual, str) and isinstance(expected, str) and expected in actual
    return expected == actual


@dataclass
class _Compared:
    diff: list[str] = field(default_factory=list)
    unmet: list[int] = field(default_factory=list)  # the expectations (by index) no record matched
    extra: int = 0  # records no expectation took, when the test is exact


def _compare(kind: str, expected: Sequence[BaseModel], actual: Sequence[R],
             fields: dict[str, Callable[[R], object]], exact: bool) -> _Compared:
    """Expected and actual records as lines over the fields the test names; a unified diff when they differ.

    Expectations take the records they match so that as many as can be are met (:func:`_assign`). Records no
    expectation took are shown as actual lines (and fail an ``exact`` test); an expectation nothing matched shows
    as an expected line."""
    used = [f for f in fields if any(getattr(e, f) is not None for e in expected)] or ["at", "journey", "step"]
    want = [{f: _expected_value(f, getattr(e, f)) for f in used if getattr(e, f) is not None} for e in expected]
    taken = _assign([[i for i, a in enumerate(actual) if all(_matches(f, v, fields[f](a)) for f, v in w.items())]
                     for w in want])
    found = [w for n, w in enumerate(want) if n in taken.values()]
    left = [a for i, a in enumerate(actual) if i not in taken]
    if len(found) == len(want) and (not exact or not left):
        return _Compared()
    expected_lines = sorted(_line(kind, w) for w in want)
    actual_lines = sorted([_line(kind, w) for w in found] + [_line(kind, {f: fields[f](a) for f in used})
                                                              for a in left])
    return _Compared(list(difflib.unified_diff(expected_lines, actual_lines, "expected", "actual", lineterm="", n=2)),
                     [n for n in range(len(want)) if n not in taken.values()], len(left) if exact else 0)


def _failed_at(kind: str, compared: _Compared, place: Callable[[str, int | None], str]) -> list[str]:
    """One line per expectation that failed, at its place in the test file, and one for records an exact test
    did not expect, at the list they would be written in (when every expectation was met). No value is shown:
    the diff below shows them."""
    noun = kind.removesuffix("s")
    out = [f"{place(kind, n)}: expect.{kind}[{n}]: no {noun} matches it" for n in compared.unmet]
    if compared.extra and not compared.unmet:  # with one unmet, the record left over is most likely what it became
        out.append(f"{place(kind, None)}: expect.{kind}: {compared.extra} {noun}(s) that no expectation names "
                   "(the test is exact)")
    return out


def _assign(candidates: list[list[int]]) -> dict[int, int]:
    """Record -> expectation, as many expectations matched as can be (``candidates[n]``: the records expectation
    n matches, in time order; a breadth-first search for a chain of expectations that can each move to another
    record, so no recursion however long the test). Taking the first record greedily failed ``{journey: j}``
    written before ``{journey: j, step: a}`` when the first record was step a's, though another fitted the first."""
    taken: dict[int, int] = {}
    holds: dict[int, int] = {}  # expectation -> record
    for n in range(len(candidates)):
        reached: dict[int, int] = {}  # record -> the expectation that reached it
        queue = deque([n])
        free = None
        while queue and free is None:
            expectation = queue.popleft()
            for record in candidates[expectation]:
                if record in reached:
                    continue
                reached[record] = expectation
                if record not in taken:
                    free = record
                    break
                queue.append(taken[record])
        while free is not None:  # each expectation on the chain moves to the record that reached it
            expectation = reached[free]
            before = holds.get(expectation)
            taken[free], holds[expectation] = expectation, free
            free = before
    return taken


# Runs events on an engine: (definitions, events, until, include drafts) -> (messages, tasks). The CLI gives
# the embedded runner; this package does not import the stream shells.
Simulate = Callable[[Definitions, list[CloudEvent], datetime | None, bool], tuple[list[Message], list[Task]]]


# Where an expectation is written: (``messages`` or ``tasks``, its index, or None for the list) -> file:line:column.
Place = Callable[[str, int | None], str]


def run_test(defs: Definitions, test: JourneyTestDoc, where: str, simulate: Simulate,
             place: Place | None = None) -> TestOutcome:
    """Run the test's events (only its journeys, when it names them) and compare. ``place`` says where each
    expectation is written; without it a failed one is told at ``where``."""
    outcome = TestOutcome(test.id, where)
    journeys = {k: j for k, j in defs.journeys.items() if test.journeys is None or k[0] in test.journeys}
    missing = sorted(set(test.journeys or ()) - {k[0] for k in journeys})
    if missing:
        outcome.error = f"unknown journey {missing[0]!r}"
        return outcome
    try:
        events = _events(test)
        until = parse_instant(test.until) if test.until else None
    except ValueError as e:
        outcome.error = str(e)
        return outcome
    only = Definitions(journeys=journeys, templates=defs.templates, inline=defs.inline, catalog=defs.catalog,
                       policy=defs.policy)
    produced, opened = simulate(only, events, until, test.include_drafts)
    messages = sorted(produced, key=lambda m: (m.scheduled_for, m.message_id))
    tasks = sorted(opened, key=lambda t: (t.created_at, t.task_id))
    expected_messages: list[ExpectedMessage] = list(test.expect.messages)
    expected_tasks: list[ExpectedTask] = list(test.expect.tasks)
    compared = {"messages": _compare("message", expected_messages, messages, _MESSAGE_FIELDS, test.expect.exact),
                "tasks": _compare("task", expected_tasks, tasks, _TASK_FIELDS, test.expect.exact)}
    at = place or (lambda _kind, _n: where)
    for kind, result in compared.items():
        outcome.diff += result.diff
        outcome.failed_at += _failed_at(kind, result, at)
    return outcome
