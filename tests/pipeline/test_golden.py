"""Golden runs: ``wayfinder simulate`` over the bundled examples must decide exactly what it decided before.

When a change to the examples or the engine changes decisions on purpose, look at the diff
and rewrite the golden files with ``WAYFINDER_UPDATE_GOLDEN=1 ./scripts/test tests/test_golden.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.support import bundled_defs
from wayfinder import examples_dir
from wayfinder.cli import main

GOLDEN = Path(__file__).parent.parent / "golden"
KEEP = ("message_id", "employee_id", "recipient_id", "journey_id", "journey_version", "step_id", "channel",
        "status", "reason", "scheduled_for", "resources")
TASK_KEEP = ("task_id", "employee_id", "assignee", "assignee_id", "journey_id", "step_id", "created_at")


def _project(path: Path, keep: tuple[str, ...]) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return sorted(json.dumps({k: r[k] for k in keep}, ensure_ascii=False, sort_keys=True) for r in rows)


def _compare(actual: list[str], name: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("WAYFINDER_UPDATE_GOLDEN") == "1":
        golden.write_text("\n".join(actual) + "\n", encoding="utf-8")
    expected = golden.read_text(encoding="utf-8").splitlines()
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    assert (missing[:5], extra[:5]) == ([], []), f"{len(missing)} missing, {len(extra)} unexpected in {name}"
    assert len(actual) == len(expected)


def test_simulate_bundled_examples_matches_golden(tmp_path: Path) -> None:
    ex = examples_dir()
    code = main(["simulate", "--events", str(ex / "events.jsonl"), "--until", "2027-03-01T00:00:00Z",
                 "--out", str(tmp_path)])
    assert code == 0
    _compare(_project(tmp_path / "messages.jsonl", KEEP), "bundled-messages.jsonl")
    _compare(_project(tmp_path / "tasks.jsonl", TASK_KEEP), "bundled-tasks.jsonl")
    dead = [json.loads(line)["reason"].split(":")[0] for line in
            (tmp_path / "dead_letters.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(dead) == ["invalid_cloudevent", "invalid_data", "invalid_json"]
    _offered_to_whom_they_are_for(tmp_path / "messages.jsonl")


def _offered_to_whom_they_are_for(path: Path) -> None:
    """Found by an audit of issue 9: people back from bereavement or medical leave were offered "Phased return for
    parents" and "For managers: welcoming someone back", and return-to-work filled every slot of a bereaved
    person's check-in, so no grief or mental-health resource came."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for r in rows:
        got = set(r["resources"] or [])
        if r["journey_id"] in ("bereavement", "medical-return"):
            assert not got & {"phased-return-parents", "manager-return-guide"}, r["message_id"]
        if "manager-return-guide" in got:
            assert r["recipient_id"] != r["employee_id"], r["message_id"]  # a manager's
    # Seen walking the pages on 2026-12-05: a medical return's message listed "Parental leave" among its topics (a
    # record's topics are its resources'; "Keeping in touch during your leave", KIT days, a parental-leave right, was
    # also tagged return-to-work, so people back from medical leave or a loss were offered it).
    family = bundled_defs().catalog.subtopics("family")
    for r in rows:
        if r["journey_id"] in ("bereavement", "medical-return"):
            assert not set(r["topics"]) & family, (r["message_id"], r["topics"])
    check_ins = [r for r in rows if (r["journey_id"], r["step_id"]) == ("bereavement", "return-check-in")]
    assert check_ins and all({"eap-counselling", "mindfulness-app"} & set(r["resources"]) for r in check_ins)
    # Read as their recipients read them on 2026-12-06: the manager's check-in about a parent coming back listed
    # "Your first week back, a checklist" (return-to-work's item for the parent), as if the manager were returning.
    # A message to someone about another person offers nothing that speaks to that person as "you".
    resources = bundled_defs().catalog.resources
    to_others = [(r["message_id"], rid) for r in rows if r["recipient_id"] != r["employee_id"]
                 for rid in r["resources"] or [] if resources[rid].title.startswith("Your ")]
    assert to_others == []
