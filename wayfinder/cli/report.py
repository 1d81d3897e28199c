"""Writing simulate's files and its readable summary."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel

from wayfinder.journeys.effects import part_name
from wayfinder.journeys.events import iso
from wayfinder.journeys.loader import Definitions
from wayfinder.journeys.model import Journey
from wayfinder.jsonrows import one_line
from wayfinder.safety import redact_dead_letters
from wayfinder.streams.embedded import EmbeddedRunner, summary_row


def write_jsonl(path: Path, records: Iterable[BaseModel | dict[str, Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            data = r.model_dump(mode="json") if isinstance(r, BaseModel) else r
            f.write(one_line(json.dumps(data, ensure_ascii=False, default=_default)) + "\n")
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
    write_jsonl(out / "dead_letters.jsonl", redact_dead_letters(runner.dead_letters, runner.audit_records))
    write_jsonl(out / "audit.jsonl", runner.audit_records)


def print_summary(runner: EmbeddedRunner, stream: TextIO, *, title: str, defs: Definitions | None = None,
                  include_drafts: bool = False) -> None:
    s = runner.stats
    stream.write(f"{title}\n")
    letters = len(runner.dead_letters)
    stream.write(f"  events: {s.events} processed, {letters} dead letter{'' if letters == 1 else 's'}, "
                 f"{s.duplicates} duplicate{'' if s.duplicates == 1 else 's'} ignored, {s.stale} too old to enroll\n\n")
    rows = runner.summary()
    idle = _enrolled_nobody(defs, rows, include_drafts=include_drafts)
    header = ("journey", "enrolled", "sent", "deferred", "approval", "approved", "rejected", "failed", "tasks",
              "done", "exited", "suppressed")
    table: list[tuple[str, ...]] = [header]
    for jid, r in rows.items():
        suppressed = ", ".join(f"{k} {v}" for k, v in sorted(r["suppressed"].items())) or "-"
        counts = ("enrolled", "sent", "deferred", "pending_approval", "approved", "rejected", "failed", "tasks",
                  "completed", "exited")
        table.append((jid, *(str(r[k]) for k in counts), suppressed))
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        cells = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in range(1, len(header) - 1)]
        stream.write("  " + "  ".join(cells) + "  " + row[-1] + "\n")
    if idle and not s.events and not s.duplicates:  # not the journeys: there was nothing for them to see
        stream.write(f"\n  warning: no event was read{' (every line was a dead letter)' if runner.dead_letters else ''}"
                     ": no journey had anything to enroll on\n")
        idle = []
    for jid in idle:
        where = defs.positions.get((jid, "")) if defs is not None else None
        stream.write(f"\n  warning: journey {jid} enrolled nobody" + (f" ({where})" if where else "")
                     + ": check its trigger event type, trigger.when and audience against the events")
    if idle:
        stream.write("\n")
    held = _held_back(defs, include_drafts=include_drafts)
    for journey in held:
        why = "paused" if journey.status == "paused" else "a draft (--include-drafts lets it enroll)"
        stream.write(f"\n  note: journey {journey.id} (version {journey.version}) is {why}: it enrolled nobody")
    if held:
        stream.write("\n")
    if s.diagnostics:
        stream.write("\n  counted problems: " + ", ".join(f"{k} {v}" for k, v in sorted(s.diagnostics.items()))
                     + " (see the log with -v)\n")
        _diagnostic_sites(runner, defs, stream)
    if runner.approvals:
        stream.write(f"\n  {len(runner.approvals)} sensitive message(s) wait for a person to review them.\n")


def _enrolled_nobody(defs: Definitions | None, rows: dict[str, dict[str, Any]], *, include_drafts: bool) -> list[str]:
    """Active journeys (drafts too with --include-drafts) that nobody entered; they are added to the table
    with zeros and named in a warning, instead of vanishing from the summary."""
    if defs is None:
        return []
    idle = []
    for jid, journey in sorted(defs.in_force(include_drafts=include_drafts).items()):
        runs = journey.status == "active" or (include_drafts and journey.status == "draft")
        if runs and not rows.get(jid, {}).get("enrolled"):
            idle.append(jid)
            rows.setdefault(jid, summary_row())
    return idle


def _held_back(defs: Definitions | None, *, include_drafts: bool) -> list[Journey]:
    """The version of each journey whose status keeps it from enrolling in this run: a paused one that decides, or
    a draft with no other version (without --include-drafts). An empty table then says why (SPEC §4: only active
    journeys enroll)."""
    if defs is None:
        return []
    in_force = defs.in_force(include_drafts=include_drafts)
    held = [j for j in in_force.values() if j.status == "paused"]
    if not include_drafts:
        newest_draft = {jid: j for (jid, _), j in sorted(defs.journeys.items()) if jid not in in_force}
        held.extend(newest_draft.values())
    return sorted(held, key=lambda j: j.id)


def _diagnostic_sites(runner: EmbeddedRunner, defs: Definitions | None, stream: TextIO) -> None:
    """Counted problems per journey and step with the position in the journey file, when the runner counts
    them per site (``Stats.diagnostic_sites``: (kind, journey id, step id) -> count)."""
    sites = runner.stats.diagnostic_sites
    if not sites:
        return
    for (kind, jid, step), n in sorted(sites.items(), key=lambda kv: (str(kv[0][1]), str(kv[0][2]), kv[0][0])):
        where = defs.positions.get((jid or "", step or "")) if defs is not None else None
        condition = part_name(step)
        label = f"journey {jid}" + (f" {condition}" if condition else f" step {step}" if step else "")
        reasons = runner.stats.render_failures.get((jid, step), []) if kind == "render_failed" else []
        detail = "; ".join(reasons)  # two people's messages may fail on a step for two reasons: each is said
        stream.write(f"  {where + ': ' if where else ''}{label}: {kind} {n}{f' ({detail})' if detail else ''}\n")

