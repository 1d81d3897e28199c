"""What the worker writes to its standard output besides the log lines: Faust's start-up spinner only where a person
watches a terminal."""

from __future__ import annotations

import io

import faust
import pytest

from wayfinder.streams.cli import faust_worker
from wayfinder.streams.settings import WorkerSettings


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stream", "log_format", "spinner"), [
    (Terminal(), "text", True),
    (Terminal(), "json", False),
    (io.StringIO(), "text", False),  # a file, a pipe, a pod's log: no cursor escapes in the log
    (io.StringIO(), "json", False),
])
def test_the_start_up_spinner_is_only_for_text_lines_on_a_terminal(stream: io.StringIO, log_format: str,
                                                                     spinner: bool) -> None:
    settings = WorkerSettings(store="memory", metrics_port=None, log_format=log_format)
    worker = faust_worker(faust.App("spinner-test", broker="memory://"), settings, None, stdout=stream)
    assert (worker.spinner is not None) is spinner
