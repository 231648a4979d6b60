"""Edges between clouds: which of the plan's edges leave a target, and which of those the design allows.

docs/ARCHITECTURE.md, "Edges between clouds": every resource's parent, provider and dependencies stay inside its
target, so the clouds deploy in parallel. The only edges that cross targets are

- **into GlobalDns**: GlobalDns (stack-wide) reads every footprint's gateway address for its health checks and
  records, and, for the DNS-01 federation, every cluster's OIDC issuer (an IAM role per cluster, and an IAM OIDC
  provider per GKE and AKS issuer);
- **the DNS-01 federation**: each cluster's ClusterIssuer reads its own role (and the role's policy) under GlobalDns.
  That edge is allowed only while the stack-wide resource it reads waits on that same target and no other: "each
  cluster waits only on its own role", which is what keeps a target from waiting on another cloud through GlobalDns.

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
DNS01_FEDERATION = "DNS-01 federation"

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
    current: PlannedResource | None = resource
    while current is not None:
        if current.type == GLOBAL_DNS_TYPE:
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
    """The design rule that allows this edge (INTO_GLOBAL_DNS or DNS01_FEDERATION), or None if none does."""
    source, sink = plan.get(edge.from_urn), plan.get(edge.to_urn)
    if source is None or sink is None or edge.kind == "parent":
        return None
    if edge.from_target is None and edge.to_target is not None and in_global_dns(plan, source):
        return DNS01_FEDERATION if source.type in FEDERATION_TYPES else INTO_GLOBAL_DNS
    if (
        edge.from_target is not None
        and edge.to_target is None
        and sink.type in FEDERATION_TYPES
        and in_global_dns(plan, sink)
        and _targets_waited_on(plan, sink) <= {edge.from_target}
    ):
        return DNS01_FEDERATION
    return None


def partition_cross_target_edges(plan: Plan) -> tuple[list[CrossEdge], list[CrossEdge]]:
    """(allowed, other): the edges between targets that the design allows, and every other one (each a finding)."""
    allowed: list[CrossEdge] = []
    other: list[CrossEdge] = []
    for edge in edges_between_targets(plan):
        (allowed if allowance(plan, edge) else other).append(edge)
    return allowed, other


def allowed_cross_target_edges(plan: Plan) -> list[CrossEdge]:
    """The edges between targets that docs/ARCHITECTURE.md allows: into GlobalDns, and the DNS-01 federation."""
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
