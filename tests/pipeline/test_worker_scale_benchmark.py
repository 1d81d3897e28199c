"""The worker benchmark's part 0 (``benchmarks/worker_scale.py --stages-only``): the stages run and the records it
counts are the ones the stages write."""

from __future__ import annotations

import re

import pytest

from benchmarks import worker_scale


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
