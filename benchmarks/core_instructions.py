"""The journey core's instructions per event against another checkout's (README "Core speed").

    .venv/bin/python -m benchmarks.org_load --employees 2000 --seed 7 --out org2000.jsonl
    git worktree add --detach ../wayfinder-base main     # or any other tree of the code to compare with
    .venv/bin/python -m benchmarks.core_instructions --events org2000.jsonl --base ../wayfinder-base

CPU time on a shared machine moves by a third between runs of the same code; the instructions a run executes move
by a fraction of a percent. Each tree runs the streaming ``simulate`` of ``core_ratio`` twice under valgrind's
cachegrind (no cache simulation, ``PYTHONHASHSEED=0``): over the whole file and over its first
``--startup-events`` lines, whose count (loading the definitions, the first events' cache misses) is taken out.
About 50 times slower than the run itself: a 2,000-employee year takes a few minutes per tree. With ``--stages``
the worker's two stages alone (``benchmarks.worker_scale.stages_alone``, no Kafka) run instead of ``simulate``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.core_ratio import _CHILD
from benchmarks.worker_scale import _STAGES_CHILD


def instructions(events: Path, tree: Path, code: str = _CHILD) -> int:
    """Instructions valgrind counts for one fresh process's simulate of ``events`` with the code of ``tree`` (or
    another ``code`` given the events file)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        msg = "valgrind is not installed (Debian: apt-get install valgrind)"
        raise SystemExit(msg)
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=str(tree))
    done = subprocess.run([valgrind, "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                           sys.executable, "-c", code, str(events)], capture_output=True, text=True, check=True,
                          env=env, cwd=str(tree))
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        msg = f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}"
        raise RuntimeError(msg)
    return int(found.group(1).replace(",", ""))


def build_parser() -> argparse.ArgumentParser:
    """The command line (the README's commands of this benchmark are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=Path, required=True, help="an org_load file (JSON lines)")
    parser.add_argument("--base", type=Path, required=True, help="the tree of the code to compare with")
    parser.add_argument("--startup-events", type=int, default=200, help="lines of the short run taken out")
    parser.add_argument("--stages", action="store_true", help="count the worker's two stages alone without Kafka "
                        "(benchmarks.worker_scale.stages_alone, which each tree must have) instead of simulate")
    return parser


def main() -> None:
    args = build_parser().parse_args()
    lines = [line for line in args.events.read_bytes().splitlines(keepends=True) if line.strip()]
    here = Path(__file__).resolve().parent.parent
    per_event: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        head = Path(tmp) / "head.jsonl"
        head.write_bytes(b"".join(lines[:args.startup_events]))
        for label, tree in (("base", args.base.resolve()), ("this", here)):
            code = _STAGES_CHILD if args.stages else _CHILD
            whole, start = instructions(args.events.resolve(), tree, code), instructions(head, tree, code)
            events = len(lines) - args.startup_events
            per_event[label] = (whole - start) / events
            print(f"{label} ({tree}): {whole / 1e6:,.0f} M in all, {start / 1e6:,.0f} M for the first "
                  f"{args.startup_events} lines, {per_event[label] / 1e3:,.1f} k per event of the other {events:,}",
                  flush=True)
    print(f"instructions per event: base {per_event['base'] / 1e3:,.1f} k, this {per_event['this'] / 1e3:,.1f} k: "
          f"{per_event['base'] / per_event['this']:.3f}x")


if __name__ == "__main__":
    main()
