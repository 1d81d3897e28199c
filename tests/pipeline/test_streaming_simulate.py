"""``simulate`` writes as it goes (README "Scale"): the same files as holding every output, each message once."""

from __future__ import annotations

import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from benchmarks.org_load import generate
from tests.support import read_jsonl
from wayfinder import examples_dir
from wayfinder.journeys.loader import Definitions, Sources, load_or_raise
from wayfinder.scale import StreamingRunner, simulate_streaming
from wayfinder.streams.embedded import EmbeddedRunner, LongLine, file_lines, read_event_file
from wayfinder.vocabulary import parse_instant

UNTIL = parse_instant("2027-01-31T00:00:00Z")


@pytest.fixture(scope="module")
def defs() -> Definitions:
    ex = examples_dir()
    return load_or_raise(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                                 policy=ex / "policy.yaml"))


def _held(defs: Definitions, events: Path) -> EmbeddedRunner:
    read = read_event_file(events)
    runner = EmbeddedRunner(defs)
    runner.run(read.events, UNTIL)
    return runner


def _same(defs: Definitions, events: Path, out: Path) -> StreamingRunner:
    streamed = simulate_streaming(defs, events, UNTIL, out)
    held = _held(defs, events)
    rows = read_jsonl(out / "messages.jsonl")
    assert len(rows) == len({r["message_id"] for r in rows})  # each message once
    assert {r["message_id"]: r for r in rows} == {mid: json.loads(m.model_dump_json())
                                                  for mid, m in held.messages.items()}
    assert {r["task_id"]: r for r in read_jsonl(out / "tasks.jsonl")} == {
        tid: json.loads(t.model_dump_json()) for tid, t in held.tasks.items()}
    assert streamed.summary() == held.summary()
    return streamed


def test_an_ordered_file_streams_and_writes_what_holding_everything_writes(defs: Definitions,
                                                                            tmp_path: Path) -> None:
    events = tmp_path / "org.jsonl"
    events.write_text("\n".join(generate(300, seed=5)) + "\n", encoding="utf-8")
    streamed = _same(defs, events, tmp_path / "out")
    held_at_end = len(streamed.messages)
    assert held_at_end < sum(streamed.written.values()) / 10  # most were written as they went


def test_a_file_out_of_time_order_is_sorted_and_gives_the_same(defs: Definitions, tmp_path: Path) -> None:
    lines = list(generate(200, seed=6))
    lines[10], lines[-10] = lines[-10], lines[10]
    events = tmp_path / "shuffled.jsonl"
    events.write_text("\n".join(lines) + "\nnot json\n", encoding="utf-8")
    _same(defs, events, tmp_path / "out")
    assert [d["reason"].split(":")[0] for d in read_jsonl(tmp_path / "out" / "dead_letters.jsonl")] == [
        "invalid_json"]


def test_blank_lines_are_skipped_and_bad_ones_dead_lettered_as_read_whole(defs: Definitions, tmp_path: Path) -> None:
    lines = list(generate(20, seed=3))
    odd = ["", "   ", "\u2003\t", "\x1c", "{bad", " {\"a\": 1}", "x", "\r", "\xa0{"]
    mixed = [*lines[:5], *odd, *lines[5:]]
    events = tmp_path / "mixed.jsonl"
    events.write_text("\n".join(mixed) + "\n", encoding="utf-8")
    simulate_streaming(defs, events, UNTIL, tmp_path / "out")
    written = [(d["line"], d["raw"]) for d in read_jsonl(tmp_path / "out" / "dead_letters.jsonl")]
    read = read_event_file(events)  # the whole file read at once: the same lines are blank, the same are bad
    assert written == [(d.line, d.raw) for d in read.dead_letters]
    assert [n for n, _ in written] == [10, 11, 12, 14]


@pytest.mark.parametrize("order", ["in order", "out of order"])
def test_bad_lines_before_the_first_good_event_are_each_one_dead_letter(defs: Definitions, tmp_path: Path,
                                                                        order: str) -> None:
    lines = list(generate(20, seed=3))
    if order == "out of order":
        lines[3], lines[-3] = lines[-3], lines[3]
    events = tmp_path / "bad-first.jsonl"
    events.write_text("\n".join(["garbage line", '{"specversion": 1.0}', *lines]) + "\n", encoding="utf-8")
    simulate_streaming(defs, events, UNTIL, tmp_path / "out")
    letters = read_jsonl(tmp_path / "out" / "dead_letters.jsonl")
    assert [(d["line"], d["reason"].split(":")[0]) for d in letters] == [(1, "invalid_json"),
                                                                        (2, "invalid_cloudevent")]
    first = min(json.loads(line)["time"] for line in lines)
    assert {parse_instant(d["received_at"]) for d in letters} == {parse_instant(first)}


def test_a_file_of_bad_lines_only_dates_its_dead_letters_at_until(defs: Definitions, tmp_path: Path) -> None:
    """No good event, so the run's clock never started: the letters take ``--until`` (not 1970) when it is given."""
    events = tmp_path / "all-bad.jsonl"
    events.write_text('garbage line\n{"specversion": 1.0}\n', encoding="utf-8")
    for until, expected in ((UNTIL, UNTIL), (None, datetime(1970, 1, 1, tzinfo=UTC))):
        simulate_streaming(defs, events, until, tmp_path / "out")
        letters = read_jsonl(tmp_path / "out" / "dead_letters.jsonl")
        assert [parse_instant(d["received_at"]) for d in letters] == [expected, expected]


