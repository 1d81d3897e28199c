"""A real Prometheus (Debian's) with the shipped rules, some of whose durations are shortened so that alerts
reach ``firing`` within a test: the crash-loop and broker-outage scenarios (tests/real/test_crash_loop_live.py,
tests/real/test_broker_outage_live.py).

Only the durations named by a test change: an alert's ``for:`` and, where the expression itself holds a duration
(WayfinderBrokerUnreachable's 120 s of lag age), that number. The rest of each rule is the shipped text, so an
alert firing here is the shipped expression holding on live data for the shortened time. Which durations are
shortened, and by how much, is written next to each use.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.real.test_prometheus_live import RULES, Prometheus, _ready, eventually, free_port


def shortened_rules(fors: Mapping[str, str], exprs: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    """The shipped rules evaluated every second, with ``for:`` of the alerts in ``fors`` replaced and, for the
    alerts in ``exprs``, one piece of the expression replaced (``(old, new)``; the old text must be there)."""
    rules: dict[str, Any] = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    seen = set()
    for group in rules["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            name = rule.get("alert")
            if name in fors:
                rule["for"] = fors[name]
                seen.add(name)
            if name in exprs:
                old, new = exprs[name]
                assert old in rule["expr"], f"{name}: {old!r} is no longer in its expression"
                rule["expr"] = rule["expr"].replace(old, new)
    assert seen == set(fors), f"no such alerts: {set(fors) - seen}"
    return rules


@contextmanager
def fast_prometheus(folder: Path, fors: Mapping[str, str],
                    exprs: Mapping[str, tuple[str, str]] | None = None) -> Iterator[Prometheus]:
    """Prometheus scraping every second the targets a test names (job ``wayfinder-worker``, ``file_sd``)."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is missing: apt-get install prometheus (./scripts/test does when run as root)")
    (folder / "rules.yaml").write_text(yaml.safe_dump(shortened_rules(fors, exprs or {})), encoding="utf-8")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
        "rule_files": ["rules.yaml"],
        "scrape_configs": [{"job_name": "wayfinder-worker", "file_sd_configs": [
            {"files": [str(folder / "wayfinder-worker.json")], "refresh_interval": "1s"}]}],
    }
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    prom = Prometheus(f"http://127.0.0.1:{port}", folder)
    prom.targets("wayfinder-worker", [])
    log = (folder / "prometheus.log").open("wb")
    process = subprocess.Popen([binary, f"--config.file={folder / 'prometheus.yml'}",
                                f"--storage.tsdb.path={folder / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                               cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        eventually(lambda: _ready(prom.url), bool, 60, "prometheus ready")
        yield prom
    finally:
        process.terminate()
        process.wait(timeout=30)


def alert_states(prom: Prometheus) -> dict[str, set[str]]:
    """Each alert Prometheus has now, with its states (``pending``, ``firing``) over its label sets."""
    found: dict[str, set[str]] = {}
    for a in prom.api("alerts")["alerts"]:
        found.setdefault(a["labels"]["alertname"], set()).add(a["state"])
    return found


def alerts_named(prom: Prometheus, name: str) -> list[dict[str, Any]]:
    return [a for a in prom.api("alerts")["alerts"] if a["labels"]["alertname"] == name]
