"""Shared fixtures, and the tier markers applied by folder (unit, pipeline, real)."""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import authlib.deprecate  # noqa: F401  (see below)
import pytest
from hypothesis import settings

from tests.support import ROOT, TESTS, WriteFiles

# No per-example deadline: on a loaded machine a slow example is not a failure (pytest-timeout still bounds
# every test).
settings.register_profile("wayfinder", deadline=None)
settings.load_profile("wayfinder")

# Authlib (under oidc-provider-mock, the browser tests' provider) puts an "always" filter for its deprecation
# warnings in front of the warning filters when it is first imported. Imported here, in the conftest pytest loads
# before it collects, the filter is there first, and pytest's own (pyproject.toml: the authlib.jose warning ignored,
# every other one an error) go in front of it during collection and tests, as for any other warning.
TIERS = ("unit", "pipeline", "real")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test carries the marker of its folder's tier: ``-m unit`` runs the fast core tests only. In one process
    the tiers run in order, fastest first (unit, pipeline, real), each in file order. Under ``pytest -n``
    (``scripts/test``, files handed out in this order with ``--no-loadscope-reorder``) the real tier goes first: its
    files take minutes each, and the many short files of the other tiers, last, keep both processes busy to the end
    instead of one waiting while the other runs a long Kafka file."""
    order = TIERS[::-1] if os.environ.get("PYTEST_XDIST_WORKER") else TIERS
    items.sort(key=lambda item: order.index(_tier(item)) if _tier(item) in order else len(order))
    for item in items:
        tier = _tier(item)
        if tier not in TIERS:
            msg = f"{item.nodeid}: tests live in tests/unit, tests/pipeline or tests/real"
            raise pytest.UsageError(msg)
        item.add_marker(getattr(pytest.mark, tier))


def _tier(item: pytest.Item) -> str:
    parts = Path(str(item.path)).relative_to(TESTS).parts
    return parts[0] if len(parts) > 1 else ""


@pytest.fixture(autouse=True)
def _root_logger_as_found() -> Iterator[None]:
    """A command run in-process (``main([...])``) puts its stderr handler on the root logger; under capsys that
    stderr is a capture closed when the test ends, and a later test's log line would go to a closed file (CI saw a
    flush raise). Each test leaves the root logger's handlers of ours and its level as it found them."""
    root = logging.getLogger()
    level, before = root.level, set(root.handlers)
    yield
    root.handlers[:] = [h for h in root.handlers if h in before or not getattr(h, "wayfinder", False)]
    root.setLevel(level)


@pytest.fixture
def write_files(tmp_path: Path) -> WriteFiles:
    """Write ``{relative path: YAML text}`` under a fresh folder and return the folder."""

    def write(files: dict[str, str]) -> Path:
        for rel, text in files.items():
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return tmp_path

    return write


KAFKA_SCRIPT = ROOT / "deploy" / "local" / "kafka"


def _kafka_port() -> str:
    return os.environ.get("WAYFINDER_KAFKA_PORT", "9092")


def _started_mark() -> Path:
    """Where the run that started the broker notes it (what the script said of it: its pid among it)."""
    return Path(tempfile.gettempdir()) / f"wayfinder-tests-kafka-{_kafka_port()}.started"


def _users() -> Path:
    """One file per test run using the broker, named by the run's controlling process id: a run ends, and the
    broker stops only when no other run still uses it."""
    return _started_mark().with_suffix(".users")


def _run_id() -> str:
    return os.environ.get("PYTEST_WAYFINDER_RUN", str(os.getpid()))


def _broker_status() -> tuple[bool, str]:
    """Whether the broker is up, and what the script says of it (its pid among it)."""
    done = subprocess.run([str(KAFKA_SCRIPT), "status"], capture_output=True, text=True, check=False)
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def pytest_configure(config: pytest.Config) -> None:
    """The run's id, for the processes ``pytest -n`` starts after this (they inherit the environment)."""
    if not hasattr(config, "workerinput"):
        os.environ["PYTEST_WAYFINDER_RUN"] = str(os.getpid())


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[str]:
    """A real single-node Kafka broker, started once per run by the project's own script.

    With ``pytest -n`` (``scripts/test`` runs two processes) the first process that needs it starts it, under a
    lock, and the others use it. Each run that uses it notes so (``_users``); at a run's very end
    (``pytest_sessionfinish`` in the controlling process) the broker a test run started is stopped once no other
    run on the machine still uses it, so two runs at once (a developer's unit tests during the whole suite, two
    checkouts) never take it away from each other. A broker that was running before any test run started it is
    used and left running."""
    lock = _started_mark().with_suffix(".lock")
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        _users().mkdir(exist_ok=True)
        (_users() / _run_id()).touch()
        if not _broker_status()[0]:
            # Every run starts from empty storage: the tests' topics are named per test, and a
            # state dir kept across runs grows until the broker spends minutes loading old partitions.
            subprocess.run([str(KAFKA_SCRIPT), "down", "--purge"], capture_output=True, timeout=120, check=False)
            started = subprocess.run([str(KAFKA_SCRIPT), "up"], capture_output=True, text=True, timeout=900,
                                     check=False)
            assert started.returncode == 0, f"could not start Kafka:\n{started.stdout}\n{started.stderr}"
            _started_mark().write_text(_broker_status()[1], encoding="utf-8")
    yield f"127.0.0.1:{_kafka_port()}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The run's end (in the controlling process under ``pytest -n``): the run no longer uses the broker; when no
    other run does (a run killed before its end is not counted: its process is gone), the broker a test run
    started is stopped, and only that one (the same status, pid included: a mark left by a killed run does not stop
    a broker someone started since)."""
    if hasattr(session.config, "workerinput"):
        return
    lock = _started_mark().with_suffix(".lock")
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        users = _users()
        (users / _run_id()).unlink(missing_ok=True)
        for other in users.iterdir() if users.exists() else ():
            if _alive(other.name):
                return  # another run still uses it: the last one stops it
            other.unlink(missing_ok=True)
        mark = _started_mark()
        if not mark.exists():
            return
        started = mark.read_text(encoding="utf-8")
        mark.unlink()
        if _broker_status() == (True, started) and os.environ.get("WAYFINDER_KEEP_KAFKA") != "1":
            subprocess.run([str(KAFKA_SCRIPT), "down", "--purge"], capture_output=True, timeout=120, check=False)
