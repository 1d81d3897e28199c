"""What a learning path costs to work out: the exact search at its bound, and the greedy path beyond it.

    .venv/bin/python -m benchmarks.learning_paths

Random catalogs (seeded) of resources that each teach two of 12 skills and may require one; the target is
every skill. Prints the median time per path and, for the greedy paths, how many resources more than the
exact search needs on the same catalogs (where the exact search is still affordable).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from wayfinder.catalog import ResourceSpec, plan_path

SKILLS = [f"k{i:02d}" for i in range(12)]


def catalog(rng: random.Random, size: int) -> list[ResourceSpec]:
    out = []
    for i in range(size):
        teaches = rng.sample(SKILLS, 2)
        requires = [s for s in rng.sample(SKILLS, 1) if s not in teaches and rng.random() < 0.4]
        out.append(ResourceSpec.model_validate({"id": f"r{i:03d}", "type": "learning", "title": "t",
                                                "topics": ["learning"], "teaches": teaches,
                                                "requires_skills": requires}))
    return out


def timed(resources: list[ResourceSpec], limit: int) -> tuple[float, int, bool]:
    started = time.perf_counter()
    plan = plan_path(resources, [], SKILLS, exact_limit=limit)
    return time.perf_counter() - started, len(plan.resources), plan.exact


def build_parser() -> argparse.ArgumentParser:
    """The command line: no options (the README's commands of this benchmark are checked against it)."""
    return argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)


def main() -> None:
    build_parser().parse_args()  # --help says what it does, a stray option is refused, rather than a run
    rng = random.Random(7)
    for size, limit in ((12, 12), (14, 14), (12, 0), (200, 12), (2000, 12)):
        runs = [timed(catalog(rng, size), limit) for _ in range(20)]
        print(f"{size:5d} resources, {'exact' if runs[0][2] else 'greedy'}: median "
              f"{statistics.median(r[0] for r in runs) * 1000:.1f} ms, max {max(r[0] for r in runs) * 1000:.1f} ms")
    extra = []
    for _ in range(50):
        resources = catalog(rng, 12)
        extra.append(timed(resources, 0)[1] - timed(resources, 12)[1])
    print(f"greedy against exact on 50 catalogs of 12: {sum(1 for e in extra if e == 0)} equal, "
          f"{sum(1 for e in extra if e > 0)} longer (by at most {max(extra)})")


if __name__ == "__main__":
    main()
