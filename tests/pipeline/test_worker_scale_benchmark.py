"""The worker benchmark's part 0 (``benchmarks/worker_scale.py --stages-only``): the stages run and the records it
counts are the ones the stages write."""

from __future__ import annotations

import itertools
import re

import pytest

from benchmarks import org_load, worker_scale


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
