"""The benchmarks the README runs that need no broker still run, at the smallest sizes that exercise them, and print
the figures they promise; a benchmark that has rotted fails here rather than in a reader's hands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks import (
    core_ratio,
    core_throughput,
    faust_noop,
    learning_paths,
    mailbox_load,
    mailbox_stage,
    org_load,
    org_scale,
    worker_scale,
)
from tests.support import ROOT

N = r"-?[\d,]+(?:\.\d+)?"
"""A figure as the benchmarks print them (``1,250``, ``0.74``; a difference of two peaks may be below zero)."""


def shaped(out: str, *lines: str) -> None:
    """Each printed line matches its pattern (``{N}`` a figure), in order, and nothing else was printed."""
    printed = out.splitlines()
    assert len(printed) == len(lines), out
    for said, pattern in zip(printed, lines, strict=True):
        assert re.fullmatch(pattern.replace("{N}", N), said), (pattern, said)


@pytest.mark.timeout(600)  # 65 s beside the other tests on a loaded machine, and twice past the default 120 s there
def test_the_core_benchmarks_run_at_a_small_size_and_print_their_figures(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """org_load's year of 50 people, org_scale over that file and over its own year, core_ratio on it against this
    tree, core_throughput and mailbox_load at a few hundred: about 10 s on a quiet machine, a minute or more beside
    the other tests (org_scale's parts 3 and 4 are most of it: 10,000 held messages and two simulate processes,
    whatever the size)."""
    events = tmp_path / "org50.jsonl"
    assert org_load.main(["--employees", "50", "--seed", "7", "--out", str(events)]) == 0
    count = len(events.read_text(encoding="utf-8").splitlines())
    shaped(capsys.readouterr().err, rf"wrote {count:,} events for 50 employees \(seed 7\) to .+org50\.jsonl")

    monkeypatch.setattr("sys.argv", ["org_scale", "--breakdown", "--events", str(events)])
    org_scale.main()
    out = capsys.readouterr().out
    head, parts = out.splitlines()[:2], out.splitlines()[2:]
    shaped("\n".join(head), rf"simulate of {count:,} events in {{N}} s of CPU \({{N}} events/s\), this process's peak "
                            r"resident set {N} MB",
           r"state at rest: {N} bytes per person kept \({N} people, {N} mailboxes, {N} digest boxes\), by part:")
    assert len(parts) > 10
    shaped("\n".join(parts), *[r"  (employee|mailbox|digest)\.[\w.*{}]+ +{N}"] * len(parts))

    monkeypatch.setattr("sys.argv", ["org_scale", "--employees", "50", "--sample", "200"])
    org_scale.main()
    shaped(capsys.readouterr().out,
           r"1\. core on one core: {N} events of 50 employees' year in {N} s: {N} events/s \(target 20,000\)",
           r"   a quarter of the people \({N} events, run before and after\): {N} events/s; the whole run's time per "
           r"event is {N}x the quarter's \(target <= 1\.5x\)",
           *[rf"2\. +{n} journeys sharing trigger types{how}: +{{N}} µs/event \({{N}}x the 10-journey run; target "
             r"1,000 <= 1\.5x\)" for n, how in ((10, ""), (100, ""), (1000, ""),
                                               (1000, " without the audience index"))],
           r"3\. per event, nobody holding: {N} µs; the busy hiring manager holding 10,000: {N} µs \({N}x; "
           r"target <= 1\.5x\)",
           r"4\. state at rest: {N} bytes per person kept \({N} people, {N} mailboxes; target <= 2 KB\)",
           r"   peak memory of simulate: {N} MB for 50 employees, {N} MB for 12: {N} bytes per more employee")

    monkeypatch.setattr("sys.argv", ["core_ratio", "--events", str(events), "--base", str(ROOT), "--runs", "1"])
    core_ratio.main()
    shaped(capsys.readouterr().out, r"run 1 base \(.+\): {N} s CPU, {N} events/s",
           r"run 1 this \(.+\): {N} s CPU, {N} events/s",
           r"best of 1: base {N} s \({N} events/s\), this {N} s \({N} events/s\): {N}x")

    monkeypatch.setattr("sys.argv", ["core_throughput", "--events", "300", "--scaling-events", "300"])
    core_throughput.main()
    shaped(capsys.readouterr().out,
           r"part 1: 300 events, {N} journeys: {N} s, {N} events/s on one core \({N} message decisions, {N} tasks\)",
           *[rf"part 2: +{n} journeys: +{{N}} µs/event \({{N}}x the 10-journey run\)" for n in (10, 100, 1000)])

    monkeypatch.setattr("sys.argv", ["mailbox_load", "--held", "200", "--rounds", "100"])
    mailbox_load.main()
    shaped(capsys.readouterr().out,
           r"one recipient holding 200 messages \(held until \d{4}-\d\d-\d\d\); filled in {N}s \({N} µs a message on "
           r"average\)",
           r"dispatch to an empty mailbox: +{N} µs",
           r"dispatch to the busy mailbox: +{N} µs +ratio {N}x",
           r"a held message going out \(busy\): +{N} µs",
           r"cancel of one person's messages, a mailbox holding 47: +{N} µs \(takes {N} messages\)",
           r"cancel of one person's messages, the busy mailbox: +{N} µs \(takes {N}\) +ratio {N}x; per message "
           r"taken {N}x",
           r"cancel taking nothing, the busy mailbox: +{N} µs",
           r"simulate, another timer due: a message to the busy mailbox \({N} timers\) {N} µs, to an empty one {N} µs"
           r" +ratio {N}x")


def test_learning_paths_answers_its_command_line_before_it_runs(monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """It takes no option: a stray one is refused (it used to be ignored, and ``--help`` ran the benchmark)."""
    monkeypatch.setattr("sys.argv", ["learning_paths", "--fast"])
    with pytest.raises(SystemExit) as stopped:
        learning_paths.main()
    assert stopped.value.code == 2
    assert "unrecognized arguments: --fast" in capsys.readouterr().err


def test_mailbox_load_refuses_a_size_its_cancels_cannot_measure(monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """At or under the policy's cap (3 a week) the mailbox holding a few would hold none: said, not a crash."""
    monkeypatch.setattr("sys.argv", ["mailbox_load", "--held", "3", "--rounds", "10"])
    with pytest.raises(SystemExit) as stopped:
        mailbox_load.main()
    assert stopped.value.code == 2
    assert "--held must be more than the bundled policy's cap (3 per 7d)" in capsys.readouterr().err

    monkeypatch.setattr("sys.argv", ["mailbox_load", "--held", "4", "--rounds", "10"])
    mailbox_load.main()
    assert "cancel of one person's messages, a mailbox holding 1: " in capsys.readouterr().out


