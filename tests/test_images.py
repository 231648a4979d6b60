"""One sourced table of the platform's images (components/data/images.yaml): every image the prod plan deploys comes
from it, pinned by digest where the table knows one, and the table refuses what it cannot stand behind."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from components import images
from preflight.plan import Plan

POD_SPECS = {
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
}
RCLONE_DIGEST = "sha256:b06aed988cf5967de7c25be5925240983981c757f4ed1ac9d2fa659d51d60548"  # the table's source


def _dig(value: Any, *path: str) -> Any:
    for key in path:
        value = value.get(key, {}) if isinstance(value, Mapping) else {}
    return value


def workload_images(plan: Plan) -> Iterator[tuple[str, str]]:
    for resource in plan.resources:
        if resource.type in POD_SPECS:
            pod = _dig(resource.inputs, *POD_SPECS[resource.type])
            for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
                yield resource.name, container["image"]
        elif resource.type == "kubernetes:monitoring.coreos.com/v1:Prometheus":
            yield resource.name, _dig(resource.inputs, "spec", "image")


def test_every_workload_image_in_the_prod_plan_comes_from_the_table(prod_plan: Plan) -> None:
    known = {image.ref for image in images.table().images.values()}
    found = dict(workload_images(prod_plan))
    assert found, "the prod plan deploys workloads"
    assert {name: ref for name, ref in found.items() if ref not in known} == {}
    # What the stack runs itself, by the refs a reader of the table expects.
    refs = set(found.values())
    assert f"rclone/rclone:1.75.0@{RCLONE_DIGEST}" in refs
    assert "nvcr.io/nvidia/tritonserver:26.05-py3" in refs  # no citable digest: by tag, and the policy says so
    assert "quay.io/prometheus/prometheus:v3.14.0-distroless" in refs  # the central Prometheus, not the operator's


def test_every_chart_release_in_the_prod_plan_has_its_images_listed(prod_plan: Plan) -> None:
    releases = {(r.inputs["chart"], r.inputs["version"]) for r in prod_plan.of_type("kubernetes:helm.sh/v3:Release")}
    assert releases
    listed = {(c.chart, c.version) for c in images.table().charts}
    assert releases - listed == set(), "a chart was added or bumped: list its images at that version"
    # Every image a chart's values set explicitly is the table's.
    for resource in prod_plan.of_type("kubernetes:helm.sh/v3:Release"):
        chart_refs = {
            image.repository for image in images.chart_images(resource.inputs["chart"], resource.inputs["version"])
        }
        for value in _image_strings(resource.inputs.get("values", {})):
            assert value.split(":")[0] in chart_refs, (resource.name, value)


def _image_strings(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key == "image" and isinstance(inner, str):
                yield inner
            else:
                yield from _image_strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _image_strings(inner)


def test_every_entry_is_sourced_and_dated() -> None:
    for image in images.table().images.values():
        assert image.source and image.read == "2026-12", image.key
        assert image.digest is None or image.digest.startswith("sha256:"), image.key


def test_a_ref_carries_the_digest_when_one_is_known() -> None:
    assert images.image("rclone").ref == f"rclone/rclone:1.75.0@{RCLONE_DIGEST}"
    assert images.image("triton").ref == "nvcr.io/nvidia/tritonserver:26.05-py3"
    assert images.image("rclone").registry == "docker.io" and images.image("rclone").path == "rclone/rclone"
    assert images.image("triton").registry == "nvcr.io" and images.image("triton").path == "nvidia/tritonserver"


def test_a_mirrored_upstream_is_pulled_through_its_prefix_and_others_stay_direct() -> None:
    mirrors = {"docker.io": "111122223333.dkr.ecr.us-east-1.amazonaws.com/mlplatform-docker-hub"}
    rclone = images.image("rclone").ref_via(mirrors)
    assert (
        rclone
        == f"111122223333.dkr.ecr.us-east-1.amazonaws.com/mlplatform-docker-hub/rclone/rclone:1.75.0@{RCLONE_DIGEST}"
    )
    assert images.image("triton").ref_via(mirrors) == "nvcr.io/nvidia/tritonserver:26.05-py3"


def test_chart_values_rewrite_each_chart_the_way_it_spells_its_images() -> None:
    mirrors = {"quay.io": "M/quay", "docker.io": "M/hub", "registry.k8s.io": "M/k8s"}
    kps = images.chart_values("kube-prometheus-stack", "88.5.3", mirrors)
    assert kps["prometheus"]["prometheusSpec"]["image"] == {"registry": "M/quay", "repository": "prometheus/prometheus"}
    assert kps["kube-state-metrics"]["image"] == {
        "registry": "M/k8s",
        "repository": "kube-state-metrics/kube-state-metrics",
    }
    assert kps["grafana"]["image"] == {"registry": "M/hub", "repository": "grafana/grafana"}
    assert "admissionWebhooks" not in kps["prometheusOperator"]  # ghcr.io has no mirror here: the certgen job is direct
    cert_manager = images.chart_values("cert-manager", "v1.21.1", mirrors)
    assert cert_manager["image"] == {"repository": "M/quay/jetstack/cert-manager-controller"}
    istiod = images.chart_values("istiod", "1.31.1", mirrors)
    assert istiod == {"global": {"hub": "M/hub/istio"}}
    assert images.chart_values("nvidia-device-plugin", "0.20.0", mirrors) == {}  # nvcr.io: direct
    assert images.chart_values("kube-prometheus-stack", "88.5.3", {}) == {}  # no digests known, no mirrors


TABLE = """
images:
  a:
    repository: quay.io/org/a
    tag: v1
    digest: sha256:{digest}
    source: somewhere
    read: "2026-12"
    values: {{registry: image.registry, repository: image.repository, digest: image.sha, digestForm: hex}}
  b:
    repository: quay.io/org/b
    tag: v2
    digest: null
    source: somewhere
    read: "2026-12"
    values: {{repository: b.image.repository}}
charts:
  - {{chart: c, version: 1.0.0, images: [a, b]}}
"""


def test_a_known_digest_reaches_the_chart_in_the_form_it_takes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "images.yaml"
    path.write_text(TABLE.format(digest="ab" * 32))
    monkeypatch.setattr(images, "table", lambda: images.load(path))
    assert images.chart_values("c", "1.0.0", {}) == {"image": {"sha": "ab" * 32}}
    assert images.image("a").ref == f"quay.io/org/a:v1@sha256:{'ab' * 32}"


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda t: t.replace("sha256:{digest}", "sha256:abc"), "expected sha256:<64 hex>"),
        (lambda t: t.replace('read: "2026-12"', 'read: "Dec 2026"', 1), "expected YYYY-MM"),
        (lambda t: t.replace("images: [a, b]", "images: [a, z]"), "images not in the table: ['z']"),
        (lambda t: t.replace(", digest: image.sha, digestForm: hex", ""), "needs the chart's digest values key"),
        (lambda t: t.replace("digestForm: hex", "digestForm: base64"), "digestForm is sha256 or hex"),
        (lambda t: t.replace("    source: somewhere\n", "", 1), "needs repository, tag, digest, source, read"),
    ],
)
def test_the_table_refuses_what_it_cannot_stand_behind(tmp_path: Path, edit: Any, problem: str) -> None:
    path = tmp_path / "images.yaml"
    path.write_text(edit(TABLE).format(digest="ab" * 32))
    with pytest.raises(ValueError, match=problem.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        images.load(path)


def test_an_unlisted_chart_version_is_refused() -> None:
    with pytest.raises(ValueError, match=r"no entry for chart keda 9\.9\.9"):
        images.chart_images("keda", "9.9.9")
