"""How the mailbox stage keeps a recipient's mailbox in its table: held messages one key each.

A busy recipient may have hundreds of held messages; kept inside one record per recipient they grow it
past what Kafka accepts (a changelog record is one Kafka message). So the recipient's record (``s:<id>``)
keeps the cap's slots, the preferences and the ids of the held messages in their order, and each held
message has its own key (``m:<id>\\x1f<message id>``). A unit of work writes only the held messages it
changed. The record still grows with the number of held messages (about 100 bytes each, for the slot
and the id); the stage's size check turns a write that would be too large into a dead letter.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from wayfinder.journeys.records import Message
from wayfinder.journeys.state import MailboxState

HELD_PREFIX = "m:"


class StoredMailbox(BaseModel):
    """The recipient's record in the mailbox table: the mailbox without its held messages, and their ids."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: MailboxState
    held: list[str] = Field(default_factory=list)


def held_key(recipient_id: str, message_id: str) -> str:
    return f"{HELD_PREFIX}{recipient_id}\x1f{message_id}"


def held_ids(raw: bytes | None) -> list[str]:
    """The ids of the held messages in a stored record (none when there is no record)."""
    return StoredMailbox.model_validate_json(raw).held if raw is not None else []


def join(raw: bytes, read: Callable[[str], bytes | None]) -> MailboxState:
    """The whole mailbox from its record and its held messages' keys (``read`` reads one key)."""
    stored = StoredMailbox.model_validate_json(raw)
    pending: dict[str, Message] = {}
    for mid in stored.held:
        value = read(held_key(stored.state.recipient_id, mid))
        if value is not None:
            pending[mid] = Message.model_validate_json(value)
    return stored.state.model_copy(update={"pending": pending})


def split(state: MailboxState | None, before: list[str] | dict[str, Message], read: Callable[[str], bytes | None],
          rid: str) -> dict[str, bytes | None]:
    """The table writes that store ``state`` (None: forget it) over a record that held ``before``:
    the record, the held messages that are new or changed, and deletes for those no longer held.

    ``before`` is either the stored ids (each held message is then written unless the table holds it byte for
    byte) or the held messages as they were read for this input (the objects themselves): then only those the
    mailbox replaced are written, without reading or serialising the others (a busy recipient holds thousands,
    and the mailbox replaces a held message whenever it changes one: it never changes one in place)."""
    writes: dict[str, bytes | None] = {}
    keep = state.pending if state is not None else {}
    for mid in before:
        if mid not in keep:
            writes[held_key(rid, mid)] = None
    if isinstance(before, dict):
        for mid, message in keep.items():
            if before.get(mid) is not message:
                writes[held_key(rid, mid)] = message.model_dump_json().encode("utf-8")
    else:
        for mid, message in keep.items():
            key = held_key(rid, mid)
            value = message.model_dump_json().encode("utf-8")
            if read(key) != value:
                writes[key] = value
    if state is None:
        writes[f"s:{rid}"] = None
    else:
        record = StoredMailbox(state=state.model_copy(update={"pending": {}}), held=list(keep))
        writes[f"s:{rid}"] = record.model_dump_json().encode("utf-8")
    return writes
