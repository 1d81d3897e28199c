"""Side by side on one topic, in one run: a raw aiokafka consumer, a Faust agent that does nothing,
and the Wayfinder worker end to end (consume, decide, produce); then event-to-decision latency at a
fixed input rate.

    deploy/local/kafka up
    .venv/bin/python -m benchmarks.kafka_throughput       # 40,000 events; births at 1,000/s and 300/s for 20 s

The events are the bundled ones replicated (new employees per replica). All three readers read
the same two input topics from the beginning; rates are events per second from the first event
read to the last (the worker: until its consumer group has caught up on the inputs and the
mailbox topic, so every decision has been made).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from benchmarks.core_throughput import replicate
from wayfinder import examples_dir
from wayfinder.streams.publish import publish, route, wait_caught_up
from wayfinder.streams.settings import WorkerSettings
from wayfinder.streams.topics import INPUTS, create_topics

WAYFINDER = str(Path(sys.executable).with_name("wayfinder"))


def settings(broker: str, tag: str, clock: str) -> WorkerSettings:
    return WorkerSettings(broker=f"kafka://{broker}", topic_prefix=f"b{tag}.", app_id=f"b{tag}-wayfinder",
                          partitions=4, store="memory", clock=clock, metrics_port=None)


def worker_env(s: WorkerSettings) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"WAYFINDER_BROKER": s.broker, "WAYFINDER_TOPIC_PREFIX": s.topic_prefix, "WAYFINDER_APP_ID": s.app_id,
                "WAYFINDER_PARTITIONS": str(s.partitions), "WAYFINDER_STORE": "memory", "WAYFINDER_CLOCK": s.clock,
                "WAYFINDER_LOG_LEVEL": "INFO", "WAYFINDER_METRICS_PORT": "0"})  # any free port: workers side by side
    return env


async def raw_rate(broker: str, topics: list[str], count: int) -> float:
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=broker, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False, max_poll_records=5000)
    await consumer.start()
    try:
        seen, started = 0, 0.0
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                if seen == 0 and records:
                    started = time.perf_counter()
                seen += len(records)
        return count / (time.perf_counter() - started)
    finally:
        await consumer.stop()


def noop_rate(broker: str, topics: list[str], count: int) -> float:
    group = f"noop-{uuid.uuid4().hex[:8]}"
    out = subprocess.run([sys.executable, "-m", "benchmarks.faust_noop", broker, group, str(count), *topics],
                         capture_output=True, text=True, timeout=1800, check=False)
    found = re.search(r"noop (\d+) ([\d.]+)", out.stdout + out.stderr)  # Faust logs what its workers print
    if found is None:
        msg = f"the do-nothing agent did not finish:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
        raise RuntimeError(msg)
    return count / float(found.group(2))


def start_worker(s: WorkerSettings, log: Path, command: list[str] | None = None) -> subprocess.Popen[bytes]:
    """A ``wayfinder worker`` subprocess (or ``command``, e.g. the worker under cProfile), once Faust says Ready."""
    with log.open("wb") as out:
        process = subprocess.Popen(command or [WAYFINDER, "worker"], env=worker_env(s), stdout=out,
                                   stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while "[^Worker]: Ready" not in log.read_text(errors="replace"):
        if time.monotonic() > deadline or process.poll() is not None:
            msg = f"worker did not start: {log.read_text(errors='replace')[-2000:]}"
            raise RuntimeError(msg)
        time.sleep(0.05)
    return process


def worker_rate(s: WorkerSettings, count: int, folder: Path) -> float:
    process = start_worker(s, folder / "worker.log")
    started = time.perf_counter()
    try:
        if not wait_caught_up(s, timeout=3600, poll=0.25):
            msg = "the worker did not catch up"
            raise RuntimeError(msg)
        return count / (time.perf_counter() - started - 0.75)  # wait_caught_up needs 3 quiet polls
    finally:
        process.terminate()
        process.wait(timeout=60)


def latency(broker: str, rate: int, seconds: int, folder: Path, background: list[bytes] | None = None,
            every: int = 1, record: Path | None = None, settled: list[float] | None = None) -> list[float]:
    """Event-to-decision latency in a wall-clock worker: births at a fixed rate, for known employees. With
    ``background`` (event lines), ``rate`` counts every event sent: one in ``every`` is a birth, the others are those
    lines in order, each stamped with the time it is sent (its leading profiles are loaded before, as the births'
    are); only the births are measured."""
    s = settings(broker, uuid.uuid4().hex[:8], "wall")
    create_topics(s)
    sends = rate * seconds
    count = sends if background is None else len(range(0, sends, every))
    now = datetime.now(UTC)
    producer = KafkaProducer(bootstrap_servers=broker, linger_ms=1, acks=1)
    rest: list[bytes] = []
    if background is not None:
        profiles = next((i for i, line in enumerate(background)
                         if json.loads(line)["type"] != "hris.employee.upserted"), len(background))
        for line in background[:profiles]:
            topic, key = route(line)
            producer.send(s.topic(topic), key=key, value=line)
        rest = background[profiles:]
        if len(rest) < sends - count:
            msg = f"{len(rest)} background events for {sends - count} sends: give more"
            raise ValueError(msg)
    for i in range(count):
        profile = {"specversion": "1.0", "id": f"p{i}", "source": "bench", "type": "hris.employee.upserted",
                   "time": now.isoformat(), "subject": f"L{i}", "data": {
                       "given_name": "Sam", "email": f"l{i}@example.com", "timezone": "UTC", "country": "US",
                       "employment_type": "employee"}}
        producer.send(s.topic("hris.events"), key=f"L{i}".encode(), value=json.dumps(profile).encode())
    producer.flush()
    for topic in INPUTS:  # the producer's metadata now, not on its first send of the timed part
        producer.partitions_for(s.topic(topic))
    process = start_worker(s, folder / "latency-worker.log")
    try:
        wait_caught_up(s, timeout=600)
        sent: dict[str, float] = {}
        t0, t0_wall = time.perf_counter(), time.time()
        others = iter(rest)
        for n in range(sends):
            due = t0 + n / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            t = datetime.now(UTC)
            if background is not None and n % every:
                line = next(others)
                event = json.loads(line)
                event["time"] = t.isoformat()
                topic, key = route(line)
                producer.send(s.topic(topic), key=key, value=json.dumps(event).encode())
                continue
            i = n if background is None else n // every
            birth = {"specversion": "1.0", "id": f"b{i}", "source": "bench", "type": "hris.dependent.added",
                     "time": t.isoformat(), "subject": f"L{i}", "data": {"relationship": "child", "reason": "birth",
                                                                        "date": t.date().isoformat()}}
            producer.send(s.topic("hris.events"), key=f"L{i}".encode(), value=json.dumps(birth).encode())
            sent[f"L{i}"] = t.timestamp()
        producer.flush()
        wait_caught_up(s, timeout=600)
    finally:
        process.terminate()
        process.wait(timeout=60)
        producer.close()
    first: dict[str, float] = {}
    consumer = KafkaConsumer(bootstrap_servers=broker, consumer_timeout_ms=3000, auto_offset_reset="earliest")
    name = s.topic("outbound.messages")
    tps = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    for r in consumer:
        m = json.loads(r.value)
        first.setdefault(m["employee_id"], r.timestamp / 1000)
    consumer.close()
    if settled is not None:  # the births sent after the run's first second (the worker's first inputs behind them)
        settled.extend(sorted(first[k] - sent[k] for k in sent if k in first and sent[k] - t0_wall >= 1.0))
    if record is not None:  # each birth's send (seconds from the first) and its latency, in the order sent
        record.write_text("".join(f"{k} {sent[k] - t0_wall:.3f} {first[k] - sent[k]:.3f}\n"
                                  for k in sent if k in first), encoding="utf-8")
    return sorted(first[k] - sent[k] for k in sent if k in first)


def build_parser() -> argparse.ArgumentParser:
    """The command line (the README's commands of this benchmark are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker", default=f"127.0.0.1:{os.environ.get('WAYFINDER_KAFKA_PORT', '9092')}")
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--rates", default="1000,300", help="input rates (births per second) for the latency part")
    parser.add_argument("--seconds", type=int, default=20)
    return parser


def main() -> None:
    args = build_parser().parse_args()
    print(f"$ {' '.join([Path(sys.executable).name, '-m', 'benchmarks.kafka_throughput', *sys.argv[1:]])}")
    folder = Path(tempfile.mkdtemp(prefix="wayfinder-bench-"))
    s = settings(args.broker, uuid.uuid4().hex[:8], "event")
    create_topics(s)
    events = folder / "events.jsonl"
    lines = replicate((examples_dir() / "events.jsonl").read_text(encoding="utf-8").splitlines(), args.events)
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    publish(s, events, progress=None)
    topics = [s.topic("hris.events"), s.topic("engagement.events")]
    raw = asyncio.run(raw_rate(args.broker, topics, args.events))
    noop = noop_rate(args.broker, topics, args.events)
    worker = worker_rate(s, args.events, folder)
    print(f"{args.events:,} events, 4 partitions, one process each, same topics:")
    print(f"  raw aiokafka consumer     {raw:>10,.0f} events/s")
    print(f"  Faust agent, does nothing {noop:>10,.0f} events/s  ({noop / raw:.3f}x raw)")
    print(f"  Wayfinder worker, e2e     {worker:>10,.0f} events/s  ({worker / noop:.3f}x the do-nothing agent)")
    for rate in (int(r) for r in args.rates.split(",")):
        lat = latency(args.broker, rate, args.seconds, folder)
        if lat:
            p50 = statistics.median(lat)
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
            print(f"event-to-decision latency at {rate:,} births/s for {args.seconds} s "
                  f"({len(lat):,} decisions): p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")


if __name__ == "__main__":
    main()
