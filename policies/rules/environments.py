"""Which environments a stack-wide policy guards, read the same way by every such policy.

An environment is the `environment` tag (or label) of a resource, or the stack's name; the
policy config `protectedEnvironments` names the guarded ones (default prod and production).
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_policy import PolicyConfigSchema, StackValidationArgs

from rules.props import items
from rules.tags import environment_of

DEFAULT_PROTECTED = ["prod", "production"]


def current_stack() -> str:
    try:
        return pulumi.get_stack()
    except Exception:  # the runtime is unconfigured outside an engine or preflight run
        return ""


def protected_environments(args: StackValidationArgs) -> list[str]:
    return [str(env) for env in items(args.get_config().get("protectedEnvironments"))] or list(DEFAULT_PROTECTED)


def protected_in_stack(args: StackValidationArgs) -> list[str]:
    """The guarded environments this stack is in, through its resources' tags or its name; empty for dev."""
    environments = {environment_of(r.resource_type, r.props, r.provider) for r in args.resources} | {current_stack()}
    return sorted(environments & set(protected_environments(args)))


def protected_environments_schema(what: str) -> PolicyConfigSchema:
    """The config schema of a policy that guards `what` in the protected environments."""
    prop: dict[str, Any] = {
        "type": "array",
        "items": {"type": "string"},
        "default": list(DEFAULT_PROTECTED),
        "description": f"Environment tag values (or stack names) whose {what}.",
    }
    return PolicyConfigSchema(properties={"protectedEnvironments": prop})
