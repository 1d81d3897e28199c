"""The collectors a custom registry lacks: process (CPU, memory, open files, start time), platform, GC, and
``wayfinder_build_info`` with the version and the role of the process."""

from __future__ import annotations

import platform

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from wayfinder import __version__


def add_standard_collectors(registry: CollectorRegistry, role: str) -> None:
    """Register ``process_*``, ``python_*`` and ``wayfinder_build_info{version, role, python}`` on ``registry``.

    ``role`` is one of worker, deliver, serve, intake: Prometheus tells the processes apart by job anyway; the label
    lets a dashboard count versions per role. ``process_start_time_seconds`` is how restarts are counted.
    """
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    info = Gauge("wayfinder_build_info", "Always 1: the version of Wayfinder this process runs",
                 ["version", "role", "python"], registry=registry)
    info.labels(__version__, role, platform.python_version()).set(1)
