"""The Kubernetes manifests in deploy/k8s: valid against a pinned Kubernetes version's schemas, offline."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.support import ROOT
from wayfinder.connectors.settings import DeliverySettings
from wayfinder.hris.intake import IntakeSettings
from wayfinder.hris.mapping import load_mapping
from wayfinder.streams.settings import WorkerSettings
from wayfinder.web.settings import WebSettings

K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33.0"
# Files kept beside the kustomization but not applied by it.
TEMPLATES = {"secret.example.yaml"}
# Files a kustomization generator reads (a ConfigMap's content), not manifests.
GENERATED = {"hris-mapping.yaml"}
# Set in the manifests ahead of a process reading it.
NOT_READ_YET: set[str] = set()


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation must use the schemas shipped in the package: any connection attempt fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        msg = f"network use during manifest validation: {args!r}"
        raise AssertionError(msg)

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def kustomization() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    return doc


def documents(*names: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for name in names:
        for doc in yaml.safe_load_all((K8S / name).read_text(encoding="utf-8")):
            if doc is not None:
                yield name, doc


def applied() -> list[tuple[str, dict[str, Any]]]:
    return list(documents(*kustomization()["resources"]))


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in applied() if doc["kind"] == kind]


def one(kind: str, name: str) -> dict[str, Any]:
    [doc] = [doc for doc in by_kind(kind) if doc["metadata"]["name"] == name]
    return doc


def test_the_kustomization_lists_every_manifest() -> None:
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"} - TEMPLATES - GENERATED
    assert set(kustomization()["resources"]) == files
    assert "hris-import-cronjob.yaml" in files


@pytest.mark.parametrize("name", sorted({p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"} - GENERATED))
def test_every_manifest_is_valid_for_the_pinned_kubernetes(name: str) -> None:
    docs = list(documents(name))
    assert docs, f"{name} has no documents"
    for _, doc in docs:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"deploy/k8s/{name}: {doc['kind']} {doc['metadata']['name']}: {e.message} at {list(e.path)}")


def test_the_generated_config_map_and_the_mapping_it_carries_are_valid() -> None:
    """hris-mapping.yaml is no manifest: the kustomization makes it a ConfigMap the CronJob mounts, and the import
    reads it as a mapping. Both are checked here (before, nothing read it: a broken mapping failed at 05:30)."""
    [generator] = kustomization()["configMapGenerator"]
    key, _, name = generator["files"][0].partition("=")
    text = (K8S / name).read_text(encoding="utf-8")
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": {key: text}}
    kubernetes_validate.validate(config_map, KUBERNETES_VERSION, strict=True)
    assert load_mapping(K8S / name).source == "hris/workday"
    cronjob = one("CronJob", "wayfinder-hris-import")
    volumes = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]
    assert {"name": "config", "configMap": {"name": generator["name"]}} in volumes
    assert GENERATED == {name}


def test_the_validator_rejects_a_broken_manifest() -> None:
    worker = one("StatefulSet", "wayfinder-worker")
    broken = {**worker, "spec": {**worker["spec"], "replicas": "three", "podManagementPolicy": "Parallel"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    unknown = {**worker, "spec": {**worker["spec"], "replica": 3}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(unknown, KUBERNETES_VERSION, strict=True)


def container(doc: dict[str, Any]) -> dict[str, Any]:
    [c] = doc["spec"]["template"]["spec"]["containers"]
    assert isinstance(c, dict)
    return c


def test_the_workers_are_a_statefulset_with_a_rocksdb_volume_each() -> None:
    worker = one("StatefulSet", "wayfinder-worker")
    c = container(worker)
    env = {e["name"]: e.get("value") for e in c["env"]}
    [claim] = worker["spec"]["volumeClaimTemplates"]
    assert c["args"] == ["wayfinder", "worker"]
    assert env["WAYFINDER_DATA_DIR"] == "/data"
    assert {"name": claim["metadata"]["name"], "mountPath": "/data"} in c["volumeMounts"]
    headless = one("Service", worker["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    partitions = int(one("ConfigMap", "wayfinder-settings")["data"]["WAYFINDER_PARTITIONS"])
    assert 1 <= worker["spec"]["replicas"] <= partitions


def test_every_long_running_container_has_requests_and_a_memory_limit() -> None:
    for kind in ("StatefulSet", "Deployment"):
        for doc in by_kind(kind):
            resources = container(doc)["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), doc["metadata"]["name"]
            assert "memory" in resources["limits"], doc["metadata"]["name"]


def test_probes_and_the_disruption_budget() -> None:
    paths = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    for name, kind in (("wayfinder-worker", "StatefulSet"), ("wayfinder-deliver", "Deployment"),
                       ("wayfinder-serve", "Deployment")):
        c = container(one(kind, name))
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        for probe, path in paths.items():
            if probe in c:
                assert c[probe]["httpGet"]["path"] == path, (name, probe)
                assert c[probe]["httpGet"]["port"] in ports, (name, probe)
        assert {"startupProbe", "livenessProbe", "readinessProbe"} <= set(c), name  # deliver had no startup probe
    worker = container(one("StatefulSet", "wayfinder-worker"))
    assert worker["ports"][0]["containerPort"] == int(next(e["value"] for e in worker["env"]
                                                           if e["name"] == "WAYFINDER_METRICS_PORT"))
    deliver = container(one("Deployment", "wayfinder-deliver"))
    assert str(deliver["ports"][0]["containerPort"]) == deliver["args"][deliver["args"].index("--metrics-port") + 1]
    [pdb] = by_kind("PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"] == one("StatefulSet", "wayfinder-worker")["spec"]["selector"][
        "matchLabels"]


def test_deliver_and_serve_run_as_the_commands_say() -> None:
    deliver = one("Deployment", "wayfinder-deliver")
    assert container(deliver)["args"][:3] == ["wayfinder", "deliver", "--kafka"]
    assert deliver["spec"]["replicas"] == 1 and deliver["spec"]["strategy"]["type"] == "Recreate"
    serve = one("Deployment", "wayfinder-serve")
    in_pod = ["wayfinder", "serve", "--kafka", "--host", "0.0.0.0", "--port", "8080"]  # noqa: S104 - the pod's address
    assert container(serve)["args"] == in_pod
    assert one("Service", "wayfinder-serve")["spec"]["selector"] == serve["spec"]["selector"]["matchLabels"]


def test_no_credentials_in_what_is_applied() -> None:
    assert not by_kind("Secret"), "secrets are made from the secret store, never applied from the repository"
    for _, doc in documents("configmap.yaml"):
        for key in doc["data"]:
            assert not any(word in key for word in ("SECRET", "PASSWORD", "SMTP_URL", "DESTINATIONS")), key
    [(_, template)] = documents("secret.example.yaml")
    assert template["kind"] == "Secret"


def test_every_selector_matches_its_pod_template() -> None:
    for kind in ("StatefulSet", "Deployment"):
        for doc in by_kind(kind):
            labels = doc["spec"]["template"]["metadata"]["labels"]
            assert doc["spec"]["selector"]["matchLabels"].items() <= labels.items(), doc["metadata"]["name"]


def test_the_manifests_name_only_files_that_exist() -> None:
    assert (K8S / "secret.example.yaml").is_file()
    for name in kustomization()["resources"]:
        assert (K8S / name).is_file(), name


# deploy/compose.yaml: Docker is not available here, so the file is checked as YAML only (the services and
# what they run), never started.
COMPOSE = ROOT / "deploy" / "compose.yaml"


def compose_services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    return services


def test_the_compose_file_runs_kafka_in_kraft_mode() -> None:
    kafka = compose_services()["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "CONTROLLER" in kafka["environment"]["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert "healthcheck" in kafka


def test_the_compose_file_runs_a_worker_deliver_and_serve() -> None:
    services = compose_services()
    commands = {name: service.get("command") for name, service in services.items()}
    assert commands["topics"] == ["wayfinder", "topics", "create"]
    assert commands["worker"] == ["wayfinder", "worker"]
    assert commands["deliver"][:3] == ["wayfinder", "deliver", "--kafka"]
    assert "wayfinder serve" in commands["serve"][-1]
    for name in ("worker", "deliver", "topics"):
        assert services[name]["environment"]["WAYFINDER_BROKER"] == "kafka://kafka:9092", name
        assert "build" in services[name], name
    assert services["worker"]["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert services["worker"]["environment"]["WAYFINDER_DATA_DIR"] in {
        volume.split(":")[1] for volume in services["worker"]["volumes"]}
    assert services["deliver"]["environment"]["WAYFINDER_SMTP_URL"].startswith("smtp://mailpit:")


def known_settings() -> set[str]:
    fields = {*WorkerSettings.model_fields, *DeliverySettings.model_fields, *WebSettings.model_fields}
    return {f"WAYFINDER_{name.upper()}" for name in fields} | {f"WAYFINDER_INTAKE_{name.upper()}"
                                                                for name in IntakeSettings.model_fields}


def wayfinder_variables() -> dict[str, str]:
    """Every WAYFINDER_* variable the manifests and the compose file set, with where."""
    found: dict[str, str] = {}
    for name, doc in documents(*kustomization()["resources"], *TEMPLATES):
        for key in {**doc.get("data", {}), **doc.get("stringData", {})}:
            found[key] = name
        for c in doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            found.update({e["name"]: name for e in c.get("env", [])})
    for service in compose_services().values():
        found.update({key: "compose.yaml" for key in service.get("environment", {})})
    return {key: where for key, where in found.items() if key.startswith("WAYFINDER_")}


def test_every_setting_named_is_one_wayfinder_reads() -> None:
    variables = wayfinder_variables()
    unknown = {key: where for key, where in variables.items() if key not in known_settings() | NOT_READ_YET}
    assert not unknown, f"settings no Wayfinder process reads (typos?): {unknown}"
    assert {"WAYFINDER_BROKER", "WAYFINDER_PARTITIONS", "WAYFINDER_DATA_DIR", "WAYFINDER_TOKEN_SECRET"} <= set(
        variables)


def _pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for _, doc in applied():
        spec = doc.get("spec", {})
        if doc["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        if "template" in spec:
            yield doc["metadata"]["name"], spec["template"]["spec"]


def test_every_volume_and_setting_a_pod_takes_is_applied_too() -> None:
    """The HR import CronJob mounted two claims and a ConfigMap nothing created (its pods stayed Pending) and had a
    broker of its own instead of the settings ConfigMap (found by an audit of the README)."""
    claims = {doc["metadata"]["name"] for doc in by_kind("PersistentVolumeClaim")}
    claims |= {t["metadata"]["name"] for doc in by_kind("StatefulSet") for t in doc["spec"].get("volumeClaimTemplates",
                                                                                                      [])}
    config_maps = {doc["metadata"]["name"] for doc in by_kind("ConfigMap")}
    config_maps |= {g["name"] for g in kustomization().get("configMapGenerator", [])}
    generated = {item.split("=")[-1] for g in kustomization().get("configMapGenerator", []) for item in g["files"]}
    assert generated == GENERATED
    assert all((K8S / name).is_file() for name in generated)
    secrets = {doc["metadata"]["name"] for _, doc in documents(*TEMPLATES) if doc["kind"] == "Secret"}
    for name, pod in _pod_specs():
        for volume in pod.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims, (name, volume)
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps, (name, volume)
        for container in pod["containers"]:
            refs = container.get("envFrom", [])
            assert {"configMapRef": {"name": "wayfinder-settings"}} in refs, name  # one broker setting for all
            for ref in refs:
                if "configMapRef" in ref:
                    assert ref["configMapRef"]["name"] in config_maps, name
                if "secretRef" in ref:
                    assert ref["secretRef"]["name"] in secrets, name
            assert not [e for e in container.get("env", []) if e["name"] == "WAYFINDER_BROKER"], name


# The commands that load the definitions (journeys, catalog, templates, policy: ``streams.app.load_definitions``,
# bundled examples when WAYFINDER_DEFINITIONS is unset); deliver and the HR import do not.
LOADS_DEFINITIONS = {"worker", "serve"}


def test_every_process_that_loads_definitions_gets_the_organisations_not_the_bundled_examples() -> None:
    """No manifest set WAYFINDER_DEFINITIONS or mounted definitions: the workers and serve ran the bundled example
    journeys (found by an audit of issue 13). The shared ConfigMap names the folder; each pod that loads them
    mounts a volume there that an init container fills from the definitions image the kustomization pins."""
    path = one("ConfigMap", "wayfinder-settings")["data"].get("WAYFINDER_DEFINITIONS")
    assert path, "the shared ConfigMap sets no WAYFINDER_DEFINITIONS: the bundled examples would run"
    pinned = {image["name"]: image for image in kustomization()["images"]}
    loaders = []
    for name, pod in _pod_specs():
        for c in pod["containers"]:
            argv = c.get("args") or c.get("command") or []
            if argv[:1] != ["wayfinder"] or argv[1] not in LOADS_DEFINITIONS:
                continue
            loaders.append(argv[1])
            assert {"configMapRef": {"name": "wayfinder-settings"}} in c["envFrom"], name
            assert not [e for e in c.get("env", []) if e["name"] == "WAYFINDER_DEFINITIONS"], name  # the shared one
            [mount] = [m for m in c.get("volumeMounts", []) if m["mountPath"] == path]
            [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
            assert mount.get("readOnly") is True, name
            fillers = [(i, m["mountPath"]) for i in pod.get("initContainers", []) for m in i.get("volumeMounts", [])
                       if m["name"] == volume["name"]]
            assert fillers, f"{name}: nothing fills the definitions volume"
            for init, into in fillers:
                assert init["image"] in pinned and pinned[init["image"]].get("newTag"), (name, init["image"])
                assert init["command"][-1].rstrip("/") == into.rstrip("/"), name  # copied into the volume's root
    assert sorted(loaders) == sorted(LOADS_DEFINITIONS)


# deploy/k8s/intake: `wayfinder intake` as an optional kustomize Component (the HR webhooks; the daily import needs
# none of it), off unless the kustomization lists it (since 2026-12-05; before, deploy/ ran no intake, so its
# scrape rule and alerts found nothing to watch).
INTAKE = K8S / "intake"


def intake_component() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((INTAKE / "kustomization.yaml").read_text(encoding="utf-8"))
    return doc


def intake_documents() -> list[dict[str, Any]]:
    return [doc for name in intake_component()["resources"]
            for doc in yaml.safe_load_all((INTAKE / name).read_text(encoding="utf-8")) if doc is not None]


def test_the_intake_component_is_valid_for_the_pinned_kubernetes_and_off_by_default() -> None:
    component = intake_component()
    assert component["kind"] == "Component" and component["apiVersion"] == "kustomize.config.k8s.io/v1alpha1"
    assert {p.name for p in INTAKE.glob("*.yaml")} - {"kustomization.yaml"} == {
        *component["resources"], *(f.split("=")[-1] for g in component["configMapGenerator"] for f in g["files"])}
    docs = intake_documents()
    assert sorted(doc["kind"] for doc in docs) == ["Deployment", "Service"]
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    assert "components" not in kustomization()  # opt-in: without the webhook secret the intake would not start
    assert "components:" in (K8S / "kustomization.yaml").read_text(encoding="utf-8")  # ... and shown how


def test_the_intake_runs_with_the_mapping_the_component_generates_and_the_shared_settings() -> None:
    [deployment] = [doc for doc in intake_documents() if doc["kind"] == "Deployment"]
    [service] = [doc for doc in intake_documents() if doc["kind"] == "Service"]
    c = container(deployment)
    pod = deployment["spec"]["template"]
    args = c["args"]
    assert args[:2] == ["wayfinder", "intake"]
    system, _, path = args[args.index("--mapping") + 1].partition("=")
    assert system == "bamboohr"
    [generator] = intake_component()["configMapGenerator"]
    [volume] = [v for v in pod["spec"]["volumes"] if v.get("configMap", {}).get("name") == generator["name"]]
    [mount] = [m for m in c["volumeMounts"] if m["name"] == volume["name"]]
    key, _, file = generator["files"][0].partition("=")
    assert path == f"{mount['mountPath']}/{key}"
    assert load_mapping(INTAKE / file).source == "hris/bamboohr"
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]},
                  "data": {key: (INTAKE / file).read_text(encoding="utf-8")}}
    kubernetes_validate.validate(config_map, KUBERNETES_VERSION, strict=True)
    # the broker and prefix from the shared ConfigMap, the webhook key from the Secret the template shows
    assert {"configMapRef": {"name": "wayfinder-settings"}} in c["envFrom"]
    assert {"secretRef": {"name": "wayfinder-secrets"}} in c["envFrom"]
    [(_, secret)] = documents("secret.example.yaml")
    assert f"WAYFINDER_INTAKE_{system.upper()}_SECRET" in secret["stringData"]
    assert not [e for e in c.get("env", []) if e["name"] == "WAYFINDER_BROKER"]
    # probes and the scrape annotations on the port it serves
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports["http"] == int(args[args.index("--port") + 1])
    assert {probe: c[probe]["httpGet"]["path"] for probe in ("startupProbe", "livenessProbe", "readinessProbe")} == {
        "startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(ports["http"]) and annotations["prometheus.io/path"] == "/metrics"
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "wayfinder-intake"  # the scrape job's job label
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert {"cpu", "memory"} <= set(c["resources"]["requests"]) and "memory" in c["resources"]["limits"]
