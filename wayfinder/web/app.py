"""``create_app``: the Starlette application of ``wayfinder serve`` (no module-level app)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from babel.dates import format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from wayfinder.connectors.links import RecipientLinks
from wayfinder.journeys.decisions import review_window
from wayfinder.journeys.events import iso
from wayfinder.web import auth, employee, staff, words
from wayfinder.web.backend import Backend
from wayfinder.web.context import Web, employee_page, web
from wayfinder.web.events import Unrecordable
from wayfinder.web.i18n import language_of, translator
from wayfinder.web.metrics import WebMetrics
from wayfinder.web.security import SecurityHeaders
from wayfinder.web.settings import WebSettings

HERE = Path(__file__).parent


def _jinja(now: Callable[[], datetime]) -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined)
    env.filters["when"] = when
    env.filters["acted"] = lambda value: acted(value, now())
    # Values of the records in words, the value kept in a <data> element (the pages showed "pending_approval").
    env.filters["status"] = words.status
    env.filters["role"] = words.role
    env.filters["reason"] = words.reason
    env.filters["decision"] = words.decision
    env.filters["channel"] = words.channel
    env.filters["cancelled"] = words.cancelled
    return env


def when(value: datetime) -> Markup:
    """An instant as staff read it ("2 Dec 2026, 10:00 UTC"; the pages showed "2026-12-02T10:00:00Z"), inside a
    ``<time>`` that keeps the RFC 3339 form for machines. Staff pages are in English and in UTC (a reviewer and the
    person a message is about may be in different timezones)."""
    said = format_datetime(value.astimezone(UTC), "d MMM y, HH:mm 'UTC'", locale="en")
    return Markup('<time datetime="{}">{}</time>').format(iso(value), said)


RUN_CLOCK = Markup(' <span class="run-clock">(run\'s clock)</span>')


def acted(value: datetime, now: datetime) -> Markup:
    """The time of something a person did on these pages, as ``when`` says it, marked "(run's clock)" when it is ahead
    of the wall clock ``now``: stamped by a simulated world whose clock stands ahead of today (``serve`` on a demo
    folder stamps a decision at the end of the run, README), not when the person did it."""
    return when(value) + RUN_CLOCK if value > now else when(value)


async def _metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


async def _healthz(request: Request) -> Response:
    """Alive (from start-up, while the store is still read) unless the backend can no longer do its work."""
    reasons = request.app.state.web.backend.live_reasons()
    return JSONResponse({"status": "fail" if reasons else "ok", "reasons": reasons}, status_code=503 if reasons
                        else 200)


async def _readyz(request: Request) -> Response:
    """Ready when the backend is: the run's folder writable, or the Kafka topics read to their end."""
    reasons = request.app.state.web.backend.ready_reasons()
    return JSONResponse({"status": "fail" if reasons else "ok", "reasons": reasons}, status_code=503 if reasons
                        else 200)


async def _error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 400 if isinstance(exc, Unrecordable) else 500
    detail = (exc.detail if isinstance(exc, HTTPException)
              else f"This cannot be recorded: Wayfinder's engine would refuse it ({exc.code}). Nothing was saved."
              if isinstance(exc, Unrecordable) else "Something went wrong.")
    if employee_page(request):  # an employee's page: in their language, as its pages are
        language = _browser_language(request.headers.get("accept-language", ""))
        say = translator(language)
        return web(request).render(request, "error.html", status=status, detail=say(str(detail)), code=status,
                                   lang=language, _=say)
    return web(request).render(request, "error.html", status=status, detail=detail, code=status)


OPEN_WHILE_LOADING = ("/healthz", "/readyz")
STARTING = "Wayfinder is starting and reading its records. Try again in a minute."


class UntilLoaded:
    """Every page but the probes (and the stylesheet) answers 503 while the backend's store is still being read
    (``Backend.loading``): a review queue, a task inbox or a metric of half the records is never shown."""

    def __init__(self, app: ASGIApp, backend: Backend) -> None:
        self.app = app
        self.backend = backend

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (scope["type"] != "http" or path in OPEN_WHILE_LOADING or path.startswith("/static/")
                or self.backend.loading() is None):
            await self.app(scope, receive, send)
            return
        response = await _error(Request(scope, receive), HTTPException(503, STARTING))
        response.headers["Retry-After"] = "10"
        await response(scope, receive, send)


def _browser_language(header: str) -> str:
    """The first language of an Accept-Language header the pages have words for (English when none): a link that
    does not open (changed, expired) names no reader whose language to take."""
    for part in header.split(",")[:10]:
        tag = part.split(";")[0].strip()
        language = language_of(tag)
        if language != "en" or tag.lower().startswith("en"):
            return language
    return "en"


def create_app(settings: WebSettings, backend: Backend, *, registry: CollectorRegistry,
               now: Callable[[], datetime], dev_login: bool = False) -> Starlette:
    """The web application over ``backend``; metrics go to ``registry``; ``now`` is the clock."""
    def pending() -> float:
        return float(len(backend.store.pending()))

    def oldest() -> float:
        waiting = backend.store.pending()
        return max(0.0, (backend.now() - waiting[0].created_at).total_seconds()) if waiting else 0.0

    metrics = WebMetrics(registry, pending=pending, oldest_age=oldest, switch=lambda: backend.switch().state(),
                         review_window_seconds=review_window(backend.world.defs.policy).total_seconds())
    state = Web(settings=settings, backend=backend,
                links=RecipientLinks(settings.token_secret, ttl=_days(settings.token_ttl_days)), metrics=metrics,
                jinja=_jinja(now), now=now, dev_login=dev_login, oauth=auth.make_oauth(settings))
    routes = [*auth.ROUTES, *staff.ROUTES, *employee.ROUTES, Route("/metrics", _metrics),
              Route("/healthz", _healthz), Route("/readyz", _readyz),
              Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static")]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=settings.session_secret.get_secret_value(),
                   session_cookie="wayfinder_session", max_age=settings.session_max_age_seconds, same_site="lax",
                   https_only=settings.cookie_secure),
        Middleware(UntilLoaded, backend=backend),
    ]
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={HTTPException: _error, Unrecordable: _error, 500: _error})
    app.state.web = state
    app.state.registry = registry
    return app


def _days(n: int) -> timedelta:
    return timedelta(days=n)
