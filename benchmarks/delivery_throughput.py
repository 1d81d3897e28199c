"""Delivery throughput from one process, and how long delivery takes to recover after an outage.

    .venv/bin/python -m benchmarks.delivery_throughput                  # 2,000 messages per run
    .venv/bin/python -m benchmarks.delivery_throughput --messages 500   # quicker

Part 1a delivers the same number of messages through the delivery runner (ledger, rate limit,
breaker, receipts, dead letters, metrics: everything ``wayfinder deliver`` does) to a local SMTP
server (aiosmtpd) and to a local HTTP server (aiohttp, a signed Standard Webhooks endpoint), each
in its own thread of this process, with concurrency 1 and 16, and reports messages per second
and the ratio of the two measured in the same run. It also runs concurrency 16 with an in-memory
ledger to show what the durable SQLite ledger (``synchronous=FULL``) costs. On loopback with
servers that answer at once this is CPU-bound (one process, one GIL), so concurrency cannot help
much; part 1b repeats it with servers that take ``--latency`` to answer, as a relay or a webhook
across a network does, which is where concurrency pays.

Part 2 stops the SMTP server, delivers while it is down, starts it again after ``--outage``
seconds, and reports how long after the restart the last message was accepted (with the breaker
reset and backoff settings shown), and checks that every message arrived exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import shlex
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from aiosmtpd.smtp import SMTP as SMTPServerProtocol
from aiosmtpd.smtp import Envelope, Session
from prometheus_client import CollectorRegistry

from tests.servers import EphemeralController
from wayfinder.connectors.base import ConnectorDeps, build_connectors
from wayfinder.connectors.ledger import LedgerEntry, SqliteLedger
from wayfinder.connectors.metrics import DeliveryMetrics
from wayfinder.connectors.receipts import JsonlSink
from wayfinder.connectors.runner import DeliveryRunner, DeliverySummary
from wayfinder.connectors.settings import DeliverySettings
from wayfinder.journeys.records import Message

NOW = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
SECRET = "whsec_" + base64.b64encode(b"benchmark-secret-0123456789").decode()
FAST: dict[str, Any] = {"rate_limit": {"per_second": 1_000_000, "burst": 1_000_000}}


def message(n: int, channel: str, run: str) -> Message:
    return Message.model_validate({
        "message_id": f"m-{run}-{n:08d}", "employee_id": f"E{n}", "recipient_id": f"E{n}",
        "journey_id": "new-parent", "journey_version": 3, "step_id": "welcome", "channel": channel,
        "status": "sent", "scheduled_for": NOW, "created_at": NOW, "subject": f"Welcome to parenthood, Zoë {n}",
        "text": "Hallo Zoë,\n\nwillkommen im Elternnetzwerk.\n\n" + "Ein Absatz über Elternzeit. " * 20,
        "html": "<p>Hallo Zoë,</p><p>willkommen im Elternnetzwerk.</p>" + "<p>Elternzeit.</p>" * 20,
        "resources": ["parent-network"], "explanation": "You received this because a child was added.",
        "preferences_url": "https://intranet.example.com/preferences", "recipient_email": f"e{n}@example.com",
        "recipient_name": "Zoë Kowalczyk",
    })


# -- servers, each in its own thread -----------------------------------------------------------------------
@dataclass
class Counting:
    ids: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    latency: float = 0.0

    async def handle_DATA(self, server: SMTPServerProtocol, session: Session, envelope: Envelope) -> str:
        if self.latency:
            await asyncio.sleep(self.latency)
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        start = content.find(b"Message-ID: ")
        with self.lock:
            self.ids.append(content[start:content.find(b"\r\n", start)])
        return "250 OK"


class SmtpServer:
    def __init__(self) -> None:
        self.handler = Counting()
        self.port = 0
        self._controller: EphemeralController | None = None

    def start(self) -> None:
        self._controller = EphemeralController(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        self.port = self._controller.port

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class HttpServer:
    """An aiohttp endpoint in a thread with its own loop; answers 204 to every POST."""

    def __init__(self) -> None:
        self.hits = 0
        self.port = 0
        self.latency = 0.0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._runner: web.AppRunner | None = None

    async def _hit(self, request: web.Request) -> web.Response:
        await request.read()
        if self.latency:
            await asyncio.sleep(self.latency)
        self.hits += 1
        return web.Response(status=204)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/hook", self._hit)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = self._runner.addresses[0][1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


class MemoryLedger:
    """A ledger that forgets on exit: only to measure what the durable one costs."""

    def __init__(self) -> None:
        self.rows: dict[str, LedgerEntry] = {}

    def lookup(self, message_id: str) -> LedgerEntry | None:
        return self.rows.get(message_id)

    def begin_attempt(self, message_id: str, connector: str) -> int:
        old = self.rows.get(message_id)
        attempts = (old.attempts if old else 0) + 1
        self.rows[message_id] = LedgerEntry(message_id, "sending", attempts, connector, None, "", "", None)
        return attempts

    def _set(self, message_id: str, state: Any, reason: str | None) -> None:
        row = self.rows[message_id]
        self.rows[message_id] = LedgerEntry(message_id, state, row.attempts, row.connector, reason, "", "", None)

    def accepted(self, message_id: str) -> None:
        self._set(message_id, "accepted", None)

    def retrying(self, message_id: str, reason: str) -> None:
        self._set(message_id, "retrying", reason)

    def failed(self, message_id: str, reason: str, connector: str) -> None:
        self._set(message_id, "failed", reason)

    def refused(self, message_id: str, reason: str) -> None:
        self._set(message_id, "failed", reason)

    def held(self, message_id: str, at: datetime) -> None:
        return None  # the benchmark uses no stop switch

    def held_at(self, message_id: str) -> datetime | None:
        return None

    def close(self) -> None:
        return None


# -- runs ------------------------------------------------------------------------------------------------------
async def _source(messages: list[Message]) -> AsyncIterator[Message]:
    for m in messages:
        yield m


async def deliver(settings: DeliverySettings, messages: list[Message], folder: Path, *,
                  memory_ledger: bool = False) -> tuple[DeliverySummary, float]:
    ledger: SqliteLedger | MemoryLedger = MemoryLedger() if memory_ledger else SqliteLedger(folder / "ledger.db")
    receipts, dead = JsonlSink(folder / "receipts.jsonl"), JsonlSink(folder / "dead.jsonl")
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=64)) as http:
        connectors = build_connectors(settings, ConnectorDeps(http=http))
        runner = DeliveryRunner(connectors, ledger=ledger, receipts=receipts, dead_letters=dead, settings=settings,
                                metrics=DeliveryMetrics(CollectorRegistry()))
        started = time.perf_counter()
        summary = await runner.run(_source(messages))
        elapsed = time.perf_counter() - started
        for c in connectors.values():
            await c.close()
    await receipts.close()
    await dead.close()
    ledger.close()
    return summary, elapsed


def throughput(label: str, make: Callable[[int], DeliverySettings], channel: str, count: int,
               arrived: Callable[[], int], *, ledger_cost: bool) -> None:
    rates: dict[str, float] = {}
    runs = [("c1", 1, False), ("c16", 16, False)] + ([("c16, memory ledger", 16, True)] if ledger_cost else [])
    for name, concurrency, memory in runs:
        tag = f"{channel}{concurrency}{int(memory)}{len(arrived.__name__)}{time.perf_counter_ns()}"
        messages = [message(n, channel, tag) for n in range(count)]
        before = arrived()
        with tempfile.TemporaryDirectory() as folder:
            summary, elapsed = asyncio.run(deliver(make(concurrency), messages, Path(folder), memory_ledger=memory))
        assert summary.delivered == count and arrived() - before == count, (summary, arrived() - before)
        rates[name] = count / elapsed
        print(f"  {label:<5} {name:<20} {count:>6} messages in {elapsed:6.2f}s  {rates[name]:8.0f} msg/s")
    extra = (f";  the SQLite ledger costs {100 * (1 - rates['c16'] / rates['c16, memory ledger']):.0f}% at 16"
             if ledger_cost else "")
    print(f"  {label:<5} concurrency 16 / 1: x{rates['c16'] / rates['c1']:.1f}{extra}")


def outage(count: int, down_for: float) -> None:
    server = SmtpServer()
    server.start()
    server.stop()  # down from the start; the port is kept for the restart
    settings = DeliverySettings(smtp_url=f"smtp://127.0.0.1:{server.port}?starttls=false",
                                sender="Bench <bench@example.com>", concurrency=16, **FAST,
                                retry={"max_attempts": 100, "base_delay_seconds": 0.05, "max_delay_seconds": 0.5,
                                       "give_up_after_seconds": 120},
                                circuit_breaker={"failure_threshold": 5, "reset_timeout_seconds": 0.5})
    messages = [message(n, "email", "outage") for n in range(count)]
    restarted: list[float] = []

    async def scenario(folder: Path) -> DeliverySummary:
        loop = asyncio.get_running_loop()

        async def restart() -> None:
            await asyncio.sleep(down_for)
            await asyncio.to_thread(server.start)
            restarted.append(time.perf_counter())
            while not server.handler.ids:
                await asyncio.sleep(0.005)
            restarted.append(time.perf_counter())

        task = loop.create_task(restart())
        summary, _ = await deliver(settings, messages, folder)
        await task
        return summary

    with tempfile.TemporaryDirectory() as folder:
        summary = asyncio.run(scenario(Path(folder)))
    done = time.perf_counter()
    server.stop()
    ids = server.handler.ids
    exactly_once = len(ids) == count and len(set(ids)) == count
    print(f"  {count} messages sent while the SMTP server was down for {down_for:g}s (breaker: 5 failures, reset "
          f"0.5s; backoff 0.05-0.5s, full jitter)\n  first accepted {restarted[1] - restarted[0]:.2f}s after the "
          f"restart, all {count} accepted {done - restarted[0]:.2f}s after it; {summary.attempts} attempts "
          f"for {count} messages; every message exactly once: {exactly_once}")


def build_parser() -> argparse.ArgumentParser:
    """The command line (the README's commands of this benchmark are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--outage", type=float, default=3.0, help="seconds the SMTP server is down in part 2")
    parser.add_argument("--latency", type=float, default=0.02, help="server answer delay in part 1b (seconds)")
    return parser


def main() -> int:
    args = build_parser().parse_args()
    print("$ " + shlex.join([Path(sys.executable).name, *sys.argv]))
    print(f"python {sys.version.split()[0]}, one process; servers in threads of the same process\n")

    smtp = SmtpServer()
    smtp.start()
    http = HttpServer()
    http.start()

    def smtp_settings(c: int) -> DeliverySettings:
        return DeliverySettings(smtp_url=f"smtp://127.0.0.1:{smtp.port}?starttls=false",
                                sender="Bench <bench@example.com>", concurrency=c, **FAST)

    def http_settings(c: int) -> DeliverySettings:
        return DeliverySettings(destinations={"portal": {"url": f"http://127.0.0.1:{http.port}/hook", "local": True,
                                                         "secrets": [SECRET]}}, concurrency=c, **FAST)

    def smtp_arrived() -> int:
        return len(smtp.handler.ids)

    def http_arrived() -> int:
        return http.hits

    try:
        print("Part 1a: throughput, servers answer at once (CPU-bound: client and servers share this process)")
        throughput("smtp", smtp_settings, "email", args.messages, smtp_arrived, ledger_cost=True)
        throughput("http", http_settings, "intranet", args.messages, http_arrived, ledger_cost=True)
        smtp.handler.latency = http.latency = args.latency
        slow = max(args.messages // 10, 50)
        print(f"\nPart 1b: throughput, servers answer after {args.latency * 1000:g} ms (like a relay or a webhook "
              "across a network)")
        throughput("smtp", smtp_settings, "email", slow, smtp_arrived, ledger_cost=False)
        throughput("http", http_settings, "intranet", slow, http_arrived, ledger_cost=False)
    finally:
        smtp.stop()
        http.stop()
    print("\nPart 2: recovery after an outage")
    outage(min(args.messages, 500), args.outage)
    return 0


if __name__ == "__main__":
    sys.exit(main())
