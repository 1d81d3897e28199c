"""The webhook intake on a real uvicorn server in a thread, on an ephemeral port, and signed requests to it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr

from tests.servers import uvicorn_in_thread
from tests.support import TESTS
from wayfinder.hris.intake import IntakeConfig, IntakeSettings, create_app
from wayfinder.hris.mapping import load_mapping
from wayfinder.hris.sinks import Sink
from wayfinder.hris.webhooks import sign_bamboohr, sign_personio

SECRETS = {"bamboohr": "bamboo-test-key", "personio": "personio-test-key", "wrong": "not-the-key"}
MAPPINGS = {"bamboohr": TESTS / "data" / "hris" / "bamboohr-mapping.yaml",
            "personio": TESTS / "data" / "hris" / "personio-webhook-mapping.yaml"}


def config(**settings: Any) -> IntakeConfig:
    values: dict[str, Any] = {"bamboohr_secret": SecretStr(SECRETS["bamboohr"]),
                              "personio_secret": SecretStr(SECRETS["personio"]), **settings}
    return IntakeConfig({s: load_mapping(p) for s, p in MAPPINGS.items()}, IntakeSettings(**values))


@contextmanager
def serve(sink: Sink, **settings: Any) -> Iterator[str]:
    """Run the intake on 127.0.0.1:<free port>; yields its base URL."""
    app = create_app(config(**settings), sink, clock=lambda: datetime.now(UTC))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    try:
        with uvicorn_in_thread(server, "the intake", sockets=[sock], start_timeout=20):
            yield f"http://127.0.0.1:{port}"
    finally:
        sock.close()


@contextmanager
def intake_process(port: int, *args: str, **env: str) -> Iterator[str]:
    """``wayfinder intake`` as its own process with the BambooHR mapping and secret on ``port`` (more arguments
    and environment as given); yields its base URL once ``/healthz`` answers."""
    wayfinder = str(Path(sys.executable).with_name("wayfinder"))
    process = subprocess.Popen([wayfinder, "intake", "--mapping", f"bamboohr={MAPPINGS['bamboohr']}",
                                "--port", str(port), *args],
                               env=dict(os.environ, WAYFINDER_INTAKE_BAMBOOHR_SECRET=SECRETS["bamboohr"], **env))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "wayfinder intake did not start"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def bamboohr_body(*employees: dict[str, Any]) -> bytes:
    return json.dumps({"employees": list(employees)}).encode()


def bamboohr_headers(body: bytes, *, secret: str = SECRETS["bamboohr"], at: float | None = None) -> dict[str, str]:
    stamp = str(int(time.time() if at is None else at))
    return {"content-type": "application/json", "x-bamboohr-timestamp": stamp,
            "x-bamboohr-signature": sign_bamboohr(secret, body, stamp)}


def personio_headers(body: bytes, *, secret: str = SECRETS["personio"], at: float | None = None) -> dict[str, str]:
    stamp = str(int(time.time() if at is None else at))
    return {"content-type": "application/json", "x-personio-timestamp": stamp,
            "x-personio-signature": sign_personio(secret, body, stamp)}


NEW_HIRE = {"id": "201", "action": "Created", "timestamp": "2026-03-02T09:15:00Z",
            "fields": {"First Name": "Ivy", "Last Name": "Ito", "Work Email": "ivy.ito@example.com",
                       "Status": "Active", "Employment Status": "Full-Time", "Hire Date": "03/16/2026",
                       "Job Title": "Analyst", "Department": "Finance", "Location": "Denver, CO",
                       "Country": "United States", "Supervisor EID": "140"}}
NEW_MANAGER = {"id": "101", "action": "Updated", "timestamp": "2026-03-02T10:00:00Z",
               "fields": {"Supervisor EID": "150", "Job Title": "Customer Success Manager"},
               "changedFields": ["Supervisor EID"]}


def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url, content=body, headers=headers, timeout=60)


def post_bamboohr(url: str, body: bytes, **signing: Any) -> httpx.Response:
    """``body`` to the intake at ``url`` as BambooHR sends it, signed (``secret``, ``at``: as ``bamboohr_headers``)."""
    return post(f"{url}/webhooks/bamboohr", body, bamboohr_headers(body, **signing))
