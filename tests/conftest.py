"""Shared fixtures: a fake clock, and definitions written into a temporary folder."""

from __future__ import annotations

import os
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wayfinder.journeys.loader import Definitions, Sources, load_or_raise

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


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[str]:
    """A real single-node Kafka broker, started once per session by the project's own script."""
    script = ROOT / "deploy" / "local" / "kafka"
    port = os.environ.get("WAYFINDER_KAFKA_PORT", "9092")
    already = subprocess.run([str(script), "status"], capture_output=True, check=False).returncode == 0
    if not already:
        started = subprocess.run([str(script), "up"], capture_output=True, text=True, timeout=900, check=False)
        assert started.returncode == 0, f"could not start Kafka:\n{started.stdout}\n{started.stderr}"
    yield f"127.0.0.1:{port}"
    if not already and os.environ.get("WAYFINDER_KEEP_KAFKA") != "1":
        subprocess.run([str(script), "down"], capture_output=True, timeout=120, check=False)
