"""Issue 10's worker figures, in one run on one broker with the same events: the Wayfinder worker against a
Faust agent that does nothing, one worker against two, and event-to-decision latency at a fixed rate.

    deploy/local/kafka up
    .venv/bin/python -m benchmarks.worker_scale                     # 20,000 events of an organisation's year
    .venv/bin/python -m benchmarks.worker_scale --profile prof/     # also: cProfile of a worker, per stage
    .venv/bin/python -m benchmarks.worker_scale --stages-only       # part 0 alone, no broker needed

0. The stages alone: the same events through the worker's two stages in this process, without Kafka (tables on
   dicts): what the journey core and the stages cost, and how many records a worker sends per event.

The events are the first ``--events`` of ``benchmarks.org_load`` for a tenth as many employees (seed 7): an
organisation's year, so hires, leaves, timers and engagement in a realistic mix. The workers run with the
event clock (as the Kafka order tests do) and 4 partitions, each a real ``wayfinder worker`` subprocess.

1. Worker against the do-nothing agent: the events are published first; the agent (``benchmarks.faust_noop``)
   reads the two input topics from the start, timed from its first event to the last; then one worker reads the
   same topics, timed from Faust's "Ready" to its group having caught up on the inputs and the mailbox topic
   (``kafka_throughput``'s method) and then, after a tick to the last event's time, on the tick topics and the
   mailbox again: every decision up to the last event made (on the event clock the mailbox acts on an input
   once every partition has passed its time). Beside it, the journey core alone (``simulate`` over the same
   events in a fresh process, no Kafka): the agent's cost per event over the core's is the most any worker that
   runs this core can reach against the agent.
2. One worker against two: each on topics of its own, the workers started and settled first, then the same
   events published at full speed; timed from the first send to the same end as in 1. The machine has 2
   cores, shared by the workers, the broker and the publisher: two workers cannot get a core each.
3. Latency: a wall-clock worker with profiles loaded; births published at each of ``--rates`` per second for
   ``--seconds``; for each, the time from its send to the first decision record about that employee on
   ``outbound.messages`` (the record's time as the worker produced it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from prometheus_client import CollectorRegistry

from benchmarks.kafka_throughput import (
    WAYFINDER,
    latency,
    noop_rate,
    settings,
    start_worker,
)
from benchmarks.org_load import generate
from wayfinder.journeys.digest import Digests
from wayfinder.journeys.engine import Engine
from wayfinder.journeys.mailbox import Mailbox
from wayfinder.streams.app import load_definitions
from wayfinder.streams.clock import StreamClock
from wayfinder.streams.metrics import StreamMetrics
from wayfinder.streams.publish import publish, route, send_ticks, wait_caught_up
from wayfinder.streams.settings import WorkerSettings
from wayfinder.streams.stage import EmployeeStage, Incoming, MailboxStage, Stage
from wayfinder.streams.topics import INPUTS, create_topics
from wayfinder.streams.unit import ENTRY_PREFIX, DictTable
from wayfinder.streams.wire import Record, encode_tick
from wayfinder.vocabulary import Topic, parse_instant

QUIET_TAIL = 0.75  # wait_caught_up's three quiet polls of 0.25 s


class CountingTable(DictTable):
    """A dict standing in for a worker table; counts the changelog records the worker would send (one a ``set``),
    and shows each write to ``watch`` if given."""

    def __init__(self, watch: Callable[[str, bytes | None], None] | None = None) -> None:
        super().__init__()
        self.writes = self.entries = 0
        self.watch = watch

    def set(self, key: str, value: bytes | None) -> None:
        self.writes += 1
        self.entries += key.startswith(ENTRY_PREFIX)
        if self.watch is not None:
            self.watch(key, value)
        super().set(key, value)


TICK_EVERY = 1_000  # events between two ticks of the stream clock in ``stages_alone``


@dataclass
class Driven:
    """What ``drive_stages`` counted: the events, the CPU seconds they took, and what the stages sent and wrote."""

    count: int
    cpu: float
    inputs: int  # mailbox inputs (records of the mailbox topic, each an input of the mailbox stage)
    records: int  # records sent, every topic
    changelog: int  # table writes of both stages (each a changelog record)
    entries: int  # of them, write-ahead entries and their deletions


@dataclass(frozen=True)
class Watch:
    """Hooks for a run that checks what the stages do (``benchmarks.stage_digest``): each record sent and each table
    write, in order; a fixed wall clock and write-ahead owner and stamps, so that two runs of the same code send the
    same bytes."""

    record: Callable[[str, Record], None]  # the stage that sent it ("employees", "mailboxes"), the record
    write: Callable[[str, str, bytes | None], None]  # the stage's table, key, value (None: deleted)
    wall: Callable[[], datetime]
    owner: str
    stamp: Callable[[], int]


def drive_stages(events: Path, watch: Watch | None = None) -> Driven:
    """The worker's two stages in this process, without Kafka (tables on dicts, the mailbox topic a queue, the event
    clock, everything committed at once), over the events of ``events`` in file order."""
    defs = load_definitions(WorkerSettings(store="memory", clock="event"))
    defs.warm()  # as the worker does before it reads (README "Warm at start-up"): not counted in the events' CPU
    metrics = StreamMetrics(CollectorRegistry())
    clock = StreamClock("event") if watch is None else StreamClock("event", watch.wall)
    tables = (CountingTable(None if watch is None else partial(watch.write, "employees")),
              CountingTable(None if watch is None else partial(watch.write, "mailboxes")))
    employees = EmployeeStage(tables[0], clock, metrics, lambda t, p: 1 << 62, Engine(defs), ticks_topic="ticks",
                              max_event_bytes=1_000_000, directory={})
    mailboxes = MailboxStage(tables[1], clock, metrics, lambda t, p: 1 << 62, Mailbox(defs.policy),
                             ticks_topic="mticks", digests=Digests(defs.policy, defs.templates))
    if watch is not None:
        for stage in (employees, mailboxes):
            stage.wal.owner, stage.wal.stamp = watch.owner, watch.stamp
    queue: deque[Record] = deque()
    inputs, records, ticks = 0, 0, 0

    def sent(stage: Stage, out: list[Record]) -> None:
        stage.sent()  # as the worker, once the unit's records are with its producer
        if watch is not None:
            for r in out:
                watch.record(stage.name, r)
        queue.extend(out)

    def drain() -> None:
        nonlocal inputs, records
        while queue:
            r = queue.popleft()
            records += 1
            if r.topic == Topic.MAILBOX:  # the mailbox topic: an input of the mailbox stage
                inputs += 1
                sent(mailboxes, mailboxes.process(Incoming(Topic.MAILBOX, 0, inputs, r.key.encode() if r.key else None,
                                                           r.value, None), mailboxes.handle))

    def tick(line: bytes) -> None:
        """A tick of both stages at the time of ``line`` (as ``wayfinder publish --tick`` sends, here every
        ``TICK_EVERY`` events): the employee stage fires what is due and its watermark lets the mailbox stage act
        on the inputs waiting for their turn (the event clock, ``streams.ordering``), a few at a wake-up, ticked
        again while some are ready, as the worker does (``streams.app``)."""
        nonlocal ticks
        ticks += 1
        at = parse_instant(str(json.loads(line).get("time")))  # the events are in time order: the latest
        sent(employees, employees.process(Incoming("ticks", 0, ticks, None, encode_tick(at), None), employees.handle))
        drain()
        while True:  # the worker ticks a mailbox partition again while inputs are ready there
            sent(mailboxes, mailboxes.process(Incoming("mticks", 0, ticks, None, encode_tick(at), None),
                                              mailboxes.handle))
            drain()
            if not mailboxes.ready(0):
                break
            ticks += 1

    started = time.process_time()
    for offset, line in enumerate(events.read_bytes().splitlines()):
        topic, key = route(line)
        sent(employees, employees.process(Incoming(topic, 0, offset, key, line, None), employees.handle))
        drain()
        if offset % TICK_EVERY == TICK_EVERY - 1:
            tick(line)
    tick(line)
    cpu = time.process_time() - started
    return Driven(offset + 1, cpu, inputs, records, tables[0].writes + tables[1].writes,
                  tables[0].entries + tables[1].entries)


def stages_alone(events: Path) -> str:
    """Part 0: ``drive_stages`` over ``events``: the CPU the stages and the journey core take per input, and the
    records a worker would send for them."""
    d = drive_stages(events)
    count, cpu = d.count, d.cpu
    return (f"{count / cpu:,.0f} events/s of CPU ({cpu * 1000 / count:.2f} ms per event); per event "
            f"{(d.changelog + d.records) / count:.2f} records to send: {d.changelog / count:.2f} to changelogs "
            f"({d.entries / count:.2f} write-ahead entries and their deletions), {d.records / count:.2f} others "
            f"(outputs, directory, mailbox; {d.inputs / count:.2f} mailbox inputs)")


# Each in a fresh process, definitions warmed first (a tree's own ``stages_alone`` may not warm them): the CPU time
# of the events alone, as the tree's code spends it.
_STAGES_CHILD = """
import sys
from pathlib import Path
from benchmarks.worker_scale import stages_alone
from wayfinder.streams.app import load_definitions
from wayfinder.streams.settings import WorkerSettings
load_definitions(WorkerSettings(store="memory", clock="event")).warm()
print(stages_alone(Path(sys.argv[1])))
"""
_SIMULATE_CHILD = """
import gc, sys, tempfile, time
from pathlib import Path
from wayfinder.scale import simulate_streaming
from wayfinder.streams.app import load_definitions
from wayfinder.streams.settings import WorkerSettings
defs = load_definitions(WorkerSettings(store="memory", clock="event"))
defs.warm()
with tempfile.TemporaryDirectory() as out:
    gc.collect()
    t0 = time.process_time()
    simulate_streaming(defs, Path(sys.argv[1]), None, Path(out))
    cpu = time.process_time() - t0
