"""Logs and outputs carry no personal data (issue 11): the demo, simulate and deliver (to a real SMTP server) at
DEBUG log no bundled person's name, email or free-text event value; after the demo's erasure no file it wrote
keeps the erased person's name or email; a CR/LF in an id never starts a forged log line."""

from __future__ import annotations

import email
import io
import json
import logging
import re
import shutil
from email import policy
from pathlib import Path

import pytest

from tests.pipeline import test_web as web
from tests.pipeline.test_budget_runs import BOMB
from tests.pipeline.test_web import Served, _link, _pending_of, sign_in
from tests.servers import MailServer
from tests.support import ROOT
from wayfinder.cli import main
from wayfinder.safety import OneLineFormatter, configure_logging

EXAMPLES = ROOT / "wayfinder" / "examples"
PERSONAL_FIELDS = ("given_name", "family_name", "preferred_name", "email", "evidence")
ERASED = "E1026"  # the bundled events end with an erasure request for this person
# The served app of the web tests (its fixtures, found by pytest under these names).
defs, small_events, served = web.defs, web.small_events, web.served


def personal_values(subject: str | None = None) -> set[str]:
    """Names, emails and free-text values of the bundled events (of one person when ``subject`` is given)."""
    found: set[str] = set()
    for line in (EXAMPLES / "events.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # the bundled file holds a few broken lines on purpose
        if subject is not None and event.get("subject") != subject:
            continue
        data = event.get("data") if isinstance(event, dict) else None
        for key in PERSONAL_FIELDS:
            value = data.get(key) if isinstance(data, dict) else None
            if isinstance(value, str) and len(value) >= 2:
                found.add(value)
    return found


def leaks(text: str, values: set[str]) -> list[str]:
    return sorted(v for v in values if re.search(rf"(?<!\w){re.escape(v)}(?!\w)", text))


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> pytest.LogCaptureFixture:
    monkeypatch.setenv("WAYFINDER_LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    return caplog


def all_text(folder: Path) -> str:
    """Every file under ``folder`` as text, emails also with their headers and parts decoded."""
    parts: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        parts.append(raw.decode("utf-8", errors="replace"))
        if path.suffix == ".eml":
            mail = email.message_from_bytes(raw, policy=policy.default)
            parts.extend(f"{k}: {v}" for k, v in mail.items())
            parts.extend(str(p.get_content()) for p in mail.walk() if not p.is_multipart())
    return "\n".join(parts)


def test_the_bundled_people_are_found_by_the_search() -> None:
    """The searches below would find a leak: the erased person has a name and an email to look for."""
    erased = personal_values(ERASED)
    assert any("@" in v for v in erased) and len(erased) >= 3
    assert leaks("Dear Emre,", erased) == ["Emre"]


def test_the_demo_at_debug_logs_no_personal_data_and_keeps_nothing_of_the_erased(
        tmp_path: Path, debug_logs: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    assert leaks(debug_logs.text, personal_values()) == []
    written = all_text(out)
    assert "emre.demir@example.com" not in written.lower()
    assert leaks(written, personal_values(ERASED)) == []
    # The demo did write personal data of the others: the search looks at the right files.
    assert leaks(written, personal_values() - personal_values(ERASED))


def test_simulate_with_failing_steps_at_debug_logs_no_personal_data(
        tmp_path: Path, debug_logs: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "defs"
    for part in ("journeys", "catalog", "templates"):
        shutil.copytree(EXAMPLES / part, folder / part)
    # Conditions and templates that fail on the person's own data: their errors must not quote it.
    (folder / "journeys" / "bomb.yaml").write_text(BOMB.replace(
        '"[1, 2, 3].exists(x, x == 2)"', "int(employee.given_name) > 1 || employee.attributes[employee.email] == 1"),
        encoding="utf-8")
    code = main(["simulate", "--events", str(EXAMPLES / "events.jsonl"), "--journeys", str(folder / "journeys"),
                 "--catalog", str(folder / "catalog"), "--templates", str(folder / "templates"),
                 "--policy", str(EXAMPLES / "policy.yaml"), "--out", str(tmp_path / "out"), "-v"])
    assert code == 0
    assert "expression_failed" in debug_logs.text and "render_failed" in debug_logs.text
    assert leaks(debug_logs.text, personal_values()) == []
    assert leaks(all_text(tmp_path / "out" / "dead_letters.jsonl"), personal_values(ERASED)) == []


def test_deliver_to_a_real_smtp_server_at_debug_logs_no_personal_data(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, debug_logs: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    debug_logs.clear()
    with MailServer() as server:
        monkeypatch.setenv("WAYFINDER_SMTP_URL", server.url)
        monkeypatch.setenv("WAYFINDER_SENDER", "People Team <people@example.com>")
        main(["deliver", "--messages", str(out), "-v"])
        received = len(server.handler.received)
    assert received > 50
    ours = "\n".join(r.getMessage() for r in debug_logs.records if not r.name.startswith("mail.log"))
    assert leaks(ours, personal_values()) == []


def lines_logged(logger_name: str, formatter: logging.Formatter, msg: str, *args: object) -> list[str]:
    """The lines one warning (``msg`` with ``args``) on ``logger_name`` writes through a handler with ``formatter``."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        logger.warning(msg, *args)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue().splitlines()


def test_a_line_break_in_an_id_never_starts_a_log_line() -> None:
    lines = lines_logged("wayfinder.tests.injection", OneLineFormatter("%(levelname)s %(name)s: %(message)s"),
                         "message %s failed", "m-1\r\nCRITICAL wayfinder: all messages deleted\x1b[2J")
    assert lines == ["WARNING wayfinder.tests.injection: message m-1\\r\\nCRITICAL wayfinder: all messages deleted"
                     "\\x1b[2J failed"]


def test_serve_at_debug_logs_no_personal_data(served: Served, debug_logs: pytest.LogCaptureFixture) -> None:
    """Reviewing, deciding, the employee's preference pages: the pages show names, the logs never do."""
    csrf = sign_in(served, "E1003", "reviewer")
    message = served.backend.store.messages[_pending_of(served, "E1052")]
    pages = [served.client.get(p) for p in ("/review", f"/review/{message.message_id}",
                                             f"/review/{message.message_id}/html", "/tasks", "/overview")]
    assert all(p.status_code == 200 for p in pages)
    shown = "\n".join(p.text for p in pages)
    form = {"csrf": csrf, "action": "approve", "subject": "A kinder subject", "text": message.text or "",
            "html": message.html or ""}
    assert served.client.post(f"/review/{message.message_id}/decide", data=form).status_code == 303
    token = _link(served, "E1052", message.message_id)
    for path in ("/preferences", "/preferences/why"):
        assert served.client.get(f"{path}?t={token}").status_code == 200
    assert leaks(shown, personal_values())  # the pages do show names: the search would see them in a log
    assert debug_logs.records  # the app logged at DEBUG
    assert leaks(debug_logs.text, personal_values()) == []


def test_dead_letters_of_an_erased_person_keep_no_personal_data(tmp_path: Path) -> None:
    name, address = "Emre Demir", "emre.demir@example.com"
    broken = {"specversion": "1.0", "id": "bad-1", "source": "hris/workday", "type": "hris.employee.upserted",
              "time": "2026-03-01T09:00:00Z", "subject": ERASED,
              "data": {"given_name": "Emre", "email": address, "start_date": "0001-01-01"}}
    refused = {**broken, "id": "bad-2", "type": "wayfinder.review.decided",
               "data": {"message_id": "m-" + "0" * 24, "decision": "reject", "reviewer_id": "E1003",
                        "reason": f"{name} {address}"}}
    later = {**broken, "id": "bad-3", "time": "2026-12-20T09:00:00Z", "data": {"start_date": "0001-01-01"}}
    other = {**broken, "id": "bad-4", "subject": "E1027", "data": {"start_date": "0001-01-01"}}
    events = tmp_path / "events.jsonl"
    lines = (EXAMPLES / "events.jsonl").read_text(encoding="utf-8").splitlines()
    events.write_text("\n".join([*lines, *(json.dumps(e) for e in (broken, refused, later, other)),
                                 json.dumps(broken)[:170]]) + "\n", encoding="utf-8")
    assert main(["simulate", "--events", str(events), "--out", str(tmp_path / "out")]) == 0
    letters = [json.loads(line) for line in (tmp_path / "out" / "dead_letters.jsonl").read_text().splitlines()]
    text = all_text(tmp_path / "out")
    assert address not in text and leaks(text, personal_values(ERASED)) == []
    stubs = [d for d in letters if d["raw"].startswith("[redacted")]
    assert sorted(d["reason"].split(":")[0] for d in stubs) == ["date_out_of_range", "invalid_json",
                                                                 "not_pending"]  # the whole and the cut line
    # After the erasure, or about someone else: kept as it came.
    assert any('"id": "bad-3"' in d["raw"] for d in letters) and any('"id": "bad-4"' in d["raw"] for d in letters)


def test_after_the_cli_set_up_logging_any_handler_writes_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A framework's own handler (Faust's worker installs one) gets the escaped message too."""
    monkeypatch.setattr(logging, "_logRecordFactory", logging.getLogRecordFactory())  # restored after the test
    configure_logging(False)
    lines = lines_logged("faust.tests.injection", logging.Formatter("%(message)s"), "event %s refused",
                         "e-1\nERROR forged")
    assert lines == ["event e-1\\nERROR forged refused"]
