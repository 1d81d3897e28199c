"""The Prometheus rules in deploy/prometheus: valid, unit-tested with promtool, and over metrics that exist."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from tests.support import ROOT
from wayfinder.connectors.metrics import DeliveryMetrics
from wayfinder.hris.metrics import IntakeMetrics
from wayfinder.hris.webhooks import SYSTEMS
from wayfinder.streams.metrics import StreamMetrics
from wayfinder.web.metrics import WebMetrics

RULES = ROOT / "deploy" / "prometheus" / "alerts.yaml"
RULE_TESTS = sorted((ROOT / "deploy" / "prometheus" / "tests").glob("*.yaml"))
RUNBOOK = ROOT / "deploy" / "RUNBOOK.md"
# Series Prometheus makes itself, not Wayfinder's processes.
PROMETHEUS_OWN = {"up"}


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: install Debian's prometheus package (apt-get install prometheus), "
                    "which provides it; ./scripts/test does so when run as root")
    return path


def run_promtool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, check=False, cwd=cwd, timeout=60)


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in doc["groups"] for rule in group["rules"]]


def alert_names() -> list[str]:
    return [rule["alert"] for rule in rules() if "alert" in rule]


def test_promtool_check_rules_accepts_the_rules() -> None:
    result = run_promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_promtool_unit_tests_pass() -> None:
    assert RULE_TESTS, "no rule tests in deploy/prometheus/tests"
    result = run_promtool("test", "rules", *(str(p) for p in RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_quiet() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert set(alert_names()) <= firing, f"never tested firing: {set(alert_names()) - firing}"
    assert set(alert_names()) <= quiet, f"never tested quiet: {set(alert_names()) - quiet}"


@pytest.mark.parametrize("alert", alert_names())
def test_the_unit_tests_fail_without_the_alert(alert: str, tmp_path: Path) -> None:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in doc["groups"]:
        group["rules"] = [rule for rule in group["rules"] if rule.get("alert") != alert]
    (tmp_path / "alerts.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    tests = tmp_path / "tests"
    tests.mkdir()
    for path in RULE_TESTS:
        shutil.copy(path, tests / path.name)
    result = run_promtool("test", "rules", *(str(tests / p.name) for p in RULE_TESTS), cwd=tmp_path)
    assert result.returncode != 0, f"the rule tests still pass without {alert}"
    assert f"alertname: {alert}," in result.stdout + result.stderr


def exported_names() -> set[str]:
    """Every series name the worker, delivery, web and intake processes export (counters with their _total)."""
    registries = [CollectorRegistry() for _ in range(4)]
    StreamMetrics(registries[0])
    DeliveryMetrics(registries[1])
    WebMetrics(registries[2], pending=lambda: 0.0, oldest_age=lambda: 0.0)
    IntakeMetrics(registries[3], SYSTEMS)
    names: set[str] = set()
    for registry in registries:
        for family in registry.collect():
            names.add(f"{family.name}_total" if family.type == "counter" else family.name)
            if family.type == "histogram":
                names.update(f"{family.name}_{suffix}" for suffix in ("bucket", "count", "sum"))
    return names


def test_the_rules_read_only_metrics_that_exist() -> None:
    used = {name for rule in rules() for name in re.findall(r"\b(?:wayfinder_[a-z_]+|up)\b", rule["expr"])}
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    missing = used - exported_names() - PROMETHEUS_OWN
    assert not missing, f"the rules read metrics no process exports: {sorted(missing)}"
    assert all(name.startswith("wayfinder:") for name in recorded)
    assert {"wayfinder_consumer_lag_messages", "wayfinder_sending_paused"} <= used


def test_every_alert_has_a_runbook_section() -> None:
    headings = {line.removeprefix("### ").strip() for line in RUNBOOK.read_text(encoding="utf-8").splitlines()
                if line.startswith("### ")}
    for rule in rules():
        if "alert" in rule:
            assert rule["alert"] in headings, f"deploy/RUNBOOK.md has no '### {rule['alert']}' section"
            assert rule["annotations"]["runbook"] == f"deploy/RUNBOOK.md#{rule['alert'].lower()}"
