"""The worker's Faust tuning: settings from WAYFINDER_* variables, shown by ``--help``, passed to Faust."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from wayfinder.cli import main
from wayfinder.streams.app import create_app
from wayfinder.streams.settings import WorkerSettings

TUNING = {  # setting: its default (the values the worker used before, but a session of 15 s, not Faust's 60 s,
    # and a heartbeat every second: a killed worker's partitions move in seconds; README "Kafka order"; and no
    # standby copies of the tables, not Faust's one: README "Standby replicas")
    "producer_linger": 0.05, "producer_compression": "lz4", "broker_commit_every": 5000,
    "broker_commit_interval": 1.0, "stream_buffer_maxsize": 8192, "broker_session_timeout": 15.0,
    "broker_heartbeat_interval": 1.0, "table_standby_replicas": 0, "producer_request_timeout": 1200.0,
}


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """Faust binds its app to the current event loop: give it one that is closed afterwards."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def test_the_tuning_defaults_are_the_values_the_worker_used_before() -> None:
    settings = WorkerSettings()
    assert {name: getattr(settings, name) for name in TUNING} == TUNING


def test_the_tuning_comes_from_the_environment_and_is_listed_in_the_help(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WAYFINDER_BROKER_COMMIT_EVERY", "250")
    monkeypatch.setenv("WAYFINDER_PRODUCER_COMPRESSION", "none")
    settings = WorkerSettings()
    assert settings.broker_commit_every == 250
    assert settings.compression is None
    with pytest.raises(SystemExit) as done:
        main(["worker", "--help"])
    assert done.value.code == 0
    shown = capsys.readouterr().out
    for name in TUNING:
        assert f"WAYFINDER_{name.upper()} " in shown


def test_a_heartbeat_slower_than_a_third_of_the_session_timeout_is_refused_naming_both(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match=r"WAYFINDER_BROKER_HEARTBEAT_INTERVAL \(5.0s\) must be at most a "
                       r"third of WAYFINDER_BROKER_SESSION_TIMEOUT \(12.0s\)"):
        WorkerSettings(broker_heartbeat_interval=5.0, broker_session_timeout=12.0)
    with pytest.raises(ValidationError, match="producer_compression"):
        WorkerSettings(producer_compression="brotli")
    monkeypatch.setenv("WAYFINDER_BROKER_HEARTBEAT_INTERVAL", "30")
    with pytest.raises(SystemExit, match=r"^wayfinder: bad settings: WAYFINDER_BROKER_HEARTBEAT_INTERVAL "
                       r"\(30.0s\)"):
        main(["worker", "--broker", "kafka://127.0.0.1:9"])


def test_the_worker_app_gets_the_tuning(loop: asyncio.AbstractEventLoop) -> None:
    settings = WorkerSettings(store="memory", metrics_port=None, producer_linger=0.2, producer_compression="zstd",
                              broker_commit_every=123, broker_commit_interval=2.5, stream_buffer_maxsize=99,
                              broker_session_timeout=45.0, broker_heartbeat_interval=4.0,
                              group_instance_id="worker-0", table_standby_replicas=2, producer_request_timeout=9.0)
    conf = create_app(settings).faust.conf
    assert conf.producer_request_timeout == 9.0
    assert conf.consumer_group_instance_id == "worker-0"
    assert conf.table_standby_replicas == 2
    assert (conf.producer_linger, conf.producer_compression_type, conf.broker_commit_every,
            conf.broker_commit_interval, conf.stream_buffer_maxsize, conf.broker_session_timeout,
            conf.broker_heartbeat_interval) == (0.2, "zstd", 123, 2.5, 99, 45.0, 4.0)


def test_a_bad_setting_is_named_as_the_operator_wrote_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13: configuration errors named clearly. The variable (and its flag) is named, not the field; a log
    level is read in any case, as the other commands read it; a port outside 0..65535 is refused."""
    monkeypatch.setenv("WAYFINDER_METRICS_PORT", "70000")
    with pytest.raises(SystemExit, match=r"^wayfinder: bad settings: WAYFINDER_METRICS_PORT \(--metrics-port\): "
                       r"Input should be less than or equal to 65535"):
        main(["worker", "--broker", "kafka://127.0.0.1:9"])
    monkeypatch.setenv("WAYFINDER_PARTITIONS", "abc")
    with pytest.raises(SystemExit, match=r"WAYFINDER_PARTITIONS \(--partitions\): Input should be a valid integer"):
        main(["worker", "--broker", "kafka://127.0.0.1:9"])
    monkeypatch.delenv("WAYFINDER_PARTITIONS")
    monkeypatch.delenv("WAYFINDER_METRICS_PORT")
    assert WorkerSettings(log_level="info").log_level == "INFO"


def test_a_metrics_port_that_cannot_be_served_names_the_settings() -> None:
    import socket

    from wayfinder.streams.app import serve_health

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = create_app(WorkerSettings(store="memory", metrics_port=port))
        with pytest.raises(SystemExit, match=rf"cannot serve metrics on 127.0.0.1:{port} \(WAYFINDER_METRICS_HOST, "
                           r"WAYFINDER_METRICS_PORT\): Address already in use"):
            serve_health(app)


def test_rocksdb_tables_start_from_their_changelogs_and_a_data_folder_serves_one_worker(
        loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    """A worker's local table files are dropped at start (restored from the changelogs alone: a local write whose
    changelog record never left must not outlive a kill; tests/real/test_kafka.py shows the loss); other files
    stay, and a second worker on the same folder is refused while the first runs."""
    from wayfinder.streams.app import DataDirInUse, start_from_changelogs

    settings = WorkerSettings(store="rocksdb", data_dir=tmp_path, metrics_port=None)
    wapp = create_app(settings)
    tables = Path(wapp.faust.conf.tabledir)
    for name in ("employees-0.db", "mailboxes-3.db", "someone-else.db"):
        (tables / name).mkdir(parents=True)
        (tables / name / "CURRENT").write_text("kept by a worker that was killed")
    lock = start_from_changelogs(wapp)
    assert lock is not None
    assert sorted(p.name for p in tables.iterdir()) == ["someone-else.db"]
    with pytest.raises(DataDirInUse, match="another worker uses this data folder"):
        start_from_changelogs(create_app(settings))
    lock.close()
    again = start_from_changelogs(create_app(settings))
    assert again is not None
    again.close()
    assert start_from_changelogs(create_app(WorkerSettings(store="memory", metrics_port=None))) is None
