"""Where the worker leans on faust-streaming beyond its public API, in one place.

* ``FaustTable``: a Faust table seen through the stages' small ``Table`` protocol, writing to the
  table's store (``Table.data``) directly and collecting the changelog records for the agent.
* ``CommittedOffsets``: the consumer group's committed offset of an input partition, read from the
  consumer's private ``_committed_offset`` mapping (Faust keeps it up to date on every commit and
  on every assignment); the stages delete write-ahead entries below it.

* ``read_unread_from_the_start``: a partition of an input that no one has committed an offset for is read
  from its first record after every seek to the committed offsets. Faust seeks back to the committed
  offsets when a rebalance drops records it had fetched (``Consumer.getmany`` while the flow is
  stopped), and aiokafka's ``seek_to_committed`` does not move a partition without a committed offset
  (or one at 0): records that arrived on a new partition during a rebalance were fetched, dropped and
  never read again. Seeking such a partition to its beginning is what ``auto_offset_reset=earliest``
  means; a record read twice is deduplicated by its event id and the write-ahead log.

All of these are private to Faust and may change in any release. ``tests/unit/test_faust_adapter.py``
checks them against the installed Faust, and ``CommittedOffsets.check`` refuses to start a worker
whose consumer lacks the mapping (without it, write-ahead entries would never be deleted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from faust.types import TP

COMMITTED_ATTRIBUTE = "_committed_offset"


class FaustInternalsChanged(RuntimeError):
    """The installed faust-streaming no longer has what the worker relies on."""


class FaustTable:
    """A Faust table seen through the small ``Table`` protocol the stages use (str keys, bytes values).

    Writes go to the table's store at once and their changelog records are collected, then
    produced by the agent on the raw producer, in order, before the unit's output records. This
    skips Faust's per-key changelog path (a buffered publish per write, several times slower);
    Faust still restores the table from the same changelog topic.
    """

    def __init__(self, table: Any) -> None:
        self._t = table
        self.pending: list[tuple[bytes, bytes | None]] = []

    @property
    def changelog_topic(self) -> str:
        return str(self._t.changelog_topic.get_topic_name())

    def get(self, key: str) -> bytes | None:
        value = self._t.data.get(key.encode("utf-8"))
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes | None) -> None:
        k = key.encode("utf-8")
        store = self._t.data
        if value is None:
            if k in store:
                del store[k]
        else:
            store[k] = value
        self.pending.append((k, value))

    def keys(self) -> Iterator[str]:
        return (k.decode("utf-8") for k in list(self._t.data.keys()))

    def drain(self) -> list[tuple[bytes, bytes | None]]:
        out, self.pending = self.pending, []
        return out


class CommittedOffsets:
    """``committed(topic, partition)``: the next offset the group will read, or ``None`` when not known."""

    def __init__(self, app: Any) -> None:
        self._app = app

    def check(self) -> None:
        """Raise at start-up if the app's consumer has no committed-offset mapping (see the module doc)."""
        consumer = self._app.consumer
        offsets = getattr(consumer, COMMITTED_ATTRIBUTE, None)
        if not isinstance(offsets, MutableMapping):
            cls = type(consumer)
            msg = (f"{cls.__module__}.{cls.__qualname__} has no {COMMITTED_ATTRIBUTE} mapping (found "
                   f"{type(offsets).__name__}): this faust-streaming release is not supported by the worker's "
                   "write-ahead log; pin faust-streaming to a release that tests/unit/test_faust_adapter.py "
                   "passes with, or change wayfinder/streams/faust_adapter.py (CommittedOffsets) to read "
                   "the committed offsets where this release keeps them")
            raise FaustInternalsChanged(msg)

    def __call__(self, topic: str, partition: int) -> int | None:
        offsets = getattr(self._app.consumer, COMMITTED_ATTRIBUTE, {})
        value = offsets.get(TP(topic, partition))
        return value if isinstance(value, int) else None


def read_unread_from_the_start(consumer: Any, is_input: Callable[[str], bool]) -> None:
    """Wrap ``consumer.seek_to_committed`` (the Faust consumer's, which ``perform_seek`` calls) so that input
    partitions without a committed offset are sought to their beginning (see the module doc)."""
    seek_to_committed = consumer.seek_to_committed

    async def seek_to_committed_or_beginning() -> Mapping[TP, int | None]:
        committed: Mapping[TP, int | None] = await seek_to_committed()
        unread = [tp for tp, offset in committed.items() if (offset is None or offset <= 0) and is_input(tp.topic)]
        if unread:  # offset 0 of a log whose start has been deleted resets to its earliest record
            await consumer.seek_wait(dict.fromkeys(unread, 0))
        return committed

    consumer.seek_to_committed = seek_to_committed_or_beginning


def check_on_start(app: Any, is_input: Callable[[str], bool] = lambda topic: False) -> None:
    """Make ``app`` run ``CommittedOffsets.check`` when it starts, before it connects or reads anything, and
    read the unread input partitions (``is_input``) from their start (``read_unread_from_the_start``)."""
    started = app.on_start

    async def on_start() -> None:
        await started()
        CommittedOffsets(app).check()
        read_unread_from_the_start(app.consumer, is_input)

    app.on_start = on_start
