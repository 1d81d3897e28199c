"""The worker benchmark's part 0 (``benchmarks/worker_scale.py --stages-only``): the stages run and the records it
counts are the ones the stages write."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from benchmarks import core_instructions, org_load, stage_digest, worker_scale
from tests.support import ROOT


def test_the_stages_alone_count_changelog_records_and_write_ahead_entries(capsys: pytest.CaptureFixture[str],
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["worker_scale", "--stages-only", "--events", "400"])
    worker_scale.main()
    said = capsys.readouterr().out
    found = re.search(r"^400 events, the stages alone, no Kafka: [\d,]+ events/s of CPU .*per event ([\d.]+) records "
                      r"to send: ([\d.]+) to changelogs \(([\d.]+) write-ahead entries.*\), ([\d.]+) others", said)
    assert found, said
    total, changelog, entries, others = map(float, found.groups())
    assert changelog > 1 and 0 < entries < changelog and others > 0  # every input writes its person's state
    assert total == pytest.approx(changelog + others, abs=0.011)


def test_the_stages_alone_say_how_many_events_they_ran_when_the_year_has_fewer(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """About 10 events an employee: the year of a tenth as many people can be a few short of ``--events`` (300
    people's year is 2,992 events); the line says how many ran."""
    year = list(itertools.islice(org_load.generate(50, 7), 120))
    monkeypatch.setattr(worker_scale, "generate", lambda employees, seed: iter(year))
    monkeypatch.setattr("sys.argv", ["worker_scale", "--stages-only", "--events", "400"])
    worker_scale.main()
    assert capsys.readouterr().out.startswith("120 events, the stages alone, no Kafka: ")


def test_the_stages_alone_beside_simulate_print_both_and_their_ratios(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """``--simulate``: each part in a fresh process over the same file (``--events-file``), this tree's stages and
    simulate, and a base tree's stages (here the same tree): one line a run, then the best of each and the ratios."""
    events = tmp_path / "org.jsonl"
    events.write_text("\n".join(itertools.islice(org_load.generate(30, 7), 150)) + "\n", encoding="utf-8")
    monkeypatch.setattr("sys.argv", ["worker_scale", "--stages-only", "--events-file", str(events), "--simulate",
                                     "--base", str(ROOT), "--runs", "1"])
    worker_scale.main()
    printed = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in printed[:3]] == ["run 1 simulate   ", "run 1 stages     ",
                                                             "run 1 base stages"], printed
    assert all(re.fullmatch(r"run 1 .+: [\d.]+ ms of CPU per event", line) for line in printed[:3]), printed
    assert re.fullmatch(r"best of 1, 150 events: the stages alone [\d.]+ ms of CPU per event, simulate [\d.]+ ms: "
                        r"[\d.]+x simulate's; the base tree's stages [\d.]+ ms \([\d.]+x simulate's\): [\d.]+x faster "
                        r"here", printed[3]), printed
    assert len(printed) == 4


def test_the_stage_digest_is_the_same_for_the_same_events_and_moves_with_what_the_stages_send(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """``benchmarks.stage_digest``: two runs over the same events print the same digests (a fixed wall clock, owner
    and stamps); one event fewer changes them."""
    year = list(itertools.islice(org_load.generate(30, 7), 150))
    events, fewer = tmp_path / "org.jsonl", tmp_path / "fewer.jsonl"
    events.write_text("\n".join(year) + "\n", encoding="utf-8")
    fewer.write_text("\n".join(year[:-1]) + "\n", encoding="utf-8")
    said = []
    for path in (events, events, fewer):
        monkeypatch.setattr("sys.argv", ["stage_digest", "--events", str(path)])
        stage_digest.main()
        out = capsys.readouterr().out
        assert re.fullmatch(r"[\d,]+ records, [\d,]+ table writes; raw sha256 [0-9a-f]{64}; decoded sha256 "
                            r"[0-9a-f]{64}\n", out), out
        said.append(out)
    assert said[0] == said[1] != said[2]


def test_core_instructions_counts_the_stages_alone_with_stages(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """``core_instructions --stages`` runs the stages alone's child in each tree instead of simulate's (valgrind is
    about 50 times slower than the run: its count is stood in for here)."""
    events = tmp_path / "org.jsonl"
    events.write_text("{}\n" * 300, encoding="utf-8")
    ran: list[tuple[str, int]] = []

    def counted(path: Path, tree: Path, code: str) -> int:
        lines = len(path.read_text(encoding="utf-8").splitlines())
        ran.append((code, lines))
        return 1_000 * lines

    monkeypatch.setattr(core_instructions, "instructions", counted)
    monkeypatch.setattr("sys.argv", ["core_instructions", "--stages", "--events", str(events), "--base", str(ROOT)])
    core_instructions.main()
    assert ran == [(worker_scale._STAGES_CHILD, 300), (worker_scale._STAGES_CHILD, 200)] * 2
    assert capsys.readouterr().out.splitlines()[-1] == "instructions per event: base 1.0 k, this 1.0 k: 1.000x"