count = sum(1 for line in Path(sys.argv[1]).read_bytes().splitlines() if line.strip())
print(f"{count / cpu:.1f} events/s of CPU")
"""


def child_ms(code: str, events: Path, tree: Path) -> float:
    """Milliseconds of CPU per event of one fresh process running ``code`` over ``events`` from ``tree``."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run([sys.executable, "-c", code, str(events)], capture_output=True, text=True, check=True,
                          env=env, cwd=str(tree))
    return 1000 / float(done.stdout.split(" events/s of CPU")[0].split()[-1].replace(",", ""))


def beside_simulate(events: Path, base: Path | None, runs: int) -> None:
    """The stages alone and ``simulate`` over the same events, each run in a fresh process, alternating (and the
    stages of the ``base`` tree, if given, in turn); the best of ``runs`` of each, and their ratios."""
    count = event_count(events)
    here = Path(__file__).resolve().parent.parent
    parts = [("simulate", _SIMULATE_CHILD, here), ("stages", _STAGES_CHILD, here)]
    if base is not None:
        parts.append(("base stages", _STAGES_CHILD, base.resolve()))
    best: dict[str, float] = {}
    for n in range(runs):
        for label, code, tree in parts:
            ms = child_ms(code, events, tree)
            best[label] = min(best.get(label, ms), ms)
            print(f"run {n + 1} {label:11} ({tree}): {ms:.3f} ms of CPU per event", flush=True)
    line = (f"best of {runs}, {count:,} events: the stages alone {best['stages']:.3f} ms of CPU per event, simulate "
            f"{best['simulate']:.3f} ms: {best['stages'] / best['simulate']:.2f}x simulate's")
    if base is not None:
        old = best["base stages"]
        line += (f"; the base tree's stages {old:.3f} ms ({old / best['simulate']:.2f}x simulate's): "
                 f"{old / best['stages']:.2f}x faster here")
    print(line)


