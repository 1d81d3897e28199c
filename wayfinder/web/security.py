"""Headers on every response, CSRF tokens, and an access log without query strings."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from typing import Any

from starlette.datastructures import FormData, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("wayfinder.web")

PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-src 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
# the email's HTML: no script, no form, no navigation of the parent, only inline styles and images
EMAIL_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'self'"


class SecurityHeaders:
    """Adds CSP and friends to every response that has not set its own, and logs path and status only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: list[int] = []

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", PAGE_CSP)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Frame-Options", "DENY")  # as frame-ancestors 'none', for older browsers
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            # the path only: query strings carry link tokens; paths carry opaque ids at most
            log.info("%s %s %s %.1fms", scope["method"], scope["path"], status[0] if status else "-",
                     (time.perf_counter() - started) * 1000)


def session_csrf(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def link_csrf(secret: str, link_token: str) -> str:
    """The CSRF token of a page reached by link (no session): bound to that link's token."""
    return hmac.new(secret.encode("utf-8"), b"csrf\x1f" + link_token.encode("ascii", "replace"),
                    hashlib.sha256).hexdigest()


def check_csrf(expected: str, form: Any) -> None:
    given = form.get("csrf") if form is not None else None
    if not isinstance(given, str) or not given.isascii() or not hmac.compare_digest(given, expected):
        raise HTTPException(403, "This form is out of date or was not sent from this site (CSRF check). "
                            "Reload the page and try again.")



async def read_form(request: Request) -> FormData:
    """The form a page posted. No page asks for a file, and a file part over 1 MiB would be spooled to a temporary
    file, which serve, on a read-only root filesystem with no writable folder, cannot write (it answered 500): a
    form with a file part is refused (400, Starlette's "Too many files") before any of it is kept."""
    return await request.form(max_files=0)
