"""Operations in process: JSON logs of a real run carry no personal data, the health server answers its three
paths, and ``wayfinder serve`` has /healthz and /readyz."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter
from pydantic import SecretStr
from starlette.testclient import TestClient

from tests.support import personal_values
from wayfinder import examples_dir
from wayfinder.journeys.loader import Sources, load_or_raise
from wayfinder.telemetry import Verdict, serve

WAYFINDER = str(Path(sys.executable).with_name("wayfinder"))
STABLE_KEYS = ["time", "level", "logger", "message"]
# A journey whose trigger condition fails at run time for every upsert: the engine logs a diagnostic per
# person at INFO, which is what a worker logs in production.
FAILING_JOURNEY = """\
apiVersion: wayfinder/v1
kind: Journey
id: ops-log-check
name: Log check
owner: ops@example.com
version: 1
status: active
trigger:
  event: hris.employee.upserted
  when: int(employee.id) > 0
steps:
  - id: hello
    task: {assignee: hr_partner, title: Never, note: Never}
"""


def test_json_logs_of_a_simulation_are_one_object_a_line_with_ids_and_no_names_or_emails(tmp_path: Path) -> None:
    journeys = tmp_path / "journeys"
    shutil.copytree(examples_dir() / "journeys", journeys)
    (journeys / "zz-ops-log-check.yaml").write_text(FAILING_JOURNEY, encoding="utf-8")
    env = dict(os.environ, WAYFINDER_LOG_FORMAT="json")
    run = subprocess.run([WAYFINDER, "simulate", "--events", str(examples_dir() / "events.jsonl"), "--journeys",
                          str(journeys), "--out", str(tmp_path / "out"), "-v"], env=env, capture_output=True,
                         text=True, check=False, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stderr.splitlines()
    assert len(lines) >= 100, "the run logged too little to check"
    bad = [line for line in lines if not (line.startswith("{") and line.endswith("}"))]
    assert not bad, bad[:3]
    parsed = [json.loads(line) for line in lines]
    assert all(list(p)[:4] == STABLE_KEYS for p in parsed)
    diagnostics = [p for p in parsed if p["message"].startswith("expression_failed")]
    assert diagnostics and all(p["journey"] == "ops-log-check" and p["employee_id"].startswith("E")
                               for p in diagnostics)
    # each names the event it was decided on (issue 13: "the ids that matter (event id, ...)")
    upserts: dict[object, object] = {}
    for line in (examples_dir() / "events.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("type") == "hris.employee.upserted":
            upserts[event.get("id")] = event.get("subject")
    assert all(upserts.get(p.get("event_id")) == p["employee_id"] for p in diagnostics), diagnostics[:3]
    people = personal_values()
    assert len(people) >= 100, "the bundled events should hold names and emails to look for"
    leaked = sorted(v for v in people if v in run.stderr)
    assert not leaked, f"personal data in the logs: {leaked[:5]}"


def test_a_bad_log_format_is_refused_naming_the_variable() -> None:
    env = dict(os.environ, WAYFINDER_LOG_FORMAT="yaml")
    run = subprocess.run([WAYFINDER, "validate"], env=env, capture_output=True, text=True, check=False, timeout=120)
    assert run.returncode == 2
    assert "WAYFINDER_LOG_FORMAT: 'yaml' is not one of text, json" in run.stderr


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - a local test server
            return int(r.status), bytes(r.read())
    except urllib.error.HTTPError as e:
        return int(e.code), bytes(e.read())


def test_the_health_server_answers_metrics_health_and_readiness_and_nothing_else() -> None:
    registry = CollectorRegistry()
    Counter("wayfinder_probe_total", "a test counter", registry=registry).inc()
    state = {"ready": Verdict.of(["waiting to join the consumer group (no assignment yet)"])}
    server = serve(registry, host="127.0.0.1", port=0, ready=lambda: state["ready"])
    try:
        base = f"http://127.0.0.1:{server.port}"
        status, body = get(f"{base}/metrics")
        assert status == 200 and b"wayfinder_probe_total 1.0" in body
        assert get(f"{base}/healthz") == (200, b'{"status": "ok", "reasons": []}')
        status, body = get(f"{base}/readyz")
        assert status == 503 and json.loads(body)["reasons"] == ["waiting to join the consumer group (no "
                                                                 "assignment yet)"]
        state["ready"] = Verdict(True)
        assert get(f"{base}/readyz")[0] == 200
        assert get(f"{base}/")[0] == 404 and get(f"{base}/ready")[0] == 404, "only the three paths answer"
    finally:
        server.shutdown()
        server.server_close()


def _unused_ports(count: int) -> list[int]:
    """Local ports in 18000-18999 that nothing listens on now."""
    found: list[int] = []
    for port in range(18000 + os.getpid() % 900, 19000):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                found.append(port)
        if len(found) == count:
            return found
    msg = "no free local port in 18000-18999"
    raise AssertionError(msg)


def test_deliver_kafka_without_a_broker_keeps_running_healthy_and_says_what_it_waits_for(tmp_path: Path) -> None:
    broker, metrics = _unused_ports(2)
    env = os.environ | {"WAYFINDER_BROKER": f"kafka://127.0.0.1:{broker}", "WAYFINDER_SMTP_URL": "smtp://127.0.0.1:1",
                        "WAYFINDER_SENDER": "HR <hr@example.com>", "WAYFINDER_LEDGER_PATH": str(tmp_path / "l.db")}
    deliver = subprocess.Popen([WAYFINDER, "deliver", "--kafka", "--metrics-port", str(metrics)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base, answers = f"http://127.0.0.1:{metrics}", None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and deliver.poll() is None:
            try:
                answers = get(f"{base}/healthz"), get(f"{base}/readyz")
            except OSError:  # not listening yet
                time.sleep(0.2)
                continue
            if b"waiting for the Kafka broker" in answers[1][1]:
                break
            time.sleep(0.2)
        assert deliver.poll() is None, "deliver --kafka died without a broker"
        assert answers is not None and answers[0] == (200, b'{"status": "ok", "reasons": []}')
        status, body = answers[1]
        assert status == 503
        assert json.loads(body)["reasons"] == ["not consuming outbound.messages yet (waiting for the Kafka broker "
                                               "(the producer of delivery.receipts))"]
        time.sleep(2.5)  # a retry or two later, still up
        assert deliver.poll() is None
        assert get(f"{base}/healthz")[0] == 200
    finally:
        deliver.terminate()
        _, err = deliver.communicate(timeout=30)
    assert "Traceback" not in err


def test_deliver_kafka_names_the_settings_when_its_metrics_port_cannot_be_served(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A metrics port in use (or a WAYFINDER_METRICS_HOST not of this machine) stopped ``deliver --kafka`` with an
    OSError traceback; the worker has named the settings since 2026-12-03. Said before anything touches Kafka."""
    from wayfinder.cli import main

    for name, value in {"WAYFINDER_BROKER": "kafka://127.0.0.1:1", "WAYFINDER_SMTP_URL": "smtp://127.0.0.1:1",
                        "WAYFINDER_SENDER": "HR <hr@example.com>", "WAYFINDER_METRICS_HOST": "127.0.0.1",
                        "WAYFINDER_LEDGER_PATH": str(tmp_path / "l.db")}.items():
        monkeypatch.setenv(name, value)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["deliver", "--kafka", "--idle", "1", "--metrics-port", str(port)]) == 2
    assert capsys.readouterr().err == (f"wayfinder deliver: cannot serve metrics on 127.0.0.1:{port} "
                                       "(WAYFINDER_METRICS_HOST, --metrics-port): Address already in use\n")


