"""Hostile event lines (issue 11): ``simulate`` dead-letters them, keeps every other event and writes its files."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, read_jsonl
from wayfinder.cli import main

EXAMPLES = ROOT / "wayfinder" / "examples" / "events.jsonl"
LIMIT_S = 60.0  # generous for the machine under load; the bundled examples run in a few seconds


def event(n: int, etype: str, data: dict[str, Any], time_: str = "2026-01-10T09:00:00Z") -> dict[str, Any]:
    return {"specversion": "1.0", "id": f"hostile-{n}", "source": "tests/hostile", "type": etype, "time": time_,
            "subject": "E1027", "data": data}


HOSTILE = {
    # a "no date" placeholder in a date the engine schedules from
    "hostile-1": json.dumps(event(1, "hris.employee.hired", {"start_date": "0001-01-01", "manager_id": "E1012"})),
    # the bereavement journey waits until expected_return_date
    "hostile-2": json.dumps(event(2, "hris.leave.started", {"leave_type": "bereavement", "start_date": "2026-01-09",
                                                             "expected_return_date": "9999-12-30"})),
    # an event time at the edge of the datetime range
    "hostile-3": json.dumps(event(3, "hris.leave.ended", {"leave_type": "parental", "return_date": "2026-01-12"},
                                  time_="9999-12-31T23:59:59Z")),
    # a date given as a Unix time (2286-11-21): a date is text
    "hostile-5": json.dumps(event(5, "hris.employee.started", {"date": 10_000_022_400})),
    "hostile-6": json.dumps(event(6, "hris.employee.upserted", {"job_level": "E1"})).replace(
        '"job_level": "E1"', '"job_level": "E1", "job_level": "E9"'),
    "hostile-7": json.dumps(event(7, "hris.employee.upserted", {"score": 1})).replace('"score": 1', '"score": 1e999'),
    "hostile-8": json.dumps(event(8, "hris.employee.upserted", {"score": 1})).replace('"score": 1', '"score": NaN'),
}
REASONS = {
    "hostile-1": "date_out_of_range: data.start_date:",
    "hostile-2": "date_out_of_range: data.expected_return_date:",
    "hostile-3": "date_out_of_range: time:",
    "hostile-5": "invalid_data: hris.employee.started: data.date: Value error, a date is text",
    "hostile-6": "invalid_json: the key 'job_level' appears twice in one object",
    "hostile-7": "invalid_json: a number is too large to be a float",
    "hostile-8": "invalid_json: NaN is not a JSON value",
}


def run(tmp_path: Path, lines: list[str]) -> tuple[int, float]:
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    code = main(["simulate", "--events", str(events), "--out", str(tmp_path / "out")])
    return code, time.perf_counter() - started


def test_simulate_dead_letters_hostile_lines_and_runs_the_rest(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    good = EXAMPLES.read_text(encoding="utf-8").splitlines()[:200]
    lines = good[:100] + list(HOSTILE.values()) + good[100:]
    code, took = run(tmp_path, lines)
    assert code == 0
    assert took < LIMIT_S
    out = tmp_path / "out"
    dead = read_jsonl(out / "dead_letters.jsonl")
    by_line = {int(d["line"]): str(d["reason"]) for d in dead}
    for n, key in enumerate(HOSTILE, start=101):
        assert by_line[n].startswith(REASONS[key]), (key, by_line.get(n))
    assert len(dead) == len(HOSTILE)
    for name in ("messages.jsonl", "tasks.jsonl", "audit.jsonl"):
        assert (out / name).is_file()
    # the same run without the hostile lines gives the same messages: the other events were all processed
    again = tmp_path / "again"
    again.mkdir()
    assert run(again, good)[0] == 0
    assert read_jsonl(out / "messages.jsonl") == read_jsonl(again / "out" / "messages.jsonl")
    assert read_jsonl(out / "messages.jsonl")
    capsys.readouterr()


CONTRACT = """apiVersion: wayfinder/v1
kind: Journey
id: contract-end
trigger: {event: hris.employee.upserted, when: has(event.data.contract_end)}
steps:
  - id: w
    wait: {until: trigger.data.contract_end, offset: -14d, at: "09:00"}
  - id: s
    send: {channel: intranet, subject: hi, body: "Your contract ends soon"}
---
apiVersion: wayfinder/v1
kind: EventType
id: hris.employee.upserted
data:
  contract_end: {}
