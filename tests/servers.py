"""Real servers for the delivery tests, on 127.0.0.1 and ephemeral ports, and a uvicorn server in a thread.

``MailServer`` is aiosmtpd in its own thread (optionally STARTTLS or implicit TLS, with AUTH);
``HookServer`` is an aiohttp server in the test's event loop that verifies Standard Webhooks
signatures with its own code (not Wayfinder's) and can be told what to answer next.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServerProtocol
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from wayfinder.journeys.records import Message

# A self-signed test certificate for 127.0.0.1 and localhost, valid 2020-2119 (test use only), made with
# `openssl ca -selfsign -startdate 20200101000000Z -enddate 21191231000000Z` (EC P-256).
TEST_CERT = """-----BEGIN CERTIFICATE-----
MIIBljCCATygAwIBAgIBATAKBggqhkjOPQQDAjAZMRcwFQYDVQQDDA53YXlmaW5k
ZXItdGVzdDAgFw0yMDAxMDEwMDAwMDBaGA8yMTE5MTIzMTAwMDAwMFowGTEXMBUG
A1UEAwwOd2F5ZmluZGVyLXRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATL
RFEQzDjYN9C9WLij087T7OZJlM8mgTz6krjcrSVjk0VdMJPxGLNgqGBoGRWngABV
U55EGTnLZXLG/Vlj1kw0o3MwcTAPBgNVHRMBAf8EBTADAQH/MBoGA1UdEQQTMBGH
BH8AAAGCCWxvY2FsaG9zdDAOBgNVHQ8BAf8EBAMCAoQwEwYDVR0lBAwwCgYIKwYB
BQUHAwEwHQYDVR0OBBYEFNqXnXrmnU3Ds+hHZlkdMOpAPHTAMAoGCCqGSM49BAMC
A0gAMEUCIQDQWClbFCnwxRuPvoSiwaw1LROskmKSUDXLCEKwktCehAIgBOV45/AG
lK5n42swp7gf+ohLeKhOBPa357q5SM22OGE=
-----END CERTIFICATE-----
"""
TEST_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg4Cvjd9HqiZYHGR1s
NyTZvRArNRxRyHHXJLuWHm6TBpehRANCAATLRFEQzDjYN9C9WLij087T7OZJlM8m
gTz6krjcrSVjk0VdMJPxGLNgqGBoGRWngABVU55EGTnLZXLG/Vlj1kw0
-----END PRIVATE KEY-----
"""
NOW = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
OLD_SECRET = "whsec_" + base64.b64encode(b"old-secret-0123456789abcdef").decode()
NEW_SECRET = "whsec_" + base64.b64encode(b"new-secret-0123456789abcdef").decode()


def make_message(n: int = 0, **changes: Any) -> Message:
    fields: dict[str, Any] = {
        "message_id": f"m-{n:024x}", "employee_id": f"E{n}", "recipient_id": f"E{n}", "journey_id": "new-parent",
        "journey_version": 3, "step_id": "welcome", "channel": "email", "status": "sent", "scheduled_for": NOW,
        "created_at": NOW, "subject": f"Welcome {n}", "text": f"Hello {n}.\n\nSee the resources.",
        "html": f"<p>Hello {n}.</p>", "resources": ["parent-network"], "explanation": "You received this because …",
        "preferences_url": "https://intranet.example.com/preferences", "recipient_email": f"e{n}@example.com",
        "recipient_name": "Sam",
    }
    fields.update(changes)
    return Message.model_validate(fields)


def server_tls_context() -> ssl.SSLContext:
    """The server side of TLS with the test certificate (written to a temp folder: ssl wants files)."""
    import tempfile

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as folder:
        cert, key = Path(folder) / "cert.pem", Path(folder) / "key.pem"
        cert.write_text(TEST_CERT)
        key.write_text(TEST_KEY)
        context.load_cert_chain(cert, key)
    return context


def client_ca_file(folder: Path) -> Path:
    path = folder / "test-ca.pem"
    path.write_text(TEST_CERT)
    return path


