"""Which journeys an event may start, without testing every journey on its type (README "Audience index").

A company may have hundreds of journeys on the same event types that differ by audience (a country, a
department, a level). For each journey the index reads the top-level ``&&`` parts of its ``trigger.when`` and
``audience`` that compare one field with literals (``employee.country == "DE"``,
``event.data.leave_type in ["parental", "medical"]``, ``employee.attributes.cost_center == 'CC-7'``; strings
and booleans), and files the journey under those fields' values. An event then looks up its own values and
tests only the journeys filed under them, plus those that have no such part. The index only ever leaves out a
journey whose conditions are false without an error (CEL's ``false && x`` is false even when ``x`` fails), so
the engine enrolls, and counts failed expressions, exactly as if it had tested every journey:
- a field the event or profile does not have (the test would fail), or a value other than a string, a
  boolean or null (a number, a list), makes the lookup take every journey filed under that field;
- ``audience`` parts are used only when ``trigger.when`` is absent or made only of such parts, because the
  engine tests ``trigger.when`` first and a failing one is counted even when the audience is false.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from wayfinder.expressions import FieldPath, LiteralKey, conjuncts
from wayfinder.journeys.model import Journey

__all__ = ["AudienceIndex", "conjuncts"]

_MAX_KEYS = 256  # an audience listing more value combinations than this is tested, not indexed

Path = FieldPath
Key = LiteralKey


def _tests(journey: Journey) -> dict[Path, frozenset[Key]]:
    """What the journey's conditions require, as far as the index may use it (see the module's rules)."""
    when = journey.trigger.when
    found, whole = conjuncts(when.source) if when is not None else ({}, True)
    if whole and journey.audience is not None:
        more, _ = conjuncts(journey.audience.source)
        for path, keys in more.items():
            found[path] = found[path] & keys if path in found else keys
    while found and _combinations(found) > _MAX_KEYS:
        widest = max(found, key=lambda p: len(found[p]))
        del found[widest]
    return found


def _combinations(found: dict[Path, frozenset[Key]]) -> int:
    n = 1
    for keys in found.values():
        n *= len(keys)
    return n


_MISSING = object()


def _value(path: Path, employee: dict[str, Any], event: dict[str, Any]) -> object:
    where, name = path
    if where == "employee":
        source: Any = employee
    elif where == "employee.attributes":
        source = employee.get("attributes")
    else:  # event.data, trigger.data: at a trigger both are the event
        source = event.get("data")
    if not isinstance(source, dict) or name not in source:
        return _MISSING
    return source[name]


def _key(value: object) -> Key | object | None:
    """The key of a value; None for null (equal to no literal); ``_MISSING`` when the index cannot tell."""
    if value is None:
        return None
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, str):
        return ("s", value)
    return _MISSING


class _Group:
    """The journeys filed under one tuple of fields."""

    def __init__(self, paths: tuple[Path, ...]) -> None:
        self.paths = paths
        self.by_key: dict[tuple[Key, ...], list[int]] = {}
        self.every: list[int] = []

    def add(self, index: int, found: dict[Path, frozenset[Key]]) -> None:
        self.every.append(index)
        for combo in itertools.product(*(sorted(found[p], key=repr) for p in self.paths)):
            self.by_key.setdefault(combo, []).append(index)

    def lookup(self, employee: dict[str, Any], event: dict[str, Any]) -> Sequence[int]:
        keys: list[Key] = []
        for path in self.paths:
            key = _key(_value(path, employee, event))
            if key is _MISSING:
                return self.every  # the engine tests them all: a failure is counted as it would have been
            if key is None:
                return ()  # null equals no literal: every part on this field is false, without an error
            keys.append(key)  # type: ignore[arg-type]
        return self.by_key.get(tuple(keys), ())


class AudienceIndex:
    """Per event type, the journeys it may start, filed by the fields their conditions compare."""

    def __init__(self, by_trigger: dict[str, list[Journey]]) -> None:
        self.journeys = by_trigger
        self.groups: dict[str, list[_Group]] = {}
        self.untested: dict[str, list[int]] = {}
        for event_type, journeys in by_trigger.items():
            groups: dict[tuple[Path, ...], _Group] = {}
            loose: list[int] = []
            for i, journey in enumerate(journeys):
                found = _tests(journey)
                if not found:
                    loose.append(i)
                    continue
                paths = tuple(sorted(found))
                groups.setdefault(paths, _Group(paths)).add(i, found)
            self.groups[event_type] = list(groups.values())
            self.untested[event_type] = loose

    def candidates(self, event_type: str, employee: dict[str, Any], event: dict[str, Any]) -> list[Journey]:
        """The journeys on ``event_type`` whose conditions may hold, in the order the engine keeps them."""
        journeys = self.journeys.get(event_type)
        if not journeys:
            return []
        groups = self.groups[event_type]
        if not groups:
            return journeys
        chosen = list(self.untested[event_type])
        for group in groups:
            chosen.extend(group.lookup(employee, event))
        chosen.sort()
        return [journeys[i] for i in chosen]
