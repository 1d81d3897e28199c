"""Where the command line reads and writes: clear errors instead of tracebacks, and the bundled catalog and
templates for a folder that holds only journeys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wayfinder import examples_dir
from wayfinder.journeys import load_documents
from wayfinder.journeys.loader import Sources

CATALOG_KINDS = frozenset({"Catalog", "Topic", "Resource"})


class PathProblem(Exception):
    """A path the command cannot use; the message says what to do instead."""


def events_file(path: Path) -> Path:
    """``path`` when it is a file to read events from; else the command stops with one line saying so."""
    if not path.is_file():
        msg = f"{path}: no such events file"
        raise SystemExit(msg)
    return path


def check_new_folder(path: Path) -> None:
    if path.exists():
        msg = f"{path} already exists; give a new folder name (nothing was copied)"
        raise PathProblem(msg)


def check_out_folder(path: Path) -> None:
    if path.exists() and not path.is_dir():
        msg = f"--out {path} is a file; give a folder (it is made if missing, and files in it are replaced)"
        raise PathProblem(msg)


def _kinds(path: Path) -> set[str]:
    files = sorted(path.rglob("*")) if path.is_dir() else [path]
    found: set[str] = set()
    for file in files:
        if file.suffix not in (".yaml", ".yml") or not file.is_file():
            continue
        docs, _ = load_documents(file, str(file))  # bounded in size and depth; the loader reports what is wrong
        found.update(d.data["kind"] for d in docs if isinstance(d.data, dict) and isinstance(d.data.get("kind"), str))
    return found


def with_bundled(sources: Sources) -> list[str]:
    """Add the bundled catalog and templates when the sources have none of their own, so a copied journey
    checks against what it will run with; returns what was added (for a note on stderr)."""
    kinds: set[str] = set()
    for path in sources.paths:
        kinds |= _kinds(path)
    added = []
    ex = examples_dir()
    if not sources.templates and "Template" not in kinds:
        sources.templates.append(ex / "templates")
        added.append("templates")
    if not kinds & CATALOG_KINDS:
        sources.paths.append(ex / "catalog")
        added.append("catalog")
    return added


def read_profile_file(path: Path) -> dict[str, Any]:
    """A JSON profile given instead of an employee id (``preview``, ``resources``); exits with what to give."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:  # not JSON, not UTF-8, a number too long, nested too deep
        msg = f"{path}: not a JSON profile ({type(e).__name__}); give an employee id or a JSON file"
        raise SystemExit(msg) from e
    if not isinstance(data, dict):
        msg = f"{path}: a JSON profile is an object with the fields of SPEC section 3"
        raise SystemExit(msg)
    return data
