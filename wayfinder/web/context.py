"""What every page handler needs, built once by ``create_app`` and kept on ``app.state.web``."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from wayfinder.connectors.links import RecipientLinks
from wayfinder.web.access import Staff
from wayfinder.web.backend import Backend
from wayfinder.web.i18n import translator
from wayfinder.web.metrics import WebMetrics
from wayfinder.web.security import session_csrf
from wayfinder.web.settings import Role, WebSettings


@dataclass
class Web:
    settings: WebSettings
    backend: Backend
    links: RecipientLinks
    metrics: WebMetrics
    jinja: Environment
    now: Callable[[], datetime]
    dev_login: bool
    oauth: Any = None

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        # an employee's page shows no staff navigation, whoever else uses the browser: it showed the staff bar
        # (Reviews, Tasks, Sign out and the staff member's id) to a person opening their link there
        staff = (Staff.from_session(request.session.get("staff"))
                 if "session" in request.scope and not employee_page(request) else None)
        if staff is not None:
            context.setdefault("csrf", session_csrf(request))
        context.setdefault("lang", "en")  # employee pages pass their reader's language (wayfinder/web/i18n.py)
        context.setdefault("_", translator("en"))
        html = self.jinja.get_template(name).render(staff=staff, dev_login=self.dev_login, **context)
        return HTMLResponse(html, status_code=status)


EMPLOYEE_PAGES = "/preferences"
"""Where the pages an employee reaches by a message's link are (``employee.ROUTES``): in their language, no staff
navigation."""


def employee_page(request: Request) -> bool:
    path = request.url.path
    return path == EMPLOYEE_PAGES or path.startswith(f"{EMPLOYEE_PAGES}/")


def web(request: Request) -> Web:
    value: Web = request.app.state.web
    return value


def signed_in(request: Request, *roles: Role) -> Staff | Response:
    """The signed-in staff member with one of ``roles``, or the response to send instead."""
    staff = Staff.from_session(request.session.get("staff"))
    if staff is None:
        return RedirectResponse("/login", status_code=303)
    if roles and not staff.has(*roles):
        raise HTTPException(403, "Your role does not give access to this page.")
    session_csrf(request)
    return staff


StaffHandler = Callable[[Request, Staff], Awaitable[Response]]
"""A staff page's handler: the request and the signed-in staff member."""


def staff_page(*roles: Role) -> Callable[[StaffHandler], Callable[[Request], Awaitable[Response]]]:
    """Make ``handler`` a page for signed-in staff with one of ``roles`` (``signed_in`` decides who gets in);
    the handler runs only for them and is told who they are."""

    def wrap(handler: StaffHandler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def page(request: Request) -> Response:
            staff = signed_in(request, *roles)
            return staff if isinstance(staff, Response) else await handler(request, staff)

        return page

    return wrap
