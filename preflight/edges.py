"""Edges between clouds: which of the plan's edges leave a target, and which of those the design allows.

docs/ARCHITECTURE.md, "Edges between clouds": every resource's parent, provider and dependencies stay inside its
target, so the clouds deploy in parallel. The only edges that cross targets are

- **into GlobalDns**: GlobalDns (stack-wide) reads every footprint's gateway address for its health checks and
  records, and, for the DNS-01 federation, every cluster's OIDC issuer (an IAM role per cluster, and an IAM OIDC
  provider per GKE and AKS issuer);
- **the DNS-01 federation**: each cluster's ClusterIssuer reads its own role (and the role's policy) under GlobalDns.
  That edge is allowed only while the stack-wide resource it reads waits on that same target and no other: "each
  cluster waits only on its own role", which is what keeps a target from waiting on another cloud through GlobalDns.
- **the remote-write token**: a target's resources (each cluster's token Secret, the central gateway's
  AuthorizationPolicy) read the stack-wide RandomPassword under the observability CentralEndpoint. Allowed only while
  that password waits on no target at all, so reading it never makes one cloud wait on another.

- **into ModelSync**: ModelSync (stack-wide) copies the primary's bucket to every other target's: each writer identity
  is made with its replica's provider and reads the primary cluster's OIDC issuer and the replica's bucket, and the
  CronJob is made with the primary cluster's provider and reads those identities. Only edges from inside ModelSync
  into a target; nothing in a target waits on ModelSync.

Anything else that leaves a target (or enters one from something stack-wide outside GlobalDns) is a finding: it
couples the clouds' deployments, or breaks the "one footprint, one failure domain" layout. A footprint's own parent
edge (to the stack) is not counted: it is what makes the footprint a target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from preflight.plan import FOOTPRINT_TYPE, Plan, PlannedResource

GLOBAL_DNS_TYPE = "mlplatform:dns:GlobalDns"
# Under GlobalDns, the resources of the DNS-01 federation: the per-cluster role, its policy, and the OIDC providers.
FEDERATION_TYPES = frozenset(
    {
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    }
)
INTO_GLOBAL_DNS = "into GlobalDns"
MODEL_SYNC_TYPE = "mlplatform:sync:ModelSync"
INTO_MODEL_SYNC = "into ModelSync"
DNS01_FEDERATION = "DNS-01 federation"
# The central metrics endpoint's bearer token (components/observability/endpoint.py).
CENTRAL_ENDPOINT_TYPE = "mlplatform:observability:CentralEndpoint"
RANDOM_PASSWORD_TYPE = "random:index/randomPassword:RandomPassword"
REMOTE_WRITE_TOKEN = "remote-write token"

EdgeKind = Literal["parent", "provider", "dependency"]


@dataclass(frozen=True)
class CrossEdge:
    """One edge whose two ends live in different places (a target, or stack-wide for None)."""

    from_urn: str
    to_urn: str
    kind: EdgeKind
    from_target: str | None
    to_target: str | None

    def describe(self) -> str:
        where = f"{self.from_target or 'stack-wide'} -> {self.to_target or 'stack-wide'}"
        return f"{self.from_urn} -> {self.to_urn} ({self.kind}, {where})"

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.from_urn,
            "to": self.to_urn,
            "kind": self.kind,
            "fromTarget": self.from_target,
            "toTarget": self.to_target,
        }


def in_global_dns(plan: Plan, resource: PlannedResource) -> bool:
    """Whether the resource is GlobalDns or one of its descendants."""
    return _under(plan, resource, GLOBAL_DNS_TYPE)


def in_model_sync(plan: Plan, resource: PlannedResource) -> bool:
    """Whether the resource is ModelSync or one of its descendants."""
    return _under(plan, resource, MODEL_SYNC_TYPE)


def _under(plan: Plan, resource: PlannedResource, component_type: str) -> bool:
    current: PlannedResource | None = resource
    while current is not None:
        if current.type == component_type:
            return True
        current = plan.get(current.parent) if current.parent else None
    return False


def edges_between_targets(plan: Plan) -> list[CrossEdge]:
    """Every parent, provider and dependency edge whose ends are in different targets (stack-wide counting as a
    place of its own), in plan order, except a footprint's own parent edge."""
    targets = _targets(plan)
    found: list[CrossEdge] = []
    for resource in plan.resources:
        home = targets[resource.urn]
        for kind, reference in _references(resource):
            if reference not in targets or targets[reference] == home:
                continue
            if kind == "parent" and resource.type == FOOTPRINT_TYPE:
                continue
            found.append(CrossEdge(resource.urn, reference, kind, home, targets[reference]))
    return found


