"""Proportions with their uncertainty: Wilson score intervals and Newcombe's interval for a difference."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the two-sided 95% point of the standard normal


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson(successes: int, n: int, z: float = Z95) -> Interval:
    """The Wilson score interval for ``successes`` out of ``n`` (Wilson 1927); [0, 1] when n is 0."""
    if n <= 0:
        return Interval(0.0, 1.0)
    if not 0 <= successes <= n:
        msg = f"successes must be between 0 and n ({n}), got {successes}"
        raise ValueError(msg)
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return Interval(max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half)))


@dataclass(frozen=True)
class Difference:
    """``p1 - p2`` with its 95% interval."""

    value: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        """The interval leaves out zero."""
        return self.low > 0 or self.high < 0


def difference(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> Difference:
    """Newcombe's hybrid score interval for the difference of two independent proportions (method 10, 1998)."""
    if n1 <= 0 or n2 <= 0:
        msg = "both groups need at least one person"
        raise ValueError(msg)
    p1, p2 = x1 / n1, x2 / n2
    a, b = wilson(x1, n1, z), wilson(x2, n2, z)
    d = p1 - p2
    low = d - math.sqrt((p1 - a.low) ** 2 + (b.high - p2) ** 2)
    high = d + math.sqrt((a.high - p1) ** 2 + (p2 - b.low) ** 2)
    return Difference(d, max(-1.0, low), min(1.0, high))
