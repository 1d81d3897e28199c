"""The journey core's speed against another checkout's, side by side (README "Core speed").

    .venv/bin/python -m benchmarks.org_load --employees 8000 --seed 7 --out org8000.jsonl
    git worktree add --detach ../wayfinder-base main     # or any other tree of the code to compare with
    .venv/bin/python -m benchmarks.core_ratio --events org8000.jsonl --base ../wayfinder-base --runs 3

Each run is a fresh process that loads the bundled definitions and then times, in CPU time of the process
(``time.process_time``), the streaming ``simulate`` of the events file (decode, core, mailbox, timers, files
written), as part 1 of ``benchmarks/org_scale.py`` does. The runs alternate between the base tree (put first on
``PYTHONPATH``) and this one, so that a shared, loaded machine slows both alike; the best of each is kept.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

_CHILD = """
import gc, sys, tempfile, time
from pathlib import Path
from benchmarks.core_throughput import bundled
from wayfinder.scale import simulate_streaming
import wayfinder
defs = bundled()
with tempfile.TemporaryDirectory() as out:
    gc.collect()
    t0 = time.process_time()
    simulate_streaming(defs, Path(sys.argv[1]), None, Path(out))
    print(time.process_time() - t0, Path(wayfinder.__file__).resolve().parent.parent)
"""


def run(events: Path, base: Path | None) -> tuple[float, str]:
    """CPU seconds of one fresh process's simulate of ``events``; the tree it ran."""
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([str(base), here] if base is not None else [here])
    done = subprocess.run([sys.executable, "-c", _CHILD, str(events)], capture_output=True, text=True, check=True,
                          env=env, cwd=str(base) if base is not None else here)
    seconds, tree = done.stdout.split()
    return float(seconds), tree


def build_parser() -> argparse.ArgumentParser:
    """The command line (the README's commands of this benchmark are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=Path, required=True, help="an org_load file (JSON lines)")
    parser.add_argument("--base", type=Path, required=True, help="the tree of the code to compare with")
    parser.add_argument("--runs", type=int, default=3)
    return parser


def main() -> None:
    args = build_parser().parse_args()
    with args.events.open("rb") as lines:
        count = sum(1 for line in lines if line.strip())
    best: dict[str, float] = {}
    for n in range(args.runs):
        for label, base in (("base", args.base.resolve()), ("this", None)):
            seconds, tree = run(args.events.resolve(), base)
            best[label] = min(best.get(label, seconds), seconds)
            print(f"run {n + 1} {label:4} ({tree}): {seconds:.2f} s CPU, {count / seconds:,.0f} events/s", flush=True)
    print(f"best of {args.runs}: base {best['base']:.2f} s ({count / best['base']:,.0f} events/s), this "
          f"{best['this']:.2f} s ({count / best['this']:,.0f} events/s): {best['base'] / best['this']:.2f}x")


if __name__ == "__main__":
    main()
