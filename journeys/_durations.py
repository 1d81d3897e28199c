"""Durations as HR operations write them: ``30s``, ``15m``, ``4h``, ``3d``, ``12w``, ``-14d``, ``1d12h``."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)([smhdw])")
_WHOLE = re.compile(r"-?(?:\d+[smhdw])+")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


MAX_SECONDS = 100 * 366 * 86_400
"""The longest duration: a wait, timeout, offset or re-entry beyond a century is a mistake, and would overflow the
dates Wayfinder schedules."""


def parse_duration(text: str) -> timedelta:
    """Parse a duration; raise ``ValueError`` with the accepted form when it is not one."""
    value = text.strip()
    if not _WHOLE.fullmatch(value):
        msg = f"{text!r} is not a duration: write a number and a unit (s, m, h, d, w), e.g. 3d, 12w or -14d"
        raise ValueError(msg)
    sign = -1 if value.startswith("-") else 1
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(value))
    if seconds > MAX_SECONDS:
        msg = f"{text!r} is longer than 100 years, which Wayfinder cannot schedule"
        raise ValueError(msg)
    return timedelta(seconds=sign * seconds)


def has_calendar_part(text: str) -> bool:
    """True when the duration has days or weeks, which run on the local calendar (same wall-clock time)."""
    return any(u in "dw" for _, u in _PART.findall(text))
