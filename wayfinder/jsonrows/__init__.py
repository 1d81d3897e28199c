"""JSON objects read from text: one value (``json_object``) or a file of JSON lines (``json_lines``); and a JSON
text made safe to write as one line of such a file (``one_line``).

What each caller says about a line that holds no object is its own; this only tells it apart: no JSON at all,
or JSON of another type.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["NotAnObject", "json_lines", "json_object", "one_line"]


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


_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def one_line(text: str) -> str:
    """JSON text (written with ``ensure_ascii=False``) that every reader of lines takes as one line: U+0085, U+2028
    and U+2029, which a JSON encoder leaves as they are and Python's ``str.splitlines`` (and so many a reader of
    ``messages.jsonl``) breaks a line at, written as their escapes. They can only be inside a JSON string, where
    the escape is the same character, so the value read back is the same."""
    if text.isascii() or not ("\u2028" in text or "\u2029" in text or "\x85" in text):  # the usual line: at once
        return text
    return text.translate(_LINE_BREAKS)  # slow (about 0.1 microsecond a character), so only when one is there