def test_mailbox_stage_runs_at_a_small_size_and_its_busy_count_takes_in_the_timed_units(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Its first line counts what the busy recipient holds at the end: ``--held`` less the cap's 3 that go at once,
    plus every timed dispatch to it (``--repeats`` x ``--rounds``), as its docstring says (the README's "12,497
    held" of the default 10,000)."""
    monkeypatch.setattr("sys.argv", ["mailbox_stage", "--held", "20", "--few", "1", "--rounds", "5", "--repeats", "2"])
    mailbox_stage.main()
    shaped(capsys.readouterr().out,
           r"mailbox stage, one recipient holding 27 messages \(filled in {N} s\)",
           r"best of 2 x 5 units each, alternating",
           r"dispatch to a recipient holding nothing: +{N} µs a unit",
           r"dispatch to a recipient holding 1 \(deferred\): +{N} µs a unit",
           r"dispatch to the busy recipient \(deferred\): +{N} µs a unit +ratio {N}x the few, {N}x nothing",
           r"a cancel taking nothing, a few held: +{N} µs a unit",
           r"a cancel taking nothing, the busy one: +{N} µs a unit +ratio {N}x",
           r"the busy recipient's record: {N} bytes; the last unit \(a cancel to it\) wrote {N} keys, {N} bytes")


def test_faust_noop_answers_its_command_line_before_faust_starts(monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The do-nothing agent ``worker_scale`` and ``kafka_throughput`` start: ``--help`` and a short command line get
    the usage (exit 0, exit 2), not a traceback; the command line they build reads as before."""
    monkeypatch.setattr("sys.argv", ["faust_noop"])
    with pytest.raises(SystemExit) as stopped:
        faust_noop.main()
    assert stopped.value.code == 2
    assert "the following arguments are required: broker, group, count, topics" in capsys.readouterr().err
    monkeypatch.setattr("sys.argv", ["faust_noop", "--help"])
    with pytest.raises(SystemExit) as stopped:
        faust_noop.main()
    assert stopped.value.code == 0
    assert "usage: " in capsys.readouterr().out
    args = faust_noop.build_parser().parse_args(["127.0.0.1:9092", "noop-1a2b", "20000", "in.hris", "in.tasks"])
    assert (args.broker, args.group, args.count, args.topics) == ("127.0.0.1:9092", "noop-1a2b", 20000,
                                                                  ["in.hris", "in.tasks"])


@pytest.mark.timeout(300)
def test_worker_scale_says_the_most_a_worker_running_the_core_can_reach(tmp_path: Path) -> None:
    """The worker's target (1.0x the do-nothing agent) is bounded by the journey core alone: its line divides the
    agent's whole cost per event by the core's, measured by ``simulate`` in a fresh process over the same events."""
    events = tmp_path / "org20.jsonl"
    assert org_load.main(["--employees", "20", "--seed", "7", "--out", str(events)]) == 0
    core_ms = worker_scale.child_ms(worker_scale._SIMULATE_CHILD, events, ROOT)
    assert 0 < core_ms < 1000
    line = worker_scale.ceiling(10_000, core_ms)  # the agent: 0.1 ms an event
    shaped(line, r"  the journey core alone +{N} events/s of CPU \(simulate, no Kafka: {N} ms per event against the "
                 r"agent's 0\.100\): a worker that runs it reaches at most {N}x the do-nothing agent")
    assert line.endswith(f"at most {0.1 / core_ms:.2f}x the do-nothing agent")
    assert worker_scale.ceiling(5_000, 0.4).endswith("at most 0.50x the do-nothing agent")
