"""A busy recipient in the worker: what one more input to the mailbox stage costs when the mailbox holds thousands.

    .venv/bin/python -m benchmarks.mailbox_stage                 # 10,000 held messages
    .venv/bin/python -m benchmarks.mailbox_stage --held 20000

The worker's mailbox stage (``streams.stage.MailboxStage``) on an in-memory table, with the bundled policy (a cap
of 3 a week): one recipient is sent messages until ``--held`` wait behind the cap; then, side by side in one run,
the time of one more dispatch to that recipient against one to a recipient holding nothing, each a whole unit of
work (the inputs decoded, the mailbox, the table writes, the write-ahead entry, the records). It also prints the
size of the busy recipient's record and what the last unit wrote: with the held ids in chunks (``streams.held``)
neither grows with what is held. Below about 9,900 held messages the record kept every held id and slot before
2026-12-02 (about 91 bytes each), and above that every input to the mailbox became a dead letter (a record
larger than Kafka accepts).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from benchmarks.core_throughput import bundled
from wayfinder.journeys.effects import Dispatch
from wayfinder.journeys.mailbox import Mailbox
from wayfinder.journeys.records import Message
from wayfinder.streams.clock import StreamClock
from wayfinder.streams.metrics import StreamMetrics
from wayfinder.streams.ordering import encode_watermark
from wayfinder.streams.stage import Incoming, MailboxStage
from wayfinder.streams.unit import DictTable, Work
from wayfinder.streams.wire import encode_mailbox_input

AT = datetime(2026, 3, 2, 12, tzinfo=UTC)


class Feeder:
    """Inputs to one mailbox stage, one unit of work each, at one decision time."""

    def __init__(self) -> None:
        policy = bundled().policy
        self.table = DictTable()
        self.stage = MailboxStage(self.table, StreamClock("event"), StreamMetrics(CollectorRegistry()),
                                  lambda topic, partition: None, Mailbox(policy), ticks_topic="mticks")
        self.offset = 0
        self.last: Work | None = None
        self._input(None, encode_watermark(0, AT))

    def _input(self, key: bytes | None, value: bytes) -> None:
        self.offset += 1

        def handle(work: Work, msg: Incoming) -> None:
            self.stage.handle(work, msg)
            self.last = work

        self.stage.process(Incoming("mailbox", 0, self.offset, key, value, None), handle)

    def dispatch(self, recipient: str, n: int) -> None:
        message = Message(message_id=f"m-{recipient}-{n:07d}", employee_id=f"E{n % 500}", recipient_id=recipient,
                          recipient_role="manager", journey_id="new-manager", journey_version=1, step_id="heads-up",
                          channel="email", status="deferred", scheduled_for=AT, created_at=AT, subject="A new report",
                          text="Someone joins your team." * 20)
        raw = encode_mailbox_input(Dispatch(recipient, message, "UTC", None), AT, f"0000:x:{self.offset:09d}")
        self._input(recipient.encode(), raw)

    def per_dispatch(self, recipient: str | None, first: int, rounds: int) -> float:
        """Seconds a unit of a dispatch to ``recipient`` (None: each to a recipient of its own, holding nothing)."""
        t0 = time.perf_counter()
        for n in range(first, first + rounds):
            self.dispatch(recipient or f"M-{n:07d}", n)
        return (time.perf_counter() - t0) / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--held", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=500)
    args = parser.parse_args()
    f = Feeder()
    t0 = time.perf_counter()
    for n in range(args.held):
        f.dispatch("M-busy", n)
    fill = time.perf_counter() - t0
    few = f.per_dispatch(None, 0, args.rounds)
    busy = f.per_dispatch("M-busy", args.held, args.rounds)
    held = f.stage.stored("M-busy")
    assert held is not None and f.last is not None
    record = f.table.get("s:M-busy") or b""
    written = sum(len(k) + len(v or b"") for k, v in f.last.writes.items())
    print(f"mailbox stage, one recipient holding {len(held.pending):,} messages (filled in {fill:.1f} s)")
    print(f"dispatch to a recipient holding nothing: {few * 1e6:8.1f} µs a unit")
    print(f"dispatch to the busy recipient:          {busy * 1e6:8.1f} µs a unit   ratio {busy / few:.2f}x")
    print(f"the busy recipient's record: {len(record):,} bytes; the last unit wrote {len(f.last.writes)} keys, "
          f"{written:,} bytes")


if __name__ == "__main__":
    main()