def ceiling(noop: float, core_ms: float) -> str:
    """The most any worker that runs this journey core can reach against the do-nothing agent: the agent's whole cost
    per event (``noop`` events/s on one core) over the CPU the core alone spends per event (``simulate``, no Kafka,
    ``core_ms``), before anything is read, kept or sent."""
    agent_ms = 1000 / noop
    return (f"  the journey core alone      {1000 / core_ms:>8,.0f} events/s of CPU (simulate, no Kafka: "
            f"{core_ms:.3f} ms per event against the agent's {agent_ms:.3f}): a worker that runs it reaches at most "
            f"{agent_ms / core_ms:.2f}x the do-nothing agent")


def org_events(count: int, path: Path) -> Path:
    """The first ``count`` events of an organisation's year of a tenth as many people (about 10 events per employee:
    at some sizes the year has a few less than ``count``, all of them written; ``event_count`` says how many)."""
    lines = []
    for line in generate(max(count // 10, 50), 7):
        lines.append(line)
        if len(lines) == count:
            break
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def event_count(events: Path) -> int:
    """The events of a file of them, one a line."""
    return len(events.read_text(encoding="utf-8").splitlines())


def last_time(events: Path) -> str:
    return str(json.loads(events.read_text(encoding="utf-8").splitlines()[-1])["time"])


def tick_and_settle(s: WorkerSettings, at: str) -> None:
    """Move every partition's clock to ``at`` (the last event's time: the mailbox acts on what waits for its turn,
    due timers fire), then wait until the group has read the inputs, the mailbox and both tick topics."""
    producer = KafkaProducer(bootstrap_servers=s.bootstrap_servers)
    send_ticks(producer, s, parse_instant(at))
    producer.flush()
    producer.close()
    names = [s.topic(n) for n in (*INPUTS, Topic.MAILBOX, Topic.EMPLOYEE_TICKS, Topic.MAILBOX_TICKS)]
    admin = KafkaAdminClient(bootstrap_servers=s.bootstrap_servers)
    consumer = KafkaConsumer(bootstrap_servers=s.bootstrap_servers, enable_auto_commit=False)
    try:
        tps = [TopicPartition(t, p) for t in names for p in sorted(consumer.partitions_for_topic(t) or ())]
        settled, deadline = 0, time.monotonic() + 3600
        while settled < 3 and time.monotonic() < deadline:
            ends = consumer.end_offsets(tps)
            done = admin.list_group_offsets({s.app_id: None}).get(s.app_id, {})
            behind = sum(max(0, ends[tp] - (done[tp].offset if tp in done else 0)) for tp in tps)
            settled = settled + 1 if behind == 0 else 0
            time.sleep(0.25)
    finally:
        consumer.close()
        admin.close()


def decided(s: WorkerSettings, events: Path, count: int, started: float) -> float:
    """Events/s from ``started`` until every input is read and, after a tick to the last event's time, every
    decision up to then is made (the mailbox acts on inputs waiting for their turn on the event clock)."""
    if not wait_caught_up(s, timeout=3600, poll=0.25):
        msg = "the workers did not catch up"
        raise RuntimeError(msg)
    tick_and_settle(s, last_time(events))
    return count / (time.perf_counter() - started - 2 * QUIET_TAIL)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a running process (Linux ``/proc``; 0 elsewhere)."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return 0.0
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_rate(s: WorkerSettings, events: Path, count: int, folder: Path,
                command: list[str] | None = None) -> tuple[float, float]:
    """One worker started on inputs already published (part 1), timed from Faust's Ready: events/s, and the
    worker's CPU milliseconds per event meanwhile."""
    process = start_worker(s, folder / f"worker-{s.app_id}.log", command)
    try:
        cpu = cpu_seconds(process.pid)
        rate = decided(s, events, count, time.perf_counter())
        return rate, (cpu_seconds(process.pid) - cpu) * 1000 / count
    finally:
        stop([process])


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=120)


def live_rate(broker: str, workers: int, events: Path, count: int, folder: Path) -> tuple[float, float]:
    """Events/s of ``workers`` workers that are running before the events arrive (part 2), and the CPU time all of
    them used per event (ms) meanwhile."""
    s = settings(broker, uuid.uuid4().hex[:8], "event")
    create_topics(s)
    processes = [start_worker(s, folder / f"live{workers}-{n}.log") for n in range(workers)]
    try:
        settle(s, processes, folder, workers)
        cpu = sum(cpu_seconds(p.pid) for p in processes)
        started = time.perf_counter()
        publish(s, events, progress=None)
        rate = decided(s, events, count, started)
        return rate, (sum(cpu_seconds(p.pid) for p in processes) - cpu) * 1000 / count
    finally:
        stop(processes)


def scaling(broker: str, events: Path, count: int, folder: Path) -> str:
    """Part 2's lines: one worker against two, by events/s and by the CPU they used per event."""
    (one, cpu1), (two, cpu2) = (live_rate(broker, n, events, count, folder) for n in (1, 2))
    return (f"  one worker, events arriving {one:>8,.0f} events/s; {cpu1:.2f} ms of CPU per event\n"
            f"  two workers, same           {two:>8,.0f} events/s  ({two / one:.2f}x one; target >= 1.7x; "
            f"{os.cpu_count()} cores for both, the broker and the publisher); {cpu2:.2f} ms of CPU per event for "
            f"both ({cpu2 / cpu1:.2f}x one's: with a core each, two workers would do {2 * cpu1 / cpu2:.2f}x one)")


def settle(s: WorkerSettings, processes: list[subprocess.Popen[bytes]], folder: Path, workers: int) -> None:
    """Wait until every worker has had its partitions assigned after the last one joined, and nothing is left."""
    deadline = time.monotonic() + 180
    logs = [folder / f"live{workers}-{n}.log" for n in range(workers)]
    while time.monotonic() < deadline:
        texts = [log.read_text(errors="replace") for log in logs]
        if all(text.count("partition") > 0 for text in texts) and all(p.poll() is None for p in processes):
            break
        time.sleep(0.5)
    time.sleep(5.0)  # the group's last rebalance (the second worker joining) is over well within this
    wait_caught_up(s, timeout=120, poll=0.25)


def profiled_rate(broker: str, count: int, events: Path, folder: Path, out: Path) -> float:
    """Part 1's worker again, under cProfile (``out/worker.prof``): where a worker's time goes."""
    s = settings(broker, uuid.uuid4().hex[:8], "event")
    create_topics(s)
    publish(s, events, progress=None)
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "cProfile", "-o", str(out / "worker.prof"), WAYFINDER, "worker"]
    return worker_rate(s, events, count, folder, command)[0]


