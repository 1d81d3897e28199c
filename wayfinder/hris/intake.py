"""``wayfinder intake``: an ASGI app (Starlette) that receives HR system webhooks and produces events.

POST /webhooks/bamboohr and /webhooks/personio, GET /healthz, /readyz and /metrics. A request is answered 2xx only
after the sink (Kafka or a file) has stored every event it stands for; when it cannot, 503 with Retry-After so
the sender tries again. Event ids are deterministic and a bounded cache remembers the ids already stored, so a
replayed delivery produces nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wayfinder.hris.diff import to_event
from wayfinder.hris.mapping import Mapping
from wayfinder.hris.metrics import IntakeMetrics
from wayfinder.hris.records import RowError
from wayfinder.hris.sinks import KafkaSink, Sink, SinkUnavailable
from wayfinder.hris.webhooks import SYSTEMS, WebhookError, item_changes, parse, verify
from wayfinder.streams.settings import WorkerSettings
from wayfinder.vocabulary import Topic

log = logging.getLogger(__name__)
READY_WAIT_SECONDS = 2.0  # how long /readyz waits for the sink's answer (probes time out after a few seconds)


class IntakeSettings(BaseSettings):
    """The intake's settings, from ``WAYFINDER_INTAKE_*``; secrets never print."""

    model_config = SettingsConfigDict(env_prefix="WAYFINDER_INTAKE_", frozen=True, extra="forbid")

    bamboohr_secret: SecretStr | None = Field(None, description="BambooHR webhook private key")
    personio_secret: SecretStr | None = Field(None, description="Personio webhook signing secret")
    tolerance_seconds: int = Field(300, ge=1, description="older (or future) signed timestamps are refused")
    rate_per_second: float = Field(20.0, gt=0, description="requests a second per sender address")
    burst: int = Field(40, ge=1, description="requests a sender may make at once")
    replay_cache_size: int = Field(100_000, ge=1, description="event ids remembered to drop replays")
    retry_after_seconds: int = Field(30, ge=1, description="what a 503 tells the sender to wait")
    max_body_bytes: int = Field(1_000_000, ge=1024, description="larger requests are refused (413)")
    kafka_timeout_seconds: float = Field(10.0, gt=0, description="how long to wait for Kafka before a 503")

    def secret(self, system: str) -> SecretStr | None:
        return self.bamboohr_secret if system == "bamboohr" else self.personio_secret


@dataclass(frozen=True)
class IntakeConfig:
    mappings: dict[str, Mapping]
    settings: IntakeSettings

    @classmethod
    def from_env(cls, mappings: dict[str, Mapping]) -> IntakeConfig:
        try:
            settings = IntakeSettings()
        except ValidationError as e:  # one line per variable, never its value (the secrets are settings too)
            lines = [f"wayfinder intake: bad settings: WAYFINDER_INTAKE_{str(err['loc'][0]).upper()}: {err['msg']}"
                     if err["loc"] else f"wayfinder intake: bad settings: {err['msg']}" for err in e.errors()]
            raise SystemExit("\n".join(lines)) from e
        missing = [s for s in mappings if settings.secret(s) is None]
        if missing:
            msg = f"set WAYFINDER_INTAKE_{missing[0].upper()}_SECRET: webhooks from {missing[0]} are signed with it"
            raise SystemExit(msg)
        return cls(mappings, settings)


class RateLimiter:
    """A token bucket per sender address (at most ``max_keys`` remembered)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 10_000) -> None:
        self.rate, self.burst, self.clock, self.max_keys = rate, burst, clock, max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when the request may go on, else the seconds until it may."""
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1 if wait == 0 else tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return wait


