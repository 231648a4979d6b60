"""Images in a prod stack pinned by digest (advisory).

A tag is a name that whoever controls the upstream repository can point at other content; a digest names the
content itself. Advisory, not mandatory: some upstreams publish no digest the program could cite (NGC's Triton), so
a prod stack may have to run an image by tag, and the preview says which ones.

What the plan shows is checked: the containers and init containers of every Kubernetes workload (Deployment,
StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod), the `image` of a Prometheus or Alertmanager object, and any
`image` string in a Helm release's values. The images a chart runs by its own defaults are not in the plan; the
platform's image table (components/data/images.yaml) lists them and a test keeps it in step.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, StackValidationArgs, StackValidationPolicy

from rules.environments import protected_environments_schema, protected_in_stack
from rules.props import field, items, mapping

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")

POD_SPECS: dict[str, tuple[str, ...]] = {
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
}
OPERATED = ("kubernetes:monitoring.coreos.com/v1:Prometheus", "kubernetes:monitoring.coreos.com/v1:Alertmanager")
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def _values_images(value: Any) -> Iterator[str]:
    """Every string under a key named `image` in a Helm release's values (nested at any depth)."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key == "image" and isinstance(inner, str):
                yield inner
            else:
                yield from _values_images(inner)
    else:
        for inner in items(value):
            yield from _values_images(inner)


def images(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """The image references a resource's inputs name."""
    if resource_type in POD_SPECS:
        pod = mapping(field(props, *POD_SPECS[resource_type]))
        containers = items(pod.get("initContainers")) + items(pod.get("containers"))
        return [str(c["image"]) for c in containers if isinstance(mapping(c).get("image"), str)]
    if resource_type in OPERATED:
        image = field(props, "spec", "image")
        return [image] if isinstance(image, str) else []
    if resource_type == HELM_RELEASE:
        return list(_values_images(props.get("values")))
    return []


def _check(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    prod = protected_in_stack(args)
    if not prod:
        return
    for resource in args.resources:
        for ref in images(resource.resource_type, resource.props):
            if not DIGEST.search(ref):
                report_violation(
                    f"{resource.name} ({prod[0]}): image {ref} is pinned by tag only; pin it by digest "
                    "(components/data/images.yaml says how) so the upstream cannot change what runs.",
                    resource.urn,
                )


prod_images_pinned_by_digest = StackValidationPolicy(
    name="prod-images-pinned-by-digest",
    description="Every container image a prod stack deploys is pinned by digest, not only by tag.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_check,
    config_schema=protected_environments_schema("images must be pinned by digest"),
)

POLICIES = [prod_images_pinned_by_digest]
