"""What the Kafka commands write for the operator besides log lines: the worker's start-up spinner only where a person
watches a terminal; ``publish``'s summary."""

from __future__ import annotations

import io

import faust
import pytest

from wayfinder.streams.cli import faust_worker, published_summary
from wayfinder.streams.publish import Published
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


def test_publish_says_that_lines_without_a_subject_go_to_the_dead_letters() -> None:
    settings = WorkerSettings(store="memory", metrics_port=None)
    result = Published(sent=998, by_topic={"engagement.events": 292, "hris.events": 706}, unkeyed=1)
    assert published_summary(result, settings) == (
        "published 998 events (wayfinder.engagement.events 292, wayfinder.hris.events 706); 1 line(s) not JSON or "
        "without a subject, which the workers will put on wayfinder.dead-letters")
    assert published_summary(Published(sent=2, by_topic={"hris.events": 2}), settings) == (
        "published 2 events (wayfinder.hris.events 2)")
    assert published_summary(Published(), settings) == "published 0 events", "an empty file, to tick: no '()'"
    assert published_summary(Published(sent=1, by_topic={"hris.events": 1}), settings) == (
        "published 1 event (wayfinder.hris.events 1)")



def test_every_worker_setting_says_what_it_does_in_the_help() -> None:
    """``wayfinder worker --help`` prints each setting's description beside its variable (``cli._env_help``):
    WAYFINDER_LOG_LEVEL had none, so its line said only the default."""
    from wayfinder.streams.cli import _env_help

    assert [name for name, info in WorkerSettings.model_fields.items() if not info.description] == []
    assert "WAYFINDER_LOG_LEVEL                 --log-level      the worker's log level" in _env_help()


def test_each_worker_setting_shows_one_default_and_each_flag_says_what_it_sets(
        capsys: pytest.CaptureFixture[str]) -> None:
    """``wayfinder worker --help``: WAYFINDER_DEFINITIONS read "[default: the bundled examples] [default: unset]", two
    defaults that disagree, and the flags' own lines (--broker, --clock, ...) were blank."""
    from wayfinder.cli import main
    from wayfinder.streams.cli import _env_help

    assert [line for line in _env_help().splitlines()[1:] if line.count("[default:") != 1] == []
    with pytest.raises(SystemExit):
        main(["worker", "--help"])
    shown = capsys.readouterr().out
    assert "  --clock CLOCK         as WAYFINDER_CLOCK below\n" in shown
    assert "  --broker BROKER       as WAYFINDER_BROKER below\n" in shown