class ReplayCache:
    """The ids of events already stored, the oldest forgotten first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def add(self, ids: list[str]) -> None:
        for event_id in ids:
            self._ids[event_id] = None
            self._ids.move_to_end(event_id)
        while len(self._ids) > self.size:
            self._ids.popitem(last=False)


def kafka_sink(settings: WorkerSettings, timeout_seconds: float = 10.0) -> KafkaSink:
    return KafkaSink(settings.bootstrap_servers, settings.topic(Topic.HRIS_EVENTS), timeout_seconds=timeout_seconds)


def _error(status: int, reason: str, retry_after: int | None = None) -> JSONResponse:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse({"error": reason}, status_code=status, headers=headers)


def _events_of(mapping: Mapping, system: str, body: bytes, received: datetime
               ) -> tuple[list[dict[str, Any]], list[tuple[int, RowError]]]:
    """The events of one delivery, and its items that were refused (each alone, by its place, with why)."""
    events: list[dict[str, Any]] = []
    rejected: list[tuple[int, RowError]] = []
    for i, item in enumerate(parse(system, body)):
        if isinstance(item, RowError):
            rejected.append((i, item))
            continue
        try:
            when, changes = item_changes(mapping, item, received)
        except RowError as e:
            rejected.append((i, e))
            continue
        events.extend(to_event(mapping.source, when, item.employee, c) for c in changes)
    return events, rejected


class Readiness:
    """``/readyz``, answered as the other processes answer it: not ready while the sink says it cannot store events
    (Kafka unreachable, the file's folder not writable), or while it refused a delivery less than ``retry_after``
    seconds ago (the time its sender is told to wait; ready again after it, so traffic comes back and tries it)."""

    def __init__(self, sink: Sink, monotonic: Callable[[], float], retry_after: int) -> None:
        self.sink, self.monotonic, self.retry_after = sink, monotonic, retry_after
        self.failed: float | None = None  # when the sink last refused a delivery

    def refused(self) -> None:
        self.failed = self.monotonic()

    async def answer(self, _: Request) -> JSONResponse:
        reasons: list[str] = []
        if self.failed is not None and self.monotonic() - self.failed < self.retry_after:
            reasons.append(f"the sink did not acknowledge a delivery in the last {self.retry_after} s")
        try:
            why = await asyncio.wait_for(run_in_threadpool(self.sink.unready), timeout=READY_WAIT_SECONDS)
        except TimeoutError:
            why = f"the sink did not answer within {READY_WAIT_SECONDS:g} s"
        if why is not None:
            reasons.append(why)
        return JSONResponse({"status": "fail" if reasons else "ok", "reasons": reasons},
                            status_code=503 if reasons else 200)


def create_app(config: IntakeConfig, sink: Sink, *, clock: Callable[[], datetime],
               monotonic: Callable[[], float] = time.monotonic, registry: CollectorRegistry | None = None
               ) -> Starlette:
    """The intake app; ``clock`` (aware) checks signature timestamps and stamps events without a time; ``monotonic``
    paces the rate limit and times the sink; metrics go to ``registry`` (a new one when not given), served on
    ``/metrics``."""
    settings = config.settings
    limiter = RateLimiter(settings.rate_per_second, settings.burst, monotonic)
    seen = ReplayCache(settings.replay_cache_size)
    tolerance = timedelta(seconds=settings.tolerance_seconds)
    registry = CollectorRegistry() if registry is None else registry
    metrics = IntakeMetrics(registry, [s for s in config.mappings if s in SYSTEMS])
    readiness = Readiness(sink, monotonic, settings.retry_after_seconds)

    async def receive(request: Request) -> JSONResponse:
        """Answer a delivery and count the answer by its status (one that raised as the 500 it becomes)."""
        system = request.path_params["system"]
        try:
            response = await answer(request, system, monotonic())
        except Exception:
            metrics.answered(system, 500)
            raise
        metrics.answered(system, response.status_code)
        return response

    async def answer(request: Request, system: str, arrived: float) -> JSONResponse:
        secret = settings.secret(system)
        if system not in config.mappings or system not in SYSTEMS or secret is None:
            return _error(404, f"no webhook {system!r} here; configured: {', '.join(sorted(config.mappings))}")
        wait = limiter.take(request.client.host if request.client else "unknown")
        if wait > 0:
            return _error(429, "too many requests", math.ceil(wait))
        body = await request.body()
        if len(body) > settings.max_body_bytes:
            return _error(413, f"the body is larger than {settings.max_body_bytes} bytes")
        try:
            verify(system, request.headers, body, secret.get_secret_value(), clock(), tolerance)
            events, rejected = _events_of(config.mappings[system], system, body, clock())
        except WebhookError as e:
            log.info("refused a %s webhook: %s", system, e.reason)
            return _error(e.status, e.reason)
        fresh = list({e["id"]: e for e in events if e["id"] not in seen}.values())
        if fresh:
            try:
                await run_in_threadpool(sink.produce, fresh)
            except SinkUnavailable as e:
                readiness.refused()
                return _error(503, str(e), settings.retry_after_seconds)
            metrics.stored(system, [e["type"] for e in fresh], monotonic() - arrived)
            seen.add([e["id"] for e in fresh])
        metrics.duplicate(system, len(events) - len(fresh))
        for _, r in rejected:
            metrics.rejected_item(system, r.code)
            log.warning("a %s webhook item for employee %s was not mapped: %s", system, r.employee, r.reason)
        return JSONResponse({"accepted": len(fresh), "duplicates": len(events) - len(fresh), "rejected": [
            {"item": i, "employee_id": r.employee, "code": r.code, "reason": r.reason} for i, r in rejected]})

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "webhooks": sorted(config.mappings)})

    async def metrics_text(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await run_in_threadpool(sink.close)

    return Starlette(routes=[Route("/webhooks/{system}", receive, methods=["POST"]),
                             Route("/healthz", health, methods=["GET"]),
                             Route("/readyz", readiness.answer, methods=["GET"]),
                             Route("/metrics", metrics_text, methods=["GET"])], lifespan=lifespan)
