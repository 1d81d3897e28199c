"""How the mailbox stage keeps a recipient's mailbox in its table: held messages one key each, their order in chunks.

A busy recipient may hold thousands of messages (a hiring manager behind the cap for months). Kept inside one
record per recipient they would grow it past what Kafka accepts (a changelog record is one Kafka message: every
input to that mailbox would become a dead letter), and every input would rewrite all of them. So:

- each held message has its own key, ``m:<id>\\x1f<message id>``;
- their order is kept in chunks of up to ``CHUNK`` ids, ``m:<id>\\x1e<n>`` (a JSON list), numbered in order;
- the recipient's record, ``s:<id>``, keeps the mailbox without its held messages: the slots of the messages that
  went (the cap's window), the preferences, the leave, and the numbers of the chunks. A held message's slot is not
  stored: it is at the message's ``scheduled_for``, and the held messages' slots are the last ones, in their order
  (``MailboxState``), so they are put back when the mailbox is read.

A unit of work writes the recipient's record, the held messages the mailbox replaced (it never changes one in
place) and the chunks whose ids changed (the first, when a message went; the last, when one came; the one of a
withdrawn message): what it writes does not grow with what is held. A record stored before 2026-12-02 (the ids
in the record itself as ``held``, the held messages' slots among its slots) reads as it was; the next write
stores it in chunks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import chain, compress, islice, repeat
from operator import is_not
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from wayfinder.journeys.mailbox import HeldByPerson
from wayfinder.journeys.records import Message
from wayfinder.journeys.state import MailboxState, Placing, Slot

HELD_PREFIX = "m:"
CHUNK = 100  # held ids per chunk record (about 4 KB): what a unit that adds one writes

Read = Callable[[str], bytes | None]


class StoredMailbox(BaseModel):
    """The recipient's record in the mailbox table: the mailbox without its held messages, and where their ids are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: MailboxState
    held: list[str] = Field(default_factory=list)  # the held ids, in records stored before 2026-12-02
    chunks: list[int] = Field(default_factory=list)  # the chunks that hold the held ids, in order
    held_slots_apart: bool = False  # the state's slots leave out the held messages' (put back when read)


@dataclass
class Layout:
    """Where the held ids of one mailbox are stored: each chunk's ids in order, and each id's chunk. ``legacy``: the
    ids the record keeps itself (stored before chunks), so the next write stores every chunk."""

    chunks: dict[int, list[str]] = field(default_factory=dict)
    where: dict[str, int] = field(default_factory=dict)
    legacy: list[str] = field(default_factory=list)

    def order(self) -> list[str]:
        """Every stored id, in order (the chunks one after the other)."""
        return list(self.legacy) if self.legacy else [mid for ids in self.chunks.values() for mid in ids]


class HeldDict(HeldByPerson):
    """The held messages of a mailbox the stage keeps in its cache, noting what the mailbox changes in them: for
    each key changed since :meth:`mark`, the message it held then (None: none), and the keys inserted since, in
    order (an insertion goes to the end of a dict). With these :func:`split` writes what changed without looking
    at every held message, so an input to a mailbox holding thousands costs what one to an empty mailbox does.

    Every way of changing a dict notes what it changes (the mailbox uses item assignment, ``del`` and ``pop``);
    the index by person is the core's (``journeys.mailbox.HeldByPerson``)."""

    __slots__ = ("inserted", "marked", "was")

    def __init__(self, items: Mapping[str, Message] | None = None) -> None:
        super().__init__(items)
        self.mark()

    def mark(self) -> None:
        """Start noting changes afresh (the mailbox as stored)."""
        self.was: dict[str, Message | None] = {}
        self.inserted: dict[str, None] = {}
        self.marked = len(self)

    def _note(self, key: str) -> None:
        if key not in self.was:
            self.was[key] = dict.get(self, key)

    def __setitem__(self, key: str, value: Message) -> None:
        self._note(key)
        if dict.get(self, key) is None:
            self.inserted.pop(key, None)  # placed again: at the end now
            self.inserted[key] = None
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._note(key)
        super().__delitem__(key)

    def pop(self, key: str, *default: Any) -> Any:
        if dict.__contains__(self, key):
            self._note(key)
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, Message]:
        if self:
            self._note(next(reversed(self)))
        return super().popitem()

    def clear(self) -> None:
        for key in self:
            self._note(key)
        super().clear()

    def as_marked(self) -> dict[str, Message]:
        """The held messages as they were at :meth:`mark` (their order aside)."""
        before = dict(self)
        for key, value in self.was.items():
            if value is None:
                before.pop(key, None)
            else:
                before[key] = value
        return before


