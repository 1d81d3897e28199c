"""``run.json``: what a results folder was made from (the events, definitions and end of the clock), written by
``simulate``, ``demo`` and ``serve``, so that ``serve --out`` runs the folder again from the same inputs instead of
rewriting it from others (the bundled ones, where a flag was left out)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from wayfinder.vocabulary import iso, parse_instant

__all__ = ["INPUTS", "RUN_FILE", "differences", "read_run", "write_run"]

RUN_FILE = "run.json"
INPUTS = ("events", "journeys", "catalog", "templates", "policy")


def write_run(out: Path, values: dict[str, Path | list[Path] | None], until: datetime | None) -> None:
    """Record the inputs (None: the bundled ones; several events files as a list) and the clock's end beside the
    results."""
    record: dict[str, Any] = {name: _recorded(values.get(name)) for name in INPUTS}
    record["until"] = iso(until) if until is not None else None
    (out / RUN_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def _recorded(value: Path | list[Path] | None) -> str | list[str] | None:
    if isinstance(value, list):
        return [str(path.resolve()) for path in value]
    return str(value.resolve()) if value is not None else None


def read_run(out: Path) -> dict[str, Any] | None:
    """The inputs a folder was made from, or None when it says nothing (an older folder, or a new one)."""
    try:
        record = json.loads((out / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    values: dict[str, Any] = {name: _read(record.get(name)) for name in INPUTS}
    until = record.get("until")
    values["until"] = parse_instant(until) if isinstance(until, str) else None
    return values


def _read(value: object) -> Path | list[Path] | None:
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return [Path(v) for v in value]
    return Path(value) if isinstance(value, str) else None


def differences(recorded: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """The flags given that name other inputs than the folder was made from (``--catalog``, ...)."""
    out = []
    for name in (*INPUTS, "until"):
        value = given.get(name)
        if value is None:
            continue
        same = (value.resolve() == recorded[name]) if isinstance(value, Path) and recorded[name] is not None else (
            value == recorded[name])
        if not same:
            out.append(f"--{name}")
    return out
