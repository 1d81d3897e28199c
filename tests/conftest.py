"""Shared fixtures: a fake clock, and definitions written into a temporary folder."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from journeys.loader import Definitions, Sources, load_or_raise

WORLD = Path(__file__).parent / "data" / "world"

WriteFiles = Callable[[dict[str, str]], Path]


@pytest.fixture
def write_files(tmp_path: Path) -> WriteFiles:
    """Write ``{relative path: YAML text}`` under a fresh folder and return the folder."""

    def write(files: dict[str, str]) -> Path:
        for rel, text in files.items():
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return tmp_path

    return write


def world_defs(journeys: Path | None = None, policy: Path | None = None) -> Definitions:
    paths = [WORLD / "catalog"]
    if journeys is not None:
        paths.insert(0, journeys)
    return load_or_raise(Sources(paths=paths, templates=[WORLD / "templates"], policy=policy))


def at(text: str) -> datetime:
    """An aware time from ``2026-03-02T09:15`` (UTC) or a full RFC 3339 string."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
