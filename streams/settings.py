"""Worker settings, from the environment (``WAYFINDER_*``) and flags. Frozen; choices are literals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PUBLISH_WAIT_SECONDS = 300.0
"""How long ``wayfinder publish --tick`` waits for the workers to catch up before the tick, unless ``--wait`` says."""


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
    data_dir: Path = Field(Path("wayfinder-data"), description="RocksDB files (dropped at start: restored from the "
                           "changelogs) and the lock of the one worker that uses it")
    definitions: Path | None = Field(None, description="folder with journeys/, catalog/, templates/, policy.yaml "
                                     "[default: the bundled examples]")
    clock: Literal["wall", "event"] = Field("wall", description="wall: the real clock; event: per-partition "
                                            "stream time, advanced by events and `publish --tick` (tests, replays)")
    metrics_host: str = Field("127.0.0.1", description="address the metrics server binds (0.0.0.0 in a pod, so "
                              "Prometheus can scrape it)")
    metrics_port: int | None = Field(9108, ge=0, le=65535, description="serve Prometheus metrics on this port (0: "
                                     "any free port, unset: no server)")
    timer_tick_seconds: float = Field(0.5, gt=0, description="how often due timers are looked for")
    max_event_bytes: int = Field(1_000_000, ge=1024, description="larger events are dead-lettered")
    recipient_wait_seconds: float = Field(30.0, ge=0, description="how long an input waits at least for the "
                                          "directory to know a message's recipient (another partition's person): "
                                          "how late a recipient's profile may be published; then until the group "
                                          "has caught up past the wait's end, and a recipient still unknown is "
                                          "no_recipient, as simulate decides (README 'no_recipient'); 0: no wait")
    recipient_max_wait_seconds: float = Field(600.0, gt=0, description="the longest an input waits for a "
                                              "recipient: past the wait it is decided once the whole group has "
                                              "caught up past the wait's end (README 'no_recipient'), and at the "
                                              "latest after this")
    order_wait_seconds: float = Field(60.0, ge=0, description="the event clock: the longest an input waits for "
                                      "the other input topics of its partition to be read up to its time (README "
                                      "'Kafka order'); the wall clock: the longest a partition's timers wait for "
                                      "inputs still to read that happened before them, none read meanwhile moving "
                                      "the partition's time on; 0: inputs are decided in the order they are read, "
                                      "timers when due")
    max_record_bytes: int = Field(900_000, ge=1024, description="an input whose state, output record or write-"
                                  "ahead entry would be larger is dead-lettered (keep it below the broker's "
                                  "message.max.bytes, 1 MiB by default)")
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"],
                         BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v)] = Field(
        "WARNING", description="the worker's log level (Faust's and aiokafka's lines too): DEBUG, INFO, WARNING or "
        "ERROR, any case")
    log_format: Literal["text", "json"] = Field("text", description="json: one JSON object per line with stable "
                                                "keys (Faust's own lines too)")
    ready_max_lag: int = Field(1000, ge=0, description="/readyz fails while the assigned partitions are more "
                               "than this many messages behind")
    lag_interval_seconds: float = Field(5.0, gt=0, description="how often the lag is asked of the broker")
    # Faust tuning (the names are Faust's settings; durations in seconds)
    producer_linger: float = Field(0.05, ge=0, description="seconds the producer waits to fill a batch")
    producer_request_timeout: float = Field(1200.0, gt=0, description="seconds a produced record may wait for "
                                            "the broker to take it (Faust's default); one not taken by then stops "
                                            "the worker (exit 75) before its input is committed, and the "
                                            "restarted worker sends it again")
    producer_compression: Literal["lz4", "zstd", "gzip", "snappy", "none"] = Field(
        "lz4", description="compression of produced batches (outputs and changelogs)")
    fetch_max_wait_ms: int = Field(100, ge=0, description="how long a fetch waits at the broker for records (Faust "
                                   "fixes 1500): a fetch of quiet partitions makes the busy ones wait this long")
    prefetch_backoff: float = Field(0.01, ge=0, description="seconds aiokafka holds the next fetch back while "
                                    "fetched records wait to be taken (aiokafka: 0.1)")
    broker_commit_every: int = Field(5000, ge=1, description="commit offsets after this many inputs")
    restore_stall_seconds: float = Field(30.0, ge=0, description="a table restore that receives no changelog "
                                         "record for this long is started again (0: never)")
    table_standby_replicas: int = Field(0, ge=0, description="standby copies of each table partition kept by "
                                        "other workers (they read its changelog): a failover takes over without "
                                        "restoring it, at the cost of CPU on every worker; 0: none")
    broker_commit_interval: float = Field(1.0, gt=0, description="commit offsets at least this often (seconds); "
                                          "write-ahead entries are deleted once their input is committed")
    stream_buffer_maxsize: int = Field(8192, ge=1, description="inputs buffered per partition before the "
                                       "consumer pauses it")
    broker_session_timeout: float = Field(15.0, gt=0, description="seconds without heartbeat before the group "
                                          "drops a worker and rebalances (within the broker's group.min/"
                                          "max.session.timeout.ms): how long a killed worker's partitions wait")
    broker_heartbeat_interval: float = Field(1.0, gt=0, description="seconds between heartbeats (at most a "
                                             "third of the session timeout)")
    group_instance_id: str | None = Field(None, description="static group membership: a name unique and stable "
                                          "per worker (the pod name of a StatefulSet); a worker restarted under "
                                          "the same name gets its partitions back without a rebalance")

    @field_validator("broker")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        """Each server as ``[kafka://]host:port`` (a port that is not a number failed deep in Kafka's client)."""
        servers = [s.removeprefix("kafka://") for s in value.split(";") if s]
        for server in servers or [""]:
            host, _, port = server.rpartition(":")
            if not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
                msg = f"{server!r} is not host:port (write kafka://host:port, several separated by ';')"
                raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _heartbeat_within_session(self) -> WorkerSettings:
        if self.broker_heartbeat_interval * 3 > self.broker_session_timeout:
            msg = (f"WAYFINDER_BROKER_HEARTBEAT_INTERVAL ({self.broker_heartbeat_interval}s) must be at most a third "
                   f"of WAYFINDER_BROKER_SESSION_TIMEOUT ({self.broker_session_timeout}s): lower the one or raise "
                   "the other")
            raise ValueError(msg)
        return self

    @property
    def compression(self) -> str | None:
        """The producer compression as Faust takes it (``None`` for none)."""
        return None if self.producer_compression == "none" else self.producer_compression

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    @property
    def bootstrap_servers(self) -> list[str]:
        return [s.removeprefix("kafka://") for s in self.broker.split(";") if s]
