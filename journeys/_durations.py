"""Durations as HR operations write them: ``30s``, ``15m``, ``4h``, ``3d``, ``12w``, ``-14d``, ``1d12h``."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"([0-9]+)([smhdw])")  # ASCII digits ("\\d" took "٣d"; the JSON Schema does not)
_WHOLE = re.compile(r"-?(?:[0-9]+[smhdw])+")
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
    parts = _PART.findall(value)
    # a number of more digits than a century has seconds is over it (Python refuses to read past 4,300 digits)
    seconds = MAX_SECONDS + 1 if any(len(n) > 12 for n, _ in parts) else sum(int(n) * _UNIT_SECONDS[u]
                                                                             for n, u in parts)
    if seconds > MAX_SECONDS:
        msg = f"{text!r} is longer than 100 years, which Wayfinder cannot schedule"
        raise ValueError(msg)
    return timedelta(seconds=sign * seconds)


def split_duration(text: str) -> tuple[timedelta, timedelta]:
    """A duration (checked by :func:`parse_duration`) as its days and weeks, which run on the local calendar, and
    its hours, minutes and seconds, which are exact: ``1d3h`` is the same time tomorrow, then three hours."""
    sign = -1 if text.strip().startswith("-") else 1
    calendar = sum(int(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(text) if u in "dw")
    exact = sum(int(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(text) if u not in "dw")
    return timedelta(seconds=sign * calendar), timedelta(seconds=sign * exact)


def has_calendar_part(text: str) -> bool:
    """True when the duration has days or weeks, which run on the local calendar (same wall-clock time)."""
    return any(u in "dw" for _, u in _PART.findall(text))
