"""Every pod the Kubernetes manifests in deploy/k8s run has the same security settings (the schema checks of these
manifests, tests/real/test_manifests.py, need the schemas package and run with the real tier; this needs YAML
only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from tests.support import ROOT

K8S = ROOT / "deploy" / "k8s"
USER = 10001


def _applied() -> Iterator[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    for name in kustomization["resources"]:
        yield from (doc for doc in yaml.safe_load_all((K8S / name).read_text(encoding="utf-8")) if doc)


def _pods() -> Iterator[tuple[str, dict[str, Any], bool]]:
    """Each workload's name, its pod spec, and whether the pod writes a claimed (persistent) volume."""
    for doc in _applied():
        spec = doc.get("spec", {})
        if doc["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        if "template" not in spec:
            continue
        pod = spec["template"]["spec"]
        claimed = {v["name"] for v in pod.get("volumes", []) if "persistentVolumeClaim" in v}
        claimed |= {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])}
        writes = any(m["name"] in claimed and not m.get("readOnly") for c in pod["containers"]
                     for m in c.get("volumeMounts", []))
        yield doc["metadata"]["name"], pod, writes


def test_every_pod_runs_as_the_same_non_root_user_without_privileges() -> None:
    """The HR import CronJob had no securityContext: it ran as the image's user (root) with every capability, unlike
    the workers, deliver and serve."""
    pods = list(_pods())
    assert {name for name, _, _ in pods} >= {"wayfinder-worker", "wayfinder-deliver", "wayfinder-serve",
                                              "wayfinder-hris-import"}
    for name, pod, writes in pods:
        context = pod.get("securityContext", {})
        assert context.get("runAsNonRoot") is True, name
        assert context.get("runAsUser") == USER, name
        if writes:  # a claimed volume is owned by root until fsGroup gives it to the pod's group
            assert context.get("fsGroup") == USER, name
        for c in [*pod.get("initContainers", []), *pod["containers"]]:
            assert c.get("securityContext", {}).get("allowPrivilegeEscalation") is False, (name, c["name"])
            assert c.get("securityContext", {}).get("capabilities") == {"drop": ["ALL"]}, (name, c["name"])
