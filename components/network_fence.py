"""Default-deny NetworkPolicies and the allows a namespace needs, as one shape on every cluster.

A neutral module: the cluster baseline fences the namespaces the serving stack and Kyverno make, the model sync and
training fence their own, and all write the same shape per namespace:
- `mlplatform-allow`: selects every pod of the namespace, for Ingress and Egress, and lists what its pods need. A pod
  selected by a policy of a type allows only what some policy of that type allows (kubernetes.io, "Network
  Policies"), so this one policy is the namespace's default deny as well as its allows: nothing it does not list
  gets in or out.
- `default-deny` (selects every pod, allows nothing either way) only where the allows leave some pods out
  (`except_pods`): there it keeps those pods isolated even when no policy of their own selects them. Everywhere
  else it would add nothing (policies add up), and it would cost a resource per namespace and cluster (~10 ms of
  preview each).

What every namespace gets: DNS to the cluster's DNS pods (label k8s-app=kube-dns in kube-system on all three:
CoreDNS on EKS and AKS, kube-dns on GKE), UDP and TCP 53.

Peers outside the pod network (the API server, load balancers, cloud endpoints) have no pod or namespace labels,
so they are addressed as `0.0.0.0/0` on the one port they use; their own checks (mTLS, tokens, IAM) stay the guard.
Traffic from a pod's own node (the kubelet's probes) is always allowed by the policy engines here.
Enforcement: GpuCluster turns on each cloud's engine (EKS VPC CNI network policy, GKE Dataplane V2, AKS Cilium).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import pulumi
import pulumi_kubernetes as k8s

DENY_ALL = "default-deny"
ALLOW = "mlplatform-allow"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace
DNS_NAMESPACE = "kube-system"
DNS_POD_LABELS = {"k8s-app": "kube-dns"}
DNS_PORT = 53
ANYWHERE = "0.0.0.0/0"
HTTPS_PORT = 443

Protocol = Literal["TCP", "UDP"]


@dataclass(frozen=True)
class Peer:
    """Pods of a namespace (optionally only those with `pod_labels`), every namespace (`namespace` "*"), or an
    address block (`cidr`)."""

    namespace: str | None = None
    pod_labels: dict[str, str] = field(default_factory=dict)
    cidr: str | None = None

    def __post_init__(self) -> None:
        if (self.namespace is None) == (self.cidr is None):
            raise ValueError("a peer is a namespace or an address block, exactly one of them")

    def manifest(self) -> dict[str, Any]:
        if self.cidr is not None:
            return {"ipBlock": {"cidr": self.cidr}}
        selector: dict[str, Any] = {}
        if self.namespace != "*":
            selector = {"matchLabels": {NAMESPACE_LABEL: self.namespace}}
        peer: dict[str, Any] = {"namespaceSelector": selector}
        if self.pod_labels:
            peer["podSelector"] = {"matchLabels": dict(self.pod_labels)}
        return peer


@dataclass(frozen=True)
class Rule:
    """Traffic to or from `peers` on `ports` (protocol, port); no ports: every port."""

    peers: tuple[Peer, ...]
    ports: tuple[tuple[Protocol, int], ...] = ()

    def manifest(self, direction: Literal["from", "to"]) -> dict[str, Any]:
        rule: dict[str, Any] = {direction: [peer.manifest() for peer in self.peers]}
        if self.ports:
            rule["ports"] = [{"protocol": protocol, "port": port} for protocol, port in self.ports]
        return rule


@dataclass(frozen=True)
class Fence:
    """One namespace's allows. `egress_anywhere`: every destination (the scraper in `monitoring`). `except_pods`:
    pods (by label) the allows leave out, because a policy of their own fences them tighter (policies add up, so a
    namespace-wide allow would undo it)."""

    namespace: str
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()
    egress_anywhere: bool = False
    except_pods: dict[str, str] = field(default_factory=dict)


def tcp(*ports: int) -> tuple[tuple[Protocol, int], ...]:
    return tuple(("TCP", port) for port in ports)


def from_namespace(namespace: str, *ports: int, pod_labels: dict[str, str] | None = None) -> Rule:
    return Rule((Peer(namespace=namespace, pod_labels=pod_labels or {}),), tcp(*ports))


def outside(*ports: int, cidr: str = ANYWHERE) -> Rule:
    """Peers outside the pod network: the API server, load balancers, cloud APIs (see the module's docstring)."""
    return Rule((Peer(cidr=cidr),), tcp(*ports))


DNS = Rule(
    (Peer(namespace=DNS_NAMESPACE, pod_labels=DNS_POD_LABELS),),
    (("UDP", DNS_PORT), ("TCP", DNS_PORT)),
)
# GKE's metadata server, which serves Workload Identity's tokens: under Dataplane V2 a pod's policy must allow
# 169.254.169.254/32 on TCP 80 and 8080; 169.254.169.252 on 987/988 is the older dataplane's (Calico) address (GKE
# docs, "About Workload Identity Federation for GKE", network policy restrictions, as several public policies quote
# it; read 2026-12). These clusters run Dataplane V2 (GpuCluster).
GKE_METADATA = (outside(80, 8080, cidr="169.254.169.254/32"),)


def allow_spec(fence: Fence) -> dict[str, Any]:
    egress = [{}] if fence.egress_anywhere else [DNS.manifest("to"), *(r.manifest("to") for r in fence.egress)]
    selector = {
        "matchExpressions": [
            {"key": key, "operator": "NotIn", "values": [value]} for key, value in fence.except_pods.items()
        ]
    }
    spec: dict[str, Any] = {
        "podSelector": selector if fence.except_pods else {},
        "policyTypes": ["Ingress", "Egress"],
        "egress": egress,
    }
    spec["ingress"] = [rule.manifest("from") for rule in fence.ingress]
    return spec


def deny_spec() -> dict[str, Any]:
    return {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def install(
    resource_name: str, fence: Fence, opts: pulumi.ResourceOptions
) -> Sequence[k8s.networking.v1.NetworkPolicy]:
    """The namespace's allows, which deny everything else, and a default-deny only where the allows leave some pods
    out (`opts` must wait for the namespace)."""
    policies = [("allow", ALLOW, allow_spec(fence))]
    if fence.except_pods:
        policies.insert(0, ("deny", DENY_ALL, deny_spec()))
    return [
        k8s.networking.v1.NetworkPolicy(
            f"{resource_name}-{suffix}",
            metadata={"name": policy, "namespace": fence.namespace},
            spec=cast(k8s.networking.v1.NetworkPolicySpecArgsDict, spec),  # camelCase keys, as the plan records them
            opts=opts,
        )
        for suffix, policy, spec in policies
    ]