def announce() -> None:
    print(f"$ {' '.join([Path(sys.executable).name, '-m', 'benchmarks.worker_scale', *sys.argv[1:]])}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} cores")


def percentile(lat: list[float], q: float) -> float:
    """The ``q`` quantile of sorted latencies (the nearest rank at or below)."""
    return lat[min(len(lat) - 1, int(len(lat) * q))]


def report_latency(rate: int, seconds: int, lat: list[float], linger: str = "", mix: int = 0,
                   settled: list[float] | None = None) -> None:
    if lat:
        what = f"events/s (one in {mix} a birth, the rest the organisation's year)" if mix else "births/s"
        after = (f"; after the first second ({len(settled):,}): p50 {statistics.median(settled) * 1000:.0f} ms, "
                 f"p99 {percentile(settled, 0.99) * 1000:.0f} ms" if settled else "")
        print(f"  event-to-decision at {rate} {what} for {seconds} s, wall clock{linger} ({len(lat):,} decisions): "
              f"p50 {statistics.median(lat) * 1000:.0f} ms, p99 {percentile(lat, 0.99) * 1000:.0f} ms{after} "
              f"(target at 200/s: p99 <= 100 ms)", flush=True)


def pauses_summary(path: Path) -> str:
    """What ``benchmarks/pauses/sitecustomize.py`` wrote for one worker: its loop's pauses and garbage collections."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
    pauses = [r for r in rows if "pause_ms_at_least" in r]
    collections = [r for r in rows if "gc" in r]
    totals: dict[str, object] = next((r for r in rows if "gc_seconds" in r), {})
    frames: dict[str, int] = {}
    for r in pauses:
        for frame, n in r["top"]:
            frames[frame] = frames.get(frame, 0) + n
    lines = [f"    pauses over the threshold: {len(pauses)}, longest "
             f"{max((r['pause_ms_at_least'] for r in pauses), default=0)} ms, in all "
             f"{sum(r['pause_ms_at_least'] for r in pauses)} ms; collections over 5 ms: {len(collections)}, longest "
             f"{max((r['ms'] for r in collections), default=0)} ms; collector in all {totals.get('gc_seconds')} s "
             f"({totals.get('gc_count')})"]
    lines += [f"      {n:>5} {frame}" for frame, n in sorted(frames.items(), key=lambda x: -x[1])[:25]]
    return "\n".join(lines)


def latency_only(args: argparse.Namespace) -> None:
    """Part 3 alone, for each producer linger in turn (rates inner, lingers outer, so runs alternate)."""
    announce()
    folder = Path(tempfile.mkdtemp(prefix="wayfinder-worker-latency-"))
    lingers = [x for x in args.lingers.split(",") if x] or [os.environ.get("WAYFINDER_PRODUCER_LINGER", "")]
    background = None
    if args.mix:  # the year of 2,000 employees: its 2,001 leading profiles, then about 18,000 events of the year
        background = org_events(20_000, folder / "org.jsonl").read_bytes().splitlines()
    if args.pauses:  # benchmarks/pauses/sitecustomize.py into every worker started from here
        args.pauses.mkdir(parents=True, exist_ok=True)
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parent / "pauses"),
                                                                 os.environ.get("PYTHONPATH", "")]))
    freezes = [x for x in args.freeze.split(",") if x] or [""]
    if freezes != [""] and not args.pauses:
        msg = "--freeze needs --pauses (the diagnostic is what switches gc.freeze off)"
        raise SystemExit(msg)
    for run, rate in enumerate(map(int, args.rates.split(","))):
        for linger, freeze in ((linger, freeze) for linger in lingers for freeze in freezes):
            if linger:
                os.environ["WAYFINDER_PRODUCER_LINGER"] = linger
            os.environ["WAYFINDER_PAUSES_NO_FREEZE"] = "1" if freeze == "off" else ""
            if args.pauses:
                out = args.pauses / f"pauses-{run}-{rate}-{linger or 'default'}-{freeze or 'default'}.jsonl"
                out.unlink(missing_ok=True)
                os.environ["WAYFINDER_PAUSES_OUT"] = str(out)
            settled: list[float] = []
            lat = latency(args.broker, rate, args.seconds, folder, background, args.mix or 1,
                          out.with_suffix(".latency") if args.pauses else None, settled)
            how = (f", producer linger {linger} s" if linger else "") + (f", gc.freeze {freeze}" if freeze else "")
            report_latency(rate, args.seconds, lat, how, args.mix, settled)
            if args.pauses:
                print(pauses_summary(out), flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def build_parser() -> argparse.ArgumentParser:
    """The command line (the README's commands of this benchmark are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker", default=f"127.0.0.1:{os.environ.get('WAYFINDER_KAFKA_PORT', '9092')}")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rates", default="200,50", help="births per second for the latency part, one run each "
                        "[200,50]")
    parser.add_argument("--seconds", type=int, default=30, help="how long births are sent at that rate [30]")
    parser.add_argument("--profile", type=Path, help="also run one worker under cProfile, its stats into this folder")
    parser.add_argument("--latency-only", action="store_true", help="only the latency part (3)")
    parser.add_argument("--scaling-only", action="store_true", help="only one worker against two (2)")
    parser.add_argument("--stages-only", action="store_true", help="only the stages alone, without Kafka (0): run "
                        "from two trees with PYTHONPATH set to each to compare their code")
    parser.add_argument("--events-file", type=Path, help="with --stages-only: these events (an org_load file) "
                        "instead of the first --events of the year")
    parser.add_argument("--simulate", action="store_true", help="with --stages-only: also simulate over the same "
                        "events, each in a fresh process, alternating, and the ratio of their CPU per event")
    parser.add_argument("--base", type=Path, help="with --simulate: also the stages of this tree (one with "
                        "benchmarks.worker_scale.stages_alone), in turn")
    parser.add_argument("--runs", type=int, default=1, help="with --simulate: runs of each, the best kept [1]")
    parser.add_argument("--standbys", default="", help="with --scaling-only: standby replicas of the tables, one "
                        "run each (WAYFINDER_TABLE_STANDBY_REPLICAS) [the worker's default]")
    parser.add_argument("--lingers", default="", help="producer lingers in seconds for the latency part, one run of "
                        "every rate each, side by side (WAYFINDER_PRODUCER_LINGER) [the worker's default]")
    parser.add_argument("--mix", type=int, default=0, help="with --latency-only: one event in MIX is a birth (the ones "
                        "measured), the others the organisation's year (benchmarks.org_load, 2,000 employees, seed 7) "
                        "in order, each stamped as it is sent; the rates count every event [births only]")
    parser.add_argument("--pauses", type=Path, help="with --latency-only: a folder for what each worker's event loop "
                        "paused on (benchmarks/pauses/sitecustomize.py, loaded through PYTHONPATH), summed up after "
                        "each run")
    parser.add_argument("--freeze", default="", help="with --pauses: on,off runs side by side, the worker's gc.freeze "
                        "after start-up as it is and switched off [as it is]")
    return parser


