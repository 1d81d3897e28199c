"""``serve``'s run of a folder names each dead letter's file and line as ``simulate``'s run of it does."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tests.support import bundled_defs
from wayfinder import examples_dir
from wayfinder.cli.report import write_results
from wayfinder.web import events as ev
from wayfinder.web.backend import EmbeddedBackend, World


def _letters(folder: Path) -> list[tuple[str, str | None, int | None]]:
    rows = [json.loads(line) for line in (folder / "dead_letters.jsonl").read_text(encoding="utf-8").splitlines()]
    return [(r["reason"], r.get("source"), r.get("line")) for r in rows]


def test_a_refused_events_letter_keeps_its_file_and_line_after_a_decision(tmp_path: Path) -> None:
    """E1066 erased on 1 November; the bundled events hold an HR update of theirs on 19 November: ``simulate`` writes
    its dead letter (`erased_subject`) with `events.jsonl` and its line. After the first decision in ``serve``, the
    folder was written again by a run that fed the events without their places: the letter named the event's own
    CloudEvents source, ``hris/workday``, and no line. A refused decision names ``decisions.jsonl`` and its line."""
    erasure = {"specversion": "1.0", "id": "x-erase-1066", "source": "privacy/portal",
               "type": "privacy.erasure.requested", "time": "2026-11-01T09:00:00Z", "subject": "E1066", "data": {}}
    events = tmp_path / "events.jsonl"
    events.write_text((examples_dir() / "events.jsonl").read_text(encoding="utf-8") + json.dumps(erasure) + "\n",
                      encoding="utf-8")
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    backend = EmbeddedBackend(tmp_path, World(defs=bundled_defs(), events=events), write=write_results,
                              now=lambda: datetime(2026, 12, 6, 10, tzinfo=UTC))
    before = [row for row in _letters(tmp_path) if row[0] == "erased_subject"]
    assert before and all(source == "events.jsonl" and line for _, source, line in before)
    message = backend.store.pending()[0]
    at = backend.now(not_before=message.created_at)
    decision = ev.review_decided(employee_id=message.employee_id, message_id=message.message_id, decision="approve",
                                 reviewer_id=message.employee_id, at=at, reason=None, edits=None)  # self-review
    backend.record(decision)
    after = _letters(tmp_path)
    assert [row for row in after if row[0] == "erased_subject"] == before
    assert ("self_review", "decisions.jsonl", 1) in after
