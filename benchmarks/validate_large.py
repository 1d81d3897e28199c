"""`wayfinder validate` on one large journey: time and peak memory against file size.

    .venv/bin/python -m benchmarks.validate_large                  # 28,000 and 112,000 steps (1.0 and 3.9 MB)
    .venv/bin/python -m benchmarks.validate_large --steps 5000

Each size runs `wayfinder validate FOLDER` in a fresh process (the bundled catalog and templates are read
too, as for a copied journey) and prints the file's size, the wall time and the peak resident set.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_journey(folder: Path, steps: int) -> Path:
    """A journey of ``steps`` one-day waits, as the audit wrote it."""
    path = folder / "big.yaml"
    with path.open("w", encoding="utf-8") as f:
        f.write("apiVersion: wayfinder/v1\nkind: Journey\nid: big\nversion: 1\n"
                "trigger: {event: hris.leave.started}\nsteps:\n")
        for i in range(steps):
            f.write(f"  - id: s{i}\n    wait: {{for: 1d}}\n")
    return path


def build_parser() -> argparse.ArgumentParser:
    """The command line (the README's commands of this benchmark are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, nargs="+", default=[28_000, 112_000])
    return parser


def main() -> None:
    args = build_parser().parse_args()
    for steps in args.steps:
        with tempfile.TemporaryDirectory() as tmp:
            path = write_journey(Path(tmp), steps)
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", "import sys; from wayfinder.cli import main; "
                                   "sys.exit(main())", "validate", tmp], capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - started
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child so far
            print(f"{steps:>8} steps  {path.stat().st_size / 1e6:5.2f} MB  {elapsed:6.2f} s  "
                  f"peak RSS {peak_mb:6.0f} MB  exit {done.returncode}")


if __name__ == "__main__":
    main()