def test_serve_has_healthz_and_readyz_without_signing_in(tmp_path: Path) -> None:
    from wayfinder.cli.report import write_results
    from wayfinder.web.app import create_app
    from wayfinder.web.backend import EmbeddedBackend, World
    from wayfinder.web.settings import WebSettings

    ex = examples_dir()
    defs = load_or_raise(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                                 policy=ex / "policy.yaml"))
    events = tmp_path / "events.jsonl"
    events.write_text("", encoding="utf-8")
    out = tmp_path / "run"
    out.mkdir()
    backend = EmbeddedBackend(out, World(defs=defs, events=events), write=write_results,
                              now=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    settings = WebSettings(token_secret=SecretStr("t" * 32), session_secret=SecretStr("s" * 32), cookie_secure=True)
    app = create_app(settings, backend, registry=CollectorRegistry(), now=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        assert client.get("/healthz").json() == {"status": "ok", "reasons": []}
        assert client.get("/readyz").status_code == 200
        out.chmod(0o500)
        try:
            ready = client.get("/readyz")
        finally:
            out.chmod(0o700)
        if os.geteuid() != 0:  # root may write anywhere: the check cannot fail for root
            assert ready.status_code == 503
        shutil.rmtree(out)
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["reasons"] == ["the output folder is missing or read-only"]


def test_serve_while_its_store_loads_answers_the_probes_only_and_healthz_fails_when_it_cannot_recover(
        tmp_path: Path) -> None:
    """The app's side of ``serve --kafka`` listening at once (the real command: tests/real/test_serve_kafka.py): a
    backend still loading lets /healthz (200), /readyz and the stylesheet through and answers every page 503 with
    Retry-After, in the reader's language for an employee's page; a backend that can no longer do its work fails
    /healthz, so that it is restarted."""
    from wayfinder.cli.report import write_results
    from wayfinder.web.app import create_app
    from wayfinder.web.backend import EmbeddedBackend, World
    from wayfinder.web.settings import WebSettings

    class Starting(EmbeddedBackend):  # the folder backend, in the states the Kafka one goes through
        loading_reason: str | None = "the Kafka topics are not read to their end yet"
        dead: list[str] = []  # noqa: RUF012 - set per state below

        def loading(self) -> str | None:
            return self.loading_reason

        def live_reasons(self) -> list[str]:
            return self.dead

        def ready_reasons(self) -> list[str]:
            return [self.loading_reason] if self.loading_reason else []

    ex = examples_dir()
    defs = load_or_raise(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                                 policy=ex / "policy.yaml"))
    events = tmp_path / "events.jsonl"
    events.write_text("", encoding="utf-8")
    at = datetime(2026, 12, 1, tzinfo=UTC)
    backend = Starting(tmp_path / "run", World(defs=defs, events=events), write=write_results, now=lambda: at)
    settings = WebSettings(token_secret=SecretStr("t" * 32), session_secret=SecretStr("s" * 32), cookie_secure=True)
    app = create_app(settings, backend, registry=CollectorRegistry(), now=lambda: at, dev_login=True)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        assert client.get("/healthz").json() == {"status": "ok", "reasons": []}
        assert client.get("/readyz").status_code == 503
        assert client.get("/static/app.css").status_code == 200
        for path in ("/review", "/tasks", "/overview", "/login", "/metrics", "/preferences?t=abc.def"):
            page = client.get(path)
            assert (page.status_code, page.headers["retry-after"]) == (503, "10"), path
        german = client.get("/preferences?t=abc.def", headers={"accept-language": "de-DE"})
        assert german.status_code == 503 and 'lang="de"' in german.text
        backend.loading_reason = None
        assert client.get("/readyz").status_code == 200
        assert client.get("/login").status_code == 200
        assert client.get("/metrics").status_code == 200
        backend.dead = ["serve stopped following the Kafka topics (see its log)"]
        assert client.get("/healthz").status_code == 503
        assert client.get("/healthz").json()["reasons"] == backend.dead


def test_serve_on_kafka_names_a_bad_setting_and_an_unreachable_broker_without_a_traceback() -> None:
    """Issue 13: configuration errors named clearly. ``serve --kafka`` read the worker's settings and built its
    producer unguarded: a pydantic traceback for WAYFINDER_PARTITIONS=abc, a KafkaTimeoutError one for a broker
    nobody answers on."""
    env = {**os.environ, "WAYFINDER_SESSION_SECRET": "s" * 32, "WAYFINDER_TOKEN_SECRET": "t" * 32}
    wayfinder = str(Path(sys.executable).parent / "wayfinder")
    bad = subprocess.run([wayfinder, "serve", "--kafka", "--port", "0"], env=env | {"WAYFINDER_PARTITIONS": "abc"},
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 1
    assert "configuration error: WAYFINDER_PARTITIONS: Input should be a valid integer" in bad.stderr
    assert "Traceback" not in bad.stderr
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    away = subprocess.run([wayfinder, "serve", "--kafka", "--port", "0"],
                          env=env | {"WAYFINDER_BROKER": f"kafka://127.0.0.1:{port}"}, capture_output=True, text=True,
                          timeout=120, check=False)
    assert away.returncode == 1
    assert f"could not reach the broker at ['127.0.0.1:{port}'] (KafkaTimeoutError" in away.stderr
    assert "Traceback" not in away.stderr


def test_a_kafka_command_whose_broker_does_not_answer_says_so_in_one_line() -> None:
    """publish, topics create and sending --kafka ended in a 44-line KafkaTimeoutError traceback (found by an audit
    of the README's platform quick start); every command now says where it looked, in one line, exit 1. A real
    command against a port nothing listens on (about 30 s: kafka-python's own bootstrap wait)."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    wayfinder = str(Path(sys.executable).parent / "wayfinder")
    away = subprocess.run([wayfinder, "sending", "pause", "--kafka", "--operator", "E1"],
                          env={**os.environ, "WAYFINDER_BROKER": f"kafka://127.0.0.1:{port}"}, capture_output=True,
                          text=True, timeout=120, check=False)
    assert away.returncode == 1
    assert "Traceback" not in away.stderr
    assert away.stderr.splitlines()[-1] == (
        f"wayfinder sending: the Kafka broker at kafka://127.0.0.1:{port} did not answer (KafkaTimeoutError); "
        "is WAYFINDER_BROKER right and the broker up?")


def test_an_error_that_is_not_kafkas_is_not_taken_for_an_absent_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one-line answer is for Kafka's errors only: anything else is a bug, and shows as one."""
    from wayfinder.cli import main, sending

    monkeypatch.setattr(sending, "_produce", lambda record: 1 / 0)  # the edge that would talk to Kafka
    with pytest.raises(ZeroDivisionError):
        main(["sending", "pause", "--kafka", "--operator", "E1"])


@pytest.mark.parametrize(("host", "url_host"), [("127.0.0.1", "127.0.0.1"), ("127.0.0.2", "127.0.0.2"),
                                                ("0.0.0.0", "127.0.0.1")])  # noqa: S104 - a pod's setting
def test_the_start_up_line_gives_the_address_the_health_server_answers_on(host: str, url_host: str) -> None:
    """The worker's and deliver's "metrics on URL" line said 127.0.0.1 whatever WAYFINDER_METRICS_HOST was; bound to
    another address the server does not answer on the loopback."""
    server = serve(CollectorRegistry(), host=host, port=0)
    try:
        assert server.url == f"http://{url_host}:{server.port}"
        assert get(f"{server.url}/healthz")[0] == 200
    finally:
        server.shutdown()
        server.server_close()


def test_serve_and_the_worker_export_the_policys_review_window_for_the_overdue_alert(tmp_path: Path) -> None:
    """Issue 13: "oldest pending review older than the review window". The rule compared with a constant (the
    default 5 days), wrong for a policy with another review_window; the processes now export the policy's."""
    from prometheus_client import CollectorRegistry as Registry

    from wayfinder.cli.report import write_results
    from wayfinder.streams.app import _Builder
    from wayfinder.streams.settings import WorkerSettings
    from wayfinder.web.app import create_app
    from wayfinder.web.backend import EmbeddedBackend, World
    from wayfinder.web.settings import WebSettings

    ex = examples_dir()
    policy = tmp_path / "policy.yaml"
    policy.write_text((ex / "policy.yaml").read_text(encoding="utf-8") + "review_window: 2d\n", encoding="utf-8")
    defs = load_or_raise(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                                 policy=policy))
    events = tmp_path / "events.jsonl"
    events.write_text("", encoding="utf-8")
    backend = EmbeddedBackend(tmp_path / "run", World(defs=defs, events=events), write=write_results,
                              now=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    settings = WebSettings(token_secret=SecretStr("t" * 32), session_secret=SecretStr("s" * 32), cookie_secure=True)
    web = Registry()
    create_app(settings, backend, registry=web, now=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    assert web.get_sample_value("wayfinder_review_window_seconds") == 2 * 86400
    worker = Registry()
    _Builder(WorkerSettings(store="memory", metrics_port=None, data_dir=tmp_path / "data"), worker,
             lambda: datetime(2026, 12, 1, tzinfo=UTC), defs)
    assert worker.get_sample_value("wayfinder_review_window_seconds") == 2 * 86400
