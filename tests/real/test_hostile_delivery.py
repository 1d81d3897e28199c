"""Hostile delivery runs (issue 11): one process per ledger, and a messages file with a line that is not UTF-8."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP as SMTPServerProtocol
from aiosmtpd.smtp import Envelope, Session

from tests.servers import MailHandler, MailServer, make_message
from tests.support import read_jsonl
from wayfinder.cli import main

LIMIT_S = 60.0  # generous: a Python start on a busy machine; the refusal itself takes no time
RUN = "from wayfinder.cli import main; raise SystemExit(main())"


@dataclass
class GatedHandler(MailHandler):
    """Holds every DATA until the test opens the gate, so a delivery stays under way as long as needed."""

    gate: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: SMTPServerProtocol, session: Session, envelope: Envelope) -> str:
        self.arrived.set()
        while not self.gate.is_set():
            await asyncio.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def gated() -> Iterator[MailServer]:
    with MailServer(handler=GatedHandler()) as server:
        yield server


def env_for(server: MailServer) -> dict[str, str]:
    return {**os.environ, "WAYFINDER_SMTP_URL": server.url, "WAYFINDER_SENDER": "People Team <people@example.com>",
            "WAYFINDER_SMTP_TIMEOUT_SECONDS": "120"}


def deliver(messages: Path, server: MailServer) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", RUN, "deliver", "--messages", str(messages)], env=env_for(server),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_second_deliver_on_the_same_ledger_refuses_to_start(gated: MailServer, tmp_path: Path) -> None:
    handler = gated.handler
    assert isinstance(handler, GatedHandler)
    messages = tmp_path / "messages.jsonl"
    messages.write_text("".join(make_message(n).model_dump_json() + "\n" for n in range(5)), encoding="utf-8")
    first = deliver(messages, gated)
    try:
        assert handler.arrived.wait(LIMIT_S), "the first deliver never reached the mail server"
        started = time.perf_counter()
        second = deliver(messages, gated)
        out, err = second.communicate(timeout=LIMIT_S)
        took = time.perf_counter() - started
    finally:
        handler.gate.set()
        _, first_err = first.communicate(timeout=LIMIT_S)

    assert second.returncode == 2
    assert took < LIMIT_S
    assert err.strip() == (f"wayfinder deliver: the send ledger {tmp_path / 'delivery_ledger.sqlite3'} is in use by "
                           f"another process (process {first.pid}); wait for it to finish or stop it, or give this "
                           "one its own ledger (WAYFINDER_LEDGER_PATH): two senders on one ledger send messages "
                           "twice")
    assert "Traceback" not in err and out == ""
    assert first.returncode == 0, first_err
    assert sorted(handler.message_ids()) == sorted({*handler.message_ids()})  # nothing twice
    assert len(handler.received) == 5
    # the lock goes with the process: a later run starts and finds everything delivered
    third = deliver(messages, gated)
    third_out, _ = third.communicate(timeout=LIMIT_S)
    assert third.returncode == 0
    assert "skipped, already delivered" in third_out and len(handler.received) == 5


def test_a_line_that_is_not_utf8_is_a_dead_letter_and_the_rest_is_delivered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    good = [make_message(n).model_dump_json().encode() for n in range(1, 4)]
    bad = make_message(9).model_dump_json().encode().replace(b"Welcome 9", b"Welcome \xff\xfe 9")
    assert b"\xff" in bad
    messages = tmp_path / "messages.jsonl"
    messages.write_bytes(b"\n".join([good[0], bad, *good[1:]]) + b"\n")
    with MailServer() as server:
        monkeypatch.setenv("WAYFINDER_SMTP_URL", server.url)
        monkeypatch.setenv("WAYFINDER_SENDER", "People Team <people@example.com>")
        started = time.perf_counter()
        code = main(["deliver", "--messages", str(messages)])
        took = time.perf_counter() - started
        received = server.handler.message_ids()
    assert code == 1  # a line was rejected
    assert took < LIMIT_S
    assert len(received) == 3
    [letter] = read_jsonl(tmp_path / "delivery_dead_letters.jsonl")
    at = bad.index(b"\xff")
    assert (letter["line"], letter["reason"]) == (2, f"not UTF-8 text (at byte {at} of the line)")
    assert "1 line(s) were not message records" in capsys.readouterr().out