def held_key(recipient_id: str, message_id: str) -> str:
    return f"{HELD_PREFIX}{recipient_id}\x1f{message_id}"


def chunk_key(recipient_id: str, number: int) -> str:
    return f"{HELD_PREFIX}{recipient_id}\x1e{number}"


def _layout(stored: StoredMailbox, read: Read) -> tuple[list[str], Layout]:
    """The held ids in order and where they are stored."""
    if not stored.chunks:
        return stored.held, Layout(legacy=list(stored.held))
    rid = stored.state.recipient_id
    chunks: dict[int, list[str]] = {}
    for n in stored.chunks:
        raw = read(chunk_key(rid, n))
        chunks[n] = json.loads(raw) if raw is not None else []
    where = {mid: n for n, ids in chunks.items() for mid in ids}
    return [mid for ids in chunks.values() for mid in ids], Layout(chunks, where)


def read_mailbox(raw: bytes, read: Read) -> tuple[MailboxState, Layout]:
    """The whole mailbox from its record, its chunks and its held messages' keys (``read`` reads one key)."""
    stored = StoredMailbox.model_validate_json(raw)
    ids, layout = _layout(stored, read)
    rid = stored.state.recipient_id
    pending: dict[str, Message] = {}
    for mid in ids:
        value = read(held_key(rid, mid))
        if value is not None:
            pending[mid] = Message.model_validate_json(value)
    slots = stored.state.slots
    if stored.held_slots_apart:
        slots = [*slots, *(Slot(at=m.scheduled_for, message_id=mid) for mid, m in pending.items())]
    return stored.state.model_copy(update={"pending": pending, "slots": slots}), layout


def join(raw: bytes, read: Read) -> MailboxState:
    """The whole mailbox from its stored keys."""
    return read_mailbox(raw, read)[0]


def placing_of(raw: bytes) -> Placing | None:
    """The recipient's time zone and quiet hours a stored mailbox keeps (its record only: nothing it holds)."""
    return StoredMailbox.model_validate_json(raw).state.placing


def layout_of(raw: bytes, read: Read) -> Layout:
    """Where the held ids of a stored mailbox are (its record and chunks only, not the messages)."""
    return _layout(StoredMailbox.model_validate_json(raw), read)[1]


def split(state: MailboxState | None, marked: HeldDict | None, layout: Layout, rid: str
          ) -> dict[str, bytes | None]:
    """The table writes that store ``state`` (None: forget it) over the stored mailbox whose held messages were
    ``marked`` when read for this input (noting the mailbox's changes since; None: nothing was stored) with
    ``layout`` (updated to what is written): the record, the held messages the mailbox replaced or added, deletes
    for those no longer held, and the chunks whose ids changed."""
    keep = state.pending if state is not None else {}
    if (state is not None and keep is marked and marked is not None and not layout.legacy
            and marked.marked == len(layout.where)):
        return _split_noted(state, marked, layout, rid)
    return _split_compared(state, marked.as_marked() if marked is not None else {}, layout, rid)


def _split_noted(state: MailboxState, held: HeldDict, layout: Layout, rid: str) -> dict[str, bytes | None]:
    """``split`` from what the held messages' dict noted (every stored id was read, and the mailbox changed that
    dict itself): only the ids the mailbox touched are looked at."""
    writes: dict[str, bytes | None] = {}
    came = [mid for mid in held.inserted if dict.__contains__(held, mid)]  # at the end, in this order
    moved: list[str] = []  # out of their place: gone, or placed again at the end
    for mid, was in held.was.items():
        now = dict.get(held, mid)
        if was is not None and (now is None or mid in held.inserted):
            moved.append(mid)
        if now is None:
            if was is not None:
                writes[held_key(rid, mid)] = None
        elif now is not was:
            writes[held_key(rid, mid)] = now.model_dump_json().encode("utf-8")
    _update_chunks(layout, moved, came, rid, writes)
    held.mark()
    writes[f"s:{rid}"] = _record(state, layout)
    return writes