def allowance(plan: Plan, edge: CrossEdge) -> str | None:
    """The design rule that allows this edge (INTO_GLOBAL_DNS, INTO_MODEL_SYNC, DNS01_FEDERATION or
    REMOTE_WRITE_TOKEN), or None."""
    source, sink = plan.get(edge.from_urn), plan.get(edge.to_urn)
    if source is None or sink is None or edge.kind == "parent":
        return None
    if edge.from_target is None and edge.to_target is not None and in_global_dns(plan, source):
        return DNS01_FEDERATION if source.type in FEDERATION_TYPES else INTO_GLOBAL_DNS
    if edge.from_target is None and edge.to_target is not None and in_model_sync(plan, source):
        return INTO_MODEL_SYNC
    if (
        edge.from_target is not None
        and edge.to_target is None
        and sink.type in FEDERATION_TYPES
        and in_global_dns(plan, sink)
        and _targets_waited_on(plan, sink) <= {edge.from_target}
    ):
        return DNS01_FEDERATION
    if (
        edge.from_target is not None
        and edge.to_target is None
        and sink.type == RANDOM_PASSWORD_TYPE
        and _parent_type(plan, sink) == CENTRAL_ENDPOINT_TYPE
        and not _targets_waited_on(plan, sink)
    ):
        return REMOTE_WRITE_TOKEN
    return None


def _parent_type(plan: Plan, resource: PlannedResource) -> str | None:
    parent = plan.get(resource.parent) if resource.parent else None
    return parent.type if parent is not None else None


def partition_cross_target_edges(plan: Plan) -> tuple[list[CrossEdge], list[CrossEdge]]:
    """(allowed, other): the edges between targets that the design allows, and every other one (each a finding)."""
    allowed: list[CrossEdge] = []
    other: list[CrossEdge] = []
    for edge in edges_between_targets(plan):
        (allowed if allowance(plan, edge) else other).append(edge)
    return allowed, other


def allowed_cross_target_edges(plan: Plan) -> list[CrossEdge]:
    """The edges between targets that docs/ARCHITECTURE.md allows: into GlobalDns, the DNS-01 federation, and the
    remote-write token."""
    return partition_cross_target_edges(plan)[0]


def cross_target_edges(plan: Plan) -> list[CrossEdge]:
    """The edges between targets that the design does not allow; the shipped stacks must have none."""
    return partition_cross_target_edges(plan)[1]


def _references(resource: PlannedResource) -> list[tuple[EdgeKind, str]]:
    references: list[tuple[EdgeKind, str]] = []
    if resource.parent:
        references.append(("parent", resource.parent))
    if resource.provider:
        references.append(("provider", resource.provider))
    references.extend(("dependency", dependency) for dependency in resource.dependencies)
    return references


def _targets(plan: Plan) -> dict[str, str | None]:
    return {resource.urn: plan.target_of(resource) for resource in plan.resources}


def _targets_waited_on(plan: Plan, start: PlannedResource) -> set[str]:
    """The targets a stack-wide resource waits on, directly or through other stack-wide resources."""
    reached: set[str] = set()
    seen = {start.urn}
    pending = [start]
    while pending:
        resource = pending.pop()
        for kind, reference in _references(resource):
            other = plan.get(reference)
            if kind == "parent" or other is None or other.urn in seen:
                continue
            seen.add(other.urn)
            there = plan.target_of(other)
            if there is None:
                pending.append(other)
            else:
                reached.add(there)
    return reached
