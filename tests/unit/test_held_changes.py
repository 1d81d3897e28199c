"""The mailbox stage's held messages: what the dict notes of the mailbox's changes, and the writes ``split`` makes from
it, against the table read back (``streams.held``)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from tests.support import at, bundled_defs
from wayfinder.journeys.mailbox import Mailbox
from wayfinder.journeys.records import Message
from wayfinder.journeys.state import MailboxState, Slot
from wayfinder.streams import held as held_module
from wayfinder.streams.held import HeldDict, Layout, StoredMailbox, chunk_key, held_key, read_mailbox, split

START = at("2026-03-02T12:00:00Z")


def message(n: int, when: datetime, version: int = 0) -> Message:
    return Message(message_id=f"m-{n:04d}", employee_id=f"E{n % 7}", recipient_id="M1", recipient_role="manager",
                   journey_id="j", journey_version=1, step_id="s", channel="email", status="deferred",
                   subject=f"About E{n % 7} ({version})", scheduled_for=when, created_at=START)


def test_every_way_of_changing_the_dict_is_noted_and_undone_by_as_marked() -> None:
    a, b, c, d = (message(n, START + timedelta(hours=n)) for n in range(4))
    held = HeldDict({"a": a, "b": b})
    held["c"] = c  # inserted
    held["a"] = d  # replaced in place
    del held["b"]
    held.pop("missing", None)  # nothing there: nothing noted
    held["b"] = b  # placed again: at the end now
    assert held.was == {"c": None, "a": a, "b": b}
    assert list(held.inserted) == ["c", "b"] and list(held) == ["a", "c", "b"]
    assert held.as_marked() == {"a": a, "b": b}

    changes: list[Callable[[HeldDict], object]] = [
        lambda h: h.clear(), lambda h: h.update({"a": c, "z": d}), lambda h: h.popitem(),
        lambda h: h.setdefault("z", c), lambda h: h.__ior__({"b": c}), lambda h: h.pop("a")]
    for change in changes:
        other = HeldDict({"a": a, "b": b})
        change(other)
        assert other != {"a": a, "b": b}  # it changed ...
        assert other.as_marked() == {"a": a, "b": b}  # ... and every change was noted
    held.mark()
    assert held.was == {} and held.inserted == {} and held.marked == 3


class Stored:
    """A recipient's mailbox kept in a dict as the stage keeps it: the object between inputs (a cache hit) or read
    back from the table (a miss), its held messages marked before each input."""

    def __init__(self) -> None:
        self.table: dict[str, bytes] = {}
        self.state = MailboxState(recipient_id="M1")
        self.layout = Layout()
        self.writes = 0

    def load(self, from_table: bool) -> MailboxState:
        raw = self.table.get("s:M1")
        if from_table and raw is not None:
            self.state, self.layout = read_mailbox(raw, self.table.get)
        if not isinstance(self.state.pending, HeldDict):
            self.state.pending = HeldDict(self.state.pending)
        self.state.pending.mark()
        return self.state

    def keep(self) -> None:
        marked = self.state.pending if isinstance(self.state.pending, HeldDict) else None
        # the held messages' slots are the last ones, in their order (MailboxState)
        self.state.slots = [Slot(at=m.scheduled_for, message_id=mid) for mid, m in self.state.pending.items()]
        writes = split(self.state, marked, self.layout, "M1")
        self.writes = len(writes)
        for key, value in writes.items():
            if value is None:
                self.table.pop(key, None)
            else:
                self.table[key] = value

    def chunks(self) -> list[list[str]]:
        record = StoredMailbox.model_validate_json(self.table["s:M1"])
        return [json.loads(self.table[chunk_key("M1", n)]) for n in record.chunks]


@pytest.mark.parametrize("seed", range(6))
def test_what_split_writes_reads_back_as_the_mailbox_through_any_changes(monkeypatch: pytest.MonkeyPatch,
                                                                         seed: int) -> None:
    """Random changes of the kinds a mailbox makes (a message held at the end, the first going, one withdrawn, one
    replaced, one placed again at the end, the whole dict replaced), on the cached object or one read back: the
    table always reads as the mailbox, in its order, chunks within their size, no held message left behind."""
    monkeypatch.setattr(held_module, "CHUNK", 4)
    rng = random.Random(seed)  # noqa: S311 - test data only
    box = Stored()
    n = 0
    for step in range(300):
        state = box.load(from_table=rng.random() < 0.2)
        pending = state.pending
        if rng.random() < 0.5 and isinstance(pending, HeldDict):
            pending.about("E1")  # the index made now, and kept through what follows (else made when asked)
        for _ in range(rng.randint(1, 3)):
            kind = rng.random()
            ids = list(pending)
            if kind < 0.4 or not ids:
                n += 1
                pending[f"m-{n:04d}"] = message(n, START + timedelta(hours=n))
            elif kind < 0.6:
                del pending[ids[0]]
            elif kind < 0.7:
                pending.pop(rng.choice(ids))
            elif kind < 0.8:
                mid = rng.choice(ids)
                pending[mid] = message(int(mid[2:]), pending[mid].scheduled_for, version=step)
            elif kind < 0.9:
                mid = rng.choice(ids)
                again = pending.pop(mid)
                pending[mid] = again.model_copy(update={"scheduled_for": START + timedelta(hours=n + 1)})
            else:  # the mailbox places everything again (new preferences): a new dict
                state.pending = {mid: m for mid, m in pending.items() if rng.random() < 0.8}
                pending = state.pending
        if isinstance(state.pending, HeldDict):  # the index by person, kept through the same changes
            for who in (f"E{k}" for k in range(8)):
                assert state.pending.about(who) == [mid for mid, m in state.pending.items() if m.employee_id == who]
        box.keep()
        back, _ = read_mailbox(box.table["s:M1"], box.table.get)
        assert back.pending == dict(state.pending) and list(back.pending) == list(state.pending)
        chunks = box.chunks()
        assert [mid for chunk in chunks for mid in chunk] == list(state.pending)
        assert all(1 <= len(chunk) <= 4 for chunk in chunks)
        assert {k for k in box.table if k.startswith(held_key("M1", ""))} == {held_key("M1", m) for m in state.pending}


def test_a_message_held_behind_thousands_writes_only_itself_its_chunk_and_the_record(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """... from what the dict noted, without comparing the thousands held (the comparing way is not taken)."""
    box = Stored()
    pending = box.load(from_table=False).pending
    for n in range(3_000):
        pending[f"m-{n:04d}"] = message(n, START + timedelta(hours=n))
    box.keep()
    compared: list[int] = []

    def comparing(*args: object) -> dict[str, bytes | None]:
        compared.append(1)
        return {}

    monkeypatch.setattr(held_module, "_split_compared", comparing)
    for from_table in (False, True):
        pending = box.load(from_table=from_table).pending
        pending[f"m-{9_000 + from_table}"] = message(9_000 + from_table, START + timedelta(days=999))
        box.keep()
        assert box.writes == 3  # the message, the last chunk, the record
        del box.load(from_table=False).pending[f"m-{100 + from_table:04d}"]  # one withdrawn from the middle
        box.keep()
        assert box.writes == 3  # its delete, its chunk, the record
    assert compared == []


def test_the_index_by_person_follows_every_change_and_a_cancel_finds_what_a_scan_finds() -> None:
    """``HeldDict.about`` against a scan, through each mutator; and the mailbox's cancel about each person gives the
    same outcome on an indexed dict as on a plain one."""
    held = HeldDict({f"m-{n:04d}": message(n, START + timedelta(hours=n)) for n in range(30)})
    assert held.about("E3") == [f"m-{n:04d}" for n in range(30) if n % 7 == 3]
    del held["m-0003"]
    held.pop("m-0010")
    held["m-0003"] = message(3, START)  # placed again: at the end
    held["m-0017"] = message(17, START).model_copy(update={"employee_id": "E4"})  # (never done: made again)
    held.popitem()
    held.update({"m-0100": message(100, START)})
    held.setdefault("m-0101", message(101, START))
    for who in (f"E{k}" for k in range(7)):
        assert held.about(who) == [mid for mid, m in held.items() if m.employee_id == who]
    held.clear()
    assert held.about("E3") == []

    mailbox = Mailbox(bundled_defs().policy)
    people: list[str | None] = [*(f"E{k}" for k in range(7)), "E-nobody", None]
    for person in people:
        outcomes = []
        for indexed in (False, True):
            pending = {f"m-{n:04d}": message(n, START + timedelta(hours=n)) for n in range(40)}
            state = MailboxState(recipient_id="M1", timezone="UTC",
                                 slots=[Slot(at=m.scheduled_for, message_id=mid) for mid, m in pending.items()])
            state.pending = HeldDict(pending) if indexed else pending
            out = mailbox.cancel(state, person, None, "exited", START)
            outcomes.append((out.effects, list(state.pending), state.slots, state.stale_from))
        assert outcomes[0] == outcomes[1]
