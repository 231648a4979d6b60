"""Spot: GPU pools run on spot capacity, with an on-demand fallback that idles at zero.

A GPU pool may be on-demand when it is marked as the fallback (the node label
mlplatform.io/fallback=true) and can shrink to zero nodes, so it costs nothing until spot
capacity runs out; or when it says why it runs on demand (the node label
mlplatform.io/on-demand-reason, which a stack's `spot: false` pool must set through
`onDemandReason`). Every such pool is then listed by an advisory policy, so a preview shows
the on-demand capacity and its reason to whoever reviews it. A cluster that has spot GPU pools
of some accelerator also needs a fallback for that accelerator, or a spot reclaim leaves its
models with nowhere to run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from rules.node_pools import CLUSTER_TYPES, FALLBACK_LABEL, ON_DEMAND_REASON_LABEL, NodePool, gpu_pools_of
from rules.props import size

_FALLBACK_SCHEMA = PolicyConfigSchema(
    properties={
        "fallbackLabel": {
            "type": "string",
            "default": FALLBACK_LABEL,
            "description": "The node label (value 'true') that marks a pool as the on-demand fallback.",
        },
    }
)


def _fallback_label(config: Mapping[str, Any]) -> str:
    return str(config.get("fallbackLabel") or FALLBACK_LABEL)


def _check_pools(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    label = _fallback_label(args.get_config())
    for pool in gpu_pools_of(args.resource_type, args.props, args.name):
        if pool.spot or (not pool.marked_fallback(label) and _reason(pool)):
            continue  # spot, or on demand for a stated reason (listed by on-demand-gpu-pools)
        if not pool.marked_fallback(label):
            report_violation(
                f"GPU pool '{pool.name}' ({pool.accelerator}) is on-demand: make it spot, "
                f"mark it as the on-demand fallback ({label}=true) with min size 0, "
                f"or say why it runs on demand ({ON_DEMAND_REASON_LABEL}; onDemandReason in the stack config).",
                None,
            )
        elif pool.min_size > 0:
            report_violation(
                f"on-demand fallback pool '{pool.name}' has min size {size(pool.min_size)}: "
                "a fallback must scale to zero so it costs nothing while spot capacity lasts.",
                None,
            )


def _reason(pool: NodePool) -> str:
    return str(pool.labels.get(ON_DEMAND_REASON_LABEL) or "").strip()


gpu_pools_use_spot = ResourceValidationPolicy(
    name="gpu-pools-use-spot",
    description=(
        "GPU node pools run on spot capacity; only a marked on-demand fallback with min size 0, or a pool that says"
        " why it runs on demand, may not."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_check_pools,
    config_schema=_FALLBACK_SCHEMA,
)


def _cluster_of(resource: PolicyResource, pool: NodePool) -> str:
    """The cluster a pool belongs to: the cluster resource it depends on, else what its inputs name."""
    if resource.resource_type in CLUSTER_TYPES:
        return resource.urn
    for dependency in resource.dependencies:
        if dependency.resource_type in CLUSTER_TYPES:
            return dependency.urn
    return pool.cluster or resource.urn


def _check_fallbacks(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    label = _fallback_label(args.get_config())
    spot: dict[tuple[str, str], list[tuple[str, NodePool]]] = defaultdict(list)
    fallback: set[tuple[str, str]] = set()
    for resource in args.resources:
        for pool in gpu_pools_of(resource.resource_type, resource.props, resource.name):
            key = (_cluster_of(resource, pool), pool.accelerator)
            if pool.spot:
                spot[key].append((resource.urn, pool))
            elif pool.marked_fallback(label):
                fallback.add(key)
    for key, pools in spot.items():
        if key in fallback:
            continue
        urn, first = pools[0]
        names = ", ".join(sorted(pool.name for _, pool in pools))
        report_violation(
            f"spot GPU pool(s) {names} ({first.accelerator}) have no on-demand fallback pool "
            f"({label}=true, min size 0) in the same cluster.",
            urn,
        )


spot_pools_have_fallback = StackValidationPolicy(
    name="spot-gpu-pools-have-fallback",
    description="A cluster with spot GPU pools has an on-demand fallback pool for each of their accelerators.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_check_fallbacks,
    config_schema=_FALLBACK_SCHEMA,
)


def _list_on_demand(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    label = _fallback_label(args.get_config())
    for pool in gpu_pools_of(args.resource_type, args.props, args.name):
        if not pool.spot and not pool.marked_fallback(label) and _reason(pool):
            report_violation(
                f"GPU pool '{pool.name}' ({pool.accelerator}) runs on demand, {size(pool.min_size)} to "
                f"{size(pool.max_size)} nodes, because: {_reason(pool)}.",
                None,
            )


on_demand_gpu_pools = ResourceValidationPolicy(
    name="on-demand-gpu-pools",
    description="Lists every GPU pool that runs on demand for a stated reason (not a fallback), with the reason.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_list_on_demand,
    config_schema=_FALLBACK_SCHEMA,
)

POLICIES = [gpu_pools_use_spot, spot_pools_have_fallback, on_demand_gpu_pools]
