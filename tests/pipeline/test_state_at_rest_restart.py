"""A worker that restarts on tables written by the release before the compact stored form (README "State at rest")
goes on as one that restarts on tables of its own: the same records out, the same states at the end."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic_core import to_json

from tests.pipeline.stages import UNTIL, DictTable, Pipeline, bundled_in_order
from wayfinder.journeys.digest import DigestState
from wayfinder.journeys.state import EmployeeState
from wayfinder.streams.held import StoredMailbox, chunk_key, join
from wayfinder.streams.unit import DONE_PREFIX, Table


def _feed(p: Pipeline, events: list[tuple[datetime, bytes]]) -> None:
    for at, line in events:
        p.tick(at)
        p.feed(p.employees, "hris", None, line)
        p.drain()


def _dict(table: Table) -> DictTable:
    assert isinstance(table, DictTable)
    return table


def full(state: BaseModel) -> dict[str, Any]:
    """Every field of the state, defaults included (the records inside it have one form)."""
    return {name: getattr(state, name) for name in type(state).model_fields}


def in_full(table: DictTable, models: dict[str, Any]) -> int:
    """Rewrite the states of ``table`` as the release before stored them (every field, defaults too; a mailbox's
    held ids in its record, not in chunks, and its held messages' slots among its slots); how many."""
    n = 0
    for key, value in list(table.items()):
        model = models.get(key[:2])
        if model is not None:
            state = model.model_validate_json(value)
            table[key] = to_json(_old_mailbox(table, value) if isinstance(state, StoredMailbox) else full(state))
            n += 1
    return n


def _old_mailbox(table: DictTable, value: bytes) -> dict[str, Any]:
    state = join(value, table.get)
    for n in StoredMailbox.model_validate_json(value).chunks:
        del table[chunk_key(state.recipient_id, n)]
    return {"state": full(state.model_copy(update={"pending": {}})), "held": list(state.pending)}


def restarted(old_tables: bool, cut: int | None = None) -> tuple[list[tuple[str, str | None, bytes | None]], Pipeline,
                                                                 int]:
    """The bundled events, half of them (or the first ``cut``) before a restart (new stages on the same tables) and
    the rest after; the records, the pipeline after the restart, and how many employee states were rewritten in
    full."""
    events = bundled_in_order()
    half = len(events) // 2 if cut is None else cut
    everything = lambda topic, partition: 1 << 62  # noqa: E731 (everything processed is committed)
    first = Pipeline(committed=everything)
    _feed(first, events[:half])
    employees, mailboxes = DictTable(_dict(first.employees.table)), DictTable(_dict(first.mailboxes.table))
    rewritten = 0
    if old_tables:
        rewritten = in_full(employees, {"s:": EmployeeState})
        assert in_full(mailboxes, {"s:": StoredMailbox, "g:": DigestState}) > 0
        if cut is not None:  # a cut where mailboxes hold messages
            assert any(b'"held":["' in v for k, v in mailboxes.items() if k.startswith("s:"))
    second = Pipeline(employees, mailboxes, committed=everything)
    second.offset = first.offset
    _feed(second, events[half:])
    second.tick(UNTIL)
    records = [(r.topic, r.key, r.value) for r in first.records + second.records]
    return records, second, rewritten


def _states(p: Pipeline) -> tuple[dict[str, Any], dict[str, Any]]:
    """The tables' states; not the write-ahead log's mark (``DONE_PREFIX``), which names each run's process."""
    employees = {k: EmployeeState.model_validate_json(v) if k.startswith("s:") else v
                 for k, v in _dict(p.employees.table).items() if not k.startswith(DONE_PREFIX)}
    mailboxes = {k: p.mailboxes.stored(k[2:]) if k.startswith("s:") else v
                 for k, v in _dict(p.mailboxes.table).items() if not k.startswith(DONE_PREFIX)}
    return employees, mailboxes


@pytest.mark.parametrize("cut", [None, 353])
def test_a_restart_on_tables_stored_in_full_goes_on_as_one_on_compact_tables(cut: int | None) -> None:
    """353: the first 353 events leave two messages held (the record kept their ids before the chunks)."""
    records, p, _ = restarted(old_tables=False, cut=cut)
    old_records, old, rewritten = restarted(old_tables=True, cut=cut)
    assert rewritten > 20  # the employee states of the first half, every one stored in full
    untouched = [v for k, v in _dict(old.employees.table).items() if k.startswith("s:") and b'"forgotten":false' in v]
    assert len(untouched) < rewritten  # the second half changed (so read) states written in full
    assert old_records == records
    assert _states(old) == _states(p)
