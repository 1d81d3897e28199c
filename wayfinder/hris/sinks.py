"""Where the intake puts events: Kafka (``hris.events``, acknowledged by every in-sync replica) or a file."""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)
# Given, so that the producer is built without reaching the broker: a constructor that cannot bootstrap
# raises and leaks its sockets; with a version it is built at once and sends wait (max_block_ms) instead.
API_VERSION = (2, 6)


class SinkUnavailable(RuntimeError):
    """The events were not stored; the sender should retry (the intake answers 503)."""


class Sink(Protocol):
    def produce(self, events: list[dict[str, Any]]) -> None:
        """Store every event or raise :class:`SinkUnavailable`; blocking (run it off the event loop)."""

    def unready(self) -> str | None:
        """Why the sink cannot store events now (None: it can); blocking, quick (run it off the event loop)."""

    def close(self) -> None: ...


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class FileSink:
    """Append to a JSON-lines file and fsync before answering (the embedded mode)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def produce(self, events: list[dict[str, Any]]) -> None:
        try:
            with self._lock, self.path.open("ab") as f:
                f.write(b"".join(encode(e) + b"\n" for e in events))
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            msg = f"cannot append to the events file ({e.strerror})"
            raise SinkUnavailable(msg) from e

    def unready(self) -> str | None:
        folder = self.path.parent
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            return "the events file's folder is missing or not writable"
        if self.path.exists() and not os.access(self.path, os.W_OK):
            return "the events file is not writable"
        return None

    def close(self) -> None:
        return None


class KafkaSink:
    """kafka-python producer, ``acks=all``; :meth:`produce` returns only when Kafka acknowledged every event."""

    def __init__(self, bootstrap_servers: list[str], topic: str, *, timeout_seconds: float = 10.0) -> None:
        self.servers = bootstrap_servers
        self.topic = topic
        self.timeout = timeout_seconds
        self._producer: Any = None
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        with self._lock:
            if self._producer is None:
                ms = int(self.timeout * 1000)
                try:
                    self._producer = KafkaProducer(
                        bootstrap_servers=self.servers, acks="all", retries=3, linger_ms=2, max_block_ms=ms,
                        request_timeout_ms=ms, delivery_timeout_ms=ms * 2, api_version=API_VERSION)
                except KafkaError as e:
                    msg = f"Kafka is not reachable ({type(e).__name__})"
                    raise SinkUnavailable(msg) from e
            return self._producer

    def produce(self, events: list[dict[str, Any]]) -> None:
        from kafka.errors import KafkaError

        producer = self._connect()
        try:
            futures = [producer.send(self.topic, key=e["subject"].encode("utf-8"), value=encode(e)) for e in events]
            producer.flush(timeout=self.timeout * 2)
            for future in futures:
                future.get(timeout=0.1)
        except (KafkaError, TimeoutError) as e:
            log.warning("Kafka did not acknowledge %d event(s): %s", len(events), type(e).__name__)
            msg = f"Kafka did not acknowledge the events ({type(e).__name__})"
            raise SinkUnavailable(msg) from e

    def unready(self) -> str | None:
        """Kafka knows the topic's partitions (from the producer's metadata, fetched if it has none: at most the
        send timeout; the intake stops waiting sooner)."""
        from kafka.errors import KafkaError

        try:
            if not self._connect().partitions_for(self.topic):
                return f"Kafka has no partitions for the topic {self.topic}"
        except (SinkUnavailable, KafkaError) as e:
            return f"Kafka is not reachable ({type(e).__name__})"
        return None

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=5)
                self._producer = None
