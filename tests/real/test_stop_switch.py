"""The stop switch with `wayfinder deliver` against a real SMTP server: held while paused, sent in order after
a resume, dropped when the operator says so; every pause and resume is kept in the log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import MailServer, make_message
from tests.support import read_jsonl
from wayfinder.cli import main


@pytest.fixture
def mail() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server


@pytest.fixture
def out(tmp_path: Path, mail: MailServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WAYFINDER_SMTP_URL", mail.url)
    monkeypatch.setenv("WAYFINDER_SENDER", "People Team <people@example.com>")
    lines = [make_message(1, journey_id="care"), make_message(2, journey_id="onboarding"),
             make_message(3, journey_id="care")]
    (tmp_path / "messages.jsonl").write_text("\n".join(m.model_dump_json() for m in lines) + "\n")
    return tmp_path


def sending(out: Path, *args: str) -> int:
    return main(["sending", *args, "--control", str(out / "control.jsonl")])


def test_a_paused_journey_is_held_and_sent_in_order_after_the_resume(out: Path, mail: MailServer,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert sending(out, "pause", "--journey", "care", "--operator", "OP1", "--reason", "tone review") == 0
    assert main(["deliver", "--messages", str(out)]) == 0
    assert "2 message(s) held by the stop switch" in capsys.readouterr().out
    assert mail.handler.message_ids() == [f"<{make_message(2).message_id}@example.com>"]
    assert sending(out, "resume", "--journey", "care", "--operator", "OP1") == 0
    assert main(["deliver", "--messages", str(out)]) == 0
    assert mail.handler.message_ids()[1:] == [f"<{make_message(n).message_id}@example.com>" for n in (1, 3)]
    log = read_jsonl(out / "control.jsonl")
    assert [(r["action"], r["journey_id"], r["operator_id"]) for r in log] == [
        ("pause", "care", "OP1"), ("resume", "care", "OP1")]
    assert log[0]["reason"] == "tone review"


def test_a_resume_that_drops_what_was_held_sends_none_of_it(out: Path, mail: MailServer,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    # Held means: deliver was asked to send it while the switch was paused (by the wall clock), whatever the
    # message's own scheduled_for (README "Decisions by people").
    assert sending(out, "pause", "--operator", "OP1") == 0
    assert main(["deliver", "--messages", str(out)]) == 0
    assert "3 message(s) held by the stop switch" in capsys.readouterr().out
    assert sending(out, "resume", "--operator", "OP1", "--drop-held") == 0
    assert main(["deliver", "--messages", str(out)]) == 0
    assert mail.handler.received == []
    assert "3 message(s) dropped" in capsys.readouterr().out
    receipts = read_jsonl(out / "receipts.jsonl")
    assert {(r["status"], r["reason"]) for r in receipts} == {("dropped", "dropped_by_operator")}


def test_pause_and_resume_say_who_did_it(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert sending(out, "pause") == 2
    assert "--operator is required" in capsys.readouterr().err
    assert sending(out, "pause", "--operator", "OP1", "--drop-held") == 2
    assert sending(out, "pause", "--operator", "OP1") == 0
    assert sending(out, "status") == 0
    assert "paused: all sending" in capsys.readouterr().out
