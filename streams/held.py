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
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import chain, compress, islice, repeat
from operator import is_not

from pydantic import BaseModel, ConfigDict, Field

from wayfinder.journeys.records import Message
from wayfinder.journeys.state import MailboxState, Slot

HELD_PREFIX = "m:"
CHUNK = 500  # held ids per chunk record (about 20 KB)

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
    record keeps them itself (stored before chunks), so the next write stores every chunk."""

    chunks: dict[int, list[str]] = field(default_factory=dict)
    where: dict[str, int] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # every stored id, in order (the chunks one after the other)
    legacy: bool = False


def held_key(recipient_id: str, message_id: str) -> str:
    return f"{HELD_PREFIX}{recipient_id}\x1f{message_id}"


def chunk_key(recipient_id: str, number: int) -> str:
    return f"{HELD_PREFIX}{recipient_id}\x1e{number}"


def _layout(stored: StoredMailbox, read: Read) -> tuple[list[str], Layout]:
    """The held ids in order and where they are stored."""
    if not stored.chunks:
        return stored.held, Layout(order=list(stored.held), legacy=bool(stored.held))
    rid = stored.state.recipient_id
    chunks: dict[int, list[str]] = {}
    for n in stored.chunks:
        raw = read(chunk_key(rid, n))
        chunks[n] = json.loads(raw) if raw is not None else []
    where = {mid: n for n, ids in chunks.items() for mid in ids}
    order = [mid for ids in chunks.values() for mid in ids]
    return order, Layout(chunks, where, list(order))


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


def layout_of(raw: bytes, read: Read) -> Layout:
    """Where the held ids of a stored mailbox are (its record and chunks only, not the messages)."""
    return _layout(StoredMailbox.model_validate_json(raw), read)[1]


def split(state: MailboxState | None, before: dict[str, Message], layout: Layout, rid: str
          ) -> dict[str, bytes | None]:
    """The table writes that store ``state`` (None: forget it) over the stored mailbox that held ``before`` (the
    held messages as read for this input: the objects themselves) with ``layout`` (updated to what is written):
    the record, the held messages the mailbox replaced or added, deletes for those no longer held, and the chunks
    whose ids changed."""
    writes: dict[str, bytes | None] = {}
    keep = state.pending if state is not None else {}
    ids = list(keep)
    # What came is at the end (a mailbox appends what it holds).
    added: list[str] = []
    for mid in reversed(ids):
        if mid in before:
            break
        added.append(mid)
    added.reverse()
    # The common case, checked and then compared side by side without a loop in Python: what left is what went
    # first (messages that went), the rest are in their stored order, and every stored id was read.
    left = len(layout.order) - (len(ids) - len(added))
    gone = layout.order[:left] if left >= 0 else []
    usual = (not layout.legacy and left >= 0 and len(before) == len(layout.order)
             and not any(mid in keep for mid in gone) and layout.order[left:] + added == ids)
    if usual:
        # which held messages the mailbox replaced (it never changes one in place): the objects, side by side
        was = chain(islice(before.values(), left, None), repeat(None))
        replaced = list(compress(ids, map(is_not, keep.values(), was)))
    else:
        gone = [mid for mid in layout.order if mid not in keep]
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
        layout.order = []
        return writes
    if not usual:
        gone_set = set(gone)
        usual = not layout.legacy and [mid for mid in layout.order if mid not in gone_set] + added == ids
    if usual:
        _update_chunks(layout, gone, added, rid, writes)
        layout.order = ids
    else:  # a held message placed anew behind the others, or a record from before the chunks: every chunk again
        _rechunk(layout, ids, rid, writes)
    writes[f"s:{rid}"] = _record(state, layout)
    return writes


def _rechunk(layout: Layout, ids: list[str], rid: str, writes: dict[str, bytes | None]) -> None:
    """Store every held id again, in chunks from 0 (deleting the chunks no longer used)."""
    old = set(layout.chunks)
    layout.chunks = {n: ids[i:i + CHUNK] for n, i in enumerate(range(0, len(ids), CHUNK))}
    layout.where = {mid: n for n, chunk in layout.chunks.items() for mid in chunk}
    layout.order = ids
    layout.legacy = False
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
