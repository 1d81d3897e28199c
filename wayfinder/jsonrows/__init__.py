"""JSON objects read from text: one value (``json_object``) or a file of JSON lines (``json_lines``).

What each caller says about a line that holds no object is its own; this only tells it apart: no JSON at all,
or JSON of another type.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["NotAnObject", "json_lines", "json_object"]


class NotAnObject(ValueError):
    """Text that holds no JSON object: ``found`` names the JSON type it holds instead, ``None`` where it is not
    JSON at all (the message is then the parser's, which names a position and never a value)."""

    def __init__(self, found: str | None, message: str) -> None:
        super().__init__(message)
        self.found = found


def json_object(text: str | bytes) -> dict[str, Any]:
    """The JSON object ``text`` holds, or :class:`NotAnObject` (invalid UTF-8 or nesting too deep for the parser
    count as not JSON)."""
    try:
        value = json.loads(text)
    except ValueError as e:
        raise NotAnObject(None, str(e)) from e
    except RecursionError as e:  # thousands of nested brackets: not a row anything here wrote
        raise NotAnObject(None, "nested too deeply") from e
    if not isinstance(value, dict):
        found = type(value).__name__
        raise NotAnObject(found, f"a {found}, not a JSON object")
    return value


def json_lines(lines: Iterable[str | bytes]) -> Iterator[tuple[int, dict[str, Any] | NotAnObject]]:
    """Each line that is not blank, with its 1-based number: the object it holds, or why it holds none."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json_object(line)
        except NotAnObject as e:
            yield number, e
