"""Writing simulate's files and its readable summary."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel

from wayfinder.journeys.events import iso
from wayfinder.streams.embedded import EmbeddedRunner


def write_jsonl(path: Path, records: Iterable[BaseModel | dict[str, Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            data = r.model_dump(mode="json") if isinstance(r, BaseModel) else r
            f.write(json.dumps(data, ensure_ascii=False, default=_default) + "\n")
            count += 1
    return count


def _default(value: Any) -> Any:
    from datetime import datetime

    if isinstance(value, datetime):
        return iso(value)
    msg = f"cannot write {type(value).__name__}"
    raise TypeError(msg)


def write_results(runner: EmbeddedRunner, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "messages.jsonl", runner.messages.values())
    write_jsonl(out / "tasks.jsonl", runner.tasks.values())
    write_jsonl(out / "dead_letters.jsonl", runner.dead_letters)
    write_jsonl(out / "audit.jsonl", runner.audit_records)


def print_summary(runner: EmbeddedRunner, stream: TextIO, *, title: str) -> None:
    s = runner.stats
    stream.write(f"{title}\n")
    stream.write(f"  events: {s.events} processed, {len(runner.dead_letters)} dead letters, "
                 f"{s.duplicates} duplicates ignored, {s.stale} too old to enroll\n\n")
    rows = runner.summary()
    header = ("journey", "enrolled", "sent", "deferred", "approval", "tasks", "done", "exited", "suppressed")
    table = [header]
    for jid, r in rows.items():
        suppressed = ", ".join(f"{k} {v}" for k, v in sorted(r["suppressed"].items())) or "-"
        table.append((jid, str(r["enrolled"]), str(r["sent"]), str(r["deferred"]), str(r["pending_approval"]),
                      str(r["tasks"]), str(r["completed"]), str(r["exited"]), suppressed))
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        cells = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in range(1, len(header) - 1)]
        stream.write("  " + "  ".join(cells) + "  " + row[-1] + "\n")
    if s.diagnostics:
        stream.write("\n  counted problems: " + ", ".join(f"{k} {v}" for k, v in sorted(s.diagnostics.items()))
                     + " (see the log with -v)\n")
    if runner.approvals:
        stream.write(f"\n  {len(runner.approvals)} sensitive message(s) wait for a person to review them.\n")
