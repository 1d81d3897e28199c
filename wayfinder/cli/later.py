"""Commands whose modules are imported when they run, not at every start of ``wayfinder``."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable


def later(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """The command ``name`` of ``module``, imported when it runs: a ``validate`` need not load Kafka's client, the
    web framework and the delivery connectors (about 0.35 s) to build the parsers of commands it does not run."""

    def run(args: argparse.Namespace) -> int:
        command: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(module), name)
        return command(args)

    run.__qualname__ = run.__name__ = name
    return run
