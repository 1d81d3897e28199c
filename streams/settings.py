"""Worker settings, from the environment (``WAYFINDER_*``) and flags. Frozen; choices are literals."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkerSettings(BaseSettings):
    """How a worker connects, what it reads and writes, and where it keeps state."""

    model_config = SettingsConfigDict(env_prefix="WAYFINDER_", frozen=True, extra="forbid")

    broker: str = Field("kafka://127.0.0.1:9092", description="Kafka bootstrap servers, kafka://host:port[;...]")
    app_id: str = Field("wayfinder", description="consumer group and prefix of Faust's internal topics")
    topic_prefix: str = Field("wayfinder.", description="prefix of every Wayfinder topic")
    partitions: int = Field(6, ge=1, description="partitions of the input and internal topics")
    replication: int = Field(1, ge=1, description="replication factor of the topics Wayfinder creates")
    store: Literal["memory", "rocksdb"] = Field("rocksdb", description="where tables live: rocksdb (production) "
                                                "or memory (tests); both are backed by changelog topics")
    data_dir: Path = Field(Path("wayfinder-data"), description="RocksDB files and worker state")
    definitions: Path | None = Field(None, description="folder with journeys/, catalog/, templates/, policy.yaml "
                                     "[default: the bundled examples]")
    clock: Literal["wall", "event"] = Field("wall", description="wall: the real clock; event: per-partition "
                                            "stream time, advanced by events and `publish --tick` (tests, replays)")
    metrics_port: int | None = Field(9108, description="serve Prometheus metrics on this port (0: any free port, "
                                     "unset: no server)")
    timer_tick_seconds: float = Field(0.5, gt=0, description="how often due timers are looked for")
    max_event_bytes: int = Field(1_000_000, ge=1024, description="larger events are dead-lettered")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    @property
    def bootstrap_servers(self) -> list[str]:
        return [s.removeprefix("kafka://") for s in self.broker.split(";") if s]
