"""A busy recipient in the worker: what one more input to the mailbox stage costs when the mailbox holds thousands.

    .venv/bin/python -m benchmarks.mailbox_stage                 # 10,000 messages sent, 12,497 held by the end
    .venv/bin/python -m benchmarks.mailbox_stage --held 20000

The worker's mailbox stage (``streams.stage.MailboxStage``) on an in-memory table, with the bundled policy (a cap
of 3 a week): one recipient is sent ``--held`` messages (the cap's first 3 go, the rest wait behind it), and 500
recipients ``--few`` more than the cap each; then, side by side in one run (best of ``--repeats`` runs of
``--rounds`` units each, alternating), the time of one more dispatch to the busy recipient against one to a
recipient holding a few and one to a recipient holding nothing, and of a cancel that takes nothing from the busy
one against one from a recipient holding a few, each a whole unit of work (the inputs decoded, the mailbox, the
table writes, the write-ahead entry, the records). The timed dispatches to the busy recipient are held too, so the
count its first line prints, taken at the end, is ``--held`` - 3 + ``--repeats`` x ``--rounds``. It also prints the
size of the busy recipient's record and what the last unit wrote: with the held ids in chunks (``streams.held``)
neither grows with what is held. Below about 9,900 held messages the record kept every held id and slot before
2026-12-02 (about 91 bytes each), and above that every input to the mailbox became a dead letter (a record
larger than Kafka accepts).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from benchmarks.core_throughput import bundled
from wayfinder.journeys.effects import CancelPending, Dispatch
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

    def cancel(self, recipient: str, n: int) -> None:
        """A cancel about someone with nothing held here (an exit of a person the recipient was told about)."""
        item = CancelPending(f"E-gone-{n}", None, "exited", (recipient,), AT)
        self._input(recipient.encode(), encode_mailbox_input(item, AT, f"0000:c:{self.offset:09d}"))

    def per_cancel(self, recipient: Callable[[int], str], first: int, rounds: int) -> float:
        t0 = time.perf_counter()
        for n in range(first, first + rounds):
            self.cancel(recipient(n), n)
        return (time.perf_counter() - t0) / rounds

    def per_dispatch(self, recipient: Callable[[int], str], first: int, rounds: int) -> float:
        """Seconds a unit of a dispatch to ``recipient(n)``, for ``rounds`` numbers from ``first``."""
        t0 = time.perf_counter()
        for n in range(first, first + rounds):
            self.dispatch(recipient(n), n)
        return (time.perf_counter() - t0) / rounds


def build_parser() -> argparse.ArgumentParser:
    """The command line (the README's commands of this benchmark are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--held", type=int, default=10_000)
    parser.add_argument("--few", type=int, default=10, help="held by each of the recipients holding a few")
    parser.add_argument("--rounds", type=int, default=500, help="units timed in a row")
    parser.add_argument("--repeats", type=int, default=5, help="times each is timed, alternating (best kept)")
    return parser


def main() -> None:
    args = build_parser().parse_args()
    f = Feeder()
    t0 = time.perf_counter()
    for n in range(args.held):
        f.dispatch("M-busy", n)
    fill = time.perf_counter() - t0
    # Recipients holding a few messages each, behind the cap like the busy one (their dispatches are deferred too):
    # the busy recipient against them is what holding thousands costs; against recipients holding nothing (whose
    # messages go at once: no held message written, no timer) it is that and being behind the cap.
    small = 500
    for n in range(small * (args.few + 3)):  # the cap's 3 go, the rest are held
        f.dispatch(f"M-few-{n % small:04d}", args.held + n)
    first = args.held + small * (args.few + 3)
    # Alternating, best of each: the machine's noise (other processes, the garbage collector) is larger than the
    # difference measured when the two are close.
    empty = few = busy = cancel_few = cancel_busy = float("inf")
    for r in range(args.repeats):
        base = first + 3 * r * args.rounds
        empty = min(empty, f.per_dispatch(lambda n: f"M-{n:07d}", base, args.rounds))
        few = min(few, f.per_dispatch(lambda n: f"M-few-{n % small:04d}", base + args.rounds, args.rounds))
        busy = min(busy, f.per_dispatch(lambda n: "M-busy", base + 2 * args.rounds, args.rounds))
        cancel_few = min(cancel_few, f.per_cancel(lambda n: f"M-few-{n % small:04d}", base, args.rounds))
        cancel_busy = min(cancel_busy, f.per_cancel(lambda n: "M-busy", base, args.rounds))
    held = f.stage.stored("M-busy")
    some = f.stage.stored("M-few-0000")
    assert held is not None and some is not None and f.last is not None
    record = f.table.get("s:M-busy") or b""
    written = sum(len(k) + len(v or b"") for k, v in f.last.writes.items())
    print(f"mailbox stage, one recipient holding {len(held.pending):,} messages (filled in {fill:.1f} s)")
    print(f"best of {args.repeats} x {args.rounds} units each, alternating")
    print(f"dispatch to a recipient holding nothing:      {empty * 1e6:8.1f} µs a unit")
    print(f"dispatch to a recipient holding {len(some.pending):,} (deferred): {few * 1e6:8.1f} µs a unit")
    print(f"dispatch to the busy recipient (deferred):    {busy * 1e6:8.1f} µs a unit   ratio {busy / few:.2f}x the "
          f"few, {busy / empty:.2f}x nothing")
    print(f"a cancel taking nothing, a few held:    {cancel_few * 1e6:8.1f} µs a unit")
    print(f"a cancel taking nothing, the busy one:  {cancel_busy * 1e6:8.1f} µs a unit   ratio "
          f"{cancel_busy / cancel_few:.2f}x")
    print(f"the busy recipient's record: {len(record):,} bytes; the last unit (a cancel to it) wrote "
          f"{len(f.last.writes)} keys, {written:,} bytes")


if __name__ == "__main__":
    main()
