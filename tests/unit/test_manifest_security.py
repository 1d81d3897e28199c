"""Every pod the Kubernetes manifests in deploy/k8s run has the same security settings (the schema checks of these
manifests, tests/real/test_manifests.py, need the schemas package and run with the real tier; this needs YAML
only)."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any, get_args

import yaml

from tests.support import ROOT
from wayfinder.cli.delivery import LEDGER_FILE
from wayfinder.connectors.settings import DeliverySettings
from wayfinder.streams.settings import WorkerSettings
from wayfinder.web.settings import WebSettings

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


# Where each Wayfinder process writes (README "Running it in production", read-only root filesystem): the settings
# naming what it writes, with their defaults when unset (a relative one is the working directory, on the read-only
# root), ...
WRITTEN_SETTINGS: dict[str, dict[str, str]] = {
    "worker": {"WAYFINDER_DATA_DIR": str(WorkerSettings.model_fields["data_dir"].default)},
    "deliver": {"WAYFINDER_LEDGER_PATH": LEDGER_FILE},
}
# ... the settings naming files it only reads, ...
READ_SETTINGS = {"WAYFINDER_DEFINITIONS", "WAYFINDER_SMTP_CA_FILE", "WAYFINDER_WEBHOOK_CA_FILE"}
# ... the flags naming a file or folder it writes, ...
WRITING_FLAGS = {"--out", "--dead-letters", "--baseline-out", "--work-dir", "--ledger", "--receipts",
                 "--metrics-file", "--control"}
# ... and the commands that write temporary files (SQLite's sort files, Python's tempfile): into TMPDIR, else /tmp.
TEMP_FILES = {"import"}
SEPARATORS = {"&&", "||", ";", "|", "(", ")", "&"}


def _commands(container: dict[str, Any]) -> Iterator[list[str]]:
    """Each command the container runs, as words: its argv, or each command of its ``sh -c`` script (quotes removed,
    variables left as written)."""
    argv = [*container.get("command", []), *container.get("args", [])]
    if argv[0] not in ("sh", "/bin/sh") or argv[1] != "-c":
        yield argv
        return
    script = argv[2].replace("\\\n", " ")
    for line in script.splitlines():
        words = shlex.shlex(line, posix=True, punctuation_chars=True)
        words.whitespace_split = True
        command: list[str] = []
        for word in [*words, ";"]:
            if word in SEPARATORS:
                if command:
                    yield command
                command = []
            elif command or ("=" not in word and word != "exec"):  # nor is a variable's assignment
                command.append(word)


def _written(container: dict[str, Any], settings: dict[str, str]) -> Iterator[tuple[str, str]]:
    """What the container's processes write: (what says so, the path)."""
    for argv in _commands(container):
        if argv[0] in ("cp", "mv"):
            yield " ".join(argv), argv[-1]
        for i, word in enumerate(argv):
            if word in (">", ">>"):
                yield " ".join(argv), argv[i + 1]
            flag, _, value = word.partition("=")
            if argv[0] == "wayfinder" and flag in WRITING_FLAGS:
                yield f"{argv[1]} {flag}", value or argv[i + 1]
        if argv[0] != "wayfinder":
            continue
        for name, default in WRITTEN_SETTINGS.get(argv[1], {}).items():
            yield f"{argv[1]} {name}", settings.get(name, default)
        if argv[1] in TEMP_FILES:
            yield f"{argv[1]} TMPDIR", settings.get("TMPDIR", "/tmp")


def _environment(container: dict[str, Any]) -> dict[str, str]:
    """The container's variables with a value in the manifests: its ConfigMaps' and its own."""
    config_maps = {doc["metadata"]["name"]: doc.get("data", {}) for doc in _applied() if doc["kind"] == "ConfigMap"}
    found: dict[str, str] = {}
    for ref in container.get("envFrom", []):
        found |= config_maps.get(ref.get("configMapRef", {}).get("name"), {})
    return found | {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def _writes_outside(pod: dict[str, Any], container: dict[str, Any]) -> list[tuple[str, str]]:
    """What the container writes outside its writable volumes (a relative path is outside all of them)."""
    volumes = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v or "persistentVolumeClaim" in v}
    volumes |= {m["name"] for m in container.get("volumeMounts", [])} - {v["name"] for v in pod.get("volumes", [])}
    writable = [m["mountPath"] for m in container.get("volumeMounts", [])
                if m["name"] in volumes and not m.get("readOnly")]
    return _outside(_written(container, _environment(container)), writable)


def _outside(written: Iterable[tuple[str, str]], writable: list[str]) -> list[tuple[str, str]]:
    """The writes not under one of the ``writable`` folders (a relative path is under none)."""
    folders = [PurePosixPath(path) for path in writable]
    return [(why, path) for why, path in written
            if not any(PurePosixPath(path) == at or at in PurePosixPath(path).parents for at in folders)]


def _containers() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Each workload's name, its pod spec and one of its containers, init containers too."""
    for name, pod, _ in _pods():
        for c in [*pod.get("initContainers", []), *pod["containers"]]:
            yield name, pod, c


def test_every_container_has_a_read_only_root_filesystem() -> None:
    """No container set readOnlyRootFilesystem: a process (or someone in it) could write anywhere in the image."""
    for name, _, c in _containers():
        assert c.get("securityContext", {}).get("readOnlyRootFilesystem") is True, (name, c["name"])


