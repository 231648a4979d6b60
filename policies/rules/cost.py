"""Cost guardrails (advisory by default): how many GPU nodes, and which GPU machines.

A GPU node costs from about half a dollar to over ninety dollars an hour; a typo in a
pool's max size or machine type is the most expensive mistake a change can carry. These
rules warn on it; a team that wants a hard stop sets their enforcement level to mandatory.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from rules.node_pools import gpu_pools_of
from rules.props import items, mapping, number, size

DEFAULT_MAX_NODES_PER_POOL = 16
DEFAULT_MAX_GPU_NODES_PER_STACK = 64
# The GPU families the platform's machine catalog offers for inference (T4, A10G, L4, A10);
# A100/H100 machines cost several times more and are left for a deliberate config change.
DEFAULT_ALLOWED_MACHINE_TYPES = {
    "aws": ["g4dn.*", "g5.*", "g6.*"],
    "gcp": ["n1-*", "g2-*"],
    "azure": ["Standard_NC*as_T4_v3", "Standard_NV*ads_A10_v5"],
}


def _check_pool_size(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    limit = number(args.get_config().get("maxNodesPerPool"), DEFAULT_MAX_NODES_PER_POOL)
    for pool in gpu_pools_of(args.resource_type, args.props, args.name):
        if pool.max_size > limit:
            report_violation(
                f"GPU pool '{pool.name}' can grow to {size(pool.max_size)} nodes; the limit is {size(limit)}.",
                None,
            )


gpu_pool_size = ResourceValidationPolicy(
    name="gpu-pool-max-nodes",
    description="A GPU pool's max size stays within the per-pool limit.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_check_pool_size,
    config_schema=PolicyConfigSchema(
        properties={
            "maxNodesPerPool": {"type": "integer", "minimum": 0, "default": DEFAULT_MAX_NODES_PER_POOL},
        }
    ),
)


def _check_stack_nodes(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    limit = number(args.get_config().get("maxGpuNodesPerStack"), DEFAULT_MAX_GPU_NODES_PER_STACK)
    pools = [pool for r in args.resources for pool in gpu_pools_of(r.resource_type, r.props, r.name)]
    total = sum(pool.max_size for pool in pools)
    if total > limit:
        report_violation(
            f"the stack's {len(pools)} GPU pools can grow to {size(total)} GPU nodes in all; "
            f"the limit is {size(limit)}.",
            None,
        )


gpu_nodes_per_stack = StackValidationPolicy(
    name="gpu-nodes-per-stack",
    description="The GPU pools of a stack together stay within the per-stack node limit.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_check_stack_nodes,
    config_schema=PolicyConfigSchema(
        properties={
            "maxGpuNodesPerStack": {"type": "integer", "minimum": 0, "default": DEFAULT_MAX_GPU_NODES_PER_STACK},
        }
    ),
)


def _allowed_patterns(config: Mapping[str, Any], cloud: str) -> list[str]:
    configured = mapping(config.get("allowedMachineTypes"))
    if cloud in configured:
        return [str(pattern) for pattern in items(configured[cloud])]
    return DEFAULT_ALLOWED_MACHINE_TYPES[cloud]


def _check_machine_types(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    for pool in gpu_pools_of(args.resource_type, args.props, args.name):
        patterns = _allowed_patterns(args.get_config(), pool.cloud)
        for machine_type in pool.machine_types:
            if not any(fnmatchcase(machine_type, pattern) for pattern in patterns):
                report_violation(
                    f"GPU pool '{pool.name}' uses {machine_type}, outside the allowed {pool.cloud} machine types "
                    f"({', '.join(patterns) or 'none'}).",
                    None,
                )


_MACHINE_TYPE_LIST = {"type": "array", "items": {"type": "string", "minLength": 1}}

gpu_machine_types = ResourceValidationPolicy(
    name="gpu-machine-types-allowed",
    description="GPU pools use machine types from the allowed families.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_check_machine_types,
    config_schema=PolicyConfigSchema(
        properties={
            "allowedMachineTypes": {
                "type": "object",
                "description": "Per cloud, glob patterns of the GPU machine types pools may use.",
                "properties": {cloud: _MACHINE_TYPE_LIST for cloud in DEFAULT_ALLOWED_MACHINE_TYPES},
                "additionalProperties": False,
                "default": DEFAULT_ALLOWED_MACHINE_TYPES,
            },
        }
    ),
)

POLICIES = [gpu_pool_size, gpu_nodes_per_stack, gpu_machine_types]
