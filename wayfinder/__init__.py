"""Wayfinder: an event-driven employee-journey personalization engine."""

from importlib.resources import files
from pathlib import Path

__all__ = ["__version__", "examples_dir"]
__version__ = "0.1.0"


def examples_dir() -> Path:
    """The bundled example journeys, catalog, templates, policy and events."""
    return Path(str(files("wayfinder") / "examples"))
