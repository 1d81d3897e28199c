"""The benchmarks the README runs that need no broker still run, at the smallest sizes that exercise them, and print
the figures they promise; a benchmark that has rotted fails here rather than in a reader's hands."""

from __future__ import annotations

import pytest

from benchmarks import mailbox_load


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
