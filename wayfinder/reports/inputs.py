"""What a report reads: the decisions (messages, tasks), the events, and profiles rebuilt from the events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from wayfinder.journeys.engine import event_view, refused_after_erasure
from wayfinder.journeys.events import ERASURE, CloudEvent, distinct
from wayfinder.journeys.model import Fairness, Journey
from wayfinder.journeys.profile import Profile, apply_event
from wayfinder.journeys.records import Message, Task
from wayfinder.jsonrows import NotAnObject, json_lines
from wayfinder.streams.embedded import ReadEvents, read_event_file
from wayfinder.streams.embedded import read_events as decode_lines


class InputError(ValueError):
    """An input the report cannot read; the text names the file and row, never a value."""


@dataclass
class ReportInputs:
    """Everything a report is computed from. Profiles of erased employees are gone, as are their records."""

    journeys: dict[str, Journey]
    fairness: Fairness
    messages: list[Message] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    events: list[CloudEvent] = field(default_factory=list)
    profiles: dict[str, Profile] = field(default_factory=dict)
    triggered: dict[str, dict[str, list[datetime]]] = field(default_factory=dict)
    erased: int = 0
    skipped_events: int = 0

    @property
    def as_of(self) -> date:
        """The report's date: the day of the last event (ages are computed on it)."""
        last = max((e.time for e in self.events), default=None)
        return last.date() if last is not None else date(1970, 1, 1)

    @property
    def last_event(self) -> datetime | None:
        return max((e.time for e in self.events), default=None)


Rows = Iterable[tuple[int, dict[str, Any]]]


def _rows(path: Path) -> Rows:
    if not path.is_file():
        return
    with path.open("rb") as f:  # bytes: a line that is not UTF-8 is a row that is not JSON, named by its number
        yield from json_rows(f, str(path))


def json_rows(lines: Iterable[str | bytes], where: str) -> Rows:
    """Each JSON object with its 1-based row number; anything else is an error that names the row."""
    for number, row in json_lines(lines):
        if isinstance(row, NotAnObject):
            what = "JSON; regenerate it with wayfinder simulate" if row.found is None else "a JSON object"
            msg = f"{where}: row {number} is not {what}"
            raise InputError(msg) from row
        yield number, row


def read_messages(rows: Rows, where: str) -> list[Message]:
    """Message records as simulate or the workers wrote them (the latest record per ``message_id`` wins)."""
    latest: dict[str, Message] = {}
    for number, row in rows:
        try:
            message = Message.model_validate(row)
        except ValidationError as e:
            fields = ", ".join(".".join(str(p) for p in err["loc"]) for err in e.errors()[:3])
            msg = f"{where}: row {number} is not a message record (fields: {fields})"
            raise InputError(msg) from e
        latest[message.message_id] = message
    return list(latest.values())


def read_tasks(rows: Rows, where: str) -> list[Task]:
    out: list[Task] = []
    for number, row in rows:
        try:
            out.append(Task.model_validate(row))
        except ValidationError as e:
            msg = f"{where}: row {number} is not a task record"
            raise InputError(msg) from e
    return out


def read_events(lines: Iterable[str | bytes]) -> tuple[list[CloudEvent], int]:
    """Decodable events in time order (ties in file order), each (``source``, ``id``) once (the first in that
    order: SPEC §2, a copy has no effect), and how many lines could not be used.

    Lines are decoded as ``simulate`` decodes them (bytes as they are: one invalid byte refuses that event).
    """
    return in_time_order(decode_lines(lines))


def in_time_order(read: ReadEvents) -> tuple[list[CloudEvent], int]:
    """``read_events`` for lines already decoded: the events ordered and each once, and the lines left out."""
    ordered = sorted(read.events, key=lambda e: e.time)  # a stable sort: ties stay in file order
    return list(distinct(ordered)), len(read.dead_letters)


Triggered = dict[str, dict[str, list[datetime]]]  # journey id -> person -> times of matching trigger events