def _split_compared(state: MailboxState | None, before: Mapping[str, Message], layout: Layout, rid: str
                    ) -> dict[str, bytes | None]:
    """``split`` by comparing the held messages with ``before``, the ones stored (a mailbox whose held messages'
    dict was replaced, or a record from before the chunks)."""
    writes: dict[str, bytes | None] = {}
    keep = state.pending if state is not None else {}
    ids = list(keep)
    order = layout.order()
    # What came is at the end (a mailbox appends what it holds).
    added: list[str] = []
    for mid in reversed(ids):
        if mid in before:
            break
        added.append(mid)
    added.reverse()
    # The common case, checked and then compared side by side without a loop in Python: what left is what went
    # first (messages that went), the rest are in their stored order, and every stored id was read.
    left = len(order) - (len(ids) - len(added))
    gone = order[:left] if left >= 0 else []
    usual = (not layout.legacy and left >= 0 and len(before) == len(order)
             and not any(mid in keep for mid in gone) and order[left:] + added == ids)
    if usual:
        # which held messages the mailbox replaced (it never changes one in place): the objects, side by side
        was = chain(islice(before.values(), left, None), repeat(None))
        replaced = list(compress(ids, map(is_not, keep.values(), was)))
    else:
        gone = [mid for mid in order if mid not in keep]
        replaced = [mid for mid, message in keep.items() if before.get(mid) is not message]
    for mid in gone:
        writes[held_key(rid, mid)] = None
    for mid in replaced:
        writes[held_key(rid, mid)] = keep[mid].model_dump_json().encode("utf-8")
    if state is None:
        for n in layout.chunks:
            writes[chunk_key(rid, n)] = None
        writes[f"s:{rid}"] = None
        layout.chunks.clear()
        layout.where.clear()
        layout.legacy = []
        return writes
    if not usual:
        gone_set = set(gone)
        usual = not layout.legacy and [mid for mid in order if mid not in gone_set] + added == ids
    if usual:
        _update_chunks(layout, gone, added, rid, writes)
    else:  # a held message placed anew behind the others, or a record from before the chunks: every chunk again
        _rechunk(layout, ids, rid, writes)
    writes[f"s:{rid}"] = _record(state, layout)
    return writes


def _rechunk(layout: Layout, ids: list[str], rid: str, writes: dict[str, bytes | None]) -> None:
    """Store every held id again, in chunks from 0 (deleting the chunks no longer used)."""
    old = set(layout.chunks)
    layout.chunks = {n: ids[i:i + CHUNK] for n, i in enumerate(range(0, len(ids), CHUNK))}
    layout.where = {mid: n for n, chunk in layout.chunks.items() for mid in chunk}
    layout.legacy = []
    for n, chunk in layout.chunks.items():
        writes[chunk_key(rid, n)] = json.dumps(chunk).encode("utf-8")
    for n in old - set(layout.chunks):
        writes[chunk_key(rid, n)] = None


def _update_chunks(layout: Layout, gone: list[str], added: list[str], rid: str,
                   writes: dict[str, bytes | None]) -> None:
    """Take ``gone`` out of their chunks and put ``added`` at the end; write only the chunks that changed."""
    touched: set[int] = set()
    for mid in gone:
        n = layout.where.pop(mid, None)
        if n is not None:
            touched.add(n)
    gone_set = set(gone)
    for n in touched:
        layout.chunks[n] = [mid for mid in layout.chunks[n] if mid not in gone_set]
    if added:
        last = next(reversed(layout.chunks), -1)
        for mid in added:
            if last < 0 or len(layout.chunks[last]) >= CHUNK:
                last += 1
                layout.chunks[last] = []
            layout.chunks[last].append(mid)
            layout.where[mid] = last
            touched.add(last)
    for n in sorted(touched):
        if layout.chunks[n]:
            writes[chunk_key(rid, n)] = json.dumps(layout.chunks[n]).encode("utf-8")
        else:
            del layout.chunks[n]
            writes[chunk_key(rid, n)] = None


def _record(state: MailboxState, layout: Layout) -> bytes:
    """The recipient's record: without the held messages, and without their slots when those are the last ones at
    the messages' times (as they are between inputs; else the slots are kept whole)."""
    slots, apart = state.slots, False
    n = len(state.pending)
    if n and len(slots) >= n:
        first, last = next(iter(state.pending.values())), next(reversed(state.pending.values()))
        head, tail = slots[-n], slots[-1]
        if (head.message_id, head.at, tail.message_id, tail.at) == (first.message_id, first.scheduled_for,
                                                                     last.message_id, last.scheduled_for):
            slots, apart = slots[:-n], True
    record = StoredMailbox(state=state.model_copy(update={"pending": {}, "slots": slots}),
                           chunks=list(layout.chunks), held_slots_apart=apart)
    return record.model_dump_json().encode("utf-8")