# -- SMTP ------------------------------------------------------------------------------------------
@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes
    helo: str | None = None

    def email(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class MailHandler:
    """Keeps what arrives; refuses listed recipients; defers the next N DATA commands (451)."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    defer_data: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: SMTPServerProtocol, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServerProtocol, session: Session, envelope: Envelope) -> str:
        with self.lock:
            if self.defer_data > 0:
                self.defer_data -= 1
                return "451 4.3.0 Mail server temporarily rejected message"
            assert isinstance(envelope.content, bytes)
            self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), envelope.content,
                                          session.host_name))
        return "250 2.0.0 Ok: queued as Q42"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(r.email()["Message-ID"]) for r in self.received]


def _authenticate(server: SMTPServerProtocol, session: Session, envelope: Envelope, mechanism: str,
                  auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"wayfinder", b"s3cret")
    return AuthResult(success=ok, handled=False)


class EphemeralController(Controller):
    """aiosmtpd's controller on port 0: learn the port the OS gave before the readiness check (the delivery
    benchmark's SMTP server uses it too)."""

    def _trigger_server(self) -> None:
        if self.port == 0 and isinstance(self.server, asyncio.base_events.Server):
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class MailServer:
    """An SMTP server on 127.0.0.1: plain, ``starttls`` (required, with AUTH) or ``implicit`` TLS."""

    def __init__(self, tls: str = "none", handler: MailHandler | None = None) -> None:
        self.tls = tls
        self.handler = handler or MailHandler()
        self.port = 0
        self._controller: EphemeralController | None = None

    def _make(self) -> EphemeralController:
        kwargs: dict[str, Any] = {}
        if self.tls == "starttls":
            kwargs = {"tls_context": server_tls_context(), "require_starttls": True, "auth_required": True,
                      "authenticator": _authenticate}
        elif self.tls == "implicit":
            # the whole connection is TLS; aiosmtpd only counts STARTTLS as TLS for AUTH
            kwargs = {"ssl_context": server_tls_context(), "authenticator": _authenticate, "auth_require_tls": False}
        return EphemeralController(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)

    def start(self) -> MailServer:
        self._controller = self._make()
        self._controller.start()
        self.port = self._controller.port
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def url(self) -> str:
        if self.tls == "implicit":
            return f"smtps://wayfinder:s3cret@127.0.0.1:{self.port}"
        if self.tls == "starttls":
            return f"smtp://wayfinder:s3cret@127.0.0.1:{self.port}"
        return f"smtp://127.0.0.1:{self.port}?starttls=false"

    def __enter__(self) -> MailServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


# -- HTTP ------------------------------------------------------------------------------------------
@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool | None

    def json(self) -> Any:
        return json.loads(self.body)


def verify_standard_webhook(secret: str, headers: dict[str, str], body: bytes, now: datetime,
                            tolerance: timedelta = timedelta(minutes=5)) -> bool:
    """The receiver's check, written from the Standard Webhooks spec (independently of Wayfinder's)."""
    msg_id, stamp, signatures = (headers.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and stamp and signatures and stamp.isdigit()):
        return False
    if abs(datetime.fromtimestamp(int(stamp), UTC) - now) > tolerance:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest())
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return True
    return False


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    hang: bool = False


class HookServer:
    """An HTTP server on 127.0.0.1 in the running loop. ``replies`` are used in order, then 200s."""

    def __init__(self, secret: str | None = None, now: datetime = NOW, *, tls: bool = False) -> None:
        self.secret = secret
        self.now = now
        self.tls = tls  # https with the test certificate (a private CA's, as an intranet's)
        self.hits: list[Hit] = []
        self.replies: deque[Reply] = deque()
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        ok = None if self.secret is None else verify_standard_webhook(self.secret, headers, body, self.now)
        self.hits.append(Hit(request.path, headers, body, ok))
        if ok is False:
            return web.Response(status=401, text="bad signature")
        reply = self.replies.popleft() if self.replies else Reply()
        if reply.hang:
            await self._release.wait()
        return web.Response(status=reply.status, headers=reply.headers, text=reply.body)

    def url(self, path: str = "/hook") -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    async def __aenter__(self) -> HookServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=server_tls_context() if self.tls else None)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()


@contextmanager
def uvicorn_in_thread(server: uvicorn.Server, what: str, *, sockets: list[socket.socket] | None = None,
                      start_timeout: float = 30, stop_timeout: float = 30) -> Iterator[None]:
    """``server`` running in a daemon thread (on ``sockets`` if given) from when it has started until the block
    ends; ``what`` names it in the failure if it does not start."""
    thread = threading.Thread(target=server.run, kwargs={"sockets": sockets}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        assert time.monotonic() < deadline, f"{what} did not start"
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=stop_timeout)


# -- the servers themselves are checked, so a passing delivery test means something -------------------
