"""One small HTTP server per process: ``/metrics`` (Prometheus text), ``/healthz`` (alive) and ``/readyz``
(ready to do its work). Any other path is 404, so a probe pointed at the wrong path fails instead of reading
the metrics as "healthy".

It runs in a thread of its own and is started before the process connects to anything, so it answers from
start-up on: a process that is still joining says so on ``/readyz`` (503 with its reasons) instead of not
answering at all. The answers are JSON: ``{"status": "ok"|"fail", "reasons": [...]}``; reasons name topics,
partitions and settings, never people.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


@dataclass(frozen=True)
class Verdict:
    """A probe's answer: ``ok``, or not with the reasons (opaque: topics, partitions, settings, counts)."""

    ok: bool
    reasons: tuple[str, ...] = ()

    @staticmethod
    def of(reasons: list[str]) -> Verdict:
        return Verdict(not reasons, tuple(reasons))

    def body(self) -> bytes:
        return json.dumps({"status": "ok" if self.ok else "fail", "reasons": list(self.reasons)}).encode()


Check = Callable[[], Verdict]


def _always_ok() -> Verdict:
    return Verdict(True)


class HealthServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], registry: CollectorRegistry, alive: Check, ready: Check) -> None:
        super().__init__(address, _Handler)
        self.registry = registry
        self.alive = alive
        self.ready = ready

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        """Where this machine reaches the server: the address it is bound to, or the loopback when it listens on
        every address (``0.0.0.0``, as in a pod). The start-up log line says this, not always the loopback: a
        server bound to one other address (``WAYFINDER_METRICS_HOST=10.0.0.5``) does not answer there."""
        host = str(self.server_address[0])
        every = ("", "0.0.0.0")  # noqa: S104 - compared with, not bound to
        return f"http://{'127.0.0.1' if host in every else host}:{self.port}"


class _Handler(BaseHTTPRequestHandler):
    server: HealthServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path == "/metrics":
            self._send(200, generate_latest(self.server.registry), CONTENT_TYPE_LATEST)
        elif path in ("/healthz", "/readyz"):
            check = self.server.alive if path == "/healthz" else self.server.ready
            try:
                verdict = check()
            except Exception as e:  # a probe that raises is a failing probe, said plainly
                verdict = Verdict(False, (f"the check raised {type(e).__name__}",))
            self._send(200 if verdict.ok else 503, verdict.body(), "application/json")
        else:
            self._send(404, b'{"status": "fail", "reasons": ["no such path: /metrics, /healthz, /readyz"]}',
                       "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Probes every few seconds are not worth a log line each."""


def serve(registry: CollectorRegistry, *, host: str, port: int, alive: Check | None = None,
          ready: Check | None = None) -> HealthServer:
    """Start the server in a daemon thread (``port`` 0: any free port; the bound one is ``.port``)."""
    server = HealthServer((host, port), registry, alive or _always_ok, ready or _always_ok)
    threading.Thread(target=server.serve_forever, name="wayfinder-health", daemon=True).start()
    return server
