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


def write_run(out: Path, values: dict[str, Path | None], until: datetime | None) -> None:
    """Record the inputs (None: the bundled ones) and the clock's end beside the results."""
    record: dict[str, Any] = {name: str(path.resolve()) if (path := values.get(name)) is not None else None
                              for name in INPUTS}
    record["until"] = iso(until) if until is not None else None
    (out / RUN_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def read_run(out: Path) -> dict[str, Any] | None:
    """The inputs a folder was made from, or None when it says nothing (an older folder, or a new one)."""
    try:
        record = json.loads((out / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    values: dict[str, Any] = {name: Path(record[name]) if isinstance(record.get(name), str) else None
                              for name in INPUTS}
    until = record.get("until")
    values["until"] = parse_instant(until) if isinstance(until, str) else None
    return values


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
