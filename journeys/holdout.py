"""Control groups: which employees a journey holds out (enrolled, never messaged).

The assignment is a pure function of the employee id and the journey id, so it is the same on
every replay, on every worker and for every version of the journey: changing a journey's steps
never moves someone between the control group and the reached group.
"""

from __future__ import annotations

import hashlib

__all__ = ["holdout_point", "in_holdout"]

_SPACE = 2**64


def holdout_point(employee_id: str, journey_id: str) -> float:
    """Where this employee falls for this journey, uniformly in [0, 1)."""
    digest = hashlib.sha256(f"wayfinder-holdout\x1f{journey_id}\x1f{employee_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SPACE


def in_holdout(employee_id: str, journey_id: str, share: float) -> bool:
    """True when the employee is in the journey's control group of the given share (0.05 for 5%).

    Shares nest: whoever is held out at 5% is also held out at 10%.
    """
    if share <= 0:
        return False
    return holdout_point(employee_id, journey_id) < share
