"""A real Prometheus (Debian's ``prometheus``) scraping a real worker on the real broker, ``deliver --kafka`` and
``wayfinder serve``, with the shipped rules and dashboard: the truthful lag, the health metrics, alerts going
pending on live data, every dashboard query answering, ``wayfinder status``, and the worker's JSON logs.

One Prometheus and one world for the module (a minute or so of CI): Prometheus reads its targets from files
(``file_sd``) and scrapes every second; the rules are the shipped ones evaluated every second. Alerts with a
``for:`` of minutes can only reach ``pending`` here: pending means the alert's expression holds on live data,
which is what this test is about (the firing side is in the promtool unit tests).
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from tests.real.hris_intake_server import MAPPINGS, NEW_HIRE, SECRETS, bamboohr_body, post_bamboohr
from tests.real.kafka_world import WAYFINDER, KafkaWorld, Worker, kafka_world
from tests.real.test_kafka import UNTIL
from tests.support import ROOT, at, free_port, personal_values
from wayfinder import examples_dir

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(400)]

RULES = ROOT / "deploy" / "prometheus" / "alerts.yaml"
DASHBOARD = ROOT / "deploy" / "grafana" / "wayfinder.json"
EVENTS = examples_dir() / "events.jsonl"
COMMIT_INTERVAL = 20  # seconds: the committed offsets stay behind this long while everything is processed
T = TypeVar("T")


def eventually(probe: Callable[[], T], done: Callable[[T], bool], timeout: float = 60.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    value = probe()
    while not done(value):
        assert time.monotonic() < deadline, f"not within {timeout}s: {what} (last: {value!r})"
        time.sleep(0.5)
        value = probe()
    return value


@dataclass
class Prometheus:
    url: str
    folder: Path

    def targets(self, job: str, addresses: list[str]) -> None:
        """Point ``job`` at ``addresses`` (host:port); Prometheus watches the file."""
        tmp = self.folder / f".{job}.json"
        tmp.write_text(json.dumps([{"targets": addresses}]), encoding="utf-8")
        tmp.replace(self.folder / f"{job}.json")

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as r:  # noqa: S310 - local
            body = json.loads(r.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("query", query=expr)["result"]
        return result

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def alerts_seen(self, window: str = "10m") -> set[str]:
        """Every alert pending or firing at some evaluation in the window (Prometheus's own ALERTS series)."""
        expr = f"count by (alertname) (count_over_time(ALERTS[{window}]))"
        return {r["metric"]["alertname"] for r in self.query(expr)}


@contextmanager
def running_prometheus(folder: Path, rules: dict[str, Any], jobs: tuple[str, ...],
                       scrape_configs: tuple[dict[str, Any], ...] = ()) -> Iterator[Prometheus]:
    """Prometheus evaluating ``rules`` and scraping every second the targets a test names for each of ``jobs``
    (``file_sd``: none at first), and ``scrape_configs`` as given, stopped at the end."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is missing: apt-get install prometheus (./scripts/test does when run as root)")
    (folder / "rules.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
        "rule_files": ["rules.yaml"],
        "scrape_configs": [{"job_name": job, "file_sd_configs": [{"files": [str(folder / f"{job}.json")],
                                                                   "refresh_interval": "1s"}]} for job in jobs]
        + list(scrape_configs),
    }
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    prom = Prometheus(f"http://127.0.0.1:{port}", folder)
    for job in jobs:
        prom.targets(job, [])
    log = (folder / "prometheus.log").open("wb")
    process = subprocess.Popen([binary, f"--config.file={folder / 'prometheus.yml'}",
                                f"--storage.tsdb.path={folder / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                               cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        eventually(lambda: _ready(prom.url), bool, 60, "prometheus ready")
        yield prom
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in rules["groups"]:
        group["interval"] = "1s"
    jobs = ("wayfinder-worker", "wayfinder-deliver", "wayfinder-serve", "wayfinder-intake")
    with running_prometheus(tmp_path_factory.mktemp("prometheus"), rules, jobs) as prom:
        yield prom


def _ready(url: str, path: str = "/-/ready") -> bool:
    """``url``'s ``path`` answers 200 (Prometheus's readiness by default)."""
    try:
        with urllib.request.urlopen(f"{url}{path}", timeout=2) as r:  # noqa: S310 - local
            return int(r.status) == 200
    except OSError:
        return False


@dataclass
class Live:
    world: KafkaWorld
    worker: Worker
    processes: dict[str, subprocess.Popen[bytes]]
    urls: dict[str, str]


def _port_from(log: Path, timeout: float = 120.0) -> str:
    def found() -> list[str]:
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        return re.findall(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", text) or re.findall(
            r"http://127\.0\.0\.1:(\d+)/ over", text)

    return eventually(found, bool, timeout, f"a port in {log.name}")[-1]


def _start(name: str, args: list[str], env: dict[str, str], folder: Path) -> tuple[subprocess.Popen[bytes], Path]:
    log = folder / f"{name}.log"
    out = log.open("wb")
    process = subprocess.Popen([WAYFINDER, *args], env=env, stdout=out, stderr=subprocess.STDOUT)
    out.close()
    return process, log


@pytest.fixture(scope="module")
def live(kafka_broker: str, prometheus: Prometheus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("live")
    env = {"WAYFINDER_LOG_FORMAT": "json", "WAYFINDER_READY_MAX_LAG": "100", "WAYFINDER_LAG_INTERVAL_SECONDS": "1",
           "WAYFINDER_BROKER_COMMIT_INTERVAL": str(COMMIT_INTERVAL), "WAYFINDER_BROKER_COMMIT_EVERY": "1000000"}
    for world in kafka_world(kafka_broker, folder, extra_env=env):
        processes: dict[str, subprocess.Popen[bytes]] = {}
        try:
            yield _live(world, prometheus, folder, processes)
        finally:
            for p in processes.values():
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
                    try:
                        p.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait(timeout=30)


def _live(world: KafkaWorld, prometheus: Prometheus, folder: Path,
          processes: dict[str, subprocess.Popen[bytes]]) -> Live:
    worker = world.start_worker()
    # A pause of a journey no message belongs to: the switch shows on the metrics, nothing is held.
    subprocess.run([WAYFINDER, "sending", "pause", "--kafka", "--journey", "ops-live-test", "--operator", "ops-1"],
                   env=world.env(), check=True, capture_output=True, timeout=60)
    deliver_env = world.env() | {
        "WAYFINDER_SMTP_URL": f"smtp://127.0.0.1:{free_port()}?starttls=false",  # nobody listens: every try fails
        "WAYFINDER_SENDER": "People Team <people@example.com>", "WAYFINDER_LEDGER_PATH": str(folder / "ledger.db"),
        "WAYFINDER_RETRY__MAX_ATTEMPTS": "2", "WAYFINDER_RETRY__BASE_DELAY_SECONDS": "0.05",
        "WAYFINDER_CIRCUIT_BREAKER__FAILURE_THRESHOLD": "3", "WAYFINDER_CIRCUIT_BREAKER__RESET_TIMEOUT_SECONDS": "2"}
    processes["deliver"], deliver_log = _start("deliver", ["deliver", "--kafka", "--idle", "600", "--metrics-port",
                                                           "0"], deliver_env, folder)
    empty = folder / "no-events.jsonl"
    empty.write_text("", encoding="utf-8")
    (folder / "run").mkdir()
    processes["serve"], serve_log = _start("serve", ["serve", "--out", str(folder / "run"), "--events", str(empty),
                                                     "--port", str(free_port()), "--dev-login"],
                                           world.env(), folder)
    # The HR webhooks (`wayfinder intake`) into a file, not the broker (the lag test counts what is published), and
    # one signed BambooHR delivery of a hire: its panels then have a type, an acknowledgement time and a 200.
    intake_port = free_port()
    processes["intake"], _ = _start("intake", ["intake", "--mapping", f"bamboohr={MAPPINGS['bamboohr']}", "--port",
                                               str(intake_port), "--out", str(folder / "intake-events.jsonl")],
                                    world.env() | {"WAYFINDER_INTAKE_BAMBOOHR_SECRET": SECRETS["bamboohr"]}, folder)
    urls = {"worker": worker.metrics_url().removesuffix("/metrics"),
            "deliver": f"http://127.0.0.1:{_port_from(deliver_log)}",
            "serve": f"http://127.0.0.1:{_port_from(serve_log)}",
            "intake": f"http://127.0.0.1:{intake_port}"}
    eventually(lambda: _ready(urls["intake"], "/healthz"), bool, 60, "the intake answers")
    hire = post_bamboohr(urls["intake"], bamboohr_body(NEW_HIRE))
    assert hire.status_code == 200, hire.text
    for job, url in urls.items():
        prometheus.targets(f"wayfinder-{job}", [url.removeprefix("http://")])
    eventually(lambda: prometheus.value('count(up{job=~"wayfinder-.*"} == 1)'), lambda v: v == len(urls), 60,
               "all four processes scraped")
    world.publish_file(EVENTS)
    world.publish_file(EVENTS)  # the same events again: duplicates, still lag until committed
    return Live(world, worker, processes, urls)


def test_the_lag_is_the_committed_offsets_truth_and_readiness_follows_it(live: Live, prometheus: Prometheus) -> None:
    topic = live.world.settings.topic("hris.events")
    expr = f'sum(wayfinder_consumer_lag_messages{{topic="{topic}"}})'
    published = sum(1 for line in EVENTS.read_bytes().split(b"\n") if line.strip() and
                    _topic_of(line) == "hris.events") * 2
    # Nothing is committed for COMMIT_INTERVAL seconds although the worker has long read everything: the lag
    # is every published event, exactly (a fetch-position gauge read 0 here).
    peak = eventually(lambda: prometheus.value(f"max_over_time(({expr})[2m:1s])"), lambda v: v == published, 60,
                      f"lag of {topic} == {published}")
    assert peak == published
    assert prometheus.value("min_over_time(wayfinder_worker_ready[2m])") == 0, "behind by > 100: not ready"
    eventually(lambda: prometheus.value(expr), lambda v: v == 0, COMMIT_INTERVAL + 60, "lag back to 0 after commit")
    eventually(lambda: prometheus.value("wayfinder_worker_ready"), lambda v: v == 1, 30, "ready once caught up")
    labels = {r["metric"]["topic"].removeprefix(live.world.prefix)
              for r in prometheus.query("wayfinder_consumer_lag_messages")}
    assert labels == {"hris.events", "engagement.events", "decisions", "employee-ticks", "mailbox", "mailbox-ticks"}


def _topic_of(line: bytes) -> str:
    from wayfinder.streams.publish import route

    return route(line)[0]


@pytest.fixture(scope="module")
def decided(live: Live) -> Live:
    """On the event clock a mailbox acts once every partition's clock has passed its inputs (issue 12): a tick,
    after the lag test, lets the messages reach the outbound topic, where deliver (SMTP: nobody listens) fails them."""
    live.world.tick(at(UNTIL))
    return live


@pytest.mark.usefixtures("decided")
def test_the_alerts_hold_on_live_data(live: Live, prometheus: Prometheus) -> None:
    # Dead letters: one more scrape with the bundled events' few, then a burst of 12 of one reason.
    eventually(lambda: prometheus.value('sum(wayfinder_dead_letters_total{reason="invalid_json"})'),
               lambda v: v is not None, 60, "the first dead letters scraped")
    live.world.publish_lines([b"{not json"] * 12)
    wanted = {"WayfinderConsumerLagGrowing", "WayfinderDeadLettersRising", "WayfinderDeliveryFailing",
              "WayfinderDeliveryCircuitOpen", "WayfinderSendingPaused"}
    seen = eventually(prometheus.alerts_seen, lambda s: wanted <= s, 90, f"alerts pending: {wanted}")
    # (WayfinderNoProgress may go pending for the first seconds: events_consumed_total has no series before the
    # first event, so its rate is unknown while the lag already shows. Its `for: 10m` covers that.)
    assert "WayfinderWorkerDown" not in seen


@pytest.mark.usefixtures("decided")
def test_every_dashboard_query_returns_data(live: Live, prometheus: Prometheus) -> None:
    doc = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]
    eventually(lambda: prometheus.value("sum(wayfinder_delivery_failures_total)"), lambda v: v is not None and v > 0,
               60, "delivery failures scraped")

    def empty() -> list[str]:
        return [e for e in exprs if not prometheus.query(e)]

    assert eventually(empty, lambda e: not e, 60, "every panel's query has data") == []


@pytest.mark.usefixtures("decided")
def test_the_health_endpoints_answer_from_every_process(live: Live) -> None:
    for role, url in live.urls.items():
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as r:  # noqa: S310 - local
            assert json.loads(r.read())["status"] == "ok", role
    eventually(lambda: http_json(f"{live.urls['deliver']}/readyz"),
               lambda r: r[0] == 503 and "the circuit to connector smtp is open" in r[1]["reasons"], 30,
               "deliver not ready while its circuit is open")


def http_json(url: str) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of a GET, error statuses included (``/readyz`` answers 503 with reasons)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - local
            return int(r.status), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return int(e.code), json.loads(e.read())


@pytest.mark.usefixtures("decided")
def test_status_says_what_is_wrong_and_exits_1(live: Live) -> None:
    eventually(lambda: http_json(f"{live.urls['worker']}/readyz")[0], lambda s: s == 200, COMMIT_INTERVAL + 60,
               "worker ready")
    args = ["status", "--worker", live.urls["worker"], "--deliver", live.urls["deliver"], "--serve", live.urls["serve"]]
    run = subprocess.run([WAYFINDER, *args], env=live.world.env(), capture_output=True, text=True, timeout=120,
                         check=False)
    assert run.returncode == 1, run.stdout + run.stderr
    out = run.stdout
    assert "workers: 1 in group" in out and "sending: paused for ops-live-test" in out
    # Lag per partition as the broker has it (at most the 12 bad lines of the alerts test, not committed yet).
    lag = re.search(r"hris\.events: (\d+) \(p0 (\d+), p1 (\d+), p2 (\d+), p3 (\d+)\)", out)
    assert lag and int(lag[1]) == sum(int(n) for n in lag.groups()[1:]) <= 12, out
    assert re.search(r"dead letters in the last hour: \d+ \(.*invalid_json \d+", out), out
    assert f"problem: deliver {live.urls['deliver']} is not ready" in out  # its circuit opens and half-opens
    assert f"worker {live.urls['worker']}: ready" in out and "wayfinder_reviews_pending 0" in out
    healthy = subprocess.run([WAYFINDER, "status", "--json", "--worker", live.urls["worker"], "--max-dead-letters",
                              "1000"], env=live.world.env(), capture_output=True, text=True, timeout=120, check=False)
    assert healthy.returncode == 0, healthy.stdout
    report = json.loads(healthy.stdout)
    assert report["healthy"] is True
    # Per worker and partition (issue 13): the one worker owns every agent partition, each lag names it.
    [worker] = report["kafka"]["workers"]
    owned = {(x["topic"], x["partition"]) for x in worker["partitions"]}
    assert owned == {(x["topic"], x["partition"]) for x in report["kafka"]["lag"]} and len(owned) >= 6 * 4
    assert {x["worker"] for x in report["kafka"]["lag"]} == {worker["worker"]}
    assert re.search(rf"  worker {re.escape(worker['worker'])}: {len(owned)} partitions, lag \d+\n    ", out), out


def test_the_worker_logs_json_lines_without_personal_data(live: Live) -> None:
    lines = [line for line in live.worker.text().splitlines() if line.strip()]
    assert len(lines) >= 20
    bad = [line for line in lines if not (line.startswith("{") and line.endswith("}"))]
    assert not bad, bad[:3]
    parsed = [json.loads(line) for line in lines]
    assert all(list(p)[:4] == ["time", "level", "logger", "message"] for p in parsed)
    assert any(p["logger"].startswith("faust") for p in parsed), "Faust's own lines are JSON too"
    text = "\n".join(lines)
    # As a word: a given name such as "Ava" is also inside aiokafka's "GroupCoordinatorNotAvailableError".
    leaked = sorted(v for v in personal_values() if re.search(rf"(?<![A-Za-z]){re.escape(v)}(?![A-Za-z])", text))
    assert not leaked, leaked[:5]
