"""Kyverno, the admission policy engine in every cluster, and the platform's two ClusterPolicies.

Chart `kyverno` 3.9.0 (app v1.19.0, released 2026-08-20; kyverno/kyverno tag kyverno-chart-3.9.0, values and CRDs
read there 2026-12) from https://kyverno.github.io/kyverno. Kyverno 1.19 supports Kubernetes 1.33 to 1.35
(kyverno.io/docs/installation, compatibility matrix, as endoflife.date/kyverno lists it, read 2026-12): the clusters'
default minor is 1.35, and a newer minor needs a newer Kyverno (tests/test_cluster_baseline.py checks the pair).

Policies, each rule's `validate.failureAction` Enforce in prod and Audit in dev (the per-rule field; the policy-wide
`validationFailureAction` is deprecated in the CRD at that tag):
- `mlplatform-image-sources`: every container, init container and ephemeral container of a pod in the program's
  namespaces pulls from the platform's registries or the upstream registries the program's charts use, or names its
  image by digest (`...@sha256:...`). Kyverno's pattern alternation (`a | b`) and wildcards (kyverno.io, "Validate
  Rules", patterns, read 2026-12). It checks Pods only, not their controllers' templates (auto-generation off with
  the `pod-policies.kyverno.io/autogen-controllers: none` annotation): Istio's gateway chart writes `image: auto` in
  its Deployment and the injection webhook fills the real image in when the Pod is created, and mutating webhooks
  run before validating ones, so the Pod is what shows the image that will run.
- `mlplatform-pod-security`: Kyverno's built-in Pod Security rule (`validate.podSecurity`, level and version) per
  namespace at the level its Pod Security Admission label enforces (components/pod_security.py), so a namespace
  relabelled by hand is still held to its level, and policy reports list what falls short. Its rules are
  auto-generated for the pod controllers too, so a Deployment whose template falls short is refused itself.
Only the namespaces the program makes are matched: the clouds' own system namespaces are theirs to run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import pod_security
from components.cluster_baseline.contract import KYVERNO_NAMESPACE, ClusterBaselineArgs
from components.scheduling import LABEL_ROLE

CHART = "kyverno"
VERSION = "3.9.0"
APP_VERSION = "v1.19.0"
REPO = "https://kyverno.github.io/kyverno"
SUPPORTED_MINORS = ("1.33", "1.34", "1.35")
API_VERSION = "kyverno.io/v1"
IMAGE_POLICY = "mlplatform-image-sources"
POD_SECURITY_POLICY = "mlplatform-pod-security"
DIGEST_PATTERN = "*@sha256:*"
POD_KINDS = ["Pod"]
AUTOGEN = "pod-policies.kyverno.io/autogen-controllers"
TIMEOUT_SECONDS = 600
CRITICAL_ADDONS = {"key": "CriticalAddonsOnly", "operator": "Exists"}


def failure_action(enforce: bool) -> str:
    return "Enforce" if enforce else "Audit"


def chart_values(replicas: int) -> dict[str, Any]:
    """Every controller on the system nodes (the chart's global nodeSelector and tolerations are each controller's
    default); the admission controller's replicas (the chart leaves it at 1)."""
    return {
        "global": {
            "nodeSelector": {"kubernetes.io/os": "linux", LABEL_ROLE: "system"},
            "tolerations": [dict(CRITICAL_ADDONS)],
        },
        "admissionController": {"replicas": replicas},
    }


def image_pattern(prefixes: Sequence[str]) -> str:
    """`<prefix>/* | ... | *@sha256:*`: an allowed registry by tag, or anything by digest."""
    allowed = [f"{prefix.rstrip('/')}/*" for prefix in prefixes]
    return " | ".join([*allowed, DIGEST_PATTERN])


def _match(namespaces: Sequence[str]) -> dict[str, Any]:
    return {"any": [{"resources": {"kinds": list(POD_KINDS), "namespaces": sorted(namespaces)}}]}


def image_policy_spec(pattern: pulumi.Input[str], namespaces: Sequence[str], enforce: bool) -> dict[str, Any]:
    containers = [{"image": pattern}]
    return {
        "background": True,
        "rules": [
            {
                "name": "images-from-platform-registries-or-by-digest",
                "match": _match(namespaces),
                "validate": {
                    "failureAction": failure_action(enforce),
                    "message": "Images come from the platform's registries, or are pinned by digest.",
                    "pattern": {
                        "spec": {
                            "containers": containers,
                            "=(initContainers)": containers,
                            "=(ephemeralContainers)": containers,
                        }
                    },
                },
            }
        ],
    }


def pod_security_spec(levels: Mapping[str, pod_security.Level], enforce: bool) -> dict[str, Any]:
    """One rule per level that constrains anything (privileged does not), over the namespaces enforcing it."""
    rules = []
    for level in ("baseline", "restricted"):
        namespaces = [namespace for namespace, found in levels.items() if found == level]
        if not namespaces:
            continue
        rules.append(
            {
                "name": f"pod-security-{level}",
                "match": _match(namespaces),
                "validate": {
                    "failureAction": failure_action(enforce),
                    "podSecurity": {"level": level, "version": pod_security.VERSION},
                },
            }
        )
    return {"background": True, "rules": rules}


def install(name: str, args: ClusterBaselineArgs, opts: pulumi.ResourceOptions) -> k8s.core.v1.Namespace:
    """Kyverno's namespace, its release, then the policies (they need its CRDs); returns the namespace."""
    namespace = pod_security.namespace(
        f"{name}-namespace-{KYVERNO_NAMESPACE}", KYVERNO_NAMESPACE, pod_security.BASELINE, opts
    )
    release = k8s.helm.v3.Release(
        f"{name}-kyverno",
        name=CHART,
        chart=CHART,
        version=VERSION,
        repository_opts={"repo": REPO},
        namespace=KYVERNO_NAMESPACE,
        create_namespace=False,
        values=chart_values(args.kyverno_replicas),
        timeout=TIMEOUT_SECONDS,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[namespace])),
    )
    after = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[release]))
    levels = {**args.namespaces, **args.self_fenced, KYVERNO_NAMESPACE: pod_security.BASELINE}
    pattern = pulumi.Output.all(*args.image_prefixes).apply(lambda prefixes: image_pattern([str(p) for p in prefixes]))
    k8s.apiextensions.CustomResource(
        f"{name}-image-policy",
        api_version=API_VERSION,
        kind="ClusterPolicy",
        metadata={"name": IMAGE_POLICY, "annotations": {AUTOGEN: "none"}},
        spec=image_policy_spec(pattern, list(levels), args.enforce),
        opts=after,
    )
    k8s.apiextensions.CustomResource(
        f"{name}-pod-security-policy",
        api_version=API_VERSION,
        kind="ClusterPolicy",
        metadata={"name": POD_SECURITY_POLICY},
        spec=pod_security_spec(levels, args.enforce),
        opts=after,
    )
    return namespace
