import json

import pytest

from wayfinder.jsonrows import NotAnObject, json_lines, json_object, one_line


def test_an_object_is_read_and_anything_else_says_what_it_is() -> None:
    assert json_object(b'{"a": 1}') == {"a": 1}
    with pytest.raises(NotAnObject, match="a list, not a JSON object") as listed:
        json_object("[1]")
    assert listed.value.found == "list"
    with pytest.raises(NotAnObject, match="line 1 column 2") as broken:
        json_object("{oops")
    assert broken.value.found is None
    with pytest.raises(NotAnObject) as undecodable:
        json_object(b'{"a": "\xff"}')
    assert undecodable.value.found is None


def test_lines_keep_their_numbers_past_blank_ones() -> None:
    rows = list(json_lines(['{"a": 1}\n', "\n", "  \n", "7\n", '{"b": 2}\n']))
    assert [number for number, _ in rows] == [1, 4, 5]
    assert rows[0][1] == {"a": 1} and rows[2][1] == {"b": 2}
    assert isinstance(rows[1][1], NotAnObject) and rows[1][1].found == "int"


def test_nesting_too_deep_for_the_parser_is_not_json() -> None:
    with pytest.raises(NotAnObject, match=r"^nested too deeply$") as deep:
        json_object(b"[" * 3000)
    assert deep.value.found is None


def test_one_line_escapes_only_what_splitlines_breaks_at_and_reads_back_the_same() -> None:
    for value in ({"t": "a\u2028b\u2029c\x85d"}, {"t": "Grüße “Anna”"}, {"t": "plain"}):
        text = json.dumps(value, ensure_ascii=False)
        written = one_line(text)
        assert written.splitlines() == [written]
        assert json.loads(written) == value
    assert one_line('{"t": "Grüße"}') == '{"t": "Grüße"}'  # nothing else changes
