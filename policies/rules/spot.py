"""Spot: GPU pools run on spot capacity, with an on-demand fallback that idles at zero.

A GPU pool may be on-demand only when it is marked as the fallback (the node label
mlplatform.io/fallback=true) and can shrink to zero nodes, so it costs nothing until spot
capacity runs out. A cluster that has spot GPU pools of some accelerator also needs such a
fallback for that accelerator, or a spot reclaim leaves its models with nowhere to run.
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

from rules.node_pools import CLUSTER_TYPES, FALLBACK_LABEL, NodePool, gpu_pools_of
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
        if pool.spot:
            continue
        if not pool.marked_fallback(label):
            report_violation(
                f"GPU pool '{pool.name}' ({pool.accelerator}) is on-demand: make it spot, "
                f"or mark it as the on-demand fallback ({label}=true) with min size 0.",
                None,
            )
        elif pool.min_size > 0:
            report_violation(
                f"on-demand fallback pool '{pool.name}' has min size {size(pool.min_size)}: "
                "a fallback must scale to zero so it costs nothing while spot capacity lasts.",
                None,
            )


gpu_pools_use_spot = ResourceValidationPolicy(
    name="gpu-pools-use-spot",
    description="GPU node pools run on spot capacity; only a marked on-demand fallback with min size 0 may not.",
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

POLICIES = [gpu_pools_use_spot, spot_pools_have_fallback]