@dataclass
class Replay:
    profiles: dict[str, Profile] = field(default_factory=dict)
    erased: set[str] = field(default_factory=set)
    triggered: Triggered = field(default_factory=dict)
    erased_at: dict[str, datetime] = field(default_factory=dict)  # each id's last erasure, rehired or not
    refused: set[int] = field(default_factory=set)  # ``id()`` of the events the engine refused after an erasure


def replay(events: Iterable[CloudEvent], journeys: dict[str, Journey] | None = None) -> Replay:
    """Replay the profile updates (SPEC §3) as the engine does, and note who had each journey's trigger.

    A trigger counts when its event type matches and its ``when`` holds for the event and the profile
    as it was then (the journey's ``audience`` is not applied: it is one of the decisions audited).
    Erasure forgets the person.
    """
    out = Replay()
    by_type: dict[str, list[Journey]] = {}
    for j in (journeys or {}).values():
        by_type.setdefault(j.trigger.event, []).append(j)
    erased_at = out.erased_at
    for event in events:
        if event.type == ERASURE:
            out.profiles.pop(event.subject, None)
            out.erased.add(event.subject)
            erased_at[event.subject] = max(event.time, erased_at.get(event.subject, event.time))
            for people in out.triggered.values():
                people.pop(event.subject, None)
            continue
        if refused_after_erasure(erased_at.get(event.subject), event.subject in out.erased, event):
            out.refused.add(id(event))
            continue  # the engine refused it too: an engagement event after the erasure counts nobody again
        out.erased.discard(event.subject)  # a hire after the erasure: a new person under the old id
        profile = out.profiles.setdefault(event.subject, Profile(id=event.subject))
        apply_event(profile, event.type, event.data)
        for j in by_type.get(event.type, []):
            if j.trigger.when is not None:
                view = event_view(event)
                scope = {"event": view, "trigger": view, "employee": profile.view(), "now": view["time"]}
                if not j.trigger.when.test(scope)[0]:
                    continue
            out.triggered.setdefault(j.id, {}).setdefault(event.subject, []).append(event.time)
    return out


def build(journeys: dict[str, Journey], fairness: Fairness, messages: list[Message], tasks: list[Task],
          events: list[CloudEvent], skipped: int = 0) -> ReportInputs:
    """Replay the events (in time order) and leave out everyone who asked to be erased: the records and events
    of an id rehired after its erasure count from the hire on (a new person), not those of the erased one."""
    done = replay(events, journeys)
    forgotten, erased_at = done.erased, done.erased_at

    def theirs(person: str, at: datetime) -> bool:
        """Of a person who asked to be erased: still erased, or made up to their erasure (before a rehire)."""
        return person in forgotten or (person in erased_at and at <= erased_at[person])

    return ReportInputs(journeys=journeys, fairness=fairness,
                        messages=[m for m in messages if not theirs(m.employee_id, m.created_at)],
                        tasks=[t for t in tasks if not theirs(t.employee_id, t.created_at)],
                        events=[e for e in events if not theirs(e.subject, e.time) and id(e) not in done.refused],
                        profiles=done.profiles,
                        triggered=done.triggered, erased=len(forgotten), skipped_events=skipped)


def assemble(results: Path, events_file: Path, journeys: dict[str, Journey], fairness: Fairness) -> ReportInputs:
    """Read a results folder (messages.jsonl, tasks.jsonl) and the events they were made from."""
    messages_file = results / "messages.jsonl"
    if not messages_file.is_file():
        msg = f"{results}: no messages.jsonl; point --results at the --out folder of wayfinder simulate or demo"
        raise InputError(msg)
    if not events_file.is_file():
        msg = f"{events_file}: no such events file"
        raise InputError(msg)
    events, skipped = in_time_order(read_event_file(events_file))
    messages = read_messages(_rows(messages_file), str(messages_file))
    tasks = read_tasks(_rows(results / "tasks.jsonl"), str(results / "tasks.jsonl"))
    return build(journeys, fairness, messages, tasks, events, skipped)
