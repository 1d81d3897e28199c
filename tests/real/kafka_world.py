"""A Kafka test world: unique topics and group per test, workers as real subprocesses."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient

from wayfinder.streams.publish import publish, route, send_ticks, wait_caught_up
from wayfinder.streams.settings import WorkerSettings
from wayfinder.streams.topics import create_topics

WAYFINDER = str(Path(sys.executable).with_name("wayfinder"))


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "[^Worker]: Ready" in self.text():
                return
            assert self.process.poll() is None, f"worker exited:\n{self.text()[-3000:]}"
            time.sleep(0.2)
        msg = f"worker not ready after {timeout}s:\n{self.text()[-3000:]}"
        raise AssertionError(msg)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def metrics_url(self) -> str:
        found = re.findall(r"metrics on (http://\S+/metrics)", self.text())
        assert found, "the worker did not say where its metrics are"
        return str(found[-1])

    def scrape(self) -> str:
        with urllib.request.urlopen(self.metrics_url(), timeout=10) as r:  # noqa: S310 - local test server
            return str(r.read().decode("utf-8"))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def read_topic(servers: str | list[str], name: str, idle_ms: int = 3000) -> list[tuple[bytes | None, bytes | None]]:
    """Every record (key, value) of the topic ``name``, from the beginning of each partition to the end offsets it
    had when asked (each partition's records in their order), or what came until none came for ``idle_ms``. Reading
    to the end offsets returns as soon as they are reached: callers poll this every second while a worker works,
    and waiting out an idle time on each call made every poll seconds long."""
    consumer = KafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False, auto_offset_reset="earliest")
    try:
        tps = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends: dict[TopicPartition, int] = consumer.end_offsets(tps)
        records: list[tuple[bytes | None, bytes | None]] = []
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            batch = consumer.poll(timeout_ms=idle_ms)
            if not batch:
                break
            for got in batch.values():
                records.extend((r.key, r.value) for r in got)
        return records
    finally:
        consumer.close()


@dataclass
class KafkaWorld:
    broker: str
    folder: Path
    partitions: int = 4
    store: str = "memory"
    extra_env: dict[str, str] = field(default_factory=dict)
    workers: list[Worker] = field(default_factory=list)

    def __post_init__(self) -> None:
        tag = uuid.uuid4().hex[:10]
        self.prefix = f"t{tag}."
        self.app_id = f"t{tag}-wayfinder"
        self.settings = WorkerSettings(broker=f"kafka://{self.broker}", topic_prefix=self.prefix, app_id=self.app_id,
                                       partitions=self.partitions, store="memory", clock="event", metrics_port=0)
        create_topics(self.settings)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "WAYFINDER_BROKER": f"kafka://{self.broker}", "WAYFINDER_TOPIC_PREFIX": self.prefix,
            "WAYFINDER_APP_ID": self.app_id, "WAYFINDER_PARTITIONS": str(self.partitions),
            "WAYFINDER_STORE": self.store, "WAYFINDER_CLOCK": "event", "WAYFINDER_METRICS_PORT": "0",
            "WAYFINDER_LOG_LEVEL": "INFO",
        })
        env["WAYFINDER_DATA_DIR"] = str(self.folder / f"data-{len(self.workers)}")
        env.update(self.extra_env)
        return env

    def start_worker(self, **env: str) -> Worker:
        """A worker subprocess; ``env``: variables of its own (``WAYFINDER_GROUP_INSTANCE_ID``)."""
        log = self.folder / f"worker-{len(self.workers)}.log"
        out = log.open("wb")
        process = subprocess.Popen([WAYFINDER, "worker"], env=self.env() | env, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        worker = Worker(process, log)
        self.workers.append(worker)
        worker.wait_ready()
        return worker

    def stop(self) -> None:
        for w in self.workers:
            w.stop()

    def publish_file(self, path: Path) -> int:
        return publish(self.settings, path, progress=None).sent

    def delete_topic(self, topic: str, timeout: float = 60.0) -> None:
        """Delete one of the world's topics (short name) and wait until the broker's metadata no longer has it (the
        broker creates no topics on use: a worker writing to it waits until ``create_topics`` brings it back)."""
        name = self.settings.topic(topic)
        admin = KafkaAdminClient(bootstrap_servers=self.broker)
        try:
            admin.delete_topics([name])
            deadline = time.monotonic() + timeout
            while name in admin.list_topics():
                assert time.monotonic() < deadline, f"{name} still in the broker's metadata after {timeout}s"
                time.sleep(0.5)
        finally:
            admin.close()

    def publish_lines(self, lines: list[bytes], topic: str = "hris.events") -> None:
        producer = KafkaProducer(bootstrap_servers=self.broker)
        try:
            for line in lines:  # keyed by subject as `wayfinder publish` keys them (unkeyed: a random partition)
                producer.send(self.settings.topic(topic), key=route(line)[1], value=line)
            producer.flush()
        finally:
            producer.close()

    def tick(self, at: datetime, timeout: float = 300.0) -> None:
        """Wait for the workers to catch up, then move every partition's clock to ``at``."""
        assert wait_caught_up(self.settings, timeout=timeout), "the workers did not catch up"
        producer = KafkaProducer(bootstrap_servers=self.broker)
        try:
            send_ticks(producer, self.settings, at)
            producer.flush()
        finally:
            producer.close()
        assert wait_caught_up(self.settings, timeout=timeout), "the workers did not catch up after the tick"

    def read(self, topic: str, idle_ms: int = 3000) -> list[tuple[bytes | None, bytes | None]]:
        """Every record of this world's ``topic`` (a short name)."""
        return read_topic(self.broker, self.settings.topic(topic), idle_ms)

    def messages(self) -> tuple[dict[str, dict[str, Any]], int]:
        """The latest record of each message id on outbound.messages, and how many records there were."""
        latest: dict[str, dict[str, Any]] = {}
        records = self.read("outbound.messages")
        for _, value in records:
            assert value is not None
            m = json.loads(value)
            latest[m["message_id"]] = m
        return latest, len(records)


def simulate_messages(events: Path, until: str, out: Path) -> tuple[dict[str, str], set[str]]:
    """The oracle: ``wayfinder simulate`` on the same events; (message id -> status, task ids)."""
    subprocess.run([WAYFINDER, "simulate", "--events", str(events), "--until", until, "--out", str(out)],
                   check=True, capture_output=True)
    statuses = {}
    for line in (out / "messages.jsonl").read_text(encoding="utf-8").splitlines():
        m = json.loads(line)
        statuses[m["message_id"]] = m["status"]
    tasks = {json.loads(line)["task_id"] for line in (out / "tasks.jsonl").read_text(encoding="utf-8").splitlines()}
    return statuses, tasks


def kafka_world(broker: str, folder: Path, **kwargs: Any) -> Iterator[KafkaWorld]:
    world = KafkaWorld(broker, folder, **kwargs)
    try:
        yield world
    finally:
        world.stop()
