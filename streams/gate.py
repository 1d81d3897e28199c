"""The employee stage's inputs in time order across their topics, on the event clock.

``hris.events``, ``engagement.events`` and ``decisions`` are read side by side, and Faust takes their records in
turn, a batch of one topic and then of another: with a backlog, a decision can be read after the same person's
HRIS events of days later. ``simulate`` decides every event in time order. Decided when it comes, such a decision
found the person's state at the later clock: an approval after the review window had closed (stale), an opt-out
after the messages it should have stopped, an escalation task opened and then closed before its own time.

So on the event clock an input is decided only once every other input topic of its partition has been read up to
its time, or has nothing more to read now (the consumer's high watermark: ``drained``); otherwise it waits in the
stage's table under a key that sorts by its time (``g:<partition>:<time>:<topic>:<offset>``), and the waiting
inputs are decided in that order as soon as the first one's turn comes (an input, or the worker's wake-up each
second while one could go). A tick that moves the clock to T (``wayfinder publish --tick``: everything published
before it has been consumed) decides every waiting input up to T first. While inputs wait, every input of the
partition waits behind them, so the order holds. The wall clock decides inputs as they come, as before.

A kept input is committed before it is decided. So that every worker of the group can tell "committed" from
"decided" (``streams.progress``), the worker's commits of an input partition carry, in the offset's metadata, the
first offset of an input kept there (``kept_mark``): the commit says how far the partition is decided, whoever reads
it (``streams.faust_adapter.KeptCommits``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from wayfinder.streams.ordering import micros

GATE_PREFIX = "g:"

__all__ = ["GATE_PREFIX", "KEPT_MARK", "first_waiting", "gate_key", "gated_at", "gated_topic", "kept_mark",
           "marked_kept"]

KEPT_MARK = "wayfinder.kept="  # a commit's metadata: the first offset kept on the partition, or "-": none


def gate_key(partition: int, at: datetime, topic: str, offset: int) -> str:
    """The key an input waits under; a partition's keys sort in the order they are decided (time, then topic and
    offset: the order they were read in, within one topic)."""
    return f"{GATE_PREFIX}{partition}:{micros(at):017d}:{topic}:{offset:012d}"


def gated_at(key: str) -> int:
    """The input's time (microseconds since 1970) of a waiting input's key."""
    return int(key.split(":", 3)[2])


def gated_topic(key: str) -> str:
    """The topic a waiting input was read from (a topic name may hold ':')."""
    return key.split(":", 3)[3].rsplit(":", 1)[0]


def first_waiting(keys: Iterable[str]) -> dict[tuple[str, int], int]:
    """The first offset of each input partition (topic, partition) among the keys of waiting inputs."""
    first: dict[tuple[str, int], int] = {}
    for key in keys:  # read once a second and per commit while inputs are kept: one pass over each key's text
        partition, _, rest = key[len(GATE_PREFIX):].partition(":")
        topic, _, offset = rest.partition(":")[2].rpartition(":")
        place, at = (topic, int(partition)), int(offset)
        known = first.get(place)
        if known is None or at < known:
            first[place] = at
    return first


def kept_mark(first: int | None) -> str:
    """A commit's metadata for an input partition: the first offset of an input kept there (``None``: none)."""
    return f"{KEPT_MARK}{'-' if first is None else first}"


def marked_kept(metadata: str | None) -> int | None:
    """The first kept offset a commit's metadata says (``kept_mark``); ``None``: none kept, or metadata this release
    does not write (an older worker's empty one: its commits mean "decided", as before)."""
    if not metadata or not metadata.startswith(KEPT_MARK):
        return None
    first = metadata.removeprefix(KEPT_MARK)
    return int(first) if first.isdigit() else None