@pytest.mark.parametrize("order", ["in order", "out of order"])
def test_a_byte_order_mark_before_the_first_event_is_not_part_of_it(defs: Definitions, tmp_path: Path,
                                                                    order: str) -> None:
    lines = list(generate(20, seed=3))
    if order == "out of order":
        lines[3], lines[-3] = lines[-3], lines[3]
    with_bom, without = tmp_path / "bom.jsonl", tmp_path / "plain.jsonl"
    with_bom.write_bytes(b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode("utf-8"))
    without.write_text("\n".join(lines) + "\n", encoding="utf-8")
    simulate_streaming(defs, with_bom, UNTIL, tmp_path / "a")
    simulate_streaming(defs, without, UNTIL, tmp_path / "b")
    assert read_jsonl(tmp_path / "a" / "dead_letters.jsonl") == []
    assert read_jsonl(tmp_path / "a" / "messages.jsonl") == read_jsonl(tmp_path / "b" / "messages.jsonl")


@pytest.mark.parametrize("order", ["in order", "out of order"])
def test_the_clock_runs_to_a_last_line_that_is_a_dead_letter_but_states_its_time(defs: Definitions, tmp_path: Path,
                                                                                 order: str) -> None:
    """SPEC §7: without --until, timers due by the last event's time fire; a last event with bad data is one."""
    lines = list(generate(20, seed=3))
    if order == "out of order":
        lines[3], lines[-3] = lines[-3], lines[3]
    last = max(parse_instant(json.loads(line)["time"]) for line in lines)
    later = (last + timedelta(days=400)).isoformat().replace("+00:00", "Z")
    bad = json.dumps({"specversion": "1.0", "id": "bad-1", "source": "hris/test", "type": "hris.leave.started",
                      "time": later, "subject": "E0000001", "data": {"leave_type": "moon"}})
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join([*lines, bad]) + "\n", encoding="utf-8")
    runner = simulate_streaming(defs, events, None, tmp_path / "out")
    assert [d["reason"].split(":")[0] for d in read_jsonl(tmp_path / "out" / "dead_letters.jsonl")] == ["invalid_data"]
    assert runner.clock == parse_instant(later)


@pytest.mark.parametrize("order", ["in order", "out of order"])
def test_an_event_the_core_refuses_is_a_dead_letter_naming_its_file_and_line(defs: Definitions, tmp_path: Path,
                                                                             order: str) -> None:
    """A decision about a message that is not pending is refused by the core after it is read (``not_pending``),
    not by the reader; its dead letter names the file and line as a bad line's does (README "simulate")."""
    lines = list(generate(30, seed=3))
    if order == "out of order":
        lines[3], lines[-3] = lines[-3], lines[3]
    last = max(json.loads(line)["time"] for line in lines)
    decision = json.dumps({"specversion": "1.0", "id": "d-1", "source": "hr-portal", "type": "wayfinder.review.decided",
                           "time": last, "subject": json.loads(lines[0])["subject"],
                           "data": {"message_id": "no-such-message", "decision": "approve", "reviewer_id": "H1"}})
    events = tmp_path / "with-decision.jsonl"
    events.write_text("\n".join([*lines, decision]) + "\n", encoding="utf-8")
    simulate_streaming(defs, events, UNTIL, tmp_path / "out")
    letters = read_jsonl(tmp_path / "out" / "dead_letters.jsonl")
    assert [(d["reason"], d["source"], d["line"]) for d in letters] == [
        ("not_pending", "with-decision.jsonl", len(lines) + 1)]
    assert json.loads(letters[0]["raw"])["id"] == "d-1"


def test_a_line_longer_than_an_event_may_be_is_read_past_in_pieces_and_dead_lettered_too_large(
        defs: Definitions, tmp_path: Path) -> None:
    """A 40 MB line is never held whole: it is refused as ``too_large`` with its true size, its line and its first
    bytes (cut before a character the cut would split), and the events after it go on."""
    lines = list(generate(20, seed=3))
    huge = b'{"data": "' + "é".encode() * 20_000_000 + b'"}'
    events = tmp_path / "huge.jsonl"
    with events.open("wb") as f:
        f.write(("\n".join(lines[:5]) + "\n").encode())
        f.write(huge + b"\r\n")
        f.write(("\n".join(lines[5:]) + "\n").encode())
    tracemalloc.start()
    try:
        simulate_streaming(defs, events, UNTIL, tmp_path / "out")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12_000_000, f"{peak:,} bytes at the peak: the line was held whole"
    letters = read_jsonl(tmp_path / "out" / "dead_letters.jsonl")
    assert [(d["line"], d["reason"]) for d in letters] == [
        (6, f"too_large: event is {len(huge)} bytes, the limit is 1000000")]
    assert "raw_base64" not in letters[0] and letters[0]["raw"].startswith('{"data": "éé')
    assert letters[0]["raw"].endswith(f"éé… [cut: {len(huge.decode())} characters in all]")  # as a shorter one's
    assert len(letters[0]["raw"].encode()) <= 65_536 + 100
    assert len(read_event_file(events).events) == len(lines)  # the events after it are read


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b""])
def test_file_lines_keeps_lines_up_to_the_limit_and_measures_longer_ones(ending: bytes) -> None:
    limit = 10
    text = (b"a" * limit + b"\r\n" + b"b" * (limit + 1) + b"\r\n" + b"d" * (limit + 2) + b"\r\n"
            + b"c" * 3 * limit + ending)
    got = list(file_lines(io.BytesIO(text), max_bytes=limit))
    assert got == [b"a" * limit + b"\r\n", LongLine(b"b" * (limit + 1), limit + 1, limit + 1),
                   LongLine(b"d" * (limit + 2), limit + 2, limit + 2),
                   LongLine(b"c" * (limit + 2), 3 * limit, 3 * limit)]
    # (the head is what the first read took: with the real limit, 1 MB, the dead letters' 64 KB)