"""


@pytest.mark.parametrize("end", ["0001-01-01T00+14:00", "00010101T000000+1400", "0001-W01-1T00:00:00+14:00",
                                 "9999-12-31T23:59:59Z"])
def test_a_time_a_wait_cannot_schedule_ends_that_enrollment_and_the_run_goes_on(tmp_path: Path, end: str) -> None:
    """Forms of a date the decoder's date check does not read as one still come to the core as text: the wait
    refuses a time outside 1900..2199 as a value it cannot use (counted), never an overflow that ends the run."""
    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "contract.yaml").write_text(CONTRACT.split("---\n")[0], encoding="utf-8")
    (tmp_path / "j" / "field.yaml").write_text(CONTRACT.split("---\n")[1], encoding="utf-8")
    lines = [json.dumps({"specversion": "1.0", "id": f"u{n}", "source": "t", "type": "hris.employee.upserted",
                         "time": f"2026-03-0{n}T09:00:00Z", "subject": f"E{n}",
                         "data": {"given_name": "A", "email": f"e{n}@example.com", "contract_end": value}})
             for n, value in ((1, "2026-03-10"), (2, end), (3, "2026-03-12"))]
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["simulate", "--events", str(tmp_path / "events.jsonl"), "--journeys", str(tmp_path / "j"),
                 "--until", "2026-04-01T00:00:00Z", "--out", str(tmp_path / "out")]) == 0
    sent = sorted(m["employee_id"] for m in read_jsonl(tmp_path / "out" / "messages.jsonl"))
    assert sent == ["E1", "E3"]


def test_a_fault_in_the_core_dead_letters_that_event_and_the_run_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever goes wrong in the core for one event (a bug), simulate dead-letters that event as the worker does
    (``processing_error``, the error's type only) and keeps the rest."""
    from wayfinder.journeys.engine import Engine

    real = Engine.on_event

    def faulty(self: Engine, state: Any, event: Any, *args: Any, **kwargs: Any) -> Any:
        if event.id == "p-boom":
            raise ArithmeticError
        return real(self, state, event, *args, **kwargs)

    monkeypatch.setattr(Engine, "on_event", faulty)
    lines = [line for line in EXAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    boom = json.loads(lines[0]) | {"id": "p-boom"}
    code, _ = run(tmp_path, [json.dumps(boom), *lines])
    assert code == 0
    letters = read_jsonl(tmp_path / "out" / "dead_letters.jsonl")
    assert [d["reason"] for d in letters if "boom" in d["raw"]] == ["processing_error: ArithmeticError in events"]
    assert len(read_jsonl(tmp_path / "out" / "messages.jsonl")) > 100


BREAKS = "a\u2028b\x85c\u2029d"  # characters a JSON encoder leaves as they are, where str.splitlines breaks a line
PING = """apiVersion: wayfinder/v1
kind: Journey
id: ping
trigger: {event: hris.employee.started}
steps:
  - id: s
    send: {channel: intranet, subject: hi, body: "Hello"}
"""


def _lines_as_split(path: Path) -> list[dict[str, Any]]:
    """A JSON-lines file read as many readers read one: its text split at every line break Python knows."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_every_file_simulate_writes_keeps_one_record_a_line_for_readers_that_split_at_unicode_breaks(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A dead letter keeps its line as it came, U+2028 and all, and every file stays one record a line also for
    ``str.splitlines`` (which breaks at U+0085, U+2028 and U+2029, where a JSON encoder leaves them as they are).
    Before, the letter's line was cut in two there, and a reader such as the contract checker stopped at it."""
    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "ping.yaml").write_text(PING, encoding="utf-8")
    who = "E\u2028\u2029"  # an id may hold these two (not U+0085, a control character): it is in the message's
    # record, and in the record's rewrite after the person's erasure
    bad = '{"note": "' + BREAKS + '"'
    lines = [json.dumps({"specversion": "1.0", "id": f"u{n}", "source": "t", "type": etype, "time": at,
                         "subject": who, "data": data}, ensure_ascii=False)
             for n, etype, at, data in ((1, "hris.employee.upserted", "2026-03-01T09:00:00Z",
                                         {"given_name": "A", "email": "a@example.com"}),
                                        (2, "hris.employee.started", "2026-03-02T09:00:00Z", {"date": "2026-03-02"}),
                                        (3, "privacy.erasure.requested", "2026-03-03T09:00:00Z", {}))]
    (tmp_path / "events.jsonl").write_text("\n".join([lines[0], bad, *lines[1:]]) + "\n", encoding="utf-8")
    assert main(["simulate", "--events", str(tmp_path / "events.jsonl"), "--journeys", str(tmp_path / "j"),
                 "--out", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    for name in ("messages.jsonl", "tasks.jsonl", "dead_letters.jsonl", "audit.jsonl"):
        assert _lines_as_split(out / name) == read_jsonl(out / name), name
    assert [d["raw"] for d in _lines_as_split(out / "dead_letters.jsonl")] == [bad]
    assert [m["employee_id"] for m in _lines_as_split(out / "messages.jsonl")] == [who]
    capsys.readouterr()


def test_serve_writes_its_files_one_record_a_line_for_readers_that_split_at_unicode_breaks(tmp_path: Path) -> None:
    from wayfinder.cli.report import write_jsonl

    write_jsonl(tmp_path / "x.jsonl", [{"raw": BREAKS}])
    assert _lines_as_split(tmp_path / "x.jsonl") == [{"raw": BREAKS}]
