"""A broker of one test only: the project's script on the session broker's port + 100 (+ 200, ... in the other
processes of a ``pytest -n`` run), its state in the test's folder. Tests that stop and start a broker use it so that
the session's shared broker, which other tests use, never goes away."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.support import ROOT

SCRIPT = ROOT / "deploy" / "local" / "kafka"


class OwnBroker:
    """A broker of this test only, started and stopped with the project's script."""

    def __init__(self, folder: Path) -> None:
        # Each process of a ``pytest -n`` run has its own port (gw0: + 100, gw1: + 200, ...).
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
        port = int(os.environ.get("WAYFINDER_KAFKA_PORT", "9092")) + 100 * (1 + int(worker or 0))
        self.address = f"127.0.0.1:{port}"
        # A loaded machine starts the JVM slowly: up to 300 s before the script gives up.
        self.env = os.environ | {"WAYFINDER_KAFKA_PORT": str(port), "WAYFINDER_KAFKA_CONTROLLER_PORT": str(port + 1000),
                                 "WAYFINDER_KAFKA_STATE": str(folder / "kafka-state"),
                                 "WAYFINDER_KAFKA_START_TIMEOUT": "300"}

    def run(self, command: str) -> float:
        """Run ``deploy/local/kafka COMMAND`` for this broker; the seconds it took."""
        started = time.monotonic()
        done = subprocess.run([str(SCRIPT), command], env=self.env, capture_output=True, text=True, timeout=400,
                              check=False)
        assert done.returncode == 0, f"kafka {command}:\n{done.stdout}\n{done.stderr}"
        return time.monotonic() - started
