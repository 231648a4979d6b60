"""Every pod spec the program writes meets the Pod Security level its namespace enforces, in the prod plan.

The rules are the Pod Security Standards' (kubernetes.io/docs/concepts/security/pod-security-standards, read
2026-12), written out here from the page's tables rather than taken from the code under test: baseline's controls,
then restricted's on top. Helm charts' pods are the charts' own and are not recorded in the plan.
"""

from __future__ import annotations

from typing import Any

import pytest

from components.pod_security import enforced_level
from preflight.plan import Plan, PlannedResource
from tests.helpers import nonempty

NAMESPACE = "kubernetes:core/v1:Namespace"
# Where each recorded workload kind keeps its pod template.
POD_PATHS = {
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
}
# Baseline: capabilities that may be added; sysctls that may be set (the standard's "Sysctls" row, up to v1.32).
BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}  # fmt: skip
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}  # fmt: skip
# Restricted: the only volume types allowed.
RESTRICTED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
}  # fmt: skip
VOLUME_META = {"name"}


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod.get("containers", []), *pod.get("ephemeralContainers", [])]


def baseline_problems(pod: dict[str, Any]) -> list[str]:
    found = [f"{key} is set" for key in ("hostNetwork", "hostPID", "hostIPC") if pod.get(key)]
    pod_context = pod.get("securityContext") or {}
    for sysctl in pod_context.get("sysctls", []):
        if sysctl["name"] not in SAFE_SYSCTLS:
            found.append(f"sysctl {sysctl['name']}")
    if (pod_context.get("seccompProfile") or {}).get("type") == "Unconfined":
        found.append("pod seccomp Unconfined")
    for volume in pod.get("volumes", []):
        if "hostPath" in volume:
            found.append(f"hostPath volume {volume['name']}")
    for container in containers(pod):
        name, context = container["name"], container.get("securityContext") or {}
        if context.get("privileged"):
            found.append(f"{name}: privileged")
        added = set((context.get("capabilities") or {}).get("add", [])) - BASELINE_CAPABILITIES
        if added:
            found.append(f"{name}: adds {sorted(added)}")
        if any(port.get("hostPort") for port in container.get("ports", [])):
            found.append(f"{name}: hostPort")
        if (context.get("seccompProfile") or {}).get("type") == "Unconfined":
            found.append(f"{name}: seccomp Unconfined")
        if context.get("procMount", "Default") != "Default":
            found.append(f"{name}: procMount")
    return found


def restricted_problems(pod: dict[str, Any]) -> list[str]:
    found = baseline_problems(pod)
    pod_context = pod.get("securityContext") or {}
    for volume in pod.get("volumes", []):
        kinds = set(volume) - VOLUME_META
        if not kinds <= RESTRICTED_VOLUMES:
            found.append(f"volume {volume['name']}: {sorted(kinds)}")
    for container in containers(pod):
        name, context = container["name"], container.get("securityContext") or {}
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation is not false")
        if not context.get("runAsNonRoot", pod_context.get("runAsNonRoot")):
            found.append(f"{name}: runAsNonRoot is not true")
        if context.get("runAsUser", pod_context.get("runAsUser")) == 0:
            found.append(f"{name}: runs as uid 0")
        seccomp = (context.get("seccompProfile") or pod_context.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            found.append(f"{name}: seccompProfile {seccomp}")
        capabilities = context.get("capabilities") or {}
        if "ALL" not in capabilities.get("drop", []):
            found.append(f"{name}: does not drop ALL capabilities")
        if set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            found.append(f"{name}: adds capabilities")
    return found


def problems(pod: dict[str, Any], level: str) -> list[str]:
    return {"privileged": lambda _: [], "baseline": baseline_problems, "restricted": restricted_problems}[level](pod)


def pod_spec(resource: PlannedResource) -> dict[str, Any]:
    value: Any = resource.inputs
    for key in POD_PATHS[resource.type]:
        value = value[key]
    return dict(value)


def namespace_levels(plan: Plan) -> dict[tuple[str | None, str], str]:
    """(the cluster's kubernetes provider, namespace) -> the level its labels enforce."""
    return {
        (r.provider, r.inputs["metadata"]["name"]): enforced_level(r.inputs["metadata"].get("labels"))
        for r in plan.of_type(NAMESPACE)
    }


def workloads(plan: Plan) -> list[PlannedResource]:
    return nonempty([r for r in plan.resources if r.type in POD_PATHS], "recorded workload")


def test_every_recorded_pod_spec_meets_its_namespaces_level(prod_plan: Plan) -> None:
    levels = namespace_levels(prod_plan)
    for workload in workloads(prod_plan):
        namespace = workload.inputs["metadata"]["namespace"]
        level = levels[(workload.provider, namespace)]
        assert problems(pod_spec(workload), level) == [], (workload.urn, level)


def test_the_program_s_own_pods_run_in_restricted_namespaces(prod_plan: Plan) -> None:
    """Triton and the registry (serving), the sync (model-sync) and training's fallback (kueue-system) run where
    restricted is enforced: the check above is not vacuous."""
    levels = namespace_levels(prod_plan)
    placed = {(w.provider, w.inputs["metadata"]["namespace"]) for w in workloads(prod_plan)}
    assert {levels[where] for where in placed} == {"restricted"}
    assert {namespace for _, namespace in placed} == {"serving", "model-sync", "kueue-system"}


def test_the_rules_refuse_what_restricted_refuses() -> None:
    """Worked examples from the standard: Istio's classic istio-init (root, NET_ADMIN and NET_RAW) passes neither
    restricted nor baseline; a pod without a seccomp profile passes baseline only."""
    istio_init = {
        "name": "istio-init",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
            "runAsNonRoot": False,
            "runAsUser": 0,
        },
    }
    app = {
        "name": "app",
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    }
    pod = {"securityContext": {"runAsNonRoot": True}, "initContainers": [istio_init], "containers": [app]}
    assert any("NET_ADMIN" in p for p in problems(pod, "baseline"))
    restricted = problems(pod, "restricted")
    assert "istio-init: runs as uid 0" in restricted and "app: seccompProfile None" in restricted

    unconfined = {"securityContext": {"runAsNonRoot": True}, "containers": [app]}
    assert problems(unconfined, "baseline") == []
    assert problems(unconfined, "restricted") == ["app: seccompProfile None"]


@pytest.mark.parametrize(
    ("namespace", "level"),
    [
        ("serving", "restricted"),
        ("istio-system", "restricted"),
        ("istio-ingress", "restricted"),
        ("model-sync", "restricted"),
        ("keda", "baseline"),
        ("cert-manager", "baseline"),
        ("kyverno", "baseline"),
        ("monitoring", "privileged"),
        ("istio-cni", "privileged"),
    ],
)
def test_every_namespace_enforces_its_level_and_warns_at_restricted(
    prod_plan: Plan, namespace: str, level: str
) -> None:
    found = nonempty([r for r in prod_plan.of_type(NAMESPACE) if r.inputs["metadata"]["name"] == namespace], namespace)
    for resource in found:
        labels = resource.inputs["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == level, resource.urn
        assert labels["pod-security.kubernetes.io/warn"] == "restricted"
        assert labels["pod-security.kubernetes.io/audit"] == "restricted"


def test_no_namespace_is_left_without_a_level(prod_plan: Plan) -> None:
    for resource in nonempty(prod_plan.of_type(NAMESPACE), "namespace"):
        assert "pod-security.kubernetes.io/enforce" in resource.inputs["metadata"].get("labels", {}), resource.urn
