"""``tools/make_example_events.py`` (the bundled events' writer) runs against today's example catalog and keeps
what its docstring promises: deterministic output, and onboarding task and resource ids taken from the catalog."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from wayfinder import examples_dir

ROOT = Path(__file__).resolve().parents[2]


def _write(out: Path) -> list[str]:
    subprocess.run([sys.executable, str(ROOT / "tools" / "make_example_events.py"), "--out", str(out)],
                   check=True, capture_output=True, timeout=120)
    return out.read_text(encoding="utf-8").splitlines()


def _catalog_ids() -> set[str]:
    ids: set[str] = set()
    for path in (examples_dir() / "catalog").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if (doc or {}).get("kind") == "Catalog":
                ids.update(str(r["id"]) for r in doc.get("resources") or [])
    return ids


def test_the_example_year_is_written_the_same_twice_from_todays_catalog(tmp_path: Path) -> None:
    first, second = _write(tmp_path / "a.jsonl"), _write(tmp_path / "b.jsonl")
    assert first == second
    assert len(first) == 1006  # 1000 before the role-specific onboarding items (2026-12-06)


def test_its_task_and_resource_ids_are_the_catalogs(tmp_path: Path) -> None:
    named: set[str] = set()
    for line in _write(tmp_path / "events.jsonl"):
        try:
            data = json.loads(line).get("data") or {}
        except (json.JSONDecodeError, AttributeError):
            continue  # the lines broken on purpose (dead letters)
        named.update(str(data[k]) for k in ("task_id", "resource_id") if k in data)
    assert named, "no task or resource ids written"
    assert named <= _catalog_ids(), sorted(named - _catalog_ids())
