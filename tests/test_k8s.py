"""Issue 16: the generated deployment files validate offline.

Each Kustomize overlay is rendered by the real ``kubectl kustomize`` and the result is
validated by ``kubernetes-validate`` (strict: unknown fields fail) against a pinned
Kubernetes version; ``compose.yaml`` against the compose-spec schema check-jsonschema
ships. The image a deploy job sets (``kustomize edit set image``) lands in the rendered
Deployment as a digest.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from conftest import BIN, run

# The Kubernetes version the manifests are checked against: the oldest still
# supported by the major clouds when these files were written.
KUBERNETES = "1.32.0"
OVERLAYS = ("staging", "production")
DIGEST = "sha256:" + "ab" * 32


def kubectl() -> Path:
    found = shutil.which("kubectl")
    if not found:
        pytest.fail("kubectl not found: install kubectl (1.32+, it includes Kustomize)")
    return Path(found)


def render(repo: Path, overlay: str) -> list[dict[str, Any]]:
    done = run([kubectl(), "kustomize", f"k8s/overlays/{overlay}"], cwd=repo)
    (repo / f"{overlay}.rendered.yaml").write_text(done.stdout, encoding="utf-8")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def validate(path: Path, check: bool = True) -> str:
    done = run(
        [BIN / "kubernetes-validate", "--strict", "--quiet", "-k", KUBERNETES, path],
        cwd=path.parent,
        check=check,
    )
    return done.stdout + done.stderr


def by_kind(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in docs}


@pytest.mark.parametrize("name", ["demo", "sensor-model"])
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_renders_and_validates_against_kubernetes(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], overlay: str, name: str
) -> None:
    repo = copy_repo(generate(name=name))
    docs = by_kind(render(repo, overlay))
    assert set(docs) == {
        "ConfigMap",
        "Service",
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    }
    validate(repo / f"{overlay}.rendered.yaml")
    namespace = f"{name}-{overlay}"
    assert {doc["metadata"]["namespace"] for doc in docs.values()} == {namespace}
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    # The generated ConfigMap (its name carries a hash) is the one the pods read.
    settings = docs["ConfigMap"]
    assert container["envFrom"][0]["configMapRef"]["name"] == settings["metadata"]["name"]
    assert all(key.startswith("SERVE_") for key in settings["data"])
    # Selectors, Service and budget all find the pods.
    labels = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert docs["Deployment"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert docs["Service"]["spec"]["selector"].items() <= labels.items()
    assert docs["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    hpa = docs["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == docs["Deployment"]["metadata"]["name"]
    assert hpa["minReplicas"] <= hpa["maxReplicas"]
    if overlay == "production":
        assert settings["data"]["SERVE_WORKERS"] == "2" and hpa["minReplicas"] >= 3


def test_the_digest_a_deploy_job_sets_is_what_the_deployment_runs(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path]
) -> None:
    repo = copy_repo(generate())
    gitlab = (repo / ".gitlab-ci.yml").read_text(encoding="utf-8")
    assert 'kustomize edit set image "demo=$CI_REGISTRY_IMAGE@$IMAGE_DIGEST"' in gitlab
    assert "kubectl apply -k ." in gitlab
    # What `kustomize edit set image demo=<image>@<digest>` writes into the overlay.
    kustomization = repo / "k8s/overlays/production/kustomization.yaml"
    data = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
    data["images"] = [
        {"name": "demo", "newName": "registry.example.com/team/demo", "digest": DIGEST}
    ]
    kustomization.write_text(yaml.safe_dump(data), encoding="utf-8")
    docs = by_kind(render(repo, "production"))
    [container] = docs["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"registry.example.com/team/demo@{DIGEST}"
    validate(repo / "production.rendered.yaml")


def test_kubernetes_validate_rejects_a_broken_manifest(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path]
) -> None:
    repo = copy_repo(generate())
    render(repo, "staging")
    rendered = repo / "staging.rendered.yaml"
    text = rendered.read_text(encoding="utf-8")
    rendered.write_text(text.replace("readOnlyRootFilesystem", "readOnlyRootFilesytem"))
    out = validate(rendered, check=False)
    assert "readOnlyRootFilesytem" in out and "ERROR" in out


def test_compose_file_passes_the_compose_spec(generate: Callable[..., Path]) -> None:
    repo = generate()
    done = run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", "compose.yaml"],
        cwd=repo,
    )
    assert "ok -- validation done" in done.stdout
    compose = yaml.safe_load((repo / "compose.yaml").read_text(encoding="utf-8"))
    model, mlflow = compose["services"]["model"], compose["services"]["mlflow"]
    assert model["ports"] == ["127.0.0.1:8000:8000"] and mlflow["ports"] == ["127.0.0.1:5000:5000"]
    assert model["read_only"] is True and model["user"] == "10001:10001"
    assert model["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"


def test_a_broken_compose_file_fails_its_schema(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path]
) -> None:
    repo = copy_repo(generate())
    path = repo / "compose.yaml"
    path.write_text(path.read_text().replace("stop_grace_period:", "stop_grace_periode:"))
    done = run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", "compose.yaml"],
        cwd=repo,
        check=False,
    )
    assert done.returncode == 1 and "stop_grace_periode" in done.stdout


def test_validate_flags_a_probe_path_and_port_that_disagree_with_the_service(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path]
) -> None:
    from pyscaffoldext.dsproject_ops.validate.runner import validate as dsops_validate

    repo = copy_repo(generate())
    assert not dsops_validate(repo).findings
    deployment = repo / "k8s/base/deployment.yaml"
    text = deployment.read_text(encoding="utf-8")
    text = text.replace("path: /ready", "path: /readyz").replace("port: http", "port: 9000")
    deployment.write_text(text, encoding="utf-8")
    found = {(f.code, f.line) for f in dsops_validate(repo).findings}
    lines = text.splitlines()
    paths = {i for i, line in enumerate(lines, 1) if "path: /readyz" in line}
    ports = {i for i, line in enumerate(lines, 1) if "port: 9000" in line}
    assert found == {("K8S002", n) for n in paths} | {("K8S001", n) for n in ports}
