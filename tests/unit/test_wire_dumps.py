"""``streams.wire.dumps``, the JSON of every record, state part and envelope the worker writes: what ``json.dumps``
with its options writes, from one encoder (building one per call was about a fifth of the cost of a small value)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import at
from wayfinder.streams.wire import _default, dumps

VALUES: list[Any] = [
    {"due": at("2026-03-02T09:00:00Z"), "kind": "enrollment", "timer": {"employee_id": "E1", "token": 3}},
    {"name": "Zoë \u2028 \"quoted\" \\ ", "n": [1, 2.5, None, True], "nested": {"at": at("2026-12-05T10:00:00Z")}},
    "plain", 12, None, [], {}, float("nan")]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_dumps_writes_what_json_dumps_with_its_options_writes(value: Any) -> None:
    assert dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                                      default=_default).encode("utf-8")


def test_dumps_refuses_what_it_cannot_encode_as_before() -> None:
    with pytest.raises(TypeError, match="cannot encode object"):
        dumps({"x": object()})


def test_dumps_builds_no_encoder_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    built = []
    original = json.JSONEncoder.__init__

    def counting(self: json.JSONEncoder, *args: Any, **kwargs: Any) -> None:
        built.append(kwargs)
        original(self, *args, **kwargs)

    monkeypatch.setattr(json.JSONEncoder, "__init__", counting)
    for value in VALUES:
        dumps(value)
    assert built == []
