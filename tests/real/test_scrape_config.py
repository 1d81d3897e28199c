"""deploy/prometheus/scrape.yaml: the scrape job that gives the ``job`` labels the alert rules read.

The rules select ``job="wayfinder-worker"`` (and deliver, serve), which nothing in deploy/ set: scraped through the
pods' ``prometheus.io/*`` annotations by the usual annotation-driven job, every target had job="kubernetes-pods"
and WayfinderWorkersAbsent fired all the time (found by an audit of issue 13). There is no Kubernetes API here, so
the job's relabelings run in a real Prometheus over file-discovered targets that carry the ``__meta_kubernetes_pod_*``
labels Kubernetes pod discovery gives the pods of deploy/k8s (their templates' labels and annotations).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from tests.real.test_alert_rules import RULES, run_promtool
from tests.real.test_prometheus_live import eventually, running_prometheus
from tests.support import ROOT

SCRAPE = ROOT / "deploy" / "prometheus" / "scrape.yaml"
K8S = ROOT / "deploy" / "k8s"
RULE_JOBS = {"wayfinder-worker", "wayfinder-deliver", "wayfinder-serve", "wayfinder-intake"}


def scrape_job() -> dict[str, Any]:
    [job] = yaml.safe_load(SCRAPE.read_text(encoding="utf-8"))["scrape_configs"]
    assert isinstance(job, dict)
    return job


def test_promtool_check_config_accepts_the_scrape_job(tmp_path: Path) -> None:
    """Debian's Prometheus is built without Kubernetes discovery ("field kubernetes_sd_configs not found"), so the
    discovery is checked here as data and the rest by promtool with file discovery in its place."""
    job = scrape_job()
    assert job.pop("kubernetes_sd_configs") == [{"role": "pod"}]
    job["file_sd_configs"] = [{"files": [str(tmp_path / "pods.json")]}]
    config = {"rule_files": [str(RULES)], "scrape_configs": [job]}
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    result = run_promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_read_only_the_jobs_the_scrape_job_makes() -> None:
    assert set(re.findall(r'wayfinder-(?:worker|deliver|serve|intake)', RULES.read_text(encoding="utf-8"))) == RULE_JOBS


def _meta(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def discovered(pod_ip: str = "127.0.0.1") -> list[dict[str, Any]]:
    """What Kubernetes pod discovery gives Prometheus for one pod of each workload in deploy/k8s, the optional intake
    component's too: a target per container port, and a port-free one per init container
    (``__meta_kubernetes_pod_container_init``)."""
    files = [K8S / name for name in yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))[
        "resources"]]
    files += [K8S / "intake" / name for name in yaml.safe_load((K8S / "intake" / "kustomization.yaml").read_text(
        encoding="utf-8"))["resources"]]
    groups = []
    for file in files:
        for doc in yaml.safe_load_all(file.read_text(encoding="utf-8")):
            spec = (doc or {}).get("spec", {})
            if doc and doc["kind"] == "CronJob":
                spec = spec["jobTemplate"]["spec"]
            if "template" not in spec:
                continue
            meta = spec["template"].get("metadata", {})
            pod = {f"__meta_kubernetes_pod_label_{_meta(k)}": v for k, v in meta.get("labels", {}).items()}
            pod |= {f"__meta_kubernetes_pod_annotation_{_meta(k)}": v for k, v in meta.get("annotations", {}).items()}
            pod |= {"__meta_kubernetes_pod_name": f"{doc['metadata']['name']}-0",
                    "__meta_kubernetes_namespace": "wayfinder"}
            containers = [(c, "false") for c in spec["template"]["spec"]["containers"]]
            containers += [(c, "true") for c in spec["template"]["spec"].get("initContainers", [])]
            for c, init in containers:
                ports = [p["containerPort"] for p in c.get("ports", [])]
                for port in ports or [None]:
                    labels = pod | {"__meta_kubernetes_pod_container_name": c["name"],
                                    "__meta_kubernetes_pod_container_init": init}
                    groups.append({"targets": [f"{pod_ip}:{port}" if port else pod_ip], "labels": labels})
    return groups


def test_the_scrape_job_gives_each_wayfinder_pod_the_job_the_rules_read(tmp_path: Path) -> None:
    job = scrape_job()  # its relabelings as shipped; the pods from a file instead of the Kubernetes API
    (tmp_path / "pods.json").write_text(json.dumps(discovered()), encoding="utf-8")
    del job["kubernetes_sd_configs"]
    job |= {"file_sd_configs": [{"files": [str(tmp_path / "pods.json")], "refresh_interval": "1s"}],
            "scrape_interval": "1s", "scrape_timeout": "1s"}
    jobs = RULE_JOBS
    with running_prometheus(tmp_path, {"groups": []}, (), (job,)) as prom:
        targets = eventually(lambda: prom.api("targets", state="active")["activeTargets"],
                             lambda t: len(t) >= len(jobs), 60, "the targets")
        seen = {(t["labels"]["job"], t["labels"]["instance"], t["scrapeUrl"]) for t in targets}
        assert seen == {("wayfinder-worker", "wayfinder-worker-0", "http://127.0.0.1:9108/metrics"),
                        ("wayfinder-deliver", "wayfinder-deliver-0", "http://127.0.0.1:9109/metrics"),
                        ("wayfinder-serve", "wayfinder-serve-0", "http://127.0.0.1:8080/metrics"),
                        ("wayfinder-intake", "wayfinder-intake-0", "http://127.0.0.1:8080/metrics")}
        # the alert expressions: a worker target exists (WayfinderWorkersAbsent quiet), and its `up` is the one
        # WayfinderWorkerDown and WayfinderServiceDown read
        ups = eventually(lambda: {r["metric"]["job"] for r in prom.query("up")}, lambda j: j == jobs, 60, "up")
        assert ups == jobs
        assert prom.query('absent(up{job="wayfinder-worker"})') == []
