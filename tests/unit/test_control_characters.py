"""Text from outside (ids, file names) in a log line or a ``file:line:column`` line cannot act on the terminal."""

from __future__ import annotations

import pytest

from wayfinder.journeys._problems import Problem
from wayfinder.vocabulary import escape_controls


@pytest.mark.parametrize(("raw", "shown"), [
    ("E1\u202e\u0001", "E1\\u202e\\x01"),  # a right-to-left override turned the rest of a log line around
    ("a\u2066b\u2069c\u200f", "a\\u2066b\\u2069c\\u200f"),
    ("x\x9b31m", "x\\x9b31m"),  # C1: a CSI on some terminals
    ("x\x1b[31mred", "x\\x1b[31mred"),
    ("line\nnext\u2028", "line\\nnext\\u2028"),
    ("tab\tstays, Zoë and 美玲 too", "tab\tstays, Zoë and 美玲 too"),
])
def test_controls_bidi_marks_and_line_breaks_are_written_out(raw: str, shown: str) -> None:
    """An audit on 2026-12-04 found U+202E and the C1 range written raw by the log escaper."""
    assert escape_controls(raw) == shown


def test_a_problem_is_one_line_whatever_the_id_or_file_name_it_quotes() -> None:
    """An audit on 2026-12-04: an invalid journey id holding a newline forged a ``file:line:column`` line of its own
    ("new-parent.yaml:1:1: note: looks fine"), and an escape sequence in a file name coloured the terminal."""
    problem = Problem("forge/j\x1b[31m.yaml", 3, 5, "journey x\nnew-parent.yaml:1:1: note: looks fine: id: bad")
    assert str(problem) == ("forge/j\\x1b[31m.yaml:3:5: journey x\\nnew-parent.yaml:1:1: note: looks fine: id: bad")
    assert "\n" not in str(problem)