def test_every_path_a_process_writes_is_on_a_writable_volume() -> None:
    """With a read-only root, each file a process writes must be on a volume mounted writable: the data folder, the
    ledger, the definitions an init container copies, the HR import's state and work folders, and its TMPDIR, where
    SQLite puts its sort files (the import failed on 1,000,000-row exports without one: "disk I/O error")."""
    silent = set()
    for name, pod, c in _containers():
        assert not _writes_outside(pod, c), (name, c["name"])
        if not any(_written(c, _environment(c))):
            silent.add((name, c["name"]))
    assert silent == {("wayfinder-serve", "serve")}  # with --kafka its store is in memory


def test_the_check_sees_a_write_outside_the_volumes() -> None:
    """The check above finds each kind of write: a setting left to its relative default, a flag, TMPDIR, a copy."""
    pods = {name: pod for name, pod, _ in _pods()}
    worker = pods["wayfinder-worker"]["containers"][0]
    unset = {**worker, "env": [e for e in worker["env"] if e["name"] != "WAYFINDER_DATA_DIR"]}
    assert _writes_outside(pods["wayfinder-worker"], unset) == [("worker WAYFINDER_DATA_DIR", "wayfinder-data")]
    deliver = pods["wayfinder-deliver"]["containers"][0]
    unset = {**deliver, "env": [e for e in deliver["env"] if e["name"] != "WAYFINDER_LEDGER_PATH"]}
    assert _writes_outside(pods["wayfinder-deliver"], unset) == [("deliver WAYFINDER_LEDGER_PATH", LEDGER_FILE)]
    job = pods["wayfinder-hris-import"]
    [importer] = job["containers"]
    no_scratch = {**importer, "volumeMounts": [m for m in importer["volumeMounts"] if m["mountPath"] != "/scratch"]}
    assert sorted(_writes_outside(job, no_scratch)) == [("import --work-dir", "/scratch"),
                                                        ("import TMPDIR", "/scratch")]
    no_tmpdir = {**importer, "env": []}
    assert _writes_outside(job, no_tmpdir) == [("import TMPDIR", "/tmp")]
    state_read_only = {**importer, "volumeMounts": [{**m, "readOnly": True} if m["mountPath"] == "/state" else m
                                                    for m in importer["volumeMounts"]]}
    assert {why.split()[0] for why, _ in _writes_outside(job, state_read_only)} >= {"import", "mv", "echo"}
    assert ("import --baseline-out", "/state/last.csv.new") in _writes_outside(job, state_read_only)
    [init] = pods["wayfinder-serve"]["initContainers"]
    assert _writes_outside(pods["wayfinder-serve"], {**init, "volumeMounts": []}) == [
        (" ".join(init["command"]), "/mnt/definitions/")]


def test_the_hr_import_keeps_the_baseline_the_import_wrote_not_a_copy_of_the_export() -> None:
    """The CronJob copied the day's export as the next baseline: after a day with refused rows (exit 65) the next
    day compared the fixed rows with the refused ones, and a termination such a row hid was never announced. The
    baseline it keeps is the one the import writes (README "The daily job"), the one the next run reads."""
    pods = {name: pod for name, pod, _ in _pods()}
    [importer] = pods["wayfinder-hris-import"]["containers"]
    commands = list(_commands(importer))
    [run] = [argv for argv in commands if argv[:3] == ["wayfinder", "import", "snapshot"]]
    written = run[run.index("--baseline-out") + 1]
    assert [argv for argv in commands if argv[0] in ("cp", "mv")] == [["mv", written, "/state/last.csv"]]
    assert "--previous /state/last.csv " in importer["args"][0]


def test_every_path_setting_is_known_to_be_read_or_written() -> None:
    """A new setting naming a file must say here whether a process writes it (then the check above covers it)."""
    named = {f"WAYFINDER_{name.upper()}" for model in (WorkerSettings, DeliverySettings, WebSettings)
             for name, field in model.model_fields.items()
             if field.annotation is Path or Path in get_args(field.annotation)}
    written = {name for names in WRITTEN_SETTINGS.values() for name in names}
    assert named == READ_SETTINGS | written


COMPOSE = ROOT / "deploy" / "compose.yaml"


def test_the_compose_file_runs_wayfinder_on_a_read_only_root_too() -> None:
    """deploy/compose.yaml runs the same processes as the pods, on a read-only root like theirs (``read_only``), so
    a write outside the volumes fails on a laptop first; its named volumes are where they write."""
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    ours = {name: s for name, s in services.items() if s.get("image") == "wayfinder:dev"}
    assert set(ours) == {"topics", "worker", "deliver", "serve"}
    for name, service in ours.items():
        assert service.get("read_only") is True, name
        command = service["command"]
        container = {"command": command if isinstance(command, list) else shlex.split(command)}
        writable = [v.split(":")[1] for v in service.get("volumes", [])] + list(service.get("tmpfs", []))
        settings = {key: str(value) for key, value in service.get("environment", {}).items()}
        assert not _outside(_written(container, settings), writable), name
    assert {name for name, s in ours.items() if any(_written({"command": s["command"]}, {}))} == {"worker", "deliver"}
