"""Pod Security Admission levels for the namespaces the program makes: one label convention on every cluster.

A neutral module: the serving stack, the model sync and the cluster baseline each make namespaces, and each labels
them here, so the level a namespace enforces and the level Kyverno checks (components/cluster_baseline/kyverno.py)
come from one table.

Pod Security Admission (kubernetes.io, "Pod Security Admission" and "Pod Security Standards", read 2026-12) reads
three labels per mode, `pod-security.kubernetes.io/<mode>: <level>`, with modes enforce (refuse the pod), warn (tell
the client) and audit (annotate the audit event). Every namespace here warns and audits at `restricted`, whatever it
enforces, so what falls short of restricted is visible in `kubectl` output and in the audit log.

Why each namespace enforces what it does (each component passes its namespace's level to `namespace`):
- restricted: the model servers and the sync (their pod specs are written here and checked by a test), istiod and
  the ingress gateway (their charts' containers drop every capability and run as non-root; the values here add the
  RuntimeDefault seccomp profile the charts leave unset). Istio CNI removes `istio-init`'s NET_ADMIN and NET_RAW
  from the meshed pods: its init container becomes `istio-validation`, non-root and without capabilities.
- baseline: KEDA, cert-manager and Kyverno. Their charts need no host access, but their securityContext defaults at
  the pinned versions were not checked line by line against every restricted control: baseline refuses what
  matters most (host namespaces, hostPath, privileged, added capabilities), and `warn`/`audit` at restricted say what
  is missing before the level is raised.
- privileged: the node agents, which need the host by design: Istio's CNI node agent (writes the CNI config and
  binary on the host, edits pod network namespaces), node-exporter in `monitoring` (host network, PID namespace and
  /proc, /sys), and the NVIDIA device plugin (the kubelet's device-plugin socket through hostPath). Each lives in a
  namespace of its own or with the fewest neighbours possible.
"""

from __future__ import annotations

from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

Level = Literal["privileged", "baseline", "restricted"]
LEVELS: tuple[Level, ...] = ("privileged", "baseline", "restricted")
LABEL_PREFIX = "pod-security.kubernetes.io"
# "latest": the standard as the cluster's own minor defines it. The restricted checks have not changed since
# v1.25 (the standard's changelog), and Kyverno's podSecurity rule takes the same value.
VERSION = "latest"

RESTRICTED: Level = "restricted"
BASELINE: Level = "baseline"
PRIVILEGED: Level = "privileged"


def namespace_labels(level: Level) -> dict[str, str]:
    """Enforce `level`; warn and audit at restricted, so a looser namespace still reports what it lets through."""
    if level not in LEVELS:
        raise ValueError(f"unknown Pod Security level {level!r}; expected one of {', '.join(LEVELS)}")
    labels = {f"{LABEL_PREFIX}/enforce": level, f"{LABEL_PREFIX}/enforce-version": VERSION}
    for mode in ("warn", "audit"):
        labels[f"{LABEL_PREFIX}/{mode}"] = RESTRICTED
        labels[f"{LABEL_PREFIX}/{mode}-version"] = VERSION
    return labels


def enforced_level(labels: dict[str, str] | None) -> Level:
    """The level a namespace with these labels enforces (none set: privileged, Pod Security Admission's default)."""
    value = (labels or {}).get(f"{LABEL_PREFIX}/enforce", PRIVILEGED)
    if value not in LEVELS:
        raise ValueError(f"unknown Pod Security level {value!r}")
    return value


def namespace(
    resource_name: str,
    name: str,
    level: Level,
    opts: pulumi.ResourceOptions,
    extra_labels: dict[str, str] | None = None,
) -> k8s.core.v1.Namespace:
    """A namespace with its Pod Security labels (and any labels of its own, such as Istio's injection label)."""
    return k8s.core.v1.Namespace(
        resource_name,
        metadata={"name": name, "labels": {**(extra_labels or {}), **namespace_labels(level)}},
        opts=opts,
    )