def main() -> None:
    args = build_parser().parse_args()
    if args.stages_only:
        with tempfile.TemporaryDirectory(prefix="wayfinder-stages-") as scratch:
            events = args.events_file or org_events(args.events, Path(scratch) / "org.jsonl")
            if args.simulate:
                beside_simulate(events, args.base, args.runs)
                return
            print(f"{event_count(events):,} events, the stages alone, no Kafka: {stages_alone(events)}")
        return
    if args.latency_only:
        latency_only(args)
        return
    if args.scaling_only:
        announce()
        folder = Path(tempfile.mkdtemp(prefix="wayfinder-worker-scaling-"))
        events = org_events(args.events, folder / "org.jsonl")
        for standby in [x for x in args.standbys.split(",") if x] or [""]:
            if standby:
                os.environ["WAYFINDER_TABLE_STANDBY_REPLICAS"] = standby
                print(f"  WAYFINDER_TABLE_STANDBY_REPLICAS={standby}:")
            print(scaling(args.broker, events, event_count(events), folder), flush=True)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return
    announce()
    folder = Path(tempfile.mkdtemp(prefix="wayfinder-worker-scale-"))
    events = org_events(args.events, folder / "org.jsonl")
    count = event_count(events)

    alone = stages_alone(events)
    core_ms = child_ms(_SIMULATE_CHILD, events, Path(__file__).resolve().parent.parent)
    s = settings(args.broker, uuid.uuid4().hex[:8], "event")
    create_topics(s)
    publish(s, events, progress=None)
    topics = [s.topic("hris.events"), s.topic("engagement.events")]
    noop = noop_rate(args.broker, topics, count)
    worker, cpu = worker_rate(s, events, count, folder)
    two_workers = scaling(args.broker, events, count, folder)
    lats = {rate: latency(args.broker, rate, args.seconds, folder) for rate in map(int, args.rates.split(","))}

    print(f"{count:,} events (benchmarks.org_load, seed 7), 4 partitions, event clock:")
    print(f"  the stages alone, no Kafka: {alone}")
    print(f"  Faust agent, does nothing   {noop:>8,.0f} events/s")
    print(f"  Wayfinder worker, one       {worker:>8,.0f} events/s  ({worker / noop:.2f}x the do-nothing agent; "
          f"target >= 1.0x); {cpu:.2f} ms of CPU per event")
    print(ceiling(noop, core_ms))
    print(two_workers)
    for rate, lat in lats.items():
        report_latency(rate, args.seconds, lat)
    if args.profile is not None:
        profiled = profiled_rate(args.broker, count, events, folder, args.profile)
        print(f"  under cProfile: {profiled:,.0f} events/s; stats in {args.profile / 'worker.prof'}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
